-- Renders fake.library data as the JSON the Gong Library API returns.
--
-- Field order follows doc/gong-library-openapi.yml. Bodies are assembled
-- from these pieces once at start-up; only the requestId is spliced in per
-- request. Portable like fake.library so specs can render the same bytes.

local json = require "fake.json"

local str, nullable, num = json.string, json.nullable, json.number
local concat, ipairs = table.concat, ipairs

local _M = {}

--- One LibraryFolder object.
---@param f table folder from fake.library
---@return string
function _M.folder(f)
  return concat {
    '{"id":', str(f.id),
    ',"name":', str(f.name),
    ',"description":', nullable(f.description),
    ',"parentFolderId":', nullable(f.parentFolderId),
    ',"callCount":', num(f.callCount),
    ',"createdBy":', str(f.createdBy),
    ',"created":', str(f.created),
    "}",
  }
end

--- One LibraryCall object.
---@param c table call from fake.library
---@return string
function _M.call(c)
  return concat {
    '{"callId":', str(c.callId),
    ',"title":', nullable(c.title),
    ',"url":', str(c.url),
    ',"started":', str(c.started),
    ',"duration":', num(c.duration),
    ',"primaryUserId":', str(c.primaryUserId),
    ',"addedToLibraryAt":', str(c.addedToLibraryAt),
    ',"addedBy":', str(c.addedBy),
    "}",
  }
end

--- One call as the public folder-content endpoint shows it.
---@param c table call from fake.library
---@return string
function _M.content_call(c)
  return concat {
    '{"id":', str(c.callId),
    ',"title":', nullable(c.title),
    ',"note":', nullable(c.note),
    ',"addedBy":', str(c.addedBy),
    ',"created":', str(c.addedToLibraryAt),
    ',"url":', str(c.url),
    ',"snippet":', nullable(c.snippet),
    "}",
  }
end

local function array(list, render)
  local parts = {}
  for i, item in ipairs(list) do parts[i] = render(item) end
  return "[" .. concat(parts, ",") .. "]"
end

--- JSON array of folders (`[]` when empty).
function _M.folders(list) return array(list, _M.folder) end

--- JSON array of calls (`[]` when empty).
function _M.calls(list) return array(list, _M.call) end

--- The folder-content body after its leading `{"requestId":"...",`.
---@param f table folder
---@param calls table its calls
---@return string
function _M.content(f, calls)
  return concat {
    '"id":', str(f.id),
    ',"name":', str(f.name),
    ',"description":', nullable(f.description),
    ',"parentFolderId":', nullable(f.parentFolderId),
    ',"callCount":', num(f.callCount),
    ',"createdBy":', str(f.createdBy),
    ',"created":', str(f.created),
    ',"calls":', array(calls, _M.content_call),
    "}",
  }
end

--- Wraps a pre-rendered member list into a response body.
---@param request_id string
---@param name string member name, e.g. "folders"
---@param value string rendered JSON
---@return string
function _M.body(request_id, name, value)
  return concat { '{"requestId":', str(request_id), ',"', name, '":', value, "}" }
end

--- An ErrorResponse body.
---@param request_id string
---@param message string
---@return string
function _M.error(request_id, message)
  return concat { '{"requestId":', str(request_id), ',"errors":[', str(message), "]}" }
end

--- Everything a library renders to, in a fixed order: used by the specs to
--- prove the bytes are the same under every interpreter.
---@param lib table from fake.library.generate
---@return string
function _M.document(lib)
  local out = { _M.folders(lib.folders) }
  for _, ws in ipairs(lib.workspaces) do
    local members = {}
    for _, f in ipairs(lib.folders) do
      if f.workspaceId == ws.id then members[#members + 1] = f end
    end
    out[#out + 1] = str(ws.id) .. ":" .. _M.folders(members)
  end
  for _, f in ipairs(lib.folders) do
    out[#out + 1] = _M.calls(lib.calls[f.id])
    out[#out + 1] = _M.content(f, lib.calls[f.id])
  end
  return concat(out, "\n")
end

return _M
