--- gong.tasks: a method made of many requests, run as coroutines over a
--- driver of the core (client:driver()), each request suspending its
--- coroutine until the driver says it ended. This is how the blocking client
--- runs its batches (the caller waits in driver:wait()) and how gong.loop runs
--- every method (the event loop waits); gong.resty runs the same method
--- bodies on nginx's light threads instead.
---
--- A task is the host a method's body is given (see gong.client):
---   task:request(kind, ...)                   one request of core.KINDS,
---                                             every attempt: what the
---                                             blocking request returns
---   task:each_at_once(n, concurrency, one, stop)
---                                             one(i) for i = 1..n, up to
---                                             concurrency at a time; see below
---   task:call(fn, ...)                        a callback of the caller's
---                                             (on_result, on_progress,
---                                             on_plan), where the host runs
---                                             them: what it returns counts

local core = require "gong.core"

local coroutine, error, ipairs, pairs, select, setmetatable, tostring, unpack =
      coroutine, error, ipairs, pairs, select, setmetatable, tostring, table.unpack or unpack

local _M = {}

local function pack(...)
  return { n = select("#", ...), ... }
end

---@class gong.tasks.Tasks
---@field driver table the core's driver
---@field private waiting table<integer, function> who waits for each request in flight, by its id
---@field private owners table<integer, gong.tasks.Task> the task of each request in flight, by its id
local Tasks = {}
local tasks_mt = { __index = Tasks }

--- The tasks of one driver. `on_effects(fx)`, when given, is the host's part
--- of a driver call's effects (gong.loop watches the sockets and the timer);
--- `settle(fn)`, when given, is where the host runs the caller's callbacks
--- (gong.nvim: vim.schedule, on the main loop): a task waits for each.
---@param driver table
---@param on_effects? fun(fx: table)
---@param settle? fun(fn: function)
---@return gong.tasks.Tasks
function _M.new(driver, on_effects, settle)
  return setmetatable({ driver = driver, waiting = {}, owners = {}, on_effects = on_effects, settle = settle,
                        live = setmetatable({}, { __mode = "k" }) }, tasks_mt)
end

--- Ends every task under way: none calls anything back after this (the
--- client was closed; its driver drops the requests).
function Tasks:close()
  for task in pairs(self.live) do
    task.over = true
    self.live[task] = nil
  end
  self.waiting, self.owners = {}, {}
end

-- Tells the client's `on_wait` of `info`, a wait of one of `task`'s requests,
-- where the host runs callbacks; what it raises ends the task.
local function tell_wait(task, on_wait, info)
  local function call()
    if task.over then return end
    local ok, err = pcall(on_wait, info)
    if not ok then task:fail(err) end
  end
  local settle = task.tasks.settle
  if settle then settle(call) else call() end
end

--- Applies a driver call's effects: the host's part, then the client's
--- on_wait told of each wait of a request (fx.waits), then each request
--- that ended resumes whoever waits for it.
---@param fx table
function Tasks:apply(fx)
  if self.on_effects then self.on_effects(fx) end
  for _, info in ipairs(fx.waits or {}) do
    local task = self.owners[info.id]
    info.id = nil
    if task and not task.over then tell_wait(task, fx.on_wait, info) end
  end
  local waiting = self.waiting
  for _, done in ipairs(fx.done) do
    local answer = waiting[done.id]
    waiting[done.id] = nil
    if answer then answer(done[1], done[2], done[3]) end
  end
end

---@class gong.tasks.Task
---@field tasks gong.tasks.Tasks
---@field over boolean
local Task = {}
local task_mt = { __index = Task }

-- Resumes coroutine `co` of the task with `...`. A coroutine that raises
-- ends the task with that error; the main coroutine's end is the task's.
local function resume(task, co, ...)
  if task.over then return end
  local ok, a = coroutine.resume(co, ...)
  if not ok then
    task:fail(a)
  elseif co == task.main and coroutine.status(co) == "dead" then
    task:finish(a)
  end
end

-- Ends the task: its requests in flight are cancelled and `tell(value)` is
-- told how it ended (the first end only).
local function finish(task, tell, value)
  if task.over then return end
  task.over = true
  task.tasks.live[task] = nil
  task:cancel()
  tell(value)
end

--- Ends the task with `results` (packed).
---@param results table
function Task:finish(results)
  finish(self, self.on_finish, results)
end

--- Ends the task without a word: it was cancelled.
function Task:stop()
  finish(self, function() end)
end

--- Ends the task with the error `err` raised in it (a gong error or anything a
--- callback raised).
---@param err any
function Task:fail(err)
  finish(self, self.on_fail, err)
end

--- Cancels the requests in flight that `owner` started (a coroutine), or
--- all of the task's when `owner` is nil: no answer for them ever comes.
---@param owner? thread
function Task:cancel(owner)
  local tasks = self.tasks
  for id, co in pairs(self.ids) do
    if owner == nil or co == owner then
      self.ids[id] = nil
      tasks.waiting[id], tasks.owners[id] = nil, nil
      tasks:apply(tasks.driver:cancel(id))
    end
  end
end

--- One request of `kind` with `...` (core.KINDS; client:request's
--- arguments): suspends the calling coroutine until the driver says it
--- ended, and returns what the blocking request returns.
---@param kind string
---@return any ...
function Task:request(kind, ...)
  local tasks, co = self.tasks, coroutine.running()
  local id, fx = tasks.driver:start(kind, ...)
  local early, suspended = nil, false
  self.ids[id] = co
  tasks.owners[id] = self
  tasks.waiting[id] = function(...)
    self.ids[id], tasks.owners[id] = nil, nil
    if suspended then resume(self, co, ...) else early = pack(...) end
  end
  tasks:apply(fx)
  if early then return unpack(early, 1, early.n) end
  suspended = true
  return coroutine.yield()
end

--- Whether the run should stop: its client was closed (by the callback just
--- called, say) or the task ended.
---@return boolean
function Task:closed()
  return self.over or self.tasks.driver:closed()
end

--- Calls the caller's callback `fn(...)` where the host runs callbacks, and
--- returns what it returns (a callback's `false` stops a batch on every
--- host); what it raises ends the task. Without a `settle` of the host, at
--- once; with one, the calling coroutine waits for it.
---@param fn function
---@return any ...
function Task:call(fn, ...)
  local settle = self.tasks.settle
  if not settle then return fn(...) end
  local co, args = coroutine.running(), pack(...)
  local results, suspended = nil, false
  settle(function()
    if self.over then return end
    results = pack(pcall(fn, unpack(args, 1, args.n)))
    if suspended then resume(self, co) end
  end)
  if not results then
    suspended = true
    coroutine.yield()
  end
  if not results[1] then error(results[2], 0) end
  return unpack(results, 2, results.n)
end

--- Runs one(i) for i = 1..n, up to `concurrency` at a time, each in a
--- coroutine of its own, and returns once all have. `stop()` is asked
--- before each start: true starts no more; "now" starts no more and returns
--- at once, the requests of the others under way cancelled and their one(i)
--- never finished.
---@param n integer
---@param concurrency integer
---@param one fun(i: integer)
---@param stop fun(): boolean|string|nil
function Task:each_at_once(n, concurrency, one, stop)
  local parent, next_i, running, parked, abandoned, workers = coroutine.running(), 1, 0, false, false, {}
  -- Back to the caller, once: when the last worker is done, or at once on "now".
  local function wake()
    if parked then
      parked = false
      resume(self, parent)
    end
  end
  local function worker()
    local me = coroutine.running()
    while next_i <= n and not self.over and not abandoned do
      local why = stop()
      if why == "now" then
        -- The others are dropped: their requests cancelled, their one(i) never finished.
        abandoned = true
        for co in pairs(workers) do self:cancel(co) end
        wake()
        return
      elseif why then
        break
      end
      local i = next_i
      next_i = next_i + 1
      one(i)
    end
    if workers[me] and not abandoned then
      workers[me] = nil
      running = running - 1
      if running == 0 then wake() end
    end
  end
  for _ = 1, concurrency < n and concurrency or n do
    local co = coroutine.create(worker)
    workers[co] = true
    running = running + 1
    resume(self, co)
  end
  if running > 0 and not abandoned and not self.over then
    parked = true
    coroutine.yield()
  end
end

--- Starts `body(task, ...)` as a task: its main coroutine runs until it
--- first waits. `on_finish(results)` gets what the body returns (packed),
--- `on_fail(err)` what it raised.
---@param body function
---@param on_finish fun(results: table)
---@param on_fail fun(err: any)
---@return gong.tasks.Task
function Tasks:start(body, on_finish, on_fail, ...)
  local task = setmetatable({ tasks = self, ids = {}, over = false, on_finish = on_finish, on_fail = on_fail },
                            task_mt)
  self.live[task] = true
  local args = pack(...)
  task.main = coroutine.create(function() return pack(body(task, unpack(args, 1, args.n))) end)
  resume(task, task.main)
  return task
end

--- Runs `body(task, ...)` as a task of `self` while the caller waits: the
--- driver is a wait driver (client:driver("wait")). Returns what the body
--- returns; raises what it raised. Ctrl-C ends it with an `interrupted`
--- error, its requests cancelled.
---@param name string the method, for messages
---@param body function
---@return any ...
function Tasks:run(name, body, ...)
  local results, raised, failed = nil, nil, false
  local task = self:start(body, function(r) results = r end, function(e) failed, raised = true, e end, ...)
  while not task.over do
    local fx = self.driver:wait()
    if fx.interrupted then
      task:finish({ n = 2, nil, core.error("interrupted", name .. ": interrupted") })
      break
    end
    if fx.done[1] == nil and self.driver:pending() == 0 and not task.over then
      -- Nothing in flight and nothing ended: a coroutine waits for something else (a callback yielded).
      task:fail(core.error("argument", name .. ": a callback yielded; gong's callbacks must not yield"))
    else
      self:apply(fx)
    end
  end
  if failed then error(raised, 0) end
  return unpack(results, 1, results.n)
end

--- What a task's main coroutine raised, as a gong error: a gong error as it
--- is, anything else (a callback's own error) as a `config` error naming
--- the host.
---@param err any
---@param host string
---@return gong.Error
function _M.as_error(err, host)
  if core.is_error(err) then return err end
  return core.error("config", host .. ": " .. tostring(err))
end

return _M
