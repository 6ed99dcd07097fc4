/*
 * The client class: its life (new, close, collection), what it tells of
 * itself (tostring, client.api, client.tenant, stats) and its methods'
 * table, exported as core.Client so that the Lua layer installs the methods
 * it writes (gong.client) in the same class. The requests are request.c's
 * and driver.c's; the configuration is configure.c's.
 */

/* Returns the client at argument 1, raising an argument error in `who`'s name if it is not one. */
static gong_client *client_check(lua_State *L, const char *who) {
  gong_client *c = (gong_client *)luaL_testudata(L, 1, CLIENT_MT);
  if (c == NULL)
    error_raise(L, "argument", "%s: call it on a client, as client:%s(...) (got %s)", who, who,
                luaL_typename(L, 1));
  return c;
}

/* Pushes the error of `method` called on a closed client. */
static void client_push_closed(lua_State *L, const char *method) {
  error_push(L, "closed", "%s: client is closed", method);
}

/* core.check_client(v, method): raises the argument error of `method` called on `v`, unless it is a client. */
static int client_check_lua(lua_State *L) {
  const char *who = error_check_string(L, 2, "check_client", "method", NULL);
  lua_settop(L, 1);
  client_check(L, who);
  return 0;
}

/* core.closed_error(method) -> the error of `method` called on a closed client, for every host's methods. */
static int client_closed_error(lua_State *L) {
  client_push_closed(L, error_check_string(L, 1, "closed_error", "method", NULL));
  return 1;
}

/*
 * Closes the connections and frees the client's buffers; idempotent. The
 * driver of its batches too, when the client is at stack index `client`
 * (0: it is not; that driver lets go of libcurl at its next call, seeing
 * the client closed).
 */
static void client_release(lua_State *L, gong_client *c, int client) {
  if (client) driver_close_cached(L, client);
  token_release(L, &c->token);
  if (c->on_wait != LUA_NOREF && L != NULL) luaL_unref(L, LUA_REGISTRYINDEX, c->on_wait);
  c->on_wait = LUA_NOREF;
  if (c->on_attempt != LUA_NOREF && L != NULL) luaL_unref(L, LUA_REGISTRYINDEX, c->on_attempt);
  c->on_attempt = LUA_NOREF;
  transfer_free(&c->main);
  curl_slist_free_all(c->headers);
  curl_slist_free_all(c->limits.post_headers);
  c->headers = c->limits.get_headers = c->limits.post_headers = NULL;
  ratelimit_free(&c->rate);
  c->closed = 1;
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
    return error_raise(L, "argument", "new: options must be a table (got %s)", luaL_typename(L, 1));
  }
  lua_settop(L, 1);
  c = (gong_client *)lua_newuserdatauv(L, sizeof *c, 1);
  memset(c, 0, sizeof *c);
  c->token.ref = LUA_NOREF;
  c->on_wait = LUA_NOREF;
  c->on_attempt = LUA_NOREF;
  c->closed = 1; /* until fully configured: __gc must only free */
  luaL_setmetatable(L, CLIENT_MT);
  lua_newtable(L); /* what the client keeps alive: the driver of its batches */
  gong_setuservalue(L, 2);
  c->main.limits = &c->limits;
  c->main.curl = curl_easy_init();
  if (c->main.curl == NULL) return error_raise(L, "config", "libcurl could not create a handle");
  client_configure(L, c, 1);
  c->closed = 0;
  lua_settop(L, 2);
  return 1;
}

/*
 * client:stats() -> { requests = attempts made so far (every retry counts),
 * rate_file = the state file of a window shared with rate_scope "host",
 * today = the requests this machine started to the tenant today (UTC), with
 * rate_scope "host" }
 */
static int client_stats(lua_State *L) {
  gong_client *c = client_check(L, "stats");
  lua_createtable(L, 0, 3);
  lua_pushinteger(L, c->requests);
  lua_setfield(L, -2, "requests");
  if (c->rate.path != NULL) {
    lua_pushstring(L, c->rate.path);
    lua_setfield(L, -2, "rate_file");
    lua_pushinteger(L, (lua_Integer)ratelimit_today(&c->rate));
    lua_setfield(L, -2, "today");
  }
  return 1;
}

/* client:close(): releases the connections; idempotent. Also __close. */
static int client_close(lua_State *L) {
  gong_client *c = client_check(L, "close");
  /* From a callback of a request under way (its token function): the
   * request sees the mark, stops with a closed error, and releases the
   * client once it has unwound (request.c). */
  if (c->running > 0) c->closed = 1;
  else client_release(L, c, 1);
  return 0;
}

/* __gc: everything close() frees, and the base URL kept for tostring. */
static int client_gc(lua_State *L) {
  gong_client *c = client_check(L, "__gc");
  client_release(L, c, 1);
  free(c->base_url);
  c->base_url = NULL;
  return 0;
}

/* tostring(client): base URL, auth kind and API, never a secret. */
static int client_tostring(lua_State *L) {
  gong_client *c = client_check(L, "__tostring");
  static const char *const auth[] = {"none", "basic", "bearer"};
  if (c->base_url == NULL) lua_pushliteral(L, "gong.client(closed)");
  else lua_pushfstring(L, "gong.client(%s, auth=%s, api=%s%s)", c->base_url, auth[c->auth], api_names[c->api],
                       c->closed ? ", closed" : "");
  return 1;
}

/*
 * __index: client.api (the API the client speaks, "contract" or "public"),
 * client.tenant (its tenant's name, configure.c), else the methods.
 */
static int client_index(lua_State *L) {
  gong_client *c = client_check(L, "__index");
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
    {"stats", client_stats}, {"retry_in", step_retry_in}, {"driver", driver_new}, {"close", client_close},
    {NULL, NULL}};
  static const luaL_Reg meta[] = {
    {"__gc", client_gc}, {"__close", client_close}, {"__tostring", client_tostring}, {NULL, NULL}};
  luaL_newmetatable(L, CLIENT_MT);
  lua_pushvalue(L, state);
  luaL_setfuncs(L, meta, 1);
  lua_createtable(L, 0, 16);
  lua_pushvalue(L, state);
  luaL_setfuncs(L, methods, 1);
  request_open(L, state, lua_gettop(L));
  lua_pushvalue(L, state);
  lua_pushvalue(L, -2);
  lua_pushcclosure(L, client_index, 2);
  lua_setfield(L, -3, "__index");
  lua_setfield(L, -3, "Client");
  lua_pushliteral(L, CLIENT_MT);
  lua_setfield(L, -2, "__name");
  lua_pop(L, 1);
}
