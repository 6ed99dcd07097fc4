/*
 * The wire format of what each API serves, the one place it is written: the
 * paths of its requests, the shape of their answers, and the Calls API's
 * bodies (filter.callIds, contentSelector, cursor) and records (keyed by call
 * id). The contract (doc/gong-library-openapi.yml) and Gong's public API
 * differ in where a folder's calls are listed and in the fields of a call.
 * Everything else reads these tables: the requests (kinds.c), the decode
 * checks, and the field lists Lua sees as core.FOLDER_FIELDS and
 * core.CALL_FIELDS (which the CLI's columns and JSON keys follow).
 */

/* LibraryFolder, in the contract's order. A real tenant's folders have only
 * id, name, parentFolderId and createdBy of these (and `updated`, passed on). */
static const field_rule folder_rules[] = {
  {"id", FIELD_STRING, NULL},        {"name", FIELD_STRING, NULL},
  {"description", FIELD_STRING, NULL}, {"parentFolderId", FIELD_STRING, NULL},
  {"callCount", FIELD_COUNT, NULL}, {"createdBy", FIELD_STRING, NULL},
  {"created", FIELD_STRING, NULL},   {NULL, 0, NULL}};

/* LibraryCall, in the contract's order. */
static const field_rule call_rules[] = {
  {"callId", FIELD_STRING, NULL},  {"title", FIELD_STRING, NULL},
  {"url", FIELD_STRING, NULL},     {"started", FIELD_STRING, NULL},
  {"duration", FIELD_NUMBER, NULL}, {"primaryUserId", FIELD_STRING, NULL},
  {"addedToLibraryAt", FIELD_STRING, NULL}, {"addedBy", FIELD_STRING, NULL},
  {NULL, 0, NULL}};

/* Gong's public folder-content calls, under the contract's names: `id` is the
 * callId, `created` when it was added to the folder; what only this API has
 * (note, snippet) passes on as sent. */
static const field_rule public_call_rules[] = {
  {"callId", FIELD_STRING, "id"}, {"title", FIELD_STRING, NULL}, {"url", FIELD_STRING, NULL},
  {"addedBy", FIELD_STRING, NULL}, {"addedToLibraryAt", FIELD_STRING, "created"}, {NULL, 0, NULL}};

/* What only Gong's public API sends of a folder and of a folder's call,
 * passed on as sent: gong-library writes them after the contract's fields,
 * as core.PUBLIC_FOLDER_FIELDS and core.PUBLIC_CALL_FIELDS. */
static const field_rule public_folder_fields[] = {{"updated", FIELD_STRING, NULL}, {NULL, 0, NULL}};
static const field_rule public_call_fields[] = {
  {"note", FIELD_STRING, NULL}, {"snippet", FIELD_OBJECT, NULL}, {NULL, 0, NULL}};

/* GET /workspaces */
static const field_rule workspace_rules[] = {
  {"id", FIELD_STRING, NULL}, {"name", FIELD_STRING, NULL}, {"description", FIELD_STRING, NULL},
  {NULL, 0, NULL}};

/* POST /calls/extensive: records as sent (metaData, parties, content, ...). */
static const field_rule call_detail_rules[] = {
  {"metaData", FIELD_OBJECT, NULL}, {"parties", FIELD_ARRAY, NULL}, {NULL, 0, NULL}};

/* POST /calls/transcript */
static const field_rule transcript_rules[] = {
  {"callId", FIELD_STRING, NULL}, {"transcript", FIELD_ARRAY, NULL}, {NULL, 0, NULL}};

/* The Calls API pages its answers: records.cursor names the next page. */
#define API_PAGES "records"

static const response_shape folders_shape = {"folders", folder_rules, NULL};
static const response_shape calls_shape = {"calls", call_rules, NULL};
static const response_shape public_calls_shape = {"calls", public_call_rules, NULL};
static const response_shape workspaces_shape = {"workspaces", workspace_rules, NULL};
static const response_shape call_details_shape = {"calls", call_detail_rules, API_PAGES};
static const response_shape transcripts_shape = {"callTranscripts", transcript_rules, API_PAGES};

/* The Calls API and the workspaces have the same paths under both APIs. */
#define API_SHARED_ENDPOINTS                                                   \
  {"GET", "/workspaces", VALUE_NONE, NULL, &workspaces_shape, 0},              \
  {"POST", "/calls/extensive", VALUE_NONE, NULL, &call_details_shape, 1},      \
  {"POST", "/calls/transcript", VALUE_NONE, NULL, &transcripts_shape, 1}

static const endpoint contract_endpoints[EP_COUNT] = {
  {"GET", "/library/folders", VALUE_NONE, NULL, &folders_shape, 0},
  {"GET", "/library/folders?workspaceId=", VALUE_QUERY, NULL, &folders_shape, 0},
  {"GET", "/library/folders/", VALUE_SEGMENT, "/calls", &calls_shape, 0},
  API_SHARED_ENDPOINTS,
};

static const endpoint public_endpoints[EP_COUNT] = {
  {"GET", "/library/folders", VALUE_NONE, NULL, &folders_shape, 0},
  {"GET", "/library/folders?workspaceId=", VALUE_QUERY, NULL, &folders_shape, 0},
  {"GET", "/library/folder-content?folderId=", VALUE_QUERY, NULL, &public_calls_shape, 0},
  API_SHARED_ENDPOINTS,
};

/* What the Calls API answers, in its error's messages, where an empty list is meant. */
#define API_NO_CALLS_FOUND "No calls found corresponding to the provided filters"

/*
 * The Calls API's exposedFields, by the name a caller asks for: the JSON each
 * puts in contentSelector.exposedFields (every part of the section asked for).
 * The first is the default (the parties: the names transcripts need).
 */
typedef struct exposed_field {
  const char *name;
  const char *const *parts; /* NULL: the field is `true` itself */
} exposed_field;

static const char *const content_parts[] = {"structure", "topics", "trackers", "trackerOccurrences",
  "pointsOfInterest", "brief", "outline", "highlights", "callOutcome", "keyPoints", NULL};
static const char *const interaction_parts[] = {"speakers", "video", "personInteractionStats", "questions",
  NULL};
static const char *const collaboration_parts[] = {"publicComments", NULL};

static const exposed_field exposed_fields[] = {
  {"parties", NULL}, {"content", content_parts}, {"interaction", interaction_parts},
  {"collaboration", collaboration_parts}, {"media", NULL}, {NULL, NULL}};

/* The Calls API's context values; the first is the default. */
static const char *const api_contexts[] = {"None", "Basic", "Extended", NULL};

/*
 * How a Calls API answer's records are keyed by call id: the id is
 * record[outer][id] (record[id] without outer), the value the record itself
 * or its field `value`. A record without a string id is left out.
 */
typedef struct record_key {
  int endpoint;
  const char *outer, *id, *value;
} record_key;

static const record_key record_keys[] = {
  {EP_CALL_DETAILS, "metaData", "id", NULL}, {EP_TRANSCRIPTS, NULL, "callId", "transcript"}, {-1, NULL, NULL, NULL}};

/* The endpoint table of an API (API_CONTRACT or API_PUBLIC). */
static const endpoint *api_endpoints(int api) {
  return api == API_PUBLIC ? public_endpoints : contract_endpoints;
}

/*
 * The API a base URL speaks under "auto": Gong's public API on gong.io and
 * its subdomains (api.gong.io, us-12345.api.gong.io), the contract anywhere
 * else (a proxy, a mock, loopback). gong.io.example.com and evilgong.io are
 * not Gong's.
 */
static int api_for_host(const char *url) {
  CURLU *u = curl_url();
  char *host = NULL;
  int api = API_CONTRACT;
  if (u != NULL && curl_url_set(u, CURLUPART_URL, url, 0) == CURLUE_OK &&
      curl_url_get(u, CURLUPART_HOST, &host, 0) == CURLUE_OK) {
    size_t len = strlen(host);
    while (len > 0 && host[len - 1] == '.') len--; /* a fully qualified name */
    if ((len == 7 && curl_strnequal(host, "gong.io", 7)) ||
        (len > 8 && curl_strnequal(host + len - 8, ".gong.io", 8)))
      api = API_PUBLIC;
  }
  curl_free(host);
  curl_url_cleanup(u);
  return api;
}

/* core.api_for(base_url) -> "contract" or "public": the API that api = "auto" speaks at base_url. */
static int api_lua_for(lua_State *L) {
  lua_pushstring(L, api_names[api_for_host(error_check_string(L, 1, "api_for", "base_url", NULL))]);
  return 1;
}

/* True when an error message of the Calls API says that no call matched. */
static int api_is_empty_result(const char *message) {
  return strstr(message, API_NO_CALLS_FOUND) != NULL;
}

/* Raises the argument error of call_details' option `option` (in `who`'s name), saying what it may be. */
static int api_bad_choice(lua_State *L, const char *who, const char *option, int k) {
  luaL_Buffer b;
  luaL_buffinit(L, &b);
  if (k > 0) {
    int i;
    lua_pushfstring(L, "%s: %s[%d] must be one of ", who, option, k);
    luaL_addvalue(&b);
    for (i = 0; exposed_fields[i].name != NULL; i++) {
      if (i > 0) luaL_addstring(&b, ", ");
      luaL_addstring(&b, exposed_fields[i].name);
    }
  } else {
    lua_pushfstring(L, "%s: %s must be ", who, option);
    luaL_addvalue(&b);
    error_add_choices(&b, api_contexts);
  }
  luaL_pushresult(&b);
  return error_raise(L, "argument", "%s", lua_tostring(L, -1));
}

/* Pushes exposedFields for the list of names at the top (popped), raising what is wrong in `who`'s name. */
static void api_push_exposed(lua_State *L, const char *who) {
  int k, n, list = lua_gettop(L);
  if (lua_type(L, list) != LUA_TTABLE)
    error_raise(L, "argument", "%s: fields must be a list of names (got %s)", who, luaL_typename(L, list));
  lua_newtable(L);
  n = (int)lua_rawlen(L, list);
  for (k = 1; k <= n; k++) {
    const exposed_field *f;
    lua_rawgeti(L, list, k);
    for (f = exposed_fields; f->name != NULL; f++)
      if (lua_type(L, -1) == LUA_TSTRING && strcmp(lua_tostring(L, -1), f->name) == 0) break;
    if (f->name == NULL) api_bad_choice(L, who, "fields", k);
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
    lua_setfield(L, -2, f->name);
  }
  lua_remove(L, list);
}

/*
 * Pushes call_details' contentSelector, {context, exposedFields}, for the
 * options at `opts` (fields, context; anything else is not its business),
 * raising an argument error in `who`'s name for a bad one.
 */
static void api_push_selector(lua_State *L, int opts, const char *who) {
  const char *context = api_contexts[0];
  lua_createtable(L, 0, 2);
  if (lua_type(L, opts) == LUA_TTABLE) lua_getfield(L, opts, "fields");
  else lua_pushnil(L);
  if (lua_isnil(L, -1)) {
    lua_pop(L, 1);
    lua_createtable(L, 1, 0);
    lua_pushstring(L, exposed_fields[0].name);
    lua_rawseti(L, -2, 1);
  }
  api_push_exposed(L, who);
  lua_setfield(L, -2, "exposedFields");
  if (lua_type(L, opts) == LUA_TTABLE) {
    lua_getfield(L, opts, "context");
    if (!lua_isnil(L, -1)) {
      int i = error_find_choice(L, -1, api_contexts);
      if (i < 0) {
        api_bad_choice(L, who, "context", 0);
        return;
      }
      context = api_contexts[i];
    }
    lua_pop(L, 1);
  }
  lua_pushstring(L, context);
  lua_setfield(L, -2, "context");
}

/*
 * Pushes the body of a Calls API request: {filter = {callIds = the list at
 * `ids`}, contentSelector = the table at `selector` (0: none), cursor = the
 * string at `cursor` (0: none)}.
 */
static void api_push_body(lua_State *L, int ids, int selector, int cursor) {
  lua_createtable(L, 0, 3);
  lua_createtable(L, 0, 1);
  lua_pushvalue(L, ids);
  lua_setfield(L, -2, "callIds");
  lua_setfield(L, -2, "filter");
  if (selector) {
    lua_pushvalue(L, selector);
    lua_setfield(L, -2, "contentSelector");
  }
  if (cursor) {
    lua_pushvalue(L, cursor);
    lua_setfield(L, -2, API_CURSOR);
  }
}

/* Replaces the records list at `list` by a table of them keyed by call id, by endpoint `which`'s rule. */
static void api_key_records(lua_State *L, int which, int list) {
  const record_key *rule = record_keys;
  size_t i, count = lua_rawlen(L, list);
  while (rule->endpoint != which) rule++;
  lua_createtable(L, 0, (int)count);
  for (i = 1; i <= count; i++) {
    lua_rawgeti(L, list, (lua_Integer)i);
    if (rule->outer != NULL) {
      lua_getfield(L, -1, rule->outer);
      if (lua_type(L, -1) == LUA_TTABLE) lua_getfield(L, -1, rule->id);
      else lua_pushnil(L);
      lua_remove(L, -2);
    } else {
      lua_getfield(L, -1, rule->id);
    }
    if (rule->value != NULL) lua_getfield(L, -2, rule->value);
    else lua_pushvalue(L, -2);
    /* stack: ..., out, record, key, value */
    if (lua_type(L, -2) == LUA_TSTRING) lua_rawset(L, -4);
    else lua_pop(L, 2);
    lua_pop(L, 1);
  }
  lua_replace(L, list);
}

/* Pushes the names of `rules`, in order, as a Lua array. */
static void api_push_fields(lua_State *L, const field_rule *rules) {
  int i;
  lua_newtable(L);
  for (i = 0; rules[i].name != NULL; i++) {
    lua_pushstring(L, rules[i].name);
    lua_rawseti(L, -2, i + 1);
  }
}

/*
 * Sets FOLDER_FIELDS, CALL_FIELDS, WORKSPACE_FIELDS, PUBLIC_FOLDER_FIELDS,
 * PUBLIC_CALL_FIELDS and MAX_BATCH on the module table on top.
 */
static void api_export(lua_State *L) {
  api_push_fields(L, folder_rules);
  lua_setfield(L, -2, "FOLDER_FIELDS");
  api_push_fields(L, call_rules);
  lua_setfield(L, -2, "CALL_FIELDS");
  api_push_fields(L, public_folder_fields);
  lua_setfield(L, -2, "PUBLIC_FOLDER_FIELDS");
  api_push_fields(L, public_call_fields);
  lua_setfield(L, -2, "PUBLIC_CALL_FIELDS");
  api_push_fields(L, workspace_rules);
  lua_setfield(L, -2, "WORKSPACE_FIELDS");
  lua_pushinteger(L, API_MAX_BATCH);
  lua_setfield(L, -2, "MAX_BATCH");
}
