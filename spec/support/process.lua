-- Runs a Lua snippet or a command as a real child process, with environment
-- variables of its own, and returns what it printed and how it exited. The
-- child uses the same interpreter and build as the running spec.

local M = {}

M.lua = os.getenv("GONG_TEST_LUA") or "lua5.4"
M.build = os.getenv("GONG_BUILD") or "build/5.4"
M.lua_path = "lua/?.lua;lua/?/init.lua;./?.lua;;"
M.lua_cpath = M.build .. "/?.so;;"

local function quote(s)
  return "'" .. tostring(s):gsub("'", "'\\''") .. "'"
end
M.quote = quote

--- The contents of the file at `path`, or nil when it cannot be read.
function M.read_file(path)
  local f = io.open(path, "rb")
  if not f then return nil end
  local data = f:read("*a")
  f:close()
  return data
end

--- Writes `content` to a new file at `path` with `mode` (default 600).
function M.write_file(path, content, mode)
  local f = assert(io.open(path, "wb"))
  f:write(content)
  f:close()
  os.execute("chmod " .. (mode or "600") .. " " .. quote(path))
  return path
end

--- A new empty directory of mktemp's (the caller removes it).
function M.tmpdir()
  local p = assert(io.popen("mktemp -d"))
  local dir = p:read("*l")
  p:close()
  assert(dir and dir:find("^/"), "mktemp -d failed")
  return dir
end

--- What the shell command `command` printed on stdout.
function M.capture(command)
  local p = assert(io.popen(command, "r"))
  local out = p:read("*a")
  p:close()
  return out
end

--- True once process `pid` is gone or a zombie: the state follows the
--- parenthesised command name in /proc/PID/stat, and Z is a process that has
--- exited but not been reaped by pclose yet.
function M.exited(pid)
  local stat = M.read_file("/proc/" .. pid .. "/stat")
  return stat == nil or stat:match("%) (%a)") == "Z"
end

-- The words of a command line running `argv` with `env` (name -> value): the
-- GONG_* variables of the parent are cleared unless given, and
-- XDG_CONFIG_HOME points nowhere, so a developer's own configuration (a
-- default credentials file) cannot change what a spec sees. Quoted.
local function command(argv, env)
  local words = { "env", "-u", "GONG_BASE_URL", "-u", "GONG_ACCESS_KEY", "-u",
                  "GONG_ACCESS_KEY_SECRET", "-u", "GONG_TOKEN", "-u", "GONG_CREDENTIALS_FILE",
                  "-u", "GONG_PROGRESS", "-u", "GONG_API", "-u", "GONG_RATE_SCOPE",
                  "LUA_PATH=" .. M.lua_path, "LUA_CPATH=" .. M.lua_cpath,
                  "XDG_CONFIG_HOME=/nonexistent/gong-spec-config" }
  -- make check-asan: children still run under the sanitizers, but LeakSanitizer's
  -- exit-time tracer is flaky in short-lived children (it crashes, not our code);
  -- leaks are checked in the long-lived busted process instead.
  local asan_child = os.getenv("GONG_ASAN_CHILD_OPTIONS")
  if asan_child then words[#words + 1] = "ASAN_OPTIONS=" .. asan_child end
  for k, v in pairs(env or {}) do words[#words + 1] = k .. "=" .. v end
  for _, w in ipairs(argv) do words[#words + 1] = w end
  for i, w in ipairs(words) do words[i] = quote(w) end
  return table.concat(words, " ")
end

--- The shell command line that runs `argv` with `env` as M.run runs it.
M.command = command

--- A loopback port no one listens on now (for a server a spec starts).
function M.free_port()
  local s = assert(require("socket").bind("127.0.0.1", 0))
  local _, port = s:getsockname()
  s:close()
  return tonumber(port)
end

--- This process's id.
function M.pid()
  return tonumber(M.read_file("/proc/self/stat"):match("^(%d+)"))
end

-- stdout (without the "exit:N" line the shell appended), and the status.
local function split_status(out)
  return (out:gsub("exit:%d+\n$", "")), tonumber(out:match("exit:(%d+)\n$"))
end

--- Runs `argv` (array of words, quoted here) with `env` (name -> value; the
--- GONG_* variables of the parent are cleared unless given) and returns
--- stdout, stderr, exit status (128 + N when signal N ended it).
function M.run(argv, env)
  local errfile = os.tmpname()
  local p = assert(io.popen(command(argv, env) .. " 2>" .. errfile .. "; echo \"exit:$?\"", "r"))
  local out = p:read("*a")
  p:close()
  local err = assert(M.read_file(errfile))
  os.remove(errfile)
  local stdout, status = split_status(out)
  return stdout, err, status
end

--- The argv of bin/gong-library with `args`, under the Lua the specs run in.
---@param args string[]
---@return string[]
function M.cli(args)
  local argv = { M.lua, "bin/gong-library" }
  for _, a in ipairs(args) do argv[#argv + 1] = a end
  return argv
end

--- Starts `argv` in the background as M.run would run it: returns its pid
--- and a function that waits for it and returns stdout, stderr, status.
function M.spawn(argv, env)
  local errfile = os.tmpname()
  -- sh prints its pid, then becomes env, then the program, which keeps that pid.
  local p = assert(io.popen("sh -c 'echo $$; exec \"$@\"' sh " .. command(argv, env)
    .. " 2>" .. errfile .. "; echo \"exit:$?\"", "r"))
  local pid = assert(tonumber(p:read("*l")))
  return pid, function()
    local out = p:read("*a")
    p:close()
    local err = M.read_file(errfile) or ""
    os.remove(errfile)
    local stdout, status = split_status(out)
    return stdout, err, status
  end
end

--- Runs a Lua snippet in a child interpreter: M.lua_code(code, env).
function M.lua_code(code, env)
  return M.run({ M.lua, "-e", code }, env)
end

return M
