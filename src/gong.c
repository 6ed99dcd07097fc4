/*
 * gong.core: one HTTP exchange with the Gong Library API done right
 * (libcurl, auth, limits, retries, decode to tables). Policy and sugar live
 * in the Lua module `gong` on top.
 *
 * Built as one translation unit, like luv: each concern has its own file,
 * included here, so that everything but luaopen_gong_core stays static.
 */
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <curl/curl.h>

#include "compat.h"

#define GONG_VERSION "0.1.0"

/* libcurl older than this has known credential-leak bugs (CVE-2022-27774/27776). */
#define GONG_MIN_CURL 0x075300

enum { AUTH_NONE, AUTH_BASIC, AUTH_BEARER };
enum { API_CONTRACT, API_PUBLIC };

#include "clock.c"
#include "url.c"
#include "error.c"
#include "decode.c"
#include "ratelimit.c"
#include "transfer.c"
#include "retry.c"

typedef struct gong_client {
  transfer main; /* one easy handle, reused: keep-alive and TLS session reuse */
  transfer_limits limits;
  struct curl_slist *headers;
  char *base_url; /* without trailing slash */
  int auth, api, closed;
  double timeout, connect_timeout;
  retry_policy retry;
  ratelimit rate;
  /* For batches: a multi handle and its easy handles, created on first use. */
  CURLM *multi;
  struct batch_slot *pool[64]; /* BATCH_MAX_CONCURRENCY; slots never move */
  int pool_size;
} gong_client;

#include "client.c"
#include "batch.c"

/* The one process-wide state: libcurl's global init, done exactly once. */
static pthread_once_t global_once = PTHREAD_ONCE_INIT;
static CURLcode global_init_result = CURLE_FAILED_INIT;

static void global_init(void) {
  global_init_result = curl_global_init(CURL_GLOBAL_DEFAULT);
}

/*
 * Pushes the module state shared by every client of this lua_State: the
 * decode function of a private lua-cjson instance (so the host's cjson
 * settings are never touched) and cjson.null. The instance is cjson.safe's:
 * bad JSON comes back as nil, message, so decoding needs no lua_pcall that
 * would also swallow errors that are not ours to catch (out of memory, the
 * interpreter's "interrupted!" on Ctrl-C).
 */
static void state_push(lua_State *L) {
  lua_createtable(L, 2, 0);
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
  lua_pop(L, 2);
}

int luaopen_gong_core(lua_State *L) {
  static const luaL_Reg functions[] = {
    {"new", client_new}, {"error", error_new}, {"is_error", error_is}, {NULL, NULL}};
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
  client_open(L, state);
  lua_createtable(L, 0, 6);
  luaL_setfuncs(L, functions, 0);
  lua_pushliteral(L, GONG_VERSION);
  lua_setfield(L, -2, "_VERSION");
  lua_pushstring(L, v->version);
  lua_setfield(L, -2, "curl_version");
  return 1;
}
