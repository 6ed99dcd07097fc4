/*
 * Many requests of one client at once on a libcurl multi handle, with no
 * thread: the engine under every method made of many requests. Two kinds of
 * driver share everything but who waits:
 *
 *   client:driver()        a host's event loop waits (gong.loop on luv or
 *                          Neovim): the host watches the sockets and one
 *                          timer as the effects say, and calls socket() or
 *                          timeout() when one is ready (driver_io.c);
 *   client:driver("wait")  the caller waits, in wait(): the blocking
 *                          client's batches (gong.tasks). One per client.
 *
 * Every call returns what changed:
 *
 *   effects = { done = { {id = N, list|nil, requestId|err[, cursor]}, ... },
 *               watch = { {fd, "in"|"out"|"inout"|"remove"}, ... },  -- loop drivers
 *               timer = ms (when to call timeout(); -1: no timer),     -- loop drivers
 *               interrupted = true }                                   -- wait(), on Ctrl-C
 *
 * A request's attempts are step.c's: the client's rate window, token and
 * retry policy, a request waiting for its start or its retry being the
 * driver's own timer. libcurl calls back only into C here; Lua runs when the
 * caller reads the effects, never inside libcurl. A closed client ends every
 * request with a `closed` error at the driver's next call.
 */

/* Transfers of finished requests kept for the next ones: no handle copied per request. */
#define DRIVER_IDLE_MAX 16

/* Pushes the driver's user value's slot `k` (DRIVER_CLIENT or DRIVER_VALUES) of the driver at `idx`. */
static void driver_push_slot(lua_State *L, int idx, int k) {
  gong_getuservalue(L, idx);
  lua_rawgeti(L, -1, k);
  lua_remove(L, -2);
}

/* Gets a transfer for `r`: a finished request's, or a copy of the client's handle. 0 when libcurl refused. */
static int driver_take_transfer(gong_driver *d, driver_request *r) {
  if (d->idle != NULL) {
    driver_request *spare = d->idle;
    d->idle = spare->next;
    d->nidle--;
    r->t = spare->t;
    free(spare);
  } else {
    r->t.limits = &d->c->limits;
    r->t.curl = curl_easy_duphandle(d->c->main.curl);
  }
  return r->t.curl != NULL && transfer_bind(&r->t) == CURLE_OK;
}

/* Unlinks and frees request `r`, forgetting its values (when L is given); its transfer is kept for reuse. */
static void driver_drop(lua_State *L, int self, gong_driver *d, driver_request *r) {
  driver_request **at = &d->first;
  while (*at != NULL && *at != r) at = &(*at)->next;
  if (*at != NULL) *at = r->next;
  if (r->state == DRIVER_RUNNING) {
    curl_multi_remove_handle(d->multi, r->t.curl);
    d->running--;
  }
  if (L != NULL) {
    driver_push_slot(L, self, DRIVER_VALUES);
    lua_pushnil(L);
    lua_rawseti(L, -2, r->id);
    lua_pop(L, 1);
  }
  if (d->multi != NULL && r->t.curl != NULL && d->nidle < DRIVER_IDLE_MAX) {
    transfer_trim(&r->t);
    r->t.watch = NULL;
    r->next = d->idle;
    d->idle = r;
    d->nidle++;
    return;
  }
  transfer_free(&r->t);
  free(r);
}

/* Appends {id = id, the n values on top (popped)} to the list at `done`. */
static void driver_done(lua_State *L, int done, lua_Integer id, int n) {
  int k, entry;
  lua_createtable(L, n, 1);
  entry = lua_gettop(L);
  lua_pushinteger(L, id);
  lua_setfield(L, entry, "id");
  for (k = 1; k <= n; k++) {
    lua_pushvalue(L, entry - n + k - 1);
    lua_rawseti(L, entry, k);
  }
  lua_rawseti(L, done, (lua_Integer)lua_rawlen(L, done) + 1);
  lua_pop(L, n);
}

/* Ends `r` with the error on top of the stack (popped): nil, err in `done`. */
static void driver_fail_with(lua_State *L, int self, int done, gong_driver *d, driver_request *r) {
  lua_pushnil(L);
  lua_insert(L, -2);
  driver_done(L, done, r->id, 2);
  driver_drop(L, self, d, r);
}

/* Starts the attempt step_before allowed: false when libcurl refused it. */
static int driver_start(lua_State *L, int self, gong_driver *d, driver_request *r) {
  const char *body = NULL;
  size_t len = 0;
  int top = lua_gettop(L), ok;
  driver_push_slot(L, self, DRIVER_VALUES);
  lua_rawgeti(L, -1, r->id);
  lua_rawgeti(L, -1, 2);
  if (!lua_isnil(L, -1)) body = lua_tolstring(L, -1, &len); /* kept alive by the values while libcurl sends it */
  lua_rawgeti(L, -2, 1);
  r->t.watch = d->interrupt;
  ok = transfer_begin(&r->t, lua_tostring(L, -1), body, len) == CURLE_OK &&
       curl_multi_add_handle(d->multi, r->t.curl) == CURLM_OK;
  lua_settop(L, top);
  if (ok) {
    r->state = DRIVER_RUNNING;
    d->running++;
  }
  return ok;
}

/* Pushes the outcome of `r`'s final attempt `a` as the blocking request gives it; returns how many values. */
static int driver_outcome(lua_State *L, int self, gong_driver *d, driver_request *r, const attempt *a) {
  int top = lua_gettop(L);
  request_info info = {d->c, r->ep, top + 1, r->at.made, r->at.refused};
  driver_push_slot(L, self, DRIVER_VALUES);
  lua_rawgeti(L, -1, r->id);
  lua_rawgeti(L, -1, 1);
  lua_replace(L, top + 1);
  lua_settop(L, top + 1);
  outcome_push(L, lua_upvalueindex(1), &r->t, a, &info);
  lua_remove(L, top + 1);
  kinds_finish(L, r->kind, top + 1);
  return lua_gettop(L) - top;
}

/* Keeps the wait `r` noted for the effects to tell on_wait (driver_effects). */
static void driver_note_wait(gong_driver *d, driver_request *r) {
  if (!r->at.noted) return;
  r->at.noted = 0;
  if (d->nwaits == d->capwaits) {
    int cap = d->capwaits ? d->capwaits * 2 : 8;
    driver_waiting *grown = (driver_waiting *)realloc(d->waits, (size_t)cap * sizeof *grown);
    if (grown == NULL) {
      d->out_of_memory = 1;
      return;
    }
    d->waits = grown;
    d->capwaits = cap;
  }
  d->waits[d->nwaits].id = r->id;
  d->waits[d->nwaits].kind = r->kind->name;
  d->waits[d->nwaits].note = r->at.note;
  d->nwaits++;
}

/* Ends `r` with the outcome of its final attempt `a`, onto `done`. */
static void driver_finish(lua_State *L, int self, gong_driver *d, int done, driver_request *r, const attempt *a) {
  driver_done(L, done, r->id, driver_outcome(L, self, d, r, a));
  driver_drop(L, self, d, r);
}

/* Takes what libcurl finished: retries wait, the rest go to `done`. */
static void driver_collect(lua_State *L, int self, gong_driver *d, int done) {
  CURLMsg *msg;
  int queued;
  while ((msg = curl_multi_info_read(d->multi, &queued)) != NULL) {
    driver_request *r = NULL;
    attempt a;
    double wait;
    long version = 0;
    int step;
    if (msg->msg != CURLMSG_DONE) continue;
    curl_easy_getinfo(msg->easy_handle, CURLINFO_PRIVATE, (char **)&r);
    if (curl_easy_getinfo(msg->easy_handle, CURLINFO_HTTP_VERSION, &version) == CURLE_OK &&
        version >= CURL_HTTP_VERSION_2_0)
      d->multiplex = 1;
    curl_multi_remove_handle(d->multi, r->t.curl);
    r->state = DRIVER_WAITING;
    d->running--;
    transfer_end(&r->t, msg->data.result, &a);
    step = step_after(L, d->c, &r->t, &r->at, &a, &wait);
    if (step == STEP_FAILED) {
      driver_fail_with(L, self, done, d, r);
    } else if (step == STEP_RETRY) {
      r->not_before = clock_now() + wait;
      driver_note_wait(d, r);
    } else {
      driver_finish(L, self, d, done, r, &a);
    }
  }
}

/* Starts every waiting request whose time has come, as the rate window and the room allow. */
static void driver_pump(lua_State *L, int self, gong_driver *d, int done) {
  driver_request *r = d->first, *next;
  double now = clock_now();
  for (; r != NULL; r = next) {
    double delay = 0;
    int step;
    next = r->next;
    if (d->c->closed || d->close_pending) break; /* by a token function: see driver_effects */
    if (r->state != DRIVER_WAITING || r->not_before > now) continue;
    if (!driver_room(d)) break;
    step = step_before(L, d->c, &r->t, &r->at, now, &delay);
    if (step == STEP_FAILED) {
      driver_fail_with(L, self, done, d, r);
    } else if (step == STEP_WAIT) {
      r->not_before = now + delay;
      driver_note_wait(d, r);
    } else if (step == STEP_LATE) {
      attempt a;
      attempt_late(&a);
      driver_finish(L, self, d, done, r, &a);
    } else if (!driver_start(L, self, d, r)) {
      error_push(L, "network", "%s: libcurl could not start the request", r->kind->name);
      driver_fail_with(L, self, done, d, r);
    }
  }
}

/*
 * Lets go of everything libcurl has: the requests' transfers, the kept ones
 * and the multi handle. The requests stay, to be ended at the next call.
 */
static void driver_shutdown(gong_driver *d) {
  driver_request *r;
  for (r = d->first; r != NULL; r = r->next) {
    if (r->state == DRIVER_RUNNING) curl_multi_remove_handle(d->multi, r->t.curl);
    r->state = DRIVER_WAITING;
    transfer_free(&r->t);
  }
  d->running = 0;
  while (d->idle != NULL) {
    r = d->idle;
    d->idle = r->next;
    transfer_free(&r->t);
    free(r);
  }
  d->nidle = 0;
  if (d->multi != NULL) curl_multi_cleanup(d->multi);
  d->multi = NULL;
}

/*
 * The work of every driver call: takes what finished and starts what may
 * start, onto the `done` list at `done`. A closed client's requests all end
 * with a `closed` error instead, and the driver lets go of libcurl.
 */
static void driver_step(lua_State *L, int self, gong_driver *d, int done) {
  if (d->c->closed || d->multi == NULL) {
    while (d->first != NULL) {
      driver_request *r = d->first;
      client_push_closed(L, r->kind->name);
      driver_fail_with(L, self, done, d, r);
    }
    driver_shutdown(d);
    return;
  }
  driver_collect(L, self, d, done);
  driver_pump(L, self, d, done);
  if (d->out_of_memory) {
    d->out_of_memory = 0;
    luaL_error(L, "gong: out of memory");
  }
}

/* Returns the driver at argument 1, raising an argument error in `who`'s name if it is not one. */
static gong_driver *driver_check(lua_State *L, const char *who) {
  gong_driver *d = (gong_driver *)luaL_testudata(L, 1, DRIVER_MT);
  if (d == NULL)
    error_raise(L, "argument", "driver:%s: call it on a driver, as driver:%s(...) (got %s)", who, who,
                luaL_typename(L, 1));
  return d;
}

/*
 * driver:start(kind, ...) -> id, effects
 * A request of `kind` (core.KINDS), its arguments as client:request takes
 * them; raises what the blocking method would for a bad argument. Its
 * outcome arrives in some call's effects.done under `id`.
 */
static int driver_start_request(lua_State *L) {
  gong_driver *d = driver_check(L, "start");
  const request_kind *k = kinds_find(L, 2);
  const endpoint *ep;
  driver_request *r, **tail;
  int done;
  lua_settop(L, 5);
  ep = kinds_prepare(L, d->c, k, 3); /* 6: url, 7: body */
  r = (driver_request *)calloc(1, sizeof *r);
  if (r == NULL) return luaL_error(L, "gong: out of memory");
  step_begin(d->c, &r->at, clock_now());
  r->id = ++d->next_id;
  r->kind = k;
  r->ep = ep;
  r->state = DRIVER_WAITING;
  for (tail = &d->first; *tail != NULL; tail = &(*tail)->next) {}
  *tail = r;
  lua_createtable(L, 2, 0);
  lua_insert(L, 6);
  lua_rawseti(L, 6, 2);
  lua_rawseti(L, 6, 1);
  driver_push_slot(L, 1, DRIVER_VALUES);
  lua_pushvalue(L, 6);
  lua_rawseti(L, -2, r->id);
  lua_settop(L, 5);
  lua_pushinteger(L, r->id); /* 6 */
  lua_newtable(L);           /* 7: done */
  done = 7;
  if (!d->c->closed && d->multi != NULL && !driver_take_transfer(d, r)) {
    error_push(L, "config", "%s: libcurl could not copy the client's handle", k->name);
    driver_fail_with(L, 1, done, d, r);
  }
  driver_effects(L, 1, d, done);
  lua_remove(L, done);
  return 2;
}

/* driver:cancel(id) -> effects: request `id` ends unanswered (nothing for it in done). */
static int driver_cancel(lua_State *L) {
  gong_driver *d = driver_check(L, "cancel");
  lua_Number id = error_check_number(L, 2, "driver:cancel", "id");
  driver_request *r;
  lua_settop(L, 2);
  for (r = d->first; r != NULL && (lua_Number)r->id != id; r = r->next) {}
  if (r != NULL) driver_drop(L, 1, d, r);
  lua_newtable(L);
  return driver_effects(L, 1, d, 3);
}

/* driver:closed() -> whether its client was closed (a run under way stops when it sees it). */
static int driver_closed(lua_State *L) {
  gong_driver *d = driver_check(L, "closed");
  lua_pushboolean(L, d->c->closed || d->close_pending);
  return 1;
}

/* driver:pending() -> how many requests have not ended yet. */
static int driver_pending(lua_State *L) {
  gong_driver *d = driver_check(L, "pending");
  lua_Integer n = 0;
  const driver_request *r;
  for (r = d->first; r != NULL; r = r->next) n++;
  lua_pushinteger(L, n);
  return 1;
}

/* Drops every request unanswered and lets go of libcurl; idempotent. */
static void driver_close_now(gong_driver *d) {
  d->close_pending = 0;
  while (d->first != NULL) driver_drop(NULL, 1, d, d->first);
  driver_shutdown(d);
  free(d->watch);
  d->watch = NULL;
  d->nwatch = d->capwatch = 0;
  free(d->waits);
  d->waits = NULL;
  d->nwaits = d->capwaits = 0;
}

/*
 * driver:close(): drops every request unanswered and lets go of libcurl;
 * idempotent. Also __gc. Called from a token function during one of the
 * driver's own steps, it is done once the step has unwound (driver_effects).
 */
static int driver_close(lua_State *L) {
  gong_driver *d = driver_check(L, "close");
  if (d->stepping) d->close_pending = 1;
  else driver_close_now(d);
  return 0;
}

/* Closes the wait driver of the client at `client` (client:driver("wait")), if it has one. */
static void driver_close_cached(lua_State *L, int client) {
  gong_getuservalue(L, client);
  if (lua_istable(L, -1)) {
    gong_driver *d;
    lua_getfield(L, -1, "wait");
    d = (gong_driver *)luaL_testudata(L, -1, DRIVER_MT);
    /* Its requests end with `closed` at its next call, when a batch under way looks. */
    if (d != NULL) driver_shutdown(d);
    lua_pop(L, 1);
  }
  lua_pop(L, 1);
}
