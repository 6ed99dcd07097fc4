--- gong.cli.atomic_file: an output file that appears whole or not at all.
---
--- FILE is written as FILE.tmp-XXXXXXXXXXXX beside it (the same directory, so
--- the rename is atomic) and renamed once complete. The temporary file is
--- created before anything is fetched, so an unwritable place (a missing or
--- read-only directory, a FILE that is a directory) fails at once rather than
--- after minutes of requests, and it is gone however the run ends: discard()
--- on failure or interrupt, and gong.core's signal handling (core.sys.guard_file)
--- when a second Ctrl-C, SIGTERM or SIGHUP ends the process before Lua can
--- clean up.
---
--- Replacing keeps what the old file was: its mode, and its owner and group
--- where the user may set them (root may). A symlink is written through: its
--- target is replaced, the link stays. Only regular files are replaced, so
--- `-o /dev/null` cannot swap a device for a file.

local core = require "gong.core"

local byte, format, io, os, pcall, random, tostring =
      string.byte, string.format, io, os, pcall, math.random, tostring

local _M = {}

-- 48 random bits for the temporary name, so two exports to the same FILE do
-- not share one. Lua 5.1 seeds math.random the same every run, hence urandom.
local function random_suffix()
  local f = io.open("/dev/urandom", "rb")
  local bytes = f and f:read(6)
  if f then
    f:close()
  end
  if bytes and #bytes == 6 then
    return (bytes:gsub(".", function(c)
      return format("%02x", byte(c))
    end))
  end
  return format("%08x%04x", os.time() % 0x100000000, random(0, 0xffff))
end

---@class gong.cli.AtomicFile
---@field path string the file it becomes (a symlink's target)
---@field tmp string the temporary file written until then
local AtomicFile = {}
local atomic_mt = { __index = AtomicFile }

--- Creates the temporary file for `path`: an atomic file, or nil and a message.
---@param path string
---@return gong.cli.AtomicFile|nil file
---@return string|nil message
function _M.open(path)
  local target, old = path, core.sys.stat(path, false)
  if old and old.type == "link" then
    local real = core.sys.realpath(path)
    if not real then
      return nil, "cannot write " .. path .. ": it is a symbolic link to nothing (a missing file or a loop)"
    end
    target, old = real, core.sys.stat(real)
  end
  if old and old.type == "directory" then
    return nil, "cannot write " .. path .. ": it is a directory; -o names the file to write"
  elseif old and old.type ~= "file" then
    return nil, "cannot write " .. path .. ": it is a " .. old.type .. ", not a regular file (- is stdout)"
  end
  local tmp = target .. ".tmp-" .. random_suffix()
  core.sys.guard_file(tmp)
  local f, err = io.open(tmp, "wb")
  if not f then
    core.sys.unguard_file(tmp)
    return nil, "cannot write " .. path .. ": " .. tostring(err):gsub("^.-: ", "")
  end
  if old then
    -- The group first: chown may clear set-id bits, which chmod then restores.
    core.sys.chown(tmp, old.uid, old.gid)
    core.sys.chmod(tmp, old.mode)
  end
  return setmetatable({ path = target, tmp = tmp, file = f, finished = false }, atomic_mt)
end

--- Removes the temporary file, unless committed; idempotent.
function AtomicFile:discard()
  if not self.finished then
    self.finished = true
    pcall(self.file.close, self.file) -- already closed when a commit failed late
    os.remove(self.tmp)
    core.sys.unguard_file(self.tmp)
  end
end

--- Writes `text`, then renames the temporary file to the path: true, or nil
--- and a message (and the temporary file is gone).
---@param text string
---@return true|nil ok
---@return string|nil message
function AtomicFile:commit(text)
  local f = self.file
  local ok, werr = f:write(text)
  if ok then
    ok, werr = f:flush()
  end
  local closed, cerr = f:close()
  if ok and closed then
    ok, werr = os.rename(self.tmp, self.path)
  end
  if not (ok and closed) then
    self:discard()
    return nil, "cannot write " .. self.path .. ": " .. tostring(werr or cerr)
  end
  self.finished = true
  core.sys.unguard_file(self.tmp)
  return true
end

return _M
