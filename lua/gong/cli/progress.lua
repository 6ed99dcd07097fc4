--- gong.cli.progress: the status line an export redraws in place on stderr,
--- "12/300 folders, 180 calls, 2.9 req/s, ETA 0:01:40".

local output = require "gong.output"

local format, getenv, io, os, rep, setmetatable, type =
      string.format, os.getenv, io, os, string.rep, setmetatable, type

local _M = {}

--- Whether to show progress: GONG_PROGRESS=1 or 0 decides; otherwise whether
--- stderr is a terminal. The shell's test(1) answers that without a C helper;
--- os.execute returns 0 on Lua 5.1 and true on later versions for success.
---@return boolean
function _M.wanted()
  local v = getenv("GONG_PROGRESS")
  if v == "1" then
    return true
  elseif v == "0" then
    return false
  end
  local r = os.execute("test -t 2")
  return r == true or r == 0
end

-- Seconds on a monotonic clock, to 1/100 s where Linux tells it through
-- /proc/uptime (os.clock counts CPU time, which waiting does not use), else
-- whole seconds of os.time: enough for an export that lasts minutes.
local function clock()
  local f = io.open("/proc/uptime", "r")
  if f then
    local t = f:read("*n")
    f:close()
    if t then
      return t
    end
  end
  return os.time()
end

---@class gong.cli.Progress
local Progress = {}
local progress_mt = { __index = Progress }

--- A status line on `stderr` (io.stderr by default), nothing drawn yet.
---@param stderr? file*
---@return gong.cli.Progress
function _M.new(stderr)
  return setmetatable({ stderr = stderr or io.stderr, shown = 0, calls = 0, started = clock() }, progress_mt)
end

--- Draws `text` over the previous line, padding over what a shorter line leaves.
---@param text string
function Progress:draw(text)
  local width = output.width(text)
  local pad = self.shown - width
  self.stderr:write("\r", text, pad > 0 and rep(" ", pad) or "")
  self.stderr:flush()
  self.shown = width
end

--- Blanks the line and puts the cursor back at its start.
function Progress:clear()
  if self.shown > 0 then
    self.stderr:write("\r", rep(" ", self.shown), "\r")
    self.stderr:flush()
    self.shown = 0
  end
end

--- Called as each folder completes, with client:library()'s on_progress arguments.
---@param done integer
---@param total integer
---@param node table
function Progress:update(done, total, node)
  if type(node) == "table" and type(node.calls) == "table" then
    self.calls = self.calls + #node.calls
  end
  local elapsed = clock() - self.started
  local text = format("%d/%d folders, %d calls", done, total, self.calls)
  -- Rates over less than a second say little; they appear after the first one.
  if elapsed >= 1 then
    -- +1: the folder list was a request too.
    text = text .. format(", %.1f req/s, ETA %s", (done + 1) / elapsed,
      output.duration((total - done) * elapsed / done))
  end
  self:draw(text)
end

return _M
