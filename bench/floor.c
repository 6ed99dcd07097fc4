/*
 * The floor gong is measured against: the least any Lua client can do to
 * fetch and decode a response. One reused libcurl easy handle (keep-alive),
 * the body into one reused buffer sized from Content-Length, then
 * lua-cjson's decode on it in a Lua 5.4 state, and nothing else but the
 * bearer token every request to Gong needs: no normalization, no shape
 * checks, no retries, no rate limit.
 *
 *   floor URL COUNT [WARMUP_URL]
 *
 * Fetches WARMUP_URL (default URL) once to open the connection, then times
 * COUNT fetch+decode rounds of URL and prints one line of key=value pairs:
 * requests, seconds (wall clock of the rounds), bytes (of one body) and
 * hwm_kb (peak RSS of the process, VmHWM).
 */
#define _POSIX_C_SOURCE 200809L
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <curl/curl.h>
#include <lauxlib.h>
#include <lua.h>
#include <lualib.h>

typedef struct buffer {
  CURL *curl;
  char *data;
  size_t len, cap;
} buffer;

static double now(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* Appends to the buffer, growing it to Content-Length (or double) at once. */
static size_t on_data(char *data, size_t size, size_t nmemb, void *ud) {
  buffer *b = (buffer *)ud;
  size_t n = size * nmemb;
  if (b->len + n > b->cap) {
    curl_off_t length = -1;
    size_t cap = b->cap ? b->cap * 2 : 16384;
    char *grown;
    curl_easy_getinfo(b->curl, CURLINFO_CONTENT_LENGTH_DOWNLOAD_T, &length);
    if (length > 0 && (size_t)length > cap) cap = (size_t)length;
    while (cap < b->len + n) cap *= 2;
    grown = (char *)realloc(b->data, cap);
    if (grown == NULL) return 0;
    b->data = grown;
    b->cap = cap;
  }
  memcpy(b->data + b->len, data, n);
  b->len += n;
  return n;
}

/* Peak resident set size of this process in kB, from /proc/self/status. */
static long peak_rss_kb(void) {
  char line[256];
  long kb = -1;
  FILE *f = fopen("/proc/self/status", "r");
  if (f == NULL) return -1;
  while (fgets(line, sizeof line, f) != NULL)
    if (sscanf(line, "VmHWM: %ld kB", &kb) == 1) break;
  fclose(f);
  return kb;
}

/* One GET of `url` into `b`; exits with a message unless it is a 200. */
static void fetch(buffer *b, const char *url) {
  long status = 0;
  CURLcode rc;
  b->len = 0;
  curl_easy_setopt(b->curl, CURLOPT_URL, url);
  rc = curl_easy_perform(b->curl);
  curl_easy_getinfo(b->curl, CURLINFO_RESPONSE_CODE, &status);
  if (rc != CURLE_OK || status != 200) {
    fprintf(stderr, "floor: GET %s: %s, HTTP %ld\n", url, curl_easy_strerror(rc), status);
    exit(1);
  }
}

/* Decodes the body with cjson.decode (at stack index 1); exits unless it is a table. */
static void decode(lua_State *L, const buffer *b) {
  lua_pushvalue(L, 1);
  lua_pushlstring(L, b->data, b->len);
  if (lua_pcall(L, 1, 1, 0) != LUA_OK || lua_type(L, -1) != LUA_TTABLE) {
    fprintf(stderr, "floor: decode failed: %s\n", lua_tostring(L, -1));
    exit(1);
  }
  lua_pop(L, 1);
}

int main(int argc, char **argv) {
  buffer b = {NULL, NULL, 0, 0};
  lua_State *L;
  long i, count;
  double start, seconds;
  if (argc < 3 || (count = strtol(argv[2], NULL, 10)) < 1) {
    fprintf(stderr, "usage: floor URL COUNT [WARMUP_URL]\n");
    return 2;
  }
  if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK) return 1;
  L = luaL_newstate();
  if (L == NULL) return 1;
  luaL_openlibs(L);
  lua_getglobal(L, "require");
  lua_pushliteral(L, "cjson");
  if (lua_pcall(L, 1, 1, 0) != LUA_OK) {
    fprintf(stderr, "floor: %s\n", lua_tostring(L, -1));
    return 1;
  }
  lua_getfield(L, -1, "decode");
  lua_replace(L, 1); /* stack: [1] = cjson.decode */
  lua_settop(L, 1);

  b.curl = curl_easy_init();
  if (b.curl == NULL) return 1;
  curl_easy_setopt(b.curl, CURLOPT_WRITEFUNCTION, on_data);
  curl_easy_setopt(b.curl, CURLOPT_WRITEDATA, (void *)&b);
  curl_easy_setopt(b.curl, CURLOPT_NOSIGNAL, 1L);
  /* Every request to Gong must carry credentials: the same bearer token as
   * the other contenders, the way gong sends it. */
  curl_easy_setopt(b.curl, CURLOPT_HTTPAUTH, (long)CURLAUTH_BEARER);
  curl_easy_setopt(b.curl, CURLOPT_XOAUTH2_BEARER, "bench");

  fetch(&b, argc > 3 ? argv[3] : argv[1]);
  decode(L, &b);
  start = now();
  for (i = 0; i < count; i++) {
    fetch(&b, argv[1]);
    decode(L, &b);
  }
  seconds = now() - start;
  printf("requests=%ld seconds=%.6f bytes=%zu hwm_kb=%ld\n", count, seconds, b.len, peak_rss_kb());

  curl_easy_cleanup(b.curl);
  free(b.data);
  lua_close(L);
  curl_global_cleanup();
  return 0;
}
