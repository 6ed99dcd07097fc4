/*
 * Files: a credentials file must be the user's own and closed to everyone
 * else before a byte of it is used (the checks are made with fstat on the
 * descriptor that is then read, so the file judged is the file read; a
 * symlink is judged by its target, as it is what gets read). And what the
 * CLI needs to replace an output file faithfully: stat, realpath, chmod and
 * chown, which Lua's io library does not have.
 */
#include <limits.h>
#include <stdlib.h>
#include <errno.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

/* Larger than any credentials file; a guard against reading /dev/zero forever. */
#define FS_PRIVATE_MAX (1024 * 1024)

/* Writes the mode of `st` as `ls -l` shows it ("-rw-r-----") into out[11]. */
static void fs_mode_string(const struct stat *st, char out[11]) {
  static const char rwx[] = "rwxrwxrwx";
  int i;
  out[0] = S_ISREG(st->st_mode) ? '-' : S_ISDIR(st->st_mode) ? 'd' : S_ISFIFO(st->st_mode) ? 'p'
         : S_ISLNK(st->st_mode) ? 'l' : S_ISCHR(st->st_mode) ? 'c' : S_ISBLK(st->st_mode) ? 'b'
         : S_ISSOCK(st->st_mode) ? 's' : '?';
  for (i = 0; i < 9; i++) out[i + 1] = (st->st_mode & (0400 >> i)) ? rwx[i] : '-';
  out[10] = '\0';
}

/* Pushes nil, `reason` and `detail` (a string, or nothing when NULL); returns their count. */
static int fs_refuse(lua_State *L, int fd, const char *reason, const char *detail) {
  if (fd >= 0) close(fd);
  lua_pushnil(L);
  lua_pushstring(L, reason);
  if (detail == NULL) return 2;
  lua_pushstring(L, detail);
  return 3;
}

/*
 * core.read_private_file(path) -> contents | nil, reason [, detail]
 * Reads a regular file or a pipe that this user owns and that group and
 * others have no permission on. Reasons: "open" and "read" (detail: the
 * system's message), "type", "owner" (detail: the owner's uid), "mode"
 * (detail: the mode as ls shows it), "size".
 */
static int fs_read_private_file(lua_State *L) {
  const char *path = luaL_checkstring(L, 1);
  struct stat st;
  luaL_Buffer b;
  size_t total = 0;
  int fd = open(path, O_RDONLY | O_NOCTTY | O_CLOEXEC);
  if (fd < 0) return fs_refuse(L, -1, "open", strerror(errno));
  if (fstat(fd, &st) != 0) return fs_refuse(L, fd, "open", strerror(errno));
  if (!S_ISREG(st.st_mode) && !S_ISFIFO(st.st_mode)) return fs_refuse(L, fd, "type", NULL);
  if (st.st_uid != geteuid()) {
    lua_pushfstring(L, "%d", (int)st.st_uid);
    return fs_refuse(L, fd, "owner", lua_tostring(L, -1));
  }
  /* Set-id and sticky bits grant nothing by themselves; permissions do. */
  if (st.st_mode & (S_IRWXG | S_IRWXO)) {
    char mode[11];
    fs_mode_string(&st, mode);
    return fs_refuse(L, fd, "mode", mode);
  }
  luaL_buffinit(L, &b);
  for (;;) {
    char *dst = luaL_prepbuffer(&b);
    ssize_t n = read(fd, dst, LUAL_BUFFERSIZE);
    if (n < 0 && errno == EINTR && signals_interrupts == 0) continue;
    if (n < 0) return fs_refuse(L, fd, "read", strerror(errno));
    if (n == 0) break;
    total += (size_t)n;
    if (total > FS_PRIVATE_MAX) return fs_refuse(L, fd, "size", NULL);
    luaL_addsize(&b, (size_t)n);
  }
  close(fd);
  luaL_pushresult(&b);
  return 1;
}

static const char *fs_type(mode_t mode) {
  return S_ISREG(mode) ? "file" : S_ISDIR(mode) ? "directory" : S_ISLNK(mode) ? "link"
       : S_ISFIFO(mode) ? "fifo" : S_ISCHR(mode) ? "character device" : S_ISBLK(mode) ? "block device"
       : S_ISSOCK(mode) ? "socket" : "unknown";
}

/*
 * core.stat(path [, follow]) -> {type, mode, uid, gid} | nil, message
 * type: "file", "directory", "link" (only with follow = false), "fifo", ...;
 * mode: the permission bits, set-id and sticky bits included. Follows
 * symlinks unless `follow` is false.
 */
static int fs_stat(lua_State *L) {
  const char *path = luaL_checkstring(L, 1);
  int follow = lua_isnoneornil(L, 2) || lua_toboolean(L, 2);
  struct stat st;
  if ((follow ? stat(path, &st) : lstat(path, &st)) != 0) {
    lua_pushnil(L);
    lua_pushstring(L, strerror(errno));
    return 2;
  }
  lua_createtable(L, 0, 4);
  lua_pushstring(L, fs_type(st.st_mode));
  lua_setfield(L, -2, "type");
  lua_pushinteger(L, (lua_Integer)(st.st_mode & 07777));
  lua_setfield(L, -2, "mode");
  lua_pushinteger(L, (lua_Integer)st.st_uid);
  lua_setfield(L, -2, "uid");
  lua_pushinteger(L, (lua_Integer)st.st_gid);
  lua_setfield(L, -2, "gid");
  return 1;
}

/* core.realpath(path) -> the absolute path without symlinks | nil, message */
static int fs_realpath(lua_State *L) {
  char *real = realpath(luaL_checkstring(L, 1), NULL);
  if (real == NULL) {
    lua_pushnil(L);
    lua_pushstring(L, strerror(errno));
    return 2;
  }
  lua_pushstring(L, real);
  free(real);
  return 1;
}

/* core.chmod(path, mode) -> true | nil, message */
static int fs_chmod(lua_State *L) {
  const char *path = luaL_checkstring(L, 1);
  lua_Integer mode = luaL_checkinteger(L, 2);
  if (chmod(path, (mode_t)(mode & 07777)) != 0) {
    lua_pushnil(L);
    lua_pushstring(L, strerror(errno));
    return 2;
  }
  lua_pushboolean(L, 1);
  return 1;
}

/* core.chown(path, uid, gid) -> true | nil, message (only root may give a file away) */
static int fs_chown(lua_State *L) {
  const char *path = luaL_checkstring(L, 1);
  lua_Integer uid = luaL_checkinteger(L, 2), gid = luaL_checkinteger(L, 3);
  if (chown(path, (uid_t)uid, (gid_t)gid) != 0) {
    lua_pushnil(L);
    lua_pushstring(L, strerror(errno));
    return 2;
  }
  lua_pushboolean(L, 1);
  return 1;
}

/*
 * core.write_private_file(path, contents) -> true | nil, message
 * Replaces `path` whole or not at all: a new file (mode 0600) beside it is
 * written, flushed to disk, and renamed over it, and the directory flushed,
 * so that after a crash at any point the path holds either the old contents
 * or the new ones, never a part. gong.oauth keeps its tokens this way: the
 * only valid refresh token must never be half written.
 */
static int fs_write_private_file(lua_State *L) {
  size_t len, done = 0, dirlen;
  const char *path = luaL_checkstring(L, 1);
  const char *contents = luaL_checklstring(L, 2, &len);
  const char *slash = strrchr(path, '/');
  const char *tmp = lua_pushfstring(L, "%s.%d.tmp", path, (int)getpid());
  const char *why = NULL;
  int fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_NOCTTY | O_CLOEXEC, 0600);
  if (fd < 0 && errno == EEXIST) { /* left by a process of this pid that died: ours to replace */
    unlink(tmp);
    fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_NOCTTY | O_CLOEXEC, 0600);
  }
  if (fd < 0) {
    lua_pushnil(L);
    lua_pushstring(L, strerror(errno));
    return 2;
  }
  while (done < len && why == NULL) {
    ssize_t n = write(fd, contents + done, len - done);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) why = strerror(errno);
    else done += (size_t)n;
  }
  if (why == NULL && fsync(fd) != 0) why = strerror(errno);
  if (close(fd) != 0 && why == NULL) why = strerror(errno);
  if (why == NULL && rename(tmp, path) != 0) why = strerror(errno);
  if (why != NULL) {
    lua_pushstring(L, why); /* before unlink can change errno's message */
    unlink(tmp);
    lua_pushnil(L);
    lua_insert(L, -2);
    return 2;
  }
  /* The rename itself is on disk once the directory is. */
  dirlen = slash == NULL ? 1 : slash == path ? 1 : (size_t)(slash - path);
  lua_pushlstring(L, slash == NULL ? "." : path, dirlen);
  fd = open(lua_tostring(L, -1), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd >= 0) {
    (void)fsync(fd);
    close(fd);
  }
  lua_pushboolean(L, 1);
  return 1;
}

#define FS_LOCK_MT "gong.lock"

/* lock:unlock(): releases the lock; idempotent. Also __gc and __close. */
static int fs_unlock(lua_State *L) {
  int *fd = (int *)luaL_checkudata(L, 1, FS_LOCK_MT);
  if (*fd >= 0) close(*fd); /* closing the description releases its OFD lock */
  *fd = -1;
  return 0;
}

/*
 * core.lock_file(path, timeout) -> lock | nil, message
 * An exclusive lock on `path` (created 0600 when missing, and left there),
 * waited for up to `timeout` seconds. An open-file-description lock, as the
 * rate state's: it excludes other clients of this process as well as other
 * processes, and a process that dies holding it releases it.
 */
static int fs_lock_file(lua_State *L) {
  const char *path = luaL_checkstring(L, 1);
  double timeout = luaL_checknumber(L, 2), deadline = clock_now() + timeout;
  int *ud = (int *)lua_newuserdatauv(L, sizeof(int), 0);
  *ud = -1;
  luaL_setmetatable(L, FS_LOCK_MT);
  *ud = open(path, O_RDWR | O_CREAT | O_NOCTTY | O_CLOEXEC, 0600);
  if (*ud < 0) {
    lua_pushnil(L);
    lua_pushstring(L, strerror(errno));
    return 2;
  }
  while (ratestate_lock(*ud, F_WRLCK) != 0) {
    struct timespec pause = {0, 2000000};
    if ((errno != EAGAIN && errno != EACCES && errno != EINTR) || clock_now() >= deadline ||
        signals_interrupts != 0) {
      const char *why = errno == EAGAIN || errno == EACCES ? "held by another process for too long"
                      : signals_interrupts != 0 ? "interrupted" : strerror(errno);
      close(*ud);
      *ud = -1;
      lua_pushnil(L);
      lua_pushstring(L, why);
      return 2;
    }
    nanosleep(&pause, NULL);
  }
  return 1;
}

/* core.time() -> the wall clock, seconds since the epoch (what a file written for other processes holds). */
static int fs_time(lua_State *L) {
  struct timespec ts;
  clock_gettime(CLOCK_REALTIME, &ts);
  lua_pushnumber(L, (double)ts.tv_sec + (double)ts.tv_nsec / 1e9);
  return 1;
}

/* Registers the lock's metatable. */
static void fs_open(lua_State *L) {
  static const luaL_Reg methods[] = {{"unlock", fs_unlock}, {NULL, NULL}};
  luaL_newmetatable(L, FS_LOCK_MT);
  lua_pushcfunction(L, fs_unlock);
  lua_setfield(L, -2, "__gc");
  lua_pushcfunction(L, fs_unlock);
  lua_setfield(L, -2, "__close");
  lua_newtable(L);
  luaL_setfuncs(L, methods, 0);
  lua_setfield(L, -2, "__index");
  lua_pop(L, 1);
}
