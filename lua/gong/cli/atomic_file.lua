--- gong.cli.atomic_file: an output file that appears whole or not at all.
---
--- FILE is written as FILE.tmp-XXXXXXXXXXXX beside it (the same directory, so
--- the rename is atomic), flushed to disk and renamed once complete, by the
--- core's one writer of such files (core.sys.replace_file: a random name,
--- created exclusively, never through a symlink, with its final mode from the
--- start). The temporary file is created before anything is fetched, so an
--- unwritable place (a missing or read-only directory, a FILE that is a
--- directory) fails at once rather than after minutes of requests, and it is
--- gone however the run ends: discard() on failure or interrupt, and
--- gong.core's signal handling (core.sys.guard_file) when a second Ctrl-C,
--- SIGTERM or SIGHUP ends the process before Lua can clean up.
---
--- Replacing keeps what the old file was: its mode, and its owner and group
--- where the user may set them (root may). A symlink is written through: its
--- target is replaced, the link stays. Only regular files are replaced, so
--- `-o /dev/null` cannot swap a device for a file.

local core = require "gong.core"

local setmetatable = setmetatable

local sys = core.sys

local _M = {}

---@class gong.cli.AtomicFile
---@field path string the file it becomes (a symlink's target)
---@field tmp string the temporary file written until then
---@field replaces integer the size in bytes of the file it replaces, 0 for none
local AtomicFile = {}
local atomic_mt = { __index = AtomicFile }

--- Creates the temporary file for `path`: an atomic file, or nil and a message.
---@param path string
---@return gong.cli.AtomicFile|nil file
---@return string|nil message
function _M.open(path)
  local target, old = path, sys.stat(path, false)
  if old and old.type == "link" then
    local real = sys.realpath(path)
    if not real then
      return nil, "cannot write " .. path .. ": it is a symbolic link to nothing (a missing file or a loop)"
    end
    target, old = real, sys.stat(real)
  end
  if old and old.type == "directory" then
    return nil, "cannot write " .. path .. ": it is a directory; -o names the file to write"
  elseif old and old.type ~= "file" then
    return nil, "cannot write " .. path .. ": it is a " .. old.type .. ", not a regular file (- is stdout)"
  end
  local file, err = sys.replace_file(target, old and { mode = old.mode, uid = old.uid, gid = old.gid } or nil)
  if not file then
    return nil, "cannot write " .. path .. ": " .. err.detail
  end
  local tmp = file.tmp
  sys.guard_file(tmp)
  return setmetatable({ path = target, tmp = tmp, file = file, finished = false, replaces = old and old.size or 0 },
                      atomic_mt)
end

--- Removes the temporary file, unless committed; idempotent.
function AtomicFile:discard()
  if not self.finished then
    self.finished = true
    self.file:discard()
    sys.unguard_file(self.tmp)
  end
end

--- Writes `text`, then puts the file in the path's place: true, or nil and
--- a message (and the temporary file is gone).
---@param text string
---@return true|nil ok
---@return string|nil message
function AtomicFile:commit(text)
  self.file:write(text)
  local ok, err = self.file:commit()
  self.finished = true
  sys.unguard_file(self.tmp)
  if not ok then
    return nil, "cannot write " .. self.path .. ": " .. err.detail
  end
  return true
end

return _M
