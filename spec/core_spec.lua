-- gong.core: the C client, through libcurl, against the fake Gong server.

local core = require "gong.core"
local fake = require "spec.support.fake"
local process = require "spec.support.process"

local creds = fake.credentials
local has_integers = math.type ~= nil

local function b64(s)
  local alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/"
  return ((s:gsub(".", function(ch)
    local byte, bits = ch:byte(), ""
    for i = 8, 1, -1 do bits = bits .. (byte % 2 ^ i - byte % 2 ^ (i - 1) > 0 and "1" or "0") end
    return bits
  end) .. "0000"):gsub("%d%d%d?%d?%d?%d?", function(bits)
    if #bits < 6 then return "" end
    local n = 0
    for i = 1, 6 do n = n + (bits:sub(i, i) == "1" and 2 ^ (6 - i) or 0) end
    return alphabet:sub(n + 1, n + 1)
  end) .. ({ "", "==", "=" })[#s % 3 + 1])
end

local function raises(kind, fn, ...)
  local ok, err = pcall(fn, ...)
  assert.is_false(ok)
  assert.is_true(core.is_error(err), "expected a gong error, got " .. tostring(err))
  assert.are.equal(kind, err.kind)
  return err
end

describe("gong.core", function()
  local srv, client

  local function new(opts)
    local o = {
      base_url = srv.url, access_key = creds.key, access_key_secret = creds.secret,
      rate = false, max_retries = 0,
    }
    for k, v in pairs(opts or {}) do o[k] = v end
    return core.new(o)
  end

  setup(function()
    srv = fake.start()
    client = new()
  end)

  teardown(function()
    client:close()
    srv:stop()
  end)

  before_each(function() srv:reset() end)

  describe("module", function()
    it("has the version of the rockspec and names its libcurl", function()
      local f = assert(io.open("gong-" .. core._VERSION .. "-1.rockspec"))
      f:close()
      assert.matches("^%d+%.%d+%.%d+$", core.curl_version)
    end)
  end)

  describe("core.new()", function()
    it("raises a config error naming an unknown option", function()
      local err = raises("config", core.new, { timout = 5 })
      assert.matches("'timout'", err.message)
    end)

    it("raises a config error naming an option of the wrong type", function()
      assert.matches("'timeout'", raises("config", core.new, { timeout = "5" }).message)
      assert.matches("'headers'", raises("config", core.new, { headers = "x" }).message)
      assert.matches("'rate'", raises("config", core.new, { rate = true }).message)
      assert.matches("'max_retries'", raises("config", core.new, { max_retries = -1 }).message)
      assert.matches("'api'", raises("config", core.new, { api = "v3" }).message)
    end)

    it("raises when both kinds of credentials are given, or half of Basic", function()
      raises("config", core.new, { access_key = "k", access_key_secret = "s", token = "t" })
      raises("config", core.new, { access_key = "k" })
      raises("config", core.new, { access_key_secret = "s" })
    end)

    it("refuses header injection through options", function()
      raises("config", core.new, { token = "abc\r\nX-Evil: 1" })
      raises("config", core.new, { user_agent = "ua\nX-Evil: 1" })
      raises("config", core.new, { headers = { ["X-A"] = "1\r\nX-Evil: 1" } })
      raises("config", core.new, { headers = { ["Bad Name"] = "1" } })
      raises("config", core.new, { headers = { Authorization = "Bearer x" } })
    end)

    it("accepts https, and http only to loopback unless allow_http", function()
      core.new({ base_url = "https://example.gong.io/v2" }):close()
      core.new({ base_url = "http://127.0.0.1:8080/" }):close()
      core.new({ base_url = "http://localhost" }):close()
      core.new({ base_url = "http://[::1]:9/x" }):close()
      raises("config", core.new, { base_url = "http://example.com" })
      core.new({ base_url = "http://example.com", allow_http = true }):close()
      raises("config", core.new, { base_url = "ftp://example.com" })
      raises("config", core.new, { base_url = "not a url" })
      raises("config", core.new, { base_url = "https://example.com/v2?x=1" })
    end)

    it("names the option, and for a base URL the reason, in the error's fields", function()
      local err = raises("config", core.new, { timeout = "5" })
      assert.are.equal("timeout", err.option)
      for url, reason in pairs({ ["http://example.com"] = "plain_http", ["ftp://example.com"] = "scheme",
                                 ["not a url"] = "invalid", ["https://example.com/v2?x=1"] = "query",
                                 ["https://example.com/#f"] = "fragment",
                                 ["https://u:p@example.com"] = "credentials" }) do
        err = raises("config", core.new, { base_url = url })
        assert.are.same({ "base_url", reason }, { err.option, err.reason }, url)
      end
      assert.are.equal("token", raises("config", core.new, { access_key = "k", access_key_secret = "s", token = "t" })
        .option)
    end)

    it("refuses credentials in the base URL without repeating them", function()
      local err = raises("config", core.new, { base_url = "https://user:hunter2@example.com" })
      assert.is_nil(err.message:find("hunter2", 1, true))
      assert.is_nil(tostring(err):find("hunter2", 1, true))
    end)

    it("raises an argument error for options that are not a table", function()
      raises("argument", core.new, "https://example.com")
    end)
  end)

  describe("tostring(client)", function()
    it("shows the base URL and auth kind, never a secret", function()
      local basic = new({ base_url = srv.url .. "/" })
      assert.are.equal("gong.client(" .. srv.url .. ", auth=basic, api=contract)", tostring(basic))
      local bearer = core.new({ base_url = srv.url, token = "sekret-token" })
      assert.are.equal("gong.client(" .. srv.url .. ", auth=bearer, api=contract)", tostring(bearer))
      local none = core.new({ base_url = srv.url })
      assert.are.equal("gong.client(" .. srv.url .. ", auth=none, api=contract)", tostring(none))
      for _, s in ipairs({ tostring(basic), tostring(bearer) }) do
        assert.is_nil(s:find(creds.secret, 1, true))
        assert.is_nil(s:find("sekret", 1, true))
      end
      basic:close()
      assert.are.equal("gong.client(" .. srv.url .. ", auth=basic, api=contract, closed)", tostring(basic))
      bearer:close()
      none:close()
    end)
  end)

  describe("client:folders()", function()
    it("returns every folder with the contract's fields, and the requestId", function()
      local folders, request_id = client:folders()
      assert.is_table(folders)
      assert.is_string(request_id)
      local expected = fake.library().folders
      assert.are.equal(#expected, #folders)
      for i, want in ipairs(expected) do
        local got = folders[i]
        for _, field in ipairs({ "id", "name", "description", "parentFolderId", "callCount",
                                 "createdBy", "created" }) do
          assert.are.equal(want[field], got[field], ("folders[%d].%s"):format(i, field))
        end
      end
    end)

    it("turns JSON null into an absent field, never a truthy cjson.null", function()
      local folders = client:folders()
      local roots = 0
      for _, f in ipairs(folders) do
        if f.parentFolderId == nil then roots = roots + 1 end
        assert.are_not.equal("userdata", type(f.parentFolderId))
        assert.are_not.equal("userdata", type(f.description))
      end
      assert.is_true(roots > 0)
    end)

    it("gives integral numbers as integers where Lua has them, and ids as exact strings", function()
      local folders = client:folders()
      for _, f in ipairs(folders) do
        assert.is_string(f.id)
        assert.is_number(f.callCount)
        if has_integers then
          assert.are.equal("integer", math.type(f.callCount))
          assert.are.equal(tostring(f.callCount), ("%d"):format(f.callCount))
        end
      end
      -- ids beyond 2^53 survive digit for digit
      assert.is_true(#folders[1].id >= 17)
    end)

    it("sends HTTP Basic credentials, Accept and the default User-Agent", function()
      assert(client:folders())
      local req = srv:requests()[1]
      assert.are.equal("GET", req.method)
      assert.are.equal("/library/folders", req.target)
      assert.are.equal("Basic " .. b64(creds.key .. ":" .. creds.secret), req.headers.authorization)
      assert.are.equal("application/json", req.headers.accept)
      assert.matches("^gong%-lua/" .. core._VERSION:gsub("%.", "%%.") .. " libcurl/", req.headers["user-agent"])
    end)

    it("sends a Bearer token, a custom User-Agent and extra headers", function()
      local c = core.new({ base_url = srv.url, token = creds.token, rate = false,
                     user_agent = "my-tool/1.0", headers = { ["X-Trace"] = "abc" } })
      assert(c:folders())
      local req = srv:requests()[1]
      assert.are.equal("Bearer " .. creds.token, req.headers.authorization)
      assert.are.equal("my-tool/1.0", req.headers["user-agent"])
      assert.are.equal("abc", req.headers["x-trace"])
      c:close()
    end)

    it("sends workspaceId as a query-encoded parameter and filters by it", function()
      local lib = fake.library()
      local ws = lib.workspaces[1].id
      local folders = assert(client:folders({ workspaceId = ws }))
      local want = 0
      for _, f in ipairs(lib.folders) do
        if f.workspaceId == ws then want = want + 1 end
      end
      assert.is_true(want > 0 and want < #lib.folders)
      assert.are.equal(want, #folders)
      srv:reset()
      local none = assert(client:folders({ workspaceId = "a b&c=d/é" }))
      assert.are.same({}, none)
      assert.are.equal("workspaceId=a%20b%26c%3Dd%2F%C3%A9", srv:requests()[1].query)
    end)

    it("raises an argument error for bad params", function()
      raises("argument", client.folders, client, "ws")
      raises("argument", client.folders, client, { workspaceID = "1" })
      raises("argument", client.folders, client, { workspaceId = 5 })
      raises("argument", client.folders, client, { workspaceId = "" })
    end)

    it("says an empty string is one when it names what it refused, not its type", function()
      local err = raises("argument", client.folders, client, { workspaceId = "" })
      assert.are.equal("folders: params.workspaceId must be a non-empty string (got an empty string)", err.message)
      err = raises("argument", client.folders, client, { workspaceId = 5 })
      assert.are.equal("folders: params.workspaceId must be a non-empty string (got number)", err.message)
      err = raises("argument", client.calls, client, "")
      assert.are.equal("calls: folderId must be a non-empty string (got an empty string)", err.message)
      err = raises("argument", client.request, client, "call_details", { "1", "" })
      assert.are.equal("call_details: callIds[2] must be a non-empty string (got an empty string)", err.message)
    end)

    it("returns an http error with status, requestId and errors on 401", function()
      local c = new({ access_key_secret = "wrong-secret" })
      local folders, err = c:folders()
      c:close()
      assert.is_nil(folders)
      assert.are.equal("http", err.kind)
      assert.are.equal(401, err.status)
      assert.is_string(err.request_id)
      assert.is_table(err.errors)
      assert.are.equal(srv.url .. "/library/folders", err.url)
      assert.are.equal("gong: HTTP 401 on GET /library/folders: " .. err.errors[1] ..
                       " (request " .. err.request_id .. ")", tostring(err))
      assert.is_nil(tostring(err):find("wrong-secret", 1, true))
    end)

    it("returns a network error when nothing listens", function()
      local c = core.new({ base_url = "http://127.0.0.1:1", token = "t", rate = false, max_retries = 0 })
      local folders, err = c:folders()
      assert.is_nil(folders)
      assert.are.equal("network", err.kind)
      assert.are.equal(1, err.attempts)
      assert.matches("^gong: network error on GET /library/folders: ", tostring(err))
    end)
  end)

  describe("client:calls()", function()
    it("returns the calls of a folder with the contract's fields", function()
      local lib = fake.library()
      local folder
      for _, f in ipairs(lib.folders) do
        if (f.callCount or 0) > 3 then folder = f break end
      end
      local calls, request_id = client:calls(folder.id)
      assert.is_string(request_id)
      local want = lib.calls[folder.id]
      assert.are.equal(#want, #calls)
      for i, call in ipairs(want) do
        for _, field in ipairs({ "callId", "title", "url", "started", "duration", "primaryUserId",
                                 "addedToLibraryAt", "addedBy" }) do
          assert.are.equal(call[field], calls[i][field], ("calls[%d].%s"):format(i, field))
        end
      end
      assert.are.equal("/library/folders/" .. folder.id .. "/calls", srv:requests()[1].target)
    end)

    it("keeps fractional durations and makes integral ones integers", function()
      local lib = fake.library()
      local seen_fraction = false
      for _, f in ipairs(lib.folders) do
        for _, call in ipairs((assert(client:calls(f.id)))) do
          if call.duration % 1 ~= 0 then seen_fraction = true
          elseif has_integers then assert.are.equal("integer", math.type(call.duration)) end
        end
        if seen_fraction then break end
      end
      assert.is_true(seen_fraction)
    end)

    it("percent-encodes the folder id as exactly one path segment", function()
      local cases = {
        ["a/b"] = "a%2Fb", [".."] = "%2E%2E", ["."] = "%2E", ["?x=1"] = "%3Fx%3D1",
        ["#frag"] = "%23frag", ["100%"] = "100%25", ["a b"] = "a%20b", ["é"] = "%C3%A9",
        ["a\r\nX-Evil: 1"] = "a%0D%0AX-Evil%3A%201", ["nul\0byte"] = "nul%00byte",
        ["../../etc/passwd"] = "..%2F..%2Fetc%2Fpasswd", ["%2F"] = "%252F",
      }
      for id, encoded in pairs(cases) do
        srv:reset()
        local calls, err = client:calls(id)
        assert.is_nil(calls)
        assert.are.equal(404, err.status)
        local req = srv:requests()[1]
        assert.are.equal("/library/folders/" .. encoded .. "/calls", req.target, id)
      end
    end)

    it("reaches a folder whose id has special characters", function()
      local lib = fake.library()
      local calls = assert(client:calls(lib.special_id))
      assert.are.equal(#lib.calls[lib.special_id], #calls)
      assert.is_true(#calls > 0)
    end)

    it("cuts a long URL in an error's message in the middle, with …, keeping its end", function()
      local id = ("7"):rep(150) .. ("8"):rep(150)
      local calls, err = client:calls(id)
      assert.is_nil(calls)
      assert.are.equal(404, err.status)
      local path = err.message:match("^HTTP 404 on GET (%S+): ")
      assert.truthy(path, err.message)
      assert.truthy(path:find("^/library/folders/7+…8+/calls$"), path)
      assert.is_true(#path < #("/library/folders/" .. id .. "/calls"))
      assert.truthy(err.url:find(id .. "/calls", 1, true), "the error's url field stays whole")
    end)

    it("returns an http error of status 404 for an unknown folder", function()
      local calls, err = client:calls("no-such-folder")
      assert.is_nil(calls)
      assert.are.equal("http", err.kind)
      assert.are.equal(404, err.status)
      assert.is_string(err.request_id)
    end)

    it("raises an argument error for an empty or non-string id", function()
      raises("argument", client.calls, client)
      raises("argument", client.calls, client, "")
      raises("argument", client.calls, client, 42)
      raises("argument", client.calls, client, {})
    end)
  end)

  describe('api = "public"', function()
    it("lists calls from /library/folder-content?folderId=, under the contract's names", function()
      local lib = fake.library()
      local c = new({ api = "public" })
      local calls, request_id = c:calls(lib.special_id)
      assert.is_string(request_id)
      assert.are.equal(#lib.calls[lib.special_id], #calls)
      assert.are.equal(lib.calls[lib.special_id][1].callId, calls[1].callId)
      assert.is_nil(calls[1].id)
      local req = srv:requests()[1]
      assert.are.equal("/library/folder-content", req.path)
      assert.are.equal("folderId=odd%2Fid%20%3F%23%25%C3%A9%26%3D%2B", req.query)
      local folders = assert(c:folders())
      assert.are.equal(#lib.folders, #folders)
      local none, err = c:calls("missing")
      assert.is_nil(none)
      assert.are.equal(404, err.status)
      c:close()
    end)
  end)

  describe("decoding", function()
    local function with_body(body, status)
      srv:faults({ { status = status or 200, body = body } })
      return client:folders()
    end

    local function decode_error(body)
      local folders, err = with_body(body)
      assert.is_nil(folders)
      assert.are.equal("decode", err.kind)
      return err
    end

    it("treats a missing or null list as empty", function()
      assert.are.same({}, (with_body('{"requestId":"r1"}')))
      assert.are.same({}, (with_body('{"requestId":"r1","folders":null}')))
      local folders, rid = with_body('{"requestId":"r2","folders":[]}')
      assert.are.same({}, folders)
      assert.are.equal("r2", rid)
    end)

    it("normalizes nulls and integers in every field, known or not", function()
      local folders = with_body('{"folders":[{"id":"1","callCount":12.0,"x":3.5,' ..
                                '"nested":{"n":2,"z":null},"parentFolderId":null}]}')
      local f = folders[1]
      assert.are.equal(12, f.callCount)
      assert.are.equal(3.5, f.x)
      assert.is_nil(f.parentFolderId)
      assert.is_nil(f.nested.z)
      if has_integers then
        assert.are.equal("integer", math.type(f.callCount))
        assert.are.equal("integer", math.type(f.nested.n))
        assert.are.equal("12", tostring(f.callCount))
      end
    end)

    -- decode.c trusts a record's known fields when the body's unescaped '"'
    -- are all accounted for by them (two per key and per string); each of
    -- these bodies has one more field than that, disguised, and its null
    -- must still go.
    it("normalizes a field outside the contract that escaped quotes would hide", function()
      for _, body in ipairs({
        [[{"folders":[{"id":"a\"b","x":null}]}]], -- an escaped '"'
        [[{"folders":[{"id":"a\\\"b","x":null}]}]], -- one after an odd run of '\'
        [[{"folders":[{"id":"a\\","name":"b\\","x":null}]}]], -- '"' after even runs end strings
        [[{"requestId":"r","records":{"c":"d"},"folders":[{"id":"1","x":null}]}]], -- the envelope
        [[{"folders":[{"id":"1","x":null,"x":null}]}]], -- a key given twice
      }) do
        local f = assert(with_body(body))[1]
        assert.is_nil(f.x, body)
      end
      local f = with_body([[{"folders":[{"id":"a\"b","n":2.0}]}]])[1]
      assert.are.equal('a"b', f.id)
      if has_integers then assert.are.equal("integer", math.type(f.n)) end
    end)

    it("normalizes the known fields of a body that has no others", function()
      local folders = with_body([[{"requestId":"r","records":{"cursor":"c","n":3},]] ..
                                [["folders":[{"id":"a\"b","name":"c\\","callCount":2.0,]] ..
                                [["parentFolderId":null}]}]])
      local f = folders[1]
      assert.are.same({ id = 'a"b', name = "c\\", callCount = 2 }, f)
      if has_integers then assert.are.equal("integer", math.type(f.callCount)) end
    end)

    it("says what is wrong with a body of the wrong shape", function()
      assert.matches("not valid JSON", decode_error("<html>oops</html>").message)
      assert.matches("not valid JSON", decode_error('{"folders":[{"id":"1"}').message)
      assert.matches("expected a JSON object", decode_error("[1,2]").message)
      assert.matches("'folders' is a number", decode_error('{"folders":3}').message)
      assert.matches("'folders' is an object", decode_error('{"folders":{"a":1}}').message)
      assert.matches("'folders%[2%]' is a string", decode_error('{"folders":[{},"x"]}').message)
      assert.matches("'folders%[1%]' is null", decode_error('{"folders":[null]}').message)
      assert.matches("'folders%[1%]%.id' is an object, expected a string",
                     decode_error('{"folders":[{"id":{"a":1}}]}').message)
      assert.matches("'folders%[1%]%.id' is a number", decode_error('{"folders":[{"id":12}]}').message)
      assert.matches("'folders%[1%]%.callCount' is a fractional number, expected a count",
                     decode_error('{"folders":[{"id":"1","callCount":1.5}]}').message)
      assert.matches("not valid JSON", decode_error('{"folders":[NaN]}').message)
      local deep = ("["):rep(100000) .. ("]"):rep(100000)
      assert.matches("not valid JSON", decode_error('{"folders":' .. deep .. "}").message)
    end)

    it("keeps the status and URL on a decode error", function()
      local err = decode_error("nope")
      assert.are.equal(200, err.status)
      assert.are.equal(srv.url .. "/library/folders", err.url)
      assert.matches("^gong: invalid response to GET /library/folders: ", tostring(err))
    end)

    it("gives a clean http error for a non-JSON error page", function()
      local folders, err = with_body("<html><body>502 Bad Gateway</body></html>", 502)
      assert.is_nil(folders)
      assert.are.equal("http", err.kind)
      assert.are.equal(502, err.status)
      assert.are.equal("gong: HTTP 502 on GET /library/folders: Bad Gateway", tostring(err))
      assert.is_nil(err.request_id)
    end)

    it("leaves the host application's cjson settings alone", function()
      local cjson = require "cjson"
      cjson.decode_max_depth(2)
      local ok = pcall(cjson.decode, '{"a":{"b":{"c":1}}}')
      assert.is_false(ok)
      local folders = assert(client:folders())
      assert.is_true(#folders > 0)
      assert.is_false((pcall(cjson.decode, '{"a":{"b":{"c":1}}}')))
      cjson.decode_max_depth(1000)
    end)
  end)

  describe("client:close()", function()
    it("is idempotent and makes later requests return a closed error", function()
      local c = new()
      c:close()
      c:close()
      local folders, err = c:folders()
      assert.is_nil(folders)
      assert.are.equal("closed", err.kind)
      local calls, err2 = c:calls("1")
      assert.is_nil(calls)
      assert.are.equal("closed", err2.kind)
    end)

    it("is what the garbage collector does too", function()
      for _ = 1, 50 do
        local c = new()
        assert(c:folders())
      end
      collectgarbage()
      collectgarbage()
      assert(client:folders())
    end)
  end)

  describe("the rate window's parts", function()
    it("client.tenant: a hash of the base URL and the key id or token, never of the secret", function()
      local function tenant(o) return core.new(o).tenant end
      local a = tenant({ base_url = "https://x.gong.io/v2", access_key = "k", access_key_secret = "s1" })
      assert.matches("^%x+$", a)
      assert.are.equal(16, #a)
      assert.are.equal(a, tenant({ base_url = "https://x.gong.io/v2", access_key = "k", access_key_secret = "s2" }))
      assert.are_not.equal(a, tenant({ base_url = "https://y.gong.io/v2", access_key = "k", access_key_secret = "s1" }))
      assert.are_not.equal(a, tenant({ base_url = "https://x.gong.io/v2", token = "k" }))
    end)

    it("rate_duration(rate, n): from the first of n starts to the last, the limiter's margin included", function()
      assert.are.equal(0, core.rate_duration(3, 1))
      assert.are.equal(0, core.rate_duration(3, 0))
      -- 3 starts in each window of 1 s and the 50 ms margin
      assert.is_true(math.abs(core.rate_duration(3, 3) - 0) < 1e-9)
      assert.is_true(math.abs(core.rate_duration(3, 4) - 1.05) < 1e-9)
      assert.is_true(math.abs(core.rate_duration(3, 207) - 68 * 1.05) < 1e-9)
      -- one start every 2 s at a rate of 0.5, and the margin
      assert.is_true(math.abs(core.rate_duration(0.5, 3) - 2 * 2.05) < 1e-9)
      assert.matches("rate must be > 0", raises("argument", core.rate_duration, 0, 2).message)
      assert.matches("rate must be a number", raises("argument", core.rate_duration, "x", 2).message)
    end)

    it("rate_window(state, now, rate): rate starts in any window, and the wait until the next", function()
      local state, delay
      for _ = 1, 3 do
        delay, state = core.rate_window(state, 1000, 3)
        assert.are.equal(0, delay)
      end
      assert.matches("^gong rate state 2\n", state)
      local wait = core.rate_window(state, 1000.5, 3)
      assert.is_true(math.abs(wait - 0.55) < 1e-6, "the first start leaves the window at 1001.05: " .. wait)
      delay = core.rate_window(state, 1001.06, 3)
      assert.are.equal(0, delay)
      local none, damaged = core.rate_window("hello", 1000, 3)
      assert.is_nil(none)
      assert.are.equal("config", damaged.kind)
      assert.are.equal("not a gong rate state, or a damaged one", damaged.message)
      assert.matches("rate must be > 0", raises("argument", core.rate_window, nil, 1000, 0).message)
      assert.matches("now must be seconds", raises("argument", core.rate_window, nil, -1, 3).message)
      assert.matches("^rate_window: rate must be a number",
                     raises("argument", core.rate_window, nil, 1000, "x").message)
    end)

    it("rate_refused(state, now, rate, started, retry_after): a 429 halves the rate and pauses every start", function()
      local _, state = core.rate_window(nil, 1000, 4)
      state = assert(core.rate_refused(state, 1000.1, 4, 1000, 1))
      assert.matches("^gong rate state 2\n", state)
      -- the Retry-After: no start until 1001.1, whoever asks
      local wait = core.rate_window(state, 1000.5, 4)
      assert.is_true(math.abs(wait - 0.6) < 1e-6, "paused until 1001.1: " .. wait)
      -- then 2 starts a window, not 4
      local delay
      for _ = 1, 2 do
        delay, state = core.rate_window(state, 1001.1, 4)
        assert.are.equal(0, delay)
      end
      assert.is_true(core.rate_window(state, 1001.1, 4) > 0, "a third start waits at half the rate")
      -- a 429 to a request started before the cut says nothing new: no second cut
      local again = assert(core.rate_refused(state, 1001.2, 4, 1000.05))
      assert.are.equal(state:sub(1, 18 + 13), again:sub(1, 18 + 13))
      -- a later one cuts again
      local later = assert(core.rate_refused(state, 1001.2, 4, 1001.1))
      assert.are_not.equal(state:sub(19, 18 + 13), later:sub(19, 18 + 13))
      assert.is_nil((core.rate_refused("hello", 1000, 4, 999)))
    end)

    it("rate_window: the rate comes back with time after a cut, up to the configured rate", function()
      local state = assert(core.rate_refused(nil, 1000, 6, 999))
      local function starts_at(now)
        local s, n = state, 0
        while n < 10 do
          local delay, next_state = core.rate_window(s, now, 6)
          if delay > 0 then break end
          s, n = next_state, n + 1
        end
        return n
      end
      assert.are.equal(3, starts_at(1000))
      assert.are.equal(3, starts_at(1000.5))
      -- fast up to 60 % of the rate refused, then slowly
      assert.are.equal(3, starts_at(1001.9))
      assert.are.equal(4, starts_at(1020))
      assert.are.equal(6, starts_at(1300))
    end)

    it("rate_window reads a version 1 state: its starts count, nothing was taught", function()
      local v1 = "gong rate state 1\n" .. ("%017.6f\n"):format(1000):rep(3)
      local delay = core.rate_window(v1, 1000.5, 3)
      assert.is_true(delay > 0, "the three starts of the version 1 state fill the window")
      local state
      delay, state = core.rate_window(v1, 1001.1, 3)
      assert.are.equal(0, delay)
      assert.matches("^gong rate state 2\n", state)
    end)
  end)

  describe("what the core exports", function()
    -- The property names of a schema of the contract, in the order written.
    local function contract_fields(schema)
      local doc = assert(io.open("doc/gong-library-openapi.yml")):read("*a")
      local body = assert(doc:match("\n    " .. schema .. ":\n      type: object\n      properties:\n(.-)\n    %S"),
                          schema)
      local names = {}
      for name in body:gmatch("\n?        (%w+):\n") do names[#names + 1] = name end
      return names
    end

    it("FOLDER_FIELDS and CALL_FIELDS: the contract's LibraryFolder and LibraryCall fields, in its order", function()
      assert.are.same(contract_fields("LibraryFolder"), core.FOLDER_FIELDS)
      assert.are.same(contract_fields("LibraryCall"), core.CALL_FIELDS)
      assert.are.equal(7, #core.FOLDER_FIELDS)
      assert.are.equal(8, #core.CALL_FIELDS)
    end)

    it("FOLDER_FIELDS are the fields whose types decoding checks", function()
      for _, field in ipairs(core.FOLDER_FIELDS) do
        srv:faults({ { body = '{"folders":[{"' .. field .. '":{}}]}' } })
        local folders, err = client:folders()
        assert.is_nil(folders, field)
        assert.matches("'folders%[1%]%." .. field .. "' is an object", err.message)
      end
    end)

    it("options: every option of new(), with its kind, and a default that new() uses", function()
      local names = {}
      for name, spec in pairs(core.options) do
        names[#names + 1] = name
        assert.is_string(spec.kind, name)
      end
      table.sort(names)
      assert.are.same({ "access_key", "access_key_secret", "allow_http", "api", "backoff_base", "backoff_max",
        "base_url", "ca_file", "connect_timeout", "deadline", "headers", "insecure", "max_response_bytes",
        "max_retries", "max_retry_wait", "on_attempt", "on_wait", "rate", "rate_scope", "stall_timeout", "timeout",
        "token", "user_agent" }, names)
      for name, spec in pairs(core.options) do
        -- Its default is accepted as a value; a number outside its range is refused.
        if spec.default ~= nil then core.new({ [name] = spec.default }):close() end
        if spec.kind == "number" or spec.kind == "limit" then
          local err = raises("config", core.new, { [name] = spec.max * 2 + 1 })
          assert.matches("'" .. name .. "' must be a number from", err.message)
        end
      end
      assert.are.same({ "auto", "contract", "public" }, core.options.api.choices)
      assert.are.equal("auto", core.options.api.default)
      assert.are.same({ "client", "host" }, core.options.rate_scope.choices)
      assert.are.equal("client", core.options.rate_scope.default)
      assert.are.equal(3, core.options.rate.default)
      -- A limit has none by default; a function option takes a function only.
      assert.are.same({ kind = "limit", min = 0.001, max = 86400 }, core.options.deadline)
      assert.are.same({ kind = "function" }, core.options.on_wait)
      assert.matches("'on_wait' must be a function %(got string%)",
                     raises("config", core.new, { on_wait = "x" }).message)
      if has_integers then assert.are.equal("integer", math.type(core.options.timeout.default)) end
    end)

    it("DEFAULT_BASE_URL: where a client goes without base_url", function()
      assert.are.equal("https://api.gong.io/v2", core.DEFAULT_BASE_URL)
      assert.are.equal(core.DEFAULT_BASE_URL, core.options.base_url.default)
      local c = core.new()
      assert.are.equal("gong.client(" .. core.DEFAULT_BASE_URL .. ", auth=none, api=public)", tostring(c))
      c:close()
    end)

    it("DEFAULT_CONCURRENCY and MAX_CONCURRENCY: what calls_batch starts at once, and accepts", function()
      assert.are.equal(3, core.DEFAULT_CONCURRENCY)
      assert.are.equal(64, core.MAX_CONCURRENCY)
      require "gong" -- calls_batch is gong.client's, installed in core.Client by gong
      local id = fake.library().folders[1].id
      assert.is_table(client:calls_batch({ id }, { concurrency = core.MAX_CONCURRENCY }))
      assert.matches("from 1 to " .. core.MAX_CONCURRENCY,
                     raises("argument", client.calls_batch, client, { id }, { concurrency = core.MAX_CONCURRENCY + 1 })
                       .message)
    end)

    it("_VERSION: gong.version's, built in: the core loads without gong's Lua modules", function()
      assert.are.equal(require("gong.version"), core._VERSION)
      -- No Lua module of gong on the path: the core needs none of them.
      local out, err, status = process.run({ process.lua, "-e", "print(require('gong.core')._VERSION)" },
                                           { LUA_PATH = "/nonexistent/?.lua" })
      assert.are.equal(0, status, err)
      assert.are.equal(require("gong.version") .. "\n", out)
    end)

    it("Client: the methods' table of every client, so Lua can add methods to the class", function()
      local c = new()
      assert.are.equal(core.Client.folders, c.folders)
      core.Client.spec_added = function() return "added" end
      assert.are.equal("added", c:spec_added())
      core.Client.spec_added = nil
      assert.is_nil(c.spec_added)
      c:close()
    end)
  end)

  describe("core.sys.read_private_file()", function()
    local dir

    setup(function() dir = process.tmpdir() end)
    teardown(function() os.execute("rm -rf " .. process.quote(dir)) end)

    local function file(name, content, mode)
      return process.write_file(dir .. "/" .. name, content, mode)
    end

    it("reads a file only its owner can access, a symlink by its target, and a pipe", function()
      local path = file("private", "A=1\n", "600")
      assert.are.equal("A=1\n", core.sys.read_private_file(path))
      assert.are.equal("A=1\n", core.sys.read_private_file(file("readonly", "A=1\n", "400")))
      os.execute("ln -s '" .. path .. "' '" .. dir .. "/link'")
      assert.are.equal("A=1\n", core.sys.read_private_file(dir .. "/link"))
      local fifo = dir .. "/fifo"
      os.execute("mkfifo -m 600 '" .. fifo .. "' && (printf piped > '" .. fifo .. "' &)")
      assert.are.equal("piped", core.sys.read_private_file(fifo))
    end)

    it("refuses a file group or others may access, giving its mode as ls shows it", function()
      for mode, shown in pairs({ ["640"] = "-rw-r-----", ["604"] = "-rw----r--", ["620"] = "-rw--w----",
                                 ["601"] = "-rw------x", ["2600"] = nil }) do
        local content, err = core.sys.read_private_file(file("m" .. mode, "x", mode))
        if shown then
          assert.is_nil(content, mode)
          assert.are.equal("file", err.kind)
          assert.are.equal("mode", err.reason)
          assert.are.equal(shown, err.detail)
        else
          assert.are.equal("x", content, "set-gid alone grants nothing")
        end
      end
    end)

    it("refuses a file another user owns", function()
      local path = file("foreign", "x", "600")
      local is_root = io.popen("id -u"):read("*l") == "0"
      if is_root then
        os.execute("chown 65534 '" .. path .. "'")
      else
        path = "/etc/hostname" -- root's, and readable
      end
      local content, err = core.sys.read_private_file(path)
      assert.is_nil(content)
      assert.are.equal("owner", err.reason)
      assert.matches("^%d+$", err.detail)
    end)

    it("refuses a directory and says why a file cannot be opened", function()
      local none, err = core.sys.read_private_file(dir)
      assert.is_nil(none)
      assert.are.same({ "type", dir }, { err.reason, err.path })
      none, err = core.sys.read_private_file(dir .. "/missing")
      assert.is_nil(none)
      assert.are.same({ "missing", "No such file or directory" }, { err.reason, err.detail })
      assert.are.equal(dir .. "/missing does not exist", err.message)
    end)
  end)

  describe("core.sys.catch_signals() and core.sys.guard_file()", function()
    local dir

    setup(function() dir = process.tmpdir() end)
    teardown(function() os.execute("rm -rf " .. process.quote(dir)) end)

    -- A child that guards `path` (creating it), says "ready", then does `rest`.
    local function child(path, rest)
      local code = ([[
        local core = require "gong.core"
        core.sys.catch_signals()
        core.sys.guard_file(%q)
        io.open(%q, "w"):close()
        print("ready")
        io.stdout:flush()
      ]]):format(path, path) .. rest
      local pid, finish = process.spawn({ process.lua, "-e", code })
      local deadline = os.time() + 10
      while not process.read_file(path) do
        assert(os.time() < deadline, "the child never started")
        os.execute("sleep 0.02")
      end
      return pid, finish
    end

    it("a second SIGINT removes the guarded files and ends the process, even one that ignores the first", function()
      local path = dir .. "/stubborn.tmp"
      -- The first SIGINT raises "interrupted!", which this child swallows, forever.
      local pid, finish = child(path, "while true do pcall(function() while true do end end) end")
      os.execute("kill -INT " .. pid)
      os.execute("sleep 0.3")
      assert.is_false(process.exited(pid), "the first SIGINT only interrupts")
      assert.truthy(process.read_file(path), "and leaves the file for the program to clean up")
      os.execute("kill -INT " .. pid)
      local out, _, status = finish()
      assert.are.equal("ready\n", out)
      assert.are.equal(130, status)
      assert.is_nil(process.read_file(path))
    end)

    it("SIGTERM removes them too, and a file unguarded in time is kept", function()
      local kept, gone = dir .. "/kept", dir .. "/gone"
      local pid, finish = child(gone, ("require('gong.core').sys.guard_file(%q) io.open(%q, 'w'):close() "
        .. "require('gong.core').sys.unguard_file(%q) print('both') io.stdout:flush() "
        .. "while true do end"):format(kept, kept, kept))
      local deadline = os.time() + 10
      while not process.read_file(kept) do
        assert(os.time() < deadline, "the child never made the second file")
        os.execute("sleep 0.02")
      end
      os.execute("sleep 0.2")
      os.execute("kill -TERM " .. pid)
      local out, _, status = finish()
      assert.are.equal("ready\nboth\n", out)
      assert.are.equal(143, status)
      assert.is_nil(process.read_file(gone))
      assert.are.equal("", process.read_file(kept))
    end)
  end)

  describe("core.error()", function()
    it("gives every error an errors list, empty unless the server sent some", function()
      assert.are.same({}, core.error("network", "down").errors)
      assert.are.same({ "a" }, core.error("http", "x", { errors = { "a" } }).errors)
      local c = core.new({ base_url = "http://127.0.0.1:1", token = "t", rate = false, max_retries = 0 })
      local _, err = c:folders()
      assert.are.same({}, err.errors)
      assert.is_nil(err.errors[1])
    end)

    it("says how many attempts there were, once, beside the request id", function()
      assert.are.equal("gong: x (2 attempts)", tostring(core.error("http", "x", { attempts = 2 })))
      assert.are.equal("gong: x (2 attempts, request r)", tostring(core.error("http", "x", { attempts = 2,
                                                                                             request_id = "r" })))
      assert.are.equal("gong: x (request r)", tostring(core.error("http", "x", { attempts = 1, request_id = "r" })))
    end)

    it("makes errors of the same shape, whose tostring is one line", function()
      local err = core.error("http", "HTTP 500 on GET /x:\nboom", { status = 500, request_id = "r9",
                                                                       kind = "ignored" })
      assert.is_true(core.is_error(err))
      assert.are.equal("http", err.kind)
      assert.are.equal(500, err.status)
      assert.are.equal("gong: HTTP 500 on GET /x: boom (request r9)", tostring(err))
      assert.is_false(core.is_error({ kind = "http" }))
      assert.is_false(core.is_error("x"))
    end)
  end)
end)
