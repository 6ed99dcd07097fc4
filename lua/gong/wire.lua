--- gong.wire: a call's outcome carried from one Lua state to another (nginx's
--- thread VMs, Neovim's thread pool), where only plain data crosses: no
--- metatables, no functions. Both adapters speak this one vocabulary:
---
---   "ok", value, extra, marks   the call returned value (a list) and extra
---                               (a requestId); marks lists the positions of
---                               value that held error objects (a batch's)
---   "fail", fields              it returned nil, err: the error's fields
---   "raise", fields | message   it raised: an error's fields, or a message
---                               when what was raised was not a gong error
---
--- `run` makes the outcome on the side that ran the call; `unpack` turns it
--- back into what the call gave on the side that asked, gong error objects
--- rebuilt with their metatable. Pure Lua: the sending side needs nothing
--- else loaded, so even a worker that cannot load gong can say so.

local getmetatable, pairs, pcall, require, setmetatable, tostring, type =
      getmetatable, pairs, pcall, require, setmetatable, tostring, type

local _M = {}

-- gong.core names its error metatable; no other table has that name.
local function is_error(v)
  local mt = type(v) == "table" and getmetatable(v)
  return type(mt) == "table" and mt.__name == "gong.error"
end

-- An error object's fields as a plain table.
local function fields(err)
  local t = {}
  for k, v in pairs(err) do t[k] = v end
  return t
end

local function first_line(message)
  return (tostring(message):match("^[^\n]*"))
end

--- Runs `fn(...)` and returns its outcome in the wire's vocabulary.
---@param fn function
---@return string status "ok", "fail" or "raise"
---@return any value_or_fields
---@return any extra
---@return integer[]|nil marks
function _M.run(fn, ...)
  local ok, value, extra = pcall(fn, ...)
  if not ok then
    if is_error(value) then return "raise", fields(value) end
    return "raise", type(value) == "string" and value or "raised a " .. type(value)
  end
  if value == nil then
    return "fail", is_error(extra) and fields(extra) or { kind = "config", message = tostring(extra) }
  end
  local marks
  if type(value) == "table" then
    for i = 1, #value do
      if is_error(value[i]) then
        marks = marks or {}
        marks[#marks + 1] = i
        value[i] = fields(value[i])
      end
    end
  end
  return "ok", value, extra, marks
end

--- The outcome for a call that could not be made at all (its host could not
--- load gong, say): raised, as an error of kind "config" with `message`.
---@param message string
---@return string status
---@return table fields
function _M.failure(message)
  return "raise", { kind = "config", message = first_line(message) }
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
  local ok, core = pcall(require, "gong.core")
  if ok then
    return core.error(t.kind or "config", t.message or "unknown error", t)
  end
  local e = {}
  for k, v in pairs(t) do e[k] = v end
  e.kind, e.message, e.errors = e.kind or "config", e.message or "unknown error", e.errors or {}
  return setmetatable(e, plain_mt)
end

--- An error object of `kind` with `message`: gong.core's, or its plain stand-in
--- when the core cannot be loaded.
---@param kind string
---@param message string
---@return gong.Error
function _M.error(kind, message)
  return rebuild({ kind = kind, message = message })
end

--- Turns an outcome back into what the call gave: `true, value, extra` for a
--- result (errors at `marks` rebuilt), `true, nil, err` for a returned error,
--- `false, err` for a raised one (a gong error, or the message raised).
---@param status string
---@param a any
---@param b any
---@param marks integer[]|nil
---@return boolean returned
---@return any value_or_err
---@return any extra_or_err
function _M.unpack(status, a, b, marks)
  if status == "ok" then
    for i = 1, marks and #marks or 0 do
      a[marks[i]] = rebuild(a[marks[i]])
    end
    return true, a, b
  elseif status == "fail" then
    return true, nil, rebuild(type(a) == "table" and a or { message = tostring(a) })
  elseif status == "raise" then
    return false, type(a) == "table" and rebuild(a) or a
  end
  return false, rebuild({ kind = "config", message = "no outcome came back (status " .. tostring(status) .. ")" })
end

return _M
