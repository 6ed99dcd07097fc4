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
enum { BATCH_DONE, BATCH_INTERRUPTED, BATCH_FAILED };

typedef struct batch_slot {
  transfer t;        /* first member: CURLOPT_PRIVATE points here */
  int index;         /* 1-based position in the job's URLs, 0 when idle */
  int attempts;
  int running;       /* added to the multi handle */
  double not_before; /* earliest start of the next attempt (retry wait) */
} batch_slot;

/* A multi handle and its easy handles, created on first use and kept. */
typedef struct batch_pool {
  CURLM *multi;
  batch_slot *slots[BATCH_MAX_CONCURRENCY]; /* allocated one by one: libcurl points into them */
  int size;
} batch_pool;

/* One batch: the same endpoint for every URL, stack indexes of the Lua side. */
typedef struct batch_job {
  CURL *model; /* the handle whose configuration every slot copies */
  const transfer_limits *limits;
  ratelimit *rate;
  retry_policy *retry;
  interrupt_watch *watch; /* an interrupt ends the batch */
  lua_Integer *requests;  /* counts every attempt started */
  const endpoint *ep;
  size_t base_len;                     /* of the base URL in every URL */
  int state, urls, results, on_result; /* on_result is 0 when there is none */
  int n, concurrency;
} batch_job;

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

/* Starts the next attempt of slot `s`. */
static CURLMcode batch_start(lua_State *L, batch_pool *p, const batch_job *job, batch_slot *s) {
  CURLcode rc;
  CURLMcode mc;
  lua_rawgeti(L, job->urls, s->index);
  ratelimit_record(job->rate, clock_now());
  s->attempts++;
  (*job->requests)++;
  rc = transfer_begin(&s->t, lua_tostring(L, -1));
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

/*
 * Records the final outcome of slot `s` in results[index] and reports it to
 * on_result(index, list_or_nil, requestId_or_err). Returns 0 when on_result
 * asked to stop.
 */
static int batch_finish(lua_State *L, batch_pool *p, const batch_job *job, batch_slot *s,
                        const attempt *a) {
  int top = lua_gettop(L), go_on = 1;
  request_info r;
  lua_rawgeti(L, job->urls, s->index);
  r.ep = job->ep;
  r.urlidx = top + 1;
  r.base_len = job->base_len;
  r.attempts = s->attempts;
  outcome_push(L, job->state, &s->t, a, &r);
  /* stack: url, list|nil, requestId|err */
  lua_pushvalue(L, lua_isnil(L, -2) ? -1 : -2);
  lua_rawseti(L, job->results, s->index);
  if (job->on_result) {
    lua_pushinteger(L, s->index);
    lua_pushvalue(L, -3);
    lua_pushvalue(L, -3);
    go_on = batch_call(L, p, job);
  }
  lua_settop(L, top);
  s->index = 0;
  return go_on;
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
 * interrupt ends it the same way. Returns BATCH_DONE, BATCH_INTERRUPTED, or
 * BATCH_FAILED with a message in *why when libcurl's multi interface failed.
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
        s->not_before = 0;
      }
      if (s->not_before > now) {
        if (s->not_before < wake) wake = s->not_before;
        continue;
      }
      delay = ratelimit_delay(job->rate, now);
      if (delay > 0) {
        if (now + delay < wake) wake = now + delay;
        break;
      }
      if (batch_start(L, p, job, s) != CURLM_OK) {
        attempt a;
        transfer_end(&s->t, CURLE_FAILED_INIT, &a);
        done++;
        stopped = !batch_finish(L, p, job, s, &a);
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
      wait = retry_wait(job->retry, &a, s->attempts);
      if (wait >= 0) {
        s->not_before = clock_now() + wait;
        continue;
      }
      halted |= retry_halts_everything(job->retry, &a);
      done++;
      stopped = !batch_finish(L, p, job, s, &a);
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
