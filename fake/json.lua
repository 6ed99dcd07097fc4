-- Exact JSON encoder for the fake Gong server and its specs.
--
-- Debian's lua-cjson writes an empty table as `{}` and integral floats as
-- `12.0` under Lua 5.3+, either of which would let a client bug hide, so the
-- fake writes its own JSON. It must give byte-identical output under Lua
-- 5.1-5.4 and LuaJIT because specs on every interpreter compare against it.
--
-- It is deliberately not gong.json, the product's writer: the server the
-- client is tested against must not share the client's code, or a bug in one
-- would be hidden by the same bug in the other.

local format, gsub, concat, sort = string.format, string.gsub, table.concat, table.sort
local floor, huge = math.floor, math.huge
local type, pairs, ipairs, tonumber, tostring = type, pairs, ipairs, tonumber, tostring
local getmetatable, setmetatable, error = getmetatable, setmetatable, error
local math_type = math.type -- nil before Lua 5.3

local _M = { _VERSION = "0.1" }

--- Sentinel that encodes as `null` where a Lua nil cannot stand (arrays).
_M.null = setmetatable({}, { __tostring = function() return "null" end })

local OBJECT = { __jsontype = "object" }
local ARRAY = { __jsontype = "array" }

--- Marks a table to be written as an object even when it is empty.
---@param t table
---@return table t
function _M.object(t)
  return setmetatable(t or {}, OBJECT)
end

--- Marks a table to be written as an array even when it is empty.
---@param t table
---@return table t
function _M.array(t)
  return setmetatable(t or {}, ARRAY)
end

local escapes = { ['"'] = '\\"', ["\\"] = "\\\\", ["\b"] = "\\b", ["\f"] = "\\f",
                  ["\n"] = "\\n", ["\r"] = "\\r", ["\t"] = "\\t", ["\127"] = "\\u007f" }
for byte = 0, 31 do
  local c = string.char(byte)
  escapes[c] = escapes[c] or format("\\u%04x", byte)
end

--- Encodes a Lua string as a JSON string; UTF-8 passes through unchanged.
---@param s string
---@return string
function _M.string(s)
  return '"' .. gsub(s, '[%c"\\]', escapes) .. '"'
end

--- Encodes a number: integral values without a fraction, others with the
--- shortest `%g` form that reads back to the same double.
---@param n number
---@return string
function _M.number(n)
  if n ~= n or n == huge or n == -huge then
    error("cannot encode " .. tostring(n) .. " as JSON", 2)
  end
  if math_type and math_type(n) == "integer" then
    return format("%d", n)
  end
  if n == floor(n) then
    return format("%.0f", n)
  end
  for precision = 15, 16 do
    local s = format("%." .. precision .. "g", n)
    if tonumber(s) == n then return s end
  end
  return format("%.17g", n)
end

local encode

-- A table is an array when it is marked so, or when it is unmarked and its
-- keys are exactly 1..n; empty unmarked tables are arrays because every
-- empty collection in the contract is one.
local function is_array(t)
  local mt = getmetatable(t)
  if mt == ARRAY then return true end
  if mt == OBJECT then return false end
  local n = 0
  for _ in pairs(t) do n = n + 1 end
  return n == #t
end

local function encode_table(t, out)
  if is_array(t) then
    out[#out + 1] = "["
    for i = 1, #t do
      if i > 1 then out[#out + 1] = "," end
      encode(t[i], out)
    end
    out[#out + 1] = "]"
    return
  end
  -- Sorted keys keep the output deterministic across interpreters.
  local keys = {}
  for k in pairs(t) do
    if type(k) ~= "string" then error("object keys must be strings", 3) end
    keys[#keys + 1] = k
  end
  sort(keys)
  out[#out + 1] = "{"
  for i, k in ipairs(keys) do
    if i > 1 then out[#out + 1] = "," end
    out[#out + 1] = _M.string(k)
    out[#out + 1] = ":"
    encode(t[k], out)
  end
  out[#out + 1] = "}"
end

encode = function(v, out)
  local tv = type(v)
  if v == nil or v == _M.null then
    out[#out + 1] = "null"
  elseif tv == "string" then
    out[#out + 1] = _M.string(v)
  elseif tv == "number" then
    out[#out + 1] = _M.number(v)
  elseif tv == "boolean" then
    out[#out + 1] = v and "true" or "false"
  elseif tv == "table" then
    encode_table(v, out)
  else
    error("cannot encode a " .. tv .. " as JSON", 3)
  end
end

--- Encodes a Lua value (nil/json.null, boolean, number, string, table).
---@param v any
---@return string
function _M.encode(v)
  local out = {}
  encode(v, out)
  return concat(out)
end

--- Encodes a string, or `null` for nil.
---@param s string|nil
---@return string
function _M.nullable(s)
  if s == nil then return "null" end
  return _M.string(s)
end

return _M
