--- gong.batch: the methods made of many requests of one kind, written once
--- for every host: calls_batch (a request per folder) and the Calls API's
--- (call_details, transcripts: distinct call ids in batches of
--- core.MAX_BATCH, every page of each followed). Each runs on a host (see
--- gong.client): host:request(kind, ...) makes one request,
--- host:each_at_once(...) runs several at once, however the host does it,
--- and host:call(fn, ...) calls the caller's callbacks where the host does;
--- host:closed() tells whether one of them closed the client.
---
--- One rule for stopping, on every host: a request whose Retry-After is
--- longer than max_retry_wait (its error has `halt`) stops new starts, the
--- ones under way finish, and the rest fail without a request. A
--- calls_batch whose on_result returns false ends at once: nothing more
--- starts, the requests under way are dropped and their results stay nil;
--- so does one that meets a failure of the client itself (its token
--- function, its shared rate window, a close()), which it returns as nil,
--- err. The Calls API ends at its first failure the same way.

local core = require "gong.core"

local ceil, error, floor, ipairs, pairs, type = math.ceil, error, math.floor, ipairs, pairs, type

local _M = {}

-- Raises an argument error in `who`'s name.
local function bad(who, message)
  error(core.error("argument", who .. ": " .. message), 3)
end

-- An integer option of `opts` from 1 to `max`, else `default`; raises in `who`'s name.
local function integer_option(opts, name, default, max, who)
  local v = opts and opts[name]
  if v == nil then return default end
  if type(v) ~= "number" or v < 1 or v > max or v ~= floor(v) then
    bad(who, ("%s must be an integer from 1 to %d"):format(name, max))
  end
  return v
end

-- Checks an options table's type and the callback `callback` in it, in `who`'s name.
local function check_options(opts, who, callback)
  if opts ~= nil and type(opts) ~= "table" then
    bad(who, "options must be a table (got " .. type(opts) .. ")")
  end
  if opts and opts[callback] ~= nil and type(opts[callback]) ~= "function" then
    bad(who, callback .. " must be a function")
  end
end

--- The concurrency `opts` asks for, in `who`'s name: what calls_batch and
--- library() check before their first request.
---@param opts table|nil
---@param who string
---@return integer
function _M.concurrency(opts, who)
  return integer_option(opts, "concurrency", core.DEFAULT_CONCURRENCY, core.MAX_CONCURRENCY, who)
end

-- The concurrency of options already checked.
local function concurrency_of(opts)
  return opts and opts.concurrency or core.DEFAULT_CONCURRENCY
end

-- Checks that `ids` (named `name`, a list of `what`) holds non-empty strings only, in `who`'s name.
local function check_ids(ids, who, name, what)
  if type(ids) ~= "table" then bad(who, ("%s must be a list of %s (got %s)"):format(name, what, type(ids))) end
  for i = 1, #ids do
    if type(ids[i]) ~= "string" or ids[i] == "" then
      bad(who, ("%s[%d] must be a non-empty string (got %s)"):format(name, i,
        ids[i] == "" and "an empty string" or type(ids[i])))
    end
  end
end

--- Checks calls_batch's arguments: raises what is wrong, before any request.
---@param ids string[]
---@param opts? table
function _M.check_calls_batch(ids, opts)
  check_ids(ids, "calls_batch", "ids", "folder ids")
  check_options(opts, "calls_batch", "on_result")
  _M.concurrency(opts, "calls_batch")
end

-- True for a failure of the client rather than of one request: its token
-- function failed (auth), its shared rate window cannot be used (config), or
-- it was closed. Every other request would fail the same way.
local function client_failure(err)
  local kind = err.kind
  return kind == "auth" or kind == "config" or kind == "closed"
end

-- The error of a request not made: a rate limit asked to wait longer than max_retry_wait.
local function not_attempted(halted)
  local wait = halted.retry_after and " " .. halted.retry_after .. " s," or ""
  return core.error("rate_limited", "not attempted: the rate limit asks to wait" .. wait
    .. " longer than max_retry_wait", { halt = true, retry_after = halted.retry_after, attempts = 0 })
end

--- calls_batch(ids [, opts]) on `host`: results[i] is the calls of ids[i] or
--- an error object for it; opts.on_result(i, calls, requestId) or (i, nil,
--- err) as each completes (returning false ends the batch); opts.concurrency
--- requests at once. The arguments are checked already (check_calls_batch,
--- or library's own). `hook`, when given, is a caller's own on_result
--- (gong.library's), called directly, not as the caller's callbacks are.
---@param host table
---@param ids string[]
---@param opts? table
---@param hook? fun(i: integer, calls: table?, rid_or_err: any): boolean?
---@return table|nil results
---@return gong.Error|nil err a failure of the client itself
function _M.calls_batch(host, ids, opts, hook)
  local on_result = opts and opts.on_result
  local function tell(i, list, x)
    if hook then return hook(i, list, x) end
    if on_result then return host:call(on_result, i, list, x) end
  end
  local results, started, stopped, halted, failed = {}, {}, false, nil, nil
  host:each_at_once(#ids, concurrency_of(opts), function(i)
    started[i] = true
    local list, x = host:request("calls", ids[i])
    if stopped then return end
    if not list and client_failure(x) then
      failed, stopped = x, true
      return
    end
    results[i] = list or x
    if not list and x.halt then halted = halted or x end
    if tell(i, list, x) == false then stopped = true end
    -- A callback that closed the client ends the run, whatever is left.
    if not stopped and host:closed() then failed, stopped = core.closed_error("calls_batch"), true end
  end, function() return stopped and "now" or halted ~= nil end)
  if failed then return nil, failed end
  for i = 1, halted and not stopped and #ids or 0 do
    if not started[i] then
      results[i] = not_attempted(halted)
      if tell(i, nil, results[i]) == false then break end
    end
  end
  return results
end

--- The distinct values of `ids`, in their first order.
---@param ids string[]
---@return string[]
function _M.distinct(ids)
  local seen, list = {}, {}
  for i = 1, #ids do
    local id = ids[i]
    if not seen[id] then
      seen[id] = true
      list[#list + 1] = id
    end
  end
  return list
end

--- `opts` without the callback `name` when it is a function: what a page's
--- request takes (a host may send it to another Lua state, where no function goes).
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

--- Checks the arguments of the Calls API method `kind`: raises what is
--- wrong, before any request.
---@param kind string "call_details" or "transcripts"
---@param ids string[]
---@param opts? table
function _M.check_calls_api(kind, ids, opts)
  check_options(opts, kind, "on_progress")
  check_ids(ids, kind, "callIds", "strings")
  integer_option(opts, "batch_size", core.MAX_BATCH, core.MAX_BATCH, kind)
  _M.concurrency(opts, kind)
  core.check_request(kind, {}, _M.without(opts, "on_progress"))
end

-- The route of each paged kind, for messages: "POST /calls/extensive".
local ROUTE = {}
for _, k in ipairs(core.KINDS) do ROUTE[k.name] = k.route end

-- Pages a batch of `n` ids may take beyond what its records need: Gong's
-- pages hold 100 records and a batch at most 100 ids, so a real batch takes
-- one page, and never more than one a record.
local PAGE_SLACK = 2

-- The error that ends a batch of `n` ids whose page `page` (1-based, its
-- request id `rid`) names `cursor` as the next, or nil while the paging
-- may still end: a cursor already followed in this batch (`pages`: cursor
-- -> the page that named it) would repeat pages for ever (a mock serving
-- static examples does), and more pages than the batch has records plus
-- PAGE_SLACK cannot be an answer to it. Nothing partial is returned then.
local function endless(kind, pages, cursor, page, n, rid)
  local why
  if pages[cursor] then
    why = ("page %d repeats the cursor of page %d"):format(page, pages[cursor])
  elseif page >= n + PAGE_SLACK then
    why = ("%d pages for %d call id%s, and page %d names another"):format(page, n, n == 1 and "" or "s", page)
  else
    return nil
  end
  return core.error("decode", ("%s paged without end: %s; stopped after %d requests"):format(ROUTE[kind], why, page),
    { request_id = rid })
end

--- A Calls API method (`kind`: "call_details" or "transcripts") on `host`:
--- the distinct ids in batches of opts.batch_size, every page of each
--- asked for, opts.concurrency batches at once, opts.on_progress(done,
--- total) as each batch is back. Returns the records by call id and the
--- request ids (batch by batch, page by page), or nil and the first
--- failure (nothing partial). The arguments are checked already
--- (check_calls_api, or library's own). `on_page`, when given (gong.library's
--- streaming form), is handed each page's records (by call id) as it comes
--- instead of their being collected: the records returned are then empty,
--- and memory holds only the pages in flight; an error it returns ends the
--- run as a failed request does.
---@param host table
---@param kind string
---@param ids string[]
---@param opts? gong.CallsApiOptions
---@param on_page? fun(records: table<string,any>): gong.Error|nil
---@return table|nil records
---@return string[]|gong.Error request_ids_or_err
function _M.calls_api(host, kind, ids, opts, on_page)
  local list, size = _M.distinct(ids), opts and opts.batch_size or core.MAX_BATCH
  local on_progress, page = opts and opts.on_progress, _M.without(opts, "on_progress")
  local batches = {}
  for b = 1, ceil(#list / size) do
    local batch = {}
    for k = (b - 1) * size + 1, b * size < #list and b * size or #list do batch[#batch + 1] = list[k] end
    batches[b] = batch
  end
  local found, request_ids_of, failure, done = {}, {}, nil, 0
  host:each_at_once(#batches, concurrency_of(opts), function(b)
    local request_ids, cursor, pages = {}, nil, {}
    repeat
      local records, x, next_cursor = host:request(kind, batches[b], page, cursor)
      if failure then return end
      if not records then
        failure = x
        return
      end
      if on_page then
        failure = on_page(records)
        if failure then return end
      else
        for id, record in pairs(records) do found[id] = record end
      end
      request_ids[#request_ids + 1] = x
      if next_cursor ~= nil then
        failure = endless(kind, pages, next_cursor, #request_ids, #batches[b], x)
        if failure then return end
        pages[next_cursor] = #request_ids
      end
      cursor = next_cursor
    until cursor == nil
    request_ids_of[b] = request_ids
    done = done + #batches[b]
    if on_progress then host:call(on_progress, done, #list) end
    if host:closed() then failure = failure or core.closed_error(kind) end
  end, function() return failure and "now" end)
  if failure then return nil, failure end
  local request_ids = {}
  for b = 1, #batches do
    for _, rid in ipairs(request_ids_of[b]) do request_ids[#request_ids + 1] = rid end
  end
  return found, request_ids
end

return _M
