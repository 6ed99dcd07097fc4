/*
 * Many requests at once: up to `concurrency` transfers on a libcurl multi
 * handle (HTTP/2 multiplexing when the server offers it, connection reuse
 * otherwise), every start under one rate limiter and every failure under one
 * retry policy, each outcome reported as it completes. The engine knows
 * nothing of clients: a batch_job says what to run and under which rules.
 */

#define BATCH_MAX_CONCURRENCY 64
#define BATCH_DEFAULT_CONCURRENCY 3

/* How a batch ended. */
enum { BATCH_DONE, BATCH_INTERRUPTED, BATCH_FAILED, BATCH_RATE_FAILED, BATCH_AUTH_FAILED };

typedef struct batch_slot {
  transfer t;        /* first member: CURLOPT_PRIVATE points here */
  int index;         /* 1-based position in the job's URLs, 0 when idle */
  int attempts;
  int renewed;       /* the token was renewed for this request after a 401 */
  int running;       /* added to the multi handle */
  double not_before; /* earliest start of the next attempt (retry wait) */
} batch_slot;

/* A multi handle and its easy handles, created on first use and kept. */
typedef struct batch_pool {
  CURLM *multi;
  batch_slot *slots[BATCH_MAX_CONCURRENCY]; /* allocated one by one: libcurl points into them */
  int size;
} batch_pool;

/*
 * One batch: n requests of the same endpoint. Stack indexes of the Lua side:
 * `urls` a table of the URLs, or 0 when all go to the one URL at `url`;
 * `bodies` a table of the request bodies (Lua tables, JSON-encoded for each
 * attempt) for a POST endpoint, else 0; `encoded` keeps each encoded body
 * alive while libcurl sends it; for a paged endpoint, `pages` and
 * `page_ids` gather each request's records and request ids over its pages.
 */
typedef struct batch_job {
  CURL *model; /* the handle whose configuration every slot copies */
  const transfer_limits *limits;
  ratelimit *rate;
  retry_policy *retry;
  token_source *token;    /* a token function's, asked between transfers */
  interrupt_watch *watch; /* an interrupt ends the batch */
  lua_Integer *requests;  /* counts every attempt started */
  const endpoint *ep;
  size_t base_len; /* of the base URL in every URL */
  int state, urls, url, bodies, encoded, pages, page_ids, results;
  int on_result;     /* 0 when there is none */
  int stop_on_error; /* the first failure ends the batch */
  int n, concurrency;
} batch_job;

/* What a finished attempt of a slot leads to. */
enum { BATCH_STOP, BATCH_GO_ON, BATCH_NEXT_PAGE };

/* Detaches any transfer still on the multi handle (after an aborted batch). */
static void batch_detach(batch_pool *p) {
  int k;
  for (k = 0; k < p->size; k++) {
    if (p->slots[k]->running) curl_multi_remove_handle(p->multi, p->slots[k]->t.curl);
    p->slots[k]->running = 0;
    p->slots[k]->index = 0;
  }
}

/* Frees the multi handle and the slots; idempotent. */
static void batch_pool_free(batch_pool *p) {
  int k;
  batch_detach(p);
  for (k = 0; k < p->size; k++) {
    transfer_free(&p->slots[k]->t);
    free(p->slots[k]);
    p->slots[k] = NULL;
  }
  p->size = 0;
  if (p->multi != NULL) curl_multi_cleanup(p->multi);
  p->multi = NULL;
}

/*
 * Makes sure the pool has a multi handle and `n` easy handles, each a copy
 * of `model`'s configuration. Returns NULL or a message.
 */
static const char *batch_prepare(batch_pool *p, const batch_job *job) {
  int k;
  if (p->multi == NULL) {
    p->multi = curl_multi_init();
    if (p->multi == NULL) return "libcurl could not create a multi handle";
    if (curl_multi_setopt(p->multi, CURLMOPT_PIPELINING, (long)CURLPIPE_MULTIPLEX) != CURLM_OK)
      return "libcurl refused CURLMOPT_PIPELINING";
  }
  batch_detach(p);
  for (k = p->size; k < job->concurrency; k++) {
    batch_slot *s = (batch_slot *)calloc(1, sizeof *s);
    if (s == NULL) return "out of memory";
    p->slots[k] = s;
    p->size = k + 1;
    s->t.limits = job->limits;
    s->t.curl = curl_easy_duphandle(job->model);
    if (s->t.curl == NULL) return "libcurl could not copy the handle";
    if (transfer_bind(&s->t) != CURLE_OK) return "libcurl refused a callback";
  }
  return NULL;
}

/* Pushes the URL of request `index`. */
static void batch_push_url(lua_State *L, const batch_job *job, int index) {
  if (job->urls) lua_rawgeti(L, job->urls, index);
  else lua_pushvalue(L, job->url);
}

/*
 * Encodes the body of request `index` (its cursor included) with the private
 * cjson instance and keeps the string in job->encoded; returns it, or NULL for
 * a GET endpoint.
 */
static const char *batch_body(lua_State *L, const batch_job *job, int index, size_t *len) {
  const char *body;
  if (!job->bodies) return NULL;
  lua_rawgeti(L, job->state, STATE_ENCODE);
  lua_rawgeti(L, job->bodies, index);
  lua_call(L, 1, 1);
  body = lua_tolstring(L, -1, len);
  lua_rawseti(L, job->encoded, index);
  return body;
}

/* Starts the next attempt of slot `s`. */
static CURLMcode batch_start(lua_State *L, batch_pool *p, const batch_job *job, batch_slot *s) {
  CURLcode rc;
  CURLMcode mc;
  size_t len = 0;
  const char *body = batch_body(L, job, s->index, &len);
  batch_push_url(L, job, s->index);
  s->attempts++; /* its start was counted when the limiter allowed it */
  (*job->requests)++;
  rc = transfer_begin(&s->t, lua_tostring(L, -1), body, len);
  lua_pop(L, 1);
  if (rc != CURLE_OK) return CURLM_BAD_EASY_HANDLE;
  mc = curl_multi_add_handle(p->multi, s->t.curl);
  s->running = mc == CURLM_OK;
  return mc;
}

/*
 * Calls on_result with the three values on top of the stack, popping them.
 * Returns 0 when it returned false (stop the batch). An error it raises
 * first unwinds the batch, then propagates.
 */
static int batch_call(lua_State *L, batch_pool *p, const batch_job *job) {
  int go_on;
  lua_pushvalue(L, job->on_result);
  lua_insert(L, -4);
  if (lua_pcall(L, 3, 1, 0) != 0) {
    batch_detach(p);
    lua_error(L);
  }
  go_on = !(lua_type(L, -1) == LUA_TBOOLEAN && !lua_toboolean(L, -1));
  lua_pop(L, 1);
  return go_on;
}

/* Appends the value on top (popped) to the list at t[index] (made when missing). */
static void batch_append_one(lua_State *L, int t, int index) {
  lua_rawgeti(L, t, index);
  if (lua_isnil(L, -1)) {
    lua_pop(L, 1);
    lua_newtable(L);
    lua_pushvalue(L, -1);
    lua_rawseti(L, t, index);
  }
  lua_insert(L, -2);
  lua_rawseti(L, -2, (lua_Integer)lua_rawlen(L, -2) + 1);
  lua_pop(L, 1);
}

/* Appends the items of the list at `from` to the list at t[index] (made when missing). */
static void batch_append(lua_State *L, int t, int index, int from) {
  size_t i, n = lua_rawlen(L, from), at;
  from = lua_absindex(L, from);
  lua_rawgeti(L, t, index);
  if (lua_isnil(L, -1)) {
    lua_pop(L, 1);
    lua_createtable(L, (int)n, 0);
    lua_pushvalue(L, -1);
    lua_rawseti(L, t, index);
  }
  at = lua_rawlen(L, -1);
  for (i = 1; i <= n; i++) {
    lua_rawgeti(L, from, (lua_Integer)i);
    lua_rawseti(L, -2, (lua_Integer)(at + i));
  }
  lua_pop(L, 1);
}

/*
 * Takes the outcome of slot `s`'s attempt. A page with a cursor has its
 * records kept and the next page asked for (BATCH_NEXT_PAGE). Otherwise the
 * final outcome goes to results[index] and to on_result(index, list_or_nil,
 * requestId_or_err) (for a paged endpoint: the records of every page and the
 * list of their request ids); BATCH_STOP when on_result asked to stop, or
 * when a failure ends a stop_on_error batch.
 */
static int batch_finish(lua_State *L, batch_pool *p, const batch_job *job, batch_slot *s,
                        const attempt *a) {
  int top = lua_gettop(L), go_on = 1, failed;
  request_info r;
  batch_push_url(L, job, s->index);
  r.ep = job->ep;
  r.urlidx = top + 1;
  r.base_len = job->base_len;
  r.attempts = s->attempts;
  outcome_push(L, job->state, &s->t, a, &r);
  /* stack: url, list|nil, requestId|err[, cursor|nil] */
  failed = lua_isnil(L, top + 2);
  if (job->ep->shape->paged && !failed) {
    batch_append(L, job->pages, s->index, top + 2);
    lua_pushvalue(L, top + 3);
    batch_append_one(L, job->page_ids, s->index);
    if (!lua_isnil(L, top + 4)) {
      lua_rawgeti(L, job->bodies, s->index);
      lua_pushvalue(L, top + 4);
      lua_setfield(L, -2, "cursor");
      lua_settop(L, top);
      s->attempts = 0;
      s->renewed = 0;
      s->not_before = 0;
      return BATCH_NEXT_PAGE;
    }
    lua_settop(L, top + 1);
    lua_rawgeti(L, job->pages, s->index);
    lua_rawgeti(L, job->page_ids, s->index);
  }
  lua_settop(L, top + 3);
  lua_pushvalue(L, failed ? -1 : -2);
  lua_rawseti(L, job->results, s->index);
  if (job->on_result) {
    lua_pushinteger(L, s->index);
    lua_pushvalue(L, -3);
    lua_pushvalue(L, -3);
    go_on = batch_call(L, p, job);
  }
  lua_settop(L, top);
  s->index = 0;
  return go_on && !(failed && job->stop_on_error) ? BATCH_GO_ON : BATCH_STOP;
}

/* Gives every URL not yet started the error that stopped the batch. */
static int batch_give_up(lua_State *L, batch_pool *p, const batch_job *job, int *next) {
  int go_on = 1;
  for (; *next <= job->n && go_on; (*next)++) {
    error_push(L, "rate_limited", "not attempted: the rate limit asks to wait longer than "
                                  "max_retry_wait");
    lua_pushvalue(L, -1);
    lua_rawseti(L, job->results, *next);
    if (job->on_result) {
      lua_pushinteger(L, *next);
      lua_pushnil(L);
      lua_pushvalue(L, -3);
      go_on = batch_call(L, p, job);
    }
    lua_pop(L, 1);
  }
  return go_on;
}

/*
 * Runs the job: results[i] becomes the outcome for urls[i] (its list, or an
 * error object). When on_result returns false the batch ends at once: the
 * transfers under way are dropped and the results not finished stay nil; an
 * interrupt ends it the same way. Returns BATCH_DONE, BATCH_INTERRUPTED,
 * BATCH_RATE_FAILED when the rate limiter's shared state failed (its message
 * in job->rate->why), BATCH_AUTH_FAILED when the token function failed (its
 * error on top of the stack), or BATCH_FAILED with a message in *why when libcurl's
 * multi interface failed.
 */
static int batch_run(lua_State *L, batch_pool *p, const batch_job *job, const char **why) {
  int k, next = 1, done = 0, halted = 0, stopped = 0;
  if (job->n == 0) return BATCH_DONE;
  if ((*why = batch_prepare(p, job)) != NULL) return BATCH_FAILED;
  for (k = 0; k < job->concurrency; k++) p->slots[k]->t.watch = job->watch;

  while (done < job->n && !stopped) {
    double now = clock_now(), wake = now + 1;
    int running = 0, queued, freed = 0;
    CURLMsg *msg;
    for (k = 0; k < job->concurrency && !stopped; k++) {
      batch_slot *s = p->slots[k];
      double delay;
      if (s->running) continue;
      if (s->index == 0) {
        if (next > job->n || halted) continue;
        s->index = next++;
        s->attempts = 0;
        s->renewed = 0;
        s->not_before = 0;
      }
      if (s->not_before > now) {
        if (s->not_before < wake) wake = s->not_before;
        continue;
      }
      delay = ratelimit_take(job->rate, now);
      if (delay < 0) {
        batch_detach(p);
        return BATCH_RATE_FAILED;
      }
      if (delay > 0) {
        if (now + delay < wake) wake = now + delay;
        break;
      }
      if (!token_current(L, job->token)) {
        batch_detach(p);
        return BATCH_AUTH_FAILED;
      }
      token_apply(job->token, s->t.curl, &s->t.token_gen);
      if (batch_start(L, p, job, s) != CURLM_OK) {
        attempt a;
        transfer_end(&s->t, CURLE_FAILED_INIT, &a);
        done++;
        stopped = batch_finish(L, p, job, s, &a) == BATCH_STOP;
      }
    }
    if (stopped) break;
    if (curl_multi_perform(p->multi, &running) != CURLM_OK) {
      batch_detach(p);
      *why = "libcurl multi interface failed";
      return BATCH_FAILED;
    }
    while (!stopped && (msg = curl_multi_info_read(p->multi, &queued)) != NULL) {
      batch_slot *s = NULL;
      attempt a;
      double wait;
      if (msg->msg != CURLMSG_DONE) continue;
      curl_easy_getinfo(msg->easy_handle, CURLINFO_PRIVATE, (char **)&s);
      curl_multi_remove_handle(p->multi, s->t.curl);
      s->running = 0;
      freed = 1;
      transfer_end(&s->t, msg->data.result, &a);
      if (a.status == 401 && !s->renewed) {
        /* Once with a new token, asked for once for every transfer that used the old one. */
        int again = token_refused(L, job->token, s->t.token_gen);
        s->renewed = 1;
        if (again < 0) {
          batch_detach(p);
          return BATCH_AUTH_FAILED;
        }
        if (again) {
          s->not_before = 0;
          continue;
        }
      }
      wait = retry_wait(job->retry, &a, s->attempts);
      if (wait >= 0) {
        s->not_before = clock_now() + wait;
        continue;
      }
      halted |= retry_halts_everything(job->retry, &a);
      switch (batch_finish(L, p, job, s, &a)) {
      case BATCH_NEXT_PAGE:
        break; /* the slot keeps its request and asks for the next page */
      case BATCH_STOP:
        stopped = 1;
        done++;
        break;
      default:
        done++;
      }
    }
    if (!stopped && halted && next <= job->n) {
      /* Transfers under way finish; nothing new starts. */
      done += job->n - next + 1;
      stopped = !batch_give_up(L, p, job, &next);
    }
    if (!stopped && done < job->n && !freed) {
      /* Sleep until a transfer moves, a retry is due or the limiter allows a start. */
      double wait_ms = (wake - clock_now()) * 1000;
      int timeout = wait_ms <= 0 ? 0 : wait_ms >= 100 ? 100 : (int)wait_ms + 1;
      curl_multi_poll(p->multi, NULL, 0, timeout, NULL);
    }
    if (interrupt_pending(job->watch)) {
      batch_detach(p);
      return BATCH_INTERRUPTED;
    }
  }
  batch_detach(p);
  return BATCH_DONE;
}
