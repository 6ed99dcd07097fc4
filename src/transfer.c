/*
 * One HTTP exchange on a client's reused libcurl easy handle: receive the
 * body under the size limit, watch for stalls, and report what happened so
 * the caller can decide between success, retry and error.
 */

/* What one attempt produced. */
typedef struct attempt {
  CURLcode code;
  long status;             /* 0 when no response line arrived */
  double elapsed;          /* seconds */
  curl_off_t retry_after;  /* seconds, -1 when the server did not say */
  const char *location;    /* redirect target (owned by libcurl) or NULL */
} attempt;

/*
 * libcurl write callback: appends to the client's body buffer, sized from
 * Content-Length when known, and aborts the transfer (return 0) as soon as
 * the body would exceed max_response_bytes.
 */
static size_t transfer_write(char *data, size_t size, size_t nmemb, void *ud) {
  gong_client *c = (gong_client *)ud;
  size_t n = size * nmemb, need = c->body.len + n;
  if (need > c->max_response_bytes || need < c->body.len) {
    c->too_large = 1;
    return 0;
  }
  if (need > c->body.cap) {
    size_t cap = c->body.cap ? c->body.cap : 16384;
    curl_off_t length = -1;
    char *grown;
    if (c->body.len == 0 &&
        curl_easy_getinfo(c->curl, CURLINFO_CONTENT_LENGTH_DOWNLOAD_T, &length) == CURLE_OK &&
        length > 0 && (curl_off_t)need <= length &&
        (size_t)length <= c->max_response_bytes)
      cap = (size_t)length;
    while (cap < need) cap = cap > c->max_response_bytes / 2 ? c->max_response_bytes : cap * 2;
    grown = (char *)realloc(c->body.data, cap);
    if (grown == NULL) {
      c->out_of_memory = 1;
      return 0;
    }
    c->body.data = grown;
    c->body.cap = cap;
  }
  memcpy(c->body.data + c->body.len, data, n);
  c->body.len = need;
  return n;
}

/*
 * libcurl progress callback: aborts when no byte has arrived for
 * stall_timeout seconds. libcurl calls it at least once a second even
 * while nothing moves, which is what makes the stall visible.
 */
static int transfer_progress(void *ud, curl_off_t dltotal, curl_off_t dlnow,
                             curl_off_t ultotal, curl_off_t ulnow) {
  gong_client *c = (gong_client *)ud;
  double now = clock_now();
  (void)dltotal;
  (void)ultotal;
  (void)ulnow;
  if (dlnow != c->progress_bytes) {
    c->progress_bytes = dlnow;
    c->progress_time = now;
  } else if (now - c->progress_time >= c->stall_timeout) {
    c->stalled = 1;
    return 1;
  }
  return 0;
}

/*
 * Releases the body buffer when it grew large, so one big response does not
 * pin its memory for the lifetime of the client.
 */
static void transfer_trim(gong_client *c) {
  if (c->body.cap > (1u << 20)) {
    free(c->body.data);
    c->body.data = NULL;
    c->body.cap = 0;
  }
  c->body.len = 0;
}

/* Runs one GET of `url` and fills `a`. The body is left in c->body. */
static void transfer_perform(gong_client *c, const char *url, attempt *a) {
  double start = clock_now();
  curl_off_t retry_after = 0;
  struct curl_header *h = NULL;
  char *location = NULL;
  c->body.len = 0;
  c->too_large = c->stalled = c->out_of_memory = 0;
  c->progress_bytes = 0;
  c->progress_time = start;
  c->errbuf[0] = '\0';
  a->status = 0;
  a->retry_after = -1;
  a->location = NULL;
  a->code = curl_easy_setopt(c->curl, CURLOPT_URL, url);
  if (a->code == CURLE_OK) a->code = curl_easy_perform(c->curl);
  a->elapsed = clock_now() - start;
  if (curl_easy_getinfo(c->curl, CURLINFO_RESPONSE_CODE, &a->status) != CURLE_OK)
    a->status = 0;
  if (a->status == 429 || a->status == 503) {
    /* libcurl parses both Retry-After forms; 0 is ambiguous, so look. */
    if (curl_easy_getinfo(c->curl, CURLINFO_RETRY_AFTER, &retry_after) == CURLE_OK &&
        (retry_after > 0 ||
         curl_easy_header(c->curl, "Retry-After", 0, CURLH_HEADER, -1, &h) == CURLHE_OK))
      a->retry_after = retry_after;
  }
  if (a->status >= 300 && a->status < 400 &&
      curl_easy_getinfo(c->curl, CURLINFO_REDIRECT_URL, &location) == CURLE_OK)
    a->location = location;
}
