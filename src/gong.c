/*
 * gong.core: one HTTP exchange with the Gong Library API done right
 * (libcurl, auth, limits, retries, decode to tables). Policy and sugar live
 * in the Lua module `gong` on top.
 *
 * Built as one translation unit, like luv: each concern has its own file,
 * included here in dependency order (each file uses only those above it), so
 * that everything but luaopen_gong_core stays static.
 *
 * What the core owns it exports, so that nothing above repeats it: _VERSION
 * (read from gong.version, the one place it is written), DEFAULT_BASE_URL,
 * options (every option of new(), with kinds and defaults), FOLDER_FIELDS and
 * CALL_FIELDS (the contract's record fields, in order), DEFAULT_CONCURRENCY
 * and MAX_CONCURRENCY (of batches), and Client (the client methods' table).
 */
#include <math.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <curl/curl.h>

#include "compat.h"

/* libcurl older than this has known credential-leak bugs (CVE-2022-27774/27776). */
#define GONG_MIN_CURL 0x075300

/* Slots of the module state table, the upvalue every function shares. */
enum { STATE_DECODE = 1, STATE_NULL = 2, STATE_VERSION = 3, STATE_ENCODE = 4 };

/* The version, from the state upvalue of the running function. */
static const char *state_version(lua_State *L) {
  const char *v;
  lua_rawgeti(L, lua_upvalueindex(1), STATE_VERSION);
  v = lua_tostring(L, -1); /* kept alive by the state table */
  lua_pop(L, 1);
  return v;
}
#define GONG_VERSION(L) state_version(L)

#include "clock.c"
#include "url.c"
#include "error.c"
#include "signals.c"
#include "decode.c"
#include "api.c"
#include "ratelimit.c"
#include "transfer.c"
#include "retry.c"
#include "token.c"
#include "outcome.c"
#include "options.c"
#include "batch.c"
#include "client.c"
#include "driver.c"
#include "fs.c"
#include "oauth.c"
#include "term.c"

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
  lua_createtable(L, 4, 0);
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

/* Stores gong.version's string in the state table on top; raises if it is missing. */
static void state_set_version(lua_State *L) {
  lua_getglobal(L, "require");
  lua_pushliteral(L, "gong.version");
  lua_call(L, 1, 1);
  if (lua_type(L, -1) != LUA_TSTRING)
    luaL_error(L, "gong.core: gong.version did not return a version string");
  lua_rawseti(L, -2, STATE_VERSION);
}

int luaopen_gong_core(lua_State *L) {
  static const luaL_Reg functions[] = {
    {"new", client_new}, {"error", error_new}, {"is_error", error_is},
    {"check_batch_options", client_check_batch_options},
    {"check_calls_api_options", client_check_calls_api_options},
    {"rate_window", ratelimit_lua_window}, {"rate_duration", ratelimit_lua_duration},
    {"token_post", oauth_token_post}, {NULL, NULL}};
  /* What the operating system does for gong's files, signals and terminals: core.sys. */
  static const luaL_Reg sys[] = {
    {"read_private_file", fs_read_private_file}, {"write_private_file", fs_write_private_file},
    {"lock_file", fs_lock_file}, {"time", fs_time}, {"stat", fs_stat}, {"realpath", fs_realpath},
    {"chmod", fs_chmod}, {"chown", fs_chown}, {"terminal_columns", term_columns},
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
  state_set_version(L);
  state = lua_gettop(L);
  lua_createtable(L, 0, 16);
  lua_pushvalue(L, state);
  luaL_setfuncs(L, functions, 1);
  lua_createtable(L, 0, 12);
  lua_pushvalue(L, state);
  luaL_setfuncs(L, sys, 1);
  lua_setfield(L, -2, "sys");
  client_open(L, state);
  driver_open(L, state);
  fs_open(L);
  lua_rawgeti(L, state, STATE_VERSION);
  lua_setfield(L, -2, "_VERSION");
  lua_pushstring(L, v->version);
  lua_setfield(L, -2, "curl_version");
  lua_pushinteger(L, BATCH_DEFAULT_CONCURRENCY);
  lua_setfield(L, -2, "DEFAULT_CONCURRENCY");
  lua_pushinteger(L, BATCH_MAX_CONCURRENCY);
  lua_setfield(L, -2, "MAX_CONCURRENCY");
  options_export(L);
  api_export(L);
  return 1;
}
