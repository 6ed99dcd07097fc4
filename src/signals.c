/*
 * Signals, for a command-line host that asks for them (a library must not
 * take a process's signals unasked): core.sys.catch_signals() makes the first
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

/* True once SIGINT has been caught (by catch_signals' handler): every wait then ends (interrupt.c). */
static int signals_interrupted(void) {
  return signals_interrupts > 0;
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

/* core.sys.catch_signals(): SIGINT, SIGTERM and SIGHUP as described above, for this state. */
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

/* core.sys.guard_file(path): removes `path` if a signal ends the process. Raises when full. */
static int signals_guard(lua_State *L) {
  const char *path = error_check_string(L, 1, "guard_file", "path", NULL);
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

/* core.sys.unguard_file(path): forgets `path` (it was renamed or removed). */
static int signals_unguard(lua_State *L) {
  const char *path = error_check_string(L, 1, "unguard_file", "path", NULL);
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
