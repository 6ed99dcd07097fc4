--- gong.cli.exports: what `gong-library export` writes, the whole library
--- (folders with their calls) as nested JSON or as NDJSON.
---
--- A library is what gong's client:library() returns: a tree whose nodes also
--- carry `calls` (the folder's calls) or `error` (why they could not be
--- fetched). `error_text(err)` turns such an error into the message written
--- (default tostring), so the caller decides what may be shown.

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
  return trees.nested_json(tree, function(w, node)
    local message = error_message(node, error_text)
    if message then
      w:field("error", message)
      return
    end
    w:key("calls")
    w:array()
    for _, call in ipairs(node.calls or {}) do json_records.call(w, call) end
    w:close_array()
  end)
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
  local lines, transcribed = {}, {}
  local w = json.writer()
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
    lines[#lines + 1] = w:take()
    for _, call in ipairs(not message and node.calls or {}) do
      w:object()
      w:field("type", "call")
      if present(node.id) then w:field("folderId", node.id) end
      fields.write(w, call, "call")
      if type(call.details) == "table" then
        w:key("details")
        w:any(call.details)
      end
      w:close_object()
      lines[#lines + 1] = w:take()
      -- A transcript is a record of its own, written once however many
      -- folders hold the call (whose calls share the one table): it is large
      -- and read on its own.
      if type(call.transcript) == "table" and not transcribed[call.transcript] then
        transcribed[call.transcript] = true
        w:object()
        w:field("type", "transcript")
        if present(call.callId) then w:field("callId", call.callId) end
        w:key("transcript")
        w:any(call.transcript)
        w:close_object()
        lines[#lines + 1] = w:take()
      end
    end
  end)
  lines[#lines + 1] = ""
  return #lines > 1 and concat(lines, "\n") or ""
end

return _M
