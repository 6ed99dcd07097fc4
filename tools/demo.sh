#!/bin/sh
# make demo: starts the fake Gong server on a loopback port, shows its
# library through the real CLI (tree, then one folder's calls), stops it.
set -eu
LUA_BIN=${LUA_BIN:-lua5.4}
BUILD=${BUILD:-build/5.4}
cd "$(dirname "$0")/.."

fifo=$(mktemp -u)
mkfifo "$fifo"
lua5.4 fake/server.lua --port 0 --idle-exit 120 >"$fifo" &
server=$!
trap 'kill $server 2>/dev/null || true; rm -f "$fifo"' EXIT INT TERM
read -r _ url _ <"$fifo"

export LUA_PATH="lua/?.lua;lua/?/init.lua;;" LUA_CPATH="$BUILD/?.so;;"
export GONG_BASE_URL="$url" GONG_ACCESS_KEY=test-key GONG_ACCESS_KEY_SECRET=test-secret

echo "== fake Gong server at $url =="
echo
echo '$ gong-library tree'
"$LUA_BIN" bin/gong-library tree
folder=$("$LUA_BIN" -e '
  for _, f in ipairs(assert(require("gong").new():folders())) do
    if (f.callCount or 0) > 0 then print(f.id) return end
  end')
echo
echo "\$ gong-library calls $folder"
"$LUA_BIN" bin/gong-library calls "$folder"
