/*
 * Requests driven by the host's event loop (luv, Neovim's vim.uv): libcurl's
 * multi socket interface, with no thread and no blocking call. The host
 * watches the sockets and keeps one timer as the driver says, and tells it
 * when a socket is ready or the timer fires; every call returns what changed:
 *
 *   effects = { done = { {id = N, list|nil, requestId|err[, cursor]}, ... },
 *               watch = { {fd, "in"|"out"|"inout"|"remove"}, ... },
 *               timer = ms (when to call timeout(); -1: no timer) }
 *
 * Every request of a driver shares one multi handle, so one connection to
 * the server (one at most to each host: HTTP/1.1 requests queue for it,
 * HTTP/2 ones share it), and the client's rate limiter and retry policy: a
 * request waiting for its start or its retry is the driver's own timer. libcurl
 * calls back only into C here; Lua runs when the driver's caller reads the
 * effects, never inside libcurl.
 */

#define DRIVER_MT "gong.driver"

enum { DRIVER_WAITING, DRIVER_RUNNING };

typedef struct driver_request {
  transfer t; /* first member: CURLOPT_PRIVATE points here */
  lua_Integer id;
  const endpoint *ep;
  int which;       /* the endpoint's index: EP_* */
  const char *name; /* the method, for messages */
  int attempts, state;
  int renewed;       /* the token was renewed for it after a 401 */
  double not_before; /* earliest start of the next attempt */
  struct driver_request *next;
} driver_request;

typedef struct driver_watch {
  curl_socket_t fd;
  int what;
} driver_watch;

typedef struct gong_driver {
  CURLM *multi;
  gong_client *c;          /* kept alive by the driver's registry table */
  int ref;                 /* registry: {client, {[id] = {url, body, encoded}}} */
  driver_request *first;   /* live requests, oldest first */
  lua_Integer next_id;
  double curl_deadline;    /* when libcurl wants timeout() called; -1: never */
  driver_watch *watch;     /* socket changes since the effects were last read */
  int nwatch, capwatch, out_of_memory;
  int running;   /* requests libcurl has */
  int multiplex; /* the connection is HTTP/2 or later: requests share it at once */
} gong_driver;

/*
 * How many requests libcurl may have at once. Over HTTP/1.1 a second one
 * would wait for the connection inside libcurl, and arrive later than its
 * slot of the rate window was taken: so one at a time until a response
 * shows that the connection multiplexes, then as many as the server lets
 * libcurl stream.
 */
static int driver_room(const gong_driver *d) {
  return d->multiplex || d->running == 0;
}

static gong_driver *driver_check(lua_State *L) {
  gong_driver *d = (gong_driver *)luaL_checkudata(L, 1, DRIVER_MT);
  if (d->multi == NULL) error_raise(L, "closed", "driver: closed");
  return d;
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

/* Pushes the registry table's entry `k` (1: the client, 2: the requests' values). */
static void driver_push_slot(lua_State *L, const gong_driver *d, int k) {
  lua_rawgeti(L, LUA_REGISTRYINDEX, d->ref);
  lua_rawgeti(L, -1, k);
  lua_remove(L, -2);
}

/* Pushes request `r`'s values: {url, body, encoded}. */
static void driver_push_values(lua_State *L, const gong_driver *d, const driver_request *r) {
  driver_push_slot(L, d, 2);
  lua_rawgeti(L, -1, r->id);
  lua_remove(L, -2);
}

/* Unlinks and frees request `r`, forgetting its values. */
static void driver_drop(lua_State *L, gong_driver *d, driver_request *r) {
  driver_request **at = &d->first;
  while (*at != NULL && *at != r) at = &(*at)->next;
  if (*at != NULL) *at = r->next;
  if (r->state == DRIVER_RUNNING) {
    curl_multi_remove_handle(d->multi, r->t.curl);
    d->running--;
  }
  if (L != NULL) {
    driver_push_slot(L, d, 2);
    lua_pushnil(L);
    lua_rawseti(L, -2, r->id);
    lua_pop(L, 1);
  }
  transfer_free(&r->t);
  free(r);
}

/* Appends {id, the n values on top (popped)} to the list at `done`. */
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

/* Starts attempt number attempts+1 of `r`: false when libcurl refused it. */
static int driver_start(lua_State *L, gong_driver *d, driver_request *r) {
  const char *body = NULL;
  size_t len = 0;
  int values, ok;
  driver_push_values(L, d, r);
  values = lua_gettop(L);
  lua_getfield(L, values, "body");
  if (!lua_isnil(L, -1)) {
    /* Encoded for each attempt, and kept alive while libcurl sends it. */
    lua_rawgeti(L, lua_upvalueindex(1), STATE_ENCODE);
    lua_insert(L, -2);
    lua_call(L, 1, 1);
    lua_pushvalue(L, -1);
    lua_setfield(L, values, "encoded");
    body = lua_tolstring(L, -1, &len);
  }
  lua_getfield(L, values, "url");
  r->attempts++;
  d->c->requests++;
  ok = transfer_begin(&r->t, lua_tostring(L, -1), body, len) == CURLE_OK &&
       curl_multi_add_handle(d->multi, r->t.curl) == CURLM_OK;
  lua_settop(L, values - 1);
  if (ok) {
    r->state = DRIVER_RUNNING;
    d->running++;
  }
  return ok;
}

/*
 * Pushes the outcome of `r`'s final attempt `a` as the blocking method
 * gives it (a Calls API page as its records by call id, its request id and
 * the next page's cursor) and returns how many values.
 */
static int driver_outcome(lua_State *L, gong_driver *d, driver_request *r, const attempt *a) {
  request_info info;
  int top = lua_gettop(L);
  driver_push_values(L, d, r);
  lua_getfield(L, -1, "url");
  lua_remove(L, -2);
  info.ep = r->ep;
  info.urlidx = top + 1;
  info.base_len = d->c->base_len;
  info.attempts = r->attempts;
  outcome_push(L, lua_upvalueindex(1), &r->t, a, &info);
  lua_remove(L, top + 1);
  if ((r->which == EP_CALL_DETAILS || r->which == EP_TRANSCRIPTS) && !lua_isnil(L, top + 1)) {
    lua_newtable(L);
    client_key_records(L, r->which, top + 1, lua_gettop(L));
    lua_replace(L, top + 1);
  }
  return lua_gettop(L) - top;
}

/* Ends `r` with the error on top of the stack (popped): nil, err in `done`. */
static void driver_fail_with(lua_State *L, int done, gong_driver *d, driver_request *r) {
  lua_pushnil(L);
  lua_insert(L, -2);
  driver_done(L, done, r->id, 2);
  driver_drop(L, d, r);
}

/* Takes what libcurl finished: retries wait, the rest go to `done`. */
static void driver_collect(lua_State *L, gong_driver *d, int done) {
  CURLMsg *msg;
  int queued;
  while ((msg = curl_multi_info_read(d->multi, &queued)) != NULL) {
    driver_request *r = NULL;
    attempt a;
    double wait;
    long version = 0;
    if (msg->msg != CURLMSG_DONE) continue;
    curl_easy_getinfo(msg->easy_handle, CURLINFO_PRIVATE, (char **)&r);
    if (curl_easy_getinfo(msg->easy_handle, CURLINFO_HTTP_VERSION, &version) == CURLE_OK &&
        version >= CURL_HTTP_VERSION_2_0)
      d->multiplex = 1;
    curl_multi_remove_handle(d->multi, r->t.curl);
    r->state = DRIVER_WAITING;
    d->running--;
    transfer_end(&r->t, msg->data.result, &a);
    if (a.status == 401 && !r->renewed) {
      /* Once with a new token, asked for once for every request that used the old one. */
      int again = token_refused(L, &d->c->token, r->t.token_gen);
      r->renewed = 1;
      if (again < 0) {
        driver_fail_with(L, done, d, r);
        continue;
      }
      if (again) {
        r->not_before = 0;
        continue;
      }
    }
    wait = retry_wait(&d->c->retry, &a, r->attempts);
    if (wait >= 0) {
      r->not_before = clock_now() + wait;
      continue;
    }
    driver_done(L, done, r->id, driver_outcome(L, d, r, &a));
    transfer_trim(&r->t);
    driver_drop(L, d, r);
  }
}

/* Pushes a failure of `r` that no attempt produced: nil and a `kind` error. */
static void driver_fail(lua_State *L, int done, gong_driver *d, driver_request *r, const char *kind,
                        const char *message) {
  error_push(L, kind, "%s", message);
  if (strcmp(kind, "config") == 0) {
    error_set_string(L, "option", "rate_scope");
    error_set_string(L, "reason", "shared_state");
  }
  driver_fail_with(L, done, d, r);
}

/* Starts every waiting request whose time has come, as the rate limiter allows. */
static void driver_pump(lua_State *L, gong_driver *d, int done) {
  driver_request *r = d->first, *next;
  double now = clock_now();
  for (; r != NULL; r = next) {
    double delay;
    next = r->next;
    if (r->state != DRIVER_WAITING || r->not_before > now) continue;
    if (!driver_room(d)) break;
    delay = ratelimit_take(&d->c->rate, now);
    if (delay < 0) {
      driver_fail(L, done, d, r, "config", d->c->rate.why);
    } else if (delay > 0) {
      r->not_before = now + delay;
    } else if (!token_current(L, &d->c->token)) {
      driver_fail_with(L, done, d, r);
    } else {
      token_apply(&d->c->token, r->t.curl, &r->t.token_gen);
      if (!driver_start(L, d, r)) driver_fail(L, done, d, r, "network", "libcurl could not start the request");
    }
  }
}

/* Ends every request with a closed error (the client was closed under the driver). */
static void driver_close_all(lua_State *L, gong_driver *d, int done) {
  while (d->first != NULL) {
    driver_request *r = d->first;
    if (done) {
      lua_pushnil(L);
      error_push(L, "closed", "%s: client is closed", r->name);
      driver_done(L, done, r->id, 2);
    }
    driver_drop(L, d, r);
  }
}

/*
 * The end of every driver call: takes what finished, starts what may start,
 * and pushes the effects with the `done` list at `done`.
 */
static int driver_effects(lua_State *L, gong_driver *d, int done) {
  static const char *const what[] = {"none", "in", "out", "inout", "remove"};
  double wake, now;
  driver_request *r;
  int k;
  if (d->c->closed) {
    driver_close_all(L, d, done);
  } else {
    driver_collect(L, d, done);
    driver_pump(L, d, done);
  }
  wake = d->curl_deadline; /* starting a request sets it */
  if (d->out_of_memory) {
    d->out_of_memory = 0;
    return luaL_error(L, "gong: out of memory");
  }
  /* A request kept back for room waits for the running one to end, which is a socket event. */
  for (r = d->first; r != NULL; r = r->next)
    if (r->state == DRIVER_WAITING && (driver_room(d) || r->not_before > clock_now()) &&
        (wake < 0 || r->not_before < wake))
      wake = r->not_before;
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
  return 1;
}

/*
 * client:driver() -> driver: requests of this client driven by the caller's
 * event loop (see the top of this file).
 */
static int driver_new(lua_State *L) {
  gong_client *c = client_check(L);
  gong_driver *d;
  lua_settop(L, 1);
  if (c->closed) return error_raise(L, "closed", "driver: client is closed");
  d = (gong_driver *)lua_newuserdatauv(L, sizeof *d, 0);
  memset(d, 0, sizeof *d);
  d->ref = LUA_NOREF;
  d->curl_deadline = -1;
  d->c = c;
  luaL_setmetatable(L, DRIVER_MT);
  d->multi = curl_multi_init();
  if (d->multi == NULL) return error_raise(L, "config", "libcurl could not create a multi handle");
  if (curl_multi_setopt(d->multi, CURLMOPT_SOCKETFUNCTION, driver_socket_cb) != CURLM_OK ||
      curl_multi_setopt(d->multi, CURLMOPT_SOCKETDATA, (void *)d) != CURLM_OK ||
      curl_multi_setopt(d->multi, CURLMOPT_TIMERFUNCTION, driver_timer_cb) != CURLM_OK ||
      curl_multi_setopt(d->multi, CURLMOPT_TIMERDATA, (void *)d) != CURLM_OK ||
      curl_multi_setopt(d->multi, CURLMOPT_PIPELINING, (long)CURLPIPE_MULTIPLEX) != CURLM_OK ||
      curl_multi_setopt(d->multi, CURLMOPT_MAX_HOST_CONNECTIONS, 1L) != CURLM_OK)
    return error_raise(L, "config", "libcurl refused an option of the multi handle");
  lua_createtable(L, 2, 0);
  lua_pushvalue(L, 1);
  lua_rawseti(L, -2, 1);
  lua_newtable(L);
  lua_rawseti(L, -2, 2);
  d->ref = luaL_ref(L, LUA_REGISTRYINDEX);
  return 1;
}

/*
 * driver:start(method, argument [, opts [, cursor]]) -> id, effects
 * method: "folders" (argument: params), "calls" (a folder id), "workspaces",
 * or one page of "call_details" / "transcripts" (argument: at most 100
 * distinct call ids; opts: call_details' fields and context; cursor: the
 * page after the first). Raises what the blocking method would for a bad
 * argument; everything else arrives in the effects' done list.
 */
static int driver_start_request(lua_State *L) {
  gong_driver *d = driver_check(L);
  gong_client *c = d->c;
  const char *method = luaL_checkstring(L, 2);
  const endpoint *ep = NULL;
  driver_request *r, **tail;
  int which = -1, values, done;
  lua_settop(L, 5);
  if (c->closed) return error_raise(L, "closed", "%s: client is closed", method);
  lua_createtable(L, 0, 3); /* 6: the request's values */
  values = 6;
  if (strcmp(method, "folders") == 0) {
    /* client_folders_url keeps the stack to its params: give it a copy on top. */
    lua_pushvalue(L, 3); /* 7 */
    ep = client_folders_url(L, c, 7);
    which = ep == &c->endpoints[EP_FOLDERS] ? EP_FOLDERS : EP_WORKSPACE_FOLDERS;
  } else if (strcmp(method, "calls") == 0) {
    size_t len = 0;
    const char *id = client_check_id(L, 3, "calls: folderId", &len);
    which = EP_CALLS;
    ep = &c->endpoints[which];
    client_push_url(L, c, ep, id, len);
  } else if (strcmp(method, "workspaces") == 0) {
    which = EP_WORKSPACES;
    ep = &c->endpoints[which];
    client_push_url(L, c, ep, NULL, 0);
  } else if (strcmp(method, "call_details") == 0 || strcmp(method, "transcripts") == 0) {
    int n, selector = 0;
    which = method[0] == 'c' ? EP_CALL_DETAILS : EP_TRANSCRIPTS;
    ep = &c->endpoints[which];
    n = client_check_batch_ids(L, 3, method);
    if (n > API_MAX_BATCH) return error_raise(L, "argument", "%s: at most %d call ids a page", method, API_MAX_BATCH);
    if (which == EP_CALL_DETAILS) {
      client_content_selector(L, 4);
      selector = lua_gettop(L);
    }
    client_calls_api_body(L, 3, 1, n, selector);
    if (!lua_isnil(L, 5)) {
      luaL_checktype(L, 5, LUA_TSTRING);
      lua_pushvalue(L, 5);
      lua_setfield(L, -2, "cursor");
    }
    lua_setfield(L, values, "body");
    client_push_url(L, c, ep, NULL, 0);
  } else {
    return error_raise(L, "argument", "driver: unknown method '%s'", method);
  }
  lua_setfield(L, values, "url");
  r = (driver_request *)calloc(1, sizeof *r);
  if (r == NULL) return luaL_error(L, "gong: out of memory");
  r->t.limits = &c->limits;
  r->t.curl = curl_easy_duphandle(c->main.curl);
  if (r->t.curl == NULL || transfer_bind(&r->t) != CURLE_OK) {
    transfer_free(&r->t);
    free(r);
    return error_raise(L, "config", "libcurl could not copy the client's handle");
  }
  r->id = ++d->next_id;
  r->ep = ep;
  r->which = which;
  r->name = which == EP_CALL_DETAILS ? "call_details" : which == EP_TRANSCRIPTS ? "transcripts"
          : which == EP_CALLS ? "calls" : which == EP_WORKSPACES ? "workspaces" : "folders";
  r->state = DRIVER_WAITING;
  for (tail = &d->first; *tail != NULL; tail = &(*tail)->next) {
  }
  *tail = r;
  driver_push_slot(L, d, 2);
  lua_pushvalue(L, values);
  lua_rawseti(L, -2, r->id);
  lua_settop(L, values);
  lua_pushinteger(L, r->id);
  lua_newtable(L);
  done = lua_gettop(L);
  driver_effects(L, d, done);
  lua_remove(L, done);
  return 2;
}

/* driver:socket(fd, readable, writable [, failed]) -> effects: the host saw `fd` ready. */
static int driver_socket(lua_State *L) {
  gong_driver *d = driver_check(L);
  curl_socket_t fd = (curl_socket_t)luaL_checkinteger(L, 2);
  int mask = (lua_toboolean(L, 3) ? CURL_CSELECT_IN : 0) | (lua_toboolean(L, 4) ? CURL_CSELECT_OUT : 0) |
             (lua_toboolean(L, 5) ? CURL_CSELECT_ERR : 0);
  int running;
  lua_settop(L, 5);
  lua_newtable(L);
  if (!d->c->closed) curl_multi_socket_action(d->multi, fd, mask, &running);
  return driver_effects(L, d, 6);
}

/* driver:timeout() -> effects: the host's timer fired. */
static int driver_timeout(lua_State *L) {
  gong_driver *d = driver_check(L);
  int running;
  lua_settop(L, 1);
  lua_newtable(L);
  if (!d->c->closed) {
    d->curl_deadline = -1;
    curl_multi_socket_action(d->multi, CURL_SOCKET_TIMEOUT, 0, &running);
  }
  return driver_effects(L, d, 2);
}

/* driver:cancel(id) -> effects: request `id` ends unanswered (nothing for it in done). */
static int driver_cancel(lua_State *L) {
  gong_driver *d = driver_check(L);
  lua_Integer id = luaL_checkinteger(L, 2);
  driver_request *r;
  lua_settop(L, 2);
  for (r = d->first; r != NULL && r->id != id; r = r->next) {
  }
  if (r != NULL) driver_drop(L, d, r);
  lua_newtable(L);
  return driver_effects(L, d, 3);
}

/* driver:pending() -> how many requests have not ended yet. */
static int driver_pending(lua_State *L) {
  gong_driver *d = (gong_driver *)luaL_checkudata(L, 1, DRIVER_MT);
  lua_Integer n = 0;
  const driver_request *r;
  for (r = d->first; r != NULL; r = r->next) n++;
  lua_pushinteger(L, n);
  return 1;
}

/* driver:close(): drops every request unanswered and the multi handle; idempotent. Also __gc. */
static int driver_close(lua_State *L) {
  gong_driver *d = (gong_driver *)luaL_checkudata(L, 1, DRIVER_MT);
  while (d->first != NULL) driver_drop(d->ref != LUA_NOREF ? L : NULL, d, d->first);
  if (d->multi != NULL) curl_multi_cleanup(d->multi);
  d->multi = NULL;
  free(d->watch);
  d->watch = NULL;
  d->nwatch = d->capwatch = 0;
  if (d->ref != LUA_NOREF) luaL_unref(L, LUA_REGISTRYINDEX, d->ref);
  d->ref = LUA_NOREF;
  return 0;
}

/* Registers the driver's metatable, and client:driver() in core.Client (the module table on top). */
static void driver_open(lua_State *L, int state) {
  static const luaL_Reg methods[] = {{"start", driver_start_request}, {"socket", driver_socket},
                                     {"timeout", driver_timeout},     {"cancel", driver_cancel},
                                     {"pending", driver_pending},     {"close", driver_close},
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
  lua_getfield(L, -1, "Client");
  lua_pushvalue(L, state);
  lua_pushcclosure(L, driver_new, 1);
  lua_setfield(L, -2, "driver");
  lua_pop(L, 1);
}
