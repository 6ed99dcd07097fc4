/*
 * Time for timeouts, backoff and the rate limiter: a monotonic clock that
 * wall-clock jumps cannot disturb, and a sleep.
 */
#include <errno.h>
#include <time.h>

/* Seconds on the monotonic clock, with sub-microsecond resolution. */
static double clock_now(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/*
 * Sleeps for up to `seconds` (nothing for zero or less). A signal ends the
 * sleep early: callers sleep in slices and look for interrupts (signals.c).
 */
static void clock_sleep(double seconds) {
  struct timespec req;
  if (!(seconds > 0)) return;
  req.tv_sec = (time_t)seconds;
  req.tv_nsec = (long)((seconds - (double)req.tv_sec) * 1e9);
  if (req.tv_nsec >= 1000000000L) req.tv_nsec = 999999999L;
  nanosleep(&req, NULL);
}
