/*
 * A new client's configuration: the options read (options.c) and applied to
 * its easy handle (the one every other transfer of it copies), its base URL
 * and API, its limits, retry policy and rate window, its credentials and
 * headers, and the name of its tenant.
 */

/* Sets a libcurl option on the client's handle, raising a config error if libcurl refuses it. */
#define CONFIGURE_SETOPT(L, c, opt, val)                                          \
  do {                                                                         \
    CURLcode rc_ = curl_easy_setopt((c)->main.curl, opt, val);                 \
    if (rc_ != CURLE_OK)                                                       \
      error_raise(L, "config", "libcurl refused %s: %s", #opt,                 \
                  curl_easy_strerror(rc_));                                    \
  } while (0)

/* Appends `line` to the header list `*list`. */
static void configure_add_header(lua_State *L, struct curl_slist **list, const char *line) {
  struct curl_slist *grown = curl_slist_append(*list, line);
  if (grown == NULL) luaL_error(L, "gong: out of memory");
  *list = grown;
}

/* Adds "Name: value" lines from the headers table at `idx` (0: none). */
static void configure_headers(lua_State *L, gong_client *c, int idx) {
  if (idx == 0) return;
  lua_pushnil(L);
  while (lua_next(L, idx)) {
    size_t nlen, vlen, i;
    const char *name, *value;
    if (lua_type(L, -2) != LUA_TSTRING || lua_type(L, -1) != LUA_TSTRING)
      option_error(L, "headers", "must map header names to string values");
    name = lua_tolstring(L, -2, &nlen);
    value = lua_tolstring(L, -1, &vlen);
    if (nlen == 0) option_error(L, "headers", "has an empty header name");
    for (i = 0; i < nlen; i++)
      if ((unsigned char)name[i] <= 0x20 || name[i] == ':' || name[i] == 0x7f)
        option_error(L, "headers", "has a header name that is not an HTTP token");
    for (i = 0; i < vlen; i++)
      if (((unsigned char)value[i] < 0x20 && value[i] != '\t') || value[i] == 0x7f)
        option_error(L, "headers", "has a value with control characters");
    if (curl_strequal(name, "Authorization"))
      option_error(L, "headers", "must not set Authorization; use access_key/access_key_secret or token");
    configure_add_header(L, &c->headers, lua_pushfstring(L, "%s: %s", name, value));
    configure_add_header(L, &c->limits.post_headers, lua_tostring(L, -1));
    lua_pop(L, 2);
  }
}

/*
 * Applies the credentials. The one rule kept here is what a request can be
 * made with: at most one kind, and Basic as a whole pair. Where credentials
 * come from (options, a file, the environment) is gong.credentials' business.
 */
static void configure_auth(lua_State *L, gong_client *c, const client_config *cfg) {
  if ((cfg->access_key == NULL) != (cfg->access_key_secret == NULL))
    option_error(L, cfg->access_key == NULL ? "access_key" : "access_key_secret",
                 "is missing: access_key and access_key_secret go together");
  if (cfg->access_key != NULL && (cfg->token != NULL || cfg->token_fn))
    option_error(L, "token", "is given with access_key/access_key_secret: give one kind, not both");
  if (cfg->access_key != NULL) {
    c->auth = AUTH_BASIC;
    CONFIGURE_SETOPT(L, c, CURLOPT_HTTPAUTH, (long)CURLAUTH_BASIC);
    CONFIGURE_SETOPT(L, c, CURLOPT_USERNAME, cfg->access_key);
    CONFIGURE_SETOPT(L, c, CURLOPT_PASSWORD, cfg->access_key_secret);
  } else if (cfg->token != NULL) {
    c->auth = AUTH_BEARER;
    CONFIGURE_SETOPT(L, c, CURLOPT_HTTPAUTH, (long)CURLAUTH_BEARER);
    CONFIGURE_SETOPT(L, c, CURLOPT_XOAUTH2_BEARER, cfg->token);
  } else if (cfg->token_fn) {
    /* The token is asked for by the first request (token.c). */
    c->auth = AUTH_BEARER;
    CONFIGURE_SETOPT(L, c, CURLOPT_HTTPAUTH, (long)CURLAUTH_BEARER);
    lua_pushvalue(L, cfg->token_fn);
    c->token.ref = luaL_ref(L, LUA_REGISTRYINDEX);
  }
}

/*
 * A name for a tenant that does not show who it is: FNV-1a (64 bits) of
 * `len` bytes at `s`, as 16 hex digits and a NUL in `out`.
 */
static void configure_tenant_hash(const char *s, size_t len, char out[17]) {
  uint64_t h = 14695981039346656037ULL;
  size_t i;
  for (i = 0; i < len; i++) {
    h ^= (unsigned char)s[i];
    h *= 1099511628211ULL;
  }
  snprintf(out, 17, "%016llx", (unsigned long long)h);
}


/*
 * Names the client's tenant: the base URL and the key id or the token (not
 * the secret), hashed, so the name shows none of them. rate_scope "host"
 * shares the window of that name; gong.resty keys its shared dict with it.
 */
static void configure_name_tenant(lua_State *L, gong_client *c, const client_config *cfg) {
  luaL_Buffer b;
  size_t len;
  const char *tenant;
  luaL_buffinit(L, &b);
  luaL_addlstring(&b, c->base_url, c->base_len);
  /* A token function's tokens change; the base URL is the tenant's own host then. */
  luaL_addstring(&b, cfg->access_key != NULL ? "\nkey:" : cfg->token_fn ? "\ntoken-function" : "\ntoken:");
  if (cfg->access_key != NULL) luaL_addstring(&b, cfg->access_key);
  else if (cfg->token != NULL) luaL_addstring(&b, cfg->token);
  luaL_pushresult(&b);
  tenant = lua_tolstring(L, -1, &len);
  configure_tenant_hash(tenant, len, c->tenant);
  lua_pop(L, 1);
}

/* rate_scope "host": the window is shared by every process of the user on the machine with the tenant. */
static void configure_share_rate(lua_State *L, gong_client *c, const client_config *cfg) {
  const char *why = ratelimit_share(&c->rate, c->tenant, cfg->timeout);
  if (why != NULL) {
    step_push_rate_error(L, why);
    lua_error(L);
  }
  /* The usual directory was another user's: where the state went instead. */
  if (c->rate.why[0] != '\0') error_warn(L, lua_upvalueindex(1), "%s", c->rate.why);
  /* It holds nothing worth keeping (timestamps), so it is replaced, not refused. */
  if (c->rate.damaged)
    error_warn(L, lua_upvalueindex(1), "%s was not a gong rate state file, or was damaged: replaced it",
               c->rate.path);
}

/* Sets up the client and its easy handle from the options table at `opts`. */
static void client_configure(lua_State *L, gong_client *c, int opts) {
  client_config cfg;
  const char *why, *reason;
  size_t len;
  memset(&cfg, 0, sizeof cfg);
  options_read(L, opts, &cfg);

  why = url_check_base(cfg.base_url, cfg.allow_http, &reason);
  if (why != NULL) option_error_because(L, "base_url", why, reason);
  len = strlen(cfg.base_url);
  while (len > 0 && cfg.base_url[len - 1] == '/') len--;
  c->base_url = (char *)malloc(len + 1);
  if (c->base_url == NULL) luaL_error(L, "gong: out of memory");
  memcpy(c->base_url, cfg.base_url, len);
  c->base_url[len] = '\0';
  c->base_len = len;
  c->api = cfg.api == API_AUTO ? api_for_host(c->base_url) : cfg.api;
  c->endpoints = api_endpoints(c->api);

  c->limits.timeout = cfg.timeout;
  c->limits.connect_timeout = cfg.connect_timeout;
  c->limits.stall_timeout = cfg.stall_timeout;
  c->limits.max_response_bytes = (size_t)cfg.max_response_bytes;
  c->retry.max_retries = (int)cfg.max_retries;
  c->retry.max_retry_wait = cfg.max_retry_wait;
  c->retry.backoff_base = cfg.backoff_base;
  c->retry.backoff_max = cfg.backoff_max;
  retry_seed(&c->retry, c);
  c->deadline = cfg.deadline;
  if (cfg.on_wait) {
    lua_pushvalue(L, cfg.on_wait);
    c->on_wait = luaL_ref(L, LUA_REGISTRYINDEX);
  }
  if (cfg.on_attempt) {
    lua_pushvalue(L, cfg.on_attempt);
    c->on_attempt = luaL_ref(L, LUA_REGISTRYINDEX);
  }
  if (!ratelimit_init(&c->rate, cfg.rate)) luaL_error(L, "gong: out of memory");
  configure_name_tenant(L, c, &cfg);
  if (cfg.rate_scope == RATE_SCOPE_HOST) configure_share_rate(L, c, &cfg);

  configure_auth(L, c, &cfg);
  configure_headers(L, c, cfg.headers);
  configure_add_header(L, &c->headers, "Accept: application/json");
  configure_add_header(L, &c->limits.post_headers, "Accept: application/json");
  configure_add_header(L, &c->limits.post_headers, "Content-Type: application/json");
  c->limits.get_headers = c->headers;

  if (cfg.user_agent == NULL)
    cfg.user_agent = lua_pushfstring(L, "gong-lua/%s libcurl/%s", GONG_VERSION,
                                     curl_version_info(CURLVERSION_NOW)->version);
  CONFIGURE_SETOPT(L, c, CURLOPT_USERAGENT, cfg.user_agent);
  if (cfg.ca_file != NULL) CONFIGURE_SETOPT(L, c, CURLOPT_CAINFO, cfg.ca_file);
  CONFIGURE_SETOPT(L, c, CURLOPT_SSL_VERIFYPEER, cfg.insecure ? 0L : 1L);
  CONFIGURE_SETOPT(L, c, CURLOPT_SSL_VERIFYHOST, cfg.insecure ? 0L : 2L);

  CONFIGURE_SETOPT(L, c, CURLOPT_NOSIGNAL, 1L);
  CONFIGURE_SETOPT(L, c, CURLOPT_PROTOCOLS_STR, "http,https");
  CONFIGURE_SETOPT(L, c, CURLOPT_REDIR_PROTOCOLS_STR, "http,https");
  CONFIGURE_SETOPT(L, c, CURLOPT_FOLLOWLOCATION, 0L);
  CONFIGURE_SETOPT(L, c, CURLOPT_HTTPGET, 1L);
  CONFIGURE_SETOPT(L, c, CURLOPT_HTTPHEADER, c->headers);
  /* gzip, what every server speaks: libcurl formats the header on every
   * request, and its full list ("deflate, gzip, br, zstd") costs 3,000
   * instructions a request more for encodings an API does not need. */
  CONFIGURE_SETOPT(L, c, CURLOPT_ACCEPT_ENCODING, "gzip");
  CONFIGURE_SETOPT(L, c, CURLOPT_TCP_KEEPALIVE, 1L);
  CONFIGURE_SETOPT(L, c, CURLOPT_TIMEOUT_MS, (long)(c->limits.timeout * 1000));
  CONFIGURE_SETOPT(L, c, CURLOPT_CONNECTTIMEOUT_MS, (long)(c->limits.connect_timeout * 1000));
  CONFIGURE_SETOPT(L, c, CURLOPT_MAXFILESIZE_LARGE, (curl_off_t)c->limits.max_response_bytes);
  {
    CURLcode rc = transfer_bind(&c->main);
    if (rc != CURLE_OK)
      error_raise(L, "config", "libcurl refused a callback: %s", curl_easy_strerror(rc));
  }
}

