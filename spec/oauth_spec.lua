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

  -- The parameters of a URL's query, percent-decoded, and what comes before it.
  local function query_of(url)
    local base, query = url:match("^([^?]*)%?(.*)$")
    local params = {}
    for pair in query:gmatch("[^&]+") do
      local k, v = pair:match("^([^=]*)=(.*)$")
      params[k] = v:gsub("%%(%x%x)", function(h) return string.char(tonumber(h, 16)) end)
    end
    return base, params
  end

  describe("authorize_url()", function()
    it("is Gong's authorize page with the app's id, a code response, the scopes and the redirect URI", function()
      local url = oauth.authorize_url({ client_id = "app 1", redirect_uri = REDIRECT .. "?x=1&y=2", state = "s/1" })
      local base, params = query_of(url)
      assert.are.equal(oauth.AUTHORIZE_URL, base)
      assert.are.equal("https://app.gong.io/oauth2/authorize", oauth.AUTHORIZE_URL)
      assert.are.same({ client_id = "app 1", response_type = "code", scope = table.concat(oauth.SCOPES, " "),
                        redirect_uri = REDIRECT .. "?x=1&y=2", state = "s/1" }, params)
      -- Scopes read as Gong writes them; the rest percent-encoded.
      assert.matches("&scope=api:library:read%%20api:", url)
      assert.matches("redirect_uri=https%%3A%%2F%%2Fapp%.example%%2Foauth%%2Fcallback%%3Fx%%3D1%%26y%%3D2", url)
    end)

    it("asks for what gong uses by default, or the scopes given, and goes to the page given", function()
      assert.are.same({ "api:library:read", "api:workspaces:read", "api:calls:read:extensive",
                        "api:calls:read:transcript" }, oauth.SCOPES)
      local base, params = query_of(oauth.authorize_url({ client_id = "a", redirect_uri = REDIRECT,
        scope = { "api:library:read", "api:users:read" }, authorize_url = srv.url .. "/auth?tenant=1" }))
      assert.are.equal(srv.url .. "/auth", base)
      assert.are.same({ tenant = "1", client_id = "a", response_type = "code",
                        scope = "api:library:read api:users:read", redirect_uri = REDIRECT }, params)
      base, params = query_of(oauth.authorize_url({ client_id = "a", redirect_uri = REDIRECT, scope = "  x   y " }))
      assert.are.same({ oauth.AUTHORIZE_URL, "x y" }, { base, params.scope })
      assert.is_nil(params.state)
    end)

    it("raises an argument error naming what is wrong", function()
      for _, case in ipairs({
        { nil, "options must be a table %(got nil%)" },
        { { redirect_uri = REDIRECT }, "client_id must be a non%-empty string %(got nil%)" },
        { { client_id = "a", redirect_uri = "" }, "redirect_uri must be a non%-empty string %(got an empty string%)" },
        { { client_id = "a", redirect_uri = REDIRECT, state = 5 }, "state must be a non%-empty string %(got number%)" },
        { { client_id = "a", redirect_uri = REDIRECT, scope = " " }, "scope must be a list of scopes" },
        { { client_id = "a", redirect_uri = REDIRECT, authorize_url = "app.gong.io/x" },
          "authorize_url must be an http or https URL" },
      }) do
        local ok, err = pcall(oauth.authorize_url, case[1])
        assert.is_false(ok)
        assert.are.equal("argument", err.kind)
        assert.matches("^gong%.oauth%.authorize_url: " .. case[2], err.message)
      end
    end)
  end)

  describe("status()", function()
    it("tells the store's tenant, expiry and scopes, never a token", function()
      local before = os.time()
      exchange()
      local st = assert(oauth.status(store))
      assert.are.same({ "base_url", "expires_at", "expires_in", "scopes", "store" }, (function()
        local keys = {}
        for k in pairs(st) do keys[#keys + 1] = k end
        table.sort(keys)
        return keys
      end)())
      assert.are.equal(srv.url .. "/tenant/v2", st.base_url)
      assert.are.equal(store, st.store)
      assert.are.same({ "api:library:read", "api:calls:read:extensive", "api:calls:read:transcript" }, st.scopes)
      assert.is_true(st.expires_at >= before + st.expires_in - 1 and st.expires_at <= os.time() + st.expires_in + 1)
      assert_no_secret(require("cjson").encode(st))
    end)

    it("is false where there is no store, making no lock file, and an error for a damaged one", function()
      assert.is_false(oauth.status(store))
      assert.is_false(oauth.status(dir .. "/no-such-dir/oauth.json"))
      assert.are.equal("", process.capture("ls -A '" .. dir .. "'"))
      process.write_file(store, "{}")
      local st, err = oauth.status(store)
      assert.is_nil(st)
      assert.are.equal("config", err.kind)
      assert.matches("OAuth store " .. store:gsub("%p", "%%%0") .. " has no access_token", err.message)
    end)
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
      -- As for the other credentials: a usage error, naming the variables.
      _, err, status = cli({ "tree" }, { GONG_OAUTH_STORE = "", GONG_CLIENT_SECRET = "" })
      assert.are.equal(2, status)
      assert.matches("GONG_CLIENT_ID and GONG_CLIENT_SECRET must be set together", err, 1, true)
      assert_no_secret(err)
    end)

    -- #once: runs of the CLI as a process; the Lua side is held above under every Lua.
    it("oauth authorize-url prints the URL to approve the app at, from the app's id alone #once", function()
      local out, err, status = cli({ "oauth", "authorize-url", "--redirect-uri", REDIRECT, "--state", "abc" },
                                   { GONG_CLIENT_SECRET = "" })
      assert.are.same({ "", 0 }, { err, status })
      assert.are.equal(oauth.authorize_url({ client_id = creds.client_id, redirect_uri = REDIRECT, state = "abc" })
        .. "\n", out)
      local base, params = query_of(out:sub(1, -2))
      assert.are.equal("https://app.gong.io/oauth2/authorize", base)
      assert.are.same({ client_id = creds.client_id, response_type = "code", scope = table.concat(oauth.SCOPES, " "),
                        redirect_uri = REDIRECT, state = "abc" }, params)
      -- Scopes as Gong's settings page lists them, and another page from the credentials file.
      local file = process.write_file(dir .. "/creds", "GONG_CLIENT_ID=from-file\nGONG_OAUTH_AUTHORIZE_URL="
        .. srv.url .. "/oauth2/authorize\n")
      out, err, status = cli({ "oauth", "authorize-url", "--redirect-uri", REDIRECT, "--credentials", file,
                               "--scope", "api:library:read,api:users:read" })
      assert.are.same({ "", 0 }, { err, status })
      base, params = query_of(out:sub(1, -2))
      assert.are.equal(srv.url .. "/oauth2/authorize", base)
      assert.are.same({ "from-file", "api:library:read api:users:read" }, { params.client_id, params.scope })
      assert.are.equal(0, #srv:requests(), "nothing is asked of Gong")
    end)

    it("oauth authorize-url says on a terminal what comes after the URL #once", function()
      local terminal = require "spec.support.terminal"
      local t = terminal.start({ process.lua, "bin/gong-library", "oauth", "authorize-url", "--redirect-uri",
                                 REDIRECT }, { width = 100, env = { GONG_CLIENT_ID = creds.client_id } })
      finally(function() t:stop() end)
      local lines = t:wait_for("EXIT:0")
      assert.are.same({ oauth.authorize_url({ client_id = creds.client_id, redirect_uri = REDIRECT }),
                        "gong-library: send the tenant's technical administrator to this URL; Gong then sends the "
                        .. "browser to " .. REDIRECT .. " with ?code=CODE, which gong-library oauth exchange --code "
                        .. "CODE --redirect-uri URI --oauth-store FILE turns into the app's tokens", "EXIT:0" },
                      { lines[#lines - 2], lines[#lines - 1], lines[#lines] })
    end)

    it("oauth authorize-url refuses, as a usage error, what it cannot make a URL of #once", function()
      for _, case in ipairs({
        { { "--redirect-uri", REDIRECT }, { GONG_CLIENT_ID = "", GONG_CLIENT_SECRET = "" },
          "oauth authorize-url needs the app's GONG_CLIENT_ID, in the environment or the credentials file\n"
          .. "Try 'gong-library help oauth'" },
        { { "--redirect-uri", REDIRECT, "--credentials", process.write_file(dir .. "/token", "GONG_TOKEN=t\n") }, {},
          "needs the app's GONG_CLIENT_ID, in the environment or the credentials file (credentials file " .. dir
          .. "/token, whose credentials replace the environment's, has none)\n" },
        { {}, {}, "oauth authorize-url needs --redirect-uri URI" },
        { { "--redirect-uri", REDIRECT, "--code", "c" }, {}, "option --code is not valid for 'oauth authorize-url'" },
        { { "--redirect-uri", REDIRECT, "--scope", " , " }, {}, "--scope needs the scopes, separated by spaces" },
        { { "--redirect-uri", REDIRECT }, { GONG_OAUTH_AUTHORIZE_URL = "app.gong.io/oauth2/authorize" },
          "GONG_OAUTH_AUTHORIZE_URL in the environment must be an http or https URL\n" },
      }) do
        local args = { "oauth", "authorize-url" }
        for _, a in ipairs(case[1]) do args[#args + 1] = a end
        local out, err, status = cli(args, case[2])
        assert.are.same({ "", 2 }, { out, status }, err)
        assert.matches(case[3], err, 1, true)
      end
      local _, err, status = cli({ "oauth", "authorise-url" })
      assert.are.equal(2, status)
      assert.matches("unknown oauth action 'authorise-url' (did you mean 'authorize-url'?); oauth's actions are "
        .. "authorize-url, exchange and status", err, 1, true)
    end)

    it("oauth status shows the store's tenant, expiry and scopes, as text or JSON, never a token #once", function()
      exchange()
      local out, err, status = cli({ "oauth", "status", "--oauth-store", store })
      assert.are.same({ "", 0 }, { err, status })
      local st = assert(oauth.status(store))
      local lines = {}
      for line in out:gmatch("[^\n]+") do lines[#lines + 1] = line end
      assert.are.equal(4, #lines, out)
      assert.are.equal("store:        " .. store, lines[1])
      assert.are.equal("tenant:       " .. srv.url .. "/tenant/v2", lines[2])
      assert.matches("^access token: valid until " .. os.date("!%Y-%m-%d %H:%M UTC", math.floor(st.expires_at))
        :gsub("%p", "%%%0") .. " %(%d+ min from now%); a run near then refreshes it$", lines[3])
      assert.are.equal("scopes:       api:library:read api:calls:read:extensive api:calls:read:transcript", lines[4])
      assert_no_secret(out)
      out, err, status = cli({ "oauth", "status", "--json" }, { GONG_OAUTH_STORE = store })
      assert.are.same({ "", 0 }, { err, status })
      local t = require("cjson").decode(out)
      assert.are.same({ store = store, base_url = srv.url .. "/tenant/v2", expired = false,
                        expires_at = os.date("!%Y-%m-%dT%H:%M:%SZ", math.floor(st.expires_at)),
                        scopes = st.scopes }, t)
      assert_no_secret(out)
      -- Expired: the next run refreshes it; status itself asks nothing of Gong.
      local stored = require("cjson").decode(process.read_file(store))
      stored.expires_at = os.time() - 7200
      process.write_file(store, require("cjson").encode(stored))
      out = cli({ "oauth", "status", "--oauth-store", store })
      assert.matches("\naccess token: expired at [%d%- :]+ UTC %(2%.0 h ago%); the next run refreshes it\n", out)
      assert.are.same({}, refreshes())
    end)

    it("oauth status fails where there is no store, and asks for one when none is named #once", function()
      local out, err, status = cli({ "oauth", "status", "--oauth-store", store })
      assert.are.same({ "", 1 }, { out, status })
      assert.are.equal(("gong-library: there is no OAuth store %s: authorize the app (gong-library oauth "
        .. "authorize-url), then run gong-library oauth exchange --code CODE --redirect-uri URI --oauth-store %s\n")
        :format(store, store), err)
      out, err, status = cli({ "oauth", "status" })
      assert.are.same({ "", 2 }, { out, status })
      assert.matches("^gong%-library: oauth status needs the store: %-%-oauth%-store FILE, or GONG_OAUTH_STORE\n", err)
      process.write_file(store, "{}", "644")
      out, err, status = cli({ "oauth", "status", "--oauth-store", store })
      assert.are.same({ "", 1 }, { out, status })
      assert.matches("is accessible by group or others", err, 1, true)
      out, err, status = cli({ "oauth", "status", "--oauth-store", store, "--csv" })
      assert.are.same({ "", 2 }, { out, status })
      assert.matches("option --csv is not valid for 'oauth status'", err, 1, true)
    end)
  end)
end)
