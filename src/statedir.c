/*
 * Where a shared rate window's state files live, and who may touch them:
 * $XDG_RUNTIME_DIR/gong/<tenant> (else /tmp/gong-<uid>/<tenant>), in a
 * directory that must be the user's own and private (mode 700, made so when
 * gong makes it), each file a regular file of the user's, never followed
 * through a symlink. Another user's directory, one others may enter, or a
 * file gong did not make is refused, with a message naming it.
 */
#include <errno.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

/* Whether the directory `dir` (just made or found) is the user's own and private: NULL, or why not. */
static const char *statedir_check(const char *dir) {
  struct stat st;
  if (lstat(dir, &st) != 0) return strerror(errno);
  if (!S_ISDIR(st.st_mode)) return "it is not a directory";
  if (st.st_uid != geteuid()) return "it belongs to another user";
  if ((st.st_mode & 077) != 0) return "group or others may access it (chmod 700 it)";
  return NULL;
}

/*
 * Opens, or makes, the state file of `tenant` (a name that shows nothing of
 * who it is), read-write: returns its descriptor and writes its path to
 * `path` (`size` bytes), or returns -1 with the message in `why`.
 */
static int statedir_open(const char *tenant, char *path, size_t size, char *why, size_t whysize) {
  char dir[PATH_MAX];
  const char *runtime = getenv("XDG_RUNTIME_DIR"), *refusal;
  struct stat st;
  int fd;
  if (runtime != NULL && runtime[0] == '/')
    snprintf(dir, sizeof dir, "%s/gong", runtime);
  else
    snprintf(dir, sizeof dir, "/tmp/gong-%lu", (unsigned long)geteuid());
  if (mkdir(dir, 0700) != 0 && errno != EEXIST) {
    snprintf(why, whysize, "cannot make %s for the shared rate limit: %s", dir, strerror(errno));
    return -1;
  }
  if ((refusal = statedir_check(dir)) != NULL) {
    snprintf(why, whysize, "refusing %s for the shared rate limit: %s", dir, refusal);
    return -1;
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
