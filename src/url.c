/*
 * URL building: percent-encoding of path segments and query values, and the
 * checks a base URL must pass before any credential is sent to it. Pure C on
 * untrusted strings, so it has its own fuzz target (fuzz/url_fuzz.c).
 */
#include <string.h>

/* RFC 3986 unreserved characters pass; everything else is %XX-encoded. */
static int url_is_unreserved(unsigned char ch) {
  return (ch >= 'A' && ch <= 'Z') || (ch >= 'a' && ch <= 'z') ||
         (ch >= '0' && ch <= '9') || ch == '-' || ch == '.' || ch == '_' ||
         ch == '~';
}

/*
 * Writes `src` percent-encoded into `dst`, which must hold 3 * len bytes, and
 * returns the encoded length. With `segment` set, a value made only of dots
 * ("." or "..") is encoded too, so it can never act as a dot-segment: the
 * result always names exactly one path segment, whatever the input.
 */
static size_t url_escape(char *dst, const char *src, size_t len, int segment) {
  static const char hex[] = "0123456789ABCDEF";
  size_t i, n = 0;
  int dots_only = segment && len > 0 && strspn(src, ".") >= len;
  for (i = 0; i < len; i++) {
    unsigned char ch = (unsigned char)src[i];
    if (url_is_unreserved(ch) && !(dots_only && ch == '.')) {
      dst[n++] = (char)ch;
    } else {
      dst[n++] = '%';
      dst[n++] = hex[ch >> 4];
      dst[n++] = hex[ch & 15];
    }
  }
  return n;
}

/*
 * Adds `src` percent-encoded to `b` (url_escape; `segment`: as one path
 * segment), in slices that fit one buffer block when tripled.
 */
static void url_add_escaped(luaL_Buffer *b, const char *src, size_t len, int segment) {
  const size_t slice = LUAL_BUFFERSIZE / 3;
  size_t i;
  for (i = 0; i < len; i += slice) {
    size_t n = len - i < slice ? len - i : slice;
    char *dst = luaL_prepbuffer(b);
    luaL_addsize(b, url_escape(dst, src + i, n, segment && len == n));
  }
}

/* True when `host` (as libcurl's URL parser returns it) is a loopback name. */
static int url_host_is_loopback(const char *host) {
  unsigned a, b, c, d;
  char tail;
  if (strcmp(host, "localhost") == 0 || strcmp(host, "[::1]") == 0 ||
      strcmp(host, "::1") == 0)
    return 1;
  /* 127.0.0.0/8, written as a plain dotted quad. */
  if (sscanf(host, "%3u.%3u.%3u.%3u%c", &a, &b, &c, &d, &tail) == 4)
    return a == 127 && b <= 255 && c <= 255 && d <= 255;
  return 0;
}

/*
 * Checks a base URL and returns NULL when it is acceptable, or a message
 * saying why not, with a name for the reason in *reason ("invalid",
 * "credentials", "query", "fragment", "plain_http", "scheme") for callers
 * that word it their own way. The message never repeats the URL: it may
 * hold userinfo. Only https is accepted, and http for loopback hosts or with
 * `allow_http`; URLs carrying credentials, a query or a fragment are refused.
 */
static const char *url_check_base(const char *url, int allow_http, const char **reason) {
  const char *why = NULL;
  *reason = NULL;
  char *scheme = NULL, *host = NULL, *part = NULL;
  CURLU *u = curl_url();
  if (u == NULL) return "out of memory";
  if (curl_url_set(u, CURLUPART_URL, url, 0) != CURLUE_OK ||
      curl_url_get(u, CURLUPART_SCHEME, &scheme, 0) != CURLUE_OK ||
      curl_url_get(u, CURLUPART_HOST, &host, 0) != CURLUE_OK) {
    why = "is not a valid absolute URL (expected https://host[/path])";
    *reason = "invalid";
  } else if (curl_url_get(u, CURLUPART_USER, &part, 0) == CURLUE_OK) {
    why = "must not contain credentials; use access_key/access_key_secret or token";
    *reason = "credentials";
  } else if (curl_url_get(u, CURLUPART_QUERY, &part, 0) == CURLUE_OK) {
    why = "must not contain a query string";
    *reason = "query";
  } else if (curl_url_get(u, CURLUPART_FRAGMENT, &part, 0) == CURLUE_OK) {
    why = "must not contain a fragment";
    *reason = "fragment";
  } else if (strcmp(scheme, "https") == 0) {
    why = NULL;
  } else if (strcmp(scheme, "http") == 0) {
    if (!allow_http && !url_host_is_loopback(host)) {
      why = "uses plain http to a non-loopback host; use https (or allow_http = true)";
      *reason = "plain_http";
    }
  } else {
    why = "must use https (or http to a loopback host)";
    *reason = "scheme";
  }
  curl_free(scheme);
  curl_free(host);
  curl_free(part);
  curl_url_cleanup(u);
  return why;
}

/*
 * core.percent_encode(s) -> s with every byte but RFC 3986's unreserved
 * ones %XX-encoded: what a query value or a form value needs (gong.oauth's
 * grants), the same encoding every URL of gong gets.
 */
static int url_percent_encode(lua_State *L) {
  size_t len;
  const char *s = error_check_string(L, 1, "percent_encode", "s", &len);
  luaL_Buffer b;
  luaL_buffinit(L, &b);
  url_add_escaped(&b, s, len, 0);
  luaL_pushresult(&b);
  return 1;
}
