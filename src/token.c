/*
 * A bearer token that comes from a function: the option token(refresh) ->
 * token [, expires_in] (gong.oauth gives one; any host may write its own).
 * It is asked for the first request and its answer reused, asked again
 * (refresh = false) once expires_in seconds have passed, and asked with
 * refresh = true after a 401: the request is then made once more with the
 * new token. A generation number per answer makes "once" hold for every
 * transfer in flight: the transfers that got their 401 with a token already
 * replaced just retry with the new one, so a batch costs one refresh.
 *
 * The function is Lua, so it is only ever called between libcurl calls,
 * never from inside one. What it raises or returns as an error ends the
 * request with that error: kind `auth` unless it is a gong error already.
 */

/* Frees `len` bytes at `p` (NULL is fine) that held a secret, zeroing them first. */
static void secret_free(char *p, size_t len) {
  volatile char *v = p;
  size_t i;
  if (p == NULL) return;
  for (i = 0; i < len; i++) v[i] = 0;
  free(p);
}

/* Forgets the token, wiping it from memory; the function's ref stays. */
static void token_forget(token_source *ts) {
  secret_free(ts->value, ts->len);
  ts->value = NULL;
  ts->len = 0;
}

/* Releases the function and the token; idempotent. */
static void token_release(lua_State *L, token_source *ts) {
  token_forget(ts);
  if (ts->ref != LUA_NOREF && L != NULL) luaL_unref(L, LUA_REGISTRYINDEX, ts->ref);
  ts->ref = LUA_NOREF;
}

/*
 * Asks the function for a token (`refresh`: the last one was refused).
 * Returns 1 with the token stored, or 0 with the error pushed.
 */
static int token_ask(lua_State *L, token_source *ts, int refresh) {
  int top = lua_gettop(L), ok = 0;
  size_t len = 0, i;
  const char *value;
  lua_rawgeti(L, LUA_REGISTRYINDEX, ts->ref);
  lua_pushboolean(L, refresh);
  if (lua_pcall(L, 1, 2, 0) != 0) {
    if (!error_is_at(L, -1)) {
      /* A message from the host's own code: its first line, as it stands. */
      const char *msg = lua_tostring(L, -1);
      error_push(L, "auth", "token function failed: %s", msg != NULL ? msg : "(an error that is not a string)");
      lua_replace(L, top + 1);
    }
    return 0;
  }
  value = lua_type(L, top + 1) == LUA_TSTRING ? lua_tolstring(L, top + 1, &len) : NULL;
  if (value == NULL) {
    if (lua_isnil(L, top + 1) && error_is_at(L, top + 2)) {
      lua_pushvalue(L, top + 2);
    } else {
      const char *type = luaL_typename(L, top + 1);
      lua_pushfstring(L, "%s%s", lua_isnil(L, top + 1) ? "" : "a ", type);
      error_push(L, "auth", "the token function returned %s, not a token", lua_tostring(L, -1));
    }
  } else if (len == 0) {
    error_push(L, "auth", "the token function returned an empty string");
  } else {
    for (i = 0; i < len && (unsigned char)value[i] >= 0x20 && value[i] != 0x7f; i++) {}
    if (i < len) {
      error_push(L, "auth", "the token function returned a token with control characters");
    } else {
      char *copy = (char *)malloc(len + 1);
      if (copy == NULL) return luaL_error(L, "gong: out of memory");
      memcpy(copy, value, len + 1);
      token_forget(ts);
      ts->value = copy;
      ts->len = len;
      ts->gen++;
      ts->renew_at = lua_type(L, top + 2) == LUA_TNUMBER ? clock_now() + lua_tonumber(L, top + 2) : 0;
      ok = 1;
    }
  }
  if (ok) {
    lua_settop(L, top);
  } else {
    lua_replace(L, top + 1);
    lua_settop(L, top + 1);
  }
  return ok;
}

/* Before an attempt: a token to send. 1, or 0 with the error pushed. */
static int token_current(lua_State *L, token_source *ts) {
  if (ts->ref == LUA_NOREF) return 1;
  if (ts->value == NULL || (ts->renew_at > 0 && clock_now() >= ts->renew_at)) return token_ask(L, ts, 0);
  return 1;
}

/* Sets the token in use on `curl`, unless it has it already (`*applied`: its generation). */
static void token_apply(const token_source *ts, CURL *curl, unsigned *applied) {
  if (ts->ref == LUA_NOREF || *applied == ts->gen) return;
  curl_easy_setopt(curl, CURLOPT_XOAUTH2_BEARER, ts->value);
  *applied = ts->gen;
}

/*
 * After a 401 to an attempt made with generation `used`: whether to try once
 * more. The function is asked only when `used` is still the token in use.
 * Returns 1 to retry, 0 when there is no function (the 401 stands), and -1
 * with the error pushed when the function failed.
 */
static int token_refused(lua_State *L, token_source *ts, unsigned used) {
  if (ts->ref == LUA_NOREF) return 0;
  if (used != ts->gen) return 1;
  return token_ask(L, ts, 1) ? 1 : -1;
}
