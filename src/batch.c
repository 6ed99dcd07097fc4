/*
 * Many folders' calls at once: client:calls_batch(ids, opts) runs up to
 * `concurrency` transfers on a libcurl multi handle (HTTP/2 multiplexing
 * when the server offers it, connection reuse otherwise), every start under
 * the client's one rate limiter and every failure under its retry policy.
 */

typedef struct batch_slot {
  transfer t;        /* first member: CURLOPT_PRIVATE points here */
  int index;         /* 1-based position in ids, 0 when idle */
  int attempts;
  int running;       /* added to the multi handle */
  double not_before; /* earliest start of the next attempt (retry wait) */
} batch_slot;

#define BATCH_MAX_CONCURRENCY 64

/* Detaches any transfer still on the multi handle (after an aborted batch). */
static void batch_detach(gong_client *c) {
  int k;
  for (k = 0; k < c->pool_size; k++) {
    if (c->pool[k]->running) curl_multi_remove_handle(c->multi, c->pool[k]->t.curl);
    c->pool[k]->running = 0;
    c->pool[k]->index = 0;
  }
}

/* Frees the multi handle and the pool; idempotent. */
static void batch_release(gong_client *c) {
  int k;
  batch_detach(c);
  for (k = 0; k < c->pool_size; k++) {
    transfer_free(&c->pool[k]->t);
    free(c->pool[k]);
    c->pool[k] = NULL;
  }
  c->pool_size = 0;
  if (c->multi != NULL) curl_multi_cleanup(c->multi);
  c->multi = NULL;
}

/*
 * Makes sure the client has a multi handle and `n` easy handles, each a
 * copy of the main handle's configuration. Returns NULL or a message.
 */
static const char *batch_prepare(gong_client *c, int n) {
  int k;
  if (c->multi == NULL) {
    c->multi = curl_multi_init();
    if (c->multi == NULL) return "libcurl could not create a multi handle";
    if (curl_multi_setopt(c->multi, CURLMOPT_PIPELINING, (long)CURLPIPE_MULTIPLEX) != CURLM_OK)
      return "libcurl refused CURLMOPT_PIPELINING";
  }
  batch_detach(c);
  /* Slots are allocated one by one: libcurl holds pointers into them. */
  for (k = c->pool_size; k < n; k++) {
    batch_slot *s = (batch_slot *)calloc(1, sizeof *s);
    if (s == NULL) return "out of memory";
    c->pool[k] = s;
    c->pool_size = k + 1;
    s->t.limits = &c->limits;
    s->t.curl = curl_easy_duphandle(c->main.curl);
    if (s->t.curl == NULL) return "libcurl could not copy the handle";
    if (transfer_bind(&s->t) != CURLE_OK) return "libcurl refused a callback";
  }
  return NULL;
}

/* Starts the next attempt of slot `s`; on failure records it as the attempt's result. */
static CURLMcode batch_start(lua_State *L, gong_client *c, batch_slot *s, int ids, int urls) {
  CURLMcode mc;
  lua_rawgeti(L, urls, s->index);
  if (lua_isnil(L, -1)) {
    size_t len;
    const char *id;
    lua_pop(L, 1);
    lua_rawgeti(L, ids, s->index);
    id = lua_tolstring(L, -1, &len);
    client_push_calls_url(L, c, id, len);
    lua_remove(L, -2);
    lua_pushvalue(L, -1);
    lua_rawseti(L, urls, s->index);
  }
  ratelimit_record(&c->rate, clock_now());
  s->attempts++;
  if (transfer_begin(&s->t, lua_tostring(L, -1)) != CURLE_OK) {
    lua_pop(L, 1);
    return CURLM_BAD_EASY_HANDLE;
  }
  lua_pop(L, 1);
  mc = curl_multi_add_handle(c->multi, s->t.curl);
  s->running = mc == CURLM_OK;
  return mc;
}

/*
 * Calls on_result with the three values on top of the stack, popping them.
 * An error it raises first unwinds the batch, then propagates.
 */
static void batch_call(lua_State *L, gong_client *c, int on_result) {
  lua_pushvalue(L, on_result);
  lua_insert(L, -4);
  if (lua_pcall(L, 3, 0, 0) != 0) {
    batch_detach(c);
    lua_error(L);
  }
}

/*
 * Records the final outcome of slot `s` in results[index] and calls
 * on_result(index, list_or_nil, requestId_or_err) if given. Returns
 * nonzero when the outcome tells to start nothing more (a rate limit
 * longer than max_retry_wait: every further request would be refused).
 */
static int batch_finish(lua_State *L, gong_client *c, batch_slot *s, const attempt *a,
                        int urls, int results, int on_result) {
  int top = lua_gettop(L), stop = 0;
  lua_rawgeti(L, urls, s->index);
  client_push_outcome(L, c, &s->t, lua_upvalueindex(1), a, top + 1, s->attempts,
                      client_calls_shape(c));
  transfer_trim(&s->t);
  /* stack: url, list|nil, requestId|err */
  if (lua_isnil(L, -2)) {
    lua_pushvalue(L, -1);
    lua_getfield(L, -1, "kind");
    stop = lua_type(L, -1) == LUA_TSTRING && strcmp(lua_tostring(L, -1), "rate_limited") == 0 &&
           a->retry_after > c->retry.max_retry_wait;
    lua_pop(L, 1);
  } else {
    lua_pushvalue(L, -2);
  }
  lua_rawseti(L, results, s->index);
  if (on_result) {
    lua_pushinteger(L, s->index);
    lua_pushvalue(L, -3);
    lua_pushvalue(L, -3);
    batch_call(L, c, on_result);
  }
  lua_settop(L, top);
  s->index = 0;
  return stop;
}

/* Gives every id not yet started the error that stopped the batch. */
static void batch_give_up(lua_State *L, gong_client *c, int n, int *next, int results,
                          int on_result) {
  for (; *next <= n; (*next)++) {
    error_push(L, "rate_limited", "not attempted: the rate limit asks to wait longer than "
                                  "max_retry_wait");
    lua_pushvalue(L, -1);
    lua_rawseti(L, results, *next);
    if (on_result) {
      lua_pushinteger(L, *next);
      lua_pushnil(L);
      lua_pushvalue(L, -3);
      batch_call(L, c, on_result);
    }
    lua_pop(L, 1);
  }
}

/*
 * client:calls_batch(ids [, opts]) -> results
 * results[i] is the calls list of ids[i], or an error object for it.
 * opts.concurrency (default 3) transfers at once; opts.on_result(i, calls,
 * requestId) or (i, nil, err) is called as each folder completes (an error
 * it raises aborts the batch and propagates).
 */
static int client_calls_batch(lua_State *L) {
  gong_client *c = client_check(L);
  int n, k, concurrency = 3, next = 1, done = 0, stop = 0, on_result = 0;
  const int ids = 2, results = 4, urls = 5;
  const char *why;
  luaL_checktype(L, ids, LUA_TTABLE);
  n = (int)lua_rawlen(L, ids);
  for (k = 1; k <= n; k++) {
    lua_rawgeti(L, ids, k);
    if (lua_type(L, -1) != LUA_TSTRING || lua_rawlen(L, -1) == 0)
      return error_raise(L, "argument", "calls_batch: ids[%d] must be a non-empty string (got %s)",
                         k, luaL_typename(L, -1));
    lua_pop(L, 1);
  }
  if (!lua_isnoneornil(L, 3)) {
    luaL_checktype(L, 3, LUA_TTABLE);
    lua_getfield(L, 3, "concurrency");
    if (!lua_isnil(L, -1)) {
      lua_Number v = lua_tonumber(L, -1);
      if (lua_type(L, -1) != LUA_TNUMBER || v < 1 || v > BATCH_MAX_CONCURRENCY || v != floor(v))
        return error_raise(L, "argument", "calls_batch: concurrency must be an integer from 1 to %d",
                           BATCH_MAX_CONCURRENCY);
      concurrency = (int)v;
    }
    lua_getfield(L, 3, "on_result");
    if (!lua_isnil(L, -1) && lua_type(L, -1) != LUA_TFUNCTION)
      return error_raise(L, "argument", "calls_batch: on_result must be a function");
    lua_settop(L, 3);
  }
  lua_settop(L, 3);
  if (c->closed) return client_closed_error(L, "calls_batch");
  lua_createtable(L, n, 0); /* results */
  lua_createtable(L, n, 0); /* urls, built as transfers start */
  if (lua_type(L, 3) == LUA_TTABLE) {
    lua_getfield(L, 3, "on_result");
    if (lua_isnil(L, -1)) lua_pop(L, 1);
    else on_result = lua_gettop(L);
  }
  if (concurrency > n) concurrency = n;
  if (n == 0) {
    lua_settop(L, results);
    return 1;
  }
  if ((why = batch_prepare(c, concurrency)) != NULL)
    return error_raise(L, "config", "calls_batch: %s", why);

  while (done < n) {
    double now = clock_now(), wake = now + 1;
    int running = 0, queued, freed = 0;
    CURLMsg *msg;
    for (k = 0; k < concurrency; k++) {
      batch_slot *s = c->pool[k];
      double delay;
      if (s->running) continue;
      if (s->index == 0) {
        if (next > n || stop) continue;
        s->index = next++;
        s->attempts = 0;
        s->not_before = 0;
      }
      if (s->not_before > now) {
        if (s->not_before < wake) wake = s->not_before;
        continue;
      }
      delay = ratelimit_delay(&c->rate, now);
      if (delay > 0) {
        if (now + delay < wake) wake = now + delay;
        break;
      }
      if (batch_start(L, c, s, ids, urls) != CURLM_OK) {
        attempt a;
        transfer_end(&s->t, CURLE_FAILED_INIT, &a);
        stop |= batch_finish(L, c, s, &a, urls, results, on_result);
        done++;
      }
    }
    if (curl_multi_perform(c->multi, &running) != CURLM_OK) {
      batch_detach(c);
      return error_raise(L, "network", "calls_batch: libcurl multi interface failed");
    }
    while ((msg = curl_multi_info_read(c->multi, &queued)) != NULL) {
      batch_slot *s = NULL;
      attempt a;
      double wait;
      if (msg->msg != CURLMSG_DONE) continue;
      curl_easy_getinfo(msg->easy_handle, CURLINFO_PRIVATE, (char **)&s);
      curl_multi_remove_handle(c->multi, s->t.curl);
      s->running = 0;
      freed = 1;
      transfer_end(&s->t, msg->data.result, &a);
      wait = retry_wait(&c->retry, &a, &s->t, s->attempts);
      if (wait >= 0) {
        s->not_before = clock_now() + wait;
        continue;
      }
      stop |= batch_finish(L, c, s, &a, urls, results, on_result);
      done++;
    }
    if (stop && next <= n) {
      /* Transfers under way finish; nothing new starts. */
      done += n - next + 1;
      batch_give_up(L, c, n, &next, results, on_result);
    }
    if (done < n && !freed) {
      /* Sleep until a transfer moves, a retry is due or the limiter allows a start. */
      double wait_ms = (wake - clock_now()) * 1000;
      int timeout = wait_ms <= 0 ? 0 : wait_ms >= 1000 ? 1000 : (int)wait_ms + 1;
      curl_multi_poll(c->multi, NULL, 0, timeout, NULL);
    }
  }
  lua_settop(L, results);
  return 1;
}
