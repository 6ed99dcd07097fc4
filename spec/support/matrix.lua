-- The host matrix: one list of calls that every host's client answers as the
-- blocking client does (spec/hosts_spec.lua runs it on the blocking client,
-- gong.loop on luv, gong.nvim in a headless Neovim and gong.resty in nginx).
-- Pure Lua with no test framework, so that Neovim and nginx can run it too;
-- what it reports is plain data (JSON crosses from the other processes).
--
--   matrix.run(client, call, data) -> report
--
-- `call(client, name, ...)` calls method `name` as the host does and returns
-- what the blocking method would: `result, extra` or `nil, err` (a callback
-- host's adapter waits for the callback). `data` names the fake library's
-- ids: { folder, workspace, call_ids }.

local _M = {}

--- The call of a blocking host: the method itself.
function _M.direct(client, name, ...)
  return client[name](client, ...)
end

-- An error as the report keeps it: what every host must agree on.
local function error_of(e)
  if type(e) ~= "table" then return { type = type(e) } end
  return { kind = e.kind, status = e.status, message = e.message and e.message:gsub(" %(request %x+%)$", ""),
           halt = e.halt, attempts = e.attempts }
end

-- A list of records, or an error.
local function list_of(list, x)
  if list == nil then return { err = error_of(x) } end
  return { n = #list, extra = type(x) }
end

local function count(t)
  local n = 0
  for _ in pairs(t) do n = n + 1 end
  return n
end

-- What raising `fn(...)` gave, as the report keeps it.
local function raised(fn, ...)
  local ok, e = pcall(fn, ...)
  return { ok = ok, err = not ok and error_of(e) or nil }
end

--- Runs every call of the matrix on `client` and returns the report.
---@param client table
---@param call function
---@param data table
---@return table
function _M.run(client, call, data)
  local r = {}
  r.folders = list_of(call(client, "folders"))
  r.folders_of_workspace = list_of(call(client, "folders", { workspaceId = data.workspace }))
  r.calls = list_of(call(client, "calls", data.folder))
  r.missing = list_of(call(client, "calls", "missing"))
  r.workspaces = list_of(call(client, "workspaces"))

  local tree, rid = call(client, "tree")
  r.tree = tree and { count = tree.count, roots = #tree.roots, extra = type(rid), path = tree.roots[1].path }
    or { err = error_of(rid) }

  local seen = {}
  local results = call(client, "calls_batch", { data.folder, "missing", data.folder }, { concurrency = 2,
    on_result = function(i, list, x)
      seen[#seen + 1] = { i = i, list = list and #list, x = list and type(x) or error_of(x) }
    end })
  table.sort(seen, function(a, b) return a.i < b.i end)
  r.calls_batch = { n = #results, first = #results[1], second = error_of(results[2]), on_result = seen }
  local told = 0
  local stopped = call(client, "calls_batch", { data.folder, data.folder, data.folder }, { concurrency = 1,
    on_result = function() told = told + 1 return false end })
  r.calls_batch_stopped = { told = told, results = count(stopped) }

  local progress = {}
  local details, rids = call(client, "call_details", data.call_ids, { batch_size = 2, on_progress = function(done, all)
    progress[#progress + 1] = done .. "/" .. all
  end })
  r.call_details = { keys = count(details), rids = #rids, progress = progress }
  local transcripts, trids = call(client, "transcripts", data.call_ids)
  r.transcripts = { keys = count(transcripts), rids = #trids }
  local _, empty = call(client, "call_details", {})
  r.no_ids = { rids = #empty }

  local phases = {}
  local library, errors = call(client, "library", { details = true, transcripts = true,
    on_progress = function(_, _, _, _, phase) phases[phase] = true end })
  local calls, detailed, transcribed = 0, 0, 0
  for node in library:walk() do
    for _, c in ipairs(node.calls) do
      calls = calls + 1
      if type(c.details) == "table" then detailed = detailed + 1 end
      if type(c.transcript) == "table" then transcribed = transcribed + 1 end
    end
  end
  r.library = { count = library.count, errors = #errors, calls = calls, detailed = detailed,
                transcribed = transcribed, phases = phases }

  r.bad_argument = raised(call, client, "calls", 42)
  r.bad_option = raised(call, client, "library", { nope = true })
  r.dot_call = raised(client.folders, "not a client")
  r.stats = { requests = type(client:stats().requests), some = client:stats().requests > 0 }
  r.tenant = type(client.tenant) == "string" and client.tenant:match("^%x+$") ~= nil and #client.tenant
  r.api = client.api
  r.retry_in = client:retry_in({ transient = true, retry_after = 3 }, 1)
  r.has_close = type(getmetatable(client).__close) == "function"

  client:close()
  client:close()
  r.closed = {
    folders = list_of(call(client, "folders")),
    calls_batch = list_of(call(client, "calls_batch", { data.folder })),
    library = list_of(call(client, "library")),
    still_raises = raised(call, client, "calls", 42),
  }
  return r
end

return _M
