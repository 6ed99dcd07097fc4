/*
 * Ctrl-C ends any wait of gong's at once — a response, a retry's backoff,
 * the rate limiter, a driver's wait — under the plain `lua` interpreter as
 * in gong-library. A wait takes an interrupt watch when it begins (the type
 * is in private.h) and ends early once an interrupt has arrived: the CLI's
 * own SIGINT (signals.c), or a hook set on the state since the watch began:
 * lua.c and luajit.c answer SIGINT by setting a count hook of 1 that raises
 * "interrupted!" at the next instruction, which only runs once control is
 * back in Lua. A signal interrupts the blocking system call (poll,
 * nanosleep) of the main thread, so the check comes at once.
 */

/* Starts watching `L` for an interrupt. */
static void interrupt_watch_start(interrupt_watch *w, lua_State *L) {
  w->L = L;
  w->hook = lua_gethook(L);
  w->mask = lua_gethookmask(L);
  w->count = lua_gethookcount(L);
  w->seen = 0;
}

/* True once an interrupt has arrived since the watch began. */
static int interrupt_pending(interrupt_watch *w) {
  if (w->seen) return 1;
  if (signals_interrupted() ||
      (w->L != NULL && (lua_gethook(w->L) != w->hook || lua_gethookmask(w->L) != w->mask ||
                        lua_gethookcount(w->L) != w->count)))
    w->seen = 1;
  return w->seen;
}

/* Sleeps for `seconds` in slices, stopping early on an interrupt: returns 1 then. */
static int interrupt_sleep(interrupt_watch *w, double seconds) {
  double until = clock_now() + seconds, left;
  while (!interrupt_pending(w) && (left = until - clock_now()) > 0)
    clock_sleep(left < 0.1 ? left : 0.1);
  return interrupt_pending(w);
}

