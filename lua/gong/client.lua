--- gong.client: the methods every gong client has, whatever runs its requests,
--- written once. A host makes a class with the primitive requests
---
---   folders(params) -> folders, requestId | nil, err
---   calls(folderId) -> calls, requestId | nil, err
---   calls_batch(ids, opts) -> results | nil, err
---   close()
---
--- (gong.core's client for plain Lua, gong.resty's for nginx) and `install`
--- adds everything built on them: the iterators, the tree, the whole library.
--- A new method written here appears in every host at once.

local core = require "gong.core"
local tree = require "gong.tree"

local ceil, error, ipairs, pairs, pcall, tostring, type = math.ceil, error, ipairs, pairs, pcall, tostring, type

local _M = {}

--- Options of client:library(); anything else is a typo.
_M.LIBRARY_OPTIONS = {
  workspaceId = true, concurrency = true, strict = true, on_progress = true,
  details = true, transcripts = true, skip_empty = true, on_plan = true,
}

local methods = {}

-- An iterator over a list fetched up front. A generic `for` has no way to
-- return an error, so a failed fetch raises the error object instead.
local function each(list, err)
  if list == nil then error(err, 3) end
  local i = 0
  return function()
    i = i + 1
    return list[i]
  end
end

--- Iterates over the folders: `for folder in client:each_folder() do print(folder.name) end`.
--- Raises the error object when the request fails (a `for` cannot return it).
---@param params? { workspaceId?: string }
---@return fun(): gong.Folder?
function methods:each_folder(params)
  return each(self:folders(params))
end

--- Iterates over the calls of a folder: `for call in client:each_call(id) do print(call.title) end`.
--- Raises the error object when the request fails.
---@param folderId string
---@return fun(): gong.Call?
function methods:each_call(folderId)
  return each(self:calls(folderId))
end

--- Fetches the folders and builds their tree (see `gong.tree.build`): `tree` or `nil, err`.
---@param params? { workspaceId?: string }
---@return gong.Tree|nil tree
---@return gong.Error|nil err
function methods:tree(params)
  local folders, err = self:folders(params)
  if folders == nil then return nil, err end
  return tree.build(folders)
end

---@class gong.LibraryOptions
---@field workspaceId? string only this workspace's folders
---@field concurrency? integer transfers at once (3); every one still under the client's rate limit
---@field strict? boolean any failure makes the whole call return nil, err
---@field details? boolean|string[] each call's details (client:call_details), true or the fields to ask for
---@field transcripts? boolean each call's transcript (client:transcripts)
---@field skip_empty? boolean the contract's folders with callCount 0 are not asked for their calls (true)
---@field on_progress? fun(done: integer, total: integer, node: gong.TreeNode?, err: gong.Error?, phase: string)
--- called as each folder completes (phase "calls"), then as each batch of calls' details or transcripts does
---@field on_plan? fun(plan: gong.LibraryPlan): boolean? called once the folder list is back, before any other
--- request, with what the run is to make; returning false stops it there: library() returns nil and an error of
--- kind "config", option "on_plan", reason "refused"

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
--- folders, more when Gong pages an answer; nil when `calls` is unknown

local function check_library_options(opts)
  if opts ~= nil and type(opts) ~= "table" then
    error(core.error("argument", "library: options must be a table (got " .. type(opts) .. ")"), 3)
  end
  opts = opts or {}
  for k in pairs(opts) do
    if not _M.LIBRARY_OPTIONS[k] then
      error(core.error("argument", ("library: unknown option '%s'"):format(tostring(k))), 3)
    end
  end
  for _, name in ipairs({ "on_progress", "on_plan" }) do
    if opts[name] ~= nil and type(opts[name]) ~= "function" then
      error(core.error("argument", "library: " .. name .. " must be a function"), 3)
    end
  end
  if opts.details ~= nil and type(opts.details) ~= "boolean" and type(opts.details) ~= "table" then
    error(core.error("argument", "library: details must be true, false or a list of fields"), 3)
  end
  -- Refused here, before the folder list is fetched, in library's name.
  local ok, err = pcall(core.check_batch_options, { concurrency = opts.concurrency }, "library")
  if not ok then error(err, 3) end
  return opts
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

-- The plan of a library() run that asks the folders `ids` (`nodes_of` their
-- nodes) and the Calls API phases `opts` asks for (see gong.LibraryPlan). The
-- distinct calls are known only once the folders' calls are in: until then
-- their callCounts stand for them.
local function plan_of(ids, nodes_of, opts)
  local phases = (opts.details and 1 or 0) + (opts.transcripts and 1 or 0)
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
  return {
    requests = 1 + #ids + (calls_api or 0), exact = exact, folder_list = 1, folders = #ids, calls = calls,
    phases = phases, batch_size = batch_size, calls_api = calls_api,
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
      local meta = field == "details" and type(value) == "table" and type(value.metaData) == "table"
        and value.metaData
      for _, name in ipairs(meta and FROM_META or {}) do
        if call[name] == nil then call[name] = meta[name] end
      end
    end
  end
end

-- The details and transcripts phases of library(): fetches what `opts` asks
-- for of every distinct call once, and hangs it on each call. A failure is
-- added to `errors` (with its `phase`), or returned at once when strict.
local function add_call_data(self, t, opts, errors)
  local calls, ids = calls_of(t)
  local on_progress = opts.on_progress
  local function phase_options(phase, extra)
    local o = { concurrency = opts.concurrency }
    for k, v in pairs(extra or {}) do o[k] = v end
    if on_progress then
      o.on_progress = function(done, total) on_progress(done, total, nil, nil, phase) end
    end
    return o
  end
  local phases = {}
  if opts.details then
    phases[#phases + 1] = { "details", "call_details", phase_options("details", {
      fields = type(opts.details) == "table" and opts.details or nil }) }
  end
  if opts.transcripts then
    phases[#phases + 1] = { "transcript", "transcripts", phase_options("transcripts") }
  end
  for _, p in ipairs(phases) do
    local field, method, o = p[1], p[2], p[3]
    local found, err = self[method](self, ids, o)
    if not found then
      err.phase = method
      if opts.strict then return err end
      errors[#errors + 1] = err
    else
      _M.attach(calls, field, found)
    end
  end
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
--- Once the folder list is back, before any other request, `on_plan` is told
--- what the run is to make (gong.LibraryPlan: at 3 requests/s and 10,000 a
--- day, a large library is minutes and a good part of a tenant's day); when
--- it returns false, library() returns nil and an error of kind "config" with
--- option "on_plan" and reason "refused", and no other request is made.
---@param opts? gong.LibraryOptions
---@return gong.Tree|nil tree
---@return gong.Error[]|gong.Error errors_or_err the per-folder errors, or the error that stopped it
function methods:library(opts)
  opts = check_library_options(opts)
  local folders, err = self:folders({ workspaceId = opts.workspaceId })
  if folders == nil then return nil, err end
  local t = tree.build(folders)
  -- Against 3 requests/s every request saved counts: a folder the contract
  -- says is empty is not asked. A real tenant sends no counts to go by.
  local ids, nodes_of = folder_ids(t, opts.skip_empty ~= false)
  if opts.on_plan then
    if opts.on_plan(plan_of(ids, nodes_of, opts)) == false then
      return nil, core.error("config", "library: on_plan refused the plan; no request was made after the folder list",
        { option = "on_plan", reason = "refused" })
    end
  end

  local errors, done, total = {}, 0, #ids
  local strict, on_progress = opts.strict, opts.on_progress
  local results, closed = self:calls_batch(ids, {
    concurrency = opts.concurrency,
    on_result = function(i, calls, e)
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
      if on_progress then on_progress(done, total, nodes_of[id][1], failure, "calls") end
      -- A strict fetch ends at the first failure.
      return not (strict and failure)
    end,
  })
  if results == nil then return nil, closed end
  if strict and errors[1] then return nil, errors[1] end
  count_calls(t)
  if opts.details or opts.transcripts then
    local failed = add_call_data(self, t, opts, errors)
    if failed then return nil, failed end
  end
  return t, errors
end

-- Hosts that make each request themselves ------------------------------------
-- gong.resty with a shared rate window and gong.loop run a batch as requests
-- of their own, so that each takes its start where they keep the window or
-- the loop. What such a batch does is written here once; the host gives the
-- way to make one request and the way to run several at once:
--
--   request(method, argument [, opts]) -> the blocking method's results
--   each_at_once(n, concurrency, one, stop): one(i) for i = 1..n, up to
--     concurrency at a time, none started once stop() is true

--- `opts` without the callback `name` when it is a function: what may cross
--- to another Lua state, or be checked by the core, which calls none.
---@param opts table|nil
---@param name string
---@return table|nil
function _M.without(opts, name)
  if type(opts) ~= "table" or type(opts[name]) ~= "function" then return opts end
  local sent = {}
  for k, v in pairs(opts) do sent[k] = v end
  sent[name] = nil
  return sent
end

--- The distinct values of `ids`, in their first order: what the Calls API
--- methods ask for.
---@param ids string[]
---@return string[]
function _M.distinct(ids)
  local seen, list = {}, {}
  for _, id in ipairs(ids) do
    if not seen[id] then
      seen[id] = true
      list[#list + 1] = id
    end
  end
  return list
end

--- calls_batch as one request per folder: `results` as the core's
--- calls_batch gives them; `on_result` runs as each completes, and returning
--- false from it stops starting new ones. Bad arguments raise as the core's would.
---@param request function request(method, argument [, opts]): what the blocking method returns
---@param each_at_once function each_at_once(n, concurrency, one, stop): one(i) for i = 1..n, as above
---@param ids string[]
---@param opts? table concurrency, on_result
---@return table results
function _M.calls_batch_of(request, each_at_once, ids, opts)
  local on_result = opts and opts.on_result
  local concurrency = core.check_batch_options(opts, "calls_batch", ids)
  local results, stopped = {}, false
  each_at_once(#ids, concurrency, function(i)
    local list, x = request("calls", ids[i])
    results[i] = list or x
    if on_result and not stopped then
      local go_on
      if list then go_on = on_result(i, list, x) else go_on = on_result(i, nil, x) end
      if go_on == false then stopped = true end
    end
  end, function() return stopped end)
  return results
end

--- call_details or transcripts (`method`) as one request per batch of
--- `batch_size` distinct ids: `fetch(batch, opts)` gets one batch, every page
--- of it, as `records_by_id, request_ids` or `nil, err`. Returns what the core's
--- method returns; on_progress is told as each batch is back. Bad arguments
--- raise as the core's would.
---@param fetch function fetch(batch, opts): the records by call id and the request ids, or nil and an error
---@param each_at_once function each_at_once(n, concurrency, one, stop): one(i) for i = 1..n, as above
---@param method "call_details"|"transcripts"
---@param ids string[]
---@param opts? gong.CallsApiOptions
---@return table|nil records
---@return any request_ids_or_err
function _M.calls_api_of(fetch, each_at_once, method, ids, opts)
  local on_progress = opts and opts.on_progress
  local sent = _M.without(opts, "on_progress")
  local checked = core.check_calls_api_options(ids, sent, method)
  local list = _M.distinct(ids)
  local batches, size = {}, checked.batch_size
  for first = 1, #list, size do
    local batch = {}
    for k = first, first + size - 1 do batch[#batch + 1] = list[k] end
    batches[#batches + 1] = batch
  end
  local one = {}
  for k, v in pairs(sent or {}) do one[k] = v end
  one.concurrency, one.batch_size = 1, nil
  local found, request_ids, failure, done = {}, {}, nil, 0
  each_at_once(#batches, checked.concurrency, function(b)
    local records, rids = fetch(batches[b], one)
    if not records then
      failure = failure or rids
      return
    end
    for id, record in pairs(records) do found[id] = record end
    for _, rid in ipairs(rids) do request_ids[#request_ids + 1] = rid end
    done = done + #batches[b]
    if on_progress then on_progress(done, #list) end
  end, function() return failure ~= nil end)
  if failure then return nil, failure end
  return found, request_ids
end

--- Adds the methods above to `class` (the table a client's metatable indexes).
---@param class table
---@return table class
function _M.install(class)
  for name, method in pairs(methods) do class[name] = method end
  return class
end

--- Sets `module.folders` and `module.calls`: the methods on a default client
--- made by `new()` on first use, configured from the environment. While
--- `new()` raises (no credentials, say) they return `nil, err`, and a later
--- call tries again.
---@param module table
---@param new fun(): table
function _M.shortcuts(module, new)
  local client
  local function default()
    if client == nil then
      local ok, c = pcall(new)
      if not ok then return nil, c end
      client = c
    end
    return client
  end

  --- `client:folders(params)` on the default client.
  function module.folders(params)
    local c, err = default()
    if c == nil then return nil, err end
    return c:folders(params)
  end

  --- `client:calls(folderId)` on the default client.
  function module.calls(folderId)
    local c, err = default()
    if c == nil then return nil, err end
    return c:calls(folderId)
  end
end

return _M
