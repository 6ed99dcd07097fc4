#!/usr/bin/env bash
# Peak RSS of `gong-library export --details --transcripts` (json and ndjson)
# at two library sizes, one 4x the other, against the fake server in public
# mode with transcripts of a real call's size (transcript_scale 40: 47 kB of
# JSON on average). The export's memory should not grow with the library.
#
#   bench/export_memory.sh [FOLDERS]     FOLDERS for the smaller (default 20)
#
# GONG_CLIENT=DIR runs the lua/ and bin/ of DIR (another commit's, from git
# archive) against this tree's fake server: the figures before a change.
# Prints a row per export: format, folders, calls, output bytes, peak RSS
# (/usr/bin/time -v's "Maximum resident set size"). Needs gong.core built
# in $GONG_BUILD (default build/5.4). Only 127.0.0.1 is talked to.
set -euo pipefail
cd "$(dirname "$0")/.."
BUILD=${GONG_BUILD:-build/5.4}
small=${1:-20}
client=${GONG_CLIENT:-.}
export LUA_PATH="$client/lua/?.lua;$client/lua/?/init.lua;./?.lua;;"
export LUA_CPATH="$BUILD/?.so;;"
work=$(mktemp -d "${TMPDIR:-/tmp}/gong-export-memory.XXXXXX")
pids=()
cleanup() {
  for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done
  rm -rf "$work"
}
trap cleanup EXIT
printf '| format | folders | calls | output | peak RSS |\n|---|---|---|---|---|\n'
for folders in "$small" $((small * 4)); do
  lua5.4 fake/server.lua --folders "$folders" > "$work/listening" &
  pids+=("$!")
  until [ -s "$work/listening" ]; do sleep 0.1; done
  url=$(sed -n 's/^listening \([^ ]*\) .*/\1/p' "$work/listening")
  rm "$work/listening"
  curl -sf -X POST -d '{"transcript_scale":40}' "$url/__fake/settings" > /dev/null
  calls=
  for format in ${FORMATS:-ndjson json}; do
    out="$work/lib.$format"
    env GONG_BASE_URL="$url/tenant" GONG_API=public GONG_ACCESS_KEY=test-key GONG_ACCESS_KEY_SECRET=test-secret \
      GONG_PROGRESS= GONG_RATE_SCOPE=client GONG_RATE=off \
      /usr/bin/time -v -o "$work/time" lua5.4 "$client/bin/gong-library" export --format "$format" --details --transcripts \
      -o "$out" 2> "$work/err" || { cat "$work/err" "$work/time" >&2; exit 1; }
    rss=$(sed -n 's/.*Maximum resident set size (kbytes): //p' "$work/time")
    # The calls, a call in two folders counted twice: the ndjson's call lines (it runs first).
    [ -n "$calls" ] || calls=$(grep -c '"type":"call"' "$out" || true)
    printf '| %s | %d | %s | %.1f MB | %.1f MB |\n' "$format" "$folders" "$calls" \
      "$(echo "$(stat -c %s "$out") / 1000000" | bc -l)" "$(echo "$rss / 1000" | bc -l)"
  done
done
