--- gong.cli.exports: what `gong-library export` writes, the whole library
--- (folders with their calls) as nested JSON or as NDJSON.
---
--- A library is what gong's client:library() returns: a tree whose nodes also
--- carry `calls` (the folder's calls) or `error` (why they could not be
--- fetched). `error_text(err)` turns such an error into the message written
--- (default tostring), so the caller decides what may be shown.
---
--- Each export is written in pieces as it goes (write_json, write_ndjson: a
--- call at a time, to `write(text)`), so that what it holds is the tree and
--- the call being written: with `data(call, field)` the calls' details and
--- transcripts come from elsewhere (gong.cli.spool), one at a time.

local fields = require "gong.cli.fields"
local json = require "gong.json"
local json_records = require "gong.cli.json_records"
local trees = require "gong.cli.trees"

local concat, ipairs, tostring, type = table.concat, ipairs, tostring, type

local present = json.present

local _M = {}

local function error_message(node, error_text)
  if node.error == nil or type(node.calls) == "table" then
    return nil
  end
  return (error_text or tostring)(node.error)
end

--- The whole library as nested JSON: the tree JSON's objects
--- (gong.cli.trees), each with `calls` (an array of call objects with the
--- fields of gong.cli.fields, in that order) between `total_calls` and
--- `children`. A folder whose calls could not be fetched has `error` (a
--- message) instead of `calls`.
---@param tree gong.Tree
---@param error_text? fun(err: any): string
---@return string
function _M.json(tree, error_text)
  return _M.collect(_M.write_json, tree, { error_text = error_text })
end

---@class gong.cli.ExportOptions
---@field error_text? fun(err: any): string the message written for a folder's error (tostring)
---@field data? fun(call: table, field: string): table|string|nil a call's details and transcript (see
--- gong.cli.json_records.call; the call's own fields without it)

--- What json() returns, written a call at a time to `write`.
---@param tree gong.Tree
---@param write fun(text: string)
---@param opts? gong.cli.ExportOptions
function _M.write_json(tree, write, opts)
  local error_text, data = opts and opts.error_text, opts and opts.data
  write(trees.nested_json(tree, function(w, node)
    local message = error_message(node, error_text)
    if message then
      w:field("error", message)
      return
    end
    w:key("calls")
    w:array()
    for _, call in ipairs(node.calls or {}) do
      json_records.call(w, call, data)
      write(w:take())
    end
    w:close_array()
  end))
end

--- The text an export's write function is given, whole: for specs, and the
--- small outputs json() and ndjson() are.
---@param export fun(tree: gong.Tree, write: fun(text: string), opts?: gong.cli.ExportOptions)
---@param tree gong.Tree
---@param opts? gong.cli.ExportOptions
---@return string
function _M.collect(export, tree, opts)
  local parts = {}
  export(tree, function(text) parts[#parts + 1] = text end, opts)
  return concat(parts)
end

--- The whole library as NDJSON, one JSON object per line, in tree order:
--- each folder as `{"type":"folder", its fields (gong.cli.fields), "path", "depth",
--- "total_calls"}` (plus `"error"` when its calls could not be fetched),
--- followed by each of its calls as `{"type":"call", "folderId", its
--- fields}` (and `"details"` when the call has them), each call with a
--- transcript followed by `{"type":"transcript", "callId", "transcript"}` the
--- first time it appears. `path` joins the names from the root with "/";
--- `depth` is 0 for a root. An empty library is an empty string.
---@param tree gong.Tree
---@param error_text? fun(err: any): string
---@return string
function _M.ndjson(tree, error_text)
  return _M.collect(_M.write_ndjson, tree, { error_text = error_text })
end

--- What ndjson() returns, written a line at a time to `write`.
---@param tree gong.Tree
---@param write fun(text: string)
---@param opts? gong.cli.ExportOptions
function _M.write_ndjson(tree, write, opts)
  local error_text, data = opts and opts.error_text, opts and opts.data
  local transcribed = {}
  local w = json.writer()
  local function line()
    write(w:take() .. "\n")
  end
  tree:visit(function(node, depth)
    w:object()
    w:field("type", "folder")
    fields.write(w, node, "folder")
    w:field("path", node.path)
    w:field("depth", depth)
    if present(node.total_calls) then w:field("total_calls", node.total_calls) end
    local message = error_message(node, error_text)
    if message then w:field("error", message) end
    w:close_object()
    line()
    for _, call in ipairs(not message and node.calls or {}) do
      w:object()
      w:field("type", "call")
      if present(node.id) then w:field("folderId", node.id) end
      fields.write(w, call, "call")
      json_records.extra(w, "details", json_records.value_of(call, "details", data))
      w:close_object()
      line()
      -- A transcript is a record of its own, written once however many
      -- folders hold the call (whose calls share the one table, or the one
      -- id): it is large and read on its own.
      local transcript = json_records.value_of(call, "transcript", data)
      local seen = type(transcript) == "table" and transcript or call.callId
      if transcript ~= nil and not transcribed[seen] then
        transcribed[seen] = true
        w:object()
        w:field("type", "transcript")
        if present(call.callId) then w:field("callId", call.callId) end
        json_records.extra(w, "transcript", transcript)
        w:close_object()
        line()
      end
    end
  end)
end

return _M
