-- make docs: LuaLS annotations are the source of truth for types; LDoc
-- reads its own dialect. This rewrites a module's comments for LDoc into a
-- copy (`lua tools/ldoc-prep.lua IN OUT MODULE`), leaving the code alone:
--   ---@class T            -> a @table block named T (fields follow)
--   ---@field n? type text -> @field n (type, optional) text
--   ---@param n? type text -> @tparam[opt] type n text
--   ---@return type text   -> @treturn type text
--   function methods:f()   -> function tree:f() (the class the methods are of)
-- Other LuaLS-only tags are dropped. A LuaLS type may hold spaces
-- ("fun(): gong.Folder?", "{ workspaceId?: string }"), which LDoc would cut
-- at the first one: it is read whole and named as LDoc can show it.

local input, output, module = arg[1], arg[2], arg[3]
local out = {}
local in_class = false
local named = false
-- gong.tree's and gong.client's methods are written on a local `methods`.
local class = module:match("([%w_]+)$")
local in_methods = false -- the @type section of the methods is open

-- Splits "TYPE rest" where TYPE may hold spaces inside brackets, after a
-- ":" (a function's return type) or around a "|".
local function split_type(text)
  local depth, i = 0, 1
  while i <= #text do
    local c = text:sub(i, i)
    if c == "(" or c == "{" or c == "[" or c == "<" then
      depth = depth + 1
    elseif c == ")" or c == "}" or c == "]" or c == ">" then
      depth = depth - 1
    elseif c == " " and depth == 0 then
      local before, after = text:sub(1, i - 1), text:sub(i):match("^%s*(.*)$")
      if not (before:find("[:|,]$") or after:find("^[|]")) then
        return before, after
      end
    end
    i = i + 1
  end
  return text, ""
end

-- A LuaLS type as LDoc shows it: each alternative of a union (split at the
-- "|" outside brackets), functions and table shapes named by their kind.
local function ldoc_type(ty)
  local parts, depth, start = {}, 0, 1
  for i = 1, #ty + 1 do
    local c = ty:sub(i, i)
    if c == "(" or c == "{" or c == "[" or c == "<" then depth = depth + 1
    elseif c == ")" or c == "}" or c == "]" or c == ">" then depth = depth - 1 end
    if (c == "|" and depth == 0) or i > #ty then
      local part = ty:sub(start, i - 1):match("^%s*(.-)%s*$")
      if part:find("^fun%(") then part = "function"
      elseif part:find("^[{(]") then part = "table" end
      parts[#parts + 1] = part
      start = i + 1
    end
  end
  return table.concat(parts, "|")
end

for line in io.lines(input) do
  local indent, tag, rest = line:match("^(%s*)%-%-%-@(%w+)%s*(.*)$")
  if not named and not line:match("^%-%-") then
    -- The file's header comment ends here: name the module after it.
    out[#out + 1] = "-- @module " .. module
    named = true
  end
  if not tag then
    if line:find("^function methods:") and not in_methods then
      -- LDoc lists a class's methods as class:name() only under its @type;
      -- the comment block above the first method moves below the new header.
      local block = {}
      while out[#out] and out[#out]:match("^%s*%-%-") do table.insert(block, 1, table.remove(out)) end
      out[#out + 1] = "--- The methods of a " .. class .. " (`" .. class .. ":name()`)."
      out[#out + 1] = "-- @type " .. class
      out[#out + 1] = ""
      for _, l in ipairs(block) do out[#out + 1] = l end
      in_methods = true
    end
    if in_methods and line:find("^function _M%.") then
      -- The module's own functions again: out of the class section.
      local block = {}
      while out[#out] and out[#out]:match("^%s*%-%-") do table.insert(block, 1, table.remove(out)) end
      out[#out + 1] = "--- Functions of gong." .. class .. "."
      out[#out + 1] = "-- @section functions"
      out[#out + 1] = ""
      for _, l in ipairs(block) do out[#out + 1] = l end
      in_methods = false
    end
    line = line:gsub("^function methods:", "function " .. class .. ":")
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
    local name, opt, typed = rest:match("^([%w_]+)(%??)%s+(.*)$")
    if name then
      local ty, text = split_type(typed)
      out[#out + 1] = ("%s-- @field %s (%s%s) %s"):format(indent, name, ldoc_type(ty),
        opt == "?" and ", optional" or "", text)
    end
  elseif tag == "param" then
    local name, opt, typed = rest:match("^([%w_.]+)(%??)%s+(.*)$")
    if name then
      local ty, text = split_type(typed)
      out[#out + 1] = ("%s-- @tparam%s %s %s %s"):format(indent, opt == "?" and "[opt]" or "", ldoc_type(ty), name,
        text)
    end
  elseif tag == "return" then
    local ty, text = split_type(rest)
    if ty ~= "" then out[#out + 1] = ("%s-- @treturn %s %s"):format(indent, ldoc_type(ty), text) end
  end
end

local f = assert(io.open(output, "w"))
f:write(table.concat(out, "\n"), "\n")
f:close()
