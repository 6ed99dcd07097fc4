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
  r->count = r->head = 0;
  r->starts = NULL;
  r->fd = -1;
  r->path = NULL;
  r->busy_since = 0;
  r->damaged = 0;
  r->patience = 0;
  r->why[0] = '\0';
  if (!(rate > 0)) {
    r->cap = 0;
    r->window = 0;
    return 1;
  }
  ratelimit_shape(rate, &r->cap, &r->window);
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

/* Seconds to wait from `now` before the next start is allowed (0 = now). */
static double ratelimit_delay(const ratelimit *r, double now) {
  double until;
  if (r->cap == 0 || r->count < r->cap) return 0;
  until = r->starts[r->head] + r->window;
  return until > now ? until - now : 0;
}

/* Records a start at `now`, forgetting the oldest one once the window is full. */
static void ratelimit_record(ratelimit *r, double now) {
  if (r->cap == 0) return;
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
 * state cannot be used (the message in r->why).
 */
static double ratelimit_take(ratelimit *r, double now) {
  double delay;
  if (r->cap == 0) return 0;
  if (r->path != NULL) return ratestate_take(r);
  delay = ratelimit_delay(r, now);
  if (delay > 0) return delay;
  ratelimit_record(r, now);
  return 0;
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

/*
 * core.rate_window(state, now, rate) -> 0, new_state | delay | nil, err
 * The sliding window of a state kept elsewhere (gong.resty keeps it in an
 * nginx shared dict): `state` as this file's state files hold it (nil for
 * none yet), `now` in seconds on any clock all its users share. A start
 * that fits is recorded: 0 and the state to store. Otherwise the seconds to
 * wait before asking again. A state that is not one is a config error.
 */
static int ratelimit_lua_window(lua_State *L) {
  size_t size = 0;
  const char *state = lua_isnil(L, 1) ? NULL : error_check_string(L, 1, "rate_window", "state", &size);
  double now = error_check_number(L, 2, "rate_window", "now"), rate = error_check_number(L, 3, "rate_window", "rate");
  double window, delay;
  int cap, n;
  char *buf;
  if (!(rate > 0)) return error_raise(L, "argument", "rate_window: rate must be > 0");
  if (!(now >= 0 && now < 1e10)) return error_raise(L, "argument", "rate_window: now must be seconds from 0 to 1e10");
  ratelimit_shape(rate, &cap, &window);
  if (size > RATESTATE_MAX_BYTES) size = RATESTATE_MAX_BYTES + 1;
  buf = (char *)lua_newuserdatauv(L, size + RATESTATE_HEADER_LEN + RATESTATE_RECORD_LEN, 0);
  if (size > 0 && size <= RATESTATE_MAX_BYTES) memcpy(buf, state, size);
  if (ratestate_parse(buf, size, now, &n) != 0) {
    lua_pushnil(L);
    error_push(L, "config", "not a gong rate state, or a damaged one");
    return 2;
  }
  delay = ratestate_decide(buf, &n, now, cap, window);
  lua_pushnumber(L, delay);
  if (delay > 0) return 1;
  lua_pushlstring(L, buf, RATESTATE_HEADER_LEN + (size_t)n * RATESTATE_RECORD_LEN);
  return 2;
}

