--- gong.wire: plain data between Lua states, where no metatable and no
--- function crosses (gong.resty's calls to nginx's thread VMs; the options
--- gong.resty and gong.nvim cache their clients by). Pure Lua: the sending
--- side needs nothing else loaded.
---
--- A call's outcome:
---
---   "ok", results        the call returned: its results, packed ({n = ..., ...})
---   "fail", fields       it returned nil, err: the error's fields
---   "raise", fields | message
---                        it raised: an error's fields, or a message when
---                        what was raised was not a gong error
---
--- `run` makes the outcome on the side that ran the call; `unpack` turns it
--- back into what the call gave on the side that asked, gong error objects
--- rebuilt. Whether a value is a gong error is gong.core's one rule
--- (core.is_error).

local message = require "gong.message"

local concat, format, ipairs, pairs, pcall, require, select, setmetatable, sort, tostring, type, unpack =
      table.concat, string.format, ipairs, pairs, pcall, require, select, setmetatable, table.sort, tostring, type,
      table.unpack or unpack

local _M = {}

local function pack(...)
  return { n = select("#", ...), ... }
end

-- gong.core, once it loads (the side that runs a call always has it): kept
-- when found, looked for again while it is not.
local loaded
local function core()
  if not loaded then
    local ok, module = pcall(require, "gong.core")
    loaded = ok and module or nil
  end
  return loaded
end

-- An error object's fields as a plain table.
local function fields(err)
  local t = {}
  for k, v in pairs(err) do t[k] = v end
  return t
end

--- Runs `fn(...)` and returns its outcome in the wire's vocabulary.
---@param fn function
---@return string status "ok", "fail" or "raise"
---@return any results_or_fields
function _M.run(fn, ...)
  return _M.outcome(pcall(fn, ...))
end

--- The outcome of a call, in the wire's vocabulary, from what pcall of it
--- returned: for a caller that makes the pcall itself.
---@param ok boolean
---@return string status "ok", "fail" or "raise"
---@return any results_or_fields
function _M.outcome(ok, ...)
  local is_error = core().is_error
  if not ok then
    local err = ...
    if is_error(err) then return "raise", fields(err) end
    return "raise", type(err) == "string" and err or "raised a " .. type(err)
  end
  local value, err = ...
  if value == nil then
    return "fail", is_error(err) and fields(err) or { kind = "config", message = tostring(err) }
  end
  return "ok", pack(...)
end

-- What tostring makes of an error object that gong.core could not make.
local plain_mt = {
  __name = "gong.error",
  __tostring = function(e) return "gong: " .. tostring(e.message) end,
}

-- A gong error from fields that crossed. Where gong.core cannot be loaded
-- (an editor without it on package.cpath), a plain table of the same shape
-- stands in, so that the failure can still be told.
local function rebuild(t)
  local c = core()
  if c then return c.error(t.kind or "config", t.message or "unknown error", t) end
  local e = {}
  for k, v in pairs(t) do e[k] = v end
  e.kind, e.message, e.errors = e.kind or "config", message.first_line(e.message or "unknown error"), e.errors or {}
  return setmetatable(e, plain_mt)
end

--- An error object of `kind` with `text`: gong.core's, or its plain stand-in
--- when the core cannot be loaded.
---@param kind string
---@param text string
---@return gong.Error
function _M.error(kind, text)
  return rebuild({ kind = kind, message = text })
end

--- Turns an outcome back into what the call gave: `true, ...` with its
--- results (nil and the rebuilt error for a returned one), `false, err` for
--- a raised one (a gong error, or the message raised).
---@param status string
---@param a any
---@return boolean returned
---@return any ...
function _M.unpack(status, a)
  if status == "ok" and type(a) == "table" then
    return true, unpack(a, 1, a.n)
  elseif status == "fail" then
    return true, nil, rebuild(type(a) == "table" and a or { message = tostring(a) })
  elseif status == "raise" then
    return false, type(a) == "table" and rebuild(a) or a
  end
  return false, rebuild({ kind = "config", message = "no outcome came back (status " .. tostring(status) .. ")" })
end

-- Appends a text form of plain `v` to `out`: tables by sorted keys, strings
-- quoted, numbers exactly. Returns nil and where a value is not plain data.
local function serialize(v, out, where)
  local t = type(v)
  if t == "table" then
    local keys = {}
    for k in pairs(v) do
      if type(k) ~= "string" and type(k) ~= "number" then return nil, where .. " has a " .. type(k) .. " key" end
      keys[#keys + 1] = k
    end
    sort(keys, function(a, b)
      if type(a) ~= type(b) then return type(a) == "number" end
      return a < b
    end)
    out[#out + 1] = "{"
    for _, k in ipairs(keys) do
      local inner = where .. "." .. tostring(k)
      if not serialize(k, out, inner) then return nil, inner .. " is not plain data" end
      out[#out + 1] = "="
      local ok, why = serialize(v[k], out, inner)
      if not ok then return nil, why end
      out[#out + 1] = ","
    end
    out[#out + 1] = "}"
  elseif t == "string" then
    out[#out + 1] = format("%q", v)
  elseif t == "number" then
    out[#out + 1] = format("%.17g", v)
  elseif t == "boolean" or t == "nil" then
    out[#out + 1] = tostring(v)
  else
    return nil, where .. " is a " .. t
  end
  return out
end

--- A key naming the plain options table `opts`: the same text for the same
--- options, however their tables were built. Returns nil and what is not
--- plain data (strings, numbers, booleans and tables of them) otherwise.
---@param opts table|nil
---@return string|nil key
---@return string|nil why
function _M.key(opts)
  local out, why = serialize(opts, {}, "options")
  if not out then return nil, why end
  return concat(out)
end

return _M
