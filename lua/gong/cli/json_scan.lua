--- gong.cli.json_scan: a JSON document read from a file a piece at a time,
--- for documents too large to decode whole (an export of a library with its
--- transcripts). It walks the structure and hands out the text of the
--- values asked for, which the caller decodes one by one with lua-cjson; it
--- holds the chunk being read and the value being captured, never the whole.
---
--- It checks only the structure it walks (brackets, strings, commas and
--- colons); a captured value's text is checked by its decoder.

local setmetatable, tostring = setmetatable, tostring
local byte, find = string.byte, string.find

local _M = {}

--- Bytes read from the file at a time.
_M.CHUNK = 1024 * 1024

local QUOTE = byte('"')
local OPENS = { [byte("{")] = true, [byte("[")] = true }

---@class gong.cli.JsonScan
---@field private f file*
---@field private buf string what was read and not yet passed (from `keep` on, when a value is captured)
---@field private pos integer the next byte of buf
---@field private keep? integer where the value being captured starts in buf
local Scan = {}
local scan_mt = { __index = Scan }

--- A scanner of the file `f`, from where it stands.
---@param f file*
---@return gong.cli.JsonScan
function _M.new(f)
  return setmetatable({ f = f, buf = "", pos = 1 }, scan_mt)
end

-- Reads another chunk onto buf, dropping what is passed and not captured.
-- Returns how far positions in buf moved back (0 or more), or nil at the end.
function Scan:more()
  local chunk = self.f:read(_M.CHUNK)
  if not chunk then return nil end
  local from = self.keep or self.pos
  self.buf = self.buf:sub(from) .. chunk
  self.pos = self.pos - from + 1
  if self.keep then self.keep = 1 end
  return from - 1
end

--- The next byte that is not white space (as a one-character string), not
--- passed; nil at the end of the file.
---@return string|nil
function Scan:peek()
  while true do
    local at = find(self.buf, "[^ \t\r\n]", self.pos)
    if at then
      self.pos = at
      return self.buf:sub(at, at)
    end
    self.pos = #self.buf + 1
    if not self:more() then return nil end
  end
end

--- Passes the character `c` (after white space): true, or false when the
--- next one is another.
---@param c string
---@return boolean
function Scan:take(c)
  if self:peek() ~= c then return false end
  self.pos = self.pos + 1
  return true
end

-- Passes the string that starts at pos: true, or false when the file ends in it.
function Scan:skip_string()
  local at = self.pos + 1
  while true do
    local e = find(self.buf, '["\\]', at)
    if e and byte(self.buf, e) == QUOTE then
      self.pos = e + 1
      return true
    elseif e and e < #self.buf then
      at = e + 2 -- an escape: the byte after the backslash is part of it
    else
      -- Out of bytes: scan again from the end, or from a backslash that came last.
      local resume = e or #self.buf + 1
      local back = self:more()
      if not back then return false end
      at = resume - back
    end
  end
end

-- Passes the value that starts at pos (after white space): true, or false
-- when it is not well formed as far as brackets, strings and the end go.
function Scan:skip_value()
  local c = byte(self.buf, self.pos)
  if c == QUOTE then return self:skip_string() end
  if not OPENS[c] then
    -- A number, true, false or null: up to the next delimiter.
    while true do
      local e = find(self.buf, "[,%]}%s]", self.pos)
      if e then
        self.pos = e
        return true
      end
      self.pos = #self.buf + 1
      if not self:more() then return true end
    end
  end
  local depth = 0
  while true do
    local e = find(self.buf, '[%[%]{}"]', self.pos)
    if not e then
      self.pos = #self.buf + 1
      if not self:more() then return false end
    else
      local b = byte(self.buf, e)
      self.pos = e
      if b == QUOTE then
        if not self:skip_string() then return false end
      else
        self.pos = e + 1
        depth = depth + (OPENS[b] and 1 or -1)
        if depth == 0 then return true end
      end
    end
  end
end

--- The text of the next value (after white space), passed; nil at the end
--- of the file or when it is cut short.
---@return string|nil
function Scan:capture()
  if not self:peek() then return nil end
  self.keep = self.pos
  local ok = self:skip_value()
  local text = ok and self.buf:sub(self.keep, self.pos - 1) or nil
  self.keep = nil
  return text
end

--- Passes the next value (after white space): true, or false when it is cut short.
---@return boolean
function Scan:skip()
  return self:peek() ~= nil and self:skip_value()
end

--- Whether the rest of the file is white space.
---@return boolean
function Scan:at_end()
  return self:peek() == nil
end

function scan_mt.__tostring(self)
  return "gong.cli.JsonScan (" .. tostring(#self.buf) .. " bytes held)"
end

return _M
