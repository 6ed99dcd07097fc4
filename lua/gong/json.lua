--- gong.json: the one JSON writer of gong's products (the CLI's output and
--- export, the Neovim worker's answers). Reading JSON is lua-cjson's job.
---
--- It writes what lua-cjson 2.1 cannot: integral numbers without a fraction
--- on every Lua (`12`, never `12.0`), every other double in the shortest form
--- that reads back as the same double (cjson keeps 14 digits), `[]` for an
--- empty list (cjson writes `{}`), and object keys in the order the caller
--- writes them (a Lua table has none).
---
--- Two ways to write:
---   json.encode(value)   any Lua data (lists, string-keyed records, strings,
---                        numbers, booleans), compact; an empty table is `[]`
---   json.writer{ indent = true }
---                        a streaming writer for documents whose layout the
---                        caller decides, member by member (see Writer), so a
---                        deep tree never recurses and never builds a copy.
---
--- Pure Lua at load time (gong.nvim relies on it); what JSON cannot hold raises
--- gong.core's error object, kind "argument".

local concat = table.concat
local floor = math.floor
local format = string.format
local huge = math.huge
local math_type = math.type -- nil before Lua 5.3
local ipairs = ipairs
local next = next
local pairs = pairs
local require = require
local sort = table.sort
local rep = string.rep
local setmetatable = setmetatable
local tonumber = tonumber
local tostring = tostring
local type = type

local error = error

-- Every string written passes here: valid UTF-8, whatever a server sent.
local as_utf8 = require("gong.message").utf8

local _M = {}

--- Formats a number the way JSON and CSV want it: integral values without a
--- fractional part (so `12`, never `12.0`, on every Lua version), other values
--- in the shortest form that reads back as the same double. Returns nil for NaN
--- and infinities, which JSON cannot express.
---@param n number
---@return string|nil
function _M.number(n)
  if n ~= n or n == huge or n == -huge then
    return nil
  end
  if math_type and math_type(n) == "integer" then
    return tostring(n)
  end
  -- Below 2^53 every integral double is exact, so %d cannot round.
  if n == floor(n) and n > -2 ^ 53 and n < 2 ^ 53 then
    return format("%d", n)
  end
  for precision = 14, 16 do
    local s = format("%." .. precision .. "g", n)
    if tonumber(s) == n then
      return s
    end
  end
  return format("%.17g", n)
end

local ESCAPES = {
  ['"'] = '\\"', ["\\"] = "\\\\", ["\b"] = "\\b", ["\f"] = "\\f",
  ["\n"] = "\\n", ["\r"] = "\\r", ["\t"] = "\\t",
}

local function escape(c)
  return ESCAPES[c] or (c:byte() < 32 and format("\\u%04x", c:byte())) or c
end

--- A string as a JSON string literal: quotes, backslashes and control
--- characters escaped, UTF-8 left as it is, and what is not UTF-8 replaced
--- by U+FFFD (gong.message.utf8), so that every JSON gong writes is valid.
---@param s string
---@return string
function _M.string(s)
  return '"' .. as_utf8(s):gsub('[%c"\\]', escape) .. '"'
end

--- True for the values a record field can hold in JSON: strings, numbers and
--- booleans. Anything else (nil, a decoder's null sentinel, a table) counts as
--- absent wherever gong writes records.
---@param v any
---@return boolean
function _M.present(v)
  local t = type(v)
  return t == "string" or t == "number" or t == "boolean"
end

-- A scalar as JSON: strings, numbers (NaN and infinities as null), booleans.
local function scalar(v)
  local t = type(v)
  if t == "string" then
    return _M.string(v)
  elseif t == "number" then
    return _M.number(v) or "null"
  elseif t == "boolean" then
    return tostring(v)
  end
  -- gong.core is loaded here, not at the top: gong.nvim requires this module
  -- before it knows whether the core can be loaded at all.
  error(require("gong.core").error("argument", "gong.json: cannot write a " .. t), 3)
end

---A streaming JSON writer. Containers are opened and closed explicitly;
---members of an object are a key followed by a value or a container. With
---`indent`, every member goes on its own line, two spaces deeper than its
---container, `"key": value`; without, all on one line, `"key":value`.
---@class gong.json.Writer
local Writer = {}
local writer_mt = { __index = Writer }

--- Makes a writer; `opts.indent` lays the document out over lines.
---@param opts? { indent?: boolean }
---@return gong.json.Writer
function _M.writer(opts)
  return setmetatable({ buf = {}, n = 0, counts = {}, depth = 0, keyed = false,
                        indent = opts and opts.indent or false }, writer_mt)
end

function Writer:put(s)
  local n = self.n + 1
  self.buf[n] = s
  self.n = n
end

-- Starts an item of the current container: a separator, unless a key was just written.
function Writer:item()
  if self.keyed then
    self.keyed = false
    return
  end
  local depth = self.depth
  if depth == 0 then return end
  local count = self.counts[depth]
  self.counts[depth] = count + 1
  if self.indent then
    self:put((count == 0 and "\n" or ",\n") .. rep("  ", depth))
  elseif count > 0 then
    self:put(",")
  end
end

function Writer:open(bracket)
  self:item()
  self:put(bracket)
  self.depth = self.depth + 1
  self.counts[self.depth] = 0
end

function Writer:close(bracket)
  local depth = self.depth
  if self.indent and self.counts[depth] > 0 then
    self:put("\n" .. rep("  ", depth - 1) .. bracket)
  else
    self:put(bracket)
  end
  self.counts[depth] = nil
  self.depth = depth - 1
end

--- Opens an object (`{`).
function Writer:object() self:open("{") end
--- Closes the innermost object (`}`).
function Writer:close_object() self:close("}") end
--- Opens an array (`[`); closed with nothing in it, it is `[]`.
function Writer:array() self:open("[") end
--- Closes the innermost array (`]`).
function Writer:close_array() self:close("]") end

--- Writes an object member's key; the value or container that follows is its value.
---@param k string
function Writer:key(k)
  self:item()
  self:put(_M.string(k) .. (self.indent and ": " or ":"))
  self.keyed = true
end

--- Writes a string, number or boolean.
---@param v string|number|boolean
function Writer:value(v)
  self:item()
  self:put(scalar(v))
end

--- Writes `key` and `v` as a member of the current object.
---@param k string
---@param v string|number|boolean
function Writer:field(k, v)
  self:key(k)
  self:value(v)
end

--- Writes the members `names` of `record` in that order, leaving out those
--- that are absent (see `present`).
---@param record table
---@param names string[]
function Writer:fields(record, names)
  for i = 1, #names do
    local name = names[i]
    local v = record[name]
    if _M.present(v) then
      self:field(name, v)
    end
  end
end

--- Writes a value that is JSON text already, as a writer of the same layout
--- wrote it at the top level (gong.cli's spool keeps call data so): indented,
--- its lines are moved to the current depth, which is exact because a JSON
--- string holds no line break.
---@param text string
function Writer:raw(text)
  self:item()
  local depth = self.depth
  if self.indent and depth > 0 then text = text:gsub("\n", "\n" .. rep("  ", depth)) end
  self:put(text)
end

--- The text written so far, after which the writer starts afresh (for NDJSON,
--- a document per line).
---@return string
function Writer:take()
  local s = concat(self.buf, "", 1, self.n)
  self.buf, self.n = {}, 0
  return s
end

-- Writes any Lua data: see encode. Object keys are sorted, so the same data
-- always gives the same text.
local function write_any(w, v)
  if type(v) ~= "table" then
    w:value(v)
  elseif next(v) == nil or v[1] ~= nil then
    w:array()
    for i = 1, #v do write_any(w, v[i]) end
    w:close_array()
  else
    local keys = {}
    for k in pairs(v) do
      if type(k) == "string" then keys[#keys + 1] = k end
    end
    sort(keys)
    w:object()
    for _, k in ipairs(keys) do
      w:key(k)
      write_any(w, v[k])
    end
    w:close_object()
  end
end

--- Writes any Lua data as a value (see encode), in the writer's layout:
--- records as a server sent them, such as a call's details.
---@param v any
function Writer:any(v)
  write_any(self, v)
end

--- Any Lua data as compact JSON: a table with a first element, or an empty
--- one, is a list (its elements 1..#t); any other table an object of its
--- string keys. Raises gong's error (kind "argument") for functions,
--- userdata and threads.
---@param value any
---@return string
function _M.encode(value)
  local w = _M.writer()
  write_any(w, value)
  return w:take()
end

return _M
