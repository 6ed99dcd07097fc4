--- gong.loop: gong on a libuv event loop (luv, or Neovim's vim.uv / vim.loop),
--- with no thread and no blocking call.
---
---   local uv = require "luv"
---   local client = require("gong.loop").client(nil, uv)   -- options as gong.new's
---   local handle = client:folders(nil, function(folders, err, requestId) ... end)
---   handle:cancel()                                       -- the callback is never called
---   uv.run()
---
--- Every method of gong's clients (gong.client) is here with a callback as
--- its last argument, called once, never before the method returns, unless
--- cancelled: `callback(result, nil, extra)` with what the blocking method
--- returns (`result, extra`), or `callback(nil, err)`. A bad argument
--- raises, as the blocking method would; a closed client's method calls
--- back with a `closed` error.
---
--- A client is long-lived: its requests share one connection to Gong (HTTP/2
--- streams, or HTTP/1.1 requests one after another), its rate limiter and its
--- retry policy. The loop watches the sockets and the one timer the core's
--- driver asks for (client:driver(), libcurl's multi socket interface), and
--- each method runs as a task (gong.tasks). Responses are decoded on the
--- loop's thread.

local core = require "gong.core"
local gong = require "gong"
local methods = require "gong.client"
local tasks = require "gong.tasks"

local assert, error, getmetatable, ipairs, pairs, select, setmetatable, tostring, type, unpack =
      assert, error, getmetatable, ipairs, pairs, select, setmetatable, tostring, type, table.unpack or unpack

local _M = {}

---@class gong.loop.Client: gong.Client
---@field api string the API the client speaks: "contract" or "public"
---@field tenant string the tenant's name (see gong.Client)
local Client = {}
local client_mt = { __index = Client, __name = "gong.loop.Client" }

-- The host's part of a driver call's effects: the sockets to watch and the timer.
local function watch(self, fx)
  local uv, polls = self._uv, self._polls
  for _, w in ipairs(fx.watch) do
    local fd, what = w[1], w[2]
    local poll = polls[fd]
    if what == "remove" then
      if poll then
        poll:stop()
        poll:close()
        polls[fd] = nil
      end
    else
      if not poll then
        poll = uv.new_socket_poll(fd)
        polls[fd] = poll
      end
      poll:start(what == "in" and "r" or what == "out" and "w" or "rw", function(err, events)
        events = events or ""
        if not self._closed then
          self._tasks:apply(self._driver:socket(fd, events:find("r", 1, true) ~= nil,
                                                events:find("w", 1, true) ~= nil, err ~= nil))
        end
      end)
    end
  end
  local timer = self._timer
  timer:stop()
  if fx.timer >= 0 then
    timer:start(fx.timer, 0, function()
      if not self._closed then self._tasks:apply(self._driver:timeout()) end
    end)
  end
end

---@class gong.loop.Handle
---@field cancel fun(self: gong.loop.Handle) ends the call: its callback is never called

-- Calls `answer` on a later turn of the loop (an answer ready before the
-- method returned: nothing to ask, or a closed client).
local function later(self, answer)
  local timer = self._uv.new_timer()
  timer:start(0, 0, function()
    timer:close()
    self._settle(answer)
  end)
end

-- Runs `method`'s body with `args` as a task and calls `callback` with what
-- it returns, never before this returns, never after the handle's cancel()
-- or the client's close() (a call made on a closed client is told so).
local function run(self, method, callback, args)
  local handle, returned, closed = {}, false, self._closed
  local function finish(results)
    local function answer()
      if handle.cancelled or (self._closed and not closed) then return end
      if results[1] == nil then callback(nil, results[2]) else callback(results[1], nil, results[2]) end
    end
    if returned then self._settle(answer) else later(self, answer) end
  end
  local task
  if closed then
    finish({ nil, core.closed_error(method.name) })
  else
    task = self._tasks:start(method.run, finish, function(err)
      if not returned then error(err, 0) end -- raised before the method returned: the caller's to see
      finish({ nil, tasks.as_error(err, "gong.loop") })
    end, unpack(args, 1, args.n))
  end
  returned = true
  function handle.cancel()
    handle.cancelled = true
    if task then task:stop() end
  end
  return handle
end

-- A method of gong.client on this class: its arguments, then a callback.
methods.install(Client, function(method)
  local name = method.name
  return function(self, ...)
    methods.check_self(getmetatable(self) == client_mt, name, self)
    local n = select("#", ...)
    local callback = n > 0 and select(n, ...) or nil
    if type(callback) ~= "function" then
      error(gong.error("argument", ("%s: the last argument must be a callback function (got %s)")
        :format(name, type(callback))), 2)
    end
    local args = { n = n - 1, ... }
    args[n] = nil
    method.check(unpack(args, 1, args.n))
    return run(self, method, callback, args)
  end
end)

--- Creates a client on the loop `uv` (luv, vim.uv or vim.loop): `opts` as
--- gong.new's, raising what it raises. `settle(fn)` is how callbacks are
--- called (default: at once, from the loop's callback; gong.nvim passes
--- vim.schedule).
---@param opts? gong.Options
---@param uv table
---@param settle? fun(fn: function)
---@return gong.loop.Client
function _M.client(opts, uv, settle)
  if type(uv) ~= "table" or type(uv.new_timer) ~= "function" or type(uv.new_socket_poll) ~= "function" then
    error(gong.error("argument", "gong.loop.client: uv must be luv, vim.uv or vim.loop (got " .. type(uv) .. ")"), 2)
  end
  local core_client = gong.new(opts)
  local self = setmetatable({
    _core = core_client, _driver = assert(core_client:driver()), _uv = uv, _polls = {}, _timer = uv.new_timer(),
    _settle = settle or function(fn) fn() end, _closed = false, api = core_client.api, tenant = core_client.tenant,
  }, client_mt)
  -- The caller's progress callbacks run where `settle` runs callbacks (when it was given), waited for.
  self._tasks = tasks.new(self._driver, function(fx) watch(self, fx) end, settle)
  return self
end

--- The attempts the client has made (every retry counted): see gong.Client.
---@return { requests: integer, rate_file?: string }
function Client:stats()
  return self._core:stats()
end

--- What the client's retry policy does after `err` ended attempt number `attempts`: see gong.Client.
---@param err gong.Error
---@param attempts integer
---@param left? number
---@param kind? string
---@return number|nil
---@return table|nil
function Client:retry_in(err, attempts, left, kind)
  return self._core:retry_in(err, attempts, left, kind)
end

--- Cancels everything under way (no callback is called for it), and lets
--- the loop's handles go. Idempotent.
function Client:close()
  if self._closed then return end
  self._closed = true
  self._tasks:close()
  local driver = self._driver
  driver:close()
  for fd, poll in pairs(self._polls) do
    poll:stop()
    poll:close()
    self._polls[fd] = nil
  end
  self._timer:stop()
  self._timer:close()
  self._core:close()
end

client_mt.__close = Client.close

function client_mt.__tostring(self)
  return "gong.loop(" .. tostring(self._core) .. ")"
end

return _M
