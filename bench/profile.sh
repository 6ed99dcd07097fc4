#!/usr/bin/env bash
# Where the time goes: callgrind instruction counts of gong and of the floor
# on the large folder and on the small response. Started by
# `bench/run.sh --profile` once nginx serves the data; writes the callgrind
# files and summary.txt to build/bench/profile/ and prints the summary.
# Instruction counts, unlike wall time, do not move with the machine's load.
#
#   bench/profile.sh BASE DATA FLOOR
set -euo pipefail
base=$1 data=$2 floor=$3
out=build/bench/profile
mkdir -p "$out"
command -v valgrind >/dev/null || { echo "bench: valgrind missing; run tools/deps.sh valgrind" >&2; exit 2; }

large_id=$(lua5.4 -e "print(dofile('$data/manifest.lua').large_id)")
large="$base/large/library/folders/$large_id/calls"
small="$base/small/library/folders"
small_count=500

grind() { # NAME COMMAND...: runs COMMAND under callgrind into $out/NAME.callgrind
  local name=$1
  shift
  echo "bench: callgrind $name" >&2
  valgrind --tool=callgrind --callgrind-out-file="$out/$name.callgrind" "$@" >/dev/null 2>"$out/$name.log"
}

grind floor-large "$floor" "$large" 1 "$base/large/library/folders"
grind gong-large lua5.4 bench/client.lua large "$base/large" "$large_id"
grind floor-small "$floor" "$small" "$small_count"
grind gong-small lua5.4 bench/client.lua gong "$small" "$small_count"

total() { sed -n 's/^summary: *//p' "$out/$1.callgrind"; }

# Inclusive costs of the functions matching the regex $2 and of their
# callees. Lua and cjson are stripped, so their internals only show as
# addresses: what matters is what gong's own functions spend them on.
callees() {
  callgrind_annotate --tree=calling --inclusive=yes "$out/$1.callgrind" 2>/dev/null |
    awk -v pat="$2" '$0 ~ "^ *[0-9,]+ .*\\*  .*:(" pat ")[.a-z0-9]*( |$)" { on = 1; print; next }
         on && /^ *$/ { on = 0; print }
         on && / > / { print }'
}

{
  echo "callgrind instruction counts (Ir), whole process"
  printf '  %-44s %15s\n' "large folder: floor" "$(total floor-large)"
  printf '  %-44s %15s\n' "large folder: gong" "$(total gong-large)"
  printf '  %-44s %15s\n' "small response x $small_count: floor" "$(total floor-small)"
  printf '  %-44s %15s\n' "small response x $small_count: gong" "$(total gong-small)"
  echo
  echo "== floor, large folder: main and its callees (inclusive)"
  callees floor-large 'main'
  echo "== gong, large folder: the request, its outcome (decode + normalize + checks), normalize"
  callees gong-large 'client_request|client_push_outcome|decode_normalize'
  echo "== floor, small response x $small_count"
  callees floor-small 'main'
  echo "== gong, small response x $small_count"
  callees gong-small 'client_request|client_push_outcome|decode_normalize'
} | tee "$out/summary.txt"
