/*
 * Terminals, for the CLI: whether an output is one, and how many columns it
 * has, so that tables fit it and a progress line is drawn only on one.
 */
#include <sys/ioctl.h>

/*
 * core.terminal_columns(fd) -> columns | false
 * false when `fd` (1 for stdout, 2 for stderr) is not a terminal; the
 * number of columns when it is (0 when the terminal does not say).
 */
static int term_columns(lua_State *L) {
  int fd = (int)luaL_checkinteger(L, 1);
  struct winsize ws;
  if (!isatty(fd)) {
    lua_pushboolean(L, 0);
    return 1;
  }
  memset(&ws, 0, sizeof ws);
  lua_pushinteger(L, ioctl(fd, TIOCGWINSZ, &ws) == 0 ? (lua_Integer)ws.ws_col : 0);
  return 1;
}
