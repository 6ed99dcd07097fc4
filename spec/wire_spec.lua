-- gong.wire: a call's outcome as plain data, and back. Crossing between Lua
-- states is simulated here by what it does to tables (a copy without
-- metatables); the nvim and resty specs cross for real.

local wire = require "gong.wire"
local gong = require "gong"

-- What crossing to another Lua state leaves of a value: plain copies.
local function cross(v)
  if type(v) ~= "table" then return v end
  local t = {}
  for k, item in pairs(v) do t[k] = cross(item) end
  return t
end

local function crossed(status, a, b, marks)
  return status, cross(a), cross(b), cross(marks)
end

describe("gong.wire", function()
  it("carries a result and its extra value unchanged", function()
    local status, a, b = wire.run(function() return { { id = "1" } }, "rid-1" end)
    assert.are.equal("ok", status)
    local returned, list, rid = wire.unpack(crossed(status, a, b))
    assert.is_true(returned)
    assert.are.same({ { id = "1" } }, list)
    assert.are.equal("rid-1", rid)
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

  it("marks the error objects in a batch's results, and rebuilds them in place", function()
    local results = { { { callId = "c" } }, gong.error("http", "HTTP 404"), {} }
    local status, a, b, marks = wire.run(function() return results, "extra" end)
    assert.are.same({ 2 }, marks)
    local returned, back, extra = wire.unpack(crossed(status, a, b, marks))
    assert.is_true(returned)
    assert.are.equal("extra", extra)
    assert.are.same({ { callId = "c" } }, back[1])
    assert.is_true(gong.is_error(back[2]))
    assert.are.equal("HTTP 404", back[2].message)
    assert.are.same({}, back[3])
  end)

  it("says why a call could not be made, as a raised config error", function()
    local returned, err = wire.unpack(crossed(wire.failure("could not load gong\nstack traceback: ...")))
    assert.is_false(returned)
    assert.are.equal("config", err.kind)
    assert.are.equal("gong: could not load gong", tostring(err))
  end)

  it("turns an unknown status into a config error rather than guessing", function()
    local returned, err = wire.unpack("what", 1)
    assert.is_false(returned)
    assert.are.equal("config", err.kind)
  end)
end)
