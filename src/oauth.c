/*
 * The one request that is not to the API: an OAuth app's token endpoint
 * (Gong's generate-customer-token), for gong.oauth. A POST without a body,
 * the app's client id and secret as HTTP Basic, the grant in the query,
 * under the same rules as the API's requests: https only (http for loopback
 * hosts), TLS verified, no redirects followed, a timeout, a size limit. The
 * answer is returned raw: it holds tokens, so only gong.oauth reads it, and
 * no error here ever quotes it, the URL's query (the grant) or the secret.
 */

#define OAUTH_MAX_BODY (64 * 1024)

typedef struct oauth_body {
  char *data;
  size_t len;
  int too_large;
} oauth_body;

static size_t oauth_write(char *data, size_t size, size_t nmemb, void *ud) {
  oauth_body *b = (oauth_body *)ud;
  size_t n = size * nmemb;
  char *grown;
  if (b->len + n > OAUTH_MAX_BODY) {
    b->too_large = 1;
    return 0;
  }
  grown = (char *)realloc(b->data, b->len + n + 1);
  if (grown == NULL) return 0;
  b->data = grown;
  memcpy(b->data + b->len, data, n);
  b->len += n;
  return n;
}

/* Wipes and frees what the answer left (it may hold tokens). */
static void oauth_body_free(oauth_body *b) {
  secret_free(b->data, b->len);
  b->data = NULL;
}

/*
 * core.token_post(url, client_id, client_secret [, opts]) -> status, body | nil, err
 * opts: timeout (seconds, default 30), ca_file, allow_http. `err` is a gong
 * error (kind network, timeout, too_large or config); its url is the
 * endpoint without its query.
 */
static int oauth_token_post(lua_State *L) {
  const char *url = luaL_checkstring(L, 1);
  const char *id = luaL_checkstring(L, 2);
  const char *secret = luaL_checkstring(L, 3);
  double timeout = 30;
  const char *ca_file = NULL, *why, *reason = NULL, *q;
  int allow_http = 0;
  char errbuf[CURL_ERROR_SIZE];
  oauth_body body = {NULL, 0, 0};
  struct curl_slist *headers = NULL;
  CURLcode rc;
  long status = 0;
  CURL *curl;
  if (lua_type(L, 4) == LUA_TTABLE) {
    lua_getfield(L, 4, "timeout");
    if (lua_type(L, -1) == LUA_TNUMBER && lua_tonumber(L, -1) > 0) timeout = lua_tonumber(L, -1);
    lua_getfield(L, 4, "ca_file");
    ca_file = lua_tostring(L, -1);
    lua_getfield(L, 4, "allow_http");
    allow_http = lua_toboolean(L, -1);
  }
  /* The endpoint, without the grant, for checks and messages. */
  q = strchr(url, '?');
  lua_pushlstring(L, url, q != NULL ? (size_t)(q - url) : strlen(url));
  why = url_check_base(lua_tostring(L, -1), allow_http, &reason);
  if (why != NULL) {
    lua_pushnil(L);
    error_push(L, "config", "OAuth token URL %s", why);
    return 2;
  }
  curl = curl_easy_init();
  if (curl == NULL) return error_raise(L, "config", "libcurl could not create a handle");
  errbuf[0] = '\0';
  headers = curl_slist_append(headers, "Accept: application/json");
  curl_easy_setopt(curl, CURLOPT_URL, url);
  curl_easy_setopt(curl, CURLOPT_POST, 1L);
  curl_easy_setopt(curl, CURLOPT_POSTFIELDS, "");
  curl_easy_setopt(curl, CURLOPT_POSTFIELDSIZE, 0L);
  curl_easy_setopt(curl, CURLOPT_HTTPHEADER, headers);
  curl_easy_setopt(curl, CURLOPT_HTTPAUTH, (long)CURLAUTH_BASIC);
  curl_easy_setopt(curl, CURLOPT_USERNAME, id);
  curl_easy_setopt(curl, CURLOPT_PASSWORD, secret);
  curl_easy_setopt(curl, CURLOPT_NOSIGNAL, 1L);
  curl_easy_setopt(curl, CURLOPT_PROTOCOLS_STR, "http,https");
  curl_easy_setopt(curl, CURLOPT_FOLLOWLOCATION, 0L);
  curl_easy_setopt(curl, CURLOPT_TIMEOUT_MS, (long)(timeout * 1000));
  curl_easy_setopt(curl, CURLOPT_CONNECTTIMEOUT_MS, (long)(timeout * 1000));
  curl_easy_setopt(curl, CURLOPT_WRITEFUNCTION, oauth_write);
  curl_easy_setopt(curl, CURLOPT_WRITEDATA, (void *)&body);
  curl_easy_setopt(curl, CURLOPT_ERRORBUFFER, errbuf);
  if (ca_file != NULL) curl_easy_setopt(curl, CURLOPT_CAINFO, ca_file);
  rc = curl_easy_perform(curl);
  curl_easy_getinfo(curl, CURLINFO_RESPONSE_CODE, &status);
  curl_easy_cleanup(curl);
  curl_slist_free_all(headers);
  if (rc != CURLE_OK) {
    const char *kind = body.too_large ? "too_large" : rc == CURLE_OPERATION_TIMEDOUT ? "timeout" : "network";
    oauth_body_free(&body);
    lua_pushnil(L);
    error_push(L, kind, "OAuth token request to %s: %s", lua_tostring(L, -2),
               body.too_large ? "the answer is too large" : errbuf[0] ? errbuf : curl_easy_strerror(rc));
    error_set_string(L, "url", lua_tostring(L, -3));
    error_set_integer(L, "curl_code", (lua_Integer)rc);
    return 2;
  }
  lua_pushinteger(L, (lua_Integer)status);
  lua_pushlstring(L, body.data != NULL ? body.data : "", body.len);
  oauth_body_free(&body);
  return 2;
}
