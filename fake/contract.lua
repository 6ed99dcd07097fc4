-- Renders fake.library data as the JSON the Gong Library API returns, and
-- what a real tenant's public v2 API returns.
--
-- Field order follows doc/gong-library-openapi.yml; what a tenant serves
-- (its folders, folder-content, workspaces, the Calls API) has the fields
-- and types of Gong's description, doc/gong-v2-openapi.json, and no others. Those bodies are assembled from
-- these pieces once at start-up; only the requestId is spliced in per
-- request. Call details and transcripts depend on the request, so they are
-- encoded per request by fake.json (keys sorted). Portable like fake.library
-- so specs can render the same bytes.

local json = require "fake.json"

local str, nullable, num, encode = json.string, json.nullable, json.number, json.encode
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

--- One folder as a real tenant's GET /v2/library/folders lists it: no
--- description, callCount or created.
---@param f table folder from fake.library
---@return string
function _M.public_folder(f)
  return concat {
    '{"id":', str(f.id),
    ',"name":', str(f.name),
    ',"parentFolderId":', nullable(f.parentFolderId),
    ',"createdBy":', str(f.createdBy),
    ',"updated":', str(f.updated),
    "}",
  }
end

--- One workspace of GET /workspaces (Gong's WorkspaceMetadata: a
--- description it does not have is left out, not null).
---@param ws table workspace from fake.library
---@return string
function _M.workspace(ws)
  return concat {
    '{"id":', str(ws.id),
    ',"name":', str(ws.name),
    ws.description and ',"description":' .. str(ws.description) or "",
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

--- One call as the public folder-content endpoint shows it (Gong's
--- LibraryCall): a title, note or snippet the call does not have is left out,
--- since Gong's description allows no null there.
---@param c table call from fake.library
---@return string
function _M.content_call(c)
  local snippet = c.snippet
  return concat {
    '{"id":', str(c.callId),
    c.title and ',"title":' .. str(c.title) or "",
    c.note and ',"note":' .. str(c.note) or "",
    ',"addedBy":', str(c.addedBy),
    ',"created":', str(c.addedToLibraryAt),
    ',"url":', str(c.url),
    snippet and ',"snippet":{"fromSec":' .. num(snippet.fromSec) .. ',"toSec":' .. num(snippet.toSec) .. "}" or "",
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

--- JSON array of folders in the tenant's shape.
function _M.public_folders(list) return array(list, _M.public_folder) end

--- JSON array of workspaces.
function _M.workspaces(list) return array(list, _M.workspace) end

--- The sections of a call of POST /calls/extensive besides metaData, which
--- is always there.
_M.SECTIONS = { "parties", "content", "interaction", "collaboration", "media", "context" }

--- One call of POST /calls/extensive: metaData and the sections `include`
--- names. With every section it is fake.json.encode(detail).
---@param detail table from fake.library's details
---@param include table {[section] = true}
---@return string
function _M.extensive_call(detail, include)
  local out = json.object { metaData = detail.metaData }
  for _, name in ipairs(_M.SECTIONS) do
    if include[name] then out[name] = detail[name] end
  end
  return encode(out)
end

-- `monologues` with each sentence said `scale` times, its time shared out
-- among them in order: a transcript as large as a real call's, as ordered.
local function scaled(monologues, scale)
  local out = {}
  for m, monologue in ipairs(monologues) do
    local sentences = {}
    for _, s in ipairs(monologue.sentences) do
      local step = math.floor((s["end"] - s.start) / scale)
      for k = 1, scale do
        sentences[#sentences + 1] = { start = s.start + (k - 1) * step,
          ["end"] = k == scale and s["end"] or s.start + k * step, text = s.text }
      end
    end
    out[m] = { speakerId = monologue.speakerId, topic = monologue.topic, sentences = sentences }
  end
  return out
end

--- One entry of callTranscripts; with `scale` (the transcript_scale
--- setting, 1 when nil) each sentence is served as that many.
---@param id string call id
---@param monologues table from fake.library's transcripts
---@param scale? integer
---@return string
function _M.call_transcript(id, monologues, scale)
  if scale and scale > 1 then monologues = scaled(monologues, scale) end
  return encode { callId = id, transcript = monologues }
end

--- The `records` object of a paged response; `cursor` only when more pages follow.
---@param total integer
---@param size integer records on this page
---@param number integer page number, from 0
---@param cursor string|nil
---@return string
function _M.records(total, size, number, cursor)
  return concat {
    '{"totalRecords":', num(total),
    ',"currentPageSize":', num(size),
    ',"currentPageNumber":', num(number),
    cursor and ',"cursor":' .. str(cursor) or "",
    "}",
  }
end

--- A paged response body: requestId, records, then the list `name` of
--- pre-rendered items.
---@param request_id string
---@param records string from records()
---@param name string e.g. "calls"
---@param items table rendered JSON values
---@return string
function _M.paged(request_id, records, name, items)
  return concat { '{"requestId":', str(request_id), ',"records":', records,
                  ',"', name, '":[', concat(items, ","), "]}" }
end

--- The folder-content body after its leading `{"requestId":"...",`: Gong's
--- LibraryFolderListOfCallsResponse, the folder's id, name, createdBy and
--- updated, and its calls (no description, parentFolderId, callCount or created).
---@param f table folder
---@param calls table its calls
---@return string
function _M.content(f, calls)
  return concat {
    '"id":', str(f.id),
    ',"name":', str(f.name),
    ',"createdBy":', str(f.createdBy),
    ',"updated":', str(f.updated),
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

--- An ErrorResponse body: `errors` lists the message as a string, or as
--- `{"message": ...}` when `as_object` (real tenants answer both ways).
---@param request_id string
---@param message string
---@param as_object boolean|nil
---@return string
function _M.error(request_id, message, as_object)
  local item = as_object and '{"message":' .. str(message) .. "}" or str(message)
  return concat { '{"requestId":', str(request_id), ',"errors":[', item, "]}" }
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
  out[#out + 1] = _M.public_folders(lib.folders)
  out[#out + 1] = _M.workspaces(lib.workspaces)
  local every = {}
  for _, name in ipairs(_M.SECTIONS) do every[name] = true end
  for _, id in ipairs(lib.call_ids) do
    out[#out + 1] = _M.extensive_call(lib.details[id], every)
    if lib.transcripts[id] then out[#out + 1] = _M.call_transcript(id, lib.transcripts[id]) end
  end
  return concat(out, "\n")
end

return _M
