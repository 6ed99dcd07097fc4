#!/bin/sh
# make check-luarocks: for each Lua version given, `luarocks make` the
# rockspec into a local tree, require gong from that tree alone, run the
# gong-library LuaRocks installed, and run `luarocks test` there.
#
# CI is offline: LuaRocks cannot fetch busted, and Debian's busted (a
# system package) is not a rock. A two-line shim rock named busted that
# runs Debian's busted stands in for it; lua-cjson, also from Debian, is
# skipped with --deps-mode=none. A config naming the tree as the only rocks
# tree makes `luarocks test` look for busted there.
#
# gong itself is made as a user would: in a copy of the checkout (the
# builtin backend builds there: gong/core.so, src/gong.o, which `make clean`
# must remove), with LuaRocks' own configuration, which does not know the
# tree given with --tree, so its wrapper of gong-library sets no paths:
# gong-library must find the tree by itself.
#   tools/check-luarocks.sh 5.4 5.1
set -eu
cd "$(dirname "$0")/.."
root=$(pwd)
rockspec=$(ls gong-*.rockspec | head -n 1)
version=$(sed -n 's/^return "\(.*\)"$/\1/p' lua/gong/version.lua)

fail() {
  echo "check-luarocks: $*" >&2
  exit 1
}

for ver in "$@"; do
  echo "== luarocks $ver"
  tree=$root/build/luarocks-$ver
  shim=$(mktemp -d)
  copy=$(mktemp -d)
  rm -rf "$tree"
  mkdir -p "$tree"
  printf 'rocks_trees = { { name = "check", root = "%s" } }\n' "$tree" > "$tree/config.lua"

  printf '#!/bin/sh\nexec lua%s /usr/bin/busted "$@"\n' "$ver" > "$shim/busted"
  cat > "$shim/busted-0.0-0.rockspec" <<SPEC
package = "busted"
version = "0.0-0"
source = { url = "file://$shim" }
build = { type = "builtin", modules = {}, install = { bin = { busted = "busted" } } }
SPEC
  (cd "$shim" && LUAROCKS_CONFIG="$tree/config.lua" luarocks-"$ver" make --tree="$tree" busted-0.0-0.rockspec \
    >/dev/null)
  rm -rf "$shim"

  tar --exclude=./build --exclude=./.git -cf - . | tar -xf - -C "$copy"
  (cd "$copy" && env -u LUAROCKS_CONFIG luarocks-"$ver" make --deps-mode=none --tree="$tree" "$rockspec" >/dev/null)
  test -f "$copy/gong/core.so" && test -f "$copy/src/gong.o" ||
    fail "luarocks make no longer builds gong/core.so and src/gong.o in the checkout: see what make clean removes"
  make --no-print-directory -C "$copy" clean >/dev/null
  leftovers=$(cd "$copy" && ls -d gong src/*.o 2>/dev/null || true)
  test -z "$leftovers" || fail "make clean left what luarocks make built: $leftovers"
  rm -rf "$copy"

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

  # The command LuaRocks installed, run as a user would: from elsewhere,
  # without LUA_PATH, directly and through a symbolic link.
  link=$(mktemp -d)
  ln -s "$tree/bin/gong-library" "$link/gong-library"
  for program in "$tree/bin/gong-library" "$link/gong-library"; do
    out=$(cd / && env -u LUA_PATH -u LUA_CPATH -u LUA_PATH_5_4 -u LUA_CPATH_5_4 "$program" --version 2>&1) ||
      fail "$program --version failed: $out"
    case "$out" in
      "gong-library $version (Lua $ver)") echo "$program --version: $out" ;;
      *) fail "$program --version said: $out" ;;
    esac
  done
  rm -rf "$link"

  export LUAROCKS_CONFIG="$tree/config.lua"
  eval "$(luarocks-"$ver" --tree="$tree" path)"
  GONG_TEST_LUA="lua$ver" GONG_BUILD="$tree/lib/lua/$ver" \
    luarocks-"$ver" test "$rockspec" -- ${BUSTED_ARGS:-} spec/core_spec.lua spec/gong_spec.lua spec/tree_spec.lua
  unset LUAROCKS_CONFIG
done
