/*
 * Client-side rate limiting as a sliding window: at most `cap` request starts
 * in any window of `window` seconds (cap = rate and window = 1 s for whole
 * rates, plus a small margin). A token bucket with burst = rate would allow
 * 2 x rate starts inside one second; this never does, retries included.
 *
 * The window is the client's own (rate_scope "client"), or shared by every
 * process of the user on the machine that talks to the same tenant
 * (rate_scope "host"): then its starts live in a state file (ratestate.c) in
 * a private directory (statedir.c).
 */

/*
 * Gong counts requests when they arrive, and arrival lags the start by a
 * varying few milliseconds (connection setup, network, server queues): two
 * starts exactly one window apart can land inside one window at the server.
 * Widening the window by this much keeps the server-side count within rate.
 */
#define RATELIMIT_MARGIN 0.05

/* The window of `rate` starts a second: cap starts in window seconds. */
static void ratelimit_shape(double rate, int *cap, double *window) {
  double whole = floor(rate);
  *cap = whole < 1 ? 1 : whole > RATELIMIT_MAX_CAP ? RATELIMIT_MAX_CAP : (int)whole;
  *window = (double)*cap / rate + RATELIMIT_MARGIN;
}

/*
 * Sets up a limiter for `rate` requests per second (rate <= 0: off).
 * Fractional rates work too: 0.5 allows one start every 2 s.
 * Returns 0 when out of memory.
 */
static int ratelimit_init(ratelimit *r, double rate) {
  double window;
  r->count = r->head = 0;
  r->starts = NULL;
  r->fd = -1;
  r->path = NULL;
  r->busy_since = 0;
  r->damaged = 0;
  r->patience = 0;
  r->why[0] = '\0';
  memset(&r->adapt, 0, sizeof r->adapt);
  memset(&r->refused, 0, sizeof r->refused);
  if (!(rate > 0)) {
    r->cap = 0;
    r->rate = 0;
    return 1;
  }
  r->rate = rate;
  /* The most starts a window holds: at the configured rate; a cut rate holds fewer. */
  ratelimit_shape(rate, &r->cap, &window);
  r->starts = (double *)calloc((size_t)r->cap, sizeof(double));
  return r->starts != NULL;
}

static void ratelimit_free(ratelimit *r) {
  free(r->starts);
  r->starts = NULL;
  r->cap = 0;
  /* A zeroed limiter (a client whose configuration failed early) has no file. */
  if (r->path != NULL) close(r->fd);
  r->fd = -1;
  free(r->path);
  r->path = NULL;
}

/*
 * Seconds to wait from `now` before the next start is allowed (0 = now),
 * at most `cap` starts (<= r->cap) in `window` seconds.
 */
static double ratelimit_delay(const ratelimit *r, double now, int cap, double window) {
  double until;
  if (r->count < cap) return 0;
  /* The cap-th latest start: once it leaves the window, one more fits. */
  until = r->starts[(r->head + r->count - cap) % r->cap] + window;
  return until > now ? until - now : 0;
}

/* Records a start at `now`, forgetting the oldest one once the window is full. */
static void ratelimit_record(ratelimit *r, double now) {
  if (r->count < r->cap) {
    r->starts[(r->head + r->count) % r->cap] = now;
    r->count++;
  } else {
    r->starts[r->head] = now;
    r->head = (r->head + 1) % r->cap;
  }
}

/*
 * Takes a start for now when the window allows it: returns 0 and counts the
 * start, or the seconds to wait before asking again, or -1 when the shared
 * state cannot be used (the message in r->why). The window keeps the rate
 * that 429s left (rateadapt.c), and none starts during a Retry-After.
 */
static double ratelimit_take(ratelimit *r, double now) {
  double delay, window;
  int cap;
  if (r->cap == 0) return 0;
  if (r->path != NULL) return ratestate_take(r);
  rateadapt_merge(&r->adapt, &r->refused, r->rate);
  if (now < r->adapt.until) return r->adapt.until - now;
  ratelimit_shape(rateadapt_rate(&r->adapt, r->rate, now), &cap, &window);
  delay = ratelimit_delay(r, now, cap, window);
  if (delay > 0) return delay;
  ratelimit_record(r, now);
  rateadapt_count(&r->adapt);
  return 0;
}

/*
 * Notes a 429 to a request started at `started`, answered at `at`: the next
 * take applies it, to the client's window or to the shared one.
 * `retry_after`: the seconds every start waits, < 0 for none.
 */
static void ratelimit_refused(ratelimit *r, double started, double at, double retry_after) {
  if (r->cap == 0) return;
  rateadapt_refused(&r->refused, started, at, retry_after);
}

/*
 * The starts counted today (UTC) in the window: for rate_scope "host" this
 * machine's to the tenant, read from the state file (as last read when
 * another process holds it just now).
 */
static long ratelimit_today(ratelimit *r) {
  if (r->path != NULL) ratestate_peek(r);
  return rateadapt_today(&r->adapt);
}

/*
 * Shares the limiter's window with every process of this user on this machine
 * that talks to the tenant named `tenant`: opens, or makes, its state file
 * (statedir.c) and checks that it is one. Returns NULL, or a message naming
 * the directory or the file. `patience`: how long another process may hold
 * the lock. When the usual directory was another user's, r->why holds the
 * warning to give after a NULL: where the state went instead, or that the
 * window stays the client's own.
 */
static const char *ratelimit_share(ratelimit *r, const char *tenant, double patience) {
  char file[PATH_MAX + 32];
  int fd;
  if (r->cap == 0) return NULL;
  fd = statedir_open(tenant, file, sizeof file, r->why, sizeof r->why);
  if (fd == -2) return NULL;
  if (fd < 0) return r->why;
  r->path = (char *)malloc(strlen(file) + 1);
  if (r->path == NULL) {
    close(fd);
    return "out of memory";
  }
  strcpy(r->path, file);
  r->fd = fd;
  /* Read it once now, under the lock, so a damaged file is replaced here. */
  r->patience = patience;
  return ratestate_check(r);
}

/*
 * core.rate_duration(rate, n) -> seconds: how long the limiter takes from
 * the first of n starts to the last at `rate` requests per second, its
 * margin included (0 for one start or none). What a plan of n requests
 * should expect, less the responses' latency.
 */
static int ratelimit_lua_duration(lua_State *L) {
  double rate = error_check_number(L, 1, "rate_duration", "rate"), window;
  double n = error_check_number(L, 2, "rate_duration", "n");
  int cap;
  if (!(rate > 0)) return error_raise(L, "argument", "rate_duration: rate must be > 0");
  ratelimit_shape(rate, &cap, &window);
  /* Starts go in windows of cap: start k (from 0) at floor(k / cap) windows. */
  lua_pushnumber(L, n <= 1 ? 0.0 : floor((floor(n) - 1) / cap) * window);
  return 1;
}

/* Checks rate_window's and rate_refused's arguments from index 1 on: the state (NULL for none) and its size. */
static const char *ratelimit_lua_state(lua_State *L, const char *fn, size_t *size, double *now, double *rate) {
  const char *state = lua_isnil(L, 1) ? NULL : error_check_string(L, 1, fn, "state", size);
  *now = error_check_number(L, 2, fn, "now");
  *rate = error_check_number(L, 3, fn, "rate");
  if (!(*rate > 0)) error_raise(L, "argument", "%s: rate must be > 0", fn);
  if (!(*now >= 0 && *now < 1e10)) error_raise(L, "argument", "%s: now must be seconds from 0 to 1e10", fn);
  if (state == NULL) *size = 0;
  return state;
}

/*
 * The state of `size` bytes at `state` parsed into a new userdata on the
 * stack (with room for what a step adds): the buffer, or NULL with nil and
 * a config error pushed when it is not a state.
 */
static char *ratelimit_lua_parse(lua_State *L, const char *state, size_t size, double now, int *n, rate_adapt *a) {
  char *buf;
  if (size > RATESTATE_MAX_BYTES) size = RATESTATE_MAX_BYTES + 1;
  buf = (char *)lua_newuserdatauv(L, RATESTATE_ROOM(size) + RATESTATE_PREFIX_LEN, 0);
  if (size > 0 && size <= RATESTATE_MAX_BYTES) memcpy(buf, state, size);
  if (ratestate_parse(buf, size, now, n, a) != 0) {
    lua_pushnil(L);
    error_push(L, "config", "not a gong rate state, or a damaged one");
    return NULL;
  }
  return buf;
}

/*
 * core.rate_window(state, now, rate) -> 0, new_state | delay | nil, err
 * The sliding window of a state kept elsewhere (gong.resty keeps it in an
 * nginx shared dict): `state` as this file's state files hold it (nil for
 * none yet), `now` in seconds on any clock all its users share. A start
 * that fits is recorded: 0 and the state to store. Otherwise the seconds to
 * wait before asking again (a rate cut by 429s, or a Retry-After: see
 * core.rate_refused). A state that is not one is a config error.
 */
static int ratelimit_lua_window(lua_State *L) {
  size_t size = 0;
  double now, rate, delay;
  const char *state = ratelimit_lua_state(L, "rate_window", &size, &now, &rate);
  rate_adapt a;
  rate_refusal none;
  int n;
  char *buf = ratelimit_lua_parse(L, state, size, now, &n, &a);
  if (buf == NULL) return 2;
  memset(&none, 0, sizeof none);
  delay = ratestate_step(buf, &n, &a, &none, rate, now);
  lua_pushnumber(L, delay);
  if (delay > 0) return 1;
  lua_pushlstring(L, buf, RATESTATE_PREFIX_LEN + (size_t)n * RATESTATE_RECORD_LEN);
  return 2;
}

/*
 * core.rate_refused(state, now, rate, started[, retry_after]) -> new_state | nil, err
 * The state after a 429 to a request started at `started` (on the clock of
 * `now`), with Retry-After `retry_after` seconds (nil: none): the rate cut
 * and the pause, as rateadapt.c rules for every window.
 */
static int ratelimit_lua_refused(lua_State *L) {
  size_t size = 0;
  double now, rate, started, retry_after = -1;
  const char *state = ratelimit_lua_state(L, "rate_refused", &size, &now, &rate);
  rate_adapt a;
  rate_refusal p;
  int n;
  char *buf;
  started = error_check_number(L, 4, "rate_refused", "started");
  if (!lua_isnoneornil(L, 5)) retry_after = error_check_number(L, 5, "rate_refused", "retry_after");
  buf = ratelimit_lua_parse(L, state, size, now, &n, &a);
  if (buf == NULL) return 2;
  memset(&p, 0, sizeof p);
  rateadapt_refused(&p, started, now, retry_after);
  rateadapt_merge(&a, &p, rate);
  ratestate_store(buf, &a);
  lua_pushlstring(L, buf, RATESTATE_PREFIX_LEN + (size_t)n * RATESTATE_RECORD_LEN);
  return 1;
}
