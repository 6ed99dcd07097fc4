/*
 * gong.core: one HTTP exchange with the Gong Library API done right
 * (libcurl, auth, limits, retries, decode to tables), and many at once on a
 * driver. Policy and sugar live in the Lua module `gong` on top.
 *
 * Built as one translation unit, like luv: each concern has its own file,
 * all of them sharing private.h's types and declarations, so that everything
 * but luaopen_gong_core stays static and no file depends on the order of the
 * others.
 *
 * What the core owns it exports, so that nothing above repeats it: _VERSION
 * (from the build, which reads lua/gong/version.lua), DEFAULT_BASE_URL,
 * options (every option of new(), with kinds and defaults), FOLDER_FIELDS and
 * CALL_FIELDS (the contract's record fields, in order), KINDS (the request
 * kinds every host's methods are made of), MAX_BATCH (call ids a Calls API
 * request), DEFAULT_CONCURRENCY and MAX_CONCURRENCY (of batches), and Client
 * (the client methods' table). What the CLI asks of the operating system is
 * apart, in core.sys.
 */
#include <pthread.h>

#include "private.h"

#include "api.c"
#include "client.c"
#include "clock.c"
#include "configure.c"
#include "decode.c"
#include "driver.c"
#include "driver_io.c"
#include "error.c"
#include "files.c"
#include "interrupt.c"
#include "kinds.c"
#include "oauth.c"
#include "options.c"
#include "outcome.c"
#include "rateadapt.c"
#include "ratelimit.c"
#include "ratestate.c"
#include "request.c"
#include "retry.c"
#include "signals.c"
#include "statedir.c"
#include "step.c"
#include "sys.c"
#include "token.c"
#include "transfer.c"
#include "url.c"

/* libcurl older than this has known credential-leak bugs (CVE-2022-27774/27776). */
#define GONG_MIN_CURL 0x075300

/* The one process-wide state: libcurl's global init, done exactly once. */
static pthread_once_t global_once = PTHREAD_ONCE_INIT;
static CURLcode global_init_result = CURLE_FAILED_INIT;

static void global_init(void) {
  global_init_result = curl_global_init(CURL_GLOBAL_DEFAULT);
}

/*
 * Pushes the module state shared by every client of this lua_State: the
 * decode and encode functions of a private lua-cjson instance (so the host's
 * cjson settings are never touched) and cjson.null. The instance is cjson.safe's:
 * bad JSON comes back as nil, message, so decoding needs no lua_pcall that
 * would also swallow errors that are not ours to catch (out of memory, the
 * interpreter's "interrupted!" on Ctrl-C).
 */
static void state_push(lua_State *L) {
  lua_createtable(L, 3, 0);
  lua_getglobal(L, "require");
  lua_pushliteral(L, "cjson.safe");
  lua_call(L, 1, 1);
  lua_getfield(L, -1, "null");
  lua_rawseti(L, -3, STATE_NULL);
  lua_getfield(L, -1, "new");
  lua_call(L, 0, 1);
  /* Strict JSON only: no NaN, Infinity or hex numbers from a server. */
  lua_getfield(L, -1, "decode_invalid_numbers");
  lua_pushboolean(L, 0);
  lua_call(L, 1, 0);
  lua_getfield(L, -1, "decode_max_depth");
  lua_pushinteger(L, 1000);
  lua_call(L, 1, 0);
  lua_getfield(L, -1, "decode");
  lua_rawseti(L, -4, STATE_DECODE);
  /* Request bodies (the Calls API's) are encoded by the same instance. */
  lua_getfield(L, -1, "encode");
  lua_rawseti(L, -4, STATE_ENCODE);
  lua_pop(L, 2);
}

int luaopen_gong_core(lua_State *L) {
  static const luaL_Reg functions[] = {
    {"new", client_new}, {"error", error_new}, {"is_error", error_is}, {"closed_error", client_closed_error},
    {"check_client", client_check_lua}, {"on_warning", error_on_warning},
    {"rate_window", ratelimit_lua_window}, {"rate_refused", ratelimit_lua_refused}, {"rate_duration", ratelimit_lua_duration},
    {"token_post", oauth_token_post}, {"percent_encode", url_percent_encode}, {"api_for", api_lua_for},
    {NULL, NULL}};
  /* What the operating system does for gong's files, signals and terminals: core.sys. */
  static const luaL_Reg sys[] = {
    {"read_private_file", files_read_private}, {"write_private_file", files_write_private},
    {"replace_file", files_replace}, {"replacements", files_replacements}, {"lock_file", files_lock_file},
    {"time", files_time}, {"warn", files_warn},
    {"stat", sys_stat}, {"realpath", sys_realpath}, {"terminal_columns", sys_terminal_columns},
    {"std_fds", sys_std_fds}, {"stdout_failed", sys_stdout_failed},
    {"release_memory", sys_release_memory},
    {"catch_signals", signals_catch}, {"guard_file", signals_guard}, {"unguard_file", signals_unguard},
    {NULL, NULL}};
  const curl_version_info_data *v = curl_version_info(CURLVERSION_NOW);
  int state;
  if (v->version_num < GONG_MIN_CURL)
    return luaL_error(L, "gong: libcurl %s is too old; 7.83.0 or newer is required "
                         "(older versions leak credentials)", v->version);
  pthread_once(&global_once, global_init);
  if (global_init_result != CURLE_OK)
    return luaL_error(L, "gong: curl_global_init failed: %s",
                      curl_easy_strerror(global_init_result));
  error_open(L);
  state_push(L);
  state = lua_gettop(L);
  lua_createtable(L, 0, 24);
  lua_pushvalue(L, state);
  luaL_setfuncs(L, functions, 1);
  lua_createtable(L, 0, 12);
  lua_pushvalue(L, state);
  luaL_setfuncs(L, sys, 1);
  lua_setfield(L, -2, "sys");
  client_open(L, state);
  driver_open(L, state);
  files_open(L);
  lua_pushliteral(L, GONG_VERSION);
  lua_setfield(L, -2, "_VERSION");
  lua_pushstring(L, v->version);
  lua_setfield(L, -2, "curl_version");
  lua_pushinteger(L, BATCH_DEFAULT_CONCURRENCY);
  lua_setfield(L, -2, "DEFAULT_CONCURRENCY");
  lua_pushinteger(L, RATE_DAILY_REQUESTS);
  lua_setfield(L, -2, "DAILY_REQUESTS");
  lua_pushinteger(L, BATCH_MAX_CONCURRENCY);
  lua_setfield(L, -2, "MAX_CONCURRENCY");
  options_export(L);
  api_export(L);
  kinds_export(L);
  return 1;
}
