/*
 * From response body to the Lua tables users get: lua-cjson (a private
 * instance, so the host's cjson settings are never touched) parses; this file
 * normalizes and checks the body against a response shape (api.c says which
 * shape each request has).
 *   - JSON null becomes an absent field, never a truthy cjson.null;
 *   - on Lua 5.3+ numbers with an integral value become integers;
 *   - known fields must have the contract's type, the list must be an array
 *     of objects; anything else is a `decode` error saying what was wrong.
 */
#include <math.h>

enum { FIELD_STRING, FIELD_NUMBER, FIELD_INTEGER, FIELD_OBJECT, FIELD_ARRAY };

typedef struct field_rule {
  const char *name; /* the field's name in the records gong hands out */
  int type;
  const char *from; /* its name in the response when that differs, else NULL */
} field_rule;

/* What one operation's 200 body must look like (the shapes are in api.c). */
typedef struct response_shape {
  const char *list_key; /* "folders", "calls", ... */
  const field_rule *rules;
  int paged; /* the body says in records.cursor where the next page starts */
} response_shape;

/* cjson's own nesting limit is 1000; this only guards our own recursion. */
#define DECODE_MAX_DEPTH 1100

static const char *decode_typename(lua_State *L, int idx) {
  if (lua_type(L, idx) == LUA_TTABLE)
    return lua_rawlen(L, idx) > 0 ? "an array" : "an object";
  if (lua_type(L, idx) == LUA_TNUMBER) return "a number";
  if (lua_type(L, idx) == LUA_TSTRING) return "a string";
  if (lua_type(L, idx) == LUA_TBOOLEAN) return "a boolean";
  if (lua_type(L, idx) == LUA_TLIGHTUSERDATA) return "null"; /* cjson.null */
  return lua_typename(L, lua_type(L, idx));
}

/* True when the number at `idx` has an integral value. */
static int decode_is_integral(lua_State *L, int idx) {
  lua_Number d;
  if (lua_isinteger(L, idx)) return 1;
  d = lua_tonumber(L, idx);
  return d == floor(d) && fabs(d) < 9007199254740992.0; /* 2^53 */
}

/*
 * Replaces nulls by absence and integral floats by integers, in place, in
 * the table at `idx` and every table below it. Returns 0 when nesting is
 * deeper than DECODE_MAX_DEPTH.
 */
static int decode_normalize(lua_State *L, int idx, const void *null, int depth) {
  if (depth > DECODE_MAX_DEPTH) return 0;
  luaL_checkstack(L, 4, "gong: response nested too deeply");
  idx = lua_absindex(L, idx);
  lua_pushnil(L);
  while (lua_next(L, idx)) {
    int t = lua_type(L, -1);
    if (t == LUA_TLIGHTUSERDATA && lua_touserdata(L, -1) == null) {
      /* Clearing an existing field is allowed during traversal. */
      lua_pushvalue(L, -2);
      lua_pushnil(L);
      lua_rawset(L, idx);
    } else if (t == LUA_TNUMBER && !lua_isinteger(L, -1) &&
               LUA_VERSION_NUM >= 503 && decode_is_integral(L, -1)) {
      lua_Integer v = (lua_Integer)lua_tonumber(L, -1);
      lua_pushvalue(L, -2);
      lua_pushinteger(L, v);
      lua_rawset(L, idx);
    } else if (t == LUA_TTABLE) {
      if (!decode_normalize(L, -1, null, depth + 1)) return 0;
    }
    lua_pop(L, 1);
  }
  return 1;
}

/* True when the table at `idx` has no key at all. */
static int decode_is_empty(lua_State *L, int idx) {
  int empty;
  idx = lua_absindex(L, idx);
  lua_pushnil(L);
  empty = !lua_next(L, idx);
  if (!empty) lua_pop(L, 2);
  return empty;
}

/* True when the table at `idx` has exactly the keys 1..#t. */
static int decode_is_array(lua_State *L, int idx) {
  size_t n = lua_rawlen(L, idx), count = 0;
  idx = lua_absindex(L, idx);
  lua_pushnil(L);
  while (lua_next(L, idx)) {
    lua_pop(L, 1);
    if (++count > n) {
      lua_pop(L, 1);
      return 0;
    }
  }
  return count == n;
}

/*
 * Checks item `i` (on top of the stack) against the shape's field rules,
 * whose names sit as Lua strings from stack index `names` on (raw lookups
 * with strings pushed once per response, not a lua_getfield per field).
 * Returns NULL, or pushes nothing and returns a message in `buf`.
 */
static const char *decode_check_item(lua_State *L, const response_shape *shape, int names,
                                     size_t i, char *buf, size_t bufsize) {
  const field_rule *r;
  if (lua_type(L, -1) != LUA_TTABLE || lua_rawlen(L, -1) > 0) {
    snprintf(buf, bufsize, "'%s[%zu]' is %s, expected an object",
             shape->list_key, i, decode_typename(L, -1));
    return buf;
  }
  static const char *const wants[] = {"a string", "a number", "an integer", "an object", "an array"};
  for (r = shape->rules; r->name != NULL; r++) {
    int ok;
    lua_pushvalue(L, names + (int)(r - shape->rules));
    lua_rawget(L, -2);
    switch (lua_type(L, -1)) {
    case LUA_TNIL:
      ok = 1;
      break;
    case LUA_TSTRING:
      ok = r->type == FIELD_STRING;
      break;
    case LUA_TNUMBER:
      ok = r->type == FIELD_NUMBER || (r->type == FIELD_INTEGER && decode_is_integral(L, -1));
      break;
    case LUA_TTABLE: /* an empty table is {} or [], which cjson cannot tell apart */
      ok = r->type == FIELD_OBJECT ? lua_rawlen(L, -1) == 0
           : r->type == FIELD_ARRAY && (lua_rawlen(L, -1) > 0 || decode_is_empty(L, -1));
      break;
    default:
      ok = 0;
    }
    if (!ok) {
      snprintf(buf, bufsize, "'%s[%zu].%s' is %s, expected %s", shape->list_key,
               i, r->from != NULL ? r->from : r->name,
               lua_type(L, -1) == LUA_TNUMBER && r->type == FIELD_INTEGER
                   ? "a fractional number" : decode_typename(L, -1),
               wants[r->type]);
      lua_pop(L, 1);
      return buf;
    }
    if (r->from != NULL && !lua_isnil(L, -1)) {
      /* A record carries the contract's names only: the value moves. */
      lua_pushstring(L, r->name);
      lua_insert(L, -2);
      lua_rawset(L, -3);
      lua_pushvalue(L, names + (int)(r - shape->rules));
      lua_pushnil(L);
      lua_rawset(L, -3);
    } else {
      lua_pop(L, 1);
    }
  }
  return NULL;
}

/*
 * True when `msg`, the error cjson.safe returned, is about the body: all of
 * cjson's parse errors end in "at character N", or name the encoding. The
 * safe functions return any other error raised while they run as well, such
 * as the interpreter's "interrupted!" for a Ctrl-C that lands during a long
 * decode; that is not the server's fault and must go on to the caller.
 */
static int decode_is_body_error(const char *msg) {
  return msg != NULL && (strstr(msg, " at character ") != NULL ||
                         strncmp(msg, "JSON parser does not support", 28) == 0 ||
                         strncmp(msg, "Too many nested data structures", 31) == 0);
}

/*
 * Runs cjson.safe's decode on the function and string pushed last: leaves the
 * value, or nil and cjson's message for a body that is not JSON. Any other
 * error (see decode_is_body_error) is raised again.
 */
static void decode_json(lua_State *L) {
  lua_call(L, 1, 2);
  if (lua_isnil(L, -2) &&
      !decode_is_body_error(lua_type(L, -1) == LUA_TSTRING ? lua_tostring(L, -1) : NULL))
    lua_error(L);
}

/*
 * Decodes a 200 body, the string at stack index `body`. On success pushes the
 * list and the requestId (or nil), and for a paged shape the cursor of the
 * next page (or nil), and returns NULL; on failure pushes nothing and returns
 * a message (in `buf` or static). `state` is the index of the module state.
 */
static const char *decode_response(lua_State *L, int state, int body,
                                   const response_shape *shape, char *buf, size_t bufsize) {
  const void *null;
  const field_rule *r;
  int top = lua_gettop(L), resp, names;
  size_t i, n;
  luaL_checkstack(L, 24, "gong: decoding needs more Lua stack");
  lua_rawgeti(L, state, STATE_NULL);
  null = lua_touserdata(L, -1);
  lua_pop(L, 1);
  lua_rawgeti(L, state, STATE_DECODE);
  lua_pushvalue(L, body);
  decode_json(L);
  if (lua_isnil(L, -2)) {
    snprintf(buf, bufsize, "body is not valid JSON: %s", lua_tostring(L, -1));
    lua_settop(L, top);
    return buf;
  }
  lua_pop(L, 1);
  resp = lua_gettop(L);
  if (lua_type(L, resp) != LUA_TTABLE || lua_rawlen(L, resp) > 0) {
    snprintf(buf, bufsize, "body is %s, expected a JSON object",
             lua_type(L, resp) == LUA_TLIGHTUSERDATA ? "null" : decode_typename(L, resp));
    lua_settop(L, top);
    return buf;
  }
  lua_getfield(L, resp, shape->list_key);
  if (lua_isnil(L, -1) ||
      (lua_type(L, -1) == LUA_TLIGHTUSERDATA && lua_touserdata(L, -1) == null)) {
    /* A missing or null list means an empty one. */
    lua_pop(L, 1);
    lua_newtable(L);
  } else if (lua_type(L, -1) != LUA_TTABLE || !decode_is_array(L, -1)) {
    snprintf(buf, bufsize, "'%s' is %s, expected an array", shape->list_key,
             lua_type(L, -1) == LUA_TTABLE ? "an object" : decode_typename(L, -1));
    lua_settop(L, top);
    return buf;
  }
  n = lua_rawlen(L, -1);
  names = lua_gettop(L) + 1;
  for (r = shape->rules; r->name != NULL; r++) lua_pushstring(L, r->from != NULL ? r->from : r->name);
  for (i = 1; i <= n; i++) {
    const char *why = NULL;
    lua_rawgeti(L, names - 1, (lua_Integer)i);
    if (lua_type(L, -1) == LUA_TTABLE && !decode_normalize(L, -1, null, 0))
      why = "body is nested too deeply";
    else
      why = decode_check_item(L, shape, names, i, buf, bufsize);
    if (why != NULL) {
      lua_settop(L, top);
      return why;
    }
    lua_pop(L, 1);
  }
  lua_settop(L, names - 1);
  lua_getfield(L, resp, "requestId");
  if (lua_type(L, -1) != LUA_TSTRING) {
    lua_pop(L, 1);
    lua_pushnil(L);
  }
  if (shape->paged) {
    lua_getfield(L, resp, "records");
    if (lua_type(L, -1) == LUA_TTABLE) lua_getfield(L, -1, "cursor");
    else lua_pushnil(L);
    if (lua_type(L, -1) != LUA_TSTRING || lua_rawlen(L, -1) == 0) {
      lua_pop(L, 1);
      lua_pushnil(L);
    }
    lua_remove(L, -2);
  }
  lua_remove(L, resp);
  return NULL;
}

/*
 * Reads a Gong error body ({requestId, errors[]}) if it is one, setting
 * `request_id` and `errors` on the error table at `err` and returning the
 * errors joined by "; " in `buf` (empty when there are none).
 */
static void decode_error_body(lua_State *L, int state, int err, const char *body,
                              size_t len, char *buf, size_t bufsize) {
  int top = lua_gettop(L);
  buf[0] = '\0';
  if (len == 0) return;
  lua_rawgeti(L, state, STATE_DECODE);
  lua_pushlstring(L, body, len);
  decode_json(L);
  lua_pop(L, 1);
  if (lua_type(L, -1) != LUA_TTABLE) {
    lua_settop(L, top);
    return;
  }
  lua_getfield(L, -1, "requestId");
  if (lua_type(L, -1) == LUA_TSTRING) lua_setfield(L, err, "request_id");
  else lua_pop(L, 1);
  lua_getfield(L, -1, "errors");
  if (lua_type(L, -1) == LUA_TTABLE) {
    size_t i, n = lua_rawlen(L, -1), used = 0;
    lua_createtable(L, (int)(n < 64 ? n : 64), 0);
    for (i = 1; i <= n; i++) {
      lua_rawgeti(L, -2, (lua_Integer)i);
      if (lua_type(L, -1) == LUA_TTABLE) {
        /* Gong sends {"message": ...} objects as well as strings. */
        lua_getfield(L, -1, "message");
        lua_remove(L, -2);
      }
      if (lua_type(L, -1) == LUA_TSTRING) {
        size_t slen;
        const char *s = lua_tolstring(L, -1, &slen);
        if (used + 3 < bufsize) {
          int w = snprintf(buf + used, bufsize - used, "%s%.*s", used ? "; " : "",
                           (int)(slen < 1000 ? slen : 1000), s);
          if (w > 0) used += (size_t)w < bufsize - used ? (size_t)w : bufsize - used - 1;
        }
        lua_rawseti(L, -2, (lua_Integer)lua_rawlen(L, -2) + 1);
      } else {
        lua_pop(L, 1);
      }
    }
    lua_setfield(L, err, "errors");
  }
  lua_settop(L, top);
}
