-- The option on_attempt: a program's log of its requests (gong-library
-- --verbose is made of it). Against the fake Gong server, every attempt is
-- told as it ends, retries included, on the blocking client and on the
-- driver of its batches; never with a credential.

local gong = require "gong"
local fake = require "spec.support.fake"

local creds = fake.credentials

describe("the option on_attempt", function()
  local srv

  setup(function() srv = fake.start({ folders = 5 }) end)
  teardown(function() srv:stop() end)
  before_each(function() srv:reset() end)

  -- A client whose on_attempt collects what it is told, with fast backoff.
  local function new(opts)
    local told = {}
    local o = { base_url = srv.url, access_key = creds.key, access_key_secret = creds.secret, rate = false,
                backoff_base = 0.01, backoff_max = 0.02, on_attempt = function(info) told[#told + 1] = info end }
    for k, v in pairs(opts or {}) do o[k] = v end
    if o.bearer then o.bearer, o.access_key, o.access_key_secret, o.token = nil, nil, nil, creds.token end
    return gong.new(o), told
  end

  it("is told of each attempt: method, URL, status, time, attempt of how many, and the wait before the next", function()
    srv:faults({ { status = 503, times = 2 } })
    local client, told = new({ max_retries = 3 })
    assert.is_table((client:folders()))
    assert.are.equal(3, #told)
    for i, info in ipairs(told) do
      assert.are.equal("GET", info.method)
      assert.are.equal(srv.url .. "/library/folders", info.url)
      assert.are.equal(i, info.attempt)
      assert.are.equal(4, info.max_attempts)
      assert.is_number(info.seconds)
      assert.is_true(info.seconds >= 0 and info.seconds < 10)
      assert.is_nil(info.error)
    end
    assert.are.same({ 503, 503, 200 }, { told[1].status, told[2].status, told[3].status })
    assert.is_true(told[1].retry_in >= 0 and told[1].retry_in <= 0.02, tostring(told[1].retry_in))
    assert.is_number(told[2].retry_in)
    assert.is_nil(told[3].retry_in)
  end)

  it("says what went wrong when no answer came, and the POSTs of the Calls API", function()
    local client, told = new({ base_url = "http://127.0.0.1:" .. require("spec.support.process").free_port(),
                               max_retries = 1 })
    local folders, err = client:folders()
    assert.is_nil(folders)
    assert.are.equal("network", err.kind)
    assert.are.equal(2, #told)
    assert.is_nil(told[1].status)
    assert.matches("^network error on this attempt: ", told[1].error)
    assert.is_number(told[1].retry_in)
    assert.is_nil(told[2].retry_in)

    local ids = { fake.library().call_ids[1] }
    local api, calls_told = new()
    assert.is_table((api:call_details(ids)))
    assert.are.equal(1, #calls_told)
    assert.are.equal("POST", calls_told[1].method)
    assert.are.equal(srv.url .. "/calls/extensive", calls_told[1].url)
    assert.are.equal(200, calls_told[1].status)
  end)

  it("is told of the requests of a batch, made on the client's driver", function()
    local client, told = new()
    local tree, errors = client:library()
    assert.is_table(tree)
    assert.are.same({}, errors)
    local asked = { [srv.url .. "/library/folders"] = 0 }
    for node in tree:walk() do
      if node.callCount ~= 0 then
        asked[srv.url .. "/library/folders/" .. require("gong.core").percent_encode(node.id) .. "/calls"] = 0
      end
    end
    for _, info in ipairs(told) do
      assert.are.equal(200, info.status, info.url)
      asked[info.url] = (asked[info.url] or 0) + 1
    end
    for url, n in pairs(asked) do assert.are.equal(1, n, url) end
  end)

  it("never tells a credential: a bearer token, a key and secret, or Basic's encoding of them", function()
    srv:faults({ { status = 401 } })
    local basic, told_basic = new()
    basic:folders()
    local bearer, told_bearer = new({ bearer = true })
    bearer:folders()
    for _, list in ipairs({ told_basic, told_bearer }) do
      assert.is_true(#list > 0)
      for _, info in ipairs(list) do
        for _, v in pairs(info) do
          for _, secret in ipairs({ creds.secret, creds.token, fake.BASIC:sub(7) }) do
            assert.is_nil(tostring(v):find(secret, 1, true), tostring(v))
          end
        end
      end
    end
  end)

  it("ends the request with an error of kind config, option on_attempt, when it raises", function()
    local client = new({ on_attempt = function() error("log file full") end })
    local folders, err = client:folders()
    assert.is_nil(folders)
    assert.are.equal("config", err.kind)
    assert.are.equal("on_attempt", err.option)
    assert.matches("on_attempt failed: .*log file full", err.message)
  end)

  it("must be a function", function()
    local ok, err = pcall(gong.new, { token = "t", on_attempt = "verbose" })
    assert.is_false(ok)
    assert.are.equal("config", err.kind)
    assert.are.equal("on_attempt", err.option)
    assert.are.equal("function", require("gong.core").options.on_attempt.kind)
  end)
end)
