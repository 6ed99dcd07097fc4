--- gong.cli.json_records: folders, calls and workspaces as JSON documents,
--- an array of one object per record, and the object a call is wherever
--- gong-library writes one (export's too).
---
--- gong.json writes them: exact numbers, [] for empty lists, keys in the
--- contract's order, then the public API's own fields (gong.cli.fields),
--- absent values left out. Documents are laid out over
--- lines, two spaces per level, and end in a newline.

local fields = require "gong.cli.fields"
local json = require "gong.json"

local ipairs, type = ipairs, type

local _M = {}

--- An indented JSON array of `items`, each written by `write(w, item)` on
--- the gong.json writer `w`; the document ends in a newline.
---@param items table[]
---@param write fun(w: gong.json.Writer, item: any)
---@return string
function _M.array(items, write)
  local w = json.writer({ indent = true })
  w:array()
  for _, item in ipairs(items) do write(w, item) end
  w:close_array()
  return w:take() .. "\n"
end

--- Writes a call's object on `w`: the contract's fields, the public API's
--- own (note, snippet), then what client:library() or --details added, `details` and `transcript`, as Gong
--- sent them. `data(call, field)`, when given, says what the call's `details`
--- and `transcript` are instead of the call's own fields: a table, or JSON
--- text in the writer's layout (gong.cli.spool's), or nil for none.
---@param w gong.json.Writer
---@param call table
---@param data? fun(call: table, field: string): table|string|nil
function _M.call(w, call, data)
  w:object()
  fields.write(w, call, "call")
  for _, extra in ipairs({ "details", "transcript" }) do
    _M.extra(w, extra, _M.value_of(call, extra, data))
  end
  w:close_object()
end

--- What `call`'s `field` ("details" or "transcript") is written as: what
--- `data` says when given, else the call's own field when it is a table; nil
--- for none.
---@param call table
---@param field string
---@param data? fun(call: table, field: string): table|string|nil
---@return table|string|nil
function _M.value_of(call, field, data)
  if data then return data(call, field) end
  local value = call[field]
  return type(value) == "table" and value or nil
end

--- Writes the member `key` of `value`, a table or JSON text (see call); nothing for anything else.
---@param w gong.json.Writer
---@param key string
---@param value any
function _M.extra(w, key, value)
  if type(value) == "table" then
    w:key(key)
    w:any(value)
  elseif type(value) == "string" then
    w:key(key)
    w:raw(value)
  end
end

-- The write function of array() for records of `kind` (see gong.cli.fields).
local function record_of(kind)
  return function(w, r)
    w:object()
    fields.write(w, r, kind)
    w:close_object()
  end
end

local write_folder, write_workspace = record_of("folder"), record_of("workspace")

--- Folders as a JSON array of objects: the contract's fields, then the public API's own.
---@param folders table[]
---@return string
function _M.folders(folders)
  return _M.array(folders, write_folder)
end

--- Calls as a JSON array of objects with the contract's field names (and a
--- call's `details` and `transcript` where it has them).
---@param calls table[]
---@return string
function _M.calls(calls)
  return _M.array(calls, _M.call)
end

--- Workspaces as a JSON array of objects: id, name, description.
---@param workspaces table[]
---@return string
function _M.workspaces(workspaces)
  return _M.array(workspaces, write_workspace)
end

return _M
