/*
 * How a driver's requests get their turn (driver.c has the requests): a
 * host's event loop watching the sockets libcurl names and one timer, told
 * through each call's effects (libcurl's multi socket interface); or the
 * caller waiting in driver:wait(), which polls until a request ends. Also
 * making a driver, and its Lua class.
 */

/*
 * Whether another request may start now. One connection per host: over
 * HTTP/1.1 a request beyond the room would wait for a connection inside
 * libcurl and arrive later than its slot of the rate window was taken. A
 * loop's driver has room for one until a response shows that the connection
 * multiplexes (HTTP/2), then as many as the server lets libcurl stream; a
 * wait driver has a connection per request its batch runs at once.
 */
static int driver_room(const gong_driver *d) {
  return d->multiplex || d->running < d->room;
}

/* CURLMOPT_SOCKETFUNCTION: notes what to watch; the effects tell the host. */
static int driver_socket_cb(CURL *easy, curl_socket_t fd, int what, void *userp, void *socketp) {
  gong_driver *d = (gong_driver *)userp;
  (void)easy;
  (void)socketp;
  if (d->nwatch == d->capwatch) {
    int cap = d->capwatch ? d->capwatch * 2 : 8;
    driver_watch *grown = (driver_watch *)realloc(d->watch, (size_t)cap * sizeof *grown);
    if (grown == NULL) {
      d->out_of_memory = 1;
      return -1;
    }
    d->watch = grown;
    d->capwatch = cap;
  }
  d->watch[d->nwatch].fd = fd;
  d->watch[d->nwatch].what = what;
  d->nwatch++;
  return 0;
}

/* CURLMOPT_TIMERFUNCTION: when libcurl wants timeout() called. */
static int driver_timer_cb(CURLM *multi, long ms, void *userp) {
  gong_driver *d = (gong_driver *)userp;
  (void)multi;
  d->curl_deadline = ms < 0 ? -1 : clock_now() + (double)ms / 1000;
  return 0;
}

/* The earliest time a waiting request may start, or `wake` when none is sooner (-1: none). */
static double driver_next_start(const gong_driver *d, double wake) {
  const driver_request *r;
  /* A request kept back for room waits for the running one to end, which is a socket event. */
  for (r = d->first; r != NULL; r = r->next)
    if (r->state == DRIVER_WAITING && (driver_room(d) || r->not_before > clock_now()) &&
        (wake < 0 || r->not_before < wake))
      wake = r->not_before;
  return wake;
}

/*
 * Sets the effects' `waits`, the waits the requests noted since the last
 * call, each what on_wait is told plus the request's `id`, and `on_wait`,
 * the client's function, for the host to call where it calls back (gong.tasks).
 */
static void driver_push_waits(lua_State *L, gong_driver *d) {
  if (d->nwaits > 0 && d->c->on_wait != LUA_NOREF) {
    int k;
    lua_createtable(L, d->nwaits, 0);
    for (k = 0; k < d->nwaits; k++) {
      step_push_note(L, &d->waits[k].note, d->c, d->waits[k].kind);
      lua_pushinteger(L, d->waits[k].id);
      lua_setfield(L, -2, "id");
      lua_rawseti(L, -2, k + 1);
    }
    lua_setfield(L, -2, "waits");
    lua_rawgeti(L, LUA_REGISTRYINDEX, d->c->on_wait);
    lua_setfield(L, -2, "on_wait");
  }
  d->nwaits = 0;
}

/*
 * The end of every call of a driver (self: its stack index): driver_step's
 * work onto the `done` list at `done`, then pushes the effects.
 */
static int driver_effects(lua_State *L, int self, gong_driver *d, int done) {
  static const char *const what[] = {"none", "in", "out", "inout", "remove"};
  gong_client *c = d->c;
  double wake, now;
  int k;
  /* A token function that closes the client only marks it closed while the
   * step runs: its requests then end with `closed` (the second step), and
   * the client is released once nothing of the step uses it. */
  c->running++;
  d->stepping++;
  driver_step(L, self, d, done);
  d->stepping--;
  if (d->close_pending && !d->stepping) driver_close_now(d);
  if (--c->running == 0 && c->closed) {
    driver_step(L, self, d, done);
    client_release(L, c, 0);
  }
  wake = driver_next_start(d, d->curl_deadline); /* starting a request sets the deadline */
  lua_createtable(L, 0, 3);
  lua_pushvalue(L, done);
  lua_setfield(L, -2, "done");
  lua_createtable(L, d->nwatch, 0);
  for (k = 0; k < d->nwatch; k++) {
    int w = d->watch[k].what;
    lua_createtable(L, 2, 0);
    lua_pushinteger(L, (lua_Integer)d->watch[k].fd);
    lua_rawseti(L, -2, 1);
    lua_pushstring(L, what[w >= 0 && w <= 4 ? w : 0]);
    lua_rawseti(L, -2, 2);
    lua_rawseti(L, -2, k + 1);
  }
  d->nwatch = 0;
  lua_setfield(L, -2, "watch");
  now = clock_now();
  if (wake < 0) lua_pushinteger(L, -1);
  else lua_pushinteger(L, wake <= now ? 0 : (lua_Integer)((wake - now) * 1000) + 1);
  lua_setfield(L, -2, "timer");
  driver_push_waits(L, d);
  return 1;
}

/* driver:socket(fd, readable, writable [, failed]) -> effects: the host saw `fd` ready. */
static int driver_socket(lua_State *L) {
  gong_driver *d = driver_check(L, "socket");
  curl_socket_t fd = (curl_socket_t)error_check_number(L, 2, "driver:socket", "fd");
  int mask = (lua_toboolean(L, 3) ? CURL_CSELECT_IN : 0) | (lua_toboolean(L, 4) ? CURL_CSELECT_OUT : 0) |
             (lua_toboolean(L, 5) ? CURL_CSELECT_ERR : 0);
  int running;
  lua_settop(L, 5);
  lua_newtable(L);
  if (!d->c->closed && d->multi != NULL && d->sockets) curl_multi_socket_action(d->multi, fd, mask, &running);
  return driver_effects(L, 1, d, 6);
}

/* driver:timeout() -> effects: the host's timer fired. */
static int driver_timeout(lua_State *L) {
  gong_driver *d = driver_check(L, "timeout");
  int running;
  lua_settop(L, 1);
  lua_newtable(L);
  if (!d->c->closed && d->multi != NULL && d->sockets) {
    d->curl_deadline = -1;
    curl_multi_socket_action(d->multi, CURL_SOCKET_TIMEOUT, 0, &running);
  }
  return driver_effects(L, 1, d, 2);
}

/* Points the driver's transfers, those under way and those it starts, at the watch `w` of a wait (NULL: none). */
static void driver_watch_interrupts(gong_driver *d, interrupt_watch *w) {
  driver_request *r;
  d->interrupt = w;
  for (r = d->first; r != NULL; r = r->next) r->t.watch = w;
}

/*
 * driver:wait() -> effects: waits until a request ends (effects.done), or
 * none is left, or an interrupt (Ctrl-C) arrives (effects.interrupted: the
 * requests are still there, for the caller to cancel). A wait driver's.
 */
static int driver_wait(lua_State *L) {
  gong_driver *d = driver_check(L, "wait");
  interrupt_watch watch;
  int done, interrupted = 0;
  if (d->sockets) return error_raise(L, "argument", "driver:wait: a loop's driver is driven by its loop");
  lua_settop(L, 1);
  lua_newtable(L);
  done = 2;
  interrupt_watch_start(&watch, L);
  driver_watch_interrupts(d, &watch);
  for (;;) {
    int running;
    double wake, now;
    driver_step(L, 1, d, done);
    if (lua_rawlen(L, done) > 0 || d->first == NULL || d->multi == NULL) break;
    if (d->nwaits > 0 && d->c->on_wait != LUA_NOREF) break; /* on_wait is told before the wait */
    if (interrupt_pending(&watch)) {
      interrupted = 1;
      break;
    }
    /* Until a transfer moves, a retry is due or the window allows a start; interrupts looked at each 100 ms. */
    now = clock_now();
    wake = driver_next_start(d, now + 0.1);
    curl_multi_poll(d->multi, NULL, 0, wake <= now ? 0 : (int)((wake - now) * 1000) + 1, NULL);
    if (curl_multi_perform(d->multi, &running) != CURLM_OK) {
      driver_watch_interrupts(d, NULL);
      return error_raise(L, "network", "driver:wait: libcurl's multi interface failed");
    }
  }
  driver_watch_interrupts(d, NULL);
  lua_createtable(L, 0, 4);
  lua_pushvalue(L, done);
  lua_setfield(L, -2, "done");
  driver_push_waits(L, d);
  if (interrupted) {
    lua_pushboolean(L, 1);
    lua_setfield(L, -2, "interrupted");
  }
  return 1;
}

/*
 * client:driver(["wait"]) -> driver | nil, err: requests of this client made
 * many at once, driven by the caller's event loop, or ("wait") by the caller
 * waiting in driver:wait() (the one wait driver of the client; see the top
 * of driver.c). A closed client's is a `closed` error.
 */
static int driver_new(lua_State *L) {
  gong_client *c = client_check(L, "driver");
  gong_driver *d;
  int sockets = 1;
  if (!lua_isnoneornil(L, 2)) {
    const char *mode = lua_type(L, 2) == LUA_TSTRING ? lua_tostring(L, 2) : "";
    if (strcmp(mode, "wait") != 0 && strcmp(mode, "loop") != 0)
      return error_raise(L, "argument", "driver: mode must be \"loop\" or \"wait\"");
    sockets = strcmp(mode, "loop") == 0;
  }
  lua_settop(L, 1);
  if (c->closed) {
    lua_pushnil(L);
    client_push_closed(L, "driver");
    return 2;
  }
  gong_getuservalue(L, 1); /* 2 */
  if (!sockets) {
    lua_getfield(L, 2, "wait");
    if (!lua_isnil(L, -1)) return 1;
    lua_pop(L, 1);
  }
  d = (gong_driver *)lua_newuserdatauv(L, sizeof *d, 1); /* 3 */
  memset(d, 0, sizeof *d);
  d->curl_deadline = -1;
  d->c = c;
  d->sockets = sockets;
  d->room = sockets ? 1 : BATCH_MAX_CONCURRENCY;
  luaL_setmetatable(L, DRIVER_MT);
  lua_createtable(L, 2, 0);
  lua_pushvalue(L, 1);
  lua_rawseti(L, -2, DRIVER_CLIENT);
  lua_newtable(L);
  lua_rawseti(L, -2, DRIVER_VALUES);
  gong_setuservalue(L, 3);
  d->multi = curl_multi_init();
  if (d->multi == NULL) return error_raise(L, "config", "libcurl could not create a multi handle");
  if (curl_multi_setopt(d->multi, CURLMOPT_PIPELINING, (long)CURLPIPE_MULTIPLEX) != CURLM_OK ||
      curl_multi_setopt(d->multi, CURLMOPT_MAX_HOST_CONNECTIONS, (long)d->room) != CURLM_OK ||
      (sockets && (curl_multi_setopt(d->multi, CURLMOPT_SOCKETFUNCTION, driver_socket_cb) != CURLM_OK ||
                   curl_multi_setopt(d->multi, CURLMOPT_SOCKETDATA, (void *)d) != CURLM_OK ||
                   curl_multi_setopt(d->multi, CURLMOPT_TIMERFUNCTION, driver_timer_cb) != CURLM_OK ||
                   curl_multi_setopt(d->multi, CURLMOPT_TIMERDATA, (void *)d) != CURLM_OK)))
    return error_raise(L, "config", "libcurl refused an option of the multi handle");
  if (!sockets) {
    lua_pushvalue(L, 3);
    lua_setfield(L, 2, "wait");
  }
  return 1;
}

/* Registers the driver's metatable (client:driver() is client.c's). */
static void driver_open(lua_State *L, int state) {
  static const luaL_Reg methods[] = {{"start", driver_start_request}, {"socket", driver_socket},
                                     {"timeout", driver_timeout},     {"wait", driver_wait},
                                     {"cancel", driver_cancel},       {"pending", driver_pending},
                                     {"closed", driver_closed},       {"close", driver_close},
                                     {NULL, NULL}};
  luaL_newmetatable(L, DRIVER_MT);
  lua_pushvalue(L, state);
  lua_pushcclosure(L, driver_close, 1);
  lua_setfield(L, -2, "__gc");
  lua_createtable(L, 0, 8);
  lua_pushvalue(L, state);
  luaL_setfuncs(L, methods, 1);
  lua_setfield(L, -2, "__index");
  lua_pushliteral(L, DRIVER_MT);
  lua_setfield(L, -2, "__name");
  lua_pop(L, 1);
}
