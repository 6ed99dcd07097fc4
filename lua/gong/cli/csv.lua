--- gong.cli.csv: RFC 4180 CSV, and folders, calls and workspaces in it.
---
--- The columns are the contract's fields in the contract's order, then the
--- public API's own (gong.cli.fields owns the lists), the same in either mode.
--- An absent value is an empty field; numbers are written as gong.json writes
--- them (`12`, never `12.0`); a table (a public call's `snippet`) as its
--- compact JSON; text is carried unchanged, quoted where it must be.

local fields_of = require "gong.cli.fields"
local json = require "gong.json"
local parties = require "gong.cli.parties"

local concat, ipairs, tostring, type = table.concat, ipairs, tostring, type

local number, present = json.number, json.present

local _M = {}

local function field(v)
  if type(v) == "table" then
    v = json.encode(v)
  elseif not present(v) then
    return ""
  end
  local s = type(v) == "number" and (number(v) or "") or tostring(v)
  if s:find('[",\r\n]') then
    return '"' .. s:gsub('"', '""') .. '"'
  end
  return s
end

--- `records` as CSV, the columns `fields` (a header row of their names, then
--- `record[name]` for each): CRLF after every record, including the last, and
--- the header row even when there are no records, so the columns are always
--- known.
---@param fields string[]
---@param records table[]
---@return string
function _M.records(fields, records)
  local lines = {}
  local header = {}
  for i, name in ipairs(fields) do
    header[i] = field(name)
  end
  lines[1] = concat(header, ",")
  for _, r in ipairs(records) do
    local cells = {}
    for i, name in ipairs(fields) do
      cells[i] = field(r[name])
    end
    lines[#lines + 1] = concat(cells, ",")
  end
  return concat(lines, "\r\n") .. "\r\n"
end

--- Folders as CSV with every contract field as a column, in contract order.
---@param folders table[]
---@return string
function _M.folders(folders)
  return _M.records(fields_of.folder, folders)
end

--- Calls as CSV with every contract field as a column, in contract order;
--- `duration` stays in seconds so it can be computed with. With
--- `opts.details`, a `speakers` column too (names joined by ", ").
---@param calls table[]
---@param opts? { details?: boolean }
---@return string
function _M.calls(calls, opts)
  if not (opts and opts.details) then return _M.records(fields_of.call, calls) end
  local fields, records = {}, {}
  for i, name in ipairs(fields_of.call) do fields[i] = name end
  fields[#fields + 1] = "speakers"
  for i, call in ipairs(calls) do
    local r = { speakers = parties.speakers(call) }
    for _, name in ipairs(fields_of.call) do r[name] = call[name] end
    records[i] = r
  end
  return _M.records(fields, records)
end

--- Workspaces as CSV: id, name, description.
---@param workspaces table[]
---@return string
function _M.workspaces(workspaces)
  return _M.records(fields_of.workspace, workspaces)
end

return _M
