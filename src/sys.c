/*
 * What the CLI asks of the operating system besides files gong writes: what
 * a path is (stat: export writes through a symlink, judging each link it
 * follows as the kernel would, and refuses a directory or a device) and whether an output is a terminal and how wide,
 * so that tables fit it and a progress line is drawn only on one. Lua's own
 * libraries have none of these.
 */
#include <errno.h>
#include <fcntl.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <unistd.h>
#ifdef __GLIBC__
#include <malloc.h>
#endif

static const char *sys_type(mode_t mode) {
  return S_ISREG(mode) ? "file" : S_ISDIR(mode) ? "directory" : S_ISLNK(mode) ? "link"
       : S_ISFIFO(mode) ? "fifo" : S_ISCHR(mode) ? "character device" : S_ISBLK(mode) ? "block device"
       : S_ISSOCK(mode) ? "socket" : "unknown";
}

/* Pushes nil and the file error of `what` on `path`, which failed with errno; returns 2. */
static int sys_fail(lua_State *L, const char *path, const char *what) {
  int missing = errno == ENOENT;
  const char *detail = strerror(errno);
  lua_pushnil(L);
  if (missing) error_push(L, "file", "%s does not exist", path);
  else error_push(L, "file", "cannot %s %s: %s", what, path, detail);
  error_set_string(L, "path", path);
  error_set_string(L, "reason", missing ? "missing" : what);
  error_set_string(L, "detail", detail);
  return 2;
}

/* Pushes what the symlink at `path` (of `size` bytes, as lstat says) holds, or nil when it cannot be read. */
static void sys_push_link(lua_State *L, const char *path, off_t size) {
  size_t cap = size > 0 && size < PATH_MAX ? (size_t)size + 1 : PATH_MAX;
  char *buf = (char *)malloc(cap);
  ssize_t n = buf != NULL ? readlink(path, buf, cap) : -1;
  /* A link that grew since lstat is being changed under us: not read. */
  if (n >= 0 && (size_t)n < cap) lua_pushlstring(L, buf, (size_t)n);
  else lua_pushnil(L);
  free(buf);
}

/*
 * core.sys.stat(path [, follow]) -> {type, mode, uid, gid, size, mine [, target]} | nil, err
 * type: "file", "directory", "link" (only with follow = false), "fifo", ...;
 * mode: the permission bits, set-id and sticky bits included; mine: whether
 * it belongs to the user the process acts as (its effective uid); target:
 * what a link holds (a path, maybe relative to the link's directory).
 * Follows symlinks unless `follow` is false. A missing path is reason
 * "missing".
 */
static int sys_stat(lua_State *L) {
  const char *path = error_check_string(L, 1, "stat", "path", NULL);
  int follow = lua_isnoneornil(L, 2) || lua_toboolean(L, 2);
  struct stat st;
  if ((follow ? stat(path, &st) : lstat(path, &st)) != 0) return sys_fail(L, path, "stat");
  lua_createtable(L, 0, 7);
  lua_pushboolean(L, st.st_uid == geteuid());
  lua_setfield(L, -2, "mine");
  if (S_ISLNK(st.st_mode)) {
    sys_push_link(L, path, st.st_size);
    lua_setfield(L, -2, "target");
  }
  lua_pushstring(L, sys_type(st.st_mode));
  lua_setfield(L, -2, "type");
  lua_pushinteger(L, (lua_Integer)(st.st_mode & 07777));
  lua_setfield(L, -2, "mode");
  lua_pushinteger(L, (lua_Integer)st.st_uid);
  lua_setfield(L, -2, "uid");
  lua_pushinteger(L, (lua_Integer)st.st_gid);
  lua_setfield(L, -2, "gid");
  lua_pushinteger(L, (lua_Integer)st.st_size);
  lua_setfield(L, -2, "size");
  return 1;
}

/* core.sys.realpath(path) -> the absolute path without symlinks | nil, err */
static int sys_realpath(lua_State *L) {
  const char *path = error_check_string(L, 1, "realpath", "path", NULL);
  char *real = realpath(path, NULL);
  if (real == NULL) return sys_fail(L, path, "resolve");
  lua_pushstring(L, real);
  free(real);
  return 1;
}

/*
 * core.sys.terminal_columns(fd) -> columns | false
 * false when `fd` (1 for stdout, 2 for stderr) is not a terminal; the
 * number of columns when it is (0 when the terminal does not say).
 */
static int sys_terminal_columns(lua_State *L) {
  int fd = (int)error_check_number(L, 1, "terminal_columns", "fd");
  struct winsize ws;
  if (!isatty(fd)) {
    lua_pushboolean(L, 0);
    return 1;
  }
  memset(&ws, 0, sizeof ws);
  lua_pushinteger(L, ioctl(fd, TIOCGWINSZ, &ws) == 0 ? (lua_Integer)ws.ws_col : 0);
  return 1;
}

/*
 * core.sys.std_fds() -> { fd, ... }: makes sure descriptors 0, 1 and 2 are
 * open, before anything else opens a file: a program started with one
 * closed (`cmd >&-`) would otherwise find the next file it opens there, and
 * write its output into it. Each closed one gets /dev/null, read-only, so
 * that reading stdin finds nothing and writing stdout or stderr fails (as
 * GNU's stdopen does) rather than vanishing. Returns those it opened. They
 * are left without close-on-exec: they are a child's standard ones too.
 */
static int sys_std_fds(lua_State *L) {
  int fd, n = 0;
  lua_createtable(L, 3, 0);
  for (fd = 0; fd <= 2; fd++) {
    int opened;
    if (fcntl(fd, F_GETFD) != -1 || errno != EBADF) continue;
    /* The lowest free descriptor is fd itself: those below it are open now. */
    opened = open("/dev/null", O_RDONLY | O_NOCTTY);
    if (opened < 0) return sys_fail(L, "/dev/null", "open");
    if (opened != fd) {
      int moved = dup2(opened, fd);
      close(opened);
      if (moved < 0) return sys_fail(L, "/dev/null", "open");
    }
    lua_pushinteger(L, fd);
    lua_rawseti(L, -2, ++n);
  }
  return 1;
}

/*
 * core.sys.stdout_failed() -> boolean: whether a write to the process's
 * standard output (Lua's io.stdout is C's stdout) has failed since it began,
 * a failure a later flush no longer reports (the C library drops what it
 * could not write).
 */
static int sys_stdout_failed(lua_State *L) {
  lua_pushboolean(L, ferror(stdout) != 0);
  return 1;
}

/*
 * core.sys.release_memory(): hands the C library's free memory back to the
 * operating system (glibc's malloc_trim; nothing elsewhere). Freed blocks
 * otherwise stay resident wherever a live one sits above them.
 */
static int sys_release_memory(lua_State *L) {
  (void)L;
#ifdef __GLIBC__
  malloc_trim(0);
#endif
  return 0;
}
