/*
 * Files that hold secrets, or that must never be seen half written: a
 * private file is read only when it is the user's own and closed to everyone
 * else (judged by fstat on the descriptor that is then read, so the file
 * judged is the file read); a file is replaced whole or not at all (a new
 * file beside it under a random name, written, flushed to disk, renamed over
 * it, and the directory flushed); a lock excludes every other client and
 * process. gong.oauth keeps its tokens this way, the CLI its output files.
 *
 * Failures are gong errors of kind "file": `path`, `reason` (a name for what
 * went wrong) and `detail` (the system's message, an owner, a mode).
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>
#if defined(__linux__)
#include <sys/random.h>
#endif

/* Larger than any credentials file or token store; a guard against reading /dev/zero forever. */
#define FILES_PRIVATE_MAX (1024 * 1024)

/* Open-file-description locks: one client's fd excludes another's even in the same process. */
#if defined(F_OFD_SETLK)
#define FILES_SETLK F_OFD_SETLK
#elif defined(__linux__)
#define FILES_SETLK 37 /* F_OFD_SETLK, which glibc names only with _GNU_SOURCE */
#else
#define FILES_SETLK F_SETLK
#endif

/* Takes (F_WRLCK, F_RDLCK) or drops (F_UNLCK) the lock of the whole file at `fd`, without waiting. */
static int files_lock(int fd, short type) {
  struct flock l;
  memset(&l, 0, sizeof l);
  l.l_type = type;
  l.l_whence = SEEK_SET;
  return fcntl(fd, FILES_SETLK, &l);
}

/*
 * Pushes nil and a file error about `path`, its message formatted from
 * `fmt`, its `reason`, and its `detail` when not NULL. Closes `fd` when it
 * is one. Returns 2.
 */
static int files_fail(lua_State *L, int fd, const char *path, const char *reason, const char *detail,
                      const char *fmt, ...) {
  char message[ERROR_MESSAGE_MAX + 1];
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(message, sizeof message, fmt, ap);
  va_end(ap);
  if (fd >= 0) close(fd);
  lua_pushnil(L);
  error_push(L, "file", "%s", message);
  error_set_string(L, "path", path);
  error_set_string(L, "reason", reason);
  error_set_string(L, "detail", detail);
  return 2;
}

/* Pushes nil and the file error of a system call (`what`: open, read, write, lock) failed with errno. */
static int files_fail_errno(lua_State *L, int fd, const char *path, const char *what) {
  const char *detail = strerror(errno);
  if (errno == ENOENT) return files_fail(L, fd, path, "missing", detail, "%s does not exist", path);
  return files_fail(L, fd, path, what, detail, "cannot %s %s: %s", what, path, detail);
}

/* Writes the mode of `st` as `ls -l` shows it ("-rw-r-----") into out[11]. */
static void files_mode_string(const struct stat *st, char out[11]) {
  static const char rwx[] = "rwxrwxrwx";
  int i;
  out[0] = S_ISREG(st->st_mode) ? '-' : S_ISDIR(st->st_mode) ? 'd' : S_ISFIFO(st->st_mode) ? 'p'
         : S_ISLNK(st->st_mode) ? 'l' : S_ISCHR(st->st_mode) ? 'c' : S_ISBLK(st->st_mode) ? 'b'
         : S_ISSOCK(st->st_mode) ? 's' : '?';
  for (i = 0; i < 9; i++) out[i + 1] = (st->st_mode & (0400 >> i)) ? rwx[i] : '-';
  out[10] = '\0';
}

/*
 * core.sys.read_private_file(path) -> contents | nil, err
 * Reads a regular file or a pipe that this user owns and that group and
 * others have no permission on. The error's reason: "missing", "open",
 * "read" (detail: the system's message), "type", "owner" (detail: the
 * owner's uid), "mode" (detail: the mode as ls shows it), "size".
 */
static int files_read_private(lua_State *L) {
  const char *path = error_check_string(L, 1, "read_private_file", "path", NULL);
  struct stat st;
  luaL_Buffer b;
  size_t total = 0;
  int fd = open(path, O_RDONLY | O_NOCTTY | O_CLOEXEC);
  if (fd < 0 || fstat(fd, &st) != 0) return files_fail_errno(L, fd, path, "open");
  if (!S_ISREG(st.st_mode) && !S_ISFIFO(st.st_mode))
    return files_fail(L, fd, path, "type", NULL, "%s is neither a regular file nor a pipe", path);
  if (st.st_uid != geteuid()) {
    const char *uid = lua_pushfstring(L, "%d", (int)st.st_uid);
    return files_fail(L, fd, path, "owner", uid, "%s belongs to another user (uid %s)", path, uid);
  }
  /* Set-id and sticky bits grant nothing by themselves; permissions do. */
  if (st.st_mode & (S_IRWXG | S_IRWXO)) {
    char mode[11];
    files_mode_string(&st, mode);
    return files_fail(L, fd, path, "mode", mode, "%s is accessible by group or others (%s)", path, mode);
  }
  luaL_buffinit(L, &b);
  for (;;) {
    char *dst = luaL_prepbuffer(&b);
    ssize_t n = read(fd, dst, LUAL_BUFFERSIZE);
    if (n < 0 && errno == EINTR && !signals_interrupted()) continue;
    if (n < 0) return files_fail_errno(L, fd, path, "read");
    if (n == 0) break;
    total += (size_t)n;
    if (total > FILES_PRIVATE_MAX) return files_fail(L, fd, path, "size", NULL, "%s is over 1 MiB", path);
    luaL_addsize(&b, (size_t)n);
  }
  close(fd);
  luaL_pushresult(&b);
  return 1;
}

/* ---- replacing a file whole ---------------------------------------------- */

#define FILES_REPLACEMENT_MT "gong.replacement"

/* A file being written beside the one it is to replace. */
typedef struct replacement {
  int fd;       /* -1 once committed or discarded */
  char *path;   /* the file replaced */
  char *tmp;    /* the file written: path + ".tmp-" + 12 hex digits */
  int failed;   /* errno of a write that failed, 0 if none */
  int reserved; /* room was reserved: the file is cut to what was written at the commit */
  off_t written; /* bytes written since the reservation */
} replacement;

/* Fills `out` with 12 random hex digits and a NUL. */
static void files_random_name(char out[13]) {
  static const char hex[] = "0123456789abcdef";
  unsigned char bytes[6];
  size_t got = 0;
  int i;
#if defined(__linux__)
  ssize_t n = getrandom(bytes, sizeof bytes, 0);
  if (n > 0) got = (size_t)n;
#endif
  if (got < sizeof bytes) {
    /* No getrandom: the clock and the pid, which O_EXCL makes safe if guessable. */
    struct timespec ts;
    unsigned long long x;
    clock_gettime(CLOCK_REALTIME, &ts);
    x = (unsigned long long)ts.tv_nsec ^ ((unsigned long long)ts.tv_sec << 20) ^ (unsigned long long)getpid() << 40;
    for (i = 0; i < 6; i++) bytes[i] = (unsigned char)(x >> (8 * i));
  }
  for (i = 0; i < 6; i++) {
    out[2 * i] = hex[bytes[i] >> 4];
    out[2 * i + 1] = hex[bytes[i] & 15];
  }
  out[12] = '\0';
}

/* Removes the temporary file and frees the names; idempotent. */
static void files_discard(replacement *r) {
  if (r->fd >= 0) {
    close(r->fd);
    unlink(r->tmp);
  }
  r->fd = -1;
  free(r->path);
  free(r->tmp);
  r->path = r->tmp = NULL;
}

/*
 * Creates `path`'s replacement: a new file of a random name beside it,
 * O_EXCL and never through a symlink, open to no one but the user until it
 * has its final owner and mode: `mode` exactly when `exact`, else `mode`
 * less the umask; and, when `uid` is not -1, that owner and group where
 * permitted. Returns 0, or -1 with errno set and `r` empty.
 */
static int files_replacement_open(replacement *r, const char *path, mode_t mode, int exact, long uid, long gid) {
  size_t len = strlen(path);
  /* An exact mode's group and other bits wait for fchown: until then the
   * group is the user's, not the one they are meant for. */
  mode_t first = exact ? (mode & S_IRWXU) : mode;
  int tries;
  memset(r, 0, sizeof *r);
  r->fd = -1;
  r->path = (char *)malloc(len + 1);
  r->tmp = (char *)malloc(len + 18);
  if (r->path == NULL || r->tmp == NULL) {
    files_discard(r);
    errno = ENOMEM;
    return -1;
  }
  memcpy(r->path, path, len + 1);
  for (tries = 0; tries < 8 && r->fd < 0; tries++) {
    char name[13];
    files_random_name(name);
    snprintf(r->tmp, len + 18, "%s.tmp-%s", path, name);
    r->fd = open(r->tmp, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_NOCTTY | O_CLOEXEC, first);
    if (r->fd < 0 && errno != EEXIST) break;
  }
  if (r->fd < 0) {
    int saved = errno;
    files_discard(r);
    errno = saved;
    return -1;
  }
  /* The owner first: chown may clear set-id bits, which the mode then restores.
   * Either may be refused (only root gives a file away): the file stays the
   * user's, with the umask's mode. */
  if (uid >= 0 && fchown(r->fd, (uid_t)uid, (gid_t)gid) != 0) errno = 0;
  if (exact && fchmod(r->fd, mode) != 0) errno = 0;
  return 0;
}

/* Writes `len` bytes; a failure is kept for the commit to report. */
static void files_replacement_write(replacement *r, const char *data, size_t len) {
  size_t done = 0;
  while (done < len && r->failed == 0) {
    ssize_t n = write(r->fd, data + done, len - done);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) r->failed = errno;
    else done += (size_t)n;
  }
  r->written += (off_t)done;
}

/*
 * Reserves `size` bytes of disk for the replacement (written as zeros and
 * flushed, so a full disk says so now), and rewinds it: what is written next
 * overwrites them, and the commit cuts the file to it. A write that would fail
 * for room fails here, before whatever the new contents depend on is spent.
 * Returns 0, or -1 with errno set.
 */
static int files_replacement_reserve(replacement *r, size_t size) {
  static const char zeros[4096];
  while (size > 0 && r->failed == 0) {
    size_t n = size < sizeof zeros ? size : sizeof zeros;
    files_replacement_write(r, zeros, n);
    size -= n;
  }
  if (r->failed == 0 && fsync(r->fd) != 0) r->failed = errno;
  if (r->failed == 0 && lseek(r->fd, 0, SEEK_SET) != 0) r->failed = errno;
  if (r->failed != 0) {
    errno = r->failed;
    return -1;
  }
  r->reserved = 1;
  r->written = 0;
  return 0;
}

/*
 * Flushes the replacement to disk and renames it over the path, then flushes
 * the directory (the rename is on disk once it is). Returns 0, or -1 with
 * errno set and the temporary file removed. Either way `r` is done.
 */
static int files_replacement_commit(replacement *r) {
  const char *slash = strrchr(r->path, '/');
  int failed = r->failed, dir;
  if (failed == 0 && r->reserved && ftruncate(r->fd, r->written) != 0) failed = errno;
  if (failed == 0 && fsync(r->fd) != 0) failed = errno;
  if (close(r->fd) != 0 && failed == 0) failed = errno;
  r->fd = -1;
  if (failed == 0 && rename(r->tmp, r->path) != 0) failed = errno;
  if (failed != 0) {
    unlink(r->tmp);
    files_discard(r);
    errno = failed;
    return -1;
  }
  if (slash == NULL) {
    dir = open(".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  } else {
    char *name = slash == r->path ? strdup("/") : strndup(r->path, (size_t)(slash - r->path));
    dir = name != NULL ? open(name, O_RDONLY | O_DIRECTORY | O_CLOEXEC) : -1;
    free(name);
  }
  if (dir >= 0) {
    (void)fsync(dir);
    close(dir);
  }
  files_discard(r);
  return 0;
}

/*
 * core.sys.replace_file(path [, {mode, uid, gid}]) -> replacement | nil, err
 * A replacement of `path`, to write (replacement:write(s)) and then put in
 * its place whole (replacement:commit() -> true | nil, err) or drop
 * (replacement:discard(); also when collected). replacement.tmp names the
 * file written meanwhile. Mode: `mode` exactly, else 0666 less the umask.
 * `reserve`: bytes of disk to take at once (a full disk is then this call's
 * error, reason "write"), which the contents written later use.
 */
static int files_replace(lua_State *L) {
  const char *path = error_check_string(L, 1, "replace_file", "path", NULL);
  lua_Integer mode = 0666, uid = -1, gid = -1, reserve = 0;
  int exact = 0;
  replacement *r;
  if (lua_type(L, 2) == LUA_TTABLE) {
    lua_getfield(L, 2, "mode");
    exact = lua_type(L, -1) == LUA_TNUMBER;
    if (exact) mode = lua_tointeger(L, -1) & 07777;
    lua_getfield(L, 2, "uid");
    if (lua_type(L, -1) == LUA_TNUMBER) uid = lua_tointeger(L, -1);
    lua_getfield(L, 2, "gid");
    if (lua_type(L, -1) == LUA_TNUMBER) gid = lua_tointeger(L, -1);
    lua_getfield(L, 2, "reserve");
    if (lua_type(L, -1) == LUA_TNUMBER) reserve = lua_tointeger(L, -1);
    lua_pop(L, 4);
  }
  if (reserve < 0 || reserve > FILES_PRIVATE_MAX)
    return error_raise(L, "argument", "replace_file: reserve must be 0 to 1 MiB");
  r = (replacement *)lua_newuserdatauv(L, sizeof *r, 0);
  r->fd = -1;
  r->path = r->tmp = NULL;
  luaL_setmetatable(L, FILES_REPLACEMENT_MT);
  if (files_replacement_open(r, path, (mode_t)mode, exact, (long)uid, (long)gid) != 0)
    return files_fail_errno(L, -1, path, "write");
  if (reserve > 0 && files_replacement_reserve(r, (size_t)reserve) != 0) {
    int saved = errno;
    files_discard(r);
    errno = saved;
    return files_fail_errno(L, -1, path, "write");
  }
  return 1;
}

static replacement *files_check_replacement(lua_State *L) {
  replacement *r = (replacement *)luaL_testudata(L, 1, FILES_REPLACEMENT_MT);
  if (r == NULL) error_raise(L, "argument", "replacement: call its methods with ':'");
  return r;
}

/* replacement:write(s): appends `s`; a failure is reported by commit. */
static int files_replacement_write_lua(lua_State *L) {
  replacement *r = files_check_replacement(L);
  size_t len;
  const char *s = error_check_string(L, 2, "replacement:write", "the data", &len);
  if (r->fd < 0) return error_raise(L, "argument", "replacement:write: already committed or discarded");
  files_replacement_write(r, s, len);
  return 0;
}

/* replacement:commit() -> true | nil, err: the path now holds what was written. */
static int files_replacement_commit_lua(lua_State *L) {
  replacement *r = files_check_replacement(L);
  if (r->fd < 0) return error_raise(L, "argument", "replacement:commit: already committed or discarded");
  lua_pushstring(L, r->path);
  if (files_replacement_commit(r) != 0) return files_fail_errno(L, -1, lua_tostring(L, -1), "write");
  lua_pushboolean(L, 1);
  return 1;
}

/* replacement:discard(): removes what was written; idempotent. Also __gc. */
static int files_replacement_discard_lua(lua_State *L) {
  files_discard(files_check_replacement(L));
  return 0;
}

/* replacement.tmp: the temporary file's name (nil once done); else the methods. */
static int files_replacement_index(lua_State *L) {
  replacement *r = files_check_replacement(L);
  if (lua_type(L, 2) == LUA_TSTRING && strcmp(lua_tostring(L, 2), "tmp") == 0) {
    if (r->tmp != NULL && r->fd >= 0) lua_pushstring(L, r->tmp);
    else lua_pushnil(L);
    return 1;
  }
  lua_pushvalue(L, 2);
  lua_rawget(L, lua_upvalueindex(1));
  return 1;
}

/* Pushes the directory that holds `path` ("." for a bare name) and returns it. */
static const char *files_push_dir(lua_State *L, const char *path) {
  const char *slash = strrchr(path, '/');
  if (slash == NULL) lua_pushliteral(L, ".");
  else if (slash == path) lua_pushliteral(L, "/");
  else lua_pushlstring(L, path, (size_t)(slash - path));
  return lua_tostring(L, -1);
}

/* Whether `name` is `base` + ".tmp-" + 12 hex digits: a replacement's name (files_replacement_open). */
static int files_is_replacement_name(const char *name, const char *base, size_t base_len) {
  size_t i;
  if (strncmp(name, base, base_len) != 0 || strncmp(name + base_len, ".tmp-", 5) != 0) return 0;
  name += base_len + 5;
  for (i = 0; i < 12; i++)
    if (!((name[i] >= '0' && name[i] <= '9') || (name[i] >= 'a' && name[i] <= 'f'))) return 0;
  return name[12] == '\0';
}

/* The modification time of `st`, in seconds. */
static double files_mtime(const struct stat *st) {
  return (double)st->st_mtim.tv_sec + (double)st->st_mtim.tv_nsec / 1e9;
}

/*
 * core.sys.replacements(path) -> {{path, mtime, newer}...} | nil, err
 * The replacements of `path` that a process left behind when it died before
 * renaming one into place: the files beside it named as replace_file names
 * them that could be gong's own (regular files, not links, of this user,
 * closed to group and others). `newer`: modified after `path` was (true
 * when there is no `path`). Meant for whoever holds the lock that every
 * writer of `path` holds, when no replacement of a live process can exist.
 */
static int files_replacements(lua_State *L) {
  const char *path = error_check_string(L, 1, "replacements", "path", NULL);
  const char *slash = strrchr(path, '/'), *base = slash != NULL ? slash + 1 : path;
  size_t base_len = strlen(base);
  struct stat target, st;
  int has_target, n = 0;
  struct dirent *e;
  DIR *d;
  const char *dir = files_push_dir(L, path);
  has_target = stat(path, &target) == 0;
  d = opendir(dir);
  if (d == NULL) return files_fail_errno(L, -1, dir, "read");
  lua_newtable(L);
  while ((e = readdir(d)) != NULL) {
    if (!files_is_replacement_name(e->d_name, base, base_len)) continue;
    if (fstatat(dirfd(d), e->d_name, &st, AT_SYMLINK_NOFOLLOW) != 0 || !S_ISREG(st.st_mode) ||
        st.st_uid != geteuid() || (st.st_mode & (S_IRWXG | S_IRWXO)) != 0)
      continue;
    lua_createtable(L, 0, 3);
    if (slash == NULL) lua_pushstring(L, e->d_name);
    else lua_pushfstring(L, "%s/%s", dir, e->d_name);
    lua_setfield(L, -2, "path");
    lua_pushnumber(L, files_mtime(&st));
    lua_setfield(L, -2, "mtime");
    lua_pushboolean(L, !has_target || files_mtime(&st) > files_mtime(&target));
    lua_setfield(L, -2, "newer");
    lua_rawseti(L, -2, ++n);
  }
  closedir(d);
  return 1;
}

/*
 * core.sys.write_private_file(path, contents) -> true | nil, err
 * Replaces `path` whole (mode 0600) or not at all: after a crash at any
 * point the path holds either the old contents or the new ones, never a
 * part. gong.oauth keeps its tokens so: the only valid refresh token must
 * never be half written.
 */
static int files_write_private(lua_State *L) {
  const char *path = error_check_string(L, 1, "write_private_file", "path", NULL);
  size_t len;
  const char *contents = error_check_string(L, 2, "write_private_file", "contents", &len);
  replacement r;
  if (files_replacement_open(&r, path, 0600, 1, -1, -1) != 0) return files_fail_errno(L, -1, path, "write");
  files_replacement_write(&r, contents, len);
  if (files_replacement_commit(&r) != 0) return files_fail_errno(L, -1, path, "write");
  lua_pushboolean(L, 1);
  return 1;
}

/* ---- locks --------------------------------------------------------------- */

#define FILES_LOCK_MT "gong.lock"

/* lock:unlock(): releases the lock; idempotent. Also __gc and __close. */
static int files_unlock(lua_State *L) {
  int *fd = (int *)luaL_testudata(L, 1, FILES_LOCK_MT);
  if (fd == NULL) return error_raise(L, "argument", "lock:unlock: call it on a lock, as lock:unlock()");
  if (*fd >= 0) close(*fd); /* closing the description releases its OFD lock */
  *fd = -1;
  return 0;
}

/*
 * Why the directory holding `path` cannot be trusted with a lock or a secret
 * beside it: NULL when only its owner may write to it, or others may but it
 * is sticky (they cannot then remove or replace the user's entries); else
 * pushes nil and a file error about the directory (reason "mode", detail its
 * mode) and returns "mode". A failed stat is left to the open that follows.
 */
static const char *files_check_directory(lua_State *L, const char *path) {
  const char *dir = files_push_dir(L, path);
  struct stat st;
  char mode[11];
  if (stat(dir, &st) != 0 || !S_ISDIR(st.st_mode)) return NULL;
  if ((st.st_mode & (S_IWGRP | S_IWOTH)) == 0 || (st.st_mode & S_ISVTX) != 0) return NULL;
  files_mode_string(&st, mode);
  files_fail(L, -1, dir, "mode", mode, "%s, where %s is, may be written by group or others (%s): "
             "chmod 700 it, or make it sticky", dir, path, mode);
  return "mode";
}

/*
 * core.sys.lock_file(path, timeout) -> lock | nil, err
 * An exclusive lock on `path` (created 0600 when missing, and left there),
 * waited for up to `timeout` seconds (reason "busy" after that). The lock
 * file must be a regular file of this user's (reason "type", "owner": one
 * that another user made would let them hold it, or watch it), in a
 * directory others may not write to unless it is sticky (reason "mode",
 * the error's path the directory). An
 * open-file-description lock, as the rate state's: it excludes other
 * clients of this process as well as other processes, and a process that
 * dies holding it releases it.
 */
static int files_lock_file(lua_State *L) {
  const char *path = error_check_string(L, 1, "lock_file", "path", NULL);
  double timeout = error_check_number(L, 2, "lock_file", "timeout"), deadline = clock_now() + timeout;
  struct stat st;
  int *ud;
  if (files_check_directory(L, path) != NULL) return 2;
  ud = (int *)lua_newuserdatauv(L, sizeof(int), 0);
  *ud = -1;
  luaL_setmetatable(L, FILES_LOCK_MT);
  *ud = open(path, O_RDWR | O_CREAT | O_NOFOLLOW | O_NOCTTY | O_CLOEXEC, 0600);
  if (*ud < 0) return files_fail_errno(L, -1, path, "open");
  if (fstat(*ud, &st) != 0) {
    int fd = *ud;
    *ud = -1;
    return files_fail_errno(L, fd, path, "open");
  }
  if (!S_ISREG(st.st_mode) || st.st_uid != geteuid()) {
    int fd = *ud;
    const char *uid = lua_pushfstring(L, "%d", (int)st.st_uid);
    *ud = -1;
    if (!S_ISREG(st.st_mode)) return files_fail(L, fd, path, "type", NULL, "%s is not a regular file", path);
    return files_fail(L, fd, path, "owner", uid, "%s belongs to another user (uid %s): remove it", path, uid);
  }
  while (files_lock(*ud, F_WRLCK) != 0) {
    struct timespec pause = {0, 2000000};
    int fd = *ud;
    if (errno != EAGAIN && errno != EACCES && errno != EINTR) {
      *ud = -1;
      return files_fail_errno(L, fd, path, "lock");
    }
    if (signals_interrupted()) {
      *ud = -1;
      return files_fail(L, fd, path, "interrupted", NULL, "locking %s was interrupted", path);
    }
    if (clock_now() >= deadline) {
      *ud = -1;
      return files_fail(L, fd, path, "busy", NULL, "%s is held by another process for too long", path);
    }
    nanosleep(&pause, NULL);
  }
  return 1;
}

/*
 * core.sys.warn(message): says `message` to whoever core.on_warning named
 * (nobody by default): for what a caller of these functions got wrong
 * without failing, such as a write it will try again.
 */
static int files_warn(lua_State *L) {
  const char *msg = error_check_string(L, 1, "warn", "message", NULL);
  error_warn(L, lua_upvalueindex(1), "%s", msg);
  return 0;
}

/* core.sys.time() -> the wall clock, seconds since the epoch (what a file written for other processes holds). */
static int files_time(lua_State *L) {
  struct timespec ts;
  clock_gettime(CLOCK_REALTIME, &ts);
  lua_pushnumber(L, (double)ts.tv_sec + (double)ts.tv_nsec / 1e9);
  return 1;
}

/* Registers the lock's and the replacement's metatables. */
static void files_open(lua_State *L) {
  static const luaL_Reg lock_methods[] = {{"unlock", files_unlock}, {NULL, NULL}};
  static const luaL_Reg replacement_methods[] = {{"write", files_replacement_write_lua},
    {"commit", files_replacement_commit_lua}, {"discard", files_replacement_discard_lua}, {NULL, NULL}};
  luaL_newmetatable(L, FILES_LOCK_MT);
  lua_pushcfunction(L, files_unlock);
  lua_setfield(L, -2, "__gc");
  lua_pushcfunction(L, files_unlock);
  lua_setfield(L, -2, "__close");
  lua_newtable(L);
  luaL_setfuncs(L, lock_methods, 0);
  lua_setfield(L, -2, "__index");
  lua_pop(L, 1);
  luaL_newmetatable(L, FILES_REPLACEMENT_MT);
  lua_pushcfunction(L, files_replacement_discard_lua);
  lua_setfield(L, -2, "__gc");
  lua_newtable(L);
  luaL_setfuncs(L, replacement_methods, 0);
  lua_pushcclosure(L, files_replacement_index, 1);
  lua_setfield(L, -2, "__index");
  lua_pop(L, 1);
}
