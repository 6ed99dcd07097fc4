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
 * what it is, and whether its Retry-After halts every start).
 *
 * The option `deadline` bounds a request as a whole, from its start to its
 * outcome: an attempt's timeout is the time left when that is shorter than
 * `timeout`, and no retry or rate limit wait starts that would end past it
 * (the request ends at once then, with the last attempt's error).
 *
 * Each wait before an attempt, a retry's or the rate limit's, is noted for
 * the option `on_wait`: the engine tells it before waiting (step_tell, or
 * the driver's effects), so a host can say what a request waits for. The
 * option `on_attempt` is told of every attempt as it ends (step_after), so
 * a host can log each request (gong-library --verbose).
 */

/* The names of the WAIT_* reasons, as on_wait hears them. */
static const char *const step_wait_reasons[] = {"rate_limited", "server", "timeout", "network", "rate"};

/*
 * Starts request `r`'s attempts at `now`: none made yet, its deadline the
 * client's from now.
 */
static void step_begin(const gong_client *c, request_attempts *r, double now) {
  memset(r, 0, sizeof *r);
  r->deadline = c->deadline > 0 ? now + c->deadline : 0;
  r->refused = -1;
}

/* Notes for on_wait that request `r` waits `seconds` for the rate limit before its next attempt. */
static void step_note_rate(const gong_client *c, request_attempts *r, double seconds) {
  wait_note *n = &r->note;
  if (c->on_wait == LUA_NOREF) return;
  n->reason = WAIT_RATE;
  n->seconds = seconds;
  n->attempt = r->made + 1;
  n->status = 0;
  n->timeout = NULL;
  n->elapsed = -1;
  r->noted = 1;
}

/* Notes for on_wait that request `r` retries after failed attempt `a`, in `seconds`. */
static void step_note_retry(const gong_client *c, request_attempts *r, const attempt *a, double seconds) {
  wait_note *n = &r->note;
  if (c->on_wait == LUA_NOREF) return;
  n->timeout = attempt_timeout(a);
  if (a->code == CURLE_OK) n->reason = a->status == 429 ? WAIT_RATE_LIMITED : WAIT_SERVER;
  else n->reason = n->timeout != NULL ? WAIT_TIMEOUT : WAIT_NETWORK;
  n->seconds = seconds;
  n->attempt = r->made + 1;
  n->status = a->code == CURLE_OK ? a->status : 0;
  n->elapsed = a->elapsed;
  r->noted = 1;
}

/*
 * Pushes what on_wait is told of wait `n` of a request of kind `kind` (NULL:
 * unsaid) on client `c`: { reason, seconds, attempt, attempts, kind
 * [, status] [, timeout] [, elapsed] }.
 */
static void step_push_note(lua_State *L, const wait_note *n, const gong_client *c, const char *kind) {
  lua_createtable(L, 0, 8);
  lua_pushstring(L, step_wait_reasons[n->reason]);
  lua_setfield(L, -2, "reason");
  lua_pushnumber(L, n->seconds);
  lua_setfield(L, -2, "seconds");
  lua_pushinteger(L, n->attempt);
  lua_setfield(L, -2, "attempt");
  lua_pushinteger(L, c->retry.max_retries + 1);
  lua_setfield(L, -2, "attempts");
  if (kind != NULL) {
    lua_pushstring(L, kind);
    lua_setfield(L, -2, "kind");
  }
  if (n->status > 0) {
    lua_pushinteger(L, n->status);
    lua_setfield(L, -2, "status");
  }
  if (n->timeout != NULL) {
    lua_pushstring(L, n->timeout);
    lua_setfield(L, -2, "timeout");
  }
  if (n->elapsed >= 0) {
    lua_pushnumber(L, n->elapsed);
    lua_setfield(L, -2, "elapsed");
  }
}

/*
 * Tells the client's on_wait the wait request `r` (of kind `kind`) noted, if
 * any: 1, or 0 with what on_wait raised on top (the request ends, and the
 * engine raises it once it has let go of the request's state).
 */
static int step_tell(lua_State *L, gong_client *c, request_attempts *r, const char *kind) {
  if (!r->noted) return 1;
  r->noted = 0;
  if (c->on_wait == LUA_NOREF) return 1;
  lua_rawgeti(L, LUA_REGISTRYINDEX, c->on_wait);
  step_push_note(L, &r->note, c, kind);
  return lua_pcall(L, 1, 0, 0) == 0;
}

/*
 * Gives the attempt about to start on `t` at `now` the time left before
 * request `r`'s deadline as its timeout, when that is shorter than the
 * client's `timeout` (and the client's again when it is not: the handle
 * keeps what it was last given).
 */
static void step_bound(const gong_client *c, transfer *t, const request_attempts *r, double now) {
  double left = r->deadline - now;
  t->cut = left < c->limits.timeout;
  curl_easy_setopt(t->curl, CURLOPT_TIMEOUT_MS, t->cut ? (long)ceil(left * 1000) : (long)(c->limits.timeout * 1000));
}

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
 * token is on the handle, and the deadline's time left its timeout when
 * shorter); STEP_WAIT when the rate window asks to wait *delay seconds
 * first; STEP_LATE when the deadline comes before the attempt could start
 * (r->refused: the rate limit's wait); STEP_FAILED with the error pushed
 * when the shared window's state or the token function failed.
 */
static int step_before(lua_State *L, gong_client *c, transfer *t, request_attempts *r, double now,
                       double *delay) {
  double wait;
  if (r->deadline > 0 && now >= r->deadline) {
    /* Waiting for another process's lock on the shared window says so. */
    if (ratestate_stuck(&c->rate, now)) {
      step_push_rate_error(L, c->rate.why);
      return STEP_FAILED;
    }
    r->refused = 0;
    return STEP_LATE;
  }
  wait = ratelimit_take(&c->rate, now);
  if (wait < 0) {
    step_push_rate_error(L, c->rate.why);
    return STEP_FAILED;
  }
  if (wait > 0) {
    if (r->deadline > 0 && now + wait >= r->deadline) {
      if (ratestate_stuck(&c->rate, now)) {
        step_push_rate_error(L, c->rate.why);
        return STEP_FAILED;
      }
      r->refused = wait;
      return STEP_LATE;
    }
    step_note_rate(c, r, wait);
    *delay = wait;
    return STEP_WAIT;
  }
  if (!token_current(L, &c->token)) return STEP_FAILED;
  token_apply(&c->token, t->curl, &t->token_gen);
  if (r->deadline > 0) step_bound(c, t, r, now);
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
static int step_tell_attempt(lua_State *L, gong_client *c, const transfer *t, const request_attempts *r,
                             const attempt *a, double retry_in) {
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
 * when `a` is the request's outcome (r->refused: the retry's wait the
 * deadline refused); STEP_FAILED with the error pushed when the token
 * function or on_attempt failed.
 */
static int step_after(lua_State *L, gong_client *c, const transfer *t, request_attempts *r, const attempt *a,
                      double *wait) {
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
      return step_tell_attempt(L, c, t, r, a, 0) ? STEP_RETRY : STEP_FAILED;
    }
  }
  *wait = retry_wait(&c->retry, a, r->made);
  if (*wait >= 0 && r->deadline > 0 && (a->cut || clock_now() + *wait >= r->deadline)) {
    /* An attempt the deadline cut short says so itself. */
    if (!a->cut) r->refused = *wait;
    *wait = -1;
  }
  if (!step_tell_attempt(L, c, t, r, a, *wait)) return STEP_FAILED;
  if (*wait < 0) return STEP_DONE;
  step_note_retry(c, r, a, *wait);
  return STEP_RETRY;
}

/* The wait before a retry after `err` (at `idx`) ended attempt number `attempts`, as on_wait hears of it. */
static void step_note_error(lua_State *L, int idx, double wait, int attempts, wait_note *n) {
  const char *kind;
  lua_getfield(L, idx, "kind");
  kind = lua_type(L, -1) == LUA_TSTRING ? lua_tostring(L, -1) : "";
  lua_getfield(L, idx, "status");
  n->status = lua_type(L, -1) == LUA_TNUMBER ? (long)lua_tonumber(L, -1) : 0;
  lua_getfield(L, idx, "timeout");
  n->timeout = NULL;
  if (strcmp(kind, "rate_limited") == 0) {
    n->reason = WAIT_RATE_LIMITED;
  } else if (n->status >= 500) {
    n->reason = WAIT_SERVER;
  } else if (strcmp(kind, "timeout") == 0) {
    n->reason = WAIT_TIMEOUT;
    /* One of the core's own names, which outlive the error's string. */
    if (lua_type(L, -1) == LUA_TSTRING) {
      static const char *const names[] = {"stall", "connect", "total", NULL};
      int i = error_find_choice(L, lua_gettop(L), names);
      if (i >= 0) n->timeout = names[i];
    }
  } else {
    n->reason = WAIT_NETWORK;
  }
  lua_pop(L, 3);
  n->seconds = wait;
  n->attempt = attempts + 1;
  n->elapsed = -1;
}

/*
 * client:retry_in(err, attempts [, left [, kind]]) -> seconds, info | nil:
 * what the client's retry policy does after `err` ended attempt number
 * `attempts` of a request: wait that long and try again, or (nil) give up.
 * `info` is what the option on_wait is told of that wait (its `kind` the
 * request's kind, when given). With `left`, the seconds left before the
 * request's deadline, a wait that would pass it is nil too, and err's
 * message says so. For a host that makes each attempt itself (gong.resty,
 * taking a rate slot for each); works on a closed client too.
 */
static int step_retry_in(lua_State *L) {
  gong_client *c = client_check(L, "retry_in");
  lua_Number attempts = error_check_number(L, 3, "retry_in", "attempts");
  double retry_after = -1, wait, left = -1;
  int transient, n;
  if (lua_type(L, 2) != LUA_TTABLE)
    return error_raise(L, "argument", "retry_in: err must be an error (got %s)", luaL_typename(L, 2));
  if (!lua_isnoneornil(L, 4)) left = error_check_number(L, 4, "retry_in", "left");
  if (!lua_isnoneornil(L, 5)) error_check_string(L, 5, "retry_in", "kind", NULL);
  lua_settop(L, 5);
  /* A halt is a wait longer than the policy's, even one too long to say. */
  lua_getfield(L, 2, "transient");
  transient = lua_toboolean(L, -1);
  lua_getfield(L, 2, "halt");
  if (lua_toboolean(L, -1)) transient = 0;
  lua_pop(L, 1);
  lua_getfield(L, 2, "retry_after");
  if (lua_type(L, -1) == LUA_TNUMBER) retry_after = lua_tonumber(L, -1);
  lua_pop(L, 2);
  n = attempts > 1000 ? 1000 : attempts < 1 ? 1 : (int)attempts;
  wait = retry_after_failure(&c->retry, transient, retry_after, n);
  if (wait >= 0 && !lua_isnoneornil(L, 4) && wait >= left) {
    if (error_is_at(L, 2)) {
      lua_pushvalue(L, 2);
      outcome_say_deadline(L, wait, c->deadline);
      lua_pop(L, 1);
    }
    wait = -1;
  }
  if (wait < 0) {
    lua_pushnil(L);
    return 1;
  }
  lua_pushnumber(L, wait);
  {
    wait_note note;
    step_note_error(L, 2, wait, n, &note);
    step_push_note(L, &note, c, lua_tostring(L, 5));
  }
  return 2;
}
