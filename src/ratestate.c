/*
 * The state file of a shared rate window (rate_scope "host"): its format,
 * the window's decision on it, and taking a start under its lock.
 *
 * A header line; in version 2 a line of what 429s taught the window and of
 * the day's count (rateadapt.c; version 1, which had none, is read as
 * nothing taught yet, and rewritten as version 2); then one fixed-width
 * record per start, oldest first: seconds on the monotonic clock (shared by every process of
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
 * Checks a state's `size` bytes at `buf` (a header, its line in version 2,
 * and records; or nothing at all) and keeps the records no older than
 * RATESTATE_KEEP before `now`, oldest first, at RATESTATE_PREFIX_LEN; records
 * ahead of `now` were written before the machine booted and are dropped.
 * Sets *kept to their count and *a to the line (all zero for none); returns
 * 0, or -1 when it is not a state. `buf` has RATESTATE_ROOM(size) bytes.
 */
static int ratestate_parse(char *buf, size_t size, double now, int *kept, rate_adapt *a) {
  size_t i, from = RATESTATE_PREFIX_LEN;
  int n = 0;
  double last = 0;
  *kept = 0;
  memset(a, 0, sizeof *a);
  if (size == 0) return 0; /* a file just made */
  if (size > RATESTATE_MAX_BYTES || size < RATESTATE_HEADER_LEN) return -1;
  if (memcmp(buf, RATESTATE_HEADER_V1, RATESTATE_HEADER_LEN) == 0) {
    /* Version 1: its records move up to where version 2's start. */
    if (size + RATESTATE_META_LEN > RATESTATE_MAX_BYTES) return -1;
    memmove(buf + RATESTATE_PREFIX_LEN, buf + RATESTATE_HEADER_LEN, size - RATESTATE_HEADER_LEN);
    size += RATESTATE_META_LEN;
  } else if (memcmp(buf, RATESTATE_HEADER, RATESTATE_HEADER_LEN) != 0 || size < RATESTATE_PREFIX_LEN ||
             rateadapt_parse(buf + RATESTATE_HEADER_LEN, a) != 0) {
    memset(a, 0, sizeof *a);
    return -1;
  }
  if ((size - from) % RATESTATE_RECORD_LEN != 0) {
    memset(a, 0, sizeof *a);
    return -1;
  }
  for (i = from; i < size; i += RATESTATE_RECORD_LEN) {
    double t = ratestate_record(buf + i);
    if (t < 0 || t < last) {
      memset(a, 0, sizeof *a);
      return -1;
    }
    last = t;
    if (t > now + 1 || t <= now - RATESTATE_KEEP) continue;
    memmove(buf + RATESTATE_PREFIX_LEN + (size_t)n * RATESTATE_RECORD_LEN, buf + i, RATESTATE_RECORD_LEN);
    n++;
  }
  /* A pause or a cut ahead of now was made before the machine booted. */
  if (a->until > now + 1 || a->cut_at > now + 1) a->rate = a->threshold = a->cut_at = a->until = 0;
  *kept = n;
  return 0;
}

/* Writes the header and the line of `a` before the records of `buf`. */
static void ratestate_store(char *buf, const rate_adapt *a) {
  memcpy(buf, RATESTATE_HEADER, RATESTATE_HEADER_LEN);
  rateadapt_format(a, buf + RATESTATE_HEADER_LEN);
}

/*
 * The window's decision on `n` records (oldest first) at RATESTATE_PREFIX_LEN
 * in `buf`, and `a` (what 429s taught, with the refusals `p` applied), for a
 * client configured at `configured` requests/s: during a Retry-After, the
 * seconds until it ends; when fewer starts than the rate allows fall in its
 * window before `now`, appends a start at `now` (forgetting the oldest of
 * RATELIMIT_MAX_CAP), counts it in the day's, and returns 0; otherwise the
 * seconds until one falls out. `buf` has room for one more, and ends up a
 * whole state either way.
 */
static double ratestate_step(char *buf, int *n, rate_adapt *a, rate_refusal *p, double configured, double now) {
  char *records = buf + RATESTATE_PREFIX_LEN;
  double window;
  int k, cap, in_window = 0;
  rateadapt_merge(a, p, configured);
  ratestate_store(buf, a);
  if (now < a->until) return a->until - now;
  ratelimit_shape(rateadapt_rate(a, configured, now), &cap, &window);
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
  ratestate_put(records + (size_t)*n * RATESTATE_RECORD_LEN, now);
  (*n)++;
  rateadapt_count(a);
  ratestate_store(buf, a);
  return 0;
}

/*
 * Reads the state file (locked by the caller) and parses it: returns a
 * buffer for the caller to free, with room for one more record, or NULL with
 * r->why set. A file that holds no state (damaged, or not gong's) reads as
 * an empty one, with r->damaged set: the next write replaces it.
 */
static char *ratestate_load(ratelimit *r, double now, int *kept, rate_adapt *a) {
  struct stat st;
  size_t size, got = 0;
  char *buf;
  if (fstat(r->fd, &st) != 0) {
    snprintf(r->why, sizeof r->why, "cannot read %s: %s", r->path, strerror(errno));
    return NULL;
  }
  size = (size_t)st.st_size;
  if (size > RATESTATE_MAX_BYTES) size = RATESTATE_MAX_BYTES + 1; /* refused below, unread */
  buf = (char *)malloc(RATESTATE_ROOM(size) + RATESTATE_PREFIX_LEN);
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
  if (ratestate_parse(buf, size, now, kept, a) != 0) {
    /* Only timestamps of starts, a cut and a day's count are lost: a window that starts afresh. */
    r->damaged = 1;
    *kept = 0;
  }
  return buf;
}

/* Writes the header, the line and `n` records of `buf` over the state file. */
static int ratestate_write(ratelimit *r, const char *buf, int n) {
  size_t len = RATESTATE_PREFIX_LEN + (size_t)n * RATESTATE_RECORD_LEN, done = 0;
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
 * The shared window's take: under the lock, reads the state, applies the
 * 429s this client saw since, and records a start now when the window
 * allows one (ratestate_step). Returns 0 (taken),
 * the seconds to wait, or -1 with r->why set. A lock held by someone else is
 * a short wait, until it has been held for r->patience seconds.
 */
/*
 * True, with r->why saying so, when the last take found the shared file
 * locked by another process (and it has not been free since): what a
 * request whose patience or deadline runs out meanwhile is waiting for.
 */
static int ratestate_stuck(ratelimit *r, double now) {
  if (r->busy_since == 0) return 0;
  snprintf(r->why, sizeof r->why, "%s has stayed locked by another process for %.0f s: is one stopped?", r->path,
           now - r->busy_since);
  r->busy_since = 0;
  return 1;
}

static double ratestate_take(ratelimit *r) {
  char *buf;
  double now, delay = -1;
  int n;
  rate_adapt a;
  if (files_lock(r->fd, F_WRLCK) != 0) {
    if (errno != EAGAIN && errno != EACCES && errno != EINTR) {
      snprintf(r->why, sizeof r->why, "cannot lock %s: %s", r->path, strerror(errno));
      return -1;
    }
    now = clock_now();
    if (r->busy_since == 0) r->busy_since = now;
    if (now - r->busy_since > r->patience && ratestate_stuck(r, now)) return -1;
    return 0.002;
  }
  r->busy_since = 0;
  now = clock_now(); /* after the lock: the records stay in order */
  buf = ratestate_load(r, now, &n, &a);
  if (buf != NULL) {
    int taught = r->refused.pending;
    delay = ratestate_step(buf, &n, &a, &r->refused, r->rate, now);
    if ((delay == 0 || taught) && ratestate_write(r, buf, n) != 0) delay = -1;
    r->adapt = a;
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
  rate_adapt a;
  if (files_lock(r->fd, F_WRLCK) != 0) {
    if (errno == EAGAIN || errno == EACCES || errno == EINTR) return NULL;
    snprintf(r->why, sizeof r->why, "cannot lock %s: %s", r->path, strerror(errno));
    return r->why;
  }
  buf = ratestate_load(r, clock_now(), &n, &a);
  ok = buf != NULL;
  if (ok) r->adapt = a;
  if (ok && r->damaged) {
    ratestate_store(buf, &a);
    ok = ratestate_write(r, buf, 0) == 0;
  }
  free(buf);
  files_lock(r->fd, F_UNLCK);
  return ok ? NULL : r->why;
}


/*
 * Reads what the state file holds into r->adapt (the day's count, what
 * 429s taught), under the lock; when another process holds it just now, or
 * it cannot be read, r->adapt stays as last read.
 */
static void ratestate_peek(ratelimit *r) {
  char *buf;
  int n;
  rate_adapt a;
  if (files_lock(r->fd, F_RDLCK) != 0) return;
  buf = ratestate_load(r, clock_now(), &n, &a);
  if (buf != NULL) r->adapt = a;
  free(buf);
  files_lock(r->fd, F_UNLCK);
}
