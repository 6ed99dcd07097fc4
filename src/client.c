/*
 * The client class: options, the request loop (rate limit, attempt, retry),
 * turning outcomes into results or error objects, and the Lua methods.
 */

#define CLIENT_MT "gong.client"
#define DEFAULT_BASE_URL "https://api.gong.io/v2"

/* Every option `new` accepts; anything else is a typo and raises. */
static const char *const client_option_names[] = {
  "access_key", "access_key_secret", "allow_http", "api", "backoff_base",
  "backoff_max", "base_url", "ca_file", "connect_timeout", "headers",
  "insecure", "max_response_bytes", "max_retries", "max_retry_wait", "rate",
  "stall_timeout", "timeout", "token", "user_agent", NULL};

/* Returns the client at argument 1, raising if it is not one. */
static gong_client *client_check(lua_State *L) {
  return (gong_client *)luaL_checkudata(L, 1, CLIENT_MT);
}

/* Closes the connection and frees the client's buffers; idempotent. */
static void batch_release(gong_client *c); /* batch.c */

static void client_release(gong_client *c) {
  batch_release(c);
  transfer_free(&c->main);
  curl_slist_free_all(c->headers);
  c->headers = NULL;
  ratelimit_free(&c->rate);
  c->closed = 1;
}

/* ---- options ---------------------------------------------------------- */

/* Raises a config error for option `name`; never quotes the value. */
static int option_error(lua_State *L, const char *name, const char *why) {
  return error_raise(L, "config", "option '%s' %s", name, why);
}

/* Pushes option `name` of the table at `opts` (nil when absent). */
static int option_get(lua_State *L, int opts, const char *name) {
  lua_getfield(L, opts, name);
  return lua_type(L, -1);
}

/* A string option without control characters (they could split headers). */
static const char *option_string(lua_State *L, int opts, const char *name,
                                 const char *dflt) {
  size_t len, i;
  const char *s;
  int t = option_get(L, opts, name);
  lua_pop(L, 1);
  if (t == LUA_TNIL) return dflt;
  if (t != LUA_TSTRING) {
    lua_getfield(L, opts, name);
    option_error(L, name, lua_pushfstring(L, "must be a string (got %s)", luaL_typename(L, -1)));
  }
  lua_getfield(L, opts, name);
  s = lua_tolstring(L, -1, &len);
  lua_pop(L, 1); /* still referenced by the options table */
  if (len == 0) option_error(L, name, "must not be empty");
  for (i = 0; i < len; i++)
    if ((unsigned char)s[i] < 0x20 || s[i] == 0x7f)
      option_error(L, name, "must not contain control characters");
  return s;
}

/* A number option in [min, max]. */
static double option_number(lua_State *L, int opts, const char *name,
                            double dflt, double min, double max) {
  double v;
  int t = option_get(L, opts, name);
  if (t == LUA_TNIL) {
    lua_pop(L, 1);
    return dflt;
  }
  if (t != LUA_TNUMBER)
    option_error(L, name, lua_pushfstring(L, "must be a number (got %s)", luaL_typename(L, -1)));
  v = lua_tonumber(L, -1);
  lua_pop(L, 1);
  if (!(v >= min && v <= max)) {
    char why[96];
    snprintf(why, sizeof why, "must be a number from %g to %g", min, max);
    option_error(L, name, why);
  }
  return v;
}

static int option_boolean(lua_State *L, int opts, const char *name) {
  int t = option_get(L, opts, name), v = lua_toboolean(L, -1);
  lua_pop(L, 1);
  if (t != LUA_TNIL && t != LUA_TBOOLEAN) option_error(L, name, "must be a boolean");
  return v;
}

/* Raises unless every key of the options table is a known option name. */
static void options_check_names(lua_State *L, int opts) {
  lua_pushnil(L);
  while (lua_next(L, opts)) {
    const char *const *n;
    const char *key;
    lua_pop(L, 1);
    if (lua_type(L, -1) != LUA_TSTRING)
      error_raise(L, "config", "option names must be strings (got %s)", luaL_typename(L, -1));
    key = lua_tostring(L, -1);
    for (n = client_option_names; *n != NULL && strcmp(*n, key) != 0; n++) {}
    if (*n == NULL) error_raise(L, "config", "unknown option '%s'", key);
  }
}

/* Adds "Name: value" lines from the `headers` option to c->headers. */
static void options_headers(lua_State *L, gong_client *c, int opts) {
  int t = option_get(L, opts, "headers"), idx = lua_gettop(L);
  if (t == LUA_TNIL) {
    lua_pop(L, 1);
    return;
  }
  if (t != LUA_TTABLE) option_error(L, "headers", "must be a table of name = value strings");
  lua_pushnil(L);
  while (lua_next(L, idx)) {
    size_t nlen, vlen, i;
    const char *name, *value;
    struct curl_slist *grown;
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
    lua_pushfstring(L, "%s: %s", name, value);
    grown = curl_slist_append(c->headers, lua_tostring(L, -1));
    if (grown == NULL) luaL_error(L, "gong: out of memory");
    c->headers = grown;
    lua_pop(L, 2);
  }
  lua_pop(L, 1);
}

/* Sets a libcurl option, raising a config error if libcurl refuses it. */
#define CLIENT_SETOPT(L, c, opt, val)                                          \
  do {                                                                         \
    CURLcode rc_ = curl_easy_setopt((c)->main.curl, opt, val);                      \
    if (rc_ != CURLE_OK)                                                       \
      error_raise(L, "config", "libcurl refused %s: %s", #opt,                 \
                  curl_easy_strerror(rc_));                                    \
  } while (0)

/* Applies the authentication options to the handle. */
static void options_auth(lua_State *L, gong_client *c, int opts) {
  const char *key = option_string(L, opts, "access_key", NULL);
  const char *secret = option_string(L, opts, "access_key_secret", NULL);
  const char *token = option_string(L, opts, "token", NULL);
  if ((key == NULL) != (secret == NULL))
    error_raise(L, "config", "options 'access_key' and 'access_key_secret' go together");
  if (key != NULL && token != NULL)
    error_raise(L, "config", "give either access_key/access_key_secret or token, not both");
  if (key != NULL) {
    c->auth = AUTH_BASIC;
    CLIENT_SETOPT(L, c, CURLOPT_HTTPAUTH, (long)CURLAUTH_BASIC);
    CLIENT_SETOPT(L, c, CURLOPT_USERNAME, key);
    CLIENT_SETOPT(L, c, CURLOPT_PASSWORD, secret);
  } else if (token != NULL) {
    c->auth = AUTH_BEARER;
    CLIENT_SETOPT(L, c, CURLOPT_HTTPAUTH, (long)CURLAUTH_BEARER);
    CLIENT_SETOPT(L, c, CURLOPT_XOAUTH2_BEARER, token);
  }
}

/* Reads the options table at `opts` into the client and its easy handle. */
static void client_configure(lua_State *L, gong_client *c, int opts) {
  const char *base, *api, *ua, *ca_file;
  size_t len;
  double rate = 3;
  int t;

  options_check_names(L, opts);

  base = option_string(L, opts, "base_url", DEFAULT_BASE_URL);
  {
    const char *why = url_check_base(base, option_boolean(L, opts, "allow_http"));
    if (why != NULL) option_error(L, "base_url", why);
  }
  len = strlen(base);
  while (len > 0 && base[len - 1] == '/') len--;
  c->base_url = (char *)malloc(len + 1);
  if (c->base_url == NULL) luaL_error(L, "gong: out of memory");
  memcpy(c->base_url, base, len);
  c->base_url[len] = '\0';

  api = option_string(L, opts, "api", "contract");
  if (strcmp(api, "contract") == 0) c->api = API_CONTRACT;
  else if (strcmp(api, "public") == 0) c->api = API_PUBLIC;
  else option_error(L, "api", "must be \"contract\" or \"public\"");

  c->timeout = option_number(L, opts, "timeout", 60, 0.001, 86400);
  c->connect_timeout = option_number(L, opts, "connect_timeout", 10, 0.001, 86400);
  c->limits.stall_timeout = option_number(L, opts, "stall_timeout", 30, 0.001, 86400);
  c->limits.max_response_bytes = (size_t)option_number(L, opts, "max_response_bytes",
                                                       64.0 * 1024 * 1024, 1, 1e15);
  c->retry.max_retries = (int)option_number(L, opts, "max_retries", 4, 0, 100);
  c->retry.max_retry_wait = option_number(L, opts, "max_retry_wait", 60, 0, 86400);
  c->retry.backoff_base = option_number(L, opts, "backoff_base", 0.5, 0, 3600);
  c->retry.backoff_max = option_number(L, opts, "backoff_max", 30, 0, 86400);
  c->retry.rng = (uint64_t)(uintptr_t)c ^ (uint64_t)(clock_now() * 1e9) ^ 0x9e3779b97f4a7c15ull;
  if (c->retry.rng == 0) c->retry.rng = 1;

  t = option_get(L, opts, "rate");
  lua_pop(L, 1);
  if (t == LUA_TBOOLEAN) {
    lua_getfield(L, opts, "rate");
    if (lua_toboolean(L, -1)) option_error(L, "rate", "must be a number of requests per second, or false");
    lua_pop(L, 1);
    rate = 0;
  } else {
    rate = option_number(L, opts, "rate", 3, 0.001, 10000);
  }
  if (!ratelimit_init(&c->rate, rate)) luaL_error(L, "gong: out of memory");

  options_auth(L, c, opts);
  options_headers(L, c, opts);
  {
    struct curl_slist *grown = curl_slist_append(c->headers, "Accept: application/json");
    if (grown == NULL) luaL_error(L, "gong: out of memory");
    c->headers = grown;
  }

  ua = option_string(L, opts, "user_agent", NULL);
  if (ua == NULL) {
    lua_pushfstring(L, "gong-lua/%s libcurl/%s", GONG_VERSION,
                    curl_version_info(CURLVERSION_NOW)->version);
    ua = lua_tostring(L, -1);
  }
  CLIENT_SETOPT(L, c, CURLOPT_USERAGENT, ua);
  ca_file = option_string(L, opts, "ca_file", NULL);
  if (ca_file != NULL) CLIENT_SETOPT(L, c, CURLOPT_CAINFO, ca_file);
  if (option_boolean(L, opts, "insecure")) {
    CLIENT_SETOPT(L, c, CURLOPT_SSL_VERIFYPEER, 0L);
    CLIENT_SETOPT(L, c, CURLOPT_SSL_VERIFYHOST, 0L);
  } else {
    CLIENT_SETOPT(L, c, CURLOPT_SSL_VERIFYPEER, 1L);
    CLIENT_SETOPT(L, c, CURLOPT_SSL_VERIFYHOST, 2L);
  }

  CLIENT_SETOPT(L, c, CURLOPT_NOSIGNAL, 1L);
  CLIENT_SETOPT(L, c, CURLOPT_PROTOCOLS_STR, "http,https");
  CLIENT_SETOPT(L, c, CURLOPT_REDIR_PROTOCOLS_STR, "http,https");
  CLIENT_SETOPT(L, c, CURLOPT_FOLLOWLOCATION, 0L);
  CLIENT_SETOPT(L, c, CURLOPT_HTTPGET, 1L);
  CLIENT_SETOPT(L, c, CURLOPT_HTTPHEADER, c->headers);
  CLIENT_SETOPT(L, c, CURLOPT_ACCEPT_ENCODING, "");
  CLIENT_SETOPT(L, c, CURLOPT_TCP_KEEPALIVE, 1L);
  CLIENT_SETOPT(L, c, CURLOPT_TIMEOUT_MS, (long)(c->timeout * 1000));
  CLIENT_SETOPT(L, c, CURLOPT_CONNECTTIMEOUT_MS, (long)(c->connect_timeout * 1000));
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
  int opts;
  if (lua_isnoneornil(L, 1)) {
    lua_settop(L, 0);
    lua_newtable(L);
  } else if (lua_type(L, 1) != LUA_TTABLE) {
    return error_raise(L, "argument", "new: options must be a table (got %s)",
                       luaL_typename(L, 1));
  }
  lua_settop(L, 1);
  opts = 1;
  c = (gong_client *)lua_newuserdatauv(L, sizeof *c, 0);
  memset(c, 0, sizeof *c);
  c->closed = 1; /* until fully configured: __gc must only free */
  luaL_setmetatable(L, CLIENT_MT);
  c->main.limits = &c->limits;
  c->main.curl = curl_easy_init();
  if (c->main.curl == NULL) return error_raise(L, "config", "libcurl could not create a handle");
  client_configure(L, c, opts);
  c->closed = 0;
  lua_settop(L, 2);
  return 1;
}

/* ---- requests --------------------------------------------------------- */

static const char *client_reason(long status) {
  switch (status) {
  case 400: return "Bad Request";
  case 401: return "Unauthorized";
  case 403: return "Forbidden";
  case 404: return "Not Found";
  case 405: return "Method Not Allowed";
  case 408: return "Request Timeout";
  case 429: return "Too Many Requests";
  case 500: return "Internal Server Error";
  case 502: return "Bad Gateway";
  case 503: return "Service Unavailable";
  case 504: return "Gateway Timeout";
  default: return status >= 300 && status < 400 ? "Redirect" : "Unexpected status";
  }
}

/*
 * Pushes the error for a failed final attempt `a` on GET `url` (at stack
 * index `urlidx`); `what` is the "GET /path" part of messages.
 */
static void client_push_failure(lua_State *L, gong_client *c, const transfer *t,
                                int state, const attempt *a, int urlidx,
                                const char *what, int attempts) {
  if (a->code != CURLE_OK) {
    if (t->too_large || a->code == CURLE_FILESIZE_EXCEEDED) {
      error_push(L, "too_large", "response to %s exceeds max_response_bytes (%.0f bytes)",
                 what, (double)c->limits.max_response_bytes);
    } else if (t->stalled) {
      error_push(L, "timeout", "stall timeout on %s: no data for %g s", what,
                 c->limits.stall_timeout);
    } else if (a->code == CURLE_OPERATION_TIMEDOUT) {
      /* libcurl uses one code for both; the elapsed time tells them apart. */
      if (a->elapsed < c->timeout * 0.95)
        error_push(L, "timeout", "connect timeout on %s: no connection within %g s",
                   what, c->connect_timeout);
      else
        error_push(L, "timeout", "total timeout on %s: no complete response within %g s",
                   what, c->timeout);
    } else if (t->out_of_memory) {
      error_push(L, "network", "out of memory receiving the response to %s", what);
    } else {
      error_push(L, "network", "network error on %s: %s", what,
                 t->errbuf[0] ? t->errbuf : curl_easy_strerror(a->code));
      error_set_integer(L, "curl_code", (lua_Integer)a->code);
    }
  } else {
    char detail[ERROR_MESSAGE_MAX];
    int err = lua_gettop(L) + 1;
    error_push(L, a->status == 429 ? "rate_limited" : "http", "HTTP %ld on %s", a->status, what);
    decode_error_body(L, state, err, t->body.data, t->body.len, detail, sizeof detail);
    if (a->location != NULL) {
      error_set_string(L, "location", a->location);
      lua_pushfstring(L, "HTTP %d on %s: redirect to %s not followed", (int)a->status,
                      what, a->location);
    } else {
      lua_pushfstring(L, "HTTP %d on %s: %s", (int)a->status, what,
                      detail[0] ? detail : client_reason(a->status));
    }
    {
      char line[ERROR_MESSAGE_MAX + 4];
      size_t len;
      const char *msg = lua_tolstring(L, -1, &len);
      error_one_line(line, sizeof line, msg, len);
      lua_pop(L, 1);
      error_set_string(L, "message", line);
    }
    error_set_integer(L, "status", a->status);
    if (a->retry_after >= 0) error_set_integer(L, "retry_after", (lua_Integer)a->retry_after);
  }
  lua_pushvalue(L, urlidx);
  lua_setfield(L, -2, "url");
  error_set_integer(L, "attempts", attempts);
}

/*
 * Pushes the outcome of the final attempt `a` of transfer `t` on the URL at
 * `urlidx`: list and requestId on success, nil and an error otherwise.
 */
static void client_push_outcome(lua_State *L, gong_client *c, transfer *t, int state,
                                const attempt *a, int urlidx, int attempts,
                                const response_shape *shape) {
  char what[ERROR_MESSAGE_MAX / 2];
  snprintf(what, sizeof what, "GET %s", lua_tostring(L, urlidx) + strlen(c->base_url));
  if (attempt_ok(a)) {
    char why[ERROR_MESSAGE_MAX];
    const char *bad;
    int body = lua_gettop(L) + 1;
    /* The one copy into Lua; the buffer goes before cjson makes its own. */
    lua_pushlstring(L, t->body.data, t->body.len);
    transfer_trim(t);
    bad = decode_response(L, state, body, shape, why, sizeof why);
    lua_remove(L, body);
    if (bad == NULL) return;
    lua_pushnil(L);
    error_push(L, "decode", "invalid response to %s: %s", what, bad);
    error_set_integer(L, "status", a->status);
    lua_pushvalue(L, urlidx);
    lua_setfield(L, -2, "url");
    error_set_integer(L, "attempts", attempts);
    return;
  }
  lua_pushnil(L);
  client_push_failure(L, c, t, state, a, urlidx, what, attempts);
}

/*
 * Performs GET on the URL at `urlidx` with rate limiting and retries, then
 * decodes the body by `shape`. Returns the Lua results: list, requestId on
 * success; nil, error otherwise.
 */
static int client_request(lua_State *L, gong_client *c, int state, int urlidx,
                          const response_shape *shape) {
  attempt a;
  int attempts = 0;
  double wait;
  const char *url = lua_tostring(L, urlidx);
  do {
    clock_sleep(ratelimit_delay(&c->rate, clock_now()));
    ratelimit_record(&c->rate, clock_now());
    attempts++;
    transfer_perform(&c->main, url, &a);
    wait = retry_wait(&c->retry, &a, &c->main, attempts);
    clock_sleep(wait);
  } while (wait >= 0);
  client_push_outcome(L, c, &c->main, state, &a, urlidx, attempts, shape);
  transfer_trim(&c->main);
  return 2;
}

/* Pushes base_url .. `path` .. escape(value) .. `suffix` as one string. */
static void client_push_url(lua_State *L, gong_client *c, const char *path,
                            const char *value, size_t vlen, int segment,
                            const char *suffix) {
  luaL_Buffer b;
  luaL_buffinit(L, &b);
  luaL_addstring(&b, c->base_url);
  luaL_addstring(&b, path);
  if (value != NULL) {
    /* Encode in slices that fit one luaL_prepbuffer block when tripled. */
    const size_t slice = LUAL_BUFFERSIZE / 3;
    size_t i;
    for (i = 0; i < vlen; i += slice) {
      size_t n = vlen - i < slice ? vlen - i : slice;
      char *dst = luaL_prepbuffer(&b);
      luaL_addsize(&b, url_escape(dst, value + i, n, segment && vlen == n));
    }
  }
  if (suffix != NULL) luaL_addstring(&b, suffix);
  luaL_pushresult(&b);
}

/* The shape of a calls response under the client's API flavour. */
static const response_shape *client_calls_shape(const gong_client *c) {
  return c->api == API_PUBLIC ? &public_calls_shape : &calls_shape;
}

/* Pushes the URL listing the calls of folder `id`. */
static void client_push_calls_url(lua_State *L, gong_client *c, const char *id, size_t len) {
  if (c->api == API_PUBLIC)
    client_push_url(L, c, "/library/folder-content?folderId=", id, len, 0, NULL);
  else
    client_push_url(L, c, "/library/folders/", id, len, 1, "/calls");
}

/* Returns a `closed` error for a client used after close(). */
static int client_closed_error(lua_State *L, const char *method) {
  lua_pushnil(L);
  error_push(L, "closed", "%s: client is closed", method);
  return 2;
}

/*
 * client:folders([params]) -> folders, requestId | nil, err
 * params.workspaceId (string) filters by workspace.
 */
static int client_folders(lua_State *L) {
  gong_client *c = client_check(L);
  const char *ws = NULL;
  size_t wslen = 0;
  if (!lua_isnoneornil(L, 2)) {
    if (lua_type(L, 2) != LUA_TTABLE)
      return error_raise(L, "argument", "folders: params must be a table (got %s)",
                         luaL_typename(L, 2));
    lua_pushnil(L);
    while (lua_next(L, 2)) {
      lua_pop(L, 1);
      if (lua_type(L, -1) != LUA_TSTRING || strcmp(lua_tostring(L, -1), "workspaceId") != 0)
        return error_raise(L, "argument", "folders: unknown parameter '%s' (known: workspaceId)",
                           lua_type(L, -1) == LUA_TSTRING ? lua_tostring(L, -1)
                                                          : luaL_typename(L, -1));
    }
    lua_getfield(L, 2, "workspaceId");
    if (!lua_isnil(L, -1)) {
      if (lua_type(L, -1) != LUA_TSTRING || lua_rawlen(L, -1) == 0)
        return error_raise(L, "argument",
                           "folders: params.workspaceId must be a non-empty string (got %s)",
                           luaL_typename(L, -1));
      ws = lua_tolstring(L, -1, &wslen);
    }
  }
  lua_settop(L, 3);
  if (c->closed) return client_closed_error(L, "folders");
  if (ws != NULL) client_push_url(L, c, "/library/folders?workspaceId=", ws, wslen, 0, NULL);
  else client_push_url(L, c, "/library/folders", NULL, 0, 0, NULL);
  return client_request(L, c, lua_upvalueindex(1), 4, &folders_shape);
}

/*
 * client:calls(folderId) -> calls, requestId | nil, err
 * folderId travels percent-encoded as exactly one path segment.
 */
static int client_calls(lua_State *L) {
  gong_client *c = client_check(L);
  size_t len = 0;
  const char *id = lua_type(L, 2) == LUA_TSTRING ? lua_tolstring(L, 2, &len) : NULL;
  if (id == NULL || len == 0)
    return error_raise(L, "argument", "calls: folderId must be a non-empty string (got %s)",
                       id == NULL ? luaL_typename(L, 2) : "an empty string");
  lua_settop(L, 2);
  if (c->closed) return client_closed_error(L, "calls");
  client_push_calls_url(L, c, id, len);
  return client_request(L, c, lua_upvalueindex(1), 3, client_calls_shape(c));
}

/* client:close(): releases the connection; idempotent. Also __close. */
static int client_close(lua_State *L) {
  client_release(client_check(L));
  return 0;
}

/* __gc: everything close() frees, and the base URL kept for tostring. */
static int client_gc(lua_State *L) {
  gong_client *c = client_check(L);
  client_release(c);
  free(c->base_url);
  c->base_url = NULL;
  return 0;
}

/* tostring(client): base URL and auth kind, never a secret. */
static int client_tostring(lua_State *L) {
  gong_client *c = client_check(L);
  static const char *const auth[] = {"none", "basic", "bearer"};
  if (c->base_url == NULL) lua_pushliteral(L, "gong.client(closed)");
  else lua_pushfstring(L, "gong.client(%s, auth=%s%s)", c->base_url, auth[c->auth],
                       c->closed ? ", closed" : "");
  return 1;
}

static int client_calls_batch(lua_State *L); /* batch.c */

/* Registers the client metatable; methods share the module state upvalue. */
static void client_open(lua_State *L, int state) {
  static const luaL_Reg methods[] = {
    {"folders", client_folders}, {"calls", client_calls}, {"calls_batch", client_calls_batch},
    {"close", client_close}, {NULL, NULL}};
  static const luaL_Reg meta[] = {
    {"__gc", client_gc}, {"__close", client_close}, {"__tostring", client_tostring},
    {NULL, NULL}};
  luaL_newmetatable(L, CLIENT_MT);
  lua_pushvalue(L, state);
  luaL_setfuncs(L, meta, 1);
  lua_createtable(L, 0, 3);
  lua_pushvalue(L, state);
  luaL_setfuncs(L, methods, 1);
  lua_setfield(L, -2, "__index");
  lua_pushliteral(L, CLIENT_MT);
  lua_setfield(L, -2, "__name");
  lua_pop(L, 1);
}
