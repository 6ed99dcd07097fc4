/*
 * libFuzzer target for src/url.c: percent-encoding must always yield one
 * path segment that decodes back to the input, and the base-URL and
 * loopback checks must never crash or accept a URL with credentials.
 */
#include "../src/gong.c"

static int hexval(char ch) {
  if (ch >= '0' && ch <= '9') return ch - '0';
  if (ch >= 'A' && ch <= 'F') return ch - 'A' + 10;
  return -1;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  char *src = (char *)malloc(size + 1), *dst = (char *)malloc(3 * size + 1);
  size_t n, i, j;
  int segment;
  if (src == NULL || dst == NULL) abort();
  memcpy(src, data, size);
  src[size] = '\0';
  for (segment = 0; segment <= 1; segment++) {
    n = url_escape(dst, src, size, segment);
    if (n > 3 * size) abort();
    /* Only unreserved characters and %XX; decodes back to the input. */
    for (i = 0, j = 0; i < n; j++) {
      if (dst[i] == '%') {
        int hi, lo;
        if (i + 2 >= n) abort();
        hi = hexval(dst[i + 1]);
        lo = hexval(dst[i + 2]);
        if (hi < 0 || lo < 0) abort();
        if ((unsigned char)src[j] != (unsigned)(hi * 16 + lo)) abort();
        i += 3;
      } else {
        if (!url_is_unreserved((unsigned char)dst[i]) || dst[i] != src[j]) abort();
        i++;
      }
    }
    if (j != size) abort();
    /* As a segment, never "." or "..". */
    if (segment && ((n == 1 && dst[0] == '.') || (n == 2 && dst[0] == '.' && dst[1] == '.')))
      abort();
  }
  (void)url_host_is_loopback(src);
  if (strlen(src) == size) {
    const char *reason;
    const char *why = url_check_base(src, 0, &reason);
    if (why == NULL && strchr(src, '@') != NULL && strstr(src, "://") != NULL) {
      /* Accepted: libcurl must agree there is no userinfo. */
      CURLU *u = curl_url();
      char *user = NULL;
      if (u != NULL && curl_url_set(u, CURLUPART_URL, src, 0) == CURLUE_OK &&
          curl_url_get(u, CURLUPART_USER, &user, 0) == CURLUE_OK)
        abort();
      curl_free(user);
      curl_url_cleanup(u);
    }
    if ((why == NULL) != (reason == NULL)) abort();
    (void)url_check_base(src, 1, &reason);
  }
  free(src);
  free(dst);
  return 0;
}
