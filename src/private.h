/*
 * What the files of gong.core share: their types, and the functions one file
 * calls in another (luv's private.h is the model). gong.c includes this
 * header first and every file after it, so no file depends on the order of
 * the others, and everything but luaopen_gong_core stays static.
 *
 * Data tables stay in the file that owns them; others reach them through a
 * function, except the names of an option's choices, which sit here beside
 * the enums they spell.
 */
#ifndef GONG_PRIVATE_H
#define GONG_PRIVATE_H

#include <limits.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <curl/curl.h>

#include "compat.h"

/* The version comes from the build: the Makefile and the rockspec pass lua/gong/version.lua's. */
#ifndef GONG_VERSION
#error "GONG_VERSION is not defined: build with make, or luarocks make, which set it"
#endif

/* Slots of the module state table, the upvalue every function shares (gong.c). */
/* STATE_WARN: the host's function for warnings (core.on_warning), or nil. */
enum { STATE_DECODE = 1, STATE_NULL = 2, STATE_ENCODE = 3, STATE_WARN = 4 };

/* ---- errors: error.c ------------------------------------------------------ */

#define ERROR_MT "gong.error"
#define ERROR_MESSAGE_MAX 400

static void error_one_line(char *out, size_t outsize, const char *s, size_t len);
static void error_push(lua_State *L, const char *kind, const char *fmt, ...);
static int error_raise(lua_State *L, const char *kind, const char *fmt, ...);
static void error_set_string(lua_State *L, const char *name, const char *s);
static void error_set_integer(lua_State *L, const char *name, lua_Integer v);
static void error_set_boolean(lua_State *L, const char *name, int v);
static int error_is_at(lua_State *L, int idx);
static int error_find_choice(lua_State *L, int idx, const char *const *names);
static void error_add_choices(luaL_Buffer *b, const char *const *names);
static lua_Number error_check_number(lua_State *L, int arg, const char *who, const char *name);
static const char *error_check_string(lua_State *L, int arg, const char *who, const char *name, size_t *len);
static void error_open(lua_State *L);
static void error_warn(lua_State *L, int state, const char *fmt, ...);
static int error_on_warning(lua_State *L);

/* ---- time: clock.c -------------------------------------------------------- */

static double clock_now(void);
static void clock_sleep(double seconds);

/* ---- interrupts and signals: signals.c ------------------------------------ */

/*
 * An interrupt watch, taken when a wait begins: the wait (a transfer, a rate
 * limit or retry sleep, a driver's wait) ends early when an interrupt
 * arrives: our own SIGINT, or a hook set on the state since the watch began
 * (lua.c and luajit.c answer SIGINT with a count hook that raises
 * "interrupted!" once control is back in Lua).
 */
typedef struct interrupt_watch {
  lua_State *L;
  lua_Hook hook;
  int mask, count;
  int seen; /* an interrupt was seen: stays so */
} interrupt_watch;

static void interrupt_watch_start(interrupt_watch *w, lua_State *L);
static int interrupt_pending(interrupt_watch *w);
static int interrupt_sleep(interrupt_watch *w, double seconds);
static int signals_interrupted(void);

/* ---- URLs: url.c ---------------------------------------------------------- */

static int url_is_unreserved(unsigned char ch);
static size_t url_escape(char *dst, const char *src, size_t len, int segment);
static void url_add_escaped(luaL_Buffer *b, const char *src, size_t len, int segment);
static const char *url_check_base(const char *url, int allow_http, const char **reason);

/* ---- the APIs' wire format: api.c, decode.c ------------------------------- */

/* FIELD_COUNT: an integer from 0, one a double holds exactly (below 2^53). */
enum { FIELD_STRING, FIELD_NUMBER, FIELD_COUNT, FIELD_OBJECT, FIELD_ARRAY };

typedef struct field_rule {
  const char *name; /* the field's name in the records gong hands out */
  int type;
  const char *from; /* its name in the response when that differs, else NULL */
} field_rule;

/* What one operation's 200 body must look like (the shapes are in api.c). */
typedef struct response_shape {
  const char *list_key;   /* "folders", "calls", ... */
  const field_rule *rules;
  const char *cursor_in;  /* paged: the object whose API_CURSOR names the next page; else NULL */
} response_shape;

/* The field of a paged answer's cursor object, and of a request body, that names the next page. */
#define API_CURSOR "cursor"

/* How a request's one value (a folder id, a workspace id) goes into its URL. */
enum { VALUE_NONE, VALUE_SEGMENT, VALUE_QUERY };

/*
 * One request as an API serves it: base URL + prefix + the value encoded +
 * suffix; its answer's shape; for the Calls API, the empty-result rule: Gong
 * answers 404 "No calls found corresponding to the provided filters" where an
 * empty list is meant.
 */
typedef struct endpoint {
  const char *method; /* "GET" or "POST" (with a JSON body) */
  const char *prefix;
  int value;
  const char *suffix;
  const response_shape *shape;
  int empty_404;
} endpoint;

/* The requests every API has, as indexes into its endpoint table. */
enum { EP_FOLDERS, EP_WORKSPACE_FOLDERS, EP_CALLS, EP_WORKSPACES, EP_CALL_DETAILS, EP_TRANSCRIPTS, EP_COUNT };

/* The values of the option `api`: "auto" picks by the base URL's host (api_for_host). */
enum { API_AUTO, API_CONTRACT, API_PUBLIC };
static const char *const api_names[] = {"auto", "contract", "public", NULL};

/* At most this many call ids go in one Calls API request (Gong's limit). */
#define API_MAX_BATCH 100

static const endpoint *api_endpoints(int api);
static int api_for_host(const char *url);
static int api_lua_for(lua_State *L);
static int api_is_empty_result(const char *message);
static void api_push_selector(lua_State *L, int opts, const char *who);
static void api_push_body(lua_State *L, int ids, int selector, int cursor);
static void api_key_records(lua_State *L, int which, int list);
static void api_export(lua_State *L);

static const char *decode_response(lua_State *L, int state, int body, const response_shape *shape, char *buf,
                                   size_t bufsize);
static void decode_error_body(lua_State *L, int state, int err, const char *body, size_t len, char *buf,
                              size_t bufsize);

/* ---- one HTTP exchange: transfer.c ---------------------------------------- */

/* What every transfer of a client shares: its limits and its request headers. */
typedef struct transfer_limits {
  size_t max_response_bytes;
  double stall_timeout;   /* seconds without a byte */
  double timeout;         /* seconds for a whole attempt */
  double connect_timeout; /* seconds to connect */
  struct curl_slist *get_headers, *post_headers; /* owned by the client */
} transfer_limits;

typedef struct body_buffer {
  char *data;
  size_t len, cap;
} body_buffer;

typedef struct transfer {
  CURL *curl;
  const transfer_limits *limits;
  interrupt_watch *watch; /* of the wait this transfer is part of, or NULL */
  body_buffer body;
  /* State of the attempt in flight, written by the libcurl callbacks. */
  int too_large, stalled, out_of_memory, interrupted;
  curl_off_t progress_bytes;
  double progress_time, started;
  char errbuf[CURL_ERROR_SIZE];
  unsigned token_gen; /* the generation of the token set on the handle (token.c) */
  int cut;            /* the attempt under way has the deadline's time left as its timeout, not the limit's */
} transfer;

/*
 * The longest Retry-After taken as said, a year: a longer one, or a number
 * too large to read, is RETRY_AFTER_BEYOND, longer than any max_retry_wait
 * and no number worth reporting as the server's.
 */
#define RETRY_AFTER_MAX ((curl_off_t)366 * 86400)
#define RETRY_AFTER_BEYOND (RETRY_AFTER_MAX + 1)

/* What one attempt produced: everything retries and errors are decided from. */
typedef struct attempt {
  CURLcode code;
  long status;            /* 0 when no response line arrived */
  double elapsed;         /* seconds */
  curl_off_t retry_after; /* seconds, -1 when the server did not say (or said nothing readable) */
  const char *location;   /* redirect target (owned by libcurl) or NULL */
  int too_large;          /* the body outgrew max_response_bytes */
  int stalled;            /* no byte for stall_timeout */
  int out_of_memory;      /* the body could not be stored */
  int interrupted;        /* an interrupt stopped it (see signals.c) */
  int connected;          /* a connection to the server was established */
  int cut;                /* the request's deadline bounded it (its timeout was the time left) */
  int late;               /* never started: the rate limit held it back past the request's deadline */
} attempt;

static CURLcode transfer_bind(transfer *t);
static void transfer_trim(transfer *t);
static void transfer_free(transfer *t);
static CURLcode transfer_begin(transfer *t, const char *url, const char *body, size_t len);
static void transfer_end(transfer *t, CURLcode code, attempt *a);
static void transfer_perform(transfer *t, const char *url, const char *body, size_t len, attempt *a);
static void attempt_interrupted(attempt *a);
static void attempt_late(attempt *a);
static const char *attempt_timeout(const attempt *a);
static int attempt_ok(const attempt *a);

/* ---- retries: retry.c ----------------------------------------------------- */

typedef struct retry_policy {
  int max_retries;       /* extra attempts after the first */
  double backoff_base;   /* first backoff ceiling, seconds */
  double backoff_max;    /* cap on one backoff wait, seconds */
  double max_retry_wait; /* longest Retry-After we sleep through */
  uint64_t rng;          /* xorshift state for the jitter */
} retry_policy;

static void retry_seed(retry_policy *p, const void *salt);
static int retry_is_transient(const attempt *a);
static int retry_halts_everything(const retry_policy *p, const attempt *a);
static double retry_after_failure(retry_policy *p, int transient, double retry_after, int attempts);
static double retry_wait(retry_policy *p, const attempt *a, int attempts);

/* ---- the rate window: ratelimit.c, ratestate.c, statedir.c ---------------- */

/* The most starts a window may hold, in memory or in a state file. */
#define RATELIMIT_MAX_CAP 10000
/* The requests Gong allows a tenant a day (core.DAILY_REQUESTS), against which the day's count is told. */
#define RATE_DAILY_REQUESTS 10000

/* rate_scope: whose window a client's starts count in. */
enum { RATE_SCOPE_CLIENT, RATE_SCOPE_HOST };
static const char *const rate_scope_names[] = {"client", "host", NULL};

/* What 429s taught the window, and the day's count (rateadapt.c); all zero: nothing yet. */
typedef struct rate_adapt {
  double rate;      /* requests/s after the last cut; 0: the configured rate */
  double threshold; /* up to it the rate comes back fast, past it slowly */
  double cut_at;    /* when the last cut was made, monotonic seconds */
  double until;     /* no start before then (a Retry-After), monotonic seconds */
  long day;         /* the UTC day `today` counts, days since 1970 */
  long today;       /* starts on that day */
} rate_adapt;

/* The 429s answered since the window last applied them. */
typedef struct rate_refusal {
  int pending;
  double started; /* the earliest start of a refused request */
  double at;      /* the latest refusal */
  double until;   /* the latest end of a Retry-After, 0 for none */
} rate_refusal;

#define RATEADAPT_MAX_TODAY 9999999999L

typedef struct ratelimit {
  int cap;       /* starts allowed per window at the configured rate; 0 = limiter off */
  int count;     /* starts recorded so far, at most cap */
  int head;      /* index of the oldest recorded start */
  double rate;   /* the configured rate, requests/s */
  double *starts;
  rate_adapt adapt;     /* the client's own; for rate_scope "host", as last read from the file */
  rate_refusal refused; /* 429s to apply at the next take */
  /* rate_scope "host": */
  int fd;              /* the state file, when path is set */
  char *path;          /* its name, for messages; NULL for a window of the client's own */
  double busy_since;   /* when a take first found the file locked; 0 when it was not */
  int damaged;         /* the file held no state when read: it is being replaced */
  double patience;     /* how long the file may stay locked before that is an error */
  char why[PATH_MAX + 160]; /* the message of a take that failed */
} ratelimit;

static void ratelimit_shape(double rate, int *cap, double *window);
static int ratelimit_init(ratelimit *r, double rate);
static void ratelimit_free(ratelimit *r);
static double ratelimit_take(ratelimit *r, double now);
static void ratelimit_refused(ratelimit *r, double started, double at, double retry_after);
static long ratelimit_today(ratelimit *r);
static const char *ratelimit_share(ratelimit *r, const char *tenant, double patience);

/* The state file's format, and the window's decision on it (ratestate.c). */
#define RATESTATE_HEADER "gong rate state 2\n"
#define RATESTATE_HEADER_V1 "gong rate state 1\n" /* read too: no line of what 429s taught */
#define RATESTATE_HEADER_LEN (sizeof RATESTATE_HEADER - 1)
#define RATESTATE_META_FORMAT "%013.6f %013.6f %017.6f %017.6f %06ld %010ld\n"
#define RATESTATE_META_LEN 82
#define RATESTATE_PREFIX_LEN (RATESTATE_HEADER_LEN + RATESTATE_META_LEN)
#define RATESTATE_RECORD_LEN 18
#define RATESTATE_MAX_BYTES (RATESTATE_PREFIX_LEN + (size_t)RATELIMIT_MAX_CAP * RATESTATE_RECORD_LEN)
/* Room to parse a state of `size` bytes in: a version 1 state grows by its line, a start by its record. */
#define RATESTATE_ROOM(size) ((size) + RATESTATE_META_LEN + RATESTATE_RECORD_LEN)

static int ratestate_parse(char *buf, size_t size, double now, int *kept, rate_adapt *a);
static double ratestate_step(char *buf, int *n, rate_adapt *a, rate_refusal *p, double configured, double now);
static void ratestate_store(char *buf, const rate_adapt *a);
static int ratestate_stuck(ratelimit *r, double now);
static double ratestate_take(ratelimit *r);
static void ratestate_peek(ratelimit *r);
static const char *ratestate_check(ratelimit *r);

static double rateadapt_rate(const rate_adapt *a, double configured, double now);
static void rateadapt_refused(rate_refusal *p, double started, double at, double retry_after);
static int rateadapt_merge(rate_adapt *a, rate_refusal *p, double configured);
static void rateadapt_count(rate_adapt *a);
static long rateadapt_today(const rate_adapt *a);
static void rateadapt_format(const rate_adapt *a, char *p);
static int rateadapt_parse(const char *p, rate_adapt *a);

static int statedir_open(const char *tenant, char *path, size_t size, char *why, size_t whysize);

/* ---- files: files.c ------------------------------------------------------- */

static int files_lock(int fd, short type);

/* ---- a token function's tokens: token.c ----------------------------------- */

typedef struct token_source {
  int ref;         /* registry: the function; LUA_NOREF for a fixed token, or none */
  char *value;     /* the token in use (malloc'd), NULL until asked */
  size_t len;
  unsigned gen;    /* bumped by every new value; 0: none yet */
  double renew_at; /* clock_now() after which the function is asked again; 0: never */
} token_source;

static void secret_free(char *p, size_t len);
static void token_release(lua_State *L, token_source *ts);
static int token_current(lua_State *L, token_source *ts);
static void token_apply(const token_source *ts, CURL *curl, unsigned *applied);
static int token_refused(lua_State *L, token_source *ts, unsigned used);

/* ---- the options of new(): options.c -------------------------------------- */

#define DEFAULT_BASE_URL "https://api.gong.io/v2"

/* The options once read; strings stay owned by the options table. */
typedef struct client_config {
  const char *access_key, *access_key_secret, *token, *base_url, *user_agent, *ca_file;
  double timeout, connect_timeout, stall_timeout, max_response_bytes, deadline;
  double max_retries, max_retry_wait, backoff_base, backoff_max, rate;
  int allow_http, insecure, api, rate_scope;
  int headers;  /* stack index of the headers table, 0 when there is none */
  int token_fn; /* stack index of a token function (see token.c), 0 when there is none */
  int on_wait;  /* stack index of the on_wait function (see step.c), 0 when there is none */
  int on_attempt; /* stack index of the function told of each attempt (step.c), 0 when there is none */
} client_config;

static void options_read(lua_State *L, int opts, client_config *cfg);
static void option_push_error(lua_State *L, const char *name, const char *why, const char *reason);
static int option_error(lua_State *L, const char *name, const char *why);
static int option_error_because(lua_State *L, const char *name, const char *why, const char *reason);
static void options_export(lua_State *L);

/* ---- the client: client.c, configure.c ------------------------------------ */

#define CLIENT_MT "gong.client"

enum { AUTH_NONE, AUTH_BASIC, AUTH_BEARER };

typedef struct gong_client {
  transfer main; /* one easy handle, reused: keep-alive and TLS session reuse */
  transfer_limits limits;
  struct curl_slist *headers;
  char *base_url; /* without trailing slash; kept after close for tostring */
  size_t base_len;
  int api;                   /* API_CONTRACT or API_PUBLIC, "auto" resolved */
  char tenant[17];           /* who the rate limit is Gong's for, hashed (configure.c) */
  const endpoint *endpoints; /* of the client's API */
  int auth, closed;
  int running; /* blocking requests under way: close() in their callbacks only marks the client closed */
  lua_Integer requests; /* attempts made, by every engine: client:stats() */
  retry_policy retry;
  ratelimit rate;
  token_source token; /* a token function's, when the option is one */
  double deadline;    /* seconds a request may take, its attempts and waits included; 0: no limit */
  int on_wait;        /* registry: the on_wait function; LUA_NOREF for none */
  int on_attempt;     /* registry: the function told of each attempt (step.c); LUA_NOREF for none */
} gong_client;

static gong_client *client_check(lua_State *L, const char *who);
static void client_configure(lua_State *L, gong_client *c, int opts);
static void client_push_closed(lua_State *L, const char *method);
static void client_release(lua_State *L, gong_client *c, int client);

/* ---- request kinds: kinds.c ----------------------------------------------- */

/* How a request kind takes its arguments. */
enum {
  ARG_NONE,      /* nothing */
  ARG_PARAMS,    /* an optional table of query parameters ({workspaceId}) */
  ARG_FOLDER_ID, /* a folder id, one path segment or query value */
  ARG_CALL_IDS   /* a page of call ids, the kind's options, the next page's cursor */
};

/*
 * One request kind, a row of kinds.c's table: every host's method of that
 * name is made from it (the core's, the driver's, gong.loop's, gong.resty's).
 */
typedef struct request_kind {
  const char *name; /* the method */
  int argument;     /* ARG_* */
  int endpoint;     /* EP_* */
  int filtered;     /* ARG_PARAMS: the endpoint when a parameter is given; else -1 */
  int keyed;        /* the answer's records are keyed by call id (api_key_records) */
  int selects;      /* the body has a contentSelector from the options (api_push_selector) */
} request_kind;

static const request_kind *kinds_all(void);
static const request_kind *kinds_find(lua_State *L, int arg);
static const endpoint *kinds_prepare(lua_State *L, gong_client *c, const request_kind *k, int arg);
static void kinds_finish(lua_State *L, const request_kind *k, int results);
static void kinds_export(lua_State *L);

/* ---- the attempt step: step.c --------------------------------------------- */

/* Why a request waits before its next attempt, as on_wait hears it (step.c names them). */
enum { WAIT_RATE_LIMITED, WAIT_SERVER, WAIT_TIMEOUT, WAIT_NETWORK, WAIT_RATE };

/* A wait of a request before its next attempt: what the client's on_wait is told. */
typedef struct wait_note {
  int reason;          /* WAIT_* */
  double seconds;      /* how long */
  int attempt;         /* the attempt that follows it, 1 for the first */
  long status;         /* the HTTP status of the failed attempt; 0 for none */
  const char *timeout; /* which limit ended the failed attempt: "connect", "total", "stall"; or NULL */
  double elapsed;      /* how long the failed attempt took; -1 for a wait of the rate limit */
} wait_note;

/* One request's attempts, as every engine keeps them (step_begin starts them). */
typedef struct request_attempts {
  int made;        /* attempts started */
  int renewed;     /* the token was renewed after a 401 */
  double started;  /* when the last attempt started, monotonic seconds */
  double deadline; /* when the request must have ended, monotonic seconds; 0: never */
  double refused;  /* the wait the deadline refused (a retry's or the rate limit's); -1: none */
  int noted;       /* `note` holds a wait on_wait has not been told yet */
  wait_note note;
} request_attempts;

/* Before an attempt: go, wait, the request failed (its error pushed), or its deadline comes first. */
enum { STEP_GO, STEP_WAIT, STEP_FAILED, STEP_LATE };
/* After an attempt: try again after a wait, or the attempt is the request's outcome. */
enum { STEP_RETRY = 4, STEP_DONE };

static void step_begin(const gong_client *c, request_attempts *r, double now);
static int step_before(lua_State *L, gong_client *c, transfer *t, request_attempts *r, double now,
                       double *delay);
static int step_after(lua_State *L, gong_client *c, const transfer *t, request_attempts *r, const attempt *a,
                      double *wait);
static void step_push_note(lua_State *L, const wait_note *n, const gong_client *c, const char *kind);
static int step_tell(lua_State *L, gong_client *c, request_attempts *r, const char *kind);
static void step_push_rate_error(lua_State *L, const char *why);
static int step_retry_in(lua_State *L);

/* ---- from an attempt to Lua values: outcome.c ----------------------------- */

/* What a request was, for decoding its answer and for messages. */
typedef struct request_info {
  const gong_client *c; /* its base URL's length, its retry policy, its deadline */
  const endpoint *ep;
  int urlidx;     /* stack index of the full URL */
  int attempts;
  double refused; /* the wait the request's deadline refused; -1: none */
} request_info;

static void outcome_push(lua_State *L, int state, transfer *t, const attempt *a, const request_info *r);
static void outcome_push_transfer_error(lua_State *L, const transfer *t, const attempt *a, const char *what);
static void outcome_say_deadline(lua_State *L, double refused, double deadline);

/* ---- requests: request.c (blocking), driver.c and driver_io.c (many at once) */

static int request_blocking(lua_State *L, gong_client *c, const request_kind *k, const endpoint *ep, int url);
static void request_open(lua_State *L, int state, int methods);

/* Of a batch: how many requests at once by default, and at most. */
#define BATCH_DEFAULT_CONCURRENCY 3
#define BATCH_MAX_CONCURRENCY 64

enum { DRIVER_WAITING, DRIVER_RUNNING };

typedef struct driver_request {
  transfer t; /* first member: CURLOPT_PRIVATE points here */
  lua_Integer id;
  const request_kind *kind;
  const endpoint *ep;
  request_attempts at;
  int state;
  double not_before; /* earliest start of the next attempt */
  struct driver_request *next;
} driver_request;

typedef struct driver_watch {
  curl_socket_t fd;
  int what;
} driver_watch;

/* A wait of one of the driver's requests, for the effects to tell (on_wait). */
typedef struct driver_waiting {
  lua_Integer id;
  const char *kind; /* the request's kind */
  wait_note note;
} driver_waiting;

typedef struct gong_driver {
  CURLM *multi;             /* NULL once the driver let go of libcurl */
  gong_client *c;           /* kept alive by the driver's user value */
  int sockets;              /* the host watches the sockets (client:driver()); else wait() polls */
  driver_request *first;    /* live requests, oldest first */
  driver_request *idle;     /* finished requests' transfers, kept for the next ones */
  int nidle;
  lua_Integer next_id;
  double curl_deadline;     /* when libcurl wants timeout() called; -1: never */
  driver_watch *watch;      /* socket changes since the effects were last read */
  int nwatch, capwatch, out_of_memory;
  driver_waiting *waits;       /* waits since the effects were last read, when the client has on_wait */
  int nwaits, capwaits;
  int running;              /* requests libcurl has */
  int room;                 /* how many libcurl may have while the connection does not multiplex */
  int multiplex;            /* the connection is HTTP/2 or later: requests share it at once */
  interrupt_watch *interrupt; /* of the wait() under way, for its transfers */
  int stepping;             /* a step is under way: close() from its token function waits for its end */
  int close_pending;        /* close() was called during the step */
} gong_driver;

#define DRIVER_MT "gong.driver"

/* A driver's user value: the client it keeps alive, and each request's {url, body}. */
enum { DRIVER_CLIENT = 1, DRIVER_VALUES = 2 };

static int driver_new(lua_State *L);
static gong_driver *driver_check(lua_State *L, const char *who);
static int driver_start_request(lua_State *L);
static int driver_cancel(lua_State *L);
static int driver_pending(lua_State *L);
static int driver_closed(lua_State *L);
static int driver_close(lua_State *L);
static int driver_room(const gong_driver *d);
static void driver_step(lua_State *L, int self, gong_driver *d, int done);
static int driver_effects(lua_State *L, int self, gong_driver *d, int done);
static void driver_open(lua_State *L, int state);
static void driver_close_cached(lua_State *L, int client);

#endif /* GONG_PRIVATE_H */
