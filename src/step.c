/*
 * The attempt step: what may start an attempt, and what follows one. Every
 * engine makes its attempts through these two functions and nothing else —
 * the blocking request (request.c), the driver under gong.loop and the
 * blocking batches (driver.c) — and gong.resty, which makes each attempt in
 * nginx's thread pool, asks the same rule through client:retry_in. So a
 * retry rule is written once for every host.
 *
 * Before an attempt: the rate window counts its start (or says how long to
 * wait), and the token in use is on the handle (a token function is asked
 * when there is none yet, or it is due again).
 *
 * After an attempt: a 429 tells the rate window (rateadapt.c: the rate is
 * cut for every transfer of the client, and a Retry-After pauses them all);
 * a 401 renews the token once, and the request is tried
 * again at once with the new one; a transient failure is retried after what
 * retry.c decides; anything else is the request's outcome (outcome.c says
 * what it is, and whether its Retry-After halts every start). The option
 * on_attempt, when the client has it, is told of every attempt then.
 */

/* Pushes the config error of a shared rate window whose state could not be used (`why`). */
static void step_push_rate_error(lua_State *L, const char *why) {
  error_push(L, "config", "rate_scope \"host\": %s", why);
  error_set_string(L, "option", "rate_scope");
  error_set_string(L, "detail", why);
  error_set_string(L, "reason", "shared_state");
}

/*
 * Before attempt number r->made + 1 of a request on transfer `t`, at `now`:
 * STEP_GO when it may start (the start and the attempt are counted, the
 * token is on the handle); STEP_WAIT when the rate window asks to wait
 * *delay seconds first; STEP_FAILED with the error pushed when the shared
 * window's state or the token function failed.
 */
static int step_before(lua_State *L, gong_client *c, transfer *t, request_attempts *r, double now,
                       double *delay) {
  double wait = ratelimit_take(&c->rate, now);
  if (wait < 0) {
    step_push_rate_error(L, c->rate.why);
    return STEP_FAILED;
  }
  if (wait > 0) {
    *delay = wait;
    return STEP_WAIT;
  }
  if (!token_current(L, &c->token)) return STEP_FAILED;
  token_apply(&c->token, t->curl, &t->token_gen);
  r->made++;
  r->started = now;
  c->requests++;
  return STEP_GO;
}

/* True when `msg` is what an interrupted Lua raises ("interrupted!", perhaps after a position). */
static int step_is_interrupt(const char *msg) {
  size_t len = msg != NULL ? strlen(msg) : 0;
  return len >= 12 && strcmp(msg + len - 12, "interrupted!") == 0;
}

/*
 * Tells the client's on_attempt function, when it has one, how attempt `a`
 * of a request on transfer `t` went: a table of method, url (never a
 * credential: those go in headers), attempt, max_attempts, seconds (the
 * attempt's), status when a response came or else error (what went wrong,
 * a message as the request's error would say it), and retry_in when
 * another attempt follows after that many seconds (`retry_in` >= 0). Returns
 * 1, or 0 with the error pushed when the function raised: the request ends
 * with it (kind config, option on_attempt; interrupted for an interrupt).
 */
static int step_tell(lua_State *L, gong_client *c, const transfer *t, const request_attempts *r, const attempt *a,
                     double retry_in) {
  char *info = NULL;
  const char *msg;
  if (c->on_attempt == LUA_NOREF) return 1;
  luaL_checkstack(L, 4, "gong: on_attempt");
  lua_rawgeti(L, LUA_REGISTRYINDEX, c->on_attempt);
  lua_createtable(L, 0, 8);
  if (curl_easy_getinfo(t->curl, CURLINFO_EFFECTIVE_METHOD, &info) == CURLE_OK && info != NULL) {
    lua_pushstring(L, info);
    lua_setfield(L, -2, "method");
  }
  info = NULL;
  if (curl_easy_getinfo(t->curl, CURLINFO_EFFECTIVE_URL, &info) == CURLE_OK && info != NULL) {
    lua_pushstring(L, info);
    lua_setfield(L, -2, "url");
  }
  lua_pushinteger(L, r->made);
  lua_setfield(L, -2, "attempt");
  lua_pushinteger(L, (lua_Integer)c->retry.max_retries + 1);
  lua_setfield(L, -2, "max_attempts");
  lua_pushnumber(L, a->elapsed);
  lua_setfield(L, -2, "seconds");
  if (a->code == CURLE_OK) {
    lua_pushinteger(L, a->status);
    lua_setfield(L, -2, "status");
  } else {
    outcome_push_transfer_error(L, t, a, "this attempt");
    lua_getfield(L, -1, "message");
    lua_setfield(L, -3, "error");
    lua_pop(L, 1);
  }
  if (retry_in >= 0) {
    lua_pushnumber(L, retry_in);
    lua_setfield(L, -2, "retry_in");
  }
  if (lua_pcall(L, 1, 0, 0) == 0) return 1;
  if (error_is_at(L, -1)) return 0;
  msg = lua_tostring(L, -1);
  if (step_is_interrupt(msg)) {
    error_push(L, "interrupted", "interrupted in on_attempt");
  } else {
    error_push(L, "config", "on_attempt failed: %s", msg != NULL ? msg : "(an error that is not a string)");
    error_set_string(L, "option", "on_attempt");
  }
  lua_remove(L, -2);
  return 0;
}

/*
 * After attempt `a` of a request on transfer `t`: STEP_RETRY when another
 * attempt follows after *wait seconds (0 after a renewed token); STEP_DONE
 * when `a` is the request's outcome; STEP_FAILED with the error pushed when
 * the token function or on_attempt failed.
 */
static int step_after(lua_State *L, gong_client *c, const transfer *t, request_attempts *r, const attempt *a,
                      double *wait) {
  int step;
  if (a->code == CURLE_OK && a->status == 429) {
    /* A Retry-After past max_retry_wait halts the batches instead: no pause that long. */
    double pause = a->retry_after >= 0 && (double)a->retry_after <= c->retry.max_retry_wait
                     ? (double)a->retry_after : -1;
    ratelimit_refused(&c->rate, r->started, clock_now(), pause);
  }
  if (a->status == 401 && !r->renewed) {
    /* Once with a new token, asked for once for every transfer that used the old one. */
    int again = token_refused(L, &c->token, t->token_gen);
    r->renewed = 1;
    if (again < 0) return STEP_FAILED;
    if (again) {
      *wait = 0;
      return step_tell(L, c, t, r, a, 0) ? STEP_RETRY : STEP_FAILED;
    }
  }
  *wait = retry_wait(&c->retry, a, r->made);
  step = *wait >= 0 ? STEP_RETRY : STEP_DONE;
  return step_tell(L, c, t, r, a, *wait) ? step : STEP_FAILED;
}

/*
 * client:retry_in(err, attempts) -> seconds | nil: what the client's retry
 * policy does after `err` ended attempt number `attempts` of a request: wait
 * that long and try again, or (nil) give up. For a host that makes each
 * attempt itself (gong.resty, taking a rate slot for each); works on a
 * closed client too.
 */
static int step_retry_in(lua_State *L) {
  gong_client *c = client_check(L, "retry_in");
  lua_Number attempts = error_check_number(L, 3, "retry_in", "attempts");
  double retry_after = -1, wait;
  int transient;
  if (lua_type(L, 2) != LUA_TTABLE)
    return error_raise(L, "argument", "retry_in: err must be an error (got %s)", luaL_typename(L, 2));
  /* A halt is a wait longer than the policy's, even one too long to say. */
  lua_getfield(L, 2, "transient");
  transient = lua_toboolean(L, -1);
  lua_getfield(L, 2, "halt");
  if (lua_toboolean(L, -1)) transient = 0;
  lua_pop(L, 1);
  lua_getfield(L, 2, "retry_after");
  if (lua_type(L, -1) == LUA_TNUMBER) retry_after = lua_tonumber(L, -1);
  lua_pop(L, 2);
  wait = retry_after_failure(&c->retry, transient, retry_after,
                             attempts > 1000 ? 1000 : attempts < 1 ? 1 : (int)attempts);
  if (wait < 0) lua_pushnil(L);
  else lua_pushnumber(L, wait);
  return 1;
}
