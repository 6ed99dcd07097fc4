-- gong-library installed and reached as users reach it: `make install` into
-- a PREFIX, then run through a symbolic link from another directory, a
-- chain of links, a copy; and `make uninstall`. A checkout's
-- bin/gong-library through a link says what to do. The program runs as a process without LUA_PATH or
-- LUA_CPATH, from /, as a shell would start it. (LuaRocks trees are
-- tools/check-luarocks.sh's, `make check-luarocks` in CI.) #once: the same
-- on every Lua, and cli_spec installs under each.

local process = require "spec.support.process"
local fake = require "spec.support.fake"

local quote, capture = process.quote, process.capture

local ROOT = capture("cd " .. quote(fake.root) .. " && pwd"):gsub("\n$", "")
-- This Lua as make's LUA= names it.
local LUA = process.lua:match("luajit") and "luajit" or process.lua:match("lua(5%.%d)")

-- Runs `program --version` from /, with no LUA_PATH or LUA_CPATH: its
-- output and status. As a shell would run it, by its #! line (an installed
-- copy's names the Lua it was installed for), or by this Lua (`lua` true:
-- a checkout's names lua5.4).
local function version_of(program, lua)
  return capture(("cd / && env -u LUA_PATH -u LUA_CPATH %s%s --version 2>&1; echo \"exit:$?\"")
    :format(lua and quote(process.lua) .. " " or "", quote(program)))
end

local expected = "gong-library " .. require("gong.version") .. " ("
  .. process.lua_code('io.write(jit and jit.version or _VERSION)') .. ")\nexit:0\n"

-- Runs make with `args` in the checkout (not the make running the specs): its output and status line.
local function make(args)
  return capture("cd " .. quote(ROOT) .. " && env -u MAKEFLAGS -u MFLAGS -u MAKELEVEL -u LD_PRELOAD make "
    .. "--no-print-directory " .. args .. " 2>&1; echo \"exit:$?\"")
end

describe("gong-library installed #once", function()
  local dir, prefix

  setup(function()
    dir = process.tmpdir()
    prefix = dir .. "/prefix"
    local log = make(("install LUA=%s BUILD=%s PREFIX=%s"):format(LUA, quote(process.build), quote(prefix)))
    assert(log:find("exit:0\n$"), log)
  end)

  teardown(function()
    os.execute("rm -rf " .. quote(dir))
  end)

  it("runs through a symbolic link in another directory, as `ln -s PREFIX/bin/gong-library ~/bin/` makes",
    function()
      os.execute("mkdir " .. quote(dir .. "/bin"))
      os.execute("ln -s " .. quote(prefix .. "/bin/gong-library") .. " " .. quote(dir .. "/bin/gong-library"))
      assert.are.equal(expected, version_of(dir .. "/bin/gong-library"))
    end)

  it("runs through a chain of relative links, and as a copy elsewhere", function()
    os.execute("mkdir -p " .. quote(dir .. "/a/b"))
    os.execute("ln -s ../../prefix/bin/gong-library " .. quote(dir .. "/a/b/first"))
    os.execute("ln -s b/first " .. quote(dir .. "/a/second"))
    assert.are.equal(expected, version_of(dir .. "/a/second"))
    os.execute("cp " .. quote(prefix .. "/bin/gong-library") .. " " .. quote(dir .. "/a/copy"))
    assert.are.equal(expected, version_of(dir .. "/a/copy"))
  end)

  it("removes every file it installed with make uninstall, and the directories it made for gong", function()
    local copy = dir .. "/kept-copy"
    os.execute("cp " .. quote(prefix .. "/bin/gong-library") .. " " .. quote(copy))
    local log = make(("uninstall LUA=%s PREFIX=%s"):format(LUA, quote(prefix)))
    assert(log:find("exit:0\n$"), log)
    assert.are.equal("", capture("find " .. quote(prefix) .. " -type f"))
    assert.are.equal("", capture("find " .. quote(prefix) .. " -name gong"))
    assert.matches("^gong%-library: cannot find gong's Lua modules", version_of(copy))
  end)
end)

describe("a checkout's bin/gong-library #once", function()
  it("reached through a symbolic link, says where it looked and what to do, and how for a LuaRocks tree", function()
    -- Lua cannot read a link, and gong-library starts no process (readlink) to: README, "Installing".
    local dir = process.tmpdir()
    os.execute("ln -s " .. quote(ROOT .. "/bin/gong-library") .. " " .. quote(dir .. "/gong-library"))
    local out = version_of(dir .. "/gong-library", true)
    os.execute("rm -rf " .. quote(dir))
    local abi = LUA == "luajit" and "5.1" or LUA
    assert.are.equal("gong-library: cannot find gong's Lua modules (gong/cli/init.lua) beside " .. dir
      .. "/gong-library or on LUA_PATH; set LUA_PATH to the directory they were installed in, such as "
      .. "/usr/local/share/lua/" .. abi .. "/?.lua;/usr/local/share/lua/" .. abi .. "/?/init.lua;; (for a LuaRocks "
      .. "tree: eval \"$(luarocks --lua-version " .. abi .. " --tree TREE path)\"; a link to a checkout's "
      .. "bin/gong-library is not followed: run that file, or `make install`, whose copy works through links)"
      .. "\nexit:1\n", out)
  end)
end)
