--- gong.cli.progress: the status line an export redraws in place on stderr,
--- "12/300 folders, 180 calls, 2.9 req/s, ETA 0:01:40", and where any
--- command says on it what a request waits for, "rate limited by Gong,
--- retrying in 20 s (attempt 2 of 5)".

-- cli_text, not text: here `text` is the status line.
local cli_text = require "gong.cli.text"
local span = require("gong.cli.explain").span
local terminal = require "gong.cli.terminal"

local concat, format, getenv, io, ipairs, os, pairs, remove, rep, setmetatable, type =
      table.concat, string.format, os.getenv, io, ipairs, os, pairs, table.remove, string.rep, setmetatable, type

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

-- The columns of the terminal on stderr, asked at each frame: it may have
-- been resized since the last.
local function stderr_columns()
  return terminal.columns(2)
end

--- A status line on `stderr` (io.stderr by default), nothing drawn yet;
--- `now` tells the time (the monotonic clock above by default); `columns`
--- the width to fit (nil: any), by default that of the terminal on stderr
--- when `stderr` is the default.
---@param stderr? file*
---@param now? fun(): number
---@param columns? fun(): integer|nil
---@return gong.cli.Progress
function _M.new(stderr, now, columns)
  return setmetatable({ stderr = stderr or io.stderr, now = now or clock, shown = 0, calls = 0, samples = {},
                        columns = columns or not stderr and stderr_columns or nil }, progress_mt)
end

-- The room for a line on a terminal of `columns`: one column less, so that
-- the cursor never sits past the last one, where some terminals have
-- already wrapped and "\r" would return to a new line.
local function room(columns)
  return columns and columns > 1 and columns - 1 or nil
end

-- `parts` joined by ", ", without those that do not fit `columns` (nil: any):
-- parts[i] = {text, rank}, the highest rank left out first (0: never).
local function join_fitting(parts, columns)
  local kept = {}
  for i, p in ipairs(parts) do kept[i] = p end
  while true do
    local texts, highest = {}, nil
    for i, p in ipairs(kept) do
      texts[i] = p[1]
      if p[2] > 0 and (not highest or p[2] > kept[highest][2]) then highest = i end
    end
    local text = concat(texts, ", ")
    if not columns or not highest or cli_text.width(text) <= columns then return text end
    remove(kept, highest)
  end
end

--- Draws `text` over the previous line, padding over what a shorter line
--- leaves, cut with "…" to the terminal's width.
---@param text string
function Progress:draw(text)
  local columns = room(self.columns and self.columns())
  if columns and cli_text.width(text) > columns then text = cli_text.truncate(text, columns) end
  if columns and self.shown > columns then self.shown = columns end
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
  -- What gives way on a narrow terminal: the rate, then the calls counted,
  -- then the time left.
  local parts
  if phase == "calls" then
    parts = { { format("%d/%d folders", done, total), 0 }, { format("%d calls", self.calls), 2 } }
  else
    parts = { { format("%s: %d/%d calls", phase, done, total), 0 } }
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
    parts[#parts + 1] = { format("%.1f req/s", requests / WINDOW), 3 }
    parts[#parts + 1] = { "ETA " .. (speed > 0 and cli_text.duration((total - done) / speed) or "-"), 1 }
  end
  self:draw(join_fitting(parts, room(self.columns and self.columns())))
end

-- The shortest rate limit wait worth a line: at 3 requests/s every request of
-- a busy export waits up to a second (the window, and its 50 ms margin), and
-- a line for each would only flicker.
local RATE_WAIT_SHOWN = 2

-- What failed before a retry, by gong's on_wait reasons.
local FAILED = {
  rate_limited = function() return "rate limited by Gong" end,
  server = function(info) return format("Gong answered HTTP %d", info.status or 0) end,
  timeout = function(info)
    return format(info.timeout == "connect" and "no connection yet (%s)" or "no answer yet (%s)",
                  span(info.elapsed or 0))
  end,
  network = function() return "network error" end,
}

--- What the status line says of a wait gong's on_wait tells (see the
--- README's `on_wait`): "rate limited by Gong, retrying in 20 s (attempt 2
--- of 5)", "no answer yet (30 s), retrying in 0.4 s (attempt 2 of 5)",
--- "waiting 20 s for the rate limit"; nil for a rate limit wait under
--- RATE_WAIT_SHOWN seconds.
---@param info table
---@return string|nil
function _M.wait_text(info)
  if info.reason == "rate" then
    return info.seconds >= RATE_WAIT_SHOWN and format("waiting %s for the rate limit", span(info.seconds)) or nil
  end
  local failed = FAILED[info.reason] or FAILED.network
  return format("%s, retrying in %s (attempt %d of %d)", failed(info), span(info.seconds), info.attempt,
                info.attempts)
end

--- Says the wait `info` (gong's on_wait) on the status line of `report`
--- (gong.cli.report), made when there is none yet: in place of the progress
--- line, which the next progress redraws, or alone, cleared before anything
--- else is written. A wait for the rate limit that ends with the last
--- retry's wait says that retry again, with its time left: the other
--- requests wait out the pause of the 429 it names.
---@param report gong.cli.Report
---@param info table
function _M.waiting(report, info)
  local text = _M.wait_text(info)
  if not text then return end
  local line = report.progress
  if not line then
    line = _M.new(report.stderr)
    report.progress = line
  end
  local now, retry = line.now(), line.retry
  if info.reason ~= "rate" then
    line.retry = { info = info, ends = now + info.seconds }
  elseif retry and now < retry.ends and now + info.seconds <= retry.ends + 1 then
    local again = {}
    for k, v in pairs(retry.info) do again[k] = v end
    again.seconds = retry.ends - now
    text = _M.wait_text(again)
  end
  line:draw(text)
end

return _M
