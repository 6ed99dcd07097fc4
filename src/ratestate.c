/*
 * The state file of a shared rate window (rate_scope "host"): its format,
 * the window's decision on it, and taking a start under its lock.
 *
 * A header line, then one fixed-width record per start,
 * oldest first: seconds on the monotonic clock (shared by every process of
 * the machine), "0000012345.678901\n". Records of one width keep a write cut
 * short by a crash readable: whatever mix of old and new records it leaves,
 * each is whole. Starts older than RATESTATE_KEEP seconds are dropped (no
 * limiter looks further back, whatever its rate, down to one a minute).
 */
#include <errno.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#define RATESTATE_KEEP 60.0

/* Reads record `p` (RATESTATE_RECORD_LEN bytes); -1 when it is not one. */
static double ratestate_record(const char *p) {
  double whole = 0, micros = 0;
  int i;
  for (i = 0; i < RATESTATE_RECORD_LEN - 1; i++) {
    if (i == 10) {
      if (p[i] != '.') return -1;
    } else if (p[i] >= '0' && p[i] <= '9') {
      if (i < 10) whole = whole * 10 + (p[i] - '0');
      else micros = micros * 10 + (p[i] - '0');
    } else {
      return -1;
    }
  }
  return p[RATESTATE_RECORD_LEN - 1] == '\n' ? whole + micros / 1e6 : -1;
}

static void ratestate_put(char *p, double t) {
  char tmp[32];
  snprintf(tmp, sizeof tmp, "%017.6f\n", t);
  memcpy(p, tmp, RATESTATE_RECORD_LEN);
}

/*
 * Checks a state's `size` bytes at `buf` (a header and records, or nothing at
 * all) and keeps the records no older than RATESTATE_KEEP before `now`,
 * oldest first, right after the header; records ahead of `now` were written
 * before the machine booted and are dropped. Sets *kept to their count;
 * returns 0, or -1 when it is not a state.
 */
static int ratestate_parse(char *buf, size_t size, double now, int *kept) {
  size_t i;
  int n = 0;
  double last = 0;
  *kept = 0;
  if (size == 0) return 0; /* a file just made */
  if (size > RATESTATE_MAX_BYTES || size < RATESTATE_HEADER_LEN ||
      (size - RATESTATE_HEADER_LEN) % RATESTATE_RECORD_LEN != 0 ||
      memcmp(buf, RATESTATE_HEADER, RATESTATE_HEADER_LEN) != 0)
    return -1;
  for (i = RATESTATE_HEADER_LEN; i < size; i += RATESTATE_RECORD_LEN) {
    double t = ratestate_record(buf + i);
    if (t < 0 || t < last) return -1;
    last = t;
    if (t > now + 1 || t <= now - RATESTATE_KEEP) continue;
    memmove(buf + RATESTATE_HEADER_LEN + (size_t)n * RATESTATE_RECORD_LEN, buf + i, RATESTATE_RECORD_LEN);
    n++;
  }
  *kept = n;
  return 0;
}

/*
 * The window's decision on `n` records (oldest first) after the header in
 * `buf`: when fewer than `cap` fall in the `window` before `now`, appends a
 * start at `now` (forgetting the oldest of RATELIMIT_MAX_CAP) and returns 0;
 * otherwise the seconds until one falls out. `buf` has room for one more.
 */
static double ratestate_decide(char *buf, int *n, double now, int cap, double window) {
  char *records = buf + RATESTATE_HEADER_LEN;
  int k, in_window = 0;
  for (k = *n - 1; k >= 0 && ratestate_record(records + (size_t)k * RATESTATE_RECORD_LEN) > now - window; k--)
    in_window++;
  if (in_window >= cap) {
    double delay = ratestate_record(records + (size_t)(*n - cap) * RATESTATE_RECORD_LEN) + window - now;
    return delay > 0 ? delay : 0.001;
  }
  if (*n >= RATELIMIT_MAX_CAP) {
    memmove(records, records + RATESTATE_RECORD_LEN, (size_t)(*n - 1) * RATESTATE_RECORD_LEN);
    (*n)--;
  }
  memcpy(buf, RATESTATE_HEADER, RATESTATE_HEADER_LEN);
  ratestate_put(records + (size_t)*n * RATESTATE_RECORD_LEN, now);
  (*n)++;
  return 0;
}

/*
 * Reads the state file (locked by the caller) and parses it: returns a
 * buffer for the caller to free, with room for one more record, or NULL with
 * r->why set. A file that holds no state (damaged, or not gong's) reads as
 * an empty one, with r->damaged set: the next write replaces it.
 */
static char *ratestate_load(ratelimit *r, double now, int *kept) {
  struct stat st;
  size_t size, got = 0;
  char *buf;
  if (fstat(r->fd, &st) != 0) {
    snprintf(r->why, sizeof r->why, "cannot read %s: %s", r->path, strerror(errno));
    return NULL;
  }
  size = (size_t)st.st_size;
  if (size > RATESTATE_MAX_BYTES) size = RATESTATE_MAX_BYTES + 1; /* refused below, unread */
  buf = (char *)malloc(size + RATESTATE_HEADER_LEN + RATESTATE_RECORD_LEN);
  if (buf == NULL) {
    snprintf(r->why, sizeof r->why, "out of memory");
    return NULL;
  }
  while (size <= RATESTATE_MAX_BYTES && got < size) {
    ssize_t k = pread(r->fd, buf + got, size - got, (off_t)got);
    if (k < 0 && errno == EINTR) continue;
    if (k <= 0) {
      snprintf(r->why, sizeof r->why, "cannot read %s: %s", r->path, k < 0 ? strerror(errno) : "it shrank");
      free(buf);
      return NULL;
    }
    got += (size_t)k;
  }
  if (ratestate_parse(buf, size, now, kept) != 0) {
    /* Only timestamps of starts are lost: a window that starts afresh. */
    r->damaged = 1;
    *kept = 0;
  }
  return buf;
}

/* Writes the header and `n` records of `buf` over the state file. */
static int ratestate_write(ratelimit *r, const char *buf, int n) {
  size_t len = RATESTATE_HEADER_LEN + (size_t)n * RATESTATE_RECORD_LEN, done = 0;
  while (done < len) {
    ssize_t k = pwrite(r->fd, buf + done, len - done, (off_t)done);
    if (k < 0 && errno == EINTR) continue;
    if (k <= 0) goto io;
    done += (size_t)k;
  }
  if (ftruncate(r->fd, (off_t)len) != 0) goto io;
  return 0;
io:
  snprintf(r->why, sizeof r->why, "cannot write %s: %s", r->path, strerror(errno));
  return -1;
}

/*
 * The shared window's take: under the lock, reads the starts, and records a
 * start now when fewer than cap fall in the last window. Returns 0 (taken),
 * the seconds to wait, or -1 with r->why set. A lock held by someone else is
 * a short wait, until it has been held for r->patience seconds.
 */
static double ratestate_take(ratelimit *r) {
  char *buf;
  double now, delay = -1;
  int n;
  if (files_lock(r->fd, F_WRLCK) != 0) {
    if (errno != EAGAIN && errno != EACCES && errno != EINTR) {
      snprintf(r->why, sizeof r->why, "cannot lock %s: %s", r->path, strerror(errno));
      return -1;
    }
    now = clock_now();
    if (r->busy_since == 0) r->busy_since = now;
    if (now - r->busy_since > r->patience) {
      snprintf(r->why, sizeof r->why, "%s has stayed locked by another process for %.0f s: is one stopped?",
               r->path, now - r->busy_since);
      r->busy_since = 0;
      return -1;
    }
    return 0.002;
  }
  r->busy_since = 0;
  now = clock_now(); /* after the lock: the records stay in order */
  buf = ratestate_load(r, now, &n);
  if (buf != NULL) {
    delay = ratestate_decide(buf, &n, now, r->cap, r->window);
    if (delay == 0 && ratestate_write(r, buf, n) != 0) delay = -1;
    free(buf);
  }
  files_lock(r->fd, F_UNLCK);
  return delay;
}

/*
 * Reads the state file under the lock: NULL when it can be used, else the
 * message. One that holds no state is replaced by an empty one here
 * (r->damaged says so). When another process holds the lock just now, the
 * first take reads it instead (a take's wait can be interrupted; this one
 * could not).
 */
static const char *ratestate_check(ratelimit *r) {
  char *buf;
  int n, ok;
  if (files_lock(r->fd, F_WRLCK) != 0) {
    if (errno == EAGAIN || errno == EACCES || errno == EINTR) return NULL;
    snprintf(r->why, sizeof r->why, "cannot lock %s: %s", r->path, strerror(errno));
    return r->why;
  }
  buf = ratestate_load(r, clock_now(), &n);
  ok = buf != NULL;
  if (ok && r->damaged) {
    memcpy(buf, RATESTATE_HEADER, RATESTATE_HEADER_LEN);
    ok = ratestate_write(r, buf, 0) == 0;
  }
  free(buf);
  files_lock(r->fd, F_UNLCK);
  return ok ? NULL : r->why;
}

