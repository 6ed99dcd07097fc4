/*
 * LD_PRELOAD shim for the instruction counts (bench.lua): time() returns
 * $BENCH_TIME. Lua seeds its string hashes from the clock at every start, and
 * the cost of interning moves with the seed by about ±1 %; with the time
 * fixed, a count is the same in every run, and a few chosen times stand for
 * the spread of seeds.
 */
#include <stdlib.h>
#include <time.h>

time_t time(time_t *t) {
  const char *s = getenv("BENCH_TIME");
  time_t v = s != NULL ? (time_t)strtoll(s, NULL, 10) : 0;
  if (t != NULL) *t = v;
  return v;
}
