--- gong.message: what gong says, made safe to say: a message cut to its
--- first line, and secrets redacted from any text that may echo one (a
--- server's answer, a library's message); and why a module did not load,
--- with the whole of require's reason. Pure Lua, loadable without the C
--- core, so that even a host that cannot load it can say why.

local byte, char, concat, find, floor, gsub, sub = string.byte, string.char, table.concat, string.find, math.floor,
      string.gsub, string.sub
local package, pairs, pcall, require, tonumber, tostring, type = package, pairs, pcall, require, tonumber, tostring,
      type
-- Lua 5.3+: utf8.len rejects overlong forms and code points past U+10FFFF
-- (5.4 surrogates too), in C; before 5.3 there is none.
local utf8_len = utf8 and utf8.len -- luacheck: ignore 143
-- Whether it rejects surrogates as well (5.4), which 5.3's accepts.
local strict_len = utf8_len and utf8_len("\237\160\128") == nil

local _M = {}

--- What replaces a secret.
_M.REDACTED = "[redacted]"

--- The shortest secret redacted: shorter values would blank out ordinary
--- words, and no key, secret or token is that short.
_M.MIN_SECRET = 6

--- The first line of `message` (anything tostring takes).
---@param message any
---@return string
function _M.first_line(message)
  return (tostring(message):match("^[^\n]*"))
end

--- All of `message` on one line: each line's indentation dropped, a line
--- that ends in ":" followed by the next with a space, other lines by "; ".
--- For Lua's own messages, whose cause is on the lines after the first
--- (`error loading module 'm' from file 'f':` then the dynamic linker's
--- reason; `module 'm' not found:` then every file tried).
---@param message any
---@return string
function _M.one_line(message)
  local out = {}
  for line in (tostring(message) .. "\n"):gmatch("([^\n]*)\n") do
    line = line:match("^%s*(.-)%s*$")
    if line ~= "" then
      local n = #out
      out[n + 1] = (n == 0 and "" or out[n]:sub(-1) == ":" and " " or "; ") .. line
    end
  end
  return concat(out)
end

--- Why `require` failed, from the message it raised (`err`): the whole of
--- it on one line (`text`, see one_line), the module at fault (`module`: the
--- one not found or whose file did not load, which may be one the required
--- module needs, cjson.safe for gong.core) and `problem`: "missing" (no file
--- on the search path), "other_lua" (a C module whose file needs a function
--- of the Lua C API this Lua lacks: it was built for another Lua), "load" (a
--- file that did not load for another reason, such as a library it needs) or
--- "error" (the module raised as it ran; `module` is nil then).
---@param err any
---@return { text: string, module: string|nil, problem: string }
function _M.load_failure(err)
  local text = _M.one_line(err)
  -- A require in a Lua file that a module required raises with its place first ("gong/loop.lua:24: ").
  local cause = text:match("^[^ ']-:%d+: (.*)$") or text
  local name = cause:match("^module '([^']+)' not found")
  if name then
    -- Every file tried, as one list: "no file 'a', 'b'" rather than "no file 'a'; no file 'b'".
    return { text = text:gsub("'; no file '", "', '"), module = name, problem = "missing" }
  end
  name = cause:match("^error loading module '([^']+)' from file ")
  if name then
    local lua_api = cause:find("undefined symbol: luaL?_%w")
    return { text = text, module = name, problem = lua_api and "other_lua" or "load" }
  end
  return { text = text, problem = "error" }
end

-- Whether package.loaded's `key` is `family` or one of its modules.
local function of(family, key)
  return key == family or sub(key, 1, #family + 1) == family .. "."
end

--- Requires `name`: the module, or nil and load_failure's account of why.
--- After a failure it clears what Lua 5.1 and LuaJIT leave in
--- package.loaded for `name` and for the modules of gong and cjson it was
--- loading (a sentinel, which makes the next require say only "loop or
--- previous error loading module"), so that the next require tries again
--- and a fixed package.cpath fixes it.
---@param name string
---@return any module
---@return { text: string, module: string|nil, problem: string }|nil failure
function _M.require(name)
  local ok, module = pcall(require, name)
  if ok then return module end
  for key, value in pairs(package.loaded) do
    if type(key) == "string" and (of(name, key) or of("gong", key) or of("cjson", key))
       and type(value) ~= "table" then
      package.loaded[key] = nil
    end
  end
  return nil, _M.load_failure(module)
end

-- `text` with every secret of `secrets` replaced as it stands.
local function scrub(text, secrets)
  for i = 1, #secrets do
    local secret = secrets[i]
    if type(secret) == "string" and #secret >= _M.MIN_SECRET then
      local at = text:find(secret, 1, true)
      while at do
        text = text:sub(1, at - 1) .. _M.REDACTED .. text:sub(at + #secret)
        at = text:find(secret, at + #_M.REDACTED, true)
      end
    end
  end
  return text
end

local BASE64 = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/"

--- The HTTP Basic credentials of `id` and `secret`, base64 of `id:secret`:
--- what an echoed Authorization header shows, to redact as a secret.
---@param id string
---@param secret string
---@return string
function _M.basic(id, secret)
  local s = tostring(id) .. ":" .. tostring(secret)
  local out = {}
  for i = 1, #s, 3 do
    local a, b, c = s:byte(i, i + 2)
    local n = a * 65536 + (b or 0) * 256 + (c or 0)
    local d1, d2, d3, d4 = floor(n / 262144) % 64, floor(n / 4096) % 64, floor(n / 64) % 64, n % 64
    out[#out + 1] = BASE64:sub(d1 + 1, d1 + 1) .. BASE64:sub(d2 + 1, d2 + 1)
      .. (b and BASE64:sub(d3 + 1, d3 + 1) or "=") .. (c and BASE64:sub(d4 + 1, d4 + 1) or "=")
  end
  return concat(out)
end

--- `text` with every value of `secrets` (strings of MIN_SECRET bytes or
--- more; others are skipped) replaced by REDACTED: as it
--- stands, and percent-encoded in any way (a server that echoes a request's
--- query echoes its grant so); when an encoded one is found, the text is
--- given decoded. Add `basic(id, secret)` to `secrets` for an echoed
--- Authorization header.
---@param text any
---@param secrets table a list of secrets
---@return string
function _M.redact(text, secrets)
  text = scrub(tostring(text or ""), secrets)
  if text:find("%%%x%x") then
    local decoded = text:gsub("%%(%x%x)", function(h) return char(tonumber(h, 16)) end)
    local scrubbed = scrub(decoded, secrets)
    if scrubbed ~= decoded then text = scrubbed end
  end
  return text
end

--- What replaces each piece of text that is not UTF-8.
_M.REPLACEMENT = "\239\191\189" -- U+FFFD

-- The length of the UTF-8 character at byte `i` of `s`, read strictly (no
-- overlong form, surrogate or code point past U+10FFFF); or nil and the
-- length of the maximal invalid subpart there (which Unicode replaces by one
-- U+FFFD, as Python's errors="replace" does).
local function char_at(s, i)
  local c = byte(s, i)
  local size
  local lo, hi = 0x80, 0xBF
  if c < 0x80 then return 1
  elseif c >= 0xC2 and c <= 0xDF then size = 2
  elseif c >= 0xE0 and c <= 0xEF then
    size = 3
    if c == 0xE0 then lo = 0xA0 elseif c == 0xED then hi = 0x9F end
  elseif c >= 0xF0 and c <= 0xF4 then
    size = 4
    if c == 0xF0 then lo = 0x90 elseif c == 0xF4 then hi = 0x8F end
  else
    return nil, 1
  end
  for k = 1, size - 1 do
    local cc = byte(s, i + k)
    if not cc or cc < lo or cc > hi then return nil, k end
    lo, hi = 0x80, 0xBF
  end
  return size
end

--- `s` as valid UTF-8: each maximal piece that is not (a byte that never
--- leads, a truncated sequence, an overlong form, a surrogate, a code point
--- past U+10FFFF) replaced by REPLACEMENT. Valid text is returned as it is,
--- after one pass in C (utf8.len, 5.3 on; else a search for a byte >= 0x80).
---@param s string
---@return string
function _M.utf8(s)
  if utf8_len then
    if utf8_len(s) and (strict_len or not find(s, "\237", 1, true) or not find(s, "\237[\160-\191]")) then
      return s
    end
  elseif not find(s, "[\128-\255]") then
    return s
  end
  local out, n, from, i = {}, 0, 1, 1
  while true do
    local at = find(s, "[\128-\255]", i)
    if not at then break end
    local size, bad = char_at(s, at)
    if size then
      i = at + size
    else
      out[n + 1], out[n + 2], n = sub(s, from, at - 1), _M.REPLACEMENT, n + 2
      i = at + bad
      from = i
    end
  end
  if from == 1 then return s end
  out[n + 1] = sub(s, from)
  return concat(out)
end

--- `text` as one line safe to print on a terminal: valid UTF-8 (see utf8),
--- C0 and C1 controls and DEL as spaces, bidi overrides and isolates
--- (U+202A-U+202E, U+2066-U+2069), which reorder what follows, left out. So a
--- server's text can neither break a line nor send a terminal a sequence.
---@param text string
---@return string
function _M.printable(text)
  local s = _M.utf8(text)
  if not find(s, "[%c\194\226]") then return s end
  s = gsub(s, "%c", " ")
  s = gsub(s, "\194[\128-\159]", " ")
  s = gsub(s, "\226\128[\170-\174]", "")
  s = gsub(s, "\226\129[\166-\169]", "")
  return s
end

return _M
