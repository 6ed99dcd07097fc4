/*
 * The request kinds: one row each, from which every host's method of that
 * name is made. The core's blocking methods (request.c), the driver's
 * start(kind, ...) (driver.c) and, through core.KINDS, the methods gong.client
 * installs on every host's client. A new request kind is a row here (and
 * its endpoint and shape in api.c).
 *
 * A kind says how its arguments are checked and where they go: this file
 * turns them into the request's URL and body, raising an argument error in
 * the method's name for a bad one, and turns the answer's records into what
 * the method returns (a Calls API page keyed by call id).
 */

static const request_kind request_kinds[] = {
  /* name, argument, endpoint, filtered (with a parameter), keyed by call id, with a contentSelector */
  {"folders", ARG_PARAMS, EP_FOLDERS, EP_WORKSPACE_FOLDERS, 0, 0},
  {"calls", ARG_FOLDER_ID, EP_CALLS, -1, 0, 0},
  {"workspaces", ARG_NONE, EP_WORKSPACES, -1, 0, 0},
  {"call_details", ARG_CALL_IDS, EP_CALL_DETAILS, -1, 1, 1},
  {"transcripts", ARG_CALL_IDS, EP_TRANSCRIPTS, -1, 1, 0},
  {NULL, 0, 0, -1, 0, 0}};

/* The kinds, in order, ending with a row whose name is NULL. */
static const request_kind *kinds_all(void) {
  return request_kinds;
}

/* The arguments a kind's method takes before a host's callback: what core.KINDS tells. */
static int kinds_arity(const request_kind *k) {
  switch (k->argument) {
  case ARG_NONE: return 0;
  case ARG_CALL_IDS: return 2; /* call ids, options (the host's method pages itself) */
  default: return 1;
  }
}

/* The kind named by the string at `arg`; anything else raises an argument error. */
static const request_kind *kinds_find(lua_State *L, int arg) {
  const request_kind *k;
  if (lua_type(L, arg) == LUA_TSTRING)
    for (k = request_kinds; k->name != NULL; k++)
      if (strcmp(k->name, lua_tostring(L, arg)) == 0) return k;
  {
    luaL_Buffer b;
    luaL_buffinit(L, &b);
    for (k = request_kinds; k->name != NULL; k++) {
      if (k != request_kinds) luaL_addstring(&b, ", ");
      luaL_addstring(&b, k->name);
    }
    luaL_pushresult(&b);
    error_raise(L, "argument", "unknown request kind '%s' (known: %s)",
                lua_type(L, arg) == LUA_TSTRING ? lua_tostring(L, arg) : luaL_typename(L, arg), lua_tostring(L, -1));
    return NULL;
  }
}

/* What a value that should be a non-empty string is, for "(got ...)": its type, or "an empty string". */
static const char *kinds_got(lua_State *L, int idx) {
  return lua_type(L, idx) == LUA_TSTRING ? "an empty string" : luaL_typename(L, idx);
}

/*
 * Checks folders' params at `params` (nil is fine): the workspace id it
 * names, or NULL; raises what is wrong in `who`'s name.
 */
static const char *kinds_check_params(lua_State *L, int params, const char *who, size_t *len) {
  const char *ws = NULL;
  if (lua_isnoneornil(L, params)) return NULL;
  if (lua_type(L, params) != LUA_TTABLE)
    error_raise(L, "argument", "%s: params must be a table (got %s)", who, luaL_typename(L, params));
  lua_pushnil(L);
  while (lua_next(L, params)) {
    lua_pop(L, 1);
    if (lua_type(L, -1) != LUA_TSTRING || strcmp(lua_tostring(L, -1), "workspaceId") != 0)
      error_raise(L, "argument", "%s: unknown parameter '%s' (known: workspaceId)", who,
                  lua_type(L, -1) == LUA_TSTRING ? lua_tostring(L, -1) : luaL_typename(L, -1));
  }
  lua_getfield(L, params, "workspaceId");
  if (!lua_isnil(L, -1)) {
    if (lua_type(L, -1) != LUA_TSTRING || lua_rawlen(L, -1) == 0)
      error_raise(L, "argument", "%s: params.workspaceId must be a non-empty string (got %s)", who,
                  kinds_got(L, -1));
    ws = lua_tolstring(L, -1, len);
  }
  lua_pop(L, 1); /* params still holds the string */
  return ws;
}

/* The folder id at `arg` ("" and non-strings raise in `who`'s name), with its length. */
static const char *kinds_check_id(lua_State *L, int arg, const char *who, size_t *len) {
  const char *id = lua_type(L, arg) == LUA_TSTRING ? lua_tolstring(L, arg, len) : NULL;
  if (id == NULL || *len == 0)
    error_raise(L, "argument", "%s: folderId must be a non-empty string (got %s)", who, kinds_got(L, arg));
  return id;
}

/* Pushes a copy of the page of call ids at `ids`, checked: at most API_MAX_BATCH non-empty strings. */
static void kinds_push_call_ids(lua_State *L, int ids, const char *who) {
  int k, n;
  if (lua_type(L, ids) != LUA_TTABLE)
    error_raise(L, "argument", "%s: callIds must be a list of strings (got %s)", who, luaL_typename(L, ids));
  n = (int)lua_rawlen(L, ids);
  if (n > API_MAX_BATCH) error_raise(L, "argument", "%s: at most %d call ids a page", who, API_MAX_BATCH);
  lua_createtable(L, n, 0);
  for (k = 1; k <= n; k++) {
    lua_rawgeti(L, ids, k);
    if (lua_type(L, -1) != LUA_TSTRING || lua_rawlen(L, -1) == 0)
      error_raise(L, "argument", "%s: callIds[%d] must be a non-empty string (got %s)", who, k,
                  kinds_got(L, -1));
    lua_rawseti(L, -2, k);
  }
}

/* Pushes the JSON text of the body on top, replacing it, with the module's private cjson. */
static void kinds_encode(lua_State *L) {
  lua_rawgeti(L, lua_upvalueindex(1), STATE_ENCODE);
  lua_insert(L, -2);
  lua_call(L, 1, 1);
}

/*
 * Checks the arguments of kind `k` from stack index `arg` on, raising what
 * is wrong in the kind's name. Returns the value that goes in the URL (a
 * folder id, a workspace id; NULL for none, with its length in *vlen). For
 * a page (call ids, options, cursor) pushes the checked copy of its call ids
 * and its contentSelector (nil for a kind without one).
 */
static const char *kinds_check_args(lua_State *L, const request_kind *k, int arg, size_t *vlen) {
  *vlen = 0;
  if (k->argument == ARG_PARAMS) return kinds_check_params(L, arg, k->name, vlen);
  if (k->argument == ARG_FOLDER_ID) return kinds_check_id(L, arg, k->name, vlen);
  if (k->argument == ARG_CALL_IDS) {
    kinds_push_call_ids(L, arg, k->name);
    if (!lua_isnoneornil(L, arg + 1) && lua_type(L, arg + 1) != LUA_TTABLE)
      error_raise(L, "argument", "%s: options must be a table (got %s)", k->name, luaL_typename(L, arg + 1));
    if (k->selects) api_push_selector(L, arg + 1, k->name);
    else lua_pushnil(L);
    if (!lua_isnoneornil(L, arg + 2) && (lua_type(L, arg + 2) != LUA_TSTRING || lua_rawlen(L, arg + 2) == 0))
      error_raise(L, "argument", "%s: cursor must be a non-empty string (got %s)", k->name,
                  kinds_got(L, arg + 2));
  }
  return NULL;
}

/*
 * Checks the arguments of kind `k` from stack index `arg` on (kinds_check_args)
 * and pushes the request's URL and its body (JSON text, or nil for a GET).
 * Returns the endpoint. Needs the module state as upvalue 1.
 */
static const endpoint *kinds_prepare(lua_State *L, gong_client *c, const request_kind *k, int arg) {
  const endpoint *ep = &c->endpoints[k->endpoint];
  size_t vlen;
  int top = lua_gettop(L);
  const char *value;
  luaL_checkstack(L, 8, "gong: a request's arguments");
  value = kinds_check_args(L, k, arg, &vlen);
  if (k->argument == ARG_PARAMS && value != NULL) ep = &c->endpoints[k->filtered];
  if (k->argument == ARG_CALL_IDS) {
    /* top + 1: the call ids, top + 2: the selector or nil */
    api_push_body(L, top + 1, lua_isnil(L, top + 2) ? 0 : top + 2, lua_isnoneornil(L, arg + 2) ? 0 : arg + 2);
    kinds_encode(L);
    lua_replace(L, top + 1);
    lua_settop(L, top + 1);
  }
  /* The URL: base + prefix + the value encoded + suffix. */
  {
    luaL_Buffer b;
    luaL_buffinit(L, &b);
    luaL_addlstring(&b, c->base_url, c->base_len);
    luaL_addstring(&b, ep->prefix);
    if (ep->value != VALUE_NONE) url_add_escaped(&b, value, vlen, ep->value == VALUE_SEGMENT);
    if (ep->suffix != NULL) luaL_addstring(&b, ep->suffix);
    luaL_pushresult(&b);
  }
  if (k->argument == ARG_CALL_IDS) lua_insert(L, -2); /* url, body */
  else lua_pushnil(L);
  return ep;
}

/*
 * After a request of kind `k` whose results start at `results` (list |
 * nil, ...): a Calls API page's records become a table keyed by call id.
 */
static void kinds_finish(lua_State *L, const request_kind *k, int results) {
  if (k->keyed && !lua_isnil(L, results)) api_key_records(L, k->endpoint, results);
}

/*
 * core.check_request(kind, ...) -> nothing: raises what a request of `kind`
 * with these arguments would raise, without a client or a request; for a
 * host that must refuse bad arguments before it hands them over (the Calls
 * API's options before its first batch, gong.resty before its thread pool).
 */
static int kinds_check(lua_State *L) {
  const request_kind *k = kinds_find(L, 1);
  size_t len;
  lua_settop(L, 4);
  kinds_check_args(L, k, 2, &len);
  return 0;
}

/*
 * Sets core.KINDS, the kinds in order ({name, arity, paged, route}: route is
 * "POST /calls/extensive", the same under both APIs, for the paged kinds'
 * messages), and core.check_request on the table on top.
 */
static void kinds_export(lua_State *L) {
  const request_kind *k;
  int i = 0;
  lua_newtable(L);
  for (k = request_kinds; k->name != NULL; k++) {
    lua_createtable(L, 0, 4);
    lua_pushstring(L, k->name);
    lua_setfield(L, -2, "name");
    lua_pushinteger(L, kinds_arity(k));
    lua_setfield(L, -2, "arity");
    lua_pushboolean(L, k->argument == ARG_CALL_IDS);
    lua_setfield(L, -2, "paged");
    if (k->argument == ARG_CALL_IDS) {
      const endpoint *e = &contract_endpoints[k->endpoint];
      lua_pushfstring(L, "%s %s", e->method, e->prefix);
      lua_setfield(L, -2, "route");
    }
    lua_rawseti(L, -2, ++i);
  }
  lua_setfield(L, -2, "KINDS");
  lua_pushcfunction(L, kinds_check);
  lua_setfield(L, -2, "check_request");
}
