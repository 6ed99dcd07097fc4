/*
 * One HTTP exchange on a reused libcurl easy handle: receive the body under
 * the size limit, watch for stalls, and report what happened as an `attempt`,
 * from which the caller decides between success, retry and error (step.c).
 * The same transfer runs alone (curl_easy_perform, request.c) or among others
 * on a multi handle (driver.c). Its types are in private.h.
 */
#include <time.h>

/*
 * libcurl write callback: appends to the body buffer, sized from
 * Content-Length when known, and aborts the transfer (return 0) as soon as
 * the body would exceed max_response_bytes.
 */
static size_t transfer_write(char *data, size_t size, size_t nmemb, void *ud) {
  transfer *t = (transfer *)ud;
  size_t n = size * nmemb, need = t->body.len + n, max = t->limits->max_response_bytes;
  if (need > max || need < t->body.len) {
    t->too_large = 1;
    return 0;
  }
  if (need > t->body.cap) {
    size_t cap = t->body.cap ? t->body.cap : 16384;
    curl_off_t length = -1;
    char *grown;
    if (t->body.len == 0 &&
        curl_easy_getinfo(t->curl, CURLINFO_CONTENT_LENGTH_DOWNLOAD_T, &length) == CURLE_OK &&
        length > 0 && (curl_off_t)need <= length && (size_t)length <= max)
      cap = (size_t)length;
    while (cap < need) cap = cap > max / 2 ? max : cap * 2;
    grown = (char *)realloc(t->body.data, cap);
    if (grown == NULL) {
      t->out_of_memory = 1;
      return 0;
    }
    t->body.data = grown;
    t->body.cap = cap;
  }
  memcpy(t->body.data + t->body.len, data, n);
  t->body.len = need;
  return n;
}

/*
 * libcurl progress callback: aborts on an interrupt, and when no byte has
 * arrived for stall_timeout seconds. libcurl calls it at least once a second
 * even while nothing moves, which is what makes the stall visible, and at
 * once when a signal cuts its wait short, which is what makes Ctrl-C quick.
 */
static int transfer_progress(void *ud, curl_off_t dltotal, curl_off_t dlnow,
                             curl_off_t ultotal, curl_off_t ulnow) {
  transfer *t = (transfer *)ud;
  double now = clock_now();
  (void)dltotal;
  (void)ultotal;
  (void)ulnow;
  if (t->watch != NULL && interrupt_pending(t->watch)) {
    t->interrupted = 1;
    return 1;
  }
  if (dlnow != t->progress_bytes) {
    t->progress_bytes = dlnow;
    t->progress_time = now;
  } else if (now - t->progress_time >= t->limits->stall_timeout) {
    t->stalled = 1;
    return 1;
  }
  return 0;
}

/* Points the handle's callbacks and error buffer at `t`. */
static CURLcode transfer_bind(transfer *t) {
  CURLcode rc = curl_easy_setopt(t->curl, CURLOPT_WRITEFUNCTION, transfer_write);
  if (rc == CURLE_OK) rc = curl_easy_setopt(t->curl, CURLOPT_WRITEDATA, (void *)t);
  if (rc == CURLE_OK) rc = curl_easy_setopt(t->curl, CURLOPT_XFERINFOFUNCTION, transfer_progress);
  if (rc == CURLE_OK) rc = curl_easy_setopt(t->curl, CURLOPT_XFERINFODATA, (void *)t);
  if (rc == CURLE_OK) rc = curl_easy_setopt(t->curl, CURLOPT_NOPROGRESS, 0L);
  if (rc == CURLE_OK) rc = curl_easy_setopt(t->curl, CURLOPT_ERRORBUFFER, t->errbuf);
  if (rc == CURLE_OK) rc = curl_easy_setopt(t->curl, CURLOPT_PRIVATE, (void *)t);
  return rc;
}

/*
 * Releases the body buffer when it grew large, so one big response does not
 * pin its memory for the lifetime of the client.
 */
static void transfer_trim(transfer *t) {
  if (t->body.cap > (1u << 20)) {
    free(t->body.data);
    t->body.data = NULL;
    t->body.cap = 0;
  }
  t->body.len = 0;
}

/* Frees the handle and the buffer; idempotent. */
static void transfer_free(transfer *t) {
  if (t->curl != NULL) curl_easy_cleanup(t->curl);
  t->curl = NULL;
  free(t->body.data);
  t->body.data = NULL;
  t->body.cap = t->body.len = 0;
}

/*
 * Resets the attempt state and points the handle at `url`: a GET, or a POST
 * of the JSON `body` (`len` bytes), which must stay valid until the transfer ends.
 */
static CURLcode transfer_begin(transfer *t, const char *url, const char *body, size_t len) {
  CURLcode rc;
  t->started = t->progress_time = clock_now();
  t->body.len = 0;
  t->too_large = t->stalled = t->out_of_memory = t->interrupted = 0;
  t->progress_bytes = 0;
  t->errbuf[0] = '\0';
  if (body != NULL) {
    rc = curl_easy_setopt(t->curl, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)len);
    if (rc == CURLE_OK) rc = curl_easy_setopt(t->curl, CURLOPT_POSTFIELDS, body);
    if (rc == CURLE_OK) rc = curl_easy_setopt(t->curl, CURLOPT_HTTPHEADER, t->limits->post_headers);
  } else {
    rc = curl_easy_setopt(t->curl, CURLOPT_HTTPGET, 1L);
    if (rc == CURLE_OK) rc = curl_easy_setopt(t->curl, CURLOPT_HTTPHEADER, t->limits->get_headers);
  }
  if (rc == CURLE_OK) rc = curl_easy_setopt(t->curl, CURLOPT_URL, url);
  return rc;
}

/*
 * The seconds a Retry-After value (as sent, `value`) asks for: delta-seconds,
 * or an HTTP-date less now (0 once it is past). -1 for anything else, a
 * negative or fractional number included: read as unsaid, so the backoff
 * applies rather than a retry at once. A wait beyond RETRY_AFTER_MAX, or a
 * number too long to hold, is RETRY_AFTER_BEYOND.
 */
static curl_off_t transfer_retry_after(const char *value) {
  const char *p = value;
  curl_off_t n = 0;
  time_t date, now;
  while (*p == ' ' || *p == '\t') p++;
  if (*p >= '0' && *p <= '9') {
    for (; *p >= '0' && *p <= '9'; p++)
      if (n <= RETRY_AFTER_MAX) n = n * 10 + (*p - '0');
    while (*p == ' ' || *p == '\t') p++;
    if (*p != '\0') return -1;
    return n > RETRY_AFTER_MAX ? RETRY_AFTER_BEYOND : n;
  }
  /* Every HTTP-date form begins with the day's name; curl_getdate reads a
   * lone number or a sign as a date too. */
  if (!((*p >= 'A' && *p <= 'Z') || (*p >= 'a' && *p <= 'z'))) return -1;
  date = curl_getdate(p, NULL);
  if (date < 0) return -1;
  now = time(NULL);
  if (date <= now) return 0;
  return (curl_off_t)(date - now) > RETRY_AFTER_MAX ? RETRY_AFTER_BEYOND : (curl_off_t)(date - now);
}

/* Fills `a` from the finished transfer whose libcurl result is `code`. */
static void transfer_end(transfer *t, CURLcode code, attempt *a) {
  curl_off_t connect_time = 0, pretransfer_time = 0;
  struct curl_header *h = NULL;
  char *location = NULL;
  a->code = code;
  a->elapsed = clock_now() - t->started;
  a->status = 0;
  a->retry_after = -1;
  a->location = NULL;
  a->too_large = t->too_large || code == CURLE_FILESIZE_EXCEEDED;
  a->stalled = t->stalled;
  a->out_of_memory = t->out_of_memory;
  a->interrupted = t->interrupted;
  a->cut = t->cut && code == CURLE_OPERATION_TIMEDOUT;
  a->late = 0;
  /* The connect time is zero until a new connection is up, and stays zero for a
   * reused one, whose request was under way (pretransfer time set) instead. */
  curl_easy_getinfo(t->curl, CURLINFO_CONNECT_TIME_T, &connect_time);
  curl_easy_getinfo(t->curl, CURLINFO_PRETRANSFER_TIME_T, &pretransfer_time);
  a->connected = connect_time > 0 || pretransfer_time > 0;
  if (curl_easy_getinfo(t->curl, CURLINFO_RESPONSE_CODE, &a->status) != CURLE_OK)
    a->status = 0;
  /* Read here, not by CURLINFO_RETRY_AFTER: libcurl gives 0 for a value it
   * cannot read, which would mean "at once". The last one counts. */
  if ((a->status == 429 || a->status == 503) &&
      curl_easy_header(t->curl, "Retry-After", 0, CURLH_HEADER, -1, &h) == CURLHE_OK)
    a->retry_after = transfer_retry_after(h->value);
  if (a->status >= 300 && a->status < 400 &&
      curl_easy_getinfo(t->curl, CURLINFO_REDIRECT_URL, &location) == CURLE_OK)
    a->location = location;
}

/* Runs one blocking request (see transfer_begin) and fills `a`. The response is left in t->body. */
static void transfer_perform(transfer *t, const char *url, const char *body, size_t len, attempt *a) {
  CURLcode code = transfer_begin(t, url, body, len);
  if (code == CURLE_OK) code = curl_easy_perform(t->curl);
  transfer_end(t, code, a);
}

/* Fills `a` as an attempt an interrupt stopped before it began. */
static void attempt_interrupted(attempt *a) {
  memset(a, 0, sizeof *a);
  a->code = CURLE_ABORTED_BY_CALLBACK;
  a->retry_after = -1;
  a->interrupted = 1;
}

/* Fills `a` as an attempt that never started: the request's deadline came first (step.c). */
static void attempt_late(attempt *a) {
  memset(a, 0, sizeof *a);
  a->code = CURLE_OPERATION_TIMEDOUT;
  a->retry_after = -1;
  a->late = 1;
}

/*
 * Which limit ended attempt `a`, or NULL when none did: "deadline" (the
 * request's), "stall", "connect" or "total" (libcurl has one code for the
 * last two; whether a connection was up tells them apart).
 */
static const char *attempt_timeout(const attempt *a) {
  if (a->late || a->cut) return "deadline";
  if (a->stalled) return "stall";
  if (a->code != CURLE_OPERATION_TIMEDOUT) return NULL;
  return a->connected ? "total" : "connect";
}

/* True when the attempt succeeded: a complete 2xx response. */
static int attempt_ok(const attempt *a) {
  return a->code == CURLE_OK && a->status >= 200 && a->status < 300;
}
