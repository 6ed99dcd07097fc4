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

--- Seconds on a monotonic clock, to 1/100 s where Linux tells it through
--- /proc/uptime (os.clock counts CPU time, which waiting does not use), else
--- whole seconds of os.time: enough for an export that lasts minutes.
---@return number
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
_M.clock = clock

-- The request rate is counted over the last WINDOW seconds. Gong's limiter
-- lets a burst of `rate` requests go at once, then one burst per second:
-- over the time since the start, the first burst makes the rate look higher
-- than the limit for minutes; a whole window of 2 s never holds more than
-- two bursts, so it never shows more than the limit.
local WINDOW = 2

---@class gong.cli.Progress
local Progress = {}
local progress_mt = { __index = Progress }

--- A status line on `stderr` (io.stderr by default), nothing drawn yet.
---@param stderr? file*
---@return gong.cli.Progress
function _M.new(stderr)
  return setmetatable({ stderr = stderr or io.stderr, shown = 0, calls = 0, started = clock(), finished = {} },
                      progress_mt)
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

--- Called as each folder completes, with client:library()'s on_progress
--- arguments. The rate and the time left appear once a whole window has passed.
---@param done integer
---@param total integer
---@param node table
function Progress:update(done, total, node)
  if type(node) == "table" and type(node.calls) == "table" then
    self.calls = self.calls + #node.calls
  end
  local now = clock()
  local finished = self.finished
  finished[#finished + 1] = now
  local text = format("%d/%d folders, %d calls", done, total, self.calls)
  if now - self.started >= WINDOW then
    local recent = 0
    for i = #finished, 1, -1 do
      if finished[i] <= now - WINDOW then break end
      recent = recent + 1
    end
    local rate = recent / WINDOW
    text = text .. format(", %.1f req/s, ETA %s", rate, rate > 0 and output.duration((total - done) / rate) or "-")
  end
  self:draw(text)
end

return _M
