/*
 * What each API serves: the paths of its requests and the shape of their
 * answers. The contract (doc/gong-library-openapi.yml) and Gong's public API
 * differ in where a folder's calls are listed and in the fields of a call.
 * Everything else reads these tables: the requests the client makes, the
 * decode checks, and the field lists Lua sees as core.FOLDER_FIELDS and
 * core.CALL_FIELDS (which the CLI's columns and JSON keys follow).
 */

/* LibraryFolder, in the contract's order. */
static const field_rule folder_rules[] = {
  {"id", FIELD_STRING},        {"name", FIELD_STRING},
  {"description", FIELD_STRING}, {"parentFolderId", FIELD_STRING},
  {"callCount", FIELD_INTEGER}, {"createdBy", FIELD_STRING},
  {"created", FIELD_STRING},   {NULL, 0}};

/* LibraryCall, in the contract's order. */
static const field_rule call_rules[] = {
  {"callId", FIELD_STRING},  {"title", FIELD_STRING},
  {"url", FIELD_STRING},     {"started", FIELD_STRING},
  {"duration", FIELD_NUMBER}, {"primaryUserId", FIELD_STRING},
  {"addedToLibraryAt", FIELD_STRING}, {"addedBy", FIELD_STRING},
  {NULL, 0}};

/* Gong's public folder-content endpoint names its call fields differently. */
static const field_rule public_call_rules[] = {
  {"id", FIELD_STRING}, {"title", FIELD_STRING}, {"url", FIELD_STRING},
  {"addedBy", FIELD_STRING}, {"created", FIELD_STRING}, {NULL, 0}};

static const response_shape folders_shape = {"folders", folder_rules};
static const response_shape calls_shape = {"calls", call_rules};
static const response_shape public_calls_shape = {"calls", public_call_rules};

/* How a request's one value (a folder id, a workspace id) goes into its URL. */
enum { VALUE_NONE, VALUE_SEGMENT, VALUE_QUERY };

/* One request: base URL + prefix + the value encoded + suffix; its answer's shape. */
typedef struct endpoint {
  const char *method; /* for messages: "GET /library/folders: ..." */
  const char *prefix;
  int value;
  const char *suffix;
  const response_shape *shape;
} endpoint;

/* The requests every API has, as indexes into its endpoint table. */
enum { EP_FOLDERS, EP_WORKSPACE_FOLDERS, EP_CALLS, EP_COUNT };

static const endpoint contract_endpoints[EP_COUNT] = {
  {"GET", "/library/folders", VALUE_NONE, NULL, &folders_shape},
  {"GET", "/library/folders?workspaceId=", VALUE_QUERY, NULL, &folders_shape},
  {"GET", "/library/folders/", VALUE_SEGMENT, "/calls", &calls_shape},
};

static const endpoint public_endpoints[EP_COUNT] = {
  {"GET", "/library/folders", VALUE_NONE, NULL, &folders_shape},
  {"GET", "/library/folders?workspaceId=", VALUE_QUERY, NULL, &folders_shape},
  {"GET", "/library/folder-content?folderId=", VALUE_QUERY, NULL, &public_calls_shape},
};

/* The values of the `api` option, by index into api_endpoints. */
static const char *const api_names[] = {"contract", "public", NULL};
static const endpoint *const api_endpoints[] = {contract_endpoints, public_endpoints};

/* Pushes the names of `rules`, in order, as a Lua array. */
static void api_push_fields(lua_State *L, const field_rule *rules) {
  int i;
  lua_newtable(L);
  for (i = 0; rules[i].name != NULL; i++) {
    lua_pushstring(L, rules[i].name);
    lua_rawseti(L, -2, i + 1);
  }
}

/* Sets FOLDER_FIELDS and CALL_FIELDS on the module table on top. */
static void api_export(lua_State *L) {
  api_push_fields(L, folder_rules);
  lua_setfield(L, -2, "FOLDER_FIELDS");
  api_push_fields(L, call_rules);
  lua_setfield(L, -2, "CALL_FIELDS");
}
