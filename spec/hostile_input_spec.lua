-- What a server, a token endpoint or a shell can hand gong that no honest
-- one would: a Retry-After that is no number, numbers out of any sane range,
-- a success that is no answer at all, a token that is dead before it is
-- handed out, and a program started with its standard output closed. Each
-- is read the safe way and said plainly (issue 20).

local core = require "gong.core"
local oauth = require "gong.oauth"
local fake = require "spec.support.fake"
local process = require "spec.support.process"

local creds = fake.credentials

describe("hostile input", function()
  local srv

  setup(function() srv = fake.start({ folders = 4 }) end)
  teardown(function() srv:stop() end)
  before_each(function() srv:reset() end)

  -- A client that never sleeps long: backoff of at most 0.2 s, no rate limit.
  local function new(opts)
    local o = { base_url = srv.url, token = creds.token, rate = false, backoff_base = 0.05, backoff_max = 0.2 }
    for k, v in pairs(opts or {}) do o[k] = v end
    return core.new(o)
  end

  describe("a Retry-After", function()
    -- The error of one 429 carrying `value`, with no retry left.
    local function refused_with(value, opts)
      opts = opts or { max_retries = 0 }
      srv:reset()
      srv:faults({ { status = 429, times = opts.max_retries + 1, headers = { ["Retry-After"] = value } } })
      local c = new(opts)
      local folders, err = c:folders()
      assert.is_nil(folders)
      assert.are.equal("rate_limited", err.kind)
      return err, c
    end

    for _, value in ipairs({ "abc", "-3", "1.5", "Sun, 99 Foo 2026 25:61:61 GMT", "" }) do
      it(("counts %q as not said: the backoff applies"):format(value), function()
        local err = refused_with(value)
        assert.is_nil(err.retry_after)
        assert.is_nil(err.halt)
        local wait = new():retry_in(err, 1)
        assert.is_number(wait, "a backoff, not a refusal")
        assert.is_true(wait <= 0.2, "at most backoff_max, got " .. tostring(wait))
      end)
    end

    it("counts a value too large to read as longer than max_retry_wait: rate_limited at once", function()
      local err, c = refused_with("99999999999999999999", { max_retries = 5 })
      assert.are.equal(1, err.attempts)
      assert.are.equal(1, #srv:requests())
      assert.is_true(err.halt)
      assert.is_nil(err.retry_after, "no number gong could give would be the server's")
      assert.matches("the server asks to wait longer than max_retry_wait %(60 s%)", err.message)
      assert.is_nil(c:retry_in(err, 1), "a host that retries itself stops too")
    end)

    it("says in the message that the server asks to wait longer than the client waits", function()
      local err = refused_with("86400", { max_retries = 5 })
      assert.are.equal(86400, err.retry_after)
      assert.are.equal(1, err.attempts)
      assert.matches("the server asks to wait 86400 s, longer than max_retry_wait %(60 s%)", err.message)
    end)

    it("still takes a plain number of seconds as said", function()
      local err = refused_with("0")
      assert.are.equal(0, err.retry_after)
      err = refused_with(" 7")
      assert.are.equal(7, err.retry_after)
    end)
  end)

  describe("a folder's callCount", function()
    local function decode_error(count)
      srv:faults({ { body = '{"requestId":"r","folders":[{"id":"1","name":"a","callCount":' .. count .. '}]}' } })
      local folders, err = new():folders()
      assert.is_nil(folders, count)
      assert.are.equal("decode", err.kind)
      return err.message
    end

    it("that no integer holds is out of range, not fractional", function()
      assert.matches("'folders%[1%]%.callCount' is out of range, expected a count", decode_error("1e400"))
      assert.matches("'folders%[1%]%.callCount' is out of range", decode_error("9223372036854775808"))
      assert.matches("'folders%[1%]%.callCount' is out of range", decode_error("-1e400"))
    end)

    it("that is negative is an error saying so", function()
      assert.matches("'folders%[1%]%.callCount' is negative %(%-3%), expected a count", decode_error("-3"))
    end)

    it("that is fractional is still called fractional", function()
      assert.matches("'folders%[1%]%.callCount' is a fractional number", decode_error("2.5"))
    end)

    it("of 0 and of a large real count are accepted", function()
      srv:faults({ { body = '{"requestId":"r","folders":[{"id":"1","callCount":0},'
        .. '{"id":"2","callCount":123456789}]}' } })
      local folders = assert(new():folders())
      assert.are.equal(0, folders[1].callCount)
      assert.are.equal(123456789, folders[2].callCount)
    end)
  end)

  describe("a success that is no answer", function()
    -- What client:request(kind, ...) gives for a 200 whose body is `body`.
    local function answer(body, kind, ...)
      srv:faults({ { body = body } })
      return new():request(kind, ...)
    end

    for _, case in ipairs({
      { "folders", "folders" }, { "calls", "calls", "f1" }, { "workspaces", "workspaces" },
      { "calls", "call_details", { "c1" } }, { "callTranscripts", "transcripts", { "c1" } },
    }) do
      local list, kind, arg = case[1], case[2], case[3]
      it(("{} to a %s request is a decode error saying the answer lacks its list"):format(kind), function()
        local got, err = answer("{}", kind, arg)
        assert.is_nil(got)
        assert.are.equal("decode", err.kind)
        assert.matches("the answer has neither '" .. list .. "' nor a requestId", err.message, 1, true)
      end)
    end

    it("is not one that has a requestId: Gong may leave an empty list out", function()
      local folders, rid = answer('{"requestId":"r1"}', "folders")
      assert.are.same({}, folders)
      assert.are.equal("r1", rid)
      local details = assert(answer('{"requestId":"r2","records":{}}', "call_details", { "c1" }))
      assert.are.same({}, details)
    end)

    it("is not one that has its list and no requestId", function()
      assert.are.same({}, (answer('{"folders":[]}', "folders")))
    end)
  end)

  describe("an OAuth token's lifetime", function()
    local function answered(expires_in)
      local body = ('{"access_token":"at-hostile","refresh_token":"rt-next","scope":"api:library:read",'
        .. '"expires_in":%s,"api_base_url_for_customer":"%s/tenant"}'):format(expires_in, srv.url)
      srv:faults({ { path = "/oauth2/", body = body } })
      local source = oauth.new({ client_id = creds.client_id, client_secret = creds.client_secret,
                                 token_url = srv.url .. "/oauth2/generate-customer-token",
                                 refresh_token = "rt-first" })
      local token, life = source(false)
      assert.are.equal("at-hostile", token)
      return life, source
    end

    it("that is not positive is read as the shortest one gong believes", function()
      for _, given in ipairs({ "-1e308", "0", "-5" }) do
        local life, source = answered(given)
        assert.are.equal(oauth.TOKEN_LIFETIME.min, source.state.expires_in, given)
        assert.is_true(life > 0, given .. ": a token handed out for " .. life .. " s")
      end
    end)

    it("that is beyond any real one is read as the longest", function()
      local _, source = answered("1e308")
      assert.are.equal(oauth.TOKEN_LIFETIME.max, source.state.expires_in)
    end)

    it("that is short but real is believed", function()
      local _, source = answered("3")
      assert.are.equal(3, source.state.expires_in)
    end)
  end)

  describe("gong-library with standard output closed", function()
    local dir

    before_each(function() dir = process.tmpdir() end)
    after_each(function() os.execute("rm -rf " .. process.quote(dir)) end)

    local function env(extra)
      local e = { GONG_BASE_URL = srv.url, GONG_ACCESS_KEY = creds.key, GONG_ACCESS_KEY_SECRET = creds.secret,
                  GONG_PROGRESS = "", GONG_CREDENTIALS_FILE = "", XDG_RUNTIME_DIR = dir }
      for k, v in pairs(extra or {}) do e[k] = v end
      return e
    end

    -- Runs gong-library `args` from a shell that closed fd `fd` (1 or "1 2"):
    -- stderr (when open) and the exit status.
    local function run_closed(fds, args, extra)
      local argv = { process.lua, "bin/gong-library" }
      for _, a in ipairs(args) do argv[#argv + 1] = a end
      local errfile = os.tmpname()
      local closes = {}
      for fd in fds:gmatch("%d") do closes[#closes + 1] = "exec " .. fd .. ">&-; " end
      local p = assert(io.popen("(exec 2>" .. errfile .. "; " .. table.concat(closes)
        .. process.command(argv, env(extra)) .. "); echo \"exit:$?\"", "r"))
      local out = p:read("*a")
      p:close()
      local err = process.read_file(errfile)
      os.remove(errfile)
      return err, tonumber(out:match("exit:(%d+)"))
    end

    local function run(args, extra)
      local argv = { process.lua, "bin/gong-library" }
      for _, a in ipairs(args) do argv[#argv + 1] = a end
      return process.run(argv, env(extra))
    end

    it("fails with status 1 and says so, and leaves the rate state whole for the next run", function()
      local err, status = run_closed("1", { "workspaces" }, { GONG_RATE_SCOPE = "host" })
      assert.are.equal(1, status)
      assert.matches("^gong%-library: cannot write [^\n]*\n$", err)
      local out, err2, status2 = run({ "workspaces" }, { GONG_RATE_SCOPE = "host" })
      assert.are.equal(0, status2, err2)
      assert.are.equal("", err2)
      assert.matches("Sales", out)
    end)

    it("fails with status 1 with a window of its own too, where libcurl's descriptors came to sit on it", function()
      local err, status = run_closed("1", { "workspaces" }, { GONG_RATE_SCOPE = "client" })
      assert.are.equal(1, status)
      assert.matches("^gong%-library: cannot write [^\n]*\n$", err)
    end)

    it("exits 1 when stderr is closed as well", function()
      local _, status = run_closed("1 2", { "workspaces" }, { GONG_RATE_SCOPE = "client" })
      assert.are.equal(1, status)
    end)

    it("says the output was lost when --version cannot be written", function()
      local err, status = run_closed("1", { "--version" })
      assert.are.equal(1, status)
      assert.are.equal("gong-library: cannot write the output: standard output is closed\n", err)
    end)

    it("replaces a damaged rate state file with one warning, and runs", function()
      assert.are.equal(0, select(3, run({ "workspaces" }, { GONG_RATE_SCOPE = "host" })))
      local files = process.capture("ls " .. process.quote(dir .. "/gong"))
      local path = dir .. "/gong/" .. assert(files:match("^(%S+)\n$"), files)
      process.write_file(path, "{\n  \"workspaces\": []\n}\n")
      local out, err, status = run({ "workspaces" }, { GONG_RATE_SCOPE = "host" })
      assert.are.equal(0, status, err)
      assert.matches("Sales", out)
      assert.are.equal("gong-library: warning: " .. path .. " was not a gong rate state file, or was damaged: "
        .. "replaced it\n", err)
      assert.matches("^gong rate state 2\n", process.read_file(path))
    end)
  end)

  describe("core.sys.std_fds()", function()
    it("opens /dev/null on a closed 0, 1 or 2, and says which it opened", function()
      local code = "local core = require 'gong.core' io.stderr:write(table.concat(core.sys.std_fds(), ','), "
        .. "' ', table.concat(core.sys.std_fds(), ','), '\\n') local ok = io.stdout:write('x') "
        .. "ok = ok and io.stdout:flush() io.stderr:write(tostring(ok), ' ', tostring(io.stdin:read('*l')), '\\n')"
      local errfile = os.tmpname()
      local p = assert(io.popen("(exec 0<&- 1>&- 2>" .. errfile .. "; "
        .. process.command({ process.lua, "-e", code }) .. "); echo \"exit:$?\"", "r"))
      local out = p:read("*a")
      p:close()
      local err = process.read_file(errfile)
      os.remove(errfile)
      assert.are.equal("exit:0\n", out)
      assert.are.equal("0,1 \nnil nil\n", err)
    end)
  end)
end)
