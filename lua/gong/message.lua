--- gong.message: what gong says, made safe to say: a message cut to its
--- first line, and secrets redacted from any text that may echo one (a
--- server's answer, a library's message). Pure Lua, loadable without the C
--- core, so that even a host that cannot load it can say why.

local char, concat, floor, tonumber, tostring, type = string.char, table.concat, math.floor, tonumber, tostring, type

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

return _M
