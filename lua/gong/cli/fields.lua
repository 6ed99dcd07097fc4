--- gong.cli.fields: the fields gong-library writes of each record, in order:
--- the contract's (gong.core's FOLDER_FIELDS, CALL_FIELDS), then what only
--- Gong's public API sends (PUBLIC_FOLDER_FIELDS, PUBLIC_CALL_FIELDS: a
--- folder's `updated`, a call's `note` and `snippet`), so that no format
--- drops a field the API sent. CSV has a column for each in either mode,
--- empty where absent; JSON leaves the absent ones out.

local core = require "gong.core"

local ipairs, type = ipairs, type

local function join(first, more)
  local list = {}
  for i, name in ipairs(first) do list[i] = name end
  for _, name in ipairs(more) do list[#list + 1] = name end
  return list
end

local _M = {
  folder = join(core.FOLDER_FIELDS, core.PUBLIC_FOLDER_FIELDS),
  call = join(core.CALL_FIELDS, core.PUBLIC_CALL_FIELDS),
  workspace = core.WORKSPACE_FIELDS,
}

local CONTRACT = { folder = core.FOLDER_FIELDS, call = core.CALL_FIELDS, workspace = core.WORKSPACE_FIELDS }
local PUBLIC = { folder = core.PUBLIC_FOLDER_FIELDS, call = core.PUBLIC_CALL_FIELDS, workspace = {} }

--- Writes the members of `record`, a `kind` ("folder", "call" or
--- "workspace"), on the gong.json writer `w`: the contract's fields when they
--- are strings, numbers or booleans, then the public API's own as sent (a
--- `snippet` is an object).
---@param w gong.json.Writer
---@param record table
---@param kind string
function _M.write(w, record, kind)
  w:fields(record, CONTRACT[kind])
  for _, name in ipairs(PUBLIC[kind]) do
    local v = record[name]
    if type(v) == "table" then
      w:key(name)
      w:any(v)
    elseif v ~= nil then
      w:fields(record, { name })
    end
  end
end

return _M
