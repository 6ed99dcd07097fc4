/*
 * What 429s teach the rate window: the one rule, for every engine and every
 * scope (step.c reports each 429 here; the window, in memory or in the state
 * file of rate_scope "host", and gong.resty's through core.rate_window, ask
 * here for the rate to keep).
 *
 * A tenant's rate is shared with its other integrations, so the configured
 * rate can be more than is left. A 429 says so: the rate is cut to half of
 * what it was, and a Retry-After pauses every start until then, not only the
 * refused request's. One cut per episode: the 429s of requests started
 * before the cut were sent too fast already and say nothing new.
 *
 * The rate then comes back with time (starts only happen at the rate, so time
 * is answers coming back): fast up to a threshold, 60 % of the rate that was
 * refused (like TCP's slow start threshold), then slowly, probing how much is
 * left, up to the configured rate. The speeds are fractions of the configured
 * rate, so the recovery takes as long at any rate: 6 s up to the threshold at
 * most, 200 s from nothing to the configured rate past it.
 *
 * The day's count of starts lives here too: Gong allows a tenant 10,000
 * requests a day, and the shared state counts this machine's.
 */
#include <time.h>

/* The lowest rate a cut goes to (never above the configured rate). */
#define RATEADAPT_FLOOR 0.1
/* A cut keeps this much of the rate refused... */
#define RATEADAPT_CUT 0.5
/* ...and the fast recovery stops at this much of it. */
#define RATEADAPT_THRESHOLD 0.6
/* Recovery speeds, in configured rates per second. */
#define RATEADAPT_FAST (1.0 / 6)
#define RATEADAPT_SLOW (1.0 / 200)

/* The UTC day of now, in days since 1970-01-01: Gong's daily limit counts by UTC days. */
static long rateadapt_day(void) {
  return (long)(time(NULL) / 86400);
}

/* The rate to keep at `now` (monotonic seconds), for a client configured at `configured`. */
static double rateadapt_rate(const rate_adapt *a, double configured, double now) {
  double rate = a->rate, since = a->until > a->cut_at ? a->until : a->cut_at, t = now - since;
  double fast = configured * RATEADAPT_FAST, slow = configured * RATEADAPT_SLOW;
  if (!(rate > 0) || rate >= configured) return configured;
  if (t < 0) t = 0;
  if (rate < a->threshold) {
    double need = (a->threshold - rate) / fast;
    if (t <= need) return rate + fast * t;
    rate = a->threshold;
    t -= need;
  }
  rate += slow * t;
  return rate < configured ? rate : configured;
}

/* Notes a 429 to a request started at `started`, answered at `at`, with Retry-After `retry_after` (< 0: none). */
static void rateadapt_refused(rate_refusal *p, double started, double at, double retry_after) {
  if (!p->pending || started < p->started) p->started = started;
  if (!p->pending || at > p->at) p->at = at;
  if (retry_after >= 0 && at + retry_after > p->until) p->until = at + retry_after;
  p->pending = 1;
}

/*
 * Applies the refusals noted in `p` (then forgotten) to `a`, for a client
 * configured at `configured`: returns whether `a` changed.
 */
static int rateadapt_merge(rate_adapt *a, rate_refusal *p, double configured) {
  int changed = 0;
  if (!p->pending) return 0;
  if (p->started >= a->cut_at) {
    double rate = rateadapt_rate(a, configured, p->at), floor = configured < RATEADAPT_FLOOR ? configured
                                                                                            : RATEADAPT_FLOOR;
    a->threshold = rate * RATEADAPT_THRESHOLD > floor ? rate * RATEADAPT_THRESHOLD : floor;
    a->rate = rate * RATEADAPT_CUT > floor ? rate * RATEADAPT_CUT : floor;
    a->cut_at = p->at;
    changed = 1;
  }
  if (p->until > a->until) {
    a->until = p->until;
    changed = 1;
  }
  memset(p, 0, sizeof *p);
  return changed;
}

/* Counts a start in the day's count, a new day starting from none. */
static void rateadapt_count(rate_adapt *a) {
  long day = rateadapt_day();
  if (a->day != day) {
    a->day = day;
    a->today = 0;
  }
  if (a->today < RATEADAPT_MAX_TODAY) a->today++;
}

/* The starts counted today (none when the count is of another day). */
static long rateadapt_today(const rate_adapt *a) {
  return a->day == rateadapt_day() ? a->today : 0;
}

/*
 * The state file's line for `a` (RATESTATE_META_LEN bytes, no NUL): every
 * field zero-padded to a fixed width, so that a line cut short by a crash
 * is told from a whole one.
 */
static void rateadapt_format(const rate_adapt *a, char *p) {
  char tmp[RATESTATE_META_LEN + 1];
  snprintf(tmp, sizeof tmp, RATESTATE_META_FORMAT, a->rate, a->threshold, a->cut_at, a->until, a->day, a->today);
  memcpy(p, tmp, RATESTATE_META_LEN);
}

/* Reads the line at `p` (RATESTATE_META_LEN bytes) into `a`: 0, or -1 when it is not one. */
static int rateadapt_parse(const char *p, rate_adapt *a) {
  char line[RATESTATE_META_LEN + 1], again[RATESTATE_META_LEN + 1];
  memcpy(line, p, RATESTATE_META_LEN);
  line[RATESTATE_META_LEN] = '\0';
  if (sscanf(line, "%lf %lf %lf %lf %ld %ld", &a->rate, &a->threshold, &a->cut_at, &a->until, &a->day,
             &a->today) != 6)
    return -1;
  if (!(a->rate >= 0 && a->rate <= RATELIMIT_MAX_CAP && a->threshold >= 0 && a->threshold <= RATELIMIT_MAX_CAP &&
        a->cut_at >= 0 && a->cut_at < 1e10 && a->until >= 0 && a->until < 1e10 && a->day >= 0 && a->day < 1000000 &&
        a->today >= 0 && a->today <= RATEADAPT_MAX_TODAY))
    return -1;
  /* Exactly the line this file writes, nothing else sscanf would take. */
  snprintf(again, sizeof again, RATESTATE_META_FORMAT, a->rate, a->threshold, a->cut_at, a->until, a->day,
           a->today);
  return memcmp(line, again, RATESTATE_META_LEN) == 0 ? 0 : -1;
}
