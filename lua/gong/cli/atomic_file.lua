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
--- target is replaced, the link stays; a link to a file that does not exist
--- yet creates it, as the shell's `>` would. Only regular files are
--- replaced, so `-o /dev/null` cannot swap a device for a file.
---
--- Links are followed here, not by the kernel, so the kernel's rule for them
--- (fs.protected_symlinks) is applied here too, to every link on the way: a
--- link in a sticky directory anyone may write to (/tmp) is followed only
--- when it is the user's or the directory owner's, whatever the sysctl says.
--- And a link never leads an export onto another user's file, root's
--- exports included: such a file is replaced only when -o names it.

local core = require "gong.core"

local setmetatable, floor, concat, remove = setmetatable, math.floor, table.concat, table.remove

local sys = core.sys

local _M = {}

---@class gong.cli.AtomicFile
---@field path string the file it becomes (a symlink's target)
---@field tmp string the temporary file written until then
---@field replaces integer the size in bytes of the file it replaces, 0 for none
local AtomicFile = {}
local atomic_mt = { __index = AtomicFile }

-- The most links one path may lead through, as the kernel's MAXSYMLINKS.
local MAX_LINKS = 40

-- Whether a directory of `mode` is sticky (01000) and anyone may write to it
-- (0002): a place where one user can put a link in another's way.
local function shared_sticky(mode)
  return floor(mode / 512) % 2 == 1 and floor(mode / 2) % 2 == 1
end

-- Pushes the components of `path` on `stack`, the first one last.
local function push_components(stack, path)
  local parts = {}
  for part in path:gmatch("[^/]+") do parts[#parts + 1] = part end
  for i = #parts, 1, -1 do stack[#stack + 1] = parts[i] end
end

-- The file `path` names: `path` itself when no component is a symlink, else
-- the absolute path its links lead to and true. Each link is judged where it
-- lies: nil and why (a sentence about `path`) for one in a shared sticky
-- directory that neither the user nor the directory's owner made, or for
-- links without end.
local function resolve(path)
  local todo, links, done = {}, 0, ""
  push_components(todo, path)
  -- A relative path's links are relative to where the export runs.
  if path:sub(1, 1) ~= "/" then done = (sys.realpath(".") or "."):gsub("/$", "") end
  while #todo > 0 do
    local name = remove(todo)
    if name == ".." then
      done = done:match("^(.*)/[^/]*$") or ""
    elseif name ~= "." then
      local here = done .. "/" .. name
      local st = sys.stat(here, false)
      if st and st.type == "link" then
        local dir = sys.stat(done == "" and "/" or done)
        if not st.mine and dir and shared_sticky(dir.mode) and st.uid ~= dir.uid then
          local what = (links == 0 and #todo == 0) and "it is" or ("it leads through " .. here .. ",")
          return nil, concat({ what, " a symbolic link of another user (uid ", st.uid, ") in ",
            done == "" and "/" or done, ", a sticky directory anyone may write to, which the kernel's ",
            "protected_symlinks would not follow either; remove the link, or name the file to write directly" })
        end
        links = links + 1
        if links > MAX_LINKS then
          return nil, "its symbolic links lead round in a loop (or through more than " .. MAX_LINKS .. " links)"
        elseif not st.target then
          return nil, "the symbolic link " .. here .. " cannot be read"
        end
        if st.target:sub(1, 1) == "/" then done = "" end
        push_components(todo, st.target)
      else
        done = here
      end
    end
  end
  if links == 0 then return path, false end
  return done == "" and "/" or done, true
end

--- Creates the temporary file for `path`: an atomic file, or nil and a message.
---@param path string
---@return gong.cli.AtomicFile|nil file
---@return string|nil message
function _M.open(path)
  local target, linked = resolve(path)
  if not target then
    return nil, "cannot write " .. path .. ": " .. linked
  end
  local old, own = sys.stat(target), sys.stat(path, false)
  local is_link = own and own.type == "link"
  if old and old.type == "directory" then
    return nil, "cannot write " .. path .. ": it is a directory; -o names the file to write"
  elseif old and old.type ~= "file" then
    return nil, "cannot write " .. path .. ": it is a " .. old.type .. ", not a regular file (- is stdout)"
  elseif linked and old and not old.mine then
    return nil, concat({ "cannot write ", path, is_link and ": it is a symbolic link to " or ": its links lead to ",
      target, ", a file of another user (uid ", old.uid, "), which an export replaces only when it is named ",
      "directly; name ", target, " with -o, or remove the link" })
  end
  local file, err = sys.replace_file(target, old and { mode = old.mode, uid = old.uid, gid = old.gid } or nil)
  if not file then
    return nil, "cannot write " .. path .. (linked and " (its links lead to " .. target .. ")" or "") .. ": "
      .. err.detail
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

--- Appends `text` to the temporary file; a failure is commit's to report.
---@param text string
function AtomicFile:write(text)
  self.file:write(text)
end

--- Writes `text` (when given), then puts the file in the path's place:
--- true, or nil and a message (and the temporary file is gone).
---@param text? string
---@return true|nil ok
---@return string|nil message
function AtomicFile:commit(text)
  if text then self.file:write(text) end
  local ok, err = self.file:commit()
  self.finished = true
  sys.unguard_file(self.tmp)
  if not ok then
    return nil, "cannot write " .. self.path .. ": " .. err.detail
  end
  return true
end

return _M
