/*
 * Where a shared rate window's state files live, and who may touch them:
 * $XDG_RUNTIME_DIR/gong/<tenant> (else /tmp/gong-<uid>/<tenant>), in a
 * directory that must be the user's own and private (mode 700, made so when
 * gong makes it), each file a regular file of the user's, never followed
 * through a symlink. One others may enter, or a file gong did not make, is
 * refused, with a message naming it.
 *
 * Another user's directory there (a /tmp/gong-<uid> made first, an
 * XDG_RUNTIME_DIR left over from su) is refused too, but it must not stop
 * the user: the state goes to a directory of the user's own instead,
 * $XDG_CACHE_HOME/gong (else ~/.cache/gong), or, when there is none, the
 * client keeps a window of its own; either way with a warning saying so.
 */
#include <errno.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

/* Whether the directory `dir` (just made or found) is the user's own and private: NULL, or why not. */
static const char *statedir_check(const char *dir) {
  struct stat st;
  if (lstat(dir, &st) != 0) return strerror(errno);
  if (st.st_uid != geteuid()) return "it belongs to another user";
  if (!S_ISDIR(st.st_mode)) return "it is not a directory";
  if ((st.st_mode & 077) != 0) return "group or others may access it (chmod 700 it)";
  return NULL;
}

/* Whether what is at `dir` is another user's doing: it is theirs, or the user may not even look. */
static int statedir_foreign(const char *dir) {
  struct stat st;
  if (lstat(dir, &st) != 0) return errno == EACCES;
  return st.st_uid != geteuid();
}

/*
 * Makes (mode 700) or finds the directory `dir` and checks that it is the
 * user's own and private: returns NULL, or the message about it in `why`.
 * `parent`, when not NULL, must be a directory of the user's, and is made
 * when missing.
 */
static const char *statedir_make(const char *dir, const char *parent, char *why, size_t whysize) {
  const char *refusal;
  struct stat st;
  if (parent != NULL) {
    if (mkdir(parent, 0700) != 0 && errno != EEXIST) {
      snprintf(why, whysize, "cannot make %s: %s", parent, strerror(errno));
      return why;
    }
    if (stat(parent, &st) != 0 || st.st_uid != geteuid()) {
      snprintf(why, whysize, "%s: it belongs to another user", parent);
      return why;
    }
  }
  if (mkdir(dir, 0700) != 0 && errno != EEXIST) {
    snprintf(why, whysize, "cannot make %s: %s", dir, strerror(errno));
    return why;
  }
  if ((refusal = statedir_check(dir)) != NULL) {
    snprintf(why, whysize, "%s: %s", dir, refusal);
    return why;
  }
  return NULL;
}

/*
 * The user's own place for the state when the usual one is another user's:
 * $XDG_CACHE_HOME/gong, else $HOME/.cache/gong, made when missing. Writes it
 * to `dir` and returns NULL, or returns why there is none (in `why`).
 */
static const char *statedir_fallback(char *dir, size_t size, char *why, size_t whysize) {
  char parent[PATH_MAX];
  const char *cache = getenv("XDG_CACHE_HOME"), *home = getenv("HOME");
  if (cache != NULL && cache[0] == '/') {
    snprintf(parent, sizeof parent, "%s", cache);
  } else if (home != NULL && home[0] == '/') {
    /* HOME=/ is "/.cache", not "//.cache". */
    snprintf(parent, sizeof parent, "%s/.cache", strcmp(home, "/") == 0 ? "" : home);
  } else {
    snprintf(why, whysize, "neither XDG_CACHE_HOME nor HOME names a directory");
    return why;
  }
  if (snprintf(dir, size, "%s/gong", parent) >= (int)size) {
    snprintf(why, whysize, "%s/gong: the name is too long", parent);
    return why;
  }
  return statedir_make(dir, parent, why, whysize);
}

/*
 * Opens, or makes, the state file of `tenant` (a name that shows nothing of
 * who it is), read-write: returns its descriptor and writes its path to
 * `path` (`size` bytes), `why` holding a warning to give or "". Returns -1
 * with the message in `why` when the state must not be shared here; -2 when
 * the client is to keep a window of its own, the warning in `why`.
 */
static int statedir_open(const char *tenant, char *path, size_t size, char *why, size_t whysize) {
  char dir[PATH_MAX], refused[PATH_MAX];
  const char *runtime = getenv("XDG_RUNTIME_DIR");
  struct stat st;
  int fd, foreign = 0;
  why[0] = '\0';
  if (runtime != NULL && runtime[0] == '/') {
    snprintf(dir, sizeof dir, "%s/gong", runtime);
    /* Not the user's own (su without -): nothing of theirs goes in it. */
    snprintf(refused, sizeof refused, "%s", runtime);
    foreign = statedir_foreign(runtime);
  } else {
    snprintf(dir, sizeof dir, "/tmp/gong-%lu", (unsigned long)geteuid());
  }
  if (!foreign) {
    snprintf(refused, sizeof refused, "%s", dir);
    if (mkdir(dir, 0700) != 0 && errno != EEXIST && !(errno == EACCES && statedir_foreign(dir))) {
      snprintf(why, whysize, "cannot make %s for the shared rate limit: %s", dir, strerror(errno));
      return -1;
    }
    foreign = statedir_foreign(dir);
  }
  if (foreign) {
    char problem[PATH_MAX + 64];
    if (statedir_fallback(dir, sizeof dir, problem, sizeof problem) != NULL) {
      /* Each name at most half the message: a long one is cut, not the rest. */
      snprintf(why, whysize, "refusing %.2000s for the shared rate limit: it belongs to another user; %.2000s; "
               "this client keeps a rate limit of its own", refused, problem);
      return -2;
    }
    snprintf(why, whysize, "refusing %.2000s for the shared rate limit: it belongs to another user; keeping the "
             "rate state in %.2000s instead", refused, dir);
  } else {
    const char *refusal = statedir_check(dir);
    if (refusal != NULL) {
      snprintf(why, whysize, "refusing %s for the shared rate limit: %s", dir, refusal);
      return -1;
    }
  }
  snprintf(path, size, "%s/%s", dir, tenant);
  fd = open(path, O_RDWR | O_CREAT | O_NOFOLLOW | O_CLOEXEC, 0600);
  if (fd < 0) {
    snprintf(why, whysize, "cannot open %s for the shared rate limit: %s", path, strerror(errno));
    return -1;
  }
  if (fd <= 2) {
    /* A standard descriptor was closed: a stray write to it must not land in the file. */
    int moved = fcntl(fd, F_DUPFD_CLOEXEC, 3);
    close(fd);
    if (moved < 0) {
      snprintf(why, whysize, "cannot open %s for the shared rate limit: %s", path, strerror(errno));
      return -1;
    }
    fd = moved;
  }
  if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode) || st.st_uid != geteuid()) {
    close(fd);
    snprintf(why, whysize, "refusing %s for the shared rate limit: not a file of yours", path);
    return -1;
  }
  return fd;
}
