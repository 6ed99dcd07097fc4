#!/bin/sh
# make check-luarocks: for each Lua version given, `luarocks make` the
# rockspec into a local tree, require gong from that tree alone, and run
# `luarocks test` there.
#
# CI is offline: LuaRocks cannot fetch busted, and Debian's busted (a
# system package) is not a rock. A two-line shim rock named busted that
# runs Debian's busted stands in for it; lua-cjson, also from Debian, is
# skipped with --deps-mode=none. A config naming the tree as the only rocks
# tree makes `luarocks test` look for busted there.
#   tools/check-luarocks.sh 5.4 5.1
set -eu
cd "$(dirname "$0")/.."
root=$(pwd)
rockspec=$(ls gong-*.rockspec | head -n 1)

for ver in "$@"; do
  echo "== luarocks $ver"
  tree=$root/build/luarocks-$ver
  shim=$(mktemp -d)
  rm -rf "$tree"
  mkdir -p "$tree"
  printf 'rocks_trees = { { name = "check", root = "%s" } }\n' "$tree" > "$tree/config.lua"
  export LUAROCKS_CONFIG="$tree/config.lua"

  printf '#!/bin/sh\nexec lua%s /usr/bin/busted "$@"\n' "$ver" > "$shim/busted"
  cat > "$shim/busted-0.0-0.rockspec" <<SPEC
package = "busted"
version = "0.0-0"
source = { url = "file://$shim" }
build = { type = "builtin", modules = {}, install = { bin = { busted = "busted" } } }
SPEC
  (cd "$shim" && luarocks-"$ver" make --tree="$tree" busted-0.0-0.rockspec >/dev/null)
  rm -rf "$shim"

  luarocks-"$ver" make --deps-mode=none --tree="$tree" "$rockspec" >/dev/null
  # The builtin backend builds in the source tree; leave it clean.
  rm -rf gong src/gong.o

  # The installed tree alone, without the repo's paths, must give a working gong.
  (cd /tmp && env -u LUA_PATH -u LUA_CPATH "lua$ver" -e "
    package.path = '$tree/share/lua/$ver/?.lua;$tree/share/lua/$ver/?/init.lua;' .. package.path
    package.cpath = '$tree/lib/lua/$ver/?.so;' .. package.cpath
    local gong = require 'gong'
    assert(package.loaded['gong.core'] and gong._VERSION == require('gong.core')._VERSION)
    assert(gong.tree.build({}).count == 0)
    local c = gong.new({ base_url = 'https://example.invalid', token = 't' })
    assert(tostring(c):find('auth=bearer', 1, true))
    print('require gong from ' .. '$tree' .. ': ok, version ' .. gong._VERSION)")
  test -x "$tree/bin/gong-library"

  eval "$(luarocks-"$ver" --tree="$tree" path)"
  GONG_TEST_LUA="lua$ver" GONG_BUILD="$tree/lib/lua/$ver" \
    luarocks-"$ver" test "$rockspec" -- ${BUSTED_ARGS:-} spec/core_spec.lua spec/gong_spec.lua spec/tree_spec.lua
done
