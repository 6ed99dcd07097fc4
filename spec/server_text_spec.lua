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

describe("the JSON gong writes", function()
  local srv, dir

  setup(function()
    srv = fake.start()
    dir = process.tmpdir()
  end)
  teardown(function()
    srv:stop()
    os.execute("rm -rf " .. process.quote(dir))
  end)
  before_each(function() srv:reset() end)

  -- Each invalid form once, between letters: bytes that never lead (FF FE),
  -- an overlong '/' (C0 AF), a truncated sequence (E2 82), a surrogate
  -- (ED A0 80), past U+10FFFF (F4 90 80 80), a stray continuation (80).
  local BAD = "a\255\254b\192\175c\226\130d\237\160\128e\244\144\128\128f\128g"
  -- Each maximal invalid subpart becomes one U+FFFD (Unicode's practice, and
  -- what Python's errors="replace" does).
  local R = "\239\191\189"
  local REPAIRED = "a" .. R .. R .. "b" .. R .. R .. "c" .. R .. "d" .. R .. R .. R .. "e"
    .. R .. R .. R .. R .. "f" .. R .. "g"

  local function run(args)
    local argv = { process.lua, "bin/gong-library" }
    for _, a in ipairs(args) do argv[#argv + 1] = a end
    return process.run(argv, { GONG_BASE_URL = srv.url, GONG_ACCESS_KEY = creds.key,
                               GONG_ACCESS_KEY_SECRET = creds.secret, GONG_RATE_SCOPE = "client" })
  end

  -- The folder "F1", named BAD, with one call titled BAD.
  local function serve_bad_library()
    local folders = '{"requestId":"r1","folders":[{"id":"F1","name":"' .. BAD .. '","callCount":1}]}'
    local calls = '{"requestId":"r2","calls":[{"callId":"C1","title":"' .. BAD .. '","duration":1}]}'
    srv:faults({ { path = "/library/folders/F1/calls", status = 200, body = calls },
                 { path = "/library/folders", status = 200, body = folders } })
  end

  -- Asserts that `text` is valid UTF-8 and, when python3 is there, that
  -- Python's json module reads each of its documents (one, or one a line).
  local function assert_valid_json(text, ndjson)
    assert.is_true(valid_utf8(text))
    local file = dir .. "/check.json"
    process.write_file(file, text)
    local script = ndjson and "import json,sys\nfor l in open(sys.argv[1],encoding='utf-8'): json.loads(l)"
      or "import json,sys\njson.load(open(sys.argv[1],encoding='utf-8'))"
    local out = process.capture("command -v python3 >/dev/null || { echo skip; exit; }; python3 -c "
      .. process.quote(script) .. " " .. process.quote(file) .. " 2>&1 && echo ok")
    assert.truthy(out == "skip\n" or out == "ok\n", out)
  end

  it("replaces each invalid UTF-8 sequence by U+FFFD in json.encode", function()
    local json = require "gong.json"
    assert.are.equal('"' .. REPAIRED .. '"', json.encode(BAD))
    assert.are.equal('"héllo — 日本 🎧"', json.encode("héllo — 日本 🎧"))
    -- The largest code points of each length are valid and stay.
    local largest = "\127\223\191\239\191\191\244\143\191\191"
    assert.are.equal('"' .. largest .. '"', json.encode(largest))
  end)

  it("writes folders --json as valid UTF-8, U+FFFD where the bad bytes were", function()
    serve_bad_library()
    local out, err, status = run({ "folders", "--json" })
    assert.are.equal(0, status, err)
    assert_valid_json(out)
    assert.are.equal(REPAIRED, cjson.decode(out)[1].name)
  end)

  for _, format in ipairs({ "json", "ndjson" }) do
    it(("writes export --format %s as valid UTF-8"):format(format), function()
      serve_bad_library()
      local file = dir .. "/export." .. format
      local _, err, status = run({ "export", "--format", format, "-o", file })
      assert.are.equal(0, status, err)
      local text = process.read_file(file)
      assert_valid_json(text, format == "ndjson")
      -- The folder's name and the call's title (ndjson repeats the name).
      local _, names = text:gsub(REPAIRED, "")
      assert.is_true(names >= 2, text)
    end)
  end
end)

describe("gong-library's children", function()
  local srv, dir
  local has_strace = process.capture("command -v strace || true") ~= ""

  setup(function()
    srv = fake.start({ folders = 5 })
    dir = process.tmpdir()
  end)
  teardown(function()
    srv:stop()
    os.execute("rm -rf " .. process.quote(dir))
  end)

  -- The lines of strace's log at `file` for the process calls that start a
  -- program or a process (threads are fine: libcurl may use one).
  local function starts(file)
    local found = {}
    for line in (process.read_file(file) or ""):gmatch("[^\n]+") do
      if line:find("execve%(") or line:find("v?fork%(") or
         (line:find("clone3?%(") and not line:find("CLONE_THREAD")) then
        found[#found + 1] = line
      end
    end
    return found
  end

  local function traced(args, env)
    local log = dir .. "/strace.log"
    os.remove(log)
    local argv = { "strace", "-f", "-qq", "-o", log, "-e", "trace=execve,fork,vfork,clone,clone3",
                   process.lua, "bin/gong-library" }
    for _, a in ipairs(args) do argv[#argv + 1] = a end
    local full = { GONG_BASE_URL = srv.url, GONG_ACCESS_KEY = creds.key,
                   GONG_ACCESS_KEY_SECRET = creds.secret, GONG_RATE_SCOPE = "client" }
    for k, v in pairs(env or {}) do full[k] = v end
    return log, full, argv
  end

  for _, case in ipairs({ { "folders" }, { "export", "-o", "EXPORT" }, { "tree" } }) do
    it(("starts no process for %s, GONG_PROGRESS unset, stderr not a terminal"):format(case[1]), function()
      if not has_strace then
        pending("strace is not installed")
        return
      end
      local args = {}
      for i, a in ipairs(case) do args[i] = a == "EXPORT" and dir .. "/export.json" or a end
      local log, env, argv = traced(args)
      local _, err, status = process.run(argv, env)
      assert.are.equal(0, status, err)
      local found = starts(log)
      -- The one execve is strace starting the interpreter.
      assert.are.equal(1, #found, table.concat(found, "\n"))
      assert.matches("execve%(", found[1])
    end)
  end

  it("starts no process for an export on a terminal, GONG_PROGRESS unset", function()
    if not has_strace then
      pending("strace is not installed")
      return
    end
    local terminal = require "spec.support.terminal"
    local log, env, argv = traced({ "export", "-o", dir .. "/export-tty.json" })
    local t = terminal.start(argv, { env = env })
    finally(function() t:stop() end)
    t:wait_for("EXIT:")
    t:wait_for("EXIT:0")
    local found = starts(log)
    assert.are.equal(1, #found, table.concat(found, "\n"))
  end)

  it("has no os.execute or io.popen in the CLI's sources", function()
    local sources = process.capture("ls bin/gong-library lua/gong/cli/*.lua lua/gong/*.lua")
    for path in sources:gmatch("[^\n]+") do
      local text = process.read_file(path)
      assert.is_nil(text:find("os%.execute"), path)
      assert.is_nil(text:find("io%.popen"), path)
    end
  end)
end)

describe("a response header larger than libcurl accepts", function()
  local srv

  setup(function() srv = fake.start() end)
  teardown(function() srv:stop() end)
  before_each(function() srv:reset() end)

  it("is an error of kind too_large that says so, not retried", function()
    -- A megabyte: libcurl takes 100 KB a header line (300 KB in all since 8.2); the
    -- fake takes faults up to 1 MiB.
    srv:faults({ { headers = { ["X-Big"] = rep("a", 1000 * 1000) }, times = -1 } })
    local folders, err = core.new({ base_url = srv.url, token = creds.token, rate = false,
                                    backoff_base = 0.01, backoff_max = 0.02 }):folders()
    assert.is_nil(folders)
    assert.are.equal("too_large", err.kind)
    assert.matches("the server sent a response header larger than libcurl accepts", err.message, 1, true)
    assert.is_nil(err.transient)
    assert.are.equal(1, err.attempts)
    assert.are.equal(1, #srv:requests())
  end)
end)
