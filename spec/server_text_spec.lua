-- What a server says, as gong passes it on to people: the text of errors
-- (their message, request id, Gong's messages, a redirect's Location) and the
-- CLI's tables and stderr carry no terminal control characters and are
-- bounded; every JSON gong writes is valid UTF-8; the CLI starts no process
-- of its own; a response header too large for libcurl is named as such.

local core = require "gong.core"
local cjson = require("cjson").new()
local fake = require "spec.support.fake"
local process = require "spec.support.process"

local creds = fake.credentials
local byte, find, rep = string.byte, string.find, string.rep

-- Text a hostile server sends to a terminal: clear the screen, set the
-- window's title, start a forged log line; then C1's CSI (U+009B), NEL
-- (U+0085) and a right-to-left override (U+202E), which a terminal honours too.
local HOSTILE = "abc\27[2J\27]0;pwned\7\nFAKE LOG LINE \194\155 31m\194\133 \226\128\174 \226\129\166 end"

-- True when `s` is valid UTF-8: no stray continuation, truncated sequence,
-- overlong form, surrogate or code point past U+10FFFF.
local function valid_utf8(s)
  local i, n = 1, #s
  while i <= n do
    local c = byte(s, i)
    local size
    local lo, hi = 0x80, 0xBF
    if c < 0x80 then size = 1
    elseif c >= 0xC2 and c <= 0xDF then size = 2
    elseif c == 0xE0 then size, lo = 3, 0xA0
    elseif c == 0xED then size, hi = 3, 0x9F
    elseif c >= 0xE1 and c <= 0xEF then size = 3
    elseif c == 0xF0 then size, lo = 4, 0x90
    elseif c == 0xF4 then size, hi = 4, 0x8F
    elseif c >= 0xF1 and c <= 0xF3 then size = 4
    else return false end
    for k = 1, size - 1 do
      local cc = byte(s, i + k)
      if not cc or cc < (k == 1 and lo or 0x80) or cc > (k == 1 and hi or 0xBF) then return false end
    end
    i = i + size
  end
  return true
end

-- Asserts that `s` is text safe to print: valid UTF-8 without C0 controls
-- (none at all: not even a line break), DEL, C1 controls or bidi overrides
-- and isolates, and at most `max` bytes long.
local function assert_clean(s, max)
  assert.is_string(s)
  assert.is_true(valid_utf8(s), ("not valid UTF-8: %q"):format(s))
  assert.is_nil(find(s, "[%z\1-\31\127]"), ("a control character in %q"):format(s))
  assert.is_nil(find(s, "\194[\128-\159]"), ("a C1 control in %q"):format(s))
  assert.is_nil(find(s, "\226\128[\170-\174]"), ("a bidi override in %q"):format(s))
  assert.is_nil(find(s, "\226\129[\166-\169]"), ("a bidi isolate in %q"):format(s))
  assert.is_true(#s <= max, ("%d bytes, more than %d: %q"):format(#s, max, s))
end

describe("server text", function()
  local srv

  setup(function() srv = fake.start() end)
  teardown(function() srv:stop() end)
  before_each(function() srv:reset() end)

  local function new(opts)
    local o = { base_url = srv.url, token = creds.token, rate = false, max_retries = 0 }
    for k, v in pairs(opts or {}) do o[k] = v end
    return core.new(o)
  end

  local function error_body(request_id, errors)
    return cjson.encode({ requestId = request_id, errors = errors })
  end

  -- Runs bin/gong-library with `args`, Basic credentials and the fake's URL.
  local function run(args, env)
    local argv = { process.lua, "bin/gong-library" }
    for _, a in ipairs(args) do argv[#argv + 1] = a end
    local full = { GONG_BASE_URL = srv.url, GONG_ACCESS_KEY = creds.key,
                   GONG_ACCESS_KEY_SECRET = creds.secret, GONG_RATE_SCOPE = "client" }
    for k, v in pairs(env or {}) do full[k] = v end
    return process.run(argv, full)
  end

  describe("in errors", function()
    for _, status in ipairs({ 401, 500 }) do
      it(("has no control characters in tostring(err), request_id and errors after a %d"):format(status), function()
        srv:faults({ { status = status, body = error_body(HOSTILE, { HOSTILE, { message = HOSTILE } }) } })
        local folders, err = new():folders()
        assert.is_nil(folders)
        assert.are.equal(status, err.status)
        assert_clean(err.request_id, 64)
        assert.are.equal(2, #err.errors)
        assert_clean(err.errors[1], 300)
        assert_clean(err.errors[2], 300)
        assert_clean(err.message, 400)
        assert_clean(tostring(err), 600)
        -- What is printable stays, in place, so the text can still be read.
        assert.matches("^abc %[2J %]0;pwned  FAKE LOG LINE   31m.* end$", err.request_id)
        assert.are.equal(err.request_id, err.errors[1])
      end)
    end

    it("cuts a long request id to 64 bytes and a long message of Gong's to 300, ending in …", function()
      srv:faults({ { status = 401, body = error_body(rep("x", 10000), { rep("é", 10000) }) } })
      local _, err = new():folders()
      assert.are.equal(rep("x", 61) .. "…", err.request_id)
      -- Cut between characters, never inside one.
      assert.are.equal(rep("é", 148) .. "…", err.errors[1])
      assert_clean(tostring(err), 600)
      assert.matches("…", err.message)
    end)

    it("replaces bytes that are not UTF-8 in the request id by U+FFFD", function()
      srv:faults({ { status = 401, body = '{"requestId":"r\255\192\175d","errors":["e\237\160\128"]}' } })
      local _, err = new():folders()
      assert.are.equal("r\239\191\189\239\191\189\239\191\189d", err.request_id)
      assert.are.equal("e\239\191\189\239\191\189\239\191\189", err.errors[1])
      assert_clean(tostring(err), 600)
    end)

    it("has no control characters in a redirect's location and message", function()
      local target = srv.url .. "/elsewhere?x=\27[2J\27]0;pwned\7\194\155" .. rep("a", 1000)
      srv:faults({ { action = "redirect", status = 302, location = target } })
      local _, err = new():folders()
      assert.are.equal(302, err.status)
      assert_clean(err.message, 400)
      assert_clean(tostring(err), 600)
      assert_clean(err.location, 300)
      local escaped = srv.url:gsub("%p", "%%%0")
      assert.matches("^" .. escaped .. "/elsewhere%?x= %[2J %]0;pwned  a+…$", err.location)
    end)

    it("cleans the request id and messages a Lua layer gives gong.error", function()
      local err = require("gong").error("decode", "bad\27[2J", { request_id = HOSTILE, errors = { HOSTILE },
                                                                 location = HOSTILE, status = 200 })
      assert_clean(err.request_id, 64)
      assert_clean(err.errors[1], 300)
      assert_clean(err.location, 300)
      assert_clean(tostring(err), 600)
      assert.are.equal(200, err.status)
    end)

    it("leaves the records returned to Lua as the server sent them", function()
      local body = cjson.encode({ requestId = HOSTILE, folders = { { id = "1", name = HOSTILE } } })
      srv:faults({ { path = "/library/folders", status = 200, body = body } })
      local folders, rid = new():folders()
      assert.are.equal(HOSTILE, folders[1].name)
      assert.are.equal(HOSTILE, rid)
    end)
  end)

  describe("in the CLI", function()
    it("writes a failure's server text to stderr without control characters", function()
      srv:faults({ { status = 401, body = error_body(HOSTILE, { HOSTILE }) } })
      local out, err, status = run({ "folders" })
      assert.are.equal(1, status)
      assert.are.equal("", out)
      assert.are.equal("\n", err:sub(-1))
      assert_clean(err:sub(1, -2), 2000)
      assert.matches("FAKE LOG LINE", err)
    end)

    it("shows a folder's name in a table without control characters, bidi controls or broken UTF-8", function()
      local body = cjson.encode({ requestId = "r1", folders = { { id = "1", name = HOSTILE .. "\255" } } })
      srv:faults({ { path = "/library/folders", status = 200, body = body } })
      local out, err, status = run({ "folders" })
      assert.are.equal(0, status, err)
      for line in out:gmatch("[^\n]+") do assert_clean(line, 2000) end
      assert.matches("FAKE LOG LINE", out)
    end)
  end)
end)
