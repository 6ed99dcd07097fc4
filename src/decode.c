/*
 * From response body to the Lua tables users get: lua-cjson (a private
 * instance, so the host's cjson settings are never touched) parses; this file
 * normalizes and checks the body against a response shape (api.c says which
 * shape each request has).
 *   - JSON null becomes an absent field, never a truthy cjson.null;
 *   - on Lua 5.3+ numbers with an integral value become integers;
 *   - known fields must have the contract's type, the list must be an array
 *     of objects; anything else is a `decode` error saying what was wrong.
 *
 * Normalizing needs every field, checking only the contract's. Visiting every
 * field of every record (lua_next) costs as much again as the checks, so a
 * body is first taken at its word: each record's known fields are looked up,
 * checked and normalized in one pass, and a census proves that nothing else
 * is there. Every key in JSON text is a string, and every string takes two
 * '"' that are not escaped; when the body holds no more of them than the
 * known keys and values account for, there is no other field, so no null or
 * number elsewhere. Only a body with more (fields outside the contract) has
 * its records walked in full. A record that needs nothing is not written to.
 */
#if defined(__SSE2__)
#include <emmintrin.h>
#endif

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

/* What a number is: DECODE_FRACTION, DECODE_INTEGRAL (a float with an
 * integral value an integer can hold exactly) or DECODE_INTEGER. */
enum { DECODE_FRACTION, DECODE_INTEGRAL, DECODE_INTEGER };

static int decode_number_kind(lua_State *L, int idx) {
  lua_Number d;
  if (lua_isinteger(L, idx)) return DECODE_INTEGER;
  d = lua_tonumber(L, idx);
  /* Within ±2^53 the cast is exact, and NaN fails the range test. */
  return d > -9007199254740992.0 && d < 9007199254740992.0 && d == (lua_Number)(long long)d
             ? DECODE_INTEGRAL : DECODE_FRACTION;
}

/*
 * What is wrong with the number at `idx` (of kind `kind`) as a count, in
 * `buf`: out of range (no double holds it exactly: beyond 2^53, 1e400 read as
 * infinity), negative, or fractional.
 */
static void decode_count_fault(lua_State *L, int idx, int kind, char *buf, size_t size) {
  lua_Number d = lua_tonumber(L, idx);
  if (kind == DECODE_FRACTION && !(d > -9007199254740992.0 && d < 9007199254740992.0))
    snprintf(buf, size, "out of range");
  else if (kind == DECODE_FRACTION)
    snprintf(buf, size, "a fractional number");
  else
    snprintf(buf, size, "negative (%.0f)", (double)d);
}

/*
 * The census of a body's text: its '"' that are not escaped, two per string.
 * In valid JSON a backslash only occurs inside a string, and a '"' after an
 * odd run of them is escaped. (cjson refuses a body that is not valid.)
 */
static size_t decode_text_quotes(const char *s, size_t n) {
  size_t count = 0, i = 0;
  const char *p, *end = s + n;
  int escapes = 0;
#if defined(__SSE2__)
  const __m128i quote = _mm_set1_epi8('"'), backslash = _mm_set1_epi8('\\');
  const __m128i zero = _mm_setzero_si128();
  __m128i any = zero;
  while (i + 16 <= n) {
    /* Up to 255 blocks per byte-wide tally, then one sum of its lanes. */
    __m128i tally = zero, sums;
    size_t stop = n - i >= 16 * 255 ? i + 16 * 255 : n - 15;
    for (; i < stop; i += 16) {
      __m128i block = _mm_loadu_si128((const __m128i *)(s + i));
      tally = _mm_sub_epi8(tally, _mm_cmpeq_epi8(block, quote));
      any = _mm_or_si128(any, _mm_cmpeq_epi8(block, backslash));
    }
    sums = _mm_sad_epu8(tally, zero);
    count += (size_t)_mm_cvtsi128_si32(sums) + (size_t)_mm_extract_epi16(sums, 4);
  }
  escapes = _mm_movemask_epi8(any) != 0;
#endif
  for (; i < n; i++) {
    count += s[i] == '"';
    escapes |= s[i] == '\\';
  }
  for (p = s; escapes && (p = (const char *)memchr(p, '\\', (size_t)(end - p))) != NULL;) {
    const char *q = p;
    while (q < end && *q == '\\') q++;
    if (((q - p) & 1) && q < end && *q == '"') count--;
    p = q;
  }
  return count;
}

/*
 * Replaces nulls by absence and integral floats by integers, in place, in
 * the table at `idx` and every table below it, adding to `*seen` the '"'
 * that its keys and strings account for in the text. Returns 0 when nesting
 * is deeper than DECODE_MAX_DEPTH.
 */
static int decode_normalize(lua_State *L, int idx, const void *null, int depth, size_t *seen) {
  if (depth > DECODE_MAX_DEPTH) return 0;
  luaL_checkstack(L, 4, "gong: response nested too deeply");
  idx = lua_absindex(L, idx);
  lua_pushnil(L);
  while (lua_next(L, idx)) {
    int t = lua_type(L, -1);
    if (lua_type(L, -2) == LUA_TSTRING) *seen += 2;
    if (t == LUA_TLIGHTUSERDATA && lua_touserdata(L, -1) == null) {
      /* Clearing an existing field is allowed during traversal. */
      lua_pushvalue(L, -2);
      lua_pushnil(L);
      lua_rawset(L, idx);
    } else if (t == LUA_TNUMBER && LUA_VERSION_NUM >= 503 &&
               decode_number_kind(L, -1) == DECODE_INTEGRAL) {
      lua_Integer v = (lua_Integer)lua_tonumber(L, -1);
      lua_pushvalue(L, -2);
      lua_pushinteger(L, v);
      lua_rawset(L, idx);
    } else if (t == LUA_TSTRING) {
      *seen += 2;
    } else if (t == LUA_TTABLE) {
      if (!decode_normalize(L, -1, null, depth + 1, seen)) return 0;
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

/*
 * True when the table at `idx`, made by cjson, came from a JSON array: cjson
 * gives an array the keys 1..n (a null is cjson.null, not a hole) and an
 * object string keys only, so only an empty table is both.
 */
static int decode_is_array(lua_State *L, int idx) {
  return lua_rawlen(L, idx) > 0 || decode_is_empty(L, idx);
}

/*
 * Checks and normalizes item `i` (on top of the stack) in one pass over the
 * shape's field rules, whose names sit as Lua strings from stack index
 * `names` on (raw lookups with strings pushed once per response, not a
 * lua_getfield per field), and adds to `*seen` the '"' its known fields
 * account for in the text. Returns NULL, or returns a message in `buf`;
 * the stack is as it was either way.
 */
static const char *decode_item(lua_State *L, const response_shape *shape, int names, size_t i,
                               const void *null, size_t *seen, char *buf, size_t bufsize) {
  static const char *const wants[] = {"a string", "a number", "a count", "an object", "an array"};
  const field_rule *r;
  int item = lua_gettop(L);
  size_t quotes = 0; /* added to *seen once the item is whole */
  int found = 0;
  if (lua_type(L, item) != LUA_TTABLE) {
    snprintf(buf, bufsize, "'%s[%zu]' is %s, expected an object",
             shape->list_key, i, decode_typename(L, item));
    return buf;
  }
  /* Each field's value stays on the stack, in rule order, until the item is
   * done: rule k's value is at item + 1 + k. */
  for (r = shape->rules; r->name != NULL; r++) {
    int k = (int)(r - shape->rules), name = names + k, value = item + 1 + k, t, ok,
        kind = DECODE_FRACTION;
    lua_pushvalue(L, name);
    if ((t = lua_rawget(L, item)) == LUA_TNIL) continue;
    found = 1;
    switch (t) {
    case LUA_TLIGHTUSERDATA:
      ok = lua_touserdata(L, -1) == null;
      if (ok) {
        /* A null is an absent field, whatever its rule. */
        lua_pushvalue(L, name);
        lua_pushnil(L);
        lua_rawset(L, item);
        quotes += 2;
        continue;
      }
      break;
    case LUA_TSTRING:
      ok = r->type == FIELD_STRING;
      break;
    case LUA_TNUMBER:
      kind = decode_number_kind(L, -1);
      ok = r->type == FIELD_NUMBER ||
           (r->type == FIELD_COUNT && kind != DECODE_FRACTION && lua_tonumber(L, -1) >= 0);
      break;
    case LUA_TTABLE:
      /* Normalized first: [null] is an empty array, as cjson gives []. */
      if (!decode_normalize(L, -1, null, 1, seen)) {
        lua_settop(L, item);
        return "body is nested too deeply";
      }
      /* An empty table is {} or [], which cjson cannot tell apart. */
      ok = r->type == FIELD_OBJECT ? lua_rawlen(L, -1) == 0
           : r->type == FIELD_ARRAY && (lua_rawlen(L, -1) > 0 || decode_is_empty(L, -1));
      break;
    default:
      ok = 0;
    }
    if (!ok) {
      char what[64];
      if (t == LUA_TNUMBER && r->type == FIELD_COUNT) decode_count_fault(L, value, kind, what, sizeof what);
      else snprintf(what, sizeof what, "%s", decode_typename(L, value));
      snprintf(buf, bufsize, "'%s[%zu].%s' is %s, expected %s", shape->list_key,
               i, r->from != NULL ? r->from : r->name, what, wants[r->type]);
      lua_settop(L, item);
      return buf;
    }
    /* The key and the value: two strings, or a string and no quotes. */
    quotes += t == LUA_TSTRING ? 4 : 2;
    if (r->from != NULL) {
      /* A record carries the contract's names only: the value moves. */
      lua_pushvalue(L, name);
      lua_pushnil(L);
      lua_rawset(L, item);
      lua_pushstring(L, r->name);
    } else if (LUA_VERSION_NUM >= 503 && kind == DECODE_INTEGRAL) {
      lua_pushvalue(L, name);
    } else {
      continue;
    }
    if (kind == DECODE_INTEGRAL && LUA_VERSION_NUM >= 503)
      lua_pushinteger(L, (lua_Integer)lua_tonumber(L, value));
    else
      lua_pushvalue(L, value);
    lua_rawset(L, item);
  }
  lua_settop(L, item);
  /* A table with a known field has string keys, so it is no array; only one
   * without may be a JSON array, which cjson gives the keys 1..n. */
  if (!found && lua_rawlen(L, item) > 0) {
    snprintf(buf, bufsize, "'%s[%zu]' is %s, expected an object",
             shape->list_key, i, decode_typename(L, item));
    return buf;
  }
  *seen += quotes;
  return NULL;
}

/*
 * Adds to `*seen` the '"' of the response object at `resp` outside its list:
 * the list's own key, and every key and string of the rest (requestId,
 * records, ...), which gong hands nobody and so need not normalize.
 */
static int decode_envelope_quotes(lua_State *L, int resp, const char *list_key, const void *null,
                                  size_t *seen) {
  lua_pushnil(L);
  while (lua_next(L, resp)) {
    *seen += 2; /* every key of an object is a string */
    if (strcmp(lua_tostring(L, -2), list_key) != 0) {
      if (lua_type(L, -1) == LUA_TSTRING) *seen += 2;
      else if (lua_type(L, -1) == LUA_TTABLE && !decode_normalize(L, -1, null, 1, seen)) {
        lua_pop(L, 2);
        return 0;
      }
    }
    lua_pop(L, 1);
  }
  return 1;
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
  size_t i, n, len, quotes, seen = 0;
  const char *text = lua_tolstring(L, body, &len);
  luaL_checkstack(L, 40, "gong: decoding needs more Lua stack");
  quotes = decode_text_quotes(text, len);
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
    /* Gong may leave an empty list out of an answer; a body without its
     * requestId as well is no answer (a proxy's {}, a stub). */
    lua_getfield(L, resp, "requestId");
    if (lua_type(L, -1) != LUA_TSTRING) {
      snprintf(buf, bufsize, "the answer has neither '%s' nor a requestId", shape->list_key);
      lua_settop(L, top);
      return buf;
    }
    lua_pop(L, 2);
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
  if (!decode_envelope_quotes(L, resp, shape->list_key, null, &seen)) {
    lua_settop(L, top);
    return "body is nested too deeply";
  }
  for (i = 1; i <= n; i++) {
    const char *why;
    lua_rawgeti(L, names - 1, (lua_Integer)i);
    why = decode_item(L, shape, names, i, null, &seen, buf, bufsize);
    if (why != NULL) {
      lua_settop(L, top);
      return why;
    }
    lua_pop(L, 1);
  }
  lua_settop(L, names - 1);
  if (seen != quotes) {
    /* Fields outside the contract: they may hold nulls and numbers too. */
    for (i = 1; i <= n; i++) {
      lua_rawgeti(L, -1, (lua_Integer)i);
      if (!decode_normalize(L, -1, null, 0, &seen)) {
        lua_settop(L, top);
        return "body is nested too deeply";
      }
      lua_pop(L, 1);
    }
  }
  lua_getfield(L, resp, "requestId");
  if (lua_type(L, -1) != LUA_TSTRING) {
    lua_pop(L, 1);
    lua_pushnil(L);
  }
  if (shape->cursor_in != NULL) {
    lua_getfield(L, resp, shape->cursor_in);
    if (lua_type(L, -1) == LUA_TTABLE) lua_getfield(L, -1, API_CURSOR);
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
