/*
 * Where retries are decided, from the attempt alone: which failures are
 * worth another try, how long to wait before it (Retry-After when the server
 * says, otherwise exponential backoff with full jitter), and when a rate
 * limit means that no further request is worth starting at all.
 */
/* HTTP statuses that say "try again later" for an idempotent GET. */
static int retry_status_is_transient(long status) {
  return status == 429 || status == 500 || status == 502 || status == 503 ||
         status == 504;
}

/*
 * libcurl failures that a new attempt may cure: refused or dropped
 * connections, partial bodies, timeouts. Not: bad URLs, TLS verification
 * failures, name resolution (usually a typo), our own size limit.
 */
static int retry_curl_is_transient(CURLcode code) {
  switch (code) {
  case CURLE_COULDNT_CONNECT:
  case CURLE_SEND_ERROR:
  case CURLE_RECV_ERROR:
  case CURLE_GOT_NOTHING:
  case CURLE_PARTIAL_FILE:
  case CURLE_OPERATION_TIMEDOUT:
  case CURLE_HTTP2:
  case CURLE_HTTP2_STREAM:
  case CURLE_SSL_CONNECT_ERROR:
    return 1;
  default:
    return 0;
  }
}

/* A uniform number in [0, 1) from the policy's own generator. */
static double retry_random(retry_policy *p) {
  uint64_t x = p->rng;
  x ^= x << 13;
  x ^= x >> 7;
  x ^= x << 17;
  p->rng = x;
  return (double)(x >> 11) / 9007199254740992.0;
}

/* Seeds the jitter from something that differs per client and per run. */
static void retry_seed(retry_policy *p, const void *salt) {
  p->rng = (uint64_t)(uintptr_t)salt ^ (uint64_t)(clock_now() * 1e9) ^ 0x9e3779b97f4a7c15ull;
  if (p->rng == 0) p->rng = 1;
}

/*
 * Backoff before retry number `retry` (1 for the first retry): a uniform
 * wait in [0, min(backoff_max, backoff_base * 2^(retry-1))].
 */
static double retry_backoff(retry_policy *p, int retry) {
  double ceiling = p->backoff_base;
  int i;
  for (i = 1; i < retry && ceiling < p->backoff_max; i++) ceiling *= 2;
  if (ceiling > p->backoff_max) ceiling = p->backoff_max;
  return ceiling * retry_random(p);
}

/*
 * True when the attempt was refused by a rate limit that asks to wait longer
 * than max_retry_wait: no request to this server is worth starting until
 * then, so a batch stops starting new ones.
 */
static int retry_halts_everything(const retry_policy *p, const attempt *a) {
  return a->code == CURLE_OK && a->status == 429 && a->retry_after > p->max_retry_wait;
}

/* Whether a new attempt may cure the failure of `a`: the policy's first question. */
static int retry_is_transient(const attempt *a) {
  if (attempt_ok(a) || a->interrupted) return 0;
  if (a->code != CURLE_OK) return (a->stalled || retry_curl_is_transient(a->code)) && !a->too_large;
  return retry_status_is_transient(a->status);
}

/*
 * The wait before the next try after failed attempt number `attempts`, or -1
 * for none: a failure that is not transient, retries exhausted, or a
 * Retry-After (`retry_after` seconds, -1 when unsaid) beyond max_retry_wait,
 * which the caller gets to see at once.
 */
static double retry_after_failure(retry_policy *p, int transient, double retry_after, int attempts) {
  if (!transient || attempts > p->max_retries) return -1;
  if (retry_after > p->max_retry_wait) return -1;
  return retry_after >= 0 ? retry_after : retry_backoff(p, attempts);
}

/*
 * Decides what follows attempt number `attempts` of a request: returns the
 * seconds to wait before the next try, or -1 when there is none (success,
 * or see retry_after_failure).
 */
static double retry_wait(retry_policy *p, const attempt *a, int attempts) {
  return retry_after_failure(p, retry_is_transient(a), (double)a->retry_after, attempts);
}
