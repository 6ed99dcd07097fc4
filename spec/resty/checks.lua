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

local _, no_pool = resty.new({ thread_pool = "nope" }):folders()
out.no_pool = seen(no_pool)

local closed = resty.new()
closed:close()
closed:close()
local _, closed_err = closed:folders()
out.closed = { err = seen(closed_err), tostring = tostring(closed) }

blocking:close()
return out
