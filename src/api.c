/*
 * What each API serves: the paths of its requests and the shape of their
 * answers. The contract (doc/gong-library-openapi.yml) and Gong's public API
 * differ in where a folder's calls are listed and in the fields of a call.
 * Everything else reads these tables: the requests the client makes, the
 * decode checks, and the field lists Lua sees as core.FOLDER_FIELDS and
 * core.CALL_FIELDS (which the CLI's columns and JSON keys follow); and what
 * the Calls API takes (batches, exposedFields, context).
 */

/* LibraryFolder, in the contract's order. A real tenant's folders have only
 * id, name, parentFolderId and createdBy of these (and `updated`, passed on). */
static const field_rule folder_rules[] = {
  {"id", FIELD_STRING, NULL},        {"name", FIELD_STRING, NULL},
  {"description", FIELD_STRING, NULL}, {"parentFolderId", FIELD_STRING, NULL},
  {"callCount", FIELD_INTEGER, NULL}, {"createdBy", FIELD_STRING, NULL},
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

static const response_shape folders_shape = {"folders", folder_rules, 0};
static const response_shape calls_shape = {"calls", call_rules, 0};
static const response_shape public_calls_shape = {"calls", public_call_rules, 0};
static const response_shape workspaces_shape = {"workspaces", workspace_rules, 0};
static const response_shape call_details_shape = {"calls", call_detail_rules, 1};
static const response_shape transcripts_shape = {"callTranscripts", transcript_rules, 1};

/* How a request's one value (a folder id, a workspace id) goes into its URL. */
enum { VALUE_NONE, VALUE_SEGMENT, VALUE_QUERY };

/*
 * One request: base URL + prefix + the value encoded + suffix; its answer's
 * shape; for the Calls API, the empty-result rule: Gong answers 404 "No calls
 * found corresponding to the provided filters" where an empty list is meant.
 */
typedef struct endpoint {
  const char *method; /* "GET" or "POST" (with a JSON body) */
  const char *prefix;
  int value;
  const char *suffix;
  const response_shape *shape;
  int empty_404;
} endpoint;

#define API_NO_CALLS_FOUND "No calls found corresponding to the provided filters"

/* The requests every API has, as indexes into its endpoint table. */
enum { EP_FOLDERS, EP_WORKSPACE_FOLDERS, EP_CALLS, EP_WORKSPACES, EP_CALL_DETAILS, EP_TRANSCRIPTS, EP_COUNT };

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

/* The values of the `api` option: "auto" picks by the base URL's host (see
 * api_for_host); the others index api_endpoints after it. */
enum { API_AUTO, API_CONTRACT, API_PUBLIC };
static const char *const api_names[] = {"auto", "contract", "public", NULL};
static const endpoint *const api_endpoints[] = {NULL, contract_endpoints, public_endpoints};

/* At most this many call ids go in one Calls API request (Gong's limit). */
#define API_MAX_BATCH 100

/*
 * The Calls API's exposedFields, by the name a caller asks for: the JSON each
 * puts in contentSelector.exposedFields (every part of the section asked for).
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

/* Pushes the names of `rules`, in order, as a Lua array. */
static void api_push_fields(lua_State *L, const field_rule *rules) {
  int i;
  lua_newtable(L);
  for (i = 0; rules[i].name != NULL; i++) {
    lua_pushstring(L, rules[i].name);
    lua_rawseti(L, -2, i + 1);
  }
}

/* Sets FOLDER_FIELDS, CALL_FIELDS, WORKSPACE_FIELDS and MAX_BATCH on the module table on top. */
static void api_export(lua_State *L) {
  api_push_fields(L, folder_rules);
  lua_setfield(L, -2, "FOLDER_FIELDS");
  api_push_fields(L, call_rules);
  lua_setfield(L, -2, "CALL_FIELDS");
  api_push_fields(L, workspace_rules);
  lua_setfield(L, -2, "WORKSPACE_FIELDS");
  lua_pushinteger(L, API_MAX_BATCH);
  lua_setfield(L, -2, "MAX_BATCH");
}
