-- gong.wire: a call's outcome as plain data, and back, and the key of a
-- plain options table. Crossing between Lua states is simulated here by
-- what it does to tables (a copy without metatables); the resty spec
-- crosses for real.

local wire = require "gong.wire"
local gong = require "gong"

-- What crossing to another Lua state leaves of a value: plain copies.
local function cross(v)
  if type(v) ~= "table" then return v end
  local t = {}
  for k, item in pairs(v) do t[k] = cross(item) end
  return t
end

local function crossed(status, a)
  return status, cross(a)
end

describe("gong.wire", function()
  it("carries a result and its extra values unchanged, a trailing nil included", function()
    local status, a = wire.run(function() return { { id = "1" } }, "rid-1", nil end)
    assert.are.equal("ok", status)
    local returned, list, rid, cursor = wire.unpack(crossed(status, a))
    assert.is_true(returned)
    assert.are.same({ { id = "1" } }, list)
    assert.are.equal("rid-1", rid)
    assert.is_nil(cursor)
    status, a = wire.run(function() return { c = 1 }, "rid-2", "next-page" end)
    assert.are.same({ true, { c = 1 }, "rid-2", "next-page" }, { wire.unpack(crossed(status, a)) })
  end)

  it("carries a returned error as 'fail' and rebuilds it, metatable and fields", function()
    local err = gong.error("http", "HTTP 404 on GET /x", { status = 404, request_id = "r1", errors = { "gone" } })
    local status, a = wire.run(function() return nil, err end)
    assert.are.equal("fail", status)
    assert.is_nil(getmetatable(a), "fields are plain data")
    local returned, value, back = wire.unpack(crossed(status, a))
    assert.is_true(returned)
    assert.is_nil(value)
    assert.is_true(gong.is_error(back))
    assert.are.same({ "gone" }, back.errors)
    assert.are.equal(tostring(err), tostring(back))
  end)

  it("carries a raised gong error as 'raise', and a raised message as the message", function()
    local status, a = wire.run(function() error(gong.error("argument", "calls: bad"), 0) end)
    assert.are.equal("raise", status)
    local returned, err = wire.unpack(crossed(status, a))
    assert.is_false(returned)
    assert.is_true(gong.is_error(err))
    assert.are.equal("argument", err.kind)

    status, a = wire.run(function() error("plain message", 0) end)
    assert.are.same({ "raise", "plain message" }, { status, a })
    assert.are.same({ false, "plain message" }, { wire.unpack(status, a) })
  end)

  it("makes an error of a kind, gong.core's one", function()
    local err = wire.error("config", "gong.nvim could not load gong")
    assert.is_true(gong.is_error(err))
    assert.are.equal("gong: gong.nvim could not load gong", tostring(err))
  end)

  it("turns an unknown status into a config error rather than guessing", function()
    local returned, err = wire.unpack("what", 1)
    assert.is_false(returned)
    assert.are.equal("config", err.kind)
  end)

  describe("key()", function()
    it("names the same options the same, however their tables were built", function()
      local a = { base_url = "https://x", rate = 3, headers = { A = "1", B = "2" }, insecure = false }
      local b = { insecure = false, headers = { B = "2", A = "1" }, rate = 3.0, base_url = "https://x" }
      assert.are.equal(wire.key(a), wire.key(b))
      assert.are_not.equal(wire.key(a), wire.key({ base_url = "https://y", rate = 3 }))
      assert.are_not.equal(wire.key({ rate = "3" }), wire.key({ rate = 3 }))
      assert.are.equal(wire.key(nil), wire.key(nil))
    end)

    it("says where a value is not plain data, never what it is", function()
      local key, why = wire.key({ headers = { x = print } })
      assert.is_nil(key)
      assert.are.equal("options.headers.x is a function", why)
      key, why = wire.key({ token = "secret-token-value", x = coroutine.create(function() end) })
      assert.is_nil(key)
      assert.is_nil(why:find("secret", 1, true))
    end)
  end)
end)
