/*
 * Signals, for a command-line host that asks for them (a library must not
 * take a process's signals unasked): core.catch_signals() makes the first
 * SIGINT raise "interrupted!" in Lua at the next instruction, as lua.c does,
 * so the program can clean up and report; a second SIGINT, SIGTERM and
 * SIGHUP end the process as their default action would (status 130, 143,
 * 129 in a shell), but first remove the files named by core.guard_file.
 * That is how a temporary output file never outlives its process, however
 * it is stopped (short of SIGKILL).
 *
 * Signals are process-wide and a handler can reach nothing but statics, so
 * the state below is the one exception to "no C globals" besides libcurl's
 * global init. The guard list is only changed with those signals blocked.
 */
#include <errno.h>
#include <signal.h>
#include <unistd.h>

#define SIGNALS_MAX_GUARDED 16

static volatile sig_atomic_t signals_interrupts;
static lua_State *signals_L; /* the state that asked; its hook raises "interrupted!" */
static char *signals_guarded[SIGNALS_MAX_GUARDED];

/*
 * An interrupt watch, taken when a wait begins: the wait (a transfer, a rate
 * limit or retry sleep, a batch) ends early when an interrupt arrives. That
 * is our own SIGINT (the flag above), or a hook set on the state since the
 * watch began: lua.c and luajit.c answer SIGINT by setting a count hook of 1
 * that raises "interrupted!" at the next instruction, which only runs once
 * control is back in Lua. A signal interrupts the blocking system call
 * (poll, nanosleep) of the main thread, so the check comes at once.
 */
typedef struct interrupt_watch {
  lua_State *L;
  lua_Hook hook;
  int mask, count;
  int seen; /* an interrupt was seen: stays so */
} interrupt_watch;

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
  if (signals_interrupts > 0 ||
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

/* The hook set by the first SIGINT: raises the interpreter's own interrupt error. */
static void signals_stop(lua_State *L, lua_Debug *ar) {
  (void)ar;
  lua_sethook(L, NULL, 0, 0);
  luaL_error(L, "interrupted!");
}

/* Removes every guarded file; unlink is async-signal-safe. */
static void signals_unlink_guarded(void) {
  int i;
  for (i = 0; i < SIGNALS_MAX_GUARDED; i++)
    if (signals_guarded[i] != NULL) unlink(signals_guarded[i]);
}

static void signals_handle(int sig) {
  if (sig == SIGINT && signals_interrupts++ == 0 && signals_L != NULL) {
    lua_sethook(signals_L, signals_stop, LUA_MASKCALL | LUA_MASKRET | LUA_MASKCOUNT, 1);
    return;
  }
  signals_unlink_guarded();
  signal(sig, SIG_DFL);
  raise(sig);
}

/* Blocks (how = SIG_BLOCK) or unblocks the signals handled here. */
static void signals_mask(int how) {
  sigset_t set;
  sigemptyset(&set);
  sigaddset(&set, SIGINT);
  sigaddset(&set, SIGTERM);
  sigaddset(&set, SIGHUP);
  sigprocmask(how, &set, NULL);
}

/* core.catch_signals(): SIGINT, SIGTERM and SIGHUP as described above, for this state. */
static int signals_catch(lua_State *L) {
  struct sigaction sa;
  memset(&sa, 0, sizeof sa);
  sa.sa_handler = signals_handle;
  sigemptyset(&sa.sa_mask);
  signals_L = L;
  signals_interrupts = 0;
  if (sigaction(SIGINT, &sa, NULL) != 0 || sigaction(SIGTERM, &sa, NULL) != 0 ||
      sigaction(SIGHUP, &sa, NULL) != 0)
    return error_raise(L, "config", "catch_signals: %s", strerror(errno));
  return 0;
}

/* core.guard_file(path): removes `path` if a signal ends the process. Raises when full. */
static int signals_guard(lua_State *L) {
  const char *path = luaL_checkstring(L, 1);
  char *copy = strdup(path);
  int i, slot = -1;
  if (copy == NULL) return luaL_error(L, "gong: out of memory");
  signals_mask(SIG_BLOCK);
  for (i = 0; i < SIGNALS_MAX_GUARDED && slot < 0; i++)
    if (signals_guarded[i] == NULL) slot = i;
  if (slot >= 0) signals_guarded[slot] = copy;
  signals_mask(SIG_UNBLOCK);
  if (slot < 0) {
    free(copy);
    return error_raise(L, "argument", "guard_file: more than %d files", SIGNALS_MAX_GUARDED);
  }
  return 0;
}

/* core.unguard_file(path): forgets `path` (it was renamed or removed). */
static int signals_unguard(lua_State *L) {
  const char *path = luaL_checkstring(L, 1);
  int i;
  signals_mask(SIG_BLOCK);
  for (i = 0; i < SIGNALS_MAX_GUARDED; i++) {
    if (signals_guarded[i] != NULL && strcmp(signals_guarded[i], path) == 0) {
      free(signals_guarded[i]);
      signals_guarded[i] = NULL;
    }
  }
  signals_mask(SIG_UNBLOCK);
  return 0;
}
