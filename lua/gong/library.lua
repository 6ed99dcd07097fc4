--- gong.library: client:library(), the whole library in one call, written
--- once for every host: the folder list, each folder's calls (a calls_batch),
--- then, when asked, the details and transcripts of every distinct call (the
--- Calls API), told to on_plan before any request but the folder list and
--- to on_progress as it goes. Runs on a host (see gong.client).

local batch = require "gong.batch"
local core = require "gong.core"
local tree = require "gong.tree"

local ceil, error, ipairs, max, pairs, tostring, type = math.ceil, error, ipairs, math.max, pairs, tostring, type

local _M = {}

--- Options of client:library(); anything else is a typo.
_M.OPTIONS = {
  workspaceId = true, concurrency = true, strict = true, on_progress = true,
  details = true, transcripts = true, skip_empty = true, on_plan = true, reuse = true,
  on_call_data = true, keep = true,
}

---@class gong.LibraryOptions
---@field workspaceId? string only this workspace's folders
---@field concurrency? integer transfers at once (3); every one still under the client's rate limit
---@field strict? boolean any failure makes the whole call return nil, err
---@field details? boolean|string[] each call's details (client:call_details), true or the fields to ask for
---@field transcripts? boolean each call's transcript (client:transcripts)
---@field skip_empty? boolean the contract's folders with callCount 0 are not asked for their calls (true)
---@field on_progress? fun(done: integer, total: integer, node: gong.TreeNode?, err: gong.Error?, phase: string)
--- called as each folder completes (phase "calls"), then as each batch of calls' details or transcripts does
---@field reuse? gong.LibraryReuse what an earlier run fetched: the Calls API is asked only for what it lacks
---@field on_plan? fun(plan: gong.LibraryPlan): boolean? called once the folder list is back, before any other
--- request, with what the run is to make; returning false stops it there: library() returns nil and an error of
--- kind "config", option "on_plan", reason "refused"
---@field on_call_data? fun(callId: string, field: string, data: table) called with each call's details (`field`
--- "details") and transcript ("transcript") as each page of them comes, once per distinct call: a caller that
--- writes them out as they come holds no more than the pages in flight (a batch of core.MAX_BATCH calls each)
---@field keep? boolean false: the details and transcripts are not hung on the calls (only handed to
--- on_call_data); started, duration and primaryUserId still are (true)

---What an earlier run of library() fetched (an export read back), so that the Calls API is asked only for the
---calls it lacks. A call whose entry is `false` is known to have none: it is not asked, and gets nothing.
---@class gong.LibraryReuse
---@field details? table<string,table|false> each call's details, by call id
---@field transcripts? table<string,table|false> each call's transcript (its monologues), by call id
---@field folders? table<string,string[]> the call ids each folder held, for the plan's estimate

---What library() is to make, told to on_plan before it asks for any folder's calls. Retries are never counted.
---@class gong.LibraryPlan
---@field requests integer every request of the run, the folder list's included: exactly that when `exact`, else
--- an estimate (`calls_api` known) or the least it makes (`calls_api` nil)
---@field exact boolean no Calls API part (neither details nor transcripts asked, or no folder to ask)
---@field folder_list integer 1: the folder list, already made
---@field folders integer the folders to ask for their calls, one request each (a folder's calls come in one answer)
---@field calls? integer the calls of those folders by their callCount, a call in two folders counted twice; nil
--- when a folder has no count (a real tenant's)
---@field phases integer the Calls API phases asked: details, transcripts (0 to 2)
---@field batch_size integer call ids per Calls API request (core.MAX_BATCH)
---@field calls_api? integer Calls API requests, phases x ceil(calls / batch_size): fewer when a call is in two
--- folders, more when Gong pages an answer; nil when `calls` is unknown. With `reuse`, each phase's
--- ceil(asked / batch_size), asked: the calls new to `reuse.folders` and those whose data for the phase it lacks
---@field reused? integer with `reuse`: the calls `reuse.folders` lists in the folders asked whose data for every
--- phase `reuse` holds, asked nothing (0 when no phase is asked); `calls` is then the calls to ask about

--- Checks library()'s options (raises what is wrong, before any request).
---@param opts? gong.LibraryOptions
function _M.check(opts)
  if opts ~= nil and type(opts) ~= "table" then
    error(core.error("argument", "library: options must be a table (got " .. type(opts) .. ")"), 2)
  end
  for k in pairs(opts or {}) do
    if not _M.OPTIONS[k] then
      error(core.error("argument", ("library: unknown option '%s'"):format(tostring(k))), 2)
    end
  end
  for _, name in ipairs({ "on_progress", "on_plan", "on_call_data" }) do
    if opts and opts[name] ~= nil and type(opts[name]) ~= "function" then
      error(core.error("argument", "library: " .. name .. " must be a function"), 2)
    end
  end
  if opts and opts.reuse ~= nil and type(opts.reuse) ~= "table" then
    error(core.error("argument", "library: reuse must be a table {details = ..., transcripts = ..., folders = ...}"),
      2)
  end
  if opts and opts.details ~= nil and type(opts.details) ~= "boolean" and type(opts.details) ~= "table" then
    error(core.error("argument", "library: details must be true, false or a list of fields"), 2)
  end
  -- The fields asked for are call_details' (its phase runs on them after the folders' calls).
  if opts and opts.keep ~= nil and type(opts.keep) ~= "boolean" then
    error(core.error("argument", "library: keep must be true or false"), 2)
  end
  if opts and type(opts.details) == "table" then core.check_request("call_details", {}, { fields = opts.details }) end
  batch.concurrency(opts, "library")
  if opts and opts.workspaceId ~= nil then core.check_request("folders", { workspaceId = opts.workspaceId }) end
end

-- The distinct usable folder ids of `t` in walk order, and the nodes of each:
-- nodes sharing a duplicated id share its calls, fetched once. With
-- `skip_empty`, a folder whose count says it holds no call gets an empty
-- list without a request.
local function folder_ids(t, skip_empty)
  local ids, nodes_of = {}, {}
  for node in t:walk() do
    local id = node.id
    if skip_empty and node.callCount == 0 then
      node.calls = {}
    elseif type(id) == "string" and id ~= "" then
      if nodes_of[id] == nil then
        nodes_of[id] = {}
        ids[#ids + 1] = id
      end
      local list = nodes_of[id]
      list[#list + 1] = node
    end
  end
  return ids, nodes_of
end

-- The Calls API phases, in the order they run: the option that asks for
-- one, the field a call gets, the method, and the table of gong.LibraryReuse
-- that may hold it already.
local PHASES = {
  { option = "details", field = "details", method = "call_details", reuse = "details" },
  { option = "transcripts", field = "transcript", method = "transcripts", reuse = "transcripts" },
}

-- What `reuse` holds for call `id` in phase `p`: the data, false (known to
-- have none) or nil (to ask).
local function reused_value(reuse, p, id)
  local held = reuse and reuse[p.reuse]
  if type(held) ~= "table" then return nil end
  return held[id]
end

-- With `reuse`, the calls to ask about, the Calls API requests and the calls
-- reused that a run of the folders `ids` (`nodes_of` their nodes) and the
-- phases `asked` comes to: a folder's calls beyond those reuse.folders lists
-- for it are new, asked in every phase; a listed call is asked in each phase
-- whose data reuse lacks, and reused when it lacks none. Nil requests when
-- a folder has no callCount.
local function reuse_estimate(ids, nodes_of, reuse, asked)
  local held_of = type(reuse.folders) == "table" and reuse.folders or {}
  local new, reused, to_ask, lacking, seen = 0, 0, 0, {}, {}
  for i = 1, #asked do lacking[i] = 0 end
  for _, id in ipairs(ids) do
    local held = type(held_of[id]) == "table" and held_of[id] or {}
    local count = nodes_of[id][1].callCount
    new = new and type(count) == "number" and new + max(0, count - #held) or nil
    for _, call_id in ipairs(held) do
      if not seen[call_id] then
        seen[call_id] = true
        local lacks = false
        for i, p in ipairs(asked) do
          if reused_value(reuse, p, call_id) == nil then
            lacking[i], lacks = lacking[i] + 1, true
          end
        end
        if lacks then to_ask = to_ask + 1 else reused = reused + 1 end
      end
    end
  end
  if new == nil then return nil, nil, reused end
  local calls_api = 0
  for i = 1, #asked do calls_api = calls_api + ceil((new + lacking[i]) / core.MAX_BATCH) end
  return new + to_ask, calls_api, reused
end

-- The plan of a library() run that asks the folders `ids` (`nodes_of` their
-- nodes) and the Calls API phases `opts` asks for (see gong.LibraryPlan). The
-- distinct calls are known only once the folders' calls are in: until then
-- their callCounts stand for them (and, with `opts.reuse`, the calls it
-- lists for each folder).
local function plan_of(ids, nodes_of, opts)
  local asked = {}
  for _, p in ipairs(PHASES) do
    if opts[p.option] then asked[#asked + 1] = p end
  end
  local phases = #asked
  local calls = 0
  for _, id in ipairs(ids) do
    local count = nodes_of[id][1].callCount
    if type(count) ~= "number" then
      calls = nil
      break
    end
    calls = calls + count
  end
  -- No folder asked, no call to ask the Calls API about.
  local exact = phases == 0 or #ids == 0
  local batch_size = core.MAX_BATCH
  local calls_api = exact and 0 or calls and phases * ceil(calls / batch_size) or nil
  local reused
  if opts.reuse then
    reused = 0
    if not exact then calls, calls_api, reused = reuse_estimate(ids, nodes_of, opts.reuse, asked) end
  end
  return {
    requests = 1 + #ids + (calls_api or 0), exact = exact, folder_list = 1, folders = #ids, calls = calls,
    phases = phases, batch_size = batch_size, calls_api = calls_api, reused = reused,
  }
end

-- Counts the calls of folders whose count the server did not send (a real
-- tenant's), and works out the totals again.
local function count_calls(t)
  local filled = false
  for node in t:walk() do
    if type(node.callCount) ~= "number" and type(node.calls) == "table" then
      node.callCount, filled = #node.calls, true
    end
  end
  if filled then t:recount() end
end

-- Every call of the tree's folders, and their distinct ids in walk order.
local function calls_of(t)
  local calls, ids, seen = {}, {}, {}
  for node in t:walk() do
    for _, call in ipairs(type(node.calls) == "table" and node.calls or {}) do
      calls[#calls + 1] = call
      local id = call.callId
      if type(id) == "string" and id ~= "" and not seen[id] then
        seen[id] = true
        ids[#ids + 1] = id
      end
    end
  end
  return calls, ids
end

-- What only the Calls API tells of a call in the public API's records.
local FROM_META = { "started", "duration", "primaryUserId" }
--- The fields of a call that `fill` takes from its details' metaData.
_M.FROM_META = FROM_META

--- Hangs what a Calls API method found (`found`, keyed by call id) on each of
--- `calls` as `call[field]` ("details" or "transcript"). Details also fill
--- what a call's record lacks from their metaData: started, duration and
--- primaryUserId, which a real tenant's folder listing does not send.
---@param calls gong.Call[]
---@param field string
---@param found table<string,any>
function _M.attach(calls, field, found)
  for _, call in ipairs(calls) do
    local value = found[call.callId]
    if value ~= nil then
      call[field] = value
      _M.fill(call, field, value)
    end
  end
end

--- Fills what `call`'s record lacks (started, duration, primaryUserId) from
--- `value`'s metaData when `field` is "details"; nothing else.
---@param call gong.Call
---@param field string
---@param value any
function _M.fill(call, field, value)
  local meta = field == "details" and type(value) == "table" and type(value.metaData) == "table"
    and value.metaData
  for _, name in ipairs(meta and FROM_META or {}) do
    if call[name] == nil then call[name] = meta[name] end
  end
end

-- The streaming form of a phase (on_call_data, or keep = false): the hook
-- batch.calls_api hands each page's records to, which fills the calls of
-- each id (`calls_by_id`), hangs the record on them unless keep is false,
-- and tells on_call_data; a callback that closed the client ends the run.
local function page_hook(host, opts, field, calls_by_id, kind)
  local keep, on_call_data = opts.keep ~= false, opts.on_call_data
  return function(records)
    for id, value in pairs(records) do
      for _, call in ipairs(calls_by_id[id] or {}) do
        if keep then call[field] = value end
        _M.fill(call, field, value)
      end
      if on_call_data then
        host:call(on_call_data, id, field, value)
        if host:closed() then return core.closed_error(kind) end
      end
    end
  end
end

-- The calls of `calls` by their id.
local function by_id(calls)
  local index = {}
  for _, call in ipairs(calls) do
    local list = index[call.callId]
    if list == nil then
      list = {}
      index[call.callId] = list
    end
    list[#list + 1] = call
  end
  return index
end

-- The details and transcripts phases of library(): fetches what `opts` asks
-- for of every distinct call once, and hangs it on each call; with
-- `opts.reuse`, what that holds is hung on instead and only the rest asked.
-- A failure is added to `errors` (with its `phase`), or returned at once
-- when strict. Returns that, and the number of calls nothing was asked of.
local function add_call_data(host, t, opts, errors)
  local calls, ids = calls_of(t)
  local on_progress, reuse = opts.on_progress, opts.reuse
  local streaming = opts.on_call_data ~= nil or opts.keep == false
  local calls_by_id = streaming and by_id(calls)
  local asked_of = {}
  for _, p in ipairs(PHASES) do
    if opts[p.option] then
      local o = { concurrency = opts.concurrency, fields = p.option == "details" and type(opts.details) == "table"
        and opts.details or nil }
      if on_progress then
        -- Called through the host by the Calls API's batches: on_progress itself is plain.
        local phase = p.option
        o.on_progress = function(done, total) return on_progress(done, total, nil, nil, phase) end
      end
      local hook = streaming and page_hook(host, opts, p.field, calls_by_id, p.method) or nil
      local ask, held = ids, {}
      if reuse then
        ask = {}
        for _, id in ipairs(ids) do
          local value = reused_value(reuse, p, id)
          if value == nil then
            ask[#ask + 1] = id
            asked_of[id] = true
          elseif value then
            held[id] = value
          end
        end
        -- What an earlier run holds goes where a page's records go.
        if hook then
          local stopped = hook(held)
          if stopped then return stopped end
        else
          _M.attach(calls, p.field, held)
        end
      end
      local found, err = batch.calls_api(host, p.method, ask, o, hook)
      if not found then
        err.phase = p.method
        -- A callback that closed the client ends the run, as it does in the folders' phase.
        if opts.strict or err.kind == "closed" then return err end
        errors[#errors + 1] = err
      elseif not streaming then
        _M.attach(calls, p.field, found)
      end
    end
  end
  local reused = 0
  for _, id in ipairs(ids) do
    if not asked_of[id] then reused = reused + 1 end
  end
  return nil, reused
end

--- Fetches the whole library: the folder tree with every node's `calls` filled,
--- folders' calls fetched concurrently under the client's rate limit and retry policy.
--- Returns `tree, errors`: `errors` lists the per-folder failures (error objects with
--- `folder_id`), whose nodes carry `error` instead of `calls`; one failing folder does
--- not throw away the rest. With `strict = true`, the first failure stops everything
--- and is returned as `nil, err`. Failing to list the folders is always `nil, err`.
---
--- With `details` and `transcripts`, every distinct call's details and transcript
--- are fetched once after that (client:call_details, client:transcripts) and set
--- as `call.details` and `call.transcript` (see `attach`): a real tenant's call
--- gets its started, duration and primaryUserId from the details. A failed phase is an
--- error in `errors` with its `phase`. A folder whose callCount the server did
--- not send gets the number of its calls.
---
--- With `reuse` (gong.LibraryReuse, an earlier run's data), a call's details
--- and transcript that it holds are hung on the call as they are, and only
--- the calls it lacks them for are asked: the tree's `reused` is then the
--- number of distinct calls nothing was asked of.
---
--- To hold no more than the pages in flight, a caller takes each call's
--- details and transcript from `on_call_data` as they come (what `reuse`
--- holds too), with `keep = false` so that the tree does not collect them:
--- then a phase that fails may already have handed some of its calls' data
--- over (its error in `errors` says which phase).
---
--- Once the folder list is back, before any other request, `on_plan` is told
--- what the run is to make (gong.LibraryPlan: at 3 requests/s and 10,000 a
--- day, a large library is minutes and a good part of a tenant's day); when
--- it returns false, library() returns nil and an error of kind "config" with
--- option "on_plan" and reason "refused", and no other request is made.
---@param host table
---@param opts? gong.LibraryOptions
---@return gong.Tree|nil tree
---@return gong.Error[]|gong.Error errors_or_err the per-folder errors, or the error that stopped it
function _M.run(host, opts)
  opts = opts or {} -- checked by check, before the method's first request
  local folders, err = host:request("folders", { workspaceId = opts.workspaceId })
  if folders == nil then return nil, err end
  local t = tree.build(folders)
  -- Against 3 requests/s every request saved counts: a folder the contract
  -- says is empty is not asked. A real tenant sends no counts to go by.
  local ids, nodes_of = folder_ids(t, opts.skip_empty ~= false)
  if opts.on_plan then
    if host:call(opts.on_plan, plan_of(ids, nodes_of, opts)) == false then
      return nil, core.error("config", "library: on_plan refused the plan; no request was made after the folder list",
        { option = "on_plan", reason = "refused" })
    end
    if host:closed() then return nil, core.closed_error("library") end
  end

  local errors, done, total = {}, 0, #ids
  local strict, on_progress = opts.strict, opts.on_progress
  local results, failed = batch.calls_batch(host, ids, { concurrency = opts.concurrency },
    function(i, calls, e)
      local id = ids[i]
      done = done + 1
      for _, node in ipairs(nodes_of[id]) do
        if calls then node.calls = calls else node.error = e end
      end
      local failure -- on success `e` is the requestId, not an error
      if not calls then
        failure = e
        failure.folder_id = id
        errors[#errors + 1] = failure
      end
      if on_progress then host:call(on_progress, done, total, nodes_of[id][1], failure, "calls") end
      -- A strict fetch ends at the first failure.
      return not (strict and failure)
    end)
  if results == nil then return nil, failed end
  if strict and errors[1] then return nil, errors[1] end
  count_calls(t)
  if opts.details or opts.transcripts then
    local stopped, reused = add_call_data(host, t, opts, errors)
    if stopped then return nil, stopped end
    if opts.reuse then t.reused = reused end
  elseif opts.reuse then
    t.reused = 0
  end
  return t, errors
end

return _M
