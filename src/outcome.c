/*
 * From the final attempt of a request to what Lua gets: the decoded list and
 * the requestId, or nil and an error object saying what went wrong. Every
 * engine's requests end here: the blocking ones (request.c), the driver's
 * (driver.c), and the OAuth token request's failures (oauth.c).
 */

static const char *outcome_reason(long status) {
  switch (status) {
  case 400: return "Bad Request";
  case 401: return "Unauthorized";
  case 403: return "Forbidden";
  case 404: return "Not Found";
  case 405: return "Method Not Allowed";
  case 408: return "Request Timeout";
  case 429: return "Too Many Requests";
  case 500: return "Internal Server Error";
  case 502: return "Bad Gateway";
  case 503: return "Service Unavailable";
  case 504: return "Gateway Timeout";
  default: return status >= 300 && status < 400 ? "Redirect" : "Unexpected status";
  }
}

/* Sets the fields every error of a request carries: url and attempts. */
static void outcome_set_request(lua_State *L, const request_info *r) {
  lua_pushvalue(L, r->urlidx);
  lua_setfield(L, -2, "url");
  error_set_integer(L, "attempts", r->attempts);
}

/* libcurl's code for "too large" (8.6 on): a header line, or all the headers, over its limit. */
#if LIBCURL_VERSION_NUM >= 0x080600
#define OUTCOME_CURLE_TOO_LARGE CURLE_TOO_LARGE
#else
#define OUTCOME_CURLE_TOO_LARGE ((CURLcode)100)
#endif

/*
 * The name of libcurl's code when attempt `a` failed on a response header
 * larger than libcurl accepts, else NULL. libcurl says CURLE_TOO_LARGE since
 * 8.6, CURLE_OUT_OF_MEMORY before; out of memory with no byte of a body
 * stored, and not in our own buffer, is the header (libcurl passes no body
 * on before the headers are done, and running out of memory otherwise is all
 * but unheard of).
 */
static const char *outcome_header_too_large(const transfer *t, const attempt *a) {
  if (a->code == OUTCOME_CURLE_TOO_LARGE) return "CURLE_TOO_LARGE";
  if (a->code == CURLE_OUT_OF_MEMORY && !a->out_of_memory && t->body.len == 0) return "CURLE_OUT_OF_MEMORY";
  return NULL;
}

/* Pushes the error for a failed transfer (no complete response). */
static void outcome_push_transfer_error(lua_State *L, const transfer *t, const attempt *a,
                                        const char *what) {
  const transfer_limits *lim = t->limits;
  const char *header_code = outcome_header_too_large(t, a);
  if (a->interrupted) {
    error_push(L, "interrupted", "interrupted while waiting on %s", what);
  } else if (a->too_large) {
    error_push(L, "too_large", "response to %s exceeds max_response_bytes (%.0f bytes)", what,
               (double)lim->max_response_bytes);
  } else if (a->stalled) {
    error_push(L, "timeout", "stall timeout on %s: no data for %g s", what, lim->stall_timeout);
    error_set_string(L, "timeout", attempt_timeout(a));
  } else if (a->code == CURLE_OPERATION_TIMEDOUT) {
    if (!a->connected)
      error_push(L, "timeout", "connect timeout on %s: no connection within %g s", what, lim->connect_timeout);
    else
      error_push(L, "timeout", "total timeout on %s: no complete response within %g s", what, lim->timeout);
    error_set_string(L, "timeout", attempt_timeout(a));
  } else if (header_code != NULL) {
    /* Not retried (retry.c): the same server sends the same header again. */
    error_push(L, "too_large", "the server sent a response header larger than libcurl accepts, "
               "in the response to %s (%s while receiving headers)", what, header_code);
    error_set_integer(L, "curl_code", (lua_Integer)a->code);
  } else if (a->out_of_memory) {
    error_push(L, "network", "out of memory receiving the response to %s", what);
  } else {
    error_push(L, "network", "network error on %s: %s", what,
               t->errbuf[0] ? t->errbuf : curl_easy_strerror(a->code));
    error_set_integer(L, "curl_code", (lua_Integer)a->code);
  }
}

/* Pushes the error for a complete response with a status other than 2xx. */
static void outcome_push_status_error(lua_State *L, int state, const transfer *t,
                                      const attempt *a, const char *what) {
  char detail[ERROR_MESSAGE_MAX], line[ERROR_MESSAGE_MAX + 1];
  size_t len;
  const char *msg;
  int err = lua_gettop(L) + 1;
  error_push(L, a->status == 429 ? "rate_limited" : "http", "HTTP %ld on %s", a->status, what);
  decode_error_body(L, state, err, t->body.data, t->body.len, detail, sizeof detail);
  if (a->location != NULL) error_set_string(L, "location", a->location);
  error_clean_server_text(L, err);
  if (a->location != NULL) {
    lua_getfield(L, err, "location");
    lua_pushfstring(L, "HTTP %d on %s: redirect to %s not followed", (int)a->status, what,
                    lua_tostring(L, -1));
    lua_remove(L, -2);
  } else {
    lua_pushfstring(L, "HTTP %d on %s: %s", (int)a->status, what,
                    detail[0] ? detail : outcome_reason(a->status));
  }
  msg = lua_tolstring(L, -1, &len);
  error_one_line(line, sizeof line, msg, len);
  lua_pop(L, 1);
  error_set_string(L, "message", line);
  error_set_integer(L, "status", a->status);
  if (a->retry_after >= 0 && a->retry_after <= RETRY_AFTER_MAX)
    error_set_integer(L, "retry_after", (lua_Integer)a->retry_after);
}

/* `seconds` as messages say them: to a tenth below 10 s, else whole ("0.4", "20"). */
static double outcome_seconds(double seconds) {
  return seconds < 10 ? floor(seconds * 10 + 0.5) / 10 : floor(seconds + 0.5);
}

/*
 * Pushes the error of a request its deadline ended (`c->deadline` seconds):
 * attempt `a` was cut short by it, or (late) never started because the
 * rate limit would have held it back past it for `refused` seconds.
 */
static void outcome_push_deadline_error(lua_State *L, const attempt *a, const request_info *r, const char *what) {
  if (a->late && r->refused > 0)
    error_push(L, "timeout", "deadline passed on %s: the rate limit holds it back %g s, past the deadline of %g s",
               what, outcome_seconds(r->refused), r->c->deadline);
  else if (a->late)
    error_push(L, "timeout", "deadline passed on %s: the rate limit held it back until the deadline of %g s",
               what, r->c->deadline);
  else
    error_push(L, "timeout", "deadline passed on %s: no complete response within %g s", what, r->c->deadline);
  error_set_string(L, "timeout", attempt_timeout(a));
}

/*
 * Appends `note` to the message of the error on top, kept to one line of
 * the messages' size.
 */
static void outcome_append(lua_State *L, const char *note) {
  char line[ERROR_MESSAGE_MAX + 1];
  size_t len;
  const char *msg;
  lua_getfield(L, -1, "message");
  lua_pushstring(L, note);
  lua_concat(L, 2);
  msg = lua_tolstring(L, -1, &len);
  error_one_line(line, sizeof line, msg, len);
  lua_pop(L, 1);
  error_set_string(L, "message", line);
}

/*
 * Adds to the message of the error on top why no retry followed: its wait
 * of `refused` seconds would have passed the request's deadline of
 * `deadline` seconds.
 */
static void outcome_say_deadline(lua_State *L, double refused, double deadline) {
  char note[128];
  snprintf(note, sizeof note, "; a retry in %g s would pass the deadline of %g s", outcome_seconds(refused),
           deadline);
  outcome_append(L, note);
}

/*
 * Adds to the message of the error on top why no retry followed: the server
 * asked to wait longer than the policy sleeps through.
 */
static void outcome_say_too_long(lua_State *L, const attempt *a, const retry_policy *p) {
  char wait[64], note[160];
  if (a->retry_after <= RETRY_AFTER_MAX) snprintf(wait, sizeof wait, " %.0f s,", (double)a->retry_after);
  else wait[0] = '\0';
  snprintf(note, sizeof note, "; the server asks to wait%s longer than max_retry_wait (%g s)", wait,
           p->max_retry_wait);
  outcome_append(L, note);
}

/*
 * True when the error on top is the Calls API's way of saying "nothing":
 * a 404 whose errors (strings or {message} objects, both strings by now)
 * say no call matched.
 */
static int outcome_is_empty_result(lua_State *L) {
  size_t i, n;
  int empty = 0;
  lua_getfield(L, -1, "errors");
  n = lua_type(L, -1) == LUA_TTABLE ? lua_rawlen(L, -1) : 0;
  for (i = 1; i <= n && !empty; i++) {
    lua_rawgeti(L, -1, (lua_Integer)i);
    empty = lua_type(L, -1) == LUA_TSTRING && api_is_empty_result(lua_tostring(L, -1));
    lua_pop(L, 1);
  }
  lua_pop(L, 1);
  return empty;
}

/*
 * "GET /library/folders": the request as the messages name it. A path too
 * long for `size` keeps its start and its end ("/calls", the end of an id)
 * on either side of "…"; it is percent-encoded ASCII, so any byte is a place to cut.
 */
static void outcome_what(lua_State *L, const request_info *r, char *what, size_t size) {
  static const char ellipsis[] = "\xe2\x80\xa6";
  const char *path = lua_tostring(L, r->urlidx) + r->c->base_len;
  size_t method = strlen(r->ep->method), len = strlen(path), room = size - 1 - method - 1, head, tail, n;
  if (len <= room) {
    snprintf(what, size, "%s %s", r->ep->method, path);
    return;
  }
  tail = (room - (sizeof ellipsis - 1)) / 3;
  head = room - (sizeof ellipsis - 1) - tail;
  memcpy(what, r->ep->method, method);
  what[method] = ' ';
  n = method + 1;
  memcpy(what + n, path, head);
  n += head;
  memcpy(what + n, ellipsis, sizeof ellipsis - 1);
  n += sizeof ellipsis - 1;
  memcpy(what + n, path + len - tail, tail);
  what[n + tail] = '\0';
}

/*
 * Pushes the outcome of the final attempt `a` of transfer `t`: the list and
 * the requestId on success, nil and an error otherwise, and for a paged
 * endpoint a third value, the next page's cursor or nil. `state` is the index
 * of the module state table (the decoder). The body buffer is trimmed. An
 * error whose Retry-After is longer than the policy sleeps through has
 * `halt` set: nothing is worth starting until then (the batches stop).
 */
static void outcome_push(lua_State *L, int state, transfer *t, const attempt *a,
                         const request_info *r) {
  /* What the messages call the request: formatted only for a failure. */
  char what[ERROR_MESSAGE_MAX / 2];
  if (attempt_ok(a)) {
    char why[ERROR_MESSAGE_MAX];
    const char *bad;
    int body = lua_gettop(L) + 1;
    /* The one copy into Lua; the buffer goes before cjson makes its own. */
    lua_pushlstring(L, t->body.data, t->body.len);
    transfer_trim(t);
    bad = decode_response(L, state, body, r->ep->shape, why, sizeof why);
    lua_remove(L, body);
    if (bad == NULL) return;
    outcome_what(L, r, what, sizeof what);
    lua_pushnil(L);
    error_push(L, "decode", "invalid response to %s: %s", what, bad);
    error_set_integer(L, "status", a->status);
  } else {
    outcome_what(L, r, what, sizeof what);
    lua_pushnil(L);
    if (a->late || a->cut) outcome_push_deadline_error(L, a, r, what);
    else if (a->code != CURLE_OK) outcome_push_transfer_error(L, t, a, what);
    else outcome_push_status_error(L, state, t, a, what);
    transfer_trim(t);
    if (r->ep->empty_404 && a->status == 404 && outcome_is_empty_result(L)) {
      /* Not a failure: an empty list, with the request id of the answer. */
      lua_getfield(L, -1, "request_id");
      lua_remove(L, -2);
      lua_remove(L, -2);
      lua_newtable(L);
      lua_insert(L, -2);
      if (r->ep->shape->cursor_in != NULL) lua_pushnil(L);
      return;
    }
  }
  outcome_set_request(L, r);
  if (retry_is_transient(a)) error_set_boolean(L, "transient", 1);
  if (retry_halts_everything(&r->c->retry, a)) {
    error_set_boolean(L, "halt", 1);
    outcome_say_too_long(L, a, &r->c->retry);
  } else if (r->refused >= 0 && !a->late) {
    outcome_say_deadline(L, r->refused, r->c->deadline);
  }
  if (r->ep->shape->cursor_in != NULL) lua_pushnil(L);
}
