#!/usr/bin/env bash
# The benchmark (see BENCHMARKS.md): builds the C floor, writes the response
# bodies, starts a private nginx on a free loopback port to serve them, runs
# bench/bench.lua, and stops nginx again whatever happens.
#
#   bench/run.sh [--smoke] [--strict] [--runs N] [--out FILE]
#   bench/run.sh --profile        perf (or callgrind) of the large folder, gong vs floor
#
#   --smoke    tiny sizes, one run, < 1 minute: proves every part still runs
#   --strict   exit 1 when a target is missed (machines are noisy: off by default)
#   --check    the instruction-count targets alone (callgrind), at smoke sizes,
#              enforced: seconds, deterministic, run by CI (make bench-check)
#   --runs N   repetitions per figure (default 5); the table shows medians
#   --only L   just these scenarios, comma-separated: small,large,loop,tree,export,rate,memory,
#              rate_limit,hosts,scale
#              (for working on one; BENCHMARKS.md wants the whole table)
#
# Needs gong.core built (make build) in $GONG_BUILD (default build/5.4), and
# the Debian packages listed in BENCH_DEBS below.
set -euo pipefail
cd "$(dirname "$0")/.."

BENCH_DEBS="time gcc pkg-config libcurl4-openssl-dev liblua5.4-dev lua5.4 lua-cjson lua-socket lua-luv nginx-light curl python3-requests valgrind neovim libnginx-mod-http-lua luajit2 libluajit2-5.1-dev"
BUILD=${GONG_BUILD:-build/5.4}
OUT=build/bench

smoke=0
profile=0
args=()
while [ $# -gt 0 ]; do
  case "$1" in
    --smoke) smoke=1; args+=("$1") ;;
    --check) smoke=1; args+=("$1") ;;
    --profile) profile=1 ;;
    --strict) args+=("$1") ;;
    --runs|--out|--only) args+=("$1" "$2"); shift ;;
    *) echo "usage: bench/run.sh [--smoke|--check] [--strict] [--runs N] [--out FILE] [--only LIST] | --profile" >&2; exit 2 ;;
  esac
  shift
done

for tool in cc pkg-config lua5.4 nginx curl /usr/bin/python3 /usr/bin/time; do
  command -v "$tool" >/dev/null || { echo "bench: $tool missing; run tools/deps.sh $BENCH_DEBS" >&2; exit 2; }
done
case " ${args[*]-} " in
  *" --check "*) command -v valgrind >/dev/null ||
    { echo "bench: valgrind missing; run tools/deps.sh $BENCH_DEBS" >&2; exit 2; } ;;
esac
/usr/bin/python3 -c 'import requests' 2>/dev/null ||
  { echo "bench: python3-requests missing; run tools/deps.sh $BENCH_DEBS" >&2; exit 2; }
[ -f "$BUILD/gong/core.so" ] || { echo "bench: $BUILD/gong/core.so missing; run make build" >&2; exit 2; }

export LUA_PATH="lua/?.lua;lua/?/init.lua;./?.lua;;"
export LUA_CPATH="$BUILD/?.so;;"

mkdir -p "$OUT"
floor="$OUT/floor"
if [ ! -x "$floor" ] || [ bench/floor.c -nt "$floor" ]; then
  # Lua linked in statically and its API exported (-E) for cjson.so, as in
  # Debian's lua5.4 interpreter, so that both run the same build of Lua.
  # shellcheck disable=SC2046 # pkg-config prints several words on purpose
  cc -O2 -g -std=c99 -Wall -Wextra -Werror $(pkg-config --cflags lua5.4 libcurl) \
    bench/floor.c -o "$floor" -Wl,-E -Wl,-Bstatic -llua5.4 -Wl,-Bdynamic \
    $(pkg-config --libs libcurl) -lm -ldl
fi

fixed_time="$OUT/fixed_time.so"
if [ ! -f "$fixed_time" ] || [ bench/fixed_time.c -nt "$fixed_time" ]; then
  cc -O2 -std=c99 -Wall -Wextra -Werror -shared -fPIC bench/fixed_time.c -o "$fixed_time"
fi

work=$(mktemp -d "${TMPDIR:-/tmp}/gong-bench.XXXXXX")
nginx_pid=""
cleanup() {
  if [ -n "$nginx_pid" ]; then
    kill "$nginx_pid" 2>/dev/null || true
    wait "$nginx_pid" 2>/dev/null || true
  fi
  rm -rf "$work"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

if [ "$smoke" = 1 ]; then
  sizes=(--small 50 --medium 200 --large 2000 --trees "1000,10000")
else
  sizes=(--small 50 --medium 1000 --large 100000 --trees "10000,100000")
fi
echo "bench: writing response bodies to $work/data" >&2
lua5.4 bench/gen.lua "$work/data" "${sizes[@]}"

# A port the kernel just handed out and took back: free unless something
# grabs it in the next few milliseconds, in which case nginx says so below.
port=$(lua5.4 -e 'local s = require("socket").bind("127.0.0.1", 0); local _, p = s:getsockname(); print(p); s:close()')
mkdir -p "$work/nginx/tmp"
sed -e "s|@PREFIX@|$work/nginx|g" -e "s|@DATA@|$work/data|g" -e "s|@LISTEN@|127.0.0.1:$port|g" \
  bench/nginx.conf.in > "$work/nginx/nginx.conf"
nginx -p "$work/nginx" -c "$work/nginx/nginx.conf" -e "$work/nginx/error.log" \
  -g 'daemon off; master_process off;' &
nginx_pid=$!
base="http://127.0.0.1:$port"
for _ in $(seq 50); do
  curl -sf -o /dev/null "$base/small/library/folders" && break
  kill -0 "$nginx_pid" 2>/dev/null || { cat "$work/nginx/error.log" >&2; exit 2; }
  sleep 0.1
done
curl -sf -o /dev/null "$base/small/library/folders" || { echo "bench: nginx did not answer" >&2; exit 2; }
echo "bench: nginx $(nginx -v 2>&1 | sed 's|.*/||') serving $base (pid $nginx_pid)" >&2
# One request for every body before anything is timed: the first run should
# not be the one that opens nginx's files.
for dir in "$work"/data/*/; do
  set=$(basename "$dir")
  curl -sf -o /dev/null "$base/$set/library/folders"
  for calls in "$dir"calls/*.json; do
    [ -e "$calls" ] && curl -sf -o /dev/null "$base/$set/library/folders/$(basename "$calls" .json)/calls"
  done
done

if [ "$profile" = 1 ]; then
  exec_status=0
  bench/profile.sh "$base" "$work/data" "$floor" || exec_status=$?
  exit "$exec_status"
fi
# The floor runs from the work directory, whose name has the same length in
# every checkout: valgrind puts the program's full path on its stack, and
# Lua's string-hash seed hashes a stack address (see the instruction counts).
cp "$floor" "$work/floor"
lua5.4 bench/bench.lua --base "$base" --data "$work/data" --floor "$work/floor" --fixed-time "$fixed_time" \
  "${args[@]}"
