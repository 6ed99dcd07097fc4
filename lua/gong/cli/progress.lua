--- gong.cli.progress: the status line an export redraws in place on stderr,
--- "12/300 folders, 180 calls, 2.9 req/s, ETA 0:01:40".

-- cli_text, not text: here `text` is the status line.
local cli_text = require "gong.cli.text"
local terminal = require "gong.cli.terminal"

local format, getenv, io, os, rep, setmetatable, type =
      string.format, os.getenv, io, os, string.rep, setmetatable, type

local _M = {}

--- Whether to show progress: GONG_PROGRESS=1 or 0 decides; otherwise whether
--- stderr is a terminal.
---@return boolean
function _M.wanted()
  local v = getenv("GONG_PROGRESS")
  if v == "1" then
    return true
  elseif v == "0" then
    return false
  end
  return terminal.is_terminal(2)
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

--- A status line on `stderr` (io.stderr by default), nothing drawn yet;
--- `now` tells the time (the monotonic clock above by default).
---@param stderr? file*
---@param now? fun(): number
---@return gong.cli.Progress
function _M.new(stderr, now)
  return setmetatable({ stderr = stderr or io.stderr, now = now or clock, shown = 0, calls = 0, samples = {} },
                      progress_mt)
end

--- Draws `text` over the previous line, padding over what a shorter line leaves.
---@param text string
function Progress:draw(text)
  local width = cli_text.width(text)
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

--- Called as each folder completes, then as each batch of calls' details or
--- transcripts does, with client:library()'s on_progress arguments (and
--- with 0 done before the first, to show what is to come). Each
--- phase counts its own rate (requests in the last WINDOW seconds) and time
--- left (from how far `done` went in that window: folders, then calls), once
--- a whole window of the phase has passed.
---@param done integer
---@param total integer
---@param node table|nil
---@param phase? string "calls" (the default), "details" or "transcripts"
function Progress:update(done, total, node, phase)
  phase = phase or "calls"
  if type(node) == "table" and type(node.calls) == "table" then
    self.calls = self.calls + #node.calls
  end
  local now = self.now()
  if phase ~= self.phase then
    self.phase, self.phase_started, self.samples = phase, now, {}
  end
  local samples = self.samples
  -- Each sample is a request come back; 0 done is the phase's start.
  if done > 0 then samples[#samples + 1] = { now, done } end
  local text
  if phase == "calls" then
    text = format("%d/%d folders, %d calls", done, total, self.calls)
  else
    text = format("%s: %d/%d calls", phase, done, total)
  end
  if now - self.phase_started >= WINDOW then
    -- A phase starts at 0 done: that is where `done` stood before the
    -- window when no sample is older than it.
    local requests, before = 0, 0
    for i = #samples, 1, -1 do
      if samples[i][1] <= now - WINDOW then
        before = samples[i][2]
        break
      end
      requests = requests + 1
    end
    local speed = (done - before) / WINDOW
    text = text .. format(", %.1f req/s, ETA %s", requests / WINDOW,
                          speed > 0 and cli_text.duration((total - done) / speed) or "-")
  end
  self:draw(text)
end

return _M
