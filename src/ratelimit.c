/*
 * Client-side rate limiting as a sliding window: at most `cap` request starts
 * in any window of `window` seconds (cap = rate and window = 1 s for whole
 * rates, plus a small margin). A token bucket with burst = rate would allow
 * 2 x rate starts inside one second; this never does, retries included.
 *
 * The window is the client's own (rate_scope "client"), or shared by every
 * process of the user on the machine that talks to the same tenant (rate_scope
 * "host"): then the starts live in a small state file, read and written under
 * an fcntl lock (ratelimit_share).
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

/*
 * Gong counts requests when they arrive, and arrival lags the start by a
 * varying few milliseconds (connection setup, network, server queues): two
 * starts exactly one window apart can land inside one window at the server.
 * Widening the window by this much keeps the server-side count within rate.
 */
#define RATELIMIT_MARGIN 0.05

/* The most starts a window may hold, in memory or in a state file. */
#define RATELIMIT_MAX_CAP 10000

/* rate_scope: whose window a client's starts count in. */
enum { RATE_SCOPE_CLIENT, RATE_SCOPE_HOST };
static const char *const rate_scope_names[] = {"client", "host", NULL};

typedef struct ratelimit {
  int cap;       /* starts allowed per window; 0 = limiter off */
  int count;     /* starts recorded so far, at most cap */
  int head;      /* index of the oldest recorded start */
  double window; /* seconds */
  double *starts;
  /* rate_scope "host": */
  int fd;              /* the state file, when path is set */
  char *path;          /* its name, for messages; NULL for a window of the client's own */
  double busy_since;   /* when a take first found the file locked; 0 when it was not */
  double patience;     /* how long the file may stay locked before that is an error */
  char why[PATH_MAX + 160]; /* the message of a take that failed */
} ratelimit;

/*
 * Sets up a limiter for `rate` requests per second (rate <= 0: off).
 * Fractional rates work too: 0.5 allows one start every 2 s.
 * Returns 0 when out of memory.
 */
/* The window of `rate` starts a second: cap starts in window seconds. */
static void ratelimit_shape(double rate, int *cap, double *window) {
  double whole = floor(rate);
  *cap = whole < 1 ? 1 : whole > RATELIMIT_MAX_CAP ? RATELIMIT_MAX_CAP : (int)whole;
  *window = (double)*cap / rate + RATELIMIT_MARGIN;
}

static int ratelimit_init(ratelimit *r, double rate) {
  r->count = r->head = 0;
  r->starts = NULL;
  r->fd = -1;
  r->path = NULL;
  r->busy_since = 0;
  r->patience = 0;
  r->why[0] = '\0';
  if (!(rate > 0)) {
    r->cap = 0;
    r->window = 0;
    return 1;
  }
  ratelimit_shape(rate, &r->cap, &r->window);
  r->starts = (double *)calloc((size_t)r->cap, sizeof(double));
  return r->starts != NULL;
}

static void ratelimit_free(ratelimit *r) {
  free(r->starts);
  r->starts = NULL;
  r->cap = 0;
  /* A zeroed limiter (a client whose configuration failed early) has no file. */
  if (r->path != NULL) close(r->fd);
  r->fd = -1;
  free(r->path);
  r->path = NULL;
}

/* Seconds to wait from `now` before the next start is allowed (0 = now). */
static double ratelimit_delay(const ratelimit *r, double now) {
  double until;
  if (r->cap == 0 || r->count < r->cap) return 0;
  until = r->starts[r->head] + r->window;
  return until > now ? until - now : 0;
}

/* Records a start at `now`, forgetting the oldest one once the window is full. */
static void ratelimit_record(ratelimit *r, double now) {
  if (r->cap == 0) return;
  if (r->count < r->cap) {
    r->starts[(r->head + r->count) % r->cap] = now;
    r->count++;
  } else {
    r->starts[r->head] = now;
    r->head = (r->head + 1) % r->cap;
  }
}

/*
 * The state file: a header line, then one fixed-width record per start,
 * oldest first: seconds on the monotonic clock (shared by every process of
 * the machine), "0000012345.678901\n". Records of one width keep a write cut
 * short by a crash readable: whatever mix of old and new records it leaves,
 * each is whole. Starts older than RATESTATE_KEEP seconds are dropped (no
 * limiter looks further back, whatever its rate, down to one a minute).
 */
#define RATESTATE_HEADER "gong rate state 1\n"
#define RATESTATE_HEADER_LEN (sizeof RATESTATE_HEADER - 1)
#define RATESTATE_RECORD_LEN 18
#define RATESTATE_KEEP 60.0
#define RATESTATE_MAX_BYTES (RATESTATE_HEADER_LEN + (size_t)RATELIMIT_MAX_CAP * RATESTATE_RECORD_LEN)

/* Open-file-description locks: one client's fd excludes another's even in the same process. */
#if defined(F_OFD_SETLK)
#define RATESTATE_SETLK F_OFD_SETLK
#elif defined(__linux__)
#define RATESTATE_SETLK 37 /* F_OFD_SETLK, which glibc names only with _GNU_SOURCE */
#else
#define RATESTATE_SETLK F_SETLK
#endif

static int ratestate_lock(int fd, short type) {
  struct flock l;
  memset(&l, 0, sizeof l);
  l.l_type = type;
  l.l_whence = SEEK_SET;
  return fcntl(fd, RATESTATE_SETLK, &l);
}

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
 * r->why set.
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
    snprintf(r->why, sizeof r->why,
             "%s is not a gong rate state file, or is damaged: remove it (gong makes a new one)", r->path);
    free(buf);
    return NULL;
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
  if (ratestate_lock(r->fd, F_WRLCK) != 0) {
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
  ratestate_lock(r->fd, F_UNLCK);
  return delay;
}

/*
 * Takes a start for now when the window allows it: returns 0 and counts the
 * start, or the seconds to wait before asking again, or -1 when the shared
 * state cannot be used (the message in r->why).
 */
static double ratelimit_take(ratelimit *r, double now) {
  double delay;
  if (r->cap == 0) return 0;
  if (r->path != NULL) return ratestate_take(r);
  delay = ratelimit_delay(r, now);
  if (delay > 0) return delay;
  ratelimit_record(r, now);
  return 0;
}

/*
 * A name for a tenant that does not show who it is: FNV-1a (64 bits) of
 * `len` bytes at `s`, as 16 hex digits and a NUL in `out`.
 */
static void ratelimit_tenant_name(const char *s, size_t len, char out[17]) {
  uint64_t h = 14695981039346656037ULL;
  size_t i;
  for (i = 0; i < len; i++) {
    h ^= (unsigned char)s[i];
    h *= 1099511628211ULL;
  }
  snprintf(out, 17, "%016llx", (unsigned long long)h);
}

/* Whether the directory `dir` (just made or found) is the user's own and private. */
static const char *ratestate_check_dir(const char *dir) {
  struct stat st;
  if (lstat(dir, &st) != 0) return strerror(errno);
  if (!S_ISDIR(st.st_mode)) return "it is not a directory";
  if (st.st_uid != geteuid()) return "it belongs to another user";
  if ((st.st_mode & 077) != 0) return "group or others may access it (chmod 700 it)";
  return NULL;
}

/*
 * Reads the state file under a shared lock: NULL when it is a state file,
 * else the message. When another process holds the lock just now, the first
 * take reads it instead (a take's wait can be interrupted; this one could not).
 */
static const char *ratestate_check(ratelimit *r) {
  char *buf;
  int n, ok;
  if (ratestate_lock(r->fd, F_RDLCK) != 0) {
    if (errno == EAGAIN || errno == EACCES || errno == EINTR) return NULL;
    snprintf(r->why, sizeof r->why, "cannot lock %s: %s", r->path, strerror(errno));
    return r->why;
  }
  buf = ratestate_load(r, clock_now(), &n);
  ok = buf != NULL;
  free(buf);
  ratestate_lock(r->fd, F_UNLCK);
  return ok ? NULL : r->why;
}

/*
 * Shares the limiter's window with every process of this user on this machine
 * that talks to the tenant named `tenant` (ratelimit_tenant_name): opens, or
 * makes, $XDG_RUNTIME_DIR/gong/<tenant> (else /tmp/gong-<uid>/<tenant>),
 * which must be the user's and private, and checks that it is a state file.
 * Returns NULL, or a message naming the directory or the file. `patience`:
 * how long another process may hold the lock.
 */
static const char *ratelimit_share(ratelimit *r, const char *tenant, double patience) {
  char dir[PATH_MAX], file[PATH_MAX + 32];
  const char *runtime = getenv("XDG_RUNTIME_DIR"), *why;
  struct stat st;
  int fd;
  if (r->cap == 0) return NULL;
  if (runtime != NULL && runtime[0] == '/')
    snprintf(dir, sizeof dir, "%s/gong", runtime);
  else
    snprintf(dir, sizeof dir, "/tmp/gong-%lu", (unsigned long)geteuid());
  if (mkdir(dir, 0700) != 0 && errno != EEXIST) {
    snprintf(r->why, sizeof r->why, "cannot make %s for the shared rate limit: %s", dir, strerror(errno));
    return r->why;
  }
  if ((why = ratestate_check_dir(dir)) != NULL) {
    snprintf(r->why, sizeof r->why, "refusing %s for the shared rate limit: %s", dir, why);
    return r->why;
  }
  snprintf(file, sizeof file, "%s/%s", dir, tenant);
  fd = open(file, O_RDWR | O_CREAT | O_NOFOLLOW | O_CLOEXEC, 0600);
  if (fd < 0) {
    snprintf(r->why, sizeof r->why, "cannot open %s for the shared rate limit: %s", file, strerror(errno));
    return r->why;
  }
  if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode) || st.st_uid != geteuid()) {
    close(fd);
    snprintf(r->why, sizeof r->why, "refusing %s for the shared rate limit: not a file of yours", file);
    return r->why;
  }
  r->path = (char *)malloc(strlen(file) + 1);
  if (r->path == NULL) {
    close(fd);
    return "out of memory";
  }
  strcpy(r->path, file);
  r->fd = fd;
  /* Read it once now, under the lock, so a damaged file is refused here. */
  r->patience = patience;
  return ratestate_check(r);
}

/*
 * core.rate_duration(rate, n) -> seconds: how long the limiter takes from
 * the first of n starts to the last at `rate` requests per second, its
 * margin included (0 for one start or none). What a plan of n requests
 * should expect, less the responses' latency.
 */
static int ratelimit_lua_duration(lua_State *L) {
  double rate = luaL_checknumber(L, 1), window;
  lua_Integer n = luaL_checkinteger(L, 2);
  int cap;
  luaL_argcheck(L, rate > 0, 1, "the rate must be > 0");
  ratelimit_shape(rate, &cap, &window);
  /* Starts go in windows of cap: start k (from 0) at floor(k / cap) windows. */
  lua_pushnumber(L, n <= 1 ? 0.0 : (double)((n - 1) / cap) * window);
  return 1;
}

/*
 * core.rate_window(state, now, rate) -> 0, new_state | delay | nil, message
 * The sliding window of a state kept elsewhere (gong.resty keeps it in an
 * nginx shared dict): `state` as this file's state files hold it (nil for
 * none yet), `now` in seconds on any clock all its users share. A start
 * that fits is recorded: 0 and the state to store. Otherwise the seconds to
 * wait before asking again.
 */
static int ratelimit_lua_window(lua_State *L) {
  size_t size = 0;
  const char *state = luaL_optlstring(L, 1, NULL, &size);
  double now = luaL_checknumber(L, 2), rate = luaL_checknumber(L, 3), window, delay;
  int cap, n;
  char *buf;
  if (!(rate > 0)) return luaL_argerror(L, 3, "rate must be > 0");
  if (!(now >= 0 && now < 1e10)) return luaL_argerror(L, 2, "now must be seconds from 0 to 1e10");
  ratelimit_shape(rate, &cap, &window);
  if (size > RATESTATE_MAX_BYTES) size = RATESTATE_MAX_BYTES + 1;
  buf = (char *)lua_newuserdatauv(L, size + RATESTATE_HEADER_LEN + RATESTATE_RECORD_LEN, 0);
  if (size > 0 && size <= RATESTATE_MAX_BYTES) memcpy(buf, state, size);
  if (ratestate_parse(buf, size, now, &n) != 0) {
    lua_pushnil(L);
    lua_pushliteral(L, "not a gong rate state, or a damaged one");
    return 2;
  }
  delay = ratestate_decide(buf, &n, now, cap, window);
  lua_pushnumber(L, delay);
  if (delay > 0) return 1;
  lua_pushlstring(L, buf, RATESTATE_HEADER_LEN + (size_t)n * RATESTATE_RECORD_LEN);
  return 2;
}

