/*
 * The client class: a configured easy handle, the client's one rate limiter
 * and retry policy, a batch pool, and the Lua methods on top of them. The
 * methods' table is exported as core.Client, so that the Lua layer can add
 * what it writes in Lua (iterators, the tree, the whole library) to the same
 * class.
 */

#define CLIENT_MT "gong.client"

enum { AUTH_NONE, AUTH_BASIC, AUTH_BEARER };

typedef struct gong_client {
  transfer main; /* one easy handle, reused: keep-alive and TLS session reuse */
  transfer_limits limits;
  struct curl_slist *headers;
  char *base_url; /* without trailing slash; kept after close for tostring */
  size_t base_len;
  int api;                   /* API_CONTRACT or API_PUBLIC, "auto" resolved */
  char tenant[17];           /* who the rate limit is Gong's for, hashed (ratelimit_tenant_name) */
  const endpoint *endpoints; /* of the client's API */
  int auth, closed;
  lua_Integer requests; /* attempts made, single and batch: client:stats() */
  retry_policy retry;
  ratelimit rate;
  token_source token; /* a token function's, when the option is one */
  batch_pool pool;
} gong_client;

/* Returns the client at argument 1, raising if it is not one. */
static gong_client *client_check(lua_State *L) {
  return (gong_client *)luaL_checkudata(L, 1, CLIENT_MT);
}

/* Closes the connections and frees the client's buffers; idempotent. */
static void client_release(lua_State *L, gong_client *c) {
  batch_pool_free(&c->pool);
  token_release(L, &c->token);
  transfer_free(&c->main);
  curl_slist_free_all(c->headers);
  curl_slist_free_all(c->limits.post_headers);
  c->headers = c->limits.get_headers = c->limits.post_headers = NULL;
  ratelimit_free(&c->rate);
  c->closed = 1;
}

/* ---- configuration ---------------------------------------------------- */

/* Sets a libcurl option on the client's handle, raising a config error if libcurl refuses it. */
#define CLIENT_SETOPT(L, c, opt, val)                                          \
  do {                                                                         \
    CURLcode rc_ = curl_easy_setopt((c)->main.curl, opt, val);                 \
    if (rc_ != CURLE_OK)                                                       \
      error_raise(L, "config", "libcurl refused %s: %s", #opt,                 \
                  curl_easy_strerror(rc_));                                    \
  } while (0)

/* Appends `line` to the header list `*list`. */
static void client_add_header(lua_State *L, struct curl_slist **list, const char *line) {
  struct curl_slist *grown = curl_slist_append(*list, line);
  if (grown == NULL) luaL_error(L, "gong: out of memory");
  *list = grown;
}

/* Adds "Name: value" lines from the headers table at `idx` (0: none). */
static void client_headers(lua_State *L, gong_client *c, int idx) {
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
    client_add_header(L, &c->headers, lua_pushfstring(L, "%s: %s", name, value));
    client_add_header(L, &c->limits.post_headers, lua_tostring(L, -1));
    lua_pop(L, 2);
  }
}

/*
 * Applies the credentials. The one rule kept here is what a request can be
 * made with: at most one kind, and Basic as a whole pair. Where credentials
 * come from (options, a file, the environment) is gong.credentials' business.
 */
static void client_auth(lua_State *L, gong_client *c, const client_config *cfg) {
  if ((cfg->access_key == NULL) != (cfg->access_key_secret == NULL))
    option_error(L, cfg->access_key == NULL ? "access_key" : "access_key_secret",
                 "is missing: access_key and access_key_secret go together");
  if (cfg->access_key != NULL && (cfg->token != NULL || cfg->token_fn))
    option_error(L, "token", "is given with access_key/access_key_secret: give one kind, not both");
  if (cfg->access_key != NULL) {
    c->auth = AUTH_BASIC;
    CLIENT_SETOPT(L, c, CURLOPT_HTTPAUTH, (long)CURLAUTH_BASIC);
    CLIENT_SETOPT(L, c, CURLOPT_USERNAME, cfg->access_key);
    CLIENT_SETOPT(L, c, CURLOPT_PASSWORD, cfg->access_key_secret);
  } else if (cfg->token != NULL) {
    c->auth = AUTH_BEARER;
    CLIENT_SETOPT(L, c, CURLOPT_HTTPAUTH, (long)CURLAUTH_BEARER);
    CLIENT_SETOPT(L, c, CURLOPT_XOAUTH2_BEARER, cfg->token);
  } else if (cfg->token_fn) {
    /* The token is asked for by the first request (token.c). */
    c->auth = AUTH_BEARER;
    CLIENT_SETOPT(L, c, CURLOPT_HTTPAUTH, (long)CURLAUTH_BEARER);
    lua_pushvalue(L, cfg->token_fn);
    c->token.ref = luaL_ref(L, LUA_REGISTRYINDEX);
  }
}

/*
 * Names the client's tenant: the base URL and the key id or the token (not
 * the secret), hashed, so the name shows none of them. rate_scope "host"
 * shares the window of that name; gong.resty keys its shared dict with it.
 */
static void client_name_tenant(lua_State *L, gong_client *c, const client_config *cfg) {
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
  ratelimit_tenant_name(tenant, len, c->tenant);
  lua_pop(L, 1);
}

/* rate_scope "host": the window is shared by every process of the user on the machine with the tenant. */
static void client_share_rate(lua_State *L, gong_client *c, const client_config *cfg) {
  const char *why = ratelimit_share(&c->rate, c->tenant, cfg->timeout);
  if (why != NULL) {
    error_push(L, "config", "rate_scope \"host\": %s", why);
    error_set_string(L, "option", "rate_scope");
    error_set_string(L, "reason", "shared_state");
    lua_error(L);
  }
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
  c->endpoints = api_endpoints[c->api];

  c->limits.timeout = cfg.timeout;
  c->limits.connect_timeout = cfg.connect_timeout;
  c->limits.stall_timeout = cfg.stall_timeout;
  c->limits.max_response_bytes = (size_t)cfg.max_response_bytes;
  c->retry.max_retries = (int)cfg.max_retries;
  c->retry.max_retry_wait = cfg.max_retry_wait;
  c->retry.backoff_base = cfg.backoff_base;
  c->retry.backoff_max = cfg.backoff_max;
  retry_seed(&c->retry, c);
  if (!ratelimit_init(&c->rate, cfg.rate)) luaL_error(L, "gong: out of memory");
  client_name_tenant(L, c, &cfg);
  if (cfg.rate_scope == RATE_SCOPE_HOST) client_share_rate(L, c, &cfg);

  client_auth(L, c, &cfg);
  client_headers(L, c, cfg.headers);
  client_add_header(L, &c->headers, "Accept: application/json");
  client_add_header(L, &c->limits.post_headers, "Accept: application/json");
  client_add_header(L, &c->limits.post_headers, "Content-Type: application/json");
  c->limits.get_headers = c->headers;

  if (cfg.user_agent == NULL)
    cfg.user_agent = lua_pushfstring(L, "gong-lua/%s libcurl/%s", GONG_VERSION(L),
                                     curl_version_info(CURLVERSION_NOW)->version);
  CLIENT_SETOPT(L, c, CURLOPT_USERAGENT, cfg.user_agent);
  if (cfg.ca_file != NULL) CLIENT_SETOPT(L, c, CURLOPT_CAINFO, cfg.ca_file);
  CLIENT_SETOPT(L, c, CURLOPT_SSL_VERIFYPEER, cfg.insecure ? 0L : 1L);
  CLIENT_SETOPT(L, c, CURLOPT_SSL_VERIFYHOST, cfg.insecure ? 0L : 2L);

  CLIENT_SETOPT(L, c, CURLOPT_NOSIGNAL, 1L);
  CLIENT_SETOPT(L, c, CURLOPT_PROTOCOLS_STR, "http,https");
  CLIENT_SETOPT(L, c, CURLOPT_REDIR_PROTOCOLS_STR, "http,https");
  CLIENT_SETOPT(L, c, CURLOPT_FOLLOWLOCATION, 0L);
  CLIENT_SETOPT(L, c, CURLOPT_HTTPGET, 1L);
  CLIENT_SETOPT(L, c, CURLOPT_HTTPHEADER, c->headers);
  /* gzip, what every server speaks: libcurl formats the header on every
   * request, and its full list ("deflate, gzip, br, zstd") costs 3,000
   * instructions a request more for encodings an API does not need. */
  CLIENT_SETOPT(L, c, CURLOPT_ACCEPT_ENCODING, "gzip");
  CLIENT_SETOPT(L, c, CURLOPT_TCP_KEEPALIVE, 1L);
  CLIENT_SETOPT(L, c, CURLOPT_TIMEOUT_MS, (long)(c->limits.timeout * 1000));
  CLIENT_SETOPT(L, c, CURLOPT_CONNECTTIMEOUT_MS, (long)(c->limits.connect_timeout * 1000));
  CLIENT_SETOPT(L, c, CURLOPT_MAXFILESIZE_LARGE, (curl_off_t)c->limits.max_response_bytes);
  {
    CURLcode rc = transfer_bind(&c->main);
    if (rc != CURLE_OK)
      error_raise(L, "config", "libcurl refused a callback: %s", curl_easy_strerror(rc));
  }
}

/*
 * gong.core.new([opts]) -> client
 * Raises an error of kind "config" for unknown or invalid options.
 */
static int client_new(lua_State *L) {
  gong_client *c;
  if (lua_isnoneornil(L, 1)) {
    lua_settop(L, 0);
    lua_newtable(L);
  } else if (lua_type(L, 1) != LUA_TTABLE) {
    return error_raise(L, "argument", "new: options must be a table (got %s)",
                       luaL_typename(L, 1));
  }
  lua_settop(L, 1);
  c = (gong_client *)lua_newuserdatauv(L, sizeof *c, 0);
  memset(c, 0, sizeof *c);
  c->token.ref = LUA_NOREF;
  c->closed = 1; /* until fully configured: __gc must only free */
  luaL_setmetatable(L, CLIENT_MT);
  c->main.limits = &c->limits;
  c->main.curl = curl_easy_init();
  if (c->main.curl == NULL) return error_raise(L, "config", "libcurl could not create a handle");
  client_configure(L, c, 1);
  c->closed = 0;
  lua_settop(L, 2);
  return 1;
}

/* ---- requests --------------------------------------------------------- */

/* Pushes the URL of endpoint `ep` for `value` (NULL when it takes none). */
static void client_push_url(lua_State *L, const gong_client *c, const endpoint *ep,
                            const char *value, size_t vlen) {
  luaL_Buffer b;
  luaL_buffinit(L, &b);
  luaL_addlstring(&b, c->base_url, c->base_len);
  luaL_addstring(&b, ep->prefix);
  if (ep->value != VALUE_NONE) {
    /* Encode in slices that fit one luaL_prepbuffer block when tripled. */
    const size_t slice = LUAL_BUFFERSIZE / 3;
    size_t i;
    for (i = 0; i < vlen; i += slice) {
      size_t n = vlen - i < slice ? vlen - i : slice;
      char *dst = luaL_prepbuffer(&b);
      luaL_addsize(&b, url_escape(dst, value + i, n, ep->value == VALUE_SEGMENT && vlen == n));
    }
  }
  if (ep->suffix != NULL) luaL_addstring(&b, ep->suffix);
  luaL_pushresult(&b);
}

/* nil and the config error of a shared rate limit that could not be used. */
static int client_rate_failed(lua_State *L, const gong_client *c) {
  lua_pushnil(L);
  error_push(L, "config", "rate_scope \"host\": %s", c->rate.why);
  error_set_string(L, "option", "rate_scope");
  error_set_string(L, "reason", "shared_state");
  return 2;
}

/*
 * Makes the request of endpoint `ep` to the URL at `urlidx`: waits for the
 * rate limiter, retries what the retry policy says, and returns the Lua
 * results of the final attempt (list, requestId | nil, err).
 */
static int client_request(lua_State *L, gong_client *c, const endpoint *ep, int urlidx) {
  attempt a;
  request_info r;
  interrupt_watch watch;
  double wait = 0;
  int renewed = 0;
  const char *url = lua_tostring(L, urlidx);
  r.ep = ep;
  r.urlidx = urlidx;
  r.base_len = c->base_len;
  r.attempts = 0;
  interrupt_watch_start(&watch, L);
  c->main.watch = &watch;
  do {
    double delay = 0;
    int interrupted = interrupt_sleep(&watch, wait);
    while (!interrupted && (delay = ratelimit_take(&c->rate, clock_now())) > 0)
      interrupted = interrupt_sleep(&watch, delay);
    if (interrupted) {
      attempt_interrupted(&a);
      break;
    }
    if (delay < 0) {
      c->main.watch = NULL;
      return client_rate_failed(L, c);
    }
    if (!token_current(L, &c->token)) {
      c->main.watch = NULL;
      lua_pushnil(L);
      lua_insert(L, -2);
      return 2;
    }
    token_apply(&c->token, c->main.curl, &c->main.token_gen);
    r.attempts++;
    c->requests++;
    transfer_perform(&c->main, url, NULL, 0, &a);
    wait = retry_wait(&c->retry, &a, r.attempts);
    if (a.status == 401 && !renewed) {
      /* Once with a new token from the token function, if there is one. */
      int again = token_refused(L, &c->token, c->main.token_gen);
      renewed = 1;
      if (again < 0) {
        c->main.watch = NULL;
        lua_pushnil(L);
        lua_insert(L, -2);
        return 2;
      }
      if (again) wait = 0;
    }
  } while (wait >= 0);
  c->main.watch = NULL;
  outcome_push(L, lua_upvalueindex(1), &c->main, &a, &r);
  return 2;
}

/* Returns a `closed` error for a client used after close(). */
static int client_closed_error(lua_State *L, const char *method) {
  lua_pushnil(L);
  error_push(L, "closed", "%s: client is closed", method);
  return 2;
}

/* The folder id at argument `arg` ("" and non-strings raise), with its length. */
static const char *client_check_id(lua_State *L, int arg, const char *what, size_t *len) {
  const char *id = lua_type(L, arg) == LUA_TSTRING ? lua_tolstring(L, arg, len) : NULL;
  if (id == NULL || *len == 0)
    error_raise(L, "argument", "%s must be a non-empty string (got %s)", what,
                id == NULL ? luaL_typename(L, arg) : "an empty string");
  return id;
}

/*
 * Checks folders' params at `params` (nil is fine), raising what is wrong in
 * folders' name, and pushes the URL to ask; returns its endpoint, or NULL
 * (nothing pushed) for a closed client. The stack is set to `params` first.
 */
static const endpoint *client_folders_url(lua_State *L, gong_client *c, int params) {
  const char *ws = NULL;
  size_t wslen = 0;
  const endpoint *ep;
  if (!lua_isnoneornil(L, params)) {
    if (lua_type(L, params) != LUA_TTABLE)
      error_raise(L, "argument", "folders: params must be a table (got %s)", luaL_typename(L, params));
    lua_pushnil(L);
    while (lua_next(L, params)) {
      lua_pop(L, 1);
      if (lua_type(L, -1) != LUA_TSTRING || strcmp(lua_tostring(L, -1), "workspaceId") != 0)
        error_raise(L, "argument", "folders: unknown parameter '%s' (known: workspaceId)",
                    lua_type(L, -1) == LUA_TSTRING ? lua_tostring(L, -1) : luaL_typename(L, -1));
    }
    lua_getfield(L, params, "workspaceId");
    if (!lua_isnil(L, -1)) {
      if (lua_type(L, -1) != LUA_TSTRING || lua_rawlen(L, -1) == 0)
        error_raise(L, "argument", "folders: params.workspaceId must be a non-empty string (got %s)",
                    luaL_typename(L, -1));
      ws = lua_tolstring(L, -1, &wslen);
    }
    lua_pop(L, 1); /* params still holds the string */
  }
  lua_settop(L, params);
  if (c->closed) return NULL;
  ep = &c->endpoints[ws != NULL ? EP_WORKSPACE_FOLDERS : EP_FOLDERS];
  client_push_url(L, c, ep, ws, wslen);
  return ep;
}

/*
 * client:folders([params]) -> folders, requestId | nil, err
 * params.workspaceId (string) filters by workspace.
 */
static int client_folders(lua_State *L) {
  gong_client *c = client_check(L);
  const endpoint *ep = client_folders_url(L, c, 2); /* 3 */
  if (ep == NULL) return client_closed_error(L, "folders");
  return client_request(L, c, ep, 3);
}

/*
 * client:calls(folderId) -> calls, requestId | nil, err
 * folderId travels percent-encoded as exactly one path segment.
 */
static int client_calls(lua_State *L) {
  gong_client *c = client_check(L);
  size_t len = 0;
  const char *id = client_check_id(L, 2, "calls: folderId", &len);
  lua_settop(L, 2);
  if (c->closed) return client_closed_error(L, "calls");
  client_push_url(L, c, &c->endpoints[EP_CALLS], id, len);
  return client_request(L, c, &c->endpoints[EP_CALLS], 3);
}

/* Checks that the ids at `idx` are an array of non-empty strings; returns how many. */
static int client_check_batch_ids(lua_State *L, int idx, const char *who) {
  int k, n;
  luaL_checktype(L, idx, LUA_TTABLE);
  n = (int)lua_rawlen(L, idx);
  for (k = 1; k <= n; k++) {
    lua_rawgeti(L, idx, k);
    if (lua_type(L, -1) != LUA_TSTRING || lua_rawlen(L, -1) == 0)
      error_raise(L, "argument", "%s: ids[%d] must be a non-empty string (got %s)", who, k, luaL_typename(L, -1));
    lua_pop(L, 1);
  }
  return n;
}

/*
 * Checks a batch's options table at `idx` (nil is fine), raising an argument
 * error that names `who` (the method the user called); returns the
 * concurrency it asks for.
 */
static int client_batch_options(lua_State *L, int idx, const char *who) {
  int concurrency = BATCH_DEFAULT_CONCURRENCY;
  if (lua_isnoneornil(L, idx)) return concurrency;
  if (lua_type(L, idx) != LUA_TTABLE)
    return error_raise(L, "argument", "%s: options must be a table (got %s)", who, luaL_typename(L, idx));
  lua_getfield(L, idx, "concurrency");
  if (!lua_isnil(L, -1)) {
    lua_Number v = lua_tonumber(L, -1);
    if (lua_type(L, -1) != LUA_TNUMBER || v < 1 || v > BATCH_MAX_CONCURRENCY || v != floor(v))
      return error_raise(L, "argument", "%s: concurrency must be an integer from 1 to %d", who,
                         BATCH_MAX_CONCURRENCY);
    concurrency = (int)v;
  }
  lua_getfield(L, idx, "on_result");
  if (!lua_isnil(L, -1) && lua_type(L, -1) != LUA_TFUNCTION)
    return error_raise(L, "argument", "%s: on_result must be a function", who);
  lua_pop(L, 2);
  return concurrency;
}

/*
 * core.check_batch_options(opts, who [, ids]) -> concurrency: raises what
 * calls_batch would for `opts` (and `ids`, when given), naming `who`; for
 * methods built on calls_batch, which must refuse bad options before their
 * first request, and for a host that runs a batch itself (gong.resty).
 */
static int client_check_batch_options(lua_State *L) {
  const char *who = luaL_checkstring(L, 2);
  int concurrency;
  if (!lua_isnoneornil(L, 3)) client_check_batch_ids(L, 3, who);
  concurrency = client_batch_options(L, 1, who);
  lua_pushinteger(L, concurrency);
  return 1;
}

/*
 * Runs `job` on the client's pool, under its limits, rate limiter and retry
 * policy, as `who`. Returns 1 when the batch ran to its end (the results are
 * in job->results); on an interrupt, or a shared rate limit that cannot be
 * used, pushes nil and the error and returns 0; a failure of the engine
 * itself raises.
 */
static int client_run_job(lua_State *L, gong_client *c, batch_job *job, const char *who) {
  interrupt_watch watch;
  const char *why = NULL;
  int ran;
  job->model = c->main.curl;
  job->limits = &c->limits;
  job->rate = &c->rate;
  job->retry = &c->retry;
  job->base_len = c->base_len;
  job->state = lua_upvalueindex(1);
  job->requests = &c->requests;
  job->token = &c->token;
  interrupt_watch_start(&watch, L);
  job->watch = &watch;
  ran = batch_run(L, &c->pool, job, &why);
  job->watch = NULL; /* the watch ends with this function */
  switch (ran) {
  case BATCH_FAILED:
    return error_raise(L, "network", "%s: %s", who, why);
  case BATCH_INTERRUPTED:
    lua_pushnil(L);
    error_push(L, "interrupted", "%s: interrupted", who);
    return 0;
  case BATCH_RATE_FAILED:
    client_rate_failed(L, c);
    return 0;
  case BATCH_AUTH_FAILED: /* the token function's error is on top */
    lua_pushnil(L);
    lua_insert(L, -2);
    return 0;
  default:
    return 1;
  }
}

/*
 * client:calls_batch(ids [, opts]) -> results | nil, err
 * results[i] is the calls list of ids[i], or an error object for it.
 * opts.concurrency (default 3) transfers at once; opts.on_result(i, calls,
 * requestId) or (i, nil, err) is called as each folder completes: returning
 * false ends the batch (the results not finished stay nil), an error it
 * raises ends it and propagates.
 */
static int client_calls_batch(lua_State *L) {
  gong_client *c = client_check(L);
  batch_job job;
  int k;
  memset(&job, 0, sizeof job);
  job.n = client_check_batch_ids(L, 2, "calls_batch");
  job.concurrency = client_batch_options(L, 3, "calls_batch");
  lua_settop(L, 3);
  if (c->closed) return client_closed_error(L, "calls_batch");
  lua_createtable(L, job.n, 0); /* 4: results */
  lua_createtable(L, job.n, 0); /* 5: urls */
  job.results = 4;
  job.urls = 5;
  job.ep = &c->endpoints[EP_CALLS];
  for (k = 1; k <= job.n; k++) {
    size_t len;
    const char *id;
    lua_rawgeti(L, 2, k);
    id = lua_tolstring(L, -1, &len);
    client_push_url(L, c, job.ep, id, len);
    lua_rawseti(L, job.urls, k);
    lua_pop(L, 1);
  }
  if (lua_type(L, 3) == LUA_TTABLE) {
    lua_getfield(L, 3, "on_result");
    if (lua_isnil(L, -1)) lua_pop(L, 1);
    else job.on_result = lua_gettop(L);
  }
  if (job.concurrency > job.n) job.concurrency = job.n;
  if (!client_run_job(L, c, &job, "calls_batch")) return 2;
  lua_settop(L, job.results);
  return 1;
}

/*
 * client:stats() -> { requests = attempts made so far (every retry counts),
 * rate_file = the state file of a window shared with rate_scope "host" }
 */
static int client_stats(lua_State *L) {
  gong_client *c = client_check(L);
  lua_createtable(L, 0, 2);
  lua_pushinteger(L, c->requests);
  lua_setfield(L, -2, "requests");
  if (c->rate.path != NULL) {
    lua_pushstring(L, c->rate.path);
    lua_setfield(L, -2, "rate_file");
  }
  return 1;
}

/* client:workspaces() -> workspaces, requestId | nil, err */
static int client_workspaces(lua_State *L) {
  gong_client *c = client_check(L);
  lua_settop(L, 1);
  if (c->closed) return client_closed_error(L, "workspaces");
  client_push_url(L, c, &c->endpoints[EP_WORKSPACES], NULL, 0);
  return client_request(L, c, &c->endpoints[EP_WORKSPACES], 2);
}

/*
 * Pushes the distinct call ids of the list at `idx`, in order, raising an
 * argument error naming `who` for anything but non-empty strings.
 */
static void client_distinct_ids(lua_State *L, int idx, const char *who) {
  int k, n, seen, out;
  if (lua_type(L, idx) != LUA_TTABLE)
    error_raise(L, "argument", "%s: callIds must be a list of strings (got %s)", who, luaL_typename(L, idx));
  n = (int)lua_rawlen(L, idx);
  lua_createtable(L, 0, n);
  seen = lua_gettop(L);
  lua_createtable(L, n, 0);
  out = lua_gettop(L);
  for (k = 1; k <= n; k++) {
    lua_rawgeti(L, idx, k);
    if (lua_type(L, -1) != LUA_TSTRING || lua_rawlen(L, -1) == 0)
      error_raise(L, "argument", "%s: callIds[%d] must be a non-empty string (got %s)", who, k,
                  luaL_typename(L, -1));
    lua_pushvalue(L, -1);
    lua_rawget(L, seen);
    if (lua_isnil(L, -1)) {
      lua_pop(L, 1);
      lua_pushvalue(L, -1);
      lua_pushboolean(L, 1);
      lua_rawset(L, seen);
      lua_rawseti(L, out, (lua_Integer)lua_rawlen(L, out) + 1);
    } else {
      lua_pop(L, 2);
    }
  }
  lua_remove(L, seen);
}

/* An integer option in [1, max] of the table at `opts`, or `dflt`. */
static int client_int_option(lua_State *L, int opts, const char *name, int dflt, int max, const char *who) {
  lua_Number v;
  int result = dflt;
  if (lua_type(L, opts) != LUA_TTABLE) return dflt;
  lua_getfield(L, opts, name);
  if (!lua_isnil(L, -1)) {
    v = lua_tonumber(L, -1);
    if (lua_type(L, -1) != LUA_TNUMBER || v < 1 || v > max || v != floor(v))
      error_raise(L, "argument", "%s: %s must be an integer from 1 to %d", who, name, max);
    result = (int)v;
  }
  lua_pop(L, 1);
  return result;
}

/*
 * Pushes call_details' contentSelector for the options at `opts`:
 * {context = ..., exposedFields = {...}} from opts.context and opts.fields.
 */
static void client_content_selector(lua_State *L, int opts) {
  int k, n;
  const char *context = api_contexts[0];
  lua_createtable(L, 0, 2);
  lua_newtable(L); /* exposedFields */
  if (lua_type(L, opts) == LUA_TTABLE) lua_getfield(L, opts, "fields");
  else lua_pushnil(L);
  if (lua_isnil(L, -1)) {
    lua_pop(L, 1);
    lua_createtable(L, 1, 0);
    lua_pushstring(L, exposed_fields[0].name); /* the parties: names for transcripts */
    lua_rawseti(L, -2, 1);
  } else if (lua_type(L, -1) != LUA_TTABLE) {
    error_raise(L, "argument", "call_details: fields must be a list of names (got %s)", luaL_typename(L, -1));
  }
  n = (int)lua_rawlen(L, -1);
  for (k = 1; k <= n; k++) {
    const exposed_field *f;
    lua_rawgeti(L, -1, k);
    for (f = exposed_fields; f->name != NULL; f++)
      if (lua_type(L, -1) == LUA_TSTRING && strcmp(lua_tostring(L, -1), f->name) == 0) break;
    if (f->name == NULL)
      error_raise(L, "argument", "call_details: fields[%d] must be one of parties, content, interaction, "
                                 "collaboration, media", k);
    lua_pop(L, 1);
    if (f->parts == NULL) {
      lua_pushboolean(L, 1);
    } else {
      const char *const *part;
      lua_newtable(L);
      for (part = f->parts; *part != NULL; part++) {
        lua_pushboolean(L, 1);
        lua_setfield(L, -2, *part);
      }
    }
    lua_setfield(L, -3, f->name);
  }
  lua_pop(L, 1);
  lua_setfield(L, -2, "exposedFields");
  if (lua_type(L, opts) == LUA_TTABLE) {
    lua_getfield(L, opts, "context");
    if (!lua_isnil(L, -1)) {
      int i;
      for (i = 0; api_contexts[i] != NULL; i++)
        if (lua_type(L, -1) == LUA_TSTRING && strcmp(lua_tostring(L, -1), api_contexts[i]) == 0) break;
      if (api_contexts[i] == NULL)
        error_raise(L, "argument", "call_details: context must be \"None\", \"Basic\" or \"Extended\"");
      context = api_contexts[i];
    }
    lua_pop(L, 1);
  }
  lua_pushstring(L, context);
  lua_setfield(L, -2, "context");
}

/*
 * The on_result of a Calls API batch: tells opts.on_progress (upvalue 1) how
 * many of the calls (upvalue 4) have been answered so far (upvalue 3), the
 * batch of ids just done being bodies[i] (upvalue 2).
 */
static int client_calls_api_progress(lua_State *L) {
  lua_Integer done = lua_tointeger(L, lua_upvalueindex(3));
  lua_rawgeti(L, lua_upvalueindex(2), lua_tointeger(L, 1));
  lua_getfield(L, -1, "filter");
  lua_getfield(L, -1, "callIds");
  done += (lua_Integer)lua_rawlen(L, -1);
  lua_pushinteger(L, done);
  lua_replace(L, lua_upvalueindex(3));
  lua_pushvalue(L, lua_upvalueindex(1));
  lua_pushinteger(L, done);
  lua_pushvalue(L, lua_upvalueindex(4));
  lua_call(L, 2, 0);
  return 0;
}

/*
 * Pushes the body of a Calls API request for `count` ids of the list at
 * `ids` from `first` on, with the content selector at `selector` (0: none).
 */
static void client_calls_api_body(lua_State *L, int ids, int first, int count, int selector) {
  int i;
  lua_createtable(L, 0, 3);
  lua_createtable(L, 0, 1);
  lua_createtable(L, count, 0);
  for (i = 1; i <= count; i++) {
    lua_rawgeti(L, ids, first + i - 1);
    lua_rawseti(L, -2, i);
  }
  lua_setfield(L, -2, "callIds");
  lua_setfield(L, -2, "filter");
  if (selector) {
    lua_pushvalue(L, selector);
    lua_setfield(L, -2, "contentSelector");
  }
}

/*
 * Sets each record of the list at `list` in the table at `out` under its
 * call id: a call's details under metaData.id, its transcript (the
 * monologues) under callId. A record without an id is left out.
 */
static void client_key_records(lua_State *L, int which, int list, int out) {
  size_t i, count = lua_rawlen(L, list);
  for (i = 1; i <= count; i++) {
    lua_rawgeti(L, list, (lua_Integer)i);
    if (which == EP_CALL_DETAILS) {
      lua_getfield(L, -1, "metaData");
      if (lua_type(L, -1) == LUA_TTABLE) lua_getfield(L, -1, "id");
      else lua_pushnil(L);
      lua_remove(L, -2);
      lua_pushvalue(L, -2);
    } else {
      lua_getfield(L, -1, "callId");
      lua_getfield(L, -2, "transcript");
    }
    /* stack: ..., item, key, value */
    if (lua_type(L, -2) == LUA_TSTRING) lua_rawset(L, out);
    else lua_pop(L, 2);
    lua_pop(L, 1);
  }
}

/*
 * Checks the arguments of a Calls API method, `ids` at 2 and the options at 3
 * (the stack is set to 3), raising what is wrong in `who`'s name; pushes the
 * distinct ids (4) and the content selector (5, nil for transcripts), and sets
 * the batch size and the concurrency.
 */
static void client_calls_api_check(lua_State *L, int which, const char *who, int *batch_size, int *concurrency) {
  lua_settop(L, 3);
  if (!lua_isnil(L, 3) && lua_type(L, 3) != LUA_TTABLE)
    error_raise(L, "argument", "%s: options must be a table (got %s)", who, luaL_typename(L, 3));
  client_distinct_ids(L, 2, who);
  *batch_size = client_int_option(L, 3, "batch_size", API_MAX_BATCH, API_MAX_BATCH, who);
  *concurrency = client_int_option(L, 3, "concurrency", BATCH_DEFAULT_CONCURRENCY, BATCH_MAX_CONCURRENCY, who);
  if (lua_type(L, 3) == LUA_TTABLE) {
    lua_getfield(L, 3, "on_progress");
    if (!lua_isnil(L, -1) && lua_type(L, -1) != LUA_TFUNCTION)
      error_raise(L, "argument", "%s: on_progress must be a function", who);
    lua_pop(L, 1);
  }
  if (which == EP_CALL_DETAILS) client_content_selector(L, 3);
  else lua_pushnil(L);
}

/*
 * core.check_calls_api_options(ids, opts, method) -> { batch_size, concurrency }:
 * raises what call_details or transcripts (`method`) would for these
 * arguments; for a host that runs their batches itself (gong.resty).
 */
static int client_check_calls_api_options(lua_State *L) {
  const char *method = luaL_checkstring(L, 3);
  int which = strcmp(method, "call_details") == 0 ? EP_CALL_DETAILS : EP_TRANSCRIPTS;
  int batch_size, concurrency;
  lua_pushnil(L);
  lua_insert(L, 1); /* ids at 2 and opts at 3, as the methods have them */
  client_calls_api_check(L, which, which == EP_CALL_DETAILS ? "call_details" : "transcripts", &batch_size,
                         &concurrency);
  lua_createtable(L, 0, 2);
  lua_pushinteger(L, batch_size);
  lua_setfield(L, -2, "batch_size");
  lua_pushinteger(L, concurrency);
  lua_setfield(L, -2, "concurrency");
  return 1;
}

/*
 * The Calls API for `ids` (argument 2) with the options at 3: the distinct
 * ids in batches of batch_size, every page followed, batches run together on
 * the batch engine. Returns the records keyed by call id (details: the
 * record, keyed by metaData.id; transcripts: the monologues, keyed by callId)
 * and the request ids of every page; nil and the error when any batch fails.
 */
static int client_calls_api(lua_State *L, int which, const char *who) {
  gong_client *c = client_check(L);
  batch_job job;
  int k, n, batch_size, ids, bodies, selector = 0;
  memset(&job, 0, sizeof job);
  client_calls_api_check(L, which, who, &batch_size, &job.concurrency); /* 4, 5 */
  ids = 4;
  if (which == EP_CALL_DETAILS) selector = 5;
  if (c->closed) return client_closed_error(L, who);
  n = (int)lua_rawlen(L, ids);
  job.n = (n + batch_size - 1) / batch_size;
  lua_createtable(L, job.n, 0); /* 6: bodies */
  bodies = 6;
  for (k = 0; k < job.n; k++) {
    int count = n - k * batch_size < batch_size ? n - k * batch_size : batch_size;
    client_calls_api_body(L, ids, k * batch_size + 1, count, selector);
    lua_rawseti(L, bodies, k + 1);
  }
  lua_createtable(L, job.n, 0); /* 7: results */
  lua_createtable(L, job.n, 0); /* 8: encoded bodies */
  lua_createtable(L, job.n, 0); /* 9: records by batch */
  lua_createtable(L, job.n, 0); /* 10: request ids by batch */
  job.ep = &c->endpoints[which];
  client_push_url(L, c, job.ep, NULL, 0); /* 11 */
  job.bodies = bodies;
  job.results = 7;
  job.encoded = 8;
  job.pages = 9;
  job.page_ids = 10;
  job.url = 11;
  if (lua_type(L, 3) == LUA_TTABLE) {
    lua_getfield(L, 3, "on_progress");
    if (lua_isnil(L, -1)) {
      lua_pop(L, 1);
    } else {
      lua_pushvalue(L, bodies);
      lua_pushinteger(L, 0);
      lua_pushinteger(L, n);
      lua_pushcclosure(L, client_calls_api_progress, 4); /* 12 */
      job.on_result = lua_gettop(L);
    }
  }
  job.stop_on_error = 1;
  if (job.concurrency > job.n) job.concurrency = job.n > 0 ? job.n : 1;
  if (!client_run_job(L, c, &job, who)) return 2;
  lua_newtable(L); /* the records by call id */
  lua_newtable(L); /* the request ids */
  for (k = 1; k <= job.n; k++) {
    size_t i, count;
    lua_rawgeti(L, job.results, k);
    if (error_is_at(L, -1)) {
      lua_pushnil(L);
      lua_insert(L, -2);
      return 2;
    }
    client_key_records(L, which, lua_gettop(L), lua_gettop(L) - 2);
    lua_pop(L, 1);
    lua_rawgeti(L, job.page_ids, k);
    count = lua_type(L, -1) == LUA_TTABLE ? lua_rawlen(L, -1) : 0;
    for (i = 1; i <= count; i++) {
      lua_rawgeti(L, -1, (lua_Integer)i);
      lua_rawseti(L, -3, (lua_Integer)lua_rawlen(L, -3) + 1);
    }
    lua_pop(L, 1);
  }
  return 2;
}

/*
 * client:call_details(callIds [, opts]) -> details, requestIds | nil, err
 * POST /calls/extensive: opts.fields (default {"parties"}), opts.context
 * ("None"), opts.batch_size (100), opts.concurrency (3), opts.on_progress.
 */
static int client_call_details(lua_State *L) {
  return client_calls_api(L, EP_CALL_DETAILS, "call_details");
}

/*
 * client:transcripts(callIds [, opts]) -> transcripts, requestIds | nil, err
 * POST /calls/transcript: opts.batch_size, opts.concurrency, opts.on_progress.
 */
static int client_transcripts(lua_State *L) {
  return client_calls_api(L, EP_TRANSCRIPTS, "transcripts");
}

/*
 * client:retry_in(err, attempts) -> seconds | nil: what the client's retry
 * policy does after `err` ended attempt number `attempts` of a request: wait
 * that long and try again, or (nil) give up. For a caller that makes each
 * attempt itself (gong.resty, taking a shared rate slot for each); works on
 * a closed client too.
 */
static int client_retry_in(lua_State *L) {
  gong_client *c = (gong_client *)luaL_checkudata(L, 1, CLIENT_MT);
  lua_Integer attempts = luaL_checkinteger(L, 3);
  double retry_after = -1, wait;
  int transient;
  luaL_checktype(L, 2, LUA_TTABLE);
  lua_getfield(L, 2, "transient");
  transient = lua_toboolean(L, -1);
  lua_getfield(L, 2, "retry_after");
  if (lua_type(L, -1) == LUA_TNUMBER) retry_after = lua_tonumber(L, -1);
  lua_pop(L, 2);
  wait = retry_after_failure(&c->retry, transient, retry_after, attempts > 1000 ? 1000 : (int)attempts);
  if (wait < 0) lua_pushnil(L);
  else lua_pushnumber(L, wait);
  return 1;
}

/* client:close(): releases the connections; idempotent. Also __close. */
static int client_close(lua_State *L) {
  client_release(L, client_check(L));
  return 0;
}

/* __gc: everything close() frees, and the base URL kept for tostring. */
static int client_gc(lua_State *L) {
  gong_client *c = client_check(L);
  client_release(L, c);
  free(c->base_url);
  c->base_url = NULL;
  return 0;
}

/* tostring(client): base URL, auth kind and API, never a secret. */
static int client_tostring(lua_State *L) {
  gong_client *c = client_check(L);
  static const char *const auth[] = {"none", "basic", "bearer"};
  if (c->base_url == NULL) lua_pushliteral(L, "gong.client(closed)");
  else lua_pushfstring(L, "gong.client(%s, auth=%s, api=%s%s)", c->base_url, auth[c->auth], api_names[c->api],
                       c->closed ? ", closed" : "");
  return 1;
}

/*
 * __index: client.api (the API the client speaks, "contract" or "public"),
 * client.tenant (its tenant's name, ratelimit_tenant_name), else the methods.
 */
static int client_index(lua_State *L) {
  gong_client *c = client_check(L);
  const char *key = lua_type(L, 2) == LUA_TSTRING ? lua_tostring(L, 2) : "";
  if (strcmp(key, "api") == 0) {
    lua_pushstring(L, api_names[c->api]);
    return 1;
  }
  if (strcmp(key, "tenant") == 0) {
    lua_pushstring(L, c->tenant);
    return 1;
  }
  lua_pushvalue(L, 2);
  lua_rawget(L, lua_upvalueindex(2));
  return 1;
}

/*
 * Registers the client metatable, its methods sharing the module state
 * upvalue, and sets core.Client (the methods' table) on the module table on
 * top of the stack.
 */
static void client_open(lua_State *L, int state) {
  static const luaL_Reg methods[] = {
    {"folders", client_folders}, {"calls", client_calls}, {"calls_batch", client_calls_batch},
    {"workspaces", client_workspaces}, {"call_details", client_call_details},
    {"transcripts", client_transcripts}, {"stats", client_stats}, {"retry_in", client_retry_in},
    {"close", client_close}, {NULL, NULL}};
  static const luaL_Reg meta[] = {
    {"__gc", client_gc}, {"__close", client_close}, {"__tostring", client_tostring},
    {NULL, NULL}};
  luaL_newmetatable(L, CLIENT_MT);
  lua_pushvalue(L, state);
  luaL_setfuncs(L, meta, 1);
  lua_createtable(L, 0, 16);
  lua_pushvalue(L, state);
  luaL_setfuncs(L, methods, 1);
  lua_pushvalue(L, state);
  lua_pushvalue(L, -2);
  lua_pushcclosure(L, client_index, 2);
  lua_setfield(L, -3, "__index");
  lua_setfield(L, -3, "Client");
  lua_pushliteral(L, CLIENT_MT);
  lua_setfield(L, -2, "__name");
  lua_pop(L, 1);
}
