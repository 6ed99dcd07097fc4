-- Coroutine scheduler over socket.select for the fake Gong server.
--
-- Every connection runs in its own coroutine on non-blocking sockets; a
-- coroutine that has to wait (for bytes, for buffer space, for a delay fault)
-- parks itself here and the loop resumes it when select or a timer says so.
-- That is what lets one stalled or delayed response leave every other
-- connection alone.

local socket = require "socket"

local socket_select, gettime = socket.select, socket.gettime
local create, resume, yield, running = coroutine.create, coroutine.resume, coroutine.yield, coroutine.running
local traceback = debug.traceback
local setmetatable, pairs, ipairs, select = setmetatable, pairs, ipairs, select
local unpack = table.unpack or unpack

local _M = {}

local Loop = {}
Loop.__index = Loop

--- Creates an empty loop. `on_error(message)` receives errors that escape a
--- coroutine; the coroutine is then simply dropped.
---@param on_error fun(message: string)
---@return table loop
function _M.new(on_error)
  return setmetatable({
    readers = {},   -- socket -> wait
    writers = {},   -- socket -> wait
    timers = {},    -- array of waits with a deadline, pruned lazily
    ready = {},     -- coroutines spawned but not yet started
    running = false,
    on_error = on_error or function(message) io.stderr:write(message, "\n") end,
  }, Loop)
end

-- Resumes a parked coroutine exactly once, whichever of socket readiness or
-- deadline comes first; the other registration is dropped here or lazily.
local function wake(self, wait, value)
  if wait.done then return end
  wait.done = true
  if wait.set and wait.set[wait.sock] == wait then wait.set[wait.sock] = nil end
  local ok, err = resume(wait.co, value)
  if not ok then self.on_error(traceback(wait.co, err)) end
end

local function park(self, set, sock, timeout)
  local wait = { co = running(), set = set, sock = sock }
  if set then set[sock] = wait end
  if timeout then
    wait.deadline = gettime() + timeout
    self.timers[#self.timers + 1] = wait
  end
  return yield()
end

--- Starts `fn(...)` in a new coroutine on the next loop turn.
function Loop:spawn(fn, ...)
  local args = { n = select("#", ...), ... }
  local co = create(function() return fn(unpack(args, 1, args.n)) end)
  self.ready[#self.ready + 1] = co
  return co
end

--- Waits until `sock` is readable; returns true, or false after `timeout` seconds.
---@param timeout number|nil
function Loop:wait_read(sock, timeout)
  return park(self, self.readers, sock, timeout)
end

--- Waits until `sock` is writable; returns true, or false after `timeout` seconds.
---@param timeout number|nil
function Loop:wait_write(sock, timeout)
  return park(self, self.writers, sock, timeout)
end

--- Suspends the calling coroutine for `seconds` without blocking the others.
function Loop:sleep(seconds)
  park(self, nil, nil, seconds > 0 and seconds or 0)
end

--- Makes run() return after the current turn.
function Loop:stop()
  self.running = false
end

local function keys(set)
  local list, n = {}, 0
  for sock in pairs(set) do
    n = n + 1
    list[n] = sock
  end
  return list
end

-- Wakes the timers that are due and returns seconds until the next one (nil
-- if none). Due waits are collected first so that coroutines adding timers
-- while being woken cannot disturb the scan.
local function fire_timers(self)
  local timers, now, due, kept, next_deadline = self.timers, gettime(), {}, {}, nil
  for _, wait in ipairs(timers) do
    if not wait.done then
      if wait.deadline <= now then
        due[#due + 1] = wait
      else
        kept[#kept + 1] = wait
        if not next_deadline or wait.deadline < next_deadline then next_deadline = wait.deadline end
      end
    end
  end
  self.timers = kept
  for _, wait in ipairs(due) do wake(self, wait, false) end
  if #due > 0 then return 0 end
  return next_deadline and next_deadline - now
end

--- Runs until stop() is called.
function Loop:run()
  self.running = true
  while self.running do
    local ready = self.ready
    if #ready > 0 then
      self.ready = {}
      for _, co in ipairs(ready) do
        local ok, err = resume(co)
        if not ok then self.on_error(traceback(co, err)) end
      end
    end
    local timeout = fire_timers(self)
    if not self.running then break end
    if #self.ready > 0 then timeout = 0 end
    local readable, writable = socket_select(keys(self.readers), keys(self.writers), timeout)
    for _, sock in ipairs(readable) do
      local wait = self.readers[sock]
      if wait then wake(self, wait, true) end
    end
    for _, sock in ipairs(writable) do
      local wait = self.writers[sock]
      if wait then wake(self, wait, true) end
    end
  end
end

return _M
