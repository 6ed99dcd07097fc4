/*
 * The one error shape of gong, shared by C and Lua: a table
 *   { kind, message, errors, status?, request_id?, url?, attempts?, retry_after?, ... }
 * with the "gong.error" metatable, whose __tostring gives one line for humans.
 * Kinds: argument, config, closed, http, network, timeout, decode, too_large,
 * rate_limited, interrupted, auth, file. The README's "Errors" lists the
 * fields; a spec holds the two lists to each other.
 */
#include <stdarg.h>

/* The most bytes of a request id, and of another text of a server's (one of
 * Gong's error messages, a redirect's Location), that an error holds. */
#define ERROR_REQUEST_ID_MAX 64
#define ERROR_SERVER_TEXT_MAX 300

/*
 * The length of the UTF-8 character at s[0..len) with its code point in *cp,
 * read strictly (no overlong form, surrogate or code point past U+10FFFF);
 * or 0 when there is none, with *bad the length of the maximal invalid
 * subpart there (what Unicode replaces by one U+FFFD).
 */
static size_t error_utf8_char(const unsigned char *s, size_t len, unsigned long *cp, size_t *bad) {
  unsigned char c = s[0], lo = 0x80, hi = 0xBF;
  size_t size, k;
  unsigned long v;
  if (c < 0x80) {
    *cp = c;
    return 1;
  }
  if (c >= 0xC2 && c <= 0xDF) {
    size = 2;
    v = c & 0x1Fu;
  } else if (c >= 0xE0 && c <= 0xEF) {
    size = 3;
    v = c & 0x0Fu;
    if (c == 0xE0) lo = 0xA0;
    else if (c == 0xED) hi = 0x9F;
  } else if (c >= 0xF0 && c <= 0xF4) {
    size = 4;
    v = c & 0x07u;
    if (c == 0xF0) lo = 0x90;
    else if (c == 0xF4) hi = 0x8F;
  } else {
    *bad = 1;
    return 0;
  }
  for (k = 1; k < size; k++) {
    if (k >= len || s[k] < lo || s[k] > hi) {
      *bad = k;
      return 0;
    }
    v = (v << 6) | (s[k] & 0x3Fu);
    lo = 0x80;
    hi = 0xBF;
  }
  *cp = v;
  return size;
}

/*
 * Copies `s` into `out` (outsize bytes, the NUL included) as one line safe
 * to print, so that a server can neither break our log lines nor drive a
 * terminal: C0 and C1 controls and DEL become spaces, bidi overrides and
 * isolates (U+202A-U+202E, U+2066-U+2069) go, and what is not UTF-8 becomes
 * U+FFFD. What does not fit is cut between characters, ending in "…"; so
 * does text that `cut` says was cut before (its broken last character goes).
 */
static void error_clean(char *out, size_t outsize, const char *s, size_t len, int cut) {
  static const char ellipsis[] = "\xe2\x80\xa6", replacement[] = "\xef\xbf\xbd";
  const unsigned char *u = (const unsigned char *)s;
  size_t i = 0, n = 0, keep = 0, room = outsize - 1;
  while (i < len) {
    unsigned long cp = 0;
    size_t bad = 0, size = error_utf8_char(u + i, len - i, &cp, &bad), putlen;
    const char *put;
    if (size == 0) {
      if (cut && i + bad == len) break;
      put = replacement;
      putlen = 3;
      size = bad;
    } else if (cp < 0x20 || cp == 0x7f || (cp >= 0x80 && cp <= 0x9f)) {
      put = " ";
      putlen = 1;
    } else if ((cp >= 0x202a && cp <= 0x202e) || (cp >= 0x2066 && cp <= 0x2069)) {
      put = "";
      putlen = 0;
    } else {
      put = s + i;
      putlen = size;
    }
    if (n + putlen > room) {
      cut = 1;
      break;
    }
    memcpy(out + n, put, putlen);
    n += putlen;
    /* The last point where "…" still fits after what was written. */
    if (n + 3 <= room) keep = n;
    i += size;
  }
  if (cut) {
    if (n + 3 > room) n = keep;
    memcpy(out + n, ellipsis, 3);
    n += 3;
  }
  out[n] = '\0';
}

/* Copies `s` into `out` as error_clean does, `s` whole. */
static void error_one_line(char *out, size_t outsize, const char *s, size_t len) {
  error_clean(out, outsize, s, len, 0);
}

/*
 * Makes the texts a server gave the error at `idx` safe to print, as its
 * message is (error_clean): request_id, location and each of errors, each
 * bounded. They are for people and logs; the records keep what was sent.
 * errors becomes a new list, so a caller's table is never changed.
 */
static void error_clean_server_text(lua_State *L, int idx) {
  static const char *const fields[] = {"request_id", "location", NULL};
  char line[ERROR_SERVER_TEXT_MAX + 1];
  size_t len;
  int f;
  idx = lua_absindex(L, idx);
  for (f = 0; fields[f] != NULL; f++) {
    lua_getfield(L, idx, fields[f]);
    if (lua_type(L, -1) == LUA_TSTRING) {
      const char *s = lua_tolstring(L, -1, &len);
      error_one_line(line, f == 0 ? ERROR_REQUEST_ID_MAX + 1 : sizeof line, s, len);
      lua_pushstring(L, line);
      lua_setfield(L, idx, fields[f]);
    }
    lua_pop(L, 1);
  }
  lua_getfield(L, idx, "errors");
  if (lua_type(L, -1) == LUA_TTABLE) {
    size_t i, n = lua_rawlen(L, -1);
    lua_createtable(L, (int)(n < 64 ? n : 64), 0);
    for (i = 1; i <= n; i++) {
      lua_rawgeti(L, -2, (lua_Integer)i);
      if (lua_type(L, -1) == LUA_TSTRING) {
        const char *s = lua_tolstring(L, -1, &len);
        error_one_line(line, sizeof line, s, len);
        lua_pop(L, 1);
        lua_pushstring(L, line);
      }
      lua_rawseti(L, -2, (lua_Integer)i);
    }
    lua_setfield(L, idx, "errors");
  }
  lua_pop(L, 1);
}

/* Pushes a new error of `kind` with a formatted one-line message. */
static void error_push(lua_State *L, const char *kind, const char *fmt, ...) {
  char raw[ERROR_MESSAGE_MAX + 1], line[ERROR_MESSAGE_MAX + 1];
  va_list ap;
  int n;
  va_start(ap, fmt);
  n = vsnprintf(raw, sizeof raw, fmt, ap);
  va_end(ap);
  if (n < 0) n = 0;
  error_clean(line, sizeof line, raw, (size_t)n < sizeof raw ? (size_t)n : sizeof raw - 1,
              (size_t)n >= sizeof raw);
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
  if (lua_type(L, 1) != LUA_TTABLE) return error_raise(L, "argument", "tostring: not an error");
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
  const char *kind = error_check_string(L, 1, "error", "kind", NULL);
  size_t len;
  const char *msg = error_check_string(L, 2, "error", "message", &len);
  char line[ERROR_MESSAGE_MAX + 1];
  error_one_line(line, sizeof line, msg, len);
  error_push(L, kind, "%s", line);
  if (!lua_isnoneornil(L, 3)) {
    if (lua_type(L, 3) != LUA_TTABLE)
      return error_raise(L, "argument", "error: fields must be a table (got %s)", luaL_typename(L, 3));
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
    error_clean_server_text(L, -1);
  }
  return 1;
}

/*
 * True when the value at `idx` is a gong error object: a table with the one
 * metatable this file registers. The only rule: Lua asks it (core.is_error).
 */
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

/* The number at argument `arg`; anything else raises an argument error naming it in `who`'s words. */
static lua_Number error_check_number(lua_State *L, int arg, const char *who, const char *name) {
  if (lua_type(L, arg) != LUA_TNUMBER)
    error_raise(L, "argument", "%s: %s must be a number (got %s)", who, name, luaL_typename(L, arg));
  return lua_tonumber(L, arg);
}

/* The string at argument `arg` (its length in *len when len is not NULL), as error_check_number. */
static const char *error_check_string(lua_State *L, int arg, const char *who, const char *name, size_t *len) {
  if (lua_type(L, arg) != LUA_TSTRING)
    error_raise(L, "argument", "%s: %s must be a string (got %s)", who, name, luaL_typename(L, arg));
  return lua_tolstring(L, arg, len);
}

/* The index in `names` (NULL-terminated) of the string at `idx`, or -1 when it is none of them. */
static int error_find_choice(lua_State *L, int idx, const char *const *names) {
  int i;
  if (lua_type(L, idx) != LUA_TSTRING) return -1;
  for (i = 0; names[i] != NULL; i++)
    if (strcmp(lua_tostring(L, idx), names[i]) == 0) return i;
  return -1;
}

/* Adds `names` (NULL-terminated) to `b` as a message lists choices: `"a", "b" or "c"`. */
static void error_add_choices(luaL_Buffer *b, const char *const *names) {
  int i;
  for (i = 0; names[i] != NULL; i++) {
    if (i > 0) luaL_addstring(b, names[i + 1] != NULL ? ", " : " or ");
    luaL_addchar(b, '"');
    luaL_addstring(b, names[i]);
    luaL_addchar(b, '"');
  }
}

/*
 * Says something that went wrong without failing anything: calls the
 * function core.on_warning set with the one-line message, or does nothing
 * when there is none (a library does not write to a host's stderr).
 * `state` is the index of the module state table.
 */
static void error_warn(lua_State *L, int state, const char *fmt, ...) {
  char raw[ERROR_MESSAGE_MAX + 1], line[ERROR_MESSAGE_MAX + 1];
  va_list ap;
  int n;
  lua_rawgeti(L, state, STATE_WARN);
  if (lua_type(L, -1) != LUA_TFUNCTION) {
    lua_pop(L, 1);
    return;
  }
  va_start(ap, fmt);
  n = vsnprintf(raw, sizeof raw, fmt, ap);
  va_end(ap);
  if (n < 0) n = 0;
  error_clean(line, sizeof line, raw, (size_t)n < sizeof raw ? (size_t)n : sizeof raw - 1,
              (size_t)n >= sizeof raw);
  lua_pushstring(L, line);
  lua_call(L, 1, 0);
}

/* core.on_warning(fn | nil): who hears error_warn's warnings (fn(message)); nil: nobody. */
static int error_on_warning(lua_State *L) {
  if (!lua_isnoneornil(L, 1)) luaL_checktype(L, 1, LUA_TFUNCTION);
  lua_settop(L, 1);
  lua_rawseti(L, lua_upvalueindex(1), STATE_WARN);
  return 0;
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
