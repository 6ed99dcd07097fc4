-- Helpers for specs that judge gong's errors.

local assert = require "luassert"
local core = require "gong.core"

local M = {}

--- What `fn(...)` raises, checked to be gong's error object of kind
--- "argument" with exactly `message`.
function M.raises_argument(message, fn, ...)
  local ok, err = pcall(fn, ...)
  assert.is_false(ok)
  assert.is_true(core.is_error(err), "expected a gong error, got " .. tostring(err))
  assert.are.equal("argument", err.kind)
  assert.are.equal(message, err.message)
  assert.are.equal("gong: " .. message, tostring(err))
  return err
end

return M
