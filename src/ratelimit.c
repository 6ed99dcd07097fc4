/*
 * Client-side rate limiting as a sliding window: at most `cap` request starts
 * in any window of `window` seconds (cap = rate and window = 1 s for whole
 * rates, plus a small margin). A token bucket with burst = rate would allow 2 x rate starts inside
 * one second; this never does, retries included.
 */
#include <stdlib.h>

/*
 * Gong counts requests when they arrive, and arrival lags the start by a
 * varying few milliseconds (connection setup, network, server queues): two
 * starts exactly one window apart can land inside one window at the server.
 * Widening the window by this much keeps the server-side count within rate.
 */
#define RATELIMIT_MARGIN 0.05

typedef struct ratelimit {
  int cap;       /* starts allowed per window; 0 = limiter off */
  int count;     /* starts recorded so far, at most cap */
  int head;      /* index of the oldest recorded start */
  double window; /* seconds */
  double *starts;
} ratelimit;

/*
 * Sets up a limiter for `rate` requests per second (rate <= 0: off).
 * Fractional rates work too: 0.5 allows one start every 2 s.
 * Returns 0 when out of memory.
 */
static int ratelimit_init(ratelimit *r, double rate) {
  double whole = floor(rate);
  r->count = r->head = 0;
  r->starts = NULL;
  if (!(rate > 0)) {
    r->cap = 0;
    r->window = 0;
    return 1;
  }
  r->cap = whole < 1 ? 1 : whole > 10000 ? 10000 : (int)whole;
  r->window = (double)r->cap / rate + RATELIMIT_MARGIN;
  r->starts = (double *)calloc((size_t)r->cap, sizeof(double));
  return r->starts != NULL;
}

static void ratelimit_free(ratelimit *r) {
  free(r->starts);
  r->starts = NULL;
  r->cap = 0;
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
