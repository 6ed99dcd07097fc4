#!/bin/sh
# make demo: starts the fake Gong server on a loopback port and shows its
# library through the real CLI: the top of the folder tree, one folder's
# calls, the start of a call's transcript, and an export of the whole library
# with its summary. The server is
# stopped however the demo ends: at its end, on Ctrl-C or SIGTERM, and when
# whatever reads its output goes away (make demo | head).
set -eu
LUA_BIN=${LUA_BIN:-lua5.4}
BUILD=${BUILD:-build/5.4}
cd "$(dirname "$0")/.."

fifo=$(mktemp -u)
mkfifo "$fifo"
out=$(mktemp -d)
# 12 folders: at Gong's 3 requests per second the export takes 5 s.
lua5.4 fake/server.lua --port 0 --idle-exit 120 --folders 12 >"$fifo" &
server=$!
cleanup() {
  kill "$server" 2>/dev/null || true
  rm -rf "$fifo" "$out"
}
trap cleanup EXIT
trap 'cleanup; trap - EXIT; exit 130' INT
trap 'cleanup; trap - EXIT; exit 143' TERM
trap 'cleanup; trap - EXIT; exit 141' PIPE
read -r _ url _ <"$fifo"

root=$(pwd)
export LUA_PATH="$root/lua/?.lua;$root/lua/?/init.lua;;" LUA_CPATH="$root/$BUILD/?.so;;"
export GONG_BASE_URL="$url" GONG_ACCESS_KEY=test-key GONG_ACCESS_KEY_SECRET=test-secret

echo "== fake Gong server at $url =="
echo
echo '$ gong-library tree --depth 1'
"$LUA_BIN" bin/gong-library tree --depth 1
# A folder with calls, and the first of its calls with a transcript.
set -- $("$LUA_BIN" -e '
  local client = require("gong").new()
  for _, f in ipairs(assert(client:folders())) do
    if (f.callCount or 0) > 0 then
      local ids = {}
      for i, call in ipairs(assert(client:calls(f.id))) do ids[i] = call.callId end
      local transcripts = assert(client:transcripts(ids))
      for _, id in ipairs(ids) do
        if transcripts[id] then print(f.id, id) return end
      end
    end
  end')
folder=$1 call=$2
echo
echo "\$ gong-library calls $folder"
"$LUA_BIN" bin/gong-library calls "$folder"
echo
echo "\$ gong-library transcript $call | head -5"
"$LUA_BIN" bin/gong-library transcript "$call" | head -5
echo
echo '$ gong-library export -o library.json'
# The summary, without the progress line drawn before it.
(cd "$out" && GONG_PROGRESS=1 "$LUA_BIN" "$root/bin/gong-library" export -o library.json 2>&1 | tr '\r' '\n' | tail -1)
