-- A token that comes from a function: token(refresh) -> token [, seconds].
-- Asked for the first request and reused; asked again once its seconds have
-- passed; asked with refresh = true after a 401, the request then made once
-- more; one refresh for every transfer of a batch in flight.

local gong = require "gong"
local fake = require "spec.support.fake"

local creds = fake.credentials

describe("a token function", function()
  local srv, lib

  setup(function()
    srv = fake.start({ folders = 12 })
    lib = fake.library({ folders = 12 })
  end)
  teardown(function() srv:stop() end)
  before_each(function() srv:reset() end)

  -- A token function answering from `answers` in turn (the last one again
  -- once they run out), recording each `refresh` it was asked with.
  local function source(answers)
    local asked = {}
    return function(refresh)
      asked[#asked + 1] = refresh
      local a = answers[math.min(#asked, #answers)]
      if type(a) == "function" then return a() end
      return a[1], a[2]
    end, asked
  end

  local function new(token, extra)
    local o = { base_url = srv.url, token = token, rate = false, backoff_base = 0 }
    for k, v in pairs(extra or {}) do o[k] = v end
    return gong.new(o)
  end

  it("is asked once, for the first request, and its token reused", function()
    local token, asked = source({ { creds.token } })
    local c = new(token)
    assert.is_nil(asked[1], "asked before any request")
    for _ = 1, 3 do assert.is_table(c:folders()) end
    assert.is_table(c:calls(lib.folders[1].id))
    assert.are.same({ false }, asked)
    for _, req in ipairs(srv:requests()) do
      assert.are.equal("Bearer " .. creds.token, req.headers.authorization)
    end
    assert.is_nil(tostring(c):find(creds.token, 1, true))
    c:close()
  end)

  it("is asked again with refresh = true after a 401, and the request made once more", function()
    local token, asked = source({ { "stale" }, { creds.token } })
    local c = new(token)
    local folders = assert(c:folders())
    assert.are.equal(#lib.folders, #folders)
    assert.are.same({ false, true }, asked)
    local reqs = srv:requests()
    assert.are.equal(2, #reqs)
    assert.are.equal("Bearer stale", reqs[1].headers.authorization)
    assert.are.equal("Bearer " .. creds.token, reqs[2].headers.authorization)
    c:close()
  end)

  it("makes a second 401 the error, after one refresh", function()
    local token, asked = source({ { "stale" }, { "still-wrong" } })
    local c = new(token)
    local folders, err = c:folders()
    assert.is_nil(folders)
    assert.are.equal("http", err.kind)
    assert.are.equal(401, err.status)
    assert.are.equal(2, err.attempts)
    assert.are.same({ false, true }, asked)
    -- The next request starts with the token in use, not a new refresh.
    c:folders()
    assert.are.same({ false, true, true }, asked)
    c:close()
  end)

  it("is asked again once the seconds it gave have passed", function()
    local token, asked = source({ { creds.token, 0.3 } })
    local c = new(token)
    c:folders()
    c:folders()
    assert.are.same({ false }, asked)
    os.execute("sleep 0.4")
    c:folders()
    assert.are.same({ false, false }, asked)
    c:close()
  end)

  it("costs one refresh for every transfer of a batch in flight", function()
    local token, asked = source({ { "stale" }, { creds.token } })
    local c = new(token)
    local ids = {}
    for i = 1, 8 do ids[i] = lib.folders[i].id end
    local results = c:calls_batch(ids, { concurrency = 8 })
    for i = 1, 8 do assert.is_table(results[i], i) end
    assert.are.same({ false, true }, asked)
    local stale = 0
    for _, req in ipairs(srv:requests()) do
      if req.headers.authorization == "Bearer stale" then stale = stale + 1 end
    end
    assert.is_true(stale >= 1 and #srv:requests() == 8 + stale, #srv:requests() .. " requests")
    c:close()
  end)

  it("does the same for the Calls API's batches and for library()", function()
    local token, asked = source({ { "stale" }, { creds.token } })
    local c = new(token)
    local details = assert(c:call_details({ lib.call_ids[1], lib.call_ids[2] }))
    assert.is_table(details[lib.call_ids[1]])
    assert.are.same({ false, true }, asked)
    local t = assert(c:library({ concurrency = 4 }))
    assert.are.equal(#lib.folders, t.count)
    assert.are.same({ false, true }, asked)
    c:close()
  end)

  it("ends the request with what it returns or raises, an auth error unless it is a gong error", function()
    local c = new(function() return nil, gong.error("auth", "re-authorize, please") end)
    local folders, err = c:folders()
    assert.is_nil(folders)
    assert.are.equal("auth", err.kind)
    assert.are.equal("gong: re-authorize, please", tostring(err))
    c = new(function() error("no token today") end)
    folders, err = c:calls_batch({ lib.folders[1].id })
    assert.is_nil(folders)
    assert.are.equal("auth", err.kind)
    assert.matches("token function failed: .*no token today", err.message)
    for _, bad in ipairs({ { 42, "a number" }, { "", "an empty string" }, { "a\nb", "control characters" } }) do
      c = new(function() return bad[1] end)
      folders, err = c:folders()
      assert.is_nil(folders)
      assert.are.equal("auth", err.kind)
      assert.matches(bad[2], err.message, 1, true)
    end
    assert.are.equal(0, #srv:requests())
  end)

  it("is a function or a string, never both kinds of credentials", function()
    local ok, err = pcall(gong.new, { base_url = srv.url, token = 42 })
    assert.is_false(ok)
    assert.are.equal("config", err.kind)
    assert.matches("token", err.message)
    ok, err = pcall(gong.new, { base_url = srv.url, token = function() end, access_key = "k", access_key_secret = "s" })
    assert.is_false(ok)
    assert.matches("one kind", err.message)
  end)

  it("works on an event loop: 9 calls of a gong.loop client cost one refresh", function()
    local uv = require "spec.support.luv"
    local token, asked = source({ { "stale" }, { creds.token } })
    local c = require("gong.loop").client({ base_url = srv.url, token = token, rate = false }, uv)
    local answers = 0
    for i = 1, 9 do
      c:calls(lib.folders[i].id, function(calls, x)
        assert(calls, tostring(x))
        answers = answers + 1
      end)
    end
    while answers < 9 do uv.run("once") end
    assert.are.same({ false, true }, asked)
    c:close()
    uv.run("nowait")
  end)
end)
