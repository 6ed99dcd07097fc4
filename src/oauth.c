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

/* Sets what makes the token request on `curl`: the app's Basic credentials and the rules above. */
static CURLcode oauth_configure(CURL *curl, const char *id, const char *secret, double timeout, const char *ca_file) {
  CURLcode rc = curl_easy_setopt(curl, CURLOPT_HTTPAUTH, (long)CURLAUTH_BASIC);
  if (rc == CURLE_OK) rc = curl_easy_setopt(curl, CURLOPT_USERNAME, id);
  if (rc == CURLE_OK) rc = curl_easy_setopt(curl, CURLOPT_PASSWORD, secret);
  if (rc == CURLE_OK) rc = curl_easy_setopt(curl, CURLOPT_NOSIGNAL, 1L);
  if (rc == CURLE_OK) rc = curl_easy_setopt(curl, CURLOPT_PROTOCOLS_STR, "http,https");
  if (rc == CURLE_OK) rc = curl_easy_setopt(curl, CURLOPT_FOLLOWLOCATION, 0L);
  if (rc == CURLE_OK) rc = curl_easy_setopt(curl, CURLOPT_TIMEOUT_MS, (long)(timeout * 1000));
  if (rc == CURLE_OK) rc = curl_easy_setopt(curl, CURLOPT_CONNECTTIMEOUT_MS, (long)(timeout * 1000));
  if (rc == CURLE_OK && ca_file != NULL) rc = curl_easy_setopt(curl, CURLOPT_CAINFO, ca_file);
  return rc;
}

/*
 * core.token_post(url, client_id, client_secret [, opts]) -> status, body | nil, err
 * opts: timeout (seconds, default 30), ca_file, allow_http. One attempt, as
 * a transfer of the API's (the size limit, stalls, Ctrl-C); `err` is the
 * error such a transfer gives (network, timeout, too_large, interrupted),
 * or config for a URL the rules refuse. Its url is the endpoint without
 * its query.
 */
static int oauth_token_post(lua_State *L) {
  const char *url = error_check_string(L, 1, "token_post", "url", NULL);
  const char *id = error_check_string(L, 2, "token_post", "client_id", NULL);
  const char *secret = error_check_string(L, 3, "token_post", "client_secret", NULL);
  const char *ca_file = NULL, *why, *reason = NULL, *q;
  int allow_http = 0, where;
  transfer t;
  transfer_limits limits;
  interrupt_watch watch;
  attempt a;
  memset(&t, 0, sizeof t);
  memset(&limits, 0, sizeof limits);
  limits.timeout = limits.connect_timeout = limits.stall_timeout = 30;
  limits.max_response_bytes = OAUTH_MAX_BODY;
  if (lua_type(L, 4) == LUA_TTABLE) {
    lua_getfield(L, 4, "timeout");
    if (lua_type(L, -1) == LUA_TNUMBER && lua_tonumber(L, -1) > 0)
      limits.timeout = limits.connect_timeout = limits.stall_timeout = lua_tonumber(L, -1);
    lua_getfield(L, 4, "ca_file");
    ca_file = lua_tostring(L, -1);
    lua_getfield(L, 4, "allow_http");
    allow_http = lua_toboolean(L, -1);
  }
  /* The endpoint, without the grant, for checks and messages. */
  q = strchr(url, '?');
  lua_pushlstring(L, url, q != NULL ? (size_t)(q - url) : strlen(url));
  where = lua_gettop(L);
  why = url_check_base(lua_tostring(L, where), allow_http, &reason);
  if (why != NULL) {
    lua_pushnil(L);
    error_push(L, "config", "OAuth token URL %s", why);
    return 2;
  }
  limits.post_headers = curl_slist_append(NULL, "Accept: application/json");
  t.limits = &limits;
  t.curl = curl_easy_init();
  if (t.curl == NULL || limits.post_headers == NULL || transfer_bind(&t) != CURLE_OK ||
      oauth_configure(t.curl, id, secret, limits.timeout, ca_file) != CURLE_OK) {
    transfer_free(&t);
    curl_slist_free_all(limits.post_headers);
    return error_raise(L, "config", "libcurl could not set up the OAuth token request");
  }
  interrupt_watch_start(&watch, L);
  t.watch = &watch;
  transfer_perform(&t, url, "", 0, &a);
  curl_slist_free_all(limits.post_headers);
  if (a.code != CURLE_OK) {
    lua_pushnil(L);
    outcome_push_transfer_error(L, &t, &a, lua_pushfstring(L, "the OAuth token request to %s",
                                                             lua_tostring(L, where)));
    lua_remove(L, -2);
    lua_pushvalue(L, where);
    lua_setfield(L, -2, "url");
    secret_free(t.body.data, t.body.len);
    t.body.data = NULL;
    transfer_free(&t);
    return 2;
  }
  lua_pushinteger(L, (lua_Integer)a.status);
  lua_pushlstring(L, t.body.data != NULL ? t.body.data : "", t.body.len);
  /* The answer holds tokens: wiped, not merely freed. */
  secret_free(t.body.data, t.body.len);
  t.body.data = NULL;
  transfer_free(&t);
  return 2;
}
