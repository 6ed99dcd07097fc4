-- Run inside nginx by spec/resty_spec.lua (a content_by_lua_block loads this
-- file and answers with what it returns, as JSON): gong.resty observed next
-- to the blocking gong API in the same place. The spec makes the assertions.

local resty = require "gong.resty"
local plain = require "gong"

-- What a test needs to know about an error value.
local function seen(e)
  if type(e) ~= "table" then return { type = type(e), text = tostring(e) } end
  return { is_error = resty.is_error(e), kind = e.kind, message = e.message, status = e.status,
           request_id = e.request_id, url = e.url, attempts = e.attempts, errors = e.errors,
           text = tostring(e) }
end

local function raised(f, ...)
  local ok, e = pcall(f, ...)
  return { ok = ok, err = not ok and seen(e) or nil }
end

local out = {}
local client = resty.new()
local blocking = plain.new()
out.tostring = tostring(client)

local folders, folders_rid = client:folders()
local plain_folders = blocking:folders()
out.folders = { count = #folders, request_id = folders_rid, plain_count = #plain_folders,
                first = folders[1], plain_first = plain_folders[1] }

local id = folders[1].id
local calls, calls_rid = client:calls(id)
local plain_calls = blocking:calls(id)
out.calls = { count = #calls, request_id = calls_rid, plain_count = #plain_calls,
              first = calls[1], plain_first = plain_calls[1] }

local none, missing = client:calls("missing")
local _, plain_missing = blocking:calls("missing")
out.missing = { result = none, err = seen(missing), plain = seen(plain_missing) }

local walked = 0
for _ in client:each_folder() do walked = walked + 1 end
out.each_folder = walked

local module_folders = resty.folders()
local module_calls = resty.calls(id)
out.module = { folders = #module_folders, calls = #module_calls }

out.bad_folder_id = raised(client.calls, client, 42)
out.uncopyable_folder_id = raised(client.calls, client, print)
out.unknown_param = raised(client.folders, client, { nope = "x" })
out.unknown_option = raised(resty.new, { nope = true })
out.bad_thread_pool = raised(resty.new, { thread_pool = 7 })

-- The methods every client has (gong.client): library() and calls_batch() too.
-- The whole library is a request per folder: without the rate limit, to be quick.
local unlimited, plain_unlimited = resty.new({ rate = false }), plain.new({ rate = false })
local library, library_errors = unlimited:library()
local plain_library = plain_unlimited:library()
plain_unlimited:close()
local filled, total = 0, 0
for node in library:walk() do
  if node.calls then filled, total = filled + 1, total + #node.calls end
end
local plain_total = 0
for node in plain_library:walk() do plain_total = plain_total + #node.calls end
out.library = { count = library.count, errors = #library_errors, filled = filled, calls = total,
                plain_calls = plain_total, tree = tostring(library) }

local order, request_ids, failures = {}, {}, {}
local results = client:calls_batch({ id, "missing", id }, { concurrency = 2, on_result = function(i, list, x)
  order[#order + 1] = i
  if list then request_ids[#request_ids + 1] = type(x) else failures[#failures + 1] = seen(x) end
end })
out.batch = { count = #results, first = #results[1], missing = seen(results[2]), order = order,
              request_ids = request_ids, failures = failures }
local thread_order = {}
unlimited:calls_batch({ id, "missing", id }, { concurrency = 2, on_result = function(i)
  thread_order[#thread_order + 1] = i
end })
out.thread_batch_order = thread_order
local calls_seen = 0
client:calls_batch({ id, id, id }, { on_result = function() calls_seen = calls_seen + 1 return false end })
out.batch_stopped = calls_seen
out.batch_bad_on_result = raised(client.calls_batch, client, { id }, { on_result = 5 })

-- The Calls API: the workspaces, and the details and transcripts of the
-- first folder's calls, next to what the blocking client gets.
local workspaces, workspaces_rid = client:workspaces()
out.workspaces = { list = workspaces, request_id = workspaces_rid, plain = blocking:workspaces() }
local call_ids = {}
for i, call in ipairs(calls) do call_ids[i] = call.callId end
local told = {}
local details, details_rids = client:call_details(call_ids, { on_progress = function(done, all)
  told[#told + 1] = { done, all }
end })
out.details = { found = details, request_ids = details_rids, told = told, plain = blocking:call_details(call_ids) }
local transcripts, transcripts_rids = client:transcripts(call_ids)
out.transcripts = { found = transcripts, request_ids = transcripts_rids, plain = blocking:transcripts(call_ids) }
out.bad_call_ids = raised(client.call_details, client, 42)
out.bad_batch_size = raised(client.transcripts, client, call_ids, { batch_size = 101 })
local no_details, no_details_rids = client:call_details({ "missing" })
out.missing_call = { count = next(no_details) == nil and 0 or -1, request_ids = no_details_rids }
local with_data = unlimited:library({ details = true, transcripts = true })
local detailed, transcribed, all = 0, 0, 0
for node in with_data:walk() do
  for _, call in ipairs(node.calls) do
    all = all + 1
    if type(call.details) == "table" then detailed = detailed + 1 end
    if type(call.transcript) == "table" then transcribed = transcribed + 1 end
  end
end
out.library_data = { calls = all, detailed = detailed, transcribed = transcribed }

local _, no_pool = resty.new({ thread_pool = "nope" }):folders()
out.no_pool = seen(no_pool)

local closed = resty.new()
closed:close()
closed:close()
local _, closed_err = closed:folders()
out.closed = { err = seen(closed_err), tostring = tostring(closed) }

blocking:close()
return out
