/*
 * libFuzzer target for src/decode.c: any body, as a 200 response of every
 * shape api.c has or as an error response, must give a result or a clean
 * message — never a crash, a Lua error escaping, or a leak of stack slots —
 * and a result never holds a null or an integral float.
 */
#include <lualib.h>

#include "../src/gong.c"

static lua_State *fuzz_state(void) {
  static lua_State *L = NULL;
  if (L == NULL) {
    L = luaL_newstate();
    luaL_openlibs(L);
    state_push(L);
    error_open(L);
  }
  return L;
}

/*
 * Whatever path decoding took (the census let it trust the known fields, or
 * it walked every record), what it hands out holds no cjson.null and, on Lua
 * 5.3+, no integral float: aborts when the table at `idx` does.
 */
static void fuzz_check_clean(lua_State *L, int idx, int depth) {
  idx = lua_absindex(L, idx);
  lua_pushnil(L);
  while (lua_next(L, idx)) {
    if (lua_type(L, -1) == LUA_TLIGHTUSERDATA) abort();
    if (lua_type(L, -1) == LUA_TNUMBER && LUA_VERSION_NUM >= 503 &&
        decode_number_kind(L, -1) == DECODE_INTEGRAL)
      abort();
    if (lua_type(L, -1) == LUA_TTABLE && depth < DECODE_MAX_DEPTH) fuzz_check_clean(L, -1, depth + 1);
    lua_pop(L, 1);
  }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  lua_State *L = fuzz_state();
  char buf[ERROR_MESSAGE_MAX];
  static const response_shape *const shapes[] = {&folders_shape,      &calls_shape,
                                                 &public_calls_shape, &workspaces_shape,
                                                 &call_details_shape, &transcripts_shape};
  int top = lua_gettop(L), state = 1;
  size_t i;
  lua_pushlstring(L, (const char *)data, size);
  for (i = 0; i < sizeof shapes / sizeof shapes[0]; i++) {
    const char *why = decode_response(L, state, top + 1, shapes[i], buf, sizeof buf);
    if (why == NULL) {
      /* The list and the requestId, and a paged shape's cursor. */
      int pushed = shapes[i]->cursor_in != NULL ? 3 : 2;
      if (lua_gettop(L) != top + 1 + pushed || lua_type(L, top + 2) != LUA_TTABLE) abort();
      fuzz_check_clean(L, top + 2, 0);
    } else if (lua_gettop(L) != top + 1 || strlen(why) >= sizeof buf) {
      abort();
    }
    lua_settop(L, top + 1);
  }
  lua_settop(L, top);
  error_push(L, "http", "HTTP 500");
  decode_error_body(L, state, lua_gettop(L), (const char *)data, size, buf, sizeof buf);
  if (lua_gettop(L) != top + 1 || strlen(buf) >= sizeof buf) abort();
  lua_settop(L, top);
  lua_gc(L, LUA_GCCOLLECT, 0);
  return 0;
}
