-- Headless Neovim for the specs: one scenario of spec/nvim/run.lua in a
-- real Neovim (Debian's 0.7.2, LuaJIT) against the fake Gong server, its
-- report read back. Needs `nvim` and gong.core built for LuaJIT (make
-- LUA=luajit).

local cjson = require("cjson").new()
local fake = require "spec.support.fake"

local creds = fake.credentials

local _M = {}

local process = require "spec.support.process"
local shell_quote, slurp, capture = process.quote, process.read_file, process.capture

-- Neovim is started in other directories too, so the root must be absolute.
local ROOT = fake.root
if ROOT:sub(1, 1) ~= "/" then
  ROOT = capture("cd " .. shell_quote(ROOT) .. " && pwd"):gsub("\n$", "")
end
local CORE = ROOT .. "/build/luajit/gong/core.so"
_M.ROOT, _M.CORE = ROOT, CORE

-- Runs one scenario: `env` adds variables (GONG_* of this process are
-- cleared, and so are LUA_PATH/LUA_CPATH: Neovim finds gong only as the
-- scenario arranges; and LD_PRELOAD, which check-asan sets for gong's specs,
-- not for Neovim), `cwd` is where Neovim starts. Returns the scenario's
-- report, Neovim's exit status and its stderr.
function _M.nvim(srv, scenario, opts)
  opts = opts or {}
  local out, errfile = os.tmpname(), os.tmpname()
  local words = { "env", "-u", "LUA_PATH", "-u", "LUA_CPATH", "-u", "LD_PRELOAD", "-u", "GONG_BASE_URL",
    "-u", "GONG_ACCESS_KEY", "-u", "GONG_ACCESS_KEY_SECRET", "-u", "GONG_TOKEN",
    "GONG_NVIM_ROOT=" .. ROOT, "GONG_NVIM_SCENARIO=" .. scenario, "GONG_NVIM_OUT=" .. out,
    "GONG_NVIM_URL=" .. srv.url, "GONG_NVIM_TOKEN=" .. creds.token }
  for k, v in pairs(opts.env or {}) do words[#words + 1] = k .. "=" .. v end
  for _, w in ipairs({ "timeout", "60", "nvim", "--headless", "-u", "NONE", "-i", "NONE", "-n",
                       "-c", "luafile " .. ROOT .. "/spec/nvim/run.lua" }) do
    words[#words + 1] = w
  end
  for i, w in ipairs(words) do words[i] = shell_quote(w) end
  local command = table.concat(words, " ") .. " </dev/null >/dev/null 2>" .. shell_quote(errfile)
  if opts.cwd then command = "cd " .. shell_quote(opts.cwd) .. " && " .. command end
  local status = tonumber(capture(command .. "; echo $?"):match("(%d+)%s*$"))
  local text, stderr = slurp(out) or "", slurp(errfile) or ""
  os.remove(out)
  os.remove(errfile)
  local ok, report = pcall(cjson.decode, text)
  report = ok and fake.strip_null(report) or { unreadable = text }
  return report, status, stderr
end

-- Runs a scenario that must finish cleanly, and returns its report.
function _M.run(srv, scenario, opts)
  local report, status, stderr = _M.nvim(srv, scenario, opts)
  assert(status == 0, ("Neovim scenario %s exited with %s\nreport: %s\nstderr: %s")
    :format(scenario, tostring(status), cjson.encode(report), stderr))
  -- Nothing the adapter does may print: a worker's uncaught error would.
  assert(stderr == "", "Neovim printed: " .. stderr)
  return report
end

return _M
