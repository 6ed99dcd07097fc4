--- gong.message: what gong says, made safe to say: a message cut to its
--- first line, and secrets redacted from any text that may echo one (a
--- server's answer, a library's message). Pure Lua, loadable without the C
--- core, so that even a host that cannot load it can say why.

local tostring, type = tostring, type

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

--- `text` with every value of `secrets` (strings of MIN_SECRET bytes or
--- more; others are skipped) replaced by REDACTED.
---@param text any
---@param secrets table a list of secrets
---@return string
function _M.redact(text, secrets)
  text = tostring(text or "")
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

return _M
