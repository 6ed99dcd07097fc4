/*
 * The one error shape of gong, shared by C and Lua: a table
 *   { kind, message, errors, status?, request_id?, url?, attempts?, retry_after?, ... }
 * with the "gong.error" metatable, whose __tostring gives one line for humans.
 * Kinds: argument, config, closed, http, network, timeout, decode, too_large,
 * rate_limited, interrupted.
 */
#include <stdarg.h>
#include <stdio.h>

#define ERROR_MT "gong.error"
#define ERROR_MESSAGE_MAX 400

/*
 * Copies at most ERROR_MESSAGE_MAX bytes of `s` into `out` as one line:
 * control characters become spaces, so a server cannot break our log lines.
 */
static void error_one_line(char *out, size_t outsize, const char *s, size_t len) {
  size_t i, n = 0;
  if (len > outsize - 4) len = outsize - 4;
  for (i = 0; i < len; i++) {
    unsigned char ch = (unsigned char)s[i];
    out[n++] = (ch < 0x20 || ch == 0x7f) ? ' ' : (char)ch;
  }
  out[n] = '\0';
}

/* Pushes a new error of `kind` with a formatted one-line message. */
static void error_push(lua_State *L, const char *kind, const char *fmt, ...) {
  char raw[ERROR_MESSAGE_MAX + 1], line[ERROR_MESSAGE_MAX + 4];
  va_list ap;
  int n;
  va_start(ap, fmt);
  n = vsnprintf(raw, sizeof raw, fmt, ap);
  va_end(ap);
  if (n < 0) n = 0;
  error_one_line(line, sizeof line, raw, (size_t)n < sizeof raw ? (size_t)n : sizeof raw - 1);
  lua_createtable(L, 0, 8);
  lua_pushstring(L, kind);
  lua_setfield(L, -2, "kind");
  lua_pushstring(L, line);
  lua_setfield(L, -2, "message");
  /* Always a list, so err.errors[1] is safe whatever went wrong. */
  lua_newtable(L);
  lua_setfield(L, -2, "errors");
  luaL_setmetatable(L, ERROR_MT);
}

/* Raises a new error of `kind`: for programmer mistakes only. */
static int error_raise(lua_State *L, const char *kind, const char *fmt, ...) {
  char raw[ERROR_MESSAGE_MAX + 1];
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(raw, sizeof raw, fmt, ap);
  va_end(ap);
  error_push(L, kind, "%s", raw);
  return lua_error(L);
}

/* Sets field `name` of the error on top to the string `s` (if any). */
static void error_set_string(lua_State *L, const char *name, const char *s) {
  if (s == NULL) return;
  lua_pushstring(L, s);
  lua_setfield(L, -2, name);
}

/* Sets field `name` of the error on top to the number `v`. */
static void error_set_integer(lua_State *L, const char *name, lua_Integer v) {
  lua_pushinteger(L, v);
  lua_setfield(L, -2, name);
}

/* Sets field `name` of the error on top to the boolean `v`. */
static void error_set_boolean(lua_State *L, const char *name, int v) {
  lua_pushboolean(L, v);
  lua_setfield(L, -2, name);
}

/*
 * __tostring: "gong: <message>", then in parentheses the number of attempts
 * when there were several and Gong's requestId when it sent one:
 * "gong: HTTP 503 on GET /library/folders: Service Unavailable (5 attempts, request 7f3a)".
 */
static int error_tostring(lua_State *L) {
  int attempts = 0, has_request;
  const char *msg;
  luaL_checktype(L, 1, LUA_TTABLE);
  lua_getfield(L, 1, "message");
  msg = lua_type(L, -1) == LUA_TSTRING ? lua_tostring(L, -1) : "error";
  lua_getfield(L, 1, "attempts");
  if (lua_type(L, -1) == LUA_TNUMBER && lua_tonumber(L, -1) > 1) attempts = (int)lua_tonumber(L, -1);
  lua_getfield(L, 1, "request_id");
  has_request = lua_type(L, -1) == LUA_TSTRING;
  if (attempts && has_request)
    lua_pushfstring(L, "gong: %s (%d attempts, request %s)", msg, attempts,
                    lua_tostring(L, -1));
  else if (attempts)
    lua_pushfstring(L, "gong: %s (%d attempts)", msg, attempts);
  else if (has_request)
    lua_pushfstring(L, "gong: %s (request %s)", msg, lua_tostring(L, -1));
  else
    lua_pushfstring(L, "gong: %s", msg);
  return 1;
}

/*
 * gong.core.error(kind, message [, fields]) -> error
 * Lets the Lua layer make errors of exactly the same shape.
 */
static int error_new(lua_State *L) {
  const char *kind = luaL_checkstring(L, 1);
  size_t len;
  const char *msg = luaL_checklstring(L, 2, &len);
  char line[ERROR_MESSAGE_MAX + 4];
  error_one_line(line, sizeof line, msg, len);
  error_push(L, kind, "%s", line);
  if (!lua_isnoneornil(L, 3)) {
    luaL_checktype(L, 3, LUA_TTABLE);
    lua_pushnil(L);
    while (lua_next(L, 3)) {
      /* kind and message come from the arguments, never from `fields`. */
      if (lua_type(L, -2) == LUA_TSTRING &&
          (strcmp(lua_tostring(L, -2), "kind") == 0 ||
           strcmp(lua_tostring(L, -2), "message") == 0)) {
        lua_pop(L, 1);
        continue;
      }
      lua_pushvalue(L, -2);
      lua_insert(L, -2);
      lua_rawset(L, -4);
    }
  }
  return 1;
}

/* True when the value at `idx` is a gong error object. */
static int error_is_at(lua_State *L, int idx) {
  int is = 0;
  if (lua_type(L, idx) == LUA_TTABLE && lua_getmetatable(L, idx)) {
    luaL_getmetatable(L, ERROR_MT);
    is = lua_rawequal(L, -1, -2);
    lua_pop(L, 2);
  }
  return is;
}

/* gong.core.is_error(v) -> boolean */
static int error_is(lua_State *L) {
  lua_pushboolean(L, error_is_at(L, 1));
  return 1;
}

/* Creates the shared error metatable in the registry. */
static void error_open(lua_State *L) {
  if (luaL_newmetatable(L, ERROR_MT)) {
    lua_pushcfunction(L, error_tostring);
    lua_setfield(L, -2, "__tostring");
    lua_pushliteral(L, ERROR_MT);
    lua_setfield(L, -2, "__name");
  }
  lua_pop(L, 1);
}
