--- gong.loop: gong on a libuv event loop (luv, or Neovim's vim.uv / vim.loop),
--- with no thread and no blocking call.
---
---   local uv = require "luv"
---   local client = require("gong.loop").client(nil, uv)   -- options as gong.new's
---   local handle = client:folders(nil, function(folders, err, requestId) ... end)
---   handle:cancel()                                       -- the callback is never called
---   uv.run()
---
--- A client is long-lived: its requests share one connection to Gong (HTTP/2
--- streams, or HTTP/1.1 requests one after another), its rate limiter and its
--- retry policy. The loop watches the sockets and the one timer the core's
--- driver asks for (client:driver(), libcurl's multi socket interface), and
--- each callback is called exactly once, unless cancelled, with what the
--- blocking method returns. Responses are decoded on the loop's thread.
---
--- What the blocking API builds from requests (tree, library, calls_batch,
--- the Calls API's batches and pages) is gong.client's own code, run in a
--- coroutine that each request suspends until its answer.

local gong = require "gong"
local methods = require "gong.client"
local tree = require "gong.tree"

local coroutine, error, ipairs, math_min, pairs, select, setmetatable, tostring, type, unpack =
      coroutine, error, ipairs, math.min, pairs, select, setmetatable, tostring, type, table.unpack or unpack

local _M = {}

local function pack(...)
  return { n = select("#", ...), ... }
end

---@class gong.loop.Client
---@field api string the API the client speaks: "contract" or "public"
local Client = {}
local client_mt = { __index = Client, __name = "gong.loop.Client" }

-- Applies the driver's effects: the sockets to watch, the timer, and the
-- callbacks of the requests that ended.
local function apply(self, fx)
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
        if self._driver then
          apply(self, self._driver:socket(fd, events:find("r", 1, true) ~= nil,
                                          events:find("w", 1, true) ~= nil, err ~= nil))
        end
      end)
    end
  end
  local timer = self._timer
  timer:stop()
  if fx.timer >= 0 then
    timer:start(fx.timer, 0, function()
      if self._driver then apply(self, self._driver:timeout()) end
    end)
  end
  for _, done in ipairs(fx.done) do
    local answer = self._waiting[done.id]
    self._waiting[done.id] = nil
    if answer then answer(done[1], done[2], done[3]) end
  end
end

-- A task: one top-level call (folders, library, ...), run as a coroutine.
-- `ids` are its requests in flight, cancelled with it.

-- Resumes coroutine `co` of `task` with `...`; a task whose main coroutine
-- ends calls back, one that fails calls back with the error.
local function step(task, co, ...)
  if task.over then return end
  local ok, a = coroutine.resume(co, ...)
  if not ok then
    task.finish(pack(nil, gong.is_error(a) and a or gong.error("config", "gong.loop: " .. tostring(a))))
  elseif co == task.main and coroutine.status(co) == "dead" then
    task.finish(a)
  end
end

-- Inside a task: starts a request on the driver and suspends until its answer.
local function await(task, ...)
  local self, co = task.client, coroutine.running()
  local id, fx = self._driver:start(...)
  local now, suspended = nil, false
  task.ids[id] = true
  self._waiting[id] = function(...)
    task.ids[id] = nil
    if suspended then step(task, co, ...) else now = pack(...) end
  end
  apply(self, fx)
  if now then return unpack(now, 1, now.n) end
  suspended = true
  return coroutine.yield()
end

-- Inside a task: one(i) for i = 1..n, `concurrency` coroutines at a time.
local function each_at_once(task, n, concurrency, one, stop)
  local parent, next_i, running, parked = coroutine.running(), 1, 0, false
  local function worker()
    while next_i <= n and not stop() and not task.over do
      local i = next_i
      next_i = next_i + 1
      one(i)
    end
    running = running - 1
    if running == 0 and parked then step(task, parent) end
  end
  for _ = 1, math_min(concurrency, n) do
    running = running + 1
    step(task, coroutine.create(worker))
  end
  if running > 0 then
    parked = true
    coroutine.yield()
  end
end

-- What a task's code calls its client: the blocking methods, each request
-- suspending the task, with everything gong.client builds on them.
local Sync = {}
local sync_mt = { __index = Sync }

function Sync:folders(params) return await(self.task, "folders", params) end
function Sync:calls(folderId) return await(self.task, "calls", folderId) end
function Sync:workspaces() return await(self.task, "workspaces") end

function Sync:calls_batch(ids, opts)
  local task = self.task
  return methods.calls_batch_of(function(method, id) return await(task, method, id) end,
    function(...) return each_at_once(task, ...) end, ids, opts)
end

-- A Calls API method, every page of each batch asked for in turn.
local function calls_api(task, method, ids, opts)
  return methods.calls_api_of(function(batch, one)
    local found, rids, cursor = {}, {}, nil
    repeat
      local records, rid, next_cursor = await(task, method, batch, one, cursor)
      if not records then return nil, rid end
      for id, record in pairs(records) do found[id] = record end
      rids[#rids + 1] = rid
      cursor = next_cursor
    until cursor == nil
    return found, rids
  end, function(...) return each_at_once(task, ...) end, method, ids, opts)
end

function Sync:call_details(ids, opts) return calls_api(self.task, "call_details", ids, opts) end
function Sync:transcripts(ids, opts) return calls_api(self.task, "transcripts", ids, opts) end

methods.install(Sync)

---@class gong.loop.Handle
---@field cancel fun(self: gong.loop.Handle) ends the call: its callback is never called

-- Cancels the requests `task` has in flight.
local function drop(task)
  local self = task.client
  for id in pairs(task.ids) do
    task.ids[id] = nil
    self._waiting[id] = nil
    if self._driver then apply(self, self._driver:cancel(id)) end
  end
end

-- Runs `body(sync)` as a task and calls `callback` with what it returns,
-- never before this returns, never after the handle's cancel(). A bad
-- argument raises here, as the blocking method would raise it.
local function run(self, name, callback, body)
  if type(callback) ~= "function" then
    error(gong.error("argument", ("%s: the last argument must be a callback function (got %s)")
      :format(name, type(callback))), 3)
  end
  if self._closed then
    error(gong.error("closed", name .. ": client is closed"), 3)
  end
  local task = { client = self, ids = {}, over = false }
  local handle, returned = {}, false
  function task.finish(results)
    if task.over then return end
    task.over = true
    drop(task)
    local function answer()
      if not handle.cancelled then callback(unpack(results, 1, results.n)) end
    end
    if returned then
      self._settle(answer)
    else
      -- Answered before the call returned (nothing to ask, say): on the next turn of the loop.
      local timer = self._uv.new_timer()
      timer:start(0, 0, function()
        timer:close()
        self._settle(answer)
      end)
    end
  end
  task.main = coroutine.create(function() return pack(body(setmetatable({ task = task }, sync_mt))) end)
  local ok, results = coroutine.resume(task.main)
  if not ok then
    task.over = true
    drop(task)
    error(results, 3)
  end
  if coroutine.status(task.main) == "dead" then task.finish(results) end
  returned = true
  function handle.cancel()
    handle.cancelled = true
    if not task.over then
      task.over = true
      drop(task)
    end
  end
  return handle
end

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
    _core = core_client, _driver = core_client:driver(), _uv = uv, _polls = {}, _timer = uv.new_timer(),
    _waiting = {}, _settle = settle or function(fn) fn() end, _closed = false, api = core_client.api,
  }, client_mt)
  return self
end

--- Lists the folders: `callback(folders, requestId)` or `callback(nil, err)`.
---@param params? { workspaceId?: string }
---@param callback fun(folders: gong.Folder[]|nil, rid_or_err: string|gong.Error|nil)
---@return gong.loop.Handle
function Client:folders(params, callback)
  return run(self, "folders", callback, function(sync) return sync:folders(params) end)
end

--- Lists a folder's calls: `callback(calls, requestId)` or `callback(nil, err)`.
---@param folderId string
---@param callback fun(calls: gong.Call[]|nil, rid_or_err: string|gong.Error|nil)
---@return gong.loop.Handle
function Client:calls(folderId, callback)
  return run(self, "calls", callback, function(sync) return sync:calls(folderId) end)
end

--- The workspaces: `callback(workspaces, requestId)` or `callback(nil, err)`.
---@param callback fun(workspaces: gong.Workspace[]|nil, rid_or_err: string|gong.Error|nil)
---@return gong.loop.Handle
function Client:workspaces(callback)
  return run(self, "workspaces", callback, function(sync) return sync:workspaces() end)
end

--- The folder tree: `callback(tree, requestId)` or `callback(nil, err)`.
---@param params? { workspaceId?: string }
---@param callback fun(tree: gong.Tree|nil, rid_or_err: string|gong.Error|nil)
---@return gong.loop.Handle
function Client:tree(params, callback)
  return run(self, "tree", callback, function(sync)
    local folders, x = sync:folders(params)
    if folders == nil then return nil, x end
    return tree.build(folders), x
  end)
end

--- The calls of many folders: `callback(results)`, as client:calls_batch.
---@param ids string[]
---@param opts? table concurrency, on_result
---@param callback fun(results: table|nil, err: gong.Error|nil)
---@return gong.loop.Handle
function Client:calls_batch(ids, opts, callback)
  return run(self, "calls_batch", callback, function(sync) return sync:calls_batch(ids, opts) end)
end

--- Calls' details: `callback(details, requestIds)` or `callback(nil, err)`, as client:call_details.
---@param ids string[]
---@param opts? gong.CallsApiOptions
---@param callback fun(details: table|nil, rids_or_err: any)
---@return gong.loop.Handle
function Client:call_details(ids, opts, callback)
  return run(self, "call_details", callback, function(sync) return sync:call_details(ids, opts) end)
end

--- Calls' transcripts: `callback(transcripts, requestIds)` or `callback(nil, err)`, as client:transcripts.
---@param ids string[]
---@param opts? gong.CallsApiOptions
---@param callback fun(transcripts: table|nil, rids_or_err: any)
---@return gong.loop.Handle
function Client:transcripts(ids, opts, callback)
  return run(self, "transcripts", callback, function(sync) return sync:transcripts(ids, opts) end)
end

--- The whole library: `callback(tree, errors)` or `callback(nil, err)`, as
--- client:library (on_progress included).
---@param opts? gong.LibraryOptions
---@param callback fun(tree: gong.Tree|nil, errors_or_err: any)
---@return gong.loop.Handle
function Client:library(opts, callback)
  return run(self, "library", callback, function(sync) return sync:library(opts) end)
end

--- Cancels everything under way (no callback is called for it), and lets
--- the loop's handles go. Idempotent.
function Client:close()
  if self._closed then return end
  self._closed = true
  self._waiting = {}
  local driver = self._driver
  self._driver = nil
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

function client_mt.__tostring(self)
  return "gong.loop(" .. tostring(self._core) .. ")"
end

return _M
