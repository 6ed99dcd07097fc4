/*
 * Blocking requests: one request of a kind, every attempt, the caller
 * waiting in curl_easy_perform on the client's one easy handle (keep-alive
 * and TLS session reuse). The core client's methods of the kinds that do not
 * page (folders(), calls(), ...) are made here from the kinds' table, and
 * client:request(kind, ...) makes a request of any kind, a Calls API page
 * included (gong.resty's threads make theirs so).
 */

/*
 * Makes the request of kind `k` to endpoint `ep`, its URL at stack index
 * `url` and its body at url + 1 (nil for a GET): each attempt as step.c
 * says, waiting between them (Ctrl-C ends a wait), the client's on_wait told
 * of each wait first. Pushes the results the method returns and returns how
 * many: list, requestId [, cursor] | nil, err; or -1 with what on_wait
 * raised on top, for the caller to raise.
 */
static int request_blocking(lua_State *L, gong_client *c, const request_kind *k, const endpoint *ep, int url);

/*
 * The request as request_blocking makes it, with the client marked running
 * meanwhile: a close() from its token function marks the client closed, the
 * request ends with a closed error, and the client is released here, once
 * nothing of the request uses it any more.
 */
static int request_running(lua_State *L, gong_client *c, const request_kind *k, const endpoint *ep, int url) {
  int n;
  c->running++;
  n = request_blocking(L, c, k, ep, url);
  if (--c->running == 0 && c->closed) {
    if (n < 0) {
      client_release(L, c, 1);
      return lua_error(L);
    }
    lua_settop(L, lua_gettop(L) - n);
    client_release(L, c, 1); /* the client is argument 1 of its methods */
    lua_pushnil(L);
    client_push_closed(L, k->name);
    return 2;
  }
  if (n < 0) return lua_error(L);
  return n;
}

/*
 * Tells the client's on_wait of the wait request `r` noted, if any, and
 * points the client's transfer at `watch` again (on_wait may have made a
 * request of its own on it). 0 with what on_wait raised on top.
 */
static int request_tell(lua_State *L, gong_client *c, request_attempts *r, const request_kind *k,
                        interrupt_watch *watch) {
  int told = step_tell(L, c, r, k->name);
  c->main.watch = told ? watch : NULL;
  return told;
}

static int request_blocking(lua_State *L, gong_client *c, const request_kind *k, const endpoint *ep, int url) {
  attempt a;
  request_attempts r;
  interrupt_watch watch;
  double wait = 0;
  size_t len = 0;
  const char *body = lua_isnil(L, url + 1) ? NULL : lua_tolstring(L, url + 1, &len);
  int top = lua_gettop(L);
  step_begin(c, &r, clock_now());
  interrupt_watch_start(&watch, L);
  c->main.watch = &watch;
  for (;;) {
    double delay = 0;
    int step = STEP_WAIT, interrupted;
    if (!request_tell(L, c, &r, k, &watch)) return -1;
    interrupted = c->closed || interrupt_sleep(&watch, wait);
    while (!interrupted && (step = step_before(L, c, &c->main, &r, clock_now(), &delay)) == STEP_WAIT) {
      if (!request_tell(L, c, &r, k, &watch)) return -1;
      interrupted = c->closed || interrupt_sleep(&watch, delay);
    }
    if (c->closed) break; /* by its token function, or on_wait */
    if (interrupted) {
      attempt_interrupted(&a);
      break;
    }
    if (step == STEP_LATE) {
      attempt_late(&a);
      break;
    }
    if (step != STEP_FAILED) {
      transfer_perform(&c->main, lua_tostring(L, url), body, len, &a);
      step = step_after(L, c, &c->main, &r, &a, &wait);
      if (c->closed) break; /* by its token function, asked again after a 401 */
    }
    if (step == STEP_FAILED) {
      c->main.watch = NULL;
      lua_pushnil(L);
      lua_insert(L, -2);
      return 2;
    }
    if (step == STEP_DONE) break;
  }
  c->main.watch = NULL;
  if (c->closed) return 0; /* request_running says so */
  {
    request_info info = {c, ep, url, r.made, r.refused};
    outcome_push(L, lua_upvalueindex(1), &c->main, &a, &info);
  }
  kinds_finish(L, k, top + 1);
  return lua_gettop(L) - top;
}

/*
 * A method's request of kind `k` on client `c`, its arguments from stack
 * index 2 on: checked (a bad one raises), then made unless the client is
 * closed. Returns the Lua results.
 */
static int request_of_kind(lua_State *L, gong_client *c, const request_kind *k) {
  const endpoint *ep;
  lua_settop(L, 4);
  ep = kinds_prepare(L, c, k, 2); /* 5: url, 6: body */
  if (c->closed) {
    lua_pushnil(L);
    client_push_closed(L, k->name);
    return 2;
  }
  return request_running(L, c, k, ep, 5);
}

/*
 * client:folders([params]) -> folders, requestId | nil, err, and so on for
 * every kind that does not page: a request of the kind in upvalue 2; what
 * is wrong with an argument raises.
 */
static int request_method(lua_State *L) {
  const request_kind *k = (const request_kind *)lua_touserdata(L, lua_upvalueindex(2));
  return request_of_kind(L, client_check(L, k->name), k);
}

/*
 * client:request(kind, ...) -> what the kind's method returns
 * Any kind of core.KINDS by name; a Calls API page takes its call ids (at
 * most core.MAX_BATCH), the options of its method and the next page's
 * cursor, and returns the records keyed by call id, the requestId and the
 * cursor of the page after (nil on the last).
 */
static int request_any(lua_State *L) {
  gong_client *c = client_check(L, "request");
  const request_kind *k = kinds_find(L, 2);
  lua_remove(L, 2);
  return request_of_kind(L, c, k);
}

/* Adds the kinds' blocking methods and request() to the methods table at `methods`. */
static void request_open(lua_State *L, int state, int methods) {
  const request_kind *k;
  for (k = kinds_all(); k->name != NULL; k++) {
    if (k->argument == ARG_CALL_IDS) continue; /* paged: gong.client's methods ask for every page */
    lua_pushvalue(L, state);
    lua_pushlightuserdata(L, (void *)(uintptr_t)k);
    lua_pushcclosure(L, request_method, 2);
    lua_setfield(L, methods, k->name);
  }
  lua_pushvalue(L, state);
  lua_pushcclosure(L, request_any, 1);
  lua_setfield(L, methods, "request");
}
