-- gong.oauth against the fake server's token endpoint: single-use refresh
-- tokens that rotate on every refresh (reuse -> invalid_grant), access
-- tokens that expire after the scenario's token_ttl, and the tenant's API
-- base URL in the answer. One refresh per expiry, however many clients and
-- processes share the store; a crash never loses the valid refresh token.

local gong = require "gong"
local oauth = require "gong.oauth"
local fake = require "spec.support.fake"
local process = require "spec.support.process"

local creds = fake.credentials
local REDIRECT = "https://app.example/oauth/callback"

describe("gong.oauth", function()
  local srv, dir, store

  setup(function() srv = fake.start({ folders = 12 }) end)
  teardown(function() srv:stop() end)
  before_each(function()
    srv:reset()
    dir = process.tmpdir()
    store = dir .. "/oauth.json"
  end)
  after_each(function() os.execute("rm -rf '" .. dir .. "'") end)

  local function app(extra)
    local o = { client_id = creds.client_id, client_secret = creds.client_secret,
                token_url = srv.url .. "/oauth2/generate-customer-token" }
    for k, v in pairs(extra or {}) do o[k] = v end
    return o
  end

  -- The first exchange, into `store`.
  local function exchange()
    return assert(oauth.exchange(app({ code = srv:oauth_code(REDIRECT), redirect_uri = REDIRECT, store = store })))
  end

  local function refreshes()
    local list = {}
    for _, r in ipairs(srv:oauth_log().refreshes) do list[#list + 1] = r end
    return list
  end

  -- Every secret of the run: none may show anywhere.
  local function secrets()
    local s = { creds.client_secret }
    local f = io.open(store)
    if f then
      local t = require("cjson").decode(f:read("*a"))
      f:close()
      s[#s + 1], s[#s + 2] = t.access_token, t.refresh_token
    end
    return s
  end

  local function assert_no_secret(text)
    for _, secret in ipairs(secrets()) do
      assert.is_nil(tostring(text):find(secret, 1, true), "a secret shows in: " .. tostring(text))
    end
  end

  it("exchanges a code for a private store, and the client uses the tenant's API from the answer", function()
    local source = exchange()
    local st = require("gong.core").sys.stat(store)
    assert.are.equal(tonumber("600", 8), st.mode % 512)
    local c = gong.new({ token = source, rate = false })
    assert.matches("^gong%.client%(" .. srv.url:gsub("%p", "%%%0") .. "/tenant/v2, auth=bearer, api=public%)$",
      tostring(c))
    assert.is_table(assert(c:folders()))
    local req = srv:requests()[#srv:requests()]
    assert.are.equal("/tenant/v2/library/folders", req.path)
    assert.are.same({}, refreshes(), "a fresh token needs no refresh")
    assert_no_secret(tostring(source))
    assert_no_secret(tostring(c))
    c:close()
  end)

  it("refreshes once when the token runs out during a library() of many folders", function()
    srv:settings({ token_ttl = 3 })
    local c = gong.new({ token = exchange(), rate = 3 })
    local t, errors = c:library({ concurrency = 4 })
    assert.is_table(t, tostring(errors))
    assert.are.same({}, errors)
    local log = refreshes()
    assert.are.equal(1, #log, "refreshes")
    assert.are.equal("ok", log[1].outcome)
    -- Requests before and after it carry different tokens.
    local seen = {}
    for _, req in ipairs(srv:requests()) do
      if req.path:find("^/tenant/") then seen[req.headers.authorization] = true end
    end
    local n = 0
    for _ in pairs(seen) do n = n + 1 end
    assert.are.equal(2, n)
    c:close()
  end)

  it("has 8 processes sharing one store refresh exactly once per expiry, with no invalid_grant", function()
    srv:settings({ token_ttl = 1.5 })
    exchange()
    local code = ([[
      local gong = require "gong"
      local c = gong.new({ rate = false })
      local deadline = require("gong.core").sys.time() + 4.5
      while require("gong.core").sys.time() < deadline do
        assert(c:folders())
        os.execute("sleep 0.1")
      end
      print("done")
    ]])
    local env = { GONG_OAUTH_STORE = store, GONG_CLIENT_ID = creds.client_id, GONG_CLIENT_SECRET = creds.client_secret,
                  GONG_OAUTH_TOKEN_URL = srv.url .. "/oauth2/generate-customer-token", GONG_BASE_URL = "" }
    local waits = {}
    for i = 1, 8 do
      local _, wait = process.spawn({ process.lua, "-e", code }, env)
      waits[i] = wait
    end
    for i = 1, 8 do
      local out, err, status = waits[i]()
      assert.are.equal(0, status, err)
      assert.are.equal("done\n", out)
      assert_no_secret(err)
    end
    local log = refreshes()
    assert.is_true(#log >= 2 and #log <= 4, #log .. " refreshes in 4.5 s of 1.5 s tokens")
    for i, r in ipairs(log) do
      assert.are.equal("ok", r.outcome, "refresh " .. i)
      if i > 1 then
        assert.is_true(r.time - log[i - 1].time >= 1.2, "two refreshes for one expiry")
      end
    end
  end)

  it("leaves the store whole when a process dies between the answer and the write; the next run says re-authorize",
    function()
    srv:settings({ token_ttl = 0.2 })
    exchange()
    local before = assert(process.read_file(store))
    os.execute("sleep 0.3") -- so the next use refreshes
    -- The process dies where it would write the store: after Gong's answer, before the new file.
    local code = ([[
      local core = require "gong.core"
      local post = core.token_post
      core.token_post = function(...)
        post(...)
        os.exit(9)
      end
      local oauth = require "gong.oauth"
      local source = oauth.new({ client_id = %q, client_secret = %q, store = %q, token_url = %q })
      source(false)
    ]]):format(creds.client_id, creds.client_secret, store, srv.url .. "/oauth2/generate-customer-token")
    local _, _, status = process.lua_code(code, {})
    assert.are.equal(9, status)
    assert.are.equal(before, process.read_file(store))
    -- Gong rotated the refresh token the dead process asked with.
    local c = gong.new({ token = oauth.new(app({ store = store })), rate = false })
    local folders, err = c:folders()
    assert.is_nil(folders)
    assert.are.equal("auth", err.kind)
    assert.matches("invalid_grant", err.message, 1, true)
    assert.matches("authorize the app again", err.message, 1, true)
    assert.is_false(err.transient)
    assert_no_secret(tostring(err))
    c:close()
    -- The room the dead process had taken for the new store is given back.
    assert.are.equal("oauth.json\noauth.json.lock\n", process.capture("ls '" .. dir .. "'"))
  end)

  it("gives an auth error for a reused refresh token, and never retries it", function()
    local source = exchange()
    local used = source.state.refresh_token
    srv:settings({ token_ttl = 0.1 })
    source.state.expires_at = 0
    assert.is_string((source(false)))
    local stale = oauth.new(app({ refresh_token = used }))
    local ok, err = pcall(gong.new, { token = stale, rate = false })
    assert.is_false(ok)
    assert.are.equal("auth", err.kind)
    local log = refreshes()
    assert.are.equal(2, #log)
    assert.are.equal("invalid_grant", log[2].outcome)
    assert_no_secret(tostring(err))
  end)

  it("gives a token endpoint that cannot be reached as a network error that names neither grant nor secret",
    function()
    local source = oauth.new(app({ refresh_token = "rt-secret-grant", token_url = "http://127.0.0.1:1/oauth2/t" }))
    local token, err = source(false)
    assert.is_nil(token)
    assert.are.equal("network", err.kind)
    assert.are.equal("http://127.0.0.1:1/oauth2/t", err.url)
    assert.is_nil(tostring(err):find("rt-secret-grant", 1, true))
    assert.is_nil(tostring(err):find(creds.client_secret, 1, true))
  end)

  it("refuses a store group or others may read, and a damaged one, naming the file", function()
    exchange()
    os.execute("chmod 644 '" .. store .. "'")
    local ok, err = pcall(gong.new, { token = oauth.new(app({ store = store })) })
    assert.is_false(ok)
    assert.are.equal("config", err.kind)
    assert.matches("OAuth store " .. store:gsub("%p", "%%%0") .. " is accessible by group or others", err.message)
    assert.matches("chmod 600", err.message, 1, true)
    process.write_file(store, "{not json")
    ok, err = pcall(gong.new, { token = oauth.new(app({ store = store })) })
    assert.is_false(ok)
    assert.matches("is not a JSON object; remove it", err.message, 1, true)
  end)

  it("is the option oauth as plain data too, what source:spec() gives, never beside a token", function()
    local source = exchange()
    local spec = source:spec()
    assert.are.same({ client_id = creds.client_id, client_secret = creds.client_secret, store = store,
                      token_url = srv.url .. "/oauth2/generate-customer-token" }, spec)
    local c = gong.new({ oauth = spec, rate = false })
    assert.is_table(assert(c:folders()))
    c:close()
    local ok, err = pcall(gong.new, { oauth = spec, token = "t" })
    assert.is_false(ok)
    assert.are.equal("oauth", err.option)
    assert.is_nil(oauth.new(app({ refresh_token = "r" })):spec(), "a source in memory cannot be copied")
  end)

  it("keeps the refresh token in memory when given one, and takes the base URL from its first refresh", function()
    local source = exchange()
    local c = gong.new({ token = oauth.new(app({ refresh_token = source.state.refresh_token })), rate = false })
    assert.is_table(assert(c:folders()))
    assert.are.equal(1, #refreshes())
    c:close()
  end)

  describe("gong-library", function()
    local function cli(args, env)
      local argv = { process.lua, "bin/gong-library" }
      for _, a in ipairs(args) do argv[#argv + 1] = a end
      local e = { GONG_CLIENT_ID = creds.client_id, GONG_CLIENT_SECRET = creds.client_secret,
                  GONG_OAUTH_TOKEN_URL = srv.url .. "/oauth2/generate-customer-token", GONG_RATE_SCOPE = "client" }
      for k, v in pairs(env or {}) do e[k] = v end
      return process.run(argv, e)
    end

    it("oauth exchange writes the store, and tree works with it", function()
      local out, err, status = cli({ "oauth", "exchange", "--code", srv:oauth_code(REDIRECT), "--redirect-uri",
                                     REDIRECT, "--oauth-store", store })
      assert.are.equal(0, status, err)
      assert.are.equal(("wrote the OAuth tokens to %s; the tenant's API is %s/tenant/v2\n"):format(store, srv.url),
        out)
      out, err, status = cli({ "tree" }, { GONG_OAUTH_STORE = store })
      assert.are.equal(0, status, err)
      assert.matches("calls", out)
      assert_no_secret(out .. err)
    end)

    it("says what is missing, and how to re-authorize when the grant is refused", function()
      local _, err, status = cli({ "oauth", "exchange", "--code", "nope", "--redirect-uri", REDIRECT,
                                   "--oauth-store", store })
      assert.are.equal(1, status)
      assert.matches("invalid_grant", err, 1, true)
      assert.matches("gong%-library oauth exchange %-%-code CODE", err)
      _, err, status = cli({ "oauth", "exchange", "--redirect-uri", REDIRECT, "--oauth-store", store })
      assert.are.equal(2, status)
      assert.matches("oauth exchange needs --code CODE", err, 1, true)
      -- As for the other credentials: status 1, naming the variables.
      _, err, status = cli({ "tree" }, { GONG_OAUTH_STORE = "", GONG_CLIENT_SECRET = "" })
      assert.are.equal(1, status)
      assert.matches("GONG_CLIENT_ID and GONG_CLIENT_SECRET must be set together", err, 1, true)
      assert_no_secret(err)
    end)
  end)
end)
