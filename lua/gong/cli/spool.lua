--- gong.cli.spool: where an export keeps its calls' details and transcripts
--- from when they come (after every folder's calls) until the document
--- reaches each call, so that memory holds none of them meanwhile.
---
--- A spool is a file of JSON texts, found by call id and field through the
--- offsets kept here. It is made as the output's temporary file is (the
--- core's core.sys.replace_file: a random name beside `near`, created
--- exclusively, never through a symlink, open to the user alone), is never
--- put in anyone's place, and is gone however the run ends: close() (the
--- run's cleanups call it), and gong.core's signal handling
--- (core.sys.guard_file) when a signal ends the process first.

local core = require "gong.core"

local io, pairs, setmetatable, type = io, pairs, setmetatable, type

local sys = core.sys

local _M = {}

--- How many bytes of texts a spool takes between two collections
--- (release()): under half a Calls API page of transcripts, so that no
--- page's garbage is still there when the next page is decoded (with 8 MB,
--- two pages' sometimes were: 55-79 MB peaks instead of 62-66 MB).
_M.COLLECT_BYTES = 2 * 1000 * 1000

---@class gong.cli.Spool
---@field tmp string the file's name
---@field failed? string why a text could not be read back (what was written is then incomplete)
local Spool = {}
local spool_mt = { __index = Spool }

--- Creates a spool beside `near` (named `near`.tmp-XXXXXXXXXXXX): a spool, or nil and a message.
---@param near string
---@return gong.cli.Spool|nil spool
---@return string|nil message
function _M.open(near)
  local file, err = sys.replace_file(near, { mode = 384 }) -- 0600: call data is the user's alone
  if not file then return nil, "cannot write a spool beside " .. near .. ": " .. err.detail end
  local tmp = file.tmp
  sys.guard_file(tmp)
  -- Read back through its own handle; the writes are the replacement's unbuffered ones.
  local reader, why = io.open(tmp, "rb")
  if not reader then
    file:discard()
    sys.unguard_file(tmp)
    return nil, "cannot read the spool " .. tmp .. ": " .. why
  end
  return setmetatable({ tmp = tmp, file = file, reader = reader, size = 0, collected = 0, at = {}, length = {},
                        closed = false },
                      spool_mt)
end

--- Keeps `text` as the `field` of the call `id`.
---@param id string
---@param field string
---@param text string
function Spool:put(id, field, text)
  self.file:write(text)
  local key = field .. "\0" .. id
  self.at[key], self.length[key] = self.size, #text
  self.size = self.size + #text
  if self.size - self.collected >= _M.COLLECT_BYTES then self:release() end
end

--- Gives back the memory of what was spooled so far: a full collection (the
--- pages those texts came from are garbage by now) and the C library's free
--- memory returned to the system. Without it the peak depends on how many
--- pages the collector happens to let pile up, and grows with the library.
function Spool:release()
  self.collected = self.size
  collectgarbage()
  sys.release_memory()
end

--- Forgets every `field` kept (a phase that failed: none of it is written).
---@param field string
function Spool:drop(field)
  local prefix = field .. "\0"
  for key in pairs(self.at) do
    if key:sub(1, #prefix) == prefix then self.at[key], self.length[key] = nil, nil end
  end
end

--- The text kept as the `field` of the call `id`, or nil when none is; nil
--- too when it cannot be read back whole, and `failed` says why.
---@param id any
---@param field string
---@return string|nil
function Spool:get(id, field)
  local key = type(id) == "string" and field .. "\0" .. id
  local at = key and self.at[key]
  if at == nil then return nil end
  local length, text = self.length[key], nil
  if self.reader:seek("set", at) then text = self.reader:read(length) end
  if text == nil or #text ~= length then
    self.failed = self.failed or "cannot read back " .. self.tmp .. " (a full disk?)"
    return nil
  end
  return text
end

--- Removes the file; idempotent.
function Spool:close()
  if not self.closed then
    self.closed = true
    self.reader:close()
    self.file:discard()
    sys.unguard_file(self.tmp)
  end
end

return _M
