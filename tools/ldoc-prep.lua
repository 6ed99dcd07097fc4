-- make docs: LuaLS annotations are the source of truth for types; LDoc
-- reads its own dialect. This rewrites a module's comments for LDoc into a
-- copy (`lua tools/ldoc-prep.lua IN OUT MODULE`), leaving the code alone:
--   ---@class T            -> a @table block named T (fields follow)
--   ---@field n? type text -> @field n (type, optional) text
--   ---@param n? type text -> @tparam[opt] type n text
--   ---@return type text   -> @treturn type text
-- Other LuaLS-only tags are dropped.

local input, output, module = arg[1], arg[2], arg[3]
local out = {}
local in_class = false
local named = false

for line in io.lines(input) do
  local indent, tag, rest = line:match("^(%s*)%-%-%-@(%w+)%s*(.*)$")
  if not named and not line:match("^%-%-") then
    -- The file's header comment ends here: name the module after it.
    out[#out + 1] = "-- @module " .. module
    named = true
  end
  if not tag then
    if in_class and not line:match("^%s*%-%-%-") then
      -- LDoc wants something to attach a @table block to.
      out[#out + 1] = "local _ = nil"
      in_class = false
    end
    out[#out + 1] = line
  elseif tag == "class" then
    local name = rest:match("^([%w_.]+)")
    if not (out[#out] or ""):match("^%s*%-%-%-") then
      out[#out + 1] = indent .. "--- " .. name .. "."
    end
    out[#out + 1] = indent .. "-- @table " .. name
    in_class = true
  elseif tag == "field" then
    local name, opt, ty, text = rest:match("^([%w_]+)(%??)%s+(%S+)%s*(.*)$")
    if name then
      out[#out + 1] = ("%s-- @field %s (%s%s) %s"):format(indent, name, ty, opt == "?" and ", optional" or "", text)
    end
  elseif tag == "param" then
    local name, opt, ty, text = rest:match("^([%w_.]+)(%??)%s+(%S+)%s*(.*)$")
    if name then
      out[#out + 1] = ("%s-- @tparam%s %s %s %s"):format(indent, opt == "?" and "[opt]" or "", ty, name, text)
    end
  elseif tag == "return" then
    local ty, text = rest:match("^(%S+)%s*(.*)$")
    if ty then out[#out + 1] = ("%s-- @treturn %s %s"):format(indent, ty, text) end
  end
end

local f = assert(io.open(output, "w"))
f:write(table.concat(out, "\n"), "\n")
f:close()
