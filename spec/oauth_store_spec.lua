-- gong.oauth's store under what a real machine does to it: a full disk, a
-- process killed between writing the new store and renaming it into place, a
-- token endpoint that echoes the request in its error body, and a lock file
-- or a directory another user may have prepared. Gong's refresh tokens are
-- single-use, so each of these, handled wrong, costs the app its grant.

local gong = require "gong"
local oauth = require "gong.oauth"
local core = require "gong.core"
local cjson = require "cjson"
local fake = require "spec.support.fake"
local process = require "spec.support.process"

local REDIRECT = "https://app.example/oauth/callback"
-- A secret with characters that percent-encoding changes, so that its encoded
-- form is not its raw one.
local SECRET = "s3cret/with+reserved=chars&more"
local CLIENT_ID = fake.credentials.client_id

local is_root = process.capture("id -u") == "0\n"

local function ls(dir)
  return process.capture("ls -A '" .. dir .. "'")
end

-- Every byte as %XX: what a server that encodes everything would echo.
local function encode_all(s)
  return (s:gsub(".", function(c) return ("%%%02X"):format(c:byte()) end))
end

-- Percent-encoding as a query string has it, lower-case hex.
local function encode_query(s)
  return (s:gsub("[^%w%-%._~]", function(c) return ("%%%02x"):format(c:byte()) end))
end

local function base64(s)
  local chars = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/"
  return ((s:gsub(".", function(x)
    local r, b = "", x:byte()
    for i = 8, 1, -1 do r = r .. (b % 2 ^ i - b % 2 ^ (i - 1) > 0 and "1" or "0") end
    return r
  end) .. "0000"):gsub("%d%d%d?%d?%d?%d?", function(x)
    if #x < 6 then return "" end
    local c = 0
    for i = 1, 6 do c = c + (x:sub(i, i) == "1" and 2 ^ (6 - i) or 0) end
    return chars:sub(c + 1, c + 1)
  end) .. ({ "", "==", "=" })[#s % 3 + 1])
end

describe("gong.oauth's store", function()
  local srv, dir, store, mounted

  setup(function() srv = fake.start({ folders = 4, client_secret = SECRET }) end)
  teardown(function() srv:stop() end)
  before_each(function()
    srv:reset()
    dir = process.tmpdir()
    store = dir .. "/oauth.json"
  end)
  after_each(function()
    core.on_warning(nil)
    if mounted then os.execute("umount '" .. mounted .. "'") end
    mounted = nil
    os.execute("rm -rf '" .. dir .. "'")
  end)

  local function app(extra)
    local o = { client_id = CLIENT_ID, client_secret = SECRET,
                token_url = srv.url .. "/oauth2/generate-customer-token" }
    for k, v in pairs(extra or {}) do o[k] = v end
    return o
  end

  local function exchange()
    return assert(oauth.exchange(app({ code = srv:oauth_code(REDIRECT), redirect_uri = REDIRECT, store = store })))
  end

  local function refreshes()
    local list = {}
    for _, r in ipairs(srv:oauth_log().refreshes) do list[#list + 1] = r end
    return list
  end

  local function stored()
    local content = process.read_file(store)
    assert.is_string(content, "no store")
    return cjson.decode(content)
  end

  -- Rewrites the store as expired, so that its next use refreshes.
  local function expire()
    local t = stored()
    t.expires_at = 0
    process.write_file(store, cjson.encode(t))
  end

  -- A tmpfs of 64 KiB mounted on `dir`, or a pending test saying why not.
  local function small_disk()
    if not is_root then
      pending("needs root to mount a small tmpfs (CI runs as root)")
      return false
    end
    if not os.execute("mount -t tmpfs -o size=64k,mode=700 tmpfs '" .. dir .. "' 2>/dev/null") then
      pending("mount -t tmpfs failed here")
      return false
    end
    mounted = dir
    return true
  end

  local function fill_disk()
    os.execute("dd if=/dev/zero of='" .. dir .. "/fill' bs=1k count=1024 2>/dev/null")
  end

  describe("on a full disk", function()
    it("makes no refresh, says the disk is full, and leaves the store working", function()
      if not small_disk() then return end
      exchange()
      expire()
      local before = process.read_file(store)
      fill_disk()
      local source = oauth.new(app({ store = store }))
      local token, err = source(false)
      assert.is_nil(token)
      assert.are.equal("config", err.kind)
      assert.matches("No space left on device", err.message, 1, true)
      assert.matches("no refresh was made", err.message, 1, true)
      assert.are.same({}, refreshes(), "the refresh token must not be spent")
      assert.are.equal(before, process.read_file(store))
      assert.are.equal("fill\noauth.json\noauth.json.lock\n", ls(dir))
      -- With room again the store's refresh token still works.
      os.remove(dir .. "/fill")
      assert.is_string((source(false)))
      assert.are.equal(source.state.refresh_token, stored().refresh_token)
    end)

    it("writes the new tokens into the room reserved before asking, when the disk fills meanwhile", function()
      if not small_disk() then return end
      exchange()
      expire()
      local old = stored().refresh_token
      local post = core.token_post
      finally(function() core.token_post = post end)
      core.token_post = function(...)
        fill_disk()
        return post(...)
      end
      local source = oauth.new(app({ store = store }))
      assert.is_string((source(false)))
      assert.are.equal(1, #refreshes())
      assert.are_not.equal(old, source.state.refresh_token)
      assert.are.equal(source.state.refresh_token, stored().refresh_token)
      assert.are.equal("fill\noauth.json\noauth.json.lock\n", ls(dir))
    end)

    it("keeps rotated tokens in memory and in use when the write fails after the refresh, says so once, "
      .. "and writes them at the next use", function()
      exchange()
      expire()
      local old = process.read_file(store)
      local sys = core.sys
      local replace, write = sys.replace_file, sys.write_private_file
      finally(function() sys.replace_file, sys.write_private_file = replace, write end)
      local failing = true
      local function full(path)
        return nil, core.error("file", "cannot write " .. path .. ": No space left on device",
          { path = path, reason = "write", detail = "No space left on device" })
      end
      sys.write_private_file = function(path, ...)
        if failing then return full(path) end
        return write(path, ...)
      end
      -- The reservation succeeds; the disk fills before the commit.
      sys.replace_file = function(path, opts)
        local r, err = replace(path, opts)
        if not r then return nil, err end
        return setmetatable({}, { __index = function(_, k)
          if k == "commit" then
            return function()
              if failing then
                r:discard()
                return full(path)
              end
              return r:commit()
            end
          end
          if k == "tmp" then return r.tmp end
          return function(_, ...) return r[k](r, ...) end
        end })
      end
      local warnings = {}
      core.on_warning(function(m) warnings[#warnings + 1] = m end)

      local source = oauth.new(app({ store = store }))
      local token, seconds = source(false)
      assert.is_string(token)
      assert.are.equal(0, seconds, "asked again at the next request, to try the write again")
      assert.are.equal(1, #refreshes())
      local live = source.state.refresh_token
      assert.are.equal(old, process.read_file(store))
      assert.are.equal(1, #warnings)
      assert.matches("No space left on device", warnings[1], 1, true)
      assert.matches("kept in memory", warnings[1], 1, true)
      for _, secret in ipairs({ live, source.state.access_token, SECRET }) do
        assert.is_nil(warnings[1]:find(secret, 1, true))
      end
      -- Still failing: the same token, no refresh, no second warning.
      assert.are.equal(token, (source(false)))
      assert.are.equal(1, #refreshes())
      assert.are.equal(1, #warnings)
      assert.are.equal("oauth.json\noauth.json.lock\n", ls(dir))
      -- Room again: the next use writes the rotated tokens.
      failing = false
      local again, left = source(false)
      assert.are.equal(token, again)
      assert.is_true(left > 0)
      assert.are.equal(live, stored().refresh_token)
      assert.are.equal(1, #refreshes())
      -- And a run after this one refreshes with them.
      local next_run = oauth.new(app({ store = store }))
      expire()
      assert.is_string((next_run(false)))
      assert.are.equal("ok", refreshes()[2].outcome)
    end)
  end)

  describe("after a process died between writing the new store and renaming it", function()
    it("takes the newest complete temporary store of ours, and removes the stale ones", function()
      exchange()
      -- Rotated by a process that wrote its temporary store and died.
      local mem = oauth.new(app({ refresh_token = stored().refresh_token }))
      assert.is_string((mem(false)))
      local s = mem.state
      local newer = cjson.encode({ access_token = s.access_token, refresh_token = s.refresh_token,
        expires_at = s.expires_at, expires_in = s.expires_in, base_url = s.base_url, scope = s.scope })
      os.execute("touch -d '2 minutes ago' '" .. store .. "'")
      process.write_file(store .. ".tmp-0123456789ab", newer)
      -- A torn one (killed while writing), and an older complete one.
      process.write_file(store .. ".tmp-aaaaaaaaaaaa", newer:sub(1, 20))
      process.write_file(store .. ".tmp-bbbbbbbbbbbb", process.read_file(store))
      os.execute("touch -d '3 minutes ago' '" .. store .. ".tmp-bbbbbbbbbbbb'")
      -- Not ours: group may read it; left alone.
      process.write_file(store .. ".tmp-cccccccccccc", newer, "640")

      local source = oauth.new(app({ store = store }))
      assert.are.equal(srv.url .. "/tenant/v2", source:base_url())
      assert.are.equal(s.refresh_token, source.state.refresh_token)
      assert.are.equal(s.refresh_token, stored().refresh_token)
      assert.are.equal("oauth.json\noauth.json.lock\noauth.json.tmp-cccccccccccc\n", ls(dir))
      assert.are.equal(tonumber("600", 8), core.sys.stat(store).mode)
      -- The recovered refresh token is the live one.
      expire()
      local c = gong.new({ token = oauth.new(app({ store = store })), rate = false })
      assert.is_table(assert(c:folders()))
      c:close()
      local log = refreshes()
      assert.are.equal("ok", log[#log].outcome)
    end)

    it("keeps the store when the temporary one is older", function()
      exchange()
      local before = process.read_file(store)
      local t = stored()
      t.refresh_token = "rt-older-than-the-store"
      process.write_file(store .. ".tmp-0123456789ab", cjson.encode(t))
      os.execute("touch -d '2 minutes ago' '" .. store .. ".tmp-0123456789ab'")
      local source = oauth.new(app({ store = store }))
      assert.is_string(source:base_url())
      assert.are.equal(before, process.read_file(store))
      assert.are.equal("oauth.json\noauth.json.lock\n", ls(dir))
    end)
  end)

  describe("the token endpoint's error bodies", function()
    local function secret_forms(list)
      local forms = {}
      for _, s in ipairs(list) do
        forms[#forms + 1] = s
        forms[#forms + 1] = encode_all(s)
        forms[#forms + 1] = encode_query(s)
      end
      forms[#forms + 1] = base64(CLIENT_ID .. ":" .. SECRET)
      return forms
    end

    local function assert_clean(text, forms)
      for _, form in ipairs(forms) do
        assert.is_nil(tostring(text):find(form, 1, true), "a secret (" .. form .. ") shows in: " .. tostring(text))
      end
    end

    -- An error body that echoes the request in each form, in each field.
    local function echo_body(t)
      local basic = "Authorization: Basic " .. base64(CLIENT_ID .. ":" .. SECRET)
      return cjson.encode({
        error = "invalid_grant grant_type=refresh_token&refresh_token=" .. t.refresh_token .. " " .. basic,
        error_description = "refresh_token=" .. encode_all(t.refresh_token) .. " secret=" .. encode_query(SECRET)
          .. " " .. SECRET .. " " .. basic .. " bearer " .. t.access_token,
      })
    end

    for _, status in ipairs({ 400, 401, 500 }) do
      it("show no secret, raw, percent-encoded or as Basic credentials, in a " .. status .. " error", function()
        exchange()
        expire()
        local t = stored()
        srv:faults({ { path = "/oauth2/generate-customer-token", status = status, body = echo_body(t) } })
        local source = oauth.new(app({ store = store }))
        local token, err = source(false)
        assert.is_nil(token)
        local forms = secret_forms({ t.refresh_token, t.access_token, SECRET })
        assert_clean(tostring(err), forms)
        assert_clean(err.message, forms)
        for _, e in ipairs(err.errors or {}) do assert_clean(e, forms) end
      end)
    end

    it("show no secret on gong-library's stderr either", function()
      exchange()
      expire()
      local t = stored()
      srv:faults({ { path = "/oauth2/generate-customer-token", status = 400, body = echo_body(t) } })
      local _, err, status = process.run({ process.lua, "bin/gong-library", "tree" }, {
        GONG_CLIENT_ID = CLIENT_ID, GONG_CLIENT_SECRET = SECRET, GONG_OAUTH_STORE = store,
        GONG_OAUTH_TOKEN_URL = srv.url .. "/oauth2/generate-customer-token", GONG_RATE_SCOPE = "client" })
      assert.are.equal(1, status)
      assert.matches("invalid_grant", err, 1, true)
      assert_clean(err, secret_forms({ t.refresh_token, t.access_token, SECRET }))
    end)

    it("and gong-library redacts the store's tokens from what the API echoes", function()
      exchange()
      local t = stored()
      srv:faults({ { path = "/tenant", status = 403,
                     body = cjson.encode({ requestId = "r-1", errors = { "token " .. t.access_token .. " is not "
                       .. "allowed here (refresh " .. t.refresh_token .. ")" } }) } })
      local _, err, status = process.run({ process.lua, "bin/gong-library", "folders" }, {
        GONG_CLIENT_ID = CLIENT_ID, GONG_CLIENT_SECRET = SECRET, GONG_OAUTH_STORE = store,
        GONG_OAUTH_TOKEN_URL = srv.url .. "/oauth2/generate-customer-token", GONG_RATE_SCOPE = "client" })
      assert.are.equal(1, status)
      assert.matches("HTTP 403", err, 1, true)
      assert.matches("[redacted]", err, 1, true)
      assert_clean(err, { t.access_token, t.refresh_token })
    end)
  end)

  describe("the lock file and the store's directory", function()
    local USER = "gongspec" .. process.pid()

    it("refuses a lock file of another user, naming it", function()
      if not is_root then return pending("needs root to make a second user (CI runs as root)") end
      if not os.execute("useradd --no-create-home --shell /usr/sbin/nologin " .. USER .. " 2>/dev/null") then
        return pending("useradd failed here")
      end
      finally(function() os.execute("userdel " .. USER .. " 2>/dev/null") end)
      exchange()
      expire()
      os.execute("chown " .. USER .. " '" .. store .. ".lock'")
      local source = oauth.new(app({ store = store }))
      local token, err = source(false)
      assert.is_nil(token)
      assert.are.equal("file", err.kind)
      assert.are.equal("owner", err.reason)
      assert.are.equal(store .. ".lock", err.path)
      assert.matches(store .. ".lock", err.message, 1, true)
      assert.are.same({}, refreshes())
    end)

    it("refuses a directory others may write to, unless it is sticky", function()
      exchange()
      expire()
      os.execute("chmod 777 '" .. dir .. "'")
      local source = oauth.new(app({ store = store }))
      local token, err = source(false)
      assert.is_nil(token)
      assert.are.equal("file", err.kind)
      assert.are.equal("mode", err.reason)
      assert.are.equal(dir, err.path)
      assert.are.equal("drwxrwxrwx", err.detail)
      assert.are.same({}, refreshes())
      -- Sticky (as /tmp is): others cannot replace the user's entries.
      os.execute("chmod 1777 '" .. dir .. "'")
      assert.is_string((source(false)))
    end)
  end)
end)
