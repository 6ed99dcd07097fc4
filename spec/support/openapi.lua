-- A small, strict checker of decoded JSON answers against an OpenAPI 3.0
-- description: the one of Gong's public v2 API (doc/gong-v2-openapi.json),
-- so the fake's public answers cannot drift from it unnoticed.
--
--   local openapi = require "spec.support.openapi"
--   local api = openapi.load()                      -- doc/gong-v2-openapi.json
--   local problems = api:check("GET", "/v2/workspaces", 200, cjson.decode(body))
--   -- {} when the answer agrees, else one line per violation
--
-- What it checks: that the operation answers the status at all, `$ref`s
-- (resolved), `type` (string, integer, number, boolean, array, object),
-- `format: date-time` (ISO 8601), `format: int32` (its range), `enum`,
-- `items`, `properties` and `required`. It is strict where the description
-- is loose: a property the schema does not name is a violation (Gong's
-- description sets no additionalProperties, and a client may only rely on
-- what it names), and so is a `null`, save the exceptions below. Other
-- formats (int64, double, float, url) need only their type.
--
-- Limits: lua-cjson decodes `[]` and `{}` alike, so an empty table passes as
-- an array and as an object; and numbers decode as floats on Lua 5.3+, so
-- an integer is a number without a fraction.

local cjson = require("cjson").new()

local floor, huge = math.floor, math.huge
local concat, sort = table.concat, table.sort
local pairs, ipairs, type, tostring, tonumber, setmetatable = pairs, ipairs, type, tostring, tonumber, setmetatable
local format = string.format

local _M = {}

--- Where the description allows what its schemas do not say, by
--- "Schema.property": each entry says what is allowed and why. One list, so
--- every way in which the checker is kinder than the schemas is here.
_M.EXCEPTIONS = {
  ["LibraryFolder.parentFolderId"] = {
    null = true,
    why = "its description says: null for root folder",
  },
  -- Typed object, but its example is the string "Gong Inc.": a CRM field's
  -- value is whatever JSON value the field holds (a name, an amount).
  ["ContextField.value"] = { any = true, why = "typed object, but its example is a string: any JSON value" },
  ["PartyContextField.value"] = { any = true, why = "typed object, but its example is a string: any JSON value" },
}

-- The repository root, from where this file lives (spec/support/openapi.lua).
local function repo_root()
  local source = debug.getinfo(1, "S").source:gsub("^@", "")
  return source:match("^(.*)/spec/support/[^/]+$") or "."
end

--- The vendored description's path.
_M.PATH = repo_root() .. "/doc/gong-v2-openapi.json"

local Api = {}
Api.__index = Api

--- Loads a description (default doc/gong-v2-openapi.json).
---@param path string|nil
---@return table api with :check, :check_headers, :schema
function _M.load(path)
  path = path or _M.PATH
  local f = assert(io.open(path, "rb"))
  local text = f:read("*a")
  f:close()
  return setmetatable({ doc = cjson.decode(text), path = path }, Api)
end

-- The schema a "#/components/schemas/Name" names, and Name.
function Api:resolve(ref)
  local name = ref:match("^#/components/schemas/([^/]+)$")
  local schema = name and self.doc.components.schemas[name]
  if not schema then error("unresolvable $ref " .. tostring(ref), 0) end
  return schema, name
end

--- The operation's response object for `status`, or nil and why not.
---@param method string e.g. "GET"
---@param path string as the description names it, e.g. "/v2/library/folders"
---@param status integer
---@return table|nil response
---@return string|nil err
function Api:response(method, path, status)
  local item = self.doc.paths[path]
  if not item then return nil, "the description has no path " .. path end
  local op = item[method:lower()]
  if not op then return nil, "the description has no " .. method .. " " .. path end
  local res = op.responses[tostring(status)]
  if not res then
    local known = {}
    for code in pairs(op.responses) do known[#known + 1] = code end
    sort(known)
    return nil, format("%s %s does not answer %d (it answers %s)", method, path, status, concat(known, ", "))
  end
  return res
end

--- The JSON schema of the operation's answer with `status`, or nil and why not.
function Api:schema(method, path, status)
  local res, err = self:response(method, path, status)
  if not res then return nil, err end
  local media = res.content and res.content["application/json"]
  if not media or not media.schema then return nil, format("%s %s %d has no JSON body", method, path, status) end
  return media.schema
end

local function is_integer(v)
  return type(v) == "number" and v == v and v > -huge and v < huge and v == floor(v)
end

-- ISO 8601 date and time with seconds, optional fraction, and a zone (Z or ±hh:mm).
local function is_date_time(s)
  if type(s) ~= "string" then return false end
  local y, mo, d, h, mi, sec, rest = s:match("^(%d%d%d%d)%-(%d%d)%-(%d%d)T(%d%d):(%d%d):(%d%d)(.*)$")
  if not y then return false end
  rest = rest:gsub("^%.%d+", "")
  if rest ~= "Z" and not rest:match("^[+-]%d%d:%d%d$") then return false end
  mo, d, h, mi, sec = tonumber(mo), tonumber(d), tonumber(h), tonumber(mi), tonumber(sec)
  return mo >= 1 and mo <= 12 and d >= 1 and d <= 31 and h <= 23 and mi <= 59 and sec <= 60
end
_M.is_date_time = is_date_time

-- What a decoded table is: "array" (integer keys 1..n), "object" (string
-- keys), "empty" (cjson cannot tell [] from {}), or "mixed".
local function table_kind(t)
  local n, strings = 0, 0
  for k in pairs(t) do
    if type(k) == "string" then strings = strings + 1 else n = n + 1 end
  end
  if n == 0 and strings == 0 then return "empty" end
  if strings == 0 and n == #t then return "array" end
  if n == 0 then return "object" end
  return "mixed"
end

local function describe_value(v)
  if v == cjson.null then return "null" end
  if type(v) == "table" then return table_kind(v) == "array" and "an array" or "an object" end
  if type(v) == "string" then return format("the string %q", #v > 40 and v:sub(1, 40) .. "..." or v) end
  return type(v) .. " " .. tostring(v)
end

-- Checks `value` against `schema` at `where`, appending to `out`. `name` is
-- the component schema the value belongs to (for the exceptions' keys).
function Api:walk(schema, value, where, out, name)
  if schema["$ref"] then
    local target, target_name = self:resolve(schema["$ref"])
    return self:walk(target, value, where, out, target_name)
  end
  local function bad(fmt, ...) out[#out + 1] = where .. ": " .. format(fmt, ...) end
  if value == cjson.null then
    return bad("null where the schema says %s", schema.type or "a value")
  end
  local t = schema.type
  if t == "string" then
    if type(value) ~= "string" then return bad("expected a string, got %s", describe_value(value)) end
    if schema.format == "date-time" and not is_date_time(value) then
      bad("expected an ISO 8601 date-time, got %s", describe_value(value))
    end
  elseif t == "integer" then
    if not is_integer(value) then return bad("expected an integer, got %s", describe_value(value)) end
    if schema.format == "int32" and (value < -2147483648 or value > 2147483647) then
      bad("%s is out of int32's range", tostring(value))
    end
  elseif t == "number" then
    if type(value) ~= "number" or value ~= value or value == huge or value == -huge then
      return bad("expected a number, got %s", describe_value(value))
    end
  elseif t == "boolean" then
    if type(value) ~= "boolean" then return bad("expected a boolean, got %s", describe_value(value)) end
  elseif t == "array" then
    local kind = type(value) == "table" and table_kind(value)
    if kind ~= "array" and kind ~= "empty" then return bad("expected an array, got %s", describe_value(value)) end
    for i, item in ipairs(value) do self:walk(schema.items, item, format("%s[%d]", where, i), out, name) end
  elseif t == "object" or schema.properties then
    local kind = type(value) == "table" and table_kind(value)
    if kind ~= "object" and kind ~= "empty" then return bad("expected an object, got %s", describe_value(value)) end
    self:walk_object(schema, value, where, out, name)
  else
    return bad("the schema has no type the checker knows (%s)", tostring(t))
  end
  if schema.enum then
    for _, allowed in ipairs(schema.enum) do
      if allowed == value then return end
    end
    bad("%s is not one of %s", describe_value(value), concat(schema.enum, ", "))
  end
end

-- The members of an object: each named by the schema and as it says, the
-- required ones present. Sorted, so the report reads the same every run.
function Api:walk_object(schema, value, where, out, name)
  local props = schema.properties or {}
  local keys = {}
  for k in pairs(value) do keys[#keys + 1] = k end
  sort(keys)
  for _, k in ipairs(keys) do
    local at, v = where .. "." .. k, value[k]
    local exception = _M.EXCEPTIONS[(name or "?") .. "." .. k]
    local excepted = exception and (exception.any or (exception.null and v == cjson.null))
    if not props[k] then
      out[#out + 1] = format("%s: not in the schema%s", at, name and " (" .. name .. ")" or "")
    elseif not excepted then
      self:walk(props[k], v, at, out, name)
    end
  end
  for _, k in ipairs(schema.required or {}) do
    if value[k] == nil then out[#out + 1] = format("%s.%s: required, but missing", where, k) end
  end
end

--- The violations of a decoded answer (cjson's, nulls as cjson.null) to the
--- operation `method path` answering `status`: {} when it agrees.
---@param method string
---@param path string the description's path, e.g. "/v2/calls/extensive"
---@param status integer
---@param value any the decoded body
---@return string[] violations
function Api:check(method, path, status, value)
  local schema, err = self:schema(method, path, status)
  if not schema then return { err } end
  local out = {}
  self:walk(schema, value, "$", out)
  return out
end

--- The violations of an answer's headers (names lower-cased) to the headers
--- the description declares for it (as Retry-After of a 429): each present,
--- its value of the declared type.
---@param method string
---@param path string
---@param status integer
---@param headers table<string,string>
---@return string[] violations
function Api:check_headers(method, path, status, headers)
  local res, err = self:response(method, path, status)
  if not res then return { err } end
  local out = {}
  for header, spec in pairs(res.headers or {}) do
    local value = headers[header:lower()]
    local t = spec.schema and spec.schema.type
    if value == nil then
      out[#out + 1] = header .. ": missing"
    elseif t == "integer" and not value:match("^%d+$") then
      out[#out + 1] = format("%s: expected an integer, got %q", header, value)
    end
  end
  return out
end

--- The paths and methods the description has: {["GET /v2/workspaces"] = true, ...}.
function Api:operations()
  local out = {}
  for path, item in pairs(self.doc.paths) do
    for method in pairs(item) do out[method:upper() .. " " .. path] = true end
  end
  return out
end

return _M
