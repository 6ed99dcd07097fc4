-- The server-side rate limit of the `rate_limit` setting: Gong allows a
-- tenant a few API requests per second and answers 429 with Retry-After to
-- the ones past that. Here it is a sliding window over the arrivals of the
-- requests it accepted: a request that arrives (is read) at `t` is refused
-- when `rate_limit` accepted requests arrived in the second before it, in
-- (t - 1, t]; so no one-second window, wherever it starts, holds more
-- accepted arrivals than that.
--
-- A refused request does not count. Whether Gong counts them is not
-- documented; not counting them is the kinder rule for a client that
-- retries too early, so a bench that compares such a client with gong
-- does not make gong look better than Gong would.

local faults = require "fake.faults"

local setmetatable = setmetatable

local _M = {}

--- The window's length in seconds.
_M.WINDOW = 1

--- What a refusal's Retry-After says: a slot frees within one window, and
--- the header counts whole seconds.
_M.RETRY_AFTER = "1"

local Window = {}
Window.__index = Window

--- An empty window.
---@return table window
function _M.window()
  return setmetatable({ times = {}, first = 1, last = 0 }, Window)
end

--- Whether a request arriving at `now` (seconds, never earlier than the
--- last one asked about) is accepted under a limit of `limit` a window; an
--- accepted one is counted. A limit of 0 accepts everything and counts
--- nothing, so a limit set later starts from an empty window.
---@param now number
---@param limit integer
---@return boolean accepted
function Window:admit(now, limit)
  if limit == 0 then return true end
  local times, first, last = self.times, self.first, self.last
  while first <= last and times[first] <= now - _M.WINDOW do
    times[first] = nil
    first = first + 1
  end
  self.first = first
  if last - first + 1 >= limit then return false end
  last = last + 1
  times[last] = now
  self.last = last
  return true
end

--- The answer to a refused request: 429 with Retry-After and the error body
--- of every other 429 (`error_objects` applies).
---@param api table fake.api
---@return table response
function _M.refusal(api)
  local res = api:error(429, faults.MESSAGES[429])
  res.headers = { { "Retry-After", _M.RETRY_AFTER } }
  return res
end

--- Forgets every counted arrival.
function Window:clear()
  self.times, self.first, self.last = {}, 1, 0
end

return _M
