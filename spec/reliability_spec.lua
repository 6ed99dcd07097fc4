-- Surviving a bad network and a hostile server: retries, Retry-After, the
-- rate limiter, timeouts, size limits and redirects, each fault scripted on
-- the fake server and the outcome asserted exactly (result or error kind,
-- attempts the server saw, elapsed time within sane bounds).

local core = require "gong.core"
require "gong" -- the batches are gong.client's, installed in the core's client class
local fake = require "spec.support.fake"
local process = require "spec.support.process"
local socket = require "socket"

local creds = fake.credentials
local now = socket.gettime

describe("reliability", function()
  local srv

  -- A client with fast backoff so the specs spend seconds, not minutes.
  local function new(opts)
    local o = { base_url = srv.url, token = creds.token, rate = false,
                backoff_base = 0.05, backoff_max = 0.2 }
    for k, v in pairs(opts or {}) do o[k] = v end
    return core.new(o)
  end

  -- Runs fn(client) and returns its two results and the elapsed seconds.
  local function timed(client, method, ...)
    local t0 = now()
    local a, b = client[method](client, ...)
    return a, b, now() - t0
  end

  local function seen()
    return #srv:requests()
  end

  setup(function() srv = fake.start() end)
  teardown(function() srv:stop() end)
  before_each(function() srv:reset() end)

  describe("retries", function()
    it("retries 503 bursts with backoff, then succeeds", function()
      srv:faults({ { status = 503, times = 2 } })
      local c = new()
      local folders, rid = c:folders()
      assert.is_table(folders)
      assert.is_string(rid)
      assert.are.equal(3, seen())
    end)

    it("retries 500, 502 and 504 too", function()
      srv:faults({ { status = 500 }, { status = 502, body = "<html>bad gateway</html>" },
                   { status = 504 } })
      assert.is_table((new():folders()))
      assert.are.equal(4, seen())
    end)

    it("gives up after max_retries and reports the attempts", function()
      srv:faults({ { status = 500, times = 3 } })
      local folders, err = new({ max_retries = 2 }):folders()
      assert.is_nil(folders)
      assert.are.equal("http", err.kind)
      assert.are.equal(500, err.status)
      assert.are.equal(3, err.attempts)
      assert.are.equal(3, seen())
      assert.matches("^gong: HTTP 500 on GET /library/folders: [^()]+ %(3 attempts, request %x+%)$", tostring(err))
      assert.is_true(err.transient, "trying again later may succeed")
    end)

    for _, status in ipairs({ 400, 401, 403, 404 }) do
      it("never retries " .. status, function()
        srv:faults({ { status = status, times = 5 } })
        local folders, err = new():folders()
        assert.is_nil(folders)
        assert.are.equal(status, err.status)
        assert.are.equal(1, err.attempts)
        assert.are.equal(1, seen())
        assert.is_nil(err.transient)
      end)
    end

    it("answers client:retry_in(err, attempts) as its own retries do, from the error alone", function()
      local c = new({ max_retries = 2, backoff_base = 0.2, backoff_max = 0.2, max_retry_wait = 5 })
      local transient = { transient = true }
      for attempt = 1, 2 do
        local wait = c:retry_in(transient, attempt)
        assert.is_true(wait >= 0 and wait <= 0.2, tostring(wait))
      end
      assert.is_nil(c:retry_in(transient, 3), "max_retries 2: a third attempt is the last")
      assert.are.equal(3, c:retry_in({ transient = true, retry_after = 3 }, 1))
      assert.is_nil(c:retry_in({ transient = true, retry_after = 30 }, 1), "beyond max_retry_wait")
      assert.is_nil(c:retry_in({ kind = "http", status = 400 }, 1))
      c:close()
      assert.are.equal(3, c:retry_in({ transient = true, retry_after = 3 }, 1), "a closed client's policy answers")
    end)

    it("retries a connection reset mid-body", function()
      srv:faults({ { action = "reset" } })
      local folders = new():folders()
      assert.is_table(folders)
      assert.are.equal(#fake.library().folders, #folders)
      assert.are.equal(2, seen())
    end)

    it("retries a body shorter than its Content-Length, and never returns it", function()
      srv:faults({ { action = "short", times = 2 } })
      local folders, err = new({ max_retries = 1 }):folders()
      assert.is_nil(folders)
      assert.are.equal("network", err.kind)
      assert.are.equal(2, err.attempts)
    end)

    it("retries a connection closed without a response", function()
      srv:faults({ { action = "close" } })
      assert.is_table((new():folders()))
      assert.are.equal(2, seen())
    end)

    it("reads a chunked response", function()
      srv:faults({ { action = "chunked", chunk = 100 } })
      local folders = new():folders()
      assert.are.equal(#fake.library().folders, #folders)
    end)
  end)

  describe("Retry-After", function()
    it("waits the seconds a 429 asks for, then succeeds", function()
      srv:faults({ { status = 429, headers = { ["Retry-After"] = "1" } } })
      local folders, _, elapsed = timed(new(), "folders")
      assert.is_table(folders)
      assert.are.equal(2, seen())
      assert.is_true(elapsed >= 0.95 and elapsed < 5, "elapsed " .. elapsed)
    end)

    it("understands the HTTP-date form", function()
      local at = os.date("!%a, %d %b %Y %H:%M:%S GMT", os.time() + 2)
      srv:faults({ { status = 429, headers = { ["Retry-After"] = at } } })
      local folders, _, elapsed = timed(new(), "folders")
      assert.is_table(folders)
      assert.are.equal(2, seen())
      -- whole-second resolution: somewhere between 1 and 2 seconds from now
      assert.is_true(elapsed >= 0.9 and elapsed < 5, "elapsed " .. elapsed)
    end)

    it("returns rate_limited at once when asked to wait longer than max_retry_wait", function()
      srv:faults({ { status = 429, headers = { ["Retry-After"] = "86400" } } })
      local folders, err, elapsed = timed(new({ max_retry_wait = 60 }), "folders")
      assert.is_nil(folders)
      assert.are.equal("rate_limited", err.kind)
      assert.are.equal(429, err.status)
      assert.are.equal(86400, err.retry_after)
      assert.are.equal(1, err.attempts)
      assert.is_true(elapsed < 1, "elapsed " .. elapsed)
    end)

    it("returns rate_limited when 429 outlasts the retries", function()
      srv:faults({ { status = 429, times = 3, headers = { ["Retry-After"] = "0" } } })
      local folders, err = new({ max_retries = 2 }):folders()
      assert.is_nil(folders)
      assert.are.equal("rate_limited", err.kind)
      assert.are.equal(3, err.attempts)
      assert.are.equal(0, err.retry_after)
      assert.is_string(err.request_id)
    end)
  end)

  describe("the rate limiter", function()
    it("never lets more than `rate` requests start in any one-second window", function()
      local c = new({ rate = 3 })
      local t0 = now()
      for _ = 1, 10 do assert(c:folders()) end
      local elapsed = now() - t0
      assert.are.equal(10, seen())
      -- measured on the server side; 3 per window, so 10 requests need > 3 s
      assert.are.equal(3, (srv:most_in_window()))
      assert.is_true(elapsed >= 2.95, "elapsed " .. elapsed)
    end)

    it("throttles retries as well", function()
      srv:faults({ { status = 503, times = 4, headers = { ["Retry-After"] = "0" } } })
      local c = new({ rate = 2 })
      assert(c:folders())
      assert.are.equal(5, seen())
      assert.are.equal(2, (srv:most_in_window()))
    end)

    it("can be turned off with rate = false", function()
      local c = new({ rate = false })
      local t0 = now()
      for _ = 1, 10 do assert(c:folders()) end
      assert.is_true(now() - t0 < 2)
    end)
  end)

  describe("timeouts", function()
    it("calls a timeout on a kept-alive connection a total timeout, not a connect timeout", function()
      local c = new({ timeout = 0.5, max_retries = 0 })
      assert(c:folders()) -- the connection is open now, and the next request reuses it
      srv:faults({ { delay = 2 } })
      local folders, err = c:folders()
      assert.is_nil(folders)
      assert.are.equal("timeout", err.kind)
      assert.matches("^total timeout on GET /library/folders: no complete response within 0%.5 s", err.message)
      c:close()
    end)

    it("aborts a stalled body after stall_timeout with kind timeout", function()
      srv:faults({ { action = "stall", seconds = 30 } })
      local folders, err, elapsed = timed(new({ stall_timeout = 1, max_retries = 0 }), "folders")
      assert.is_nil(folders)
      assert.are.equal("timeout", err.kind)
      assert.matches("^stall timeout on GET /library/folders", err.message)
      assert.is_true(elapsed >= 0.9 and elapsed < 4, "elapsed " .. elapsed)
    end)

    it("gives up connecting after connect_timeout with kind timeout, retrying first", function()
      -- A listener with a full accept queue: the kernel drops further SYNs,
      -- so a connect neither succeeds nor fails.
      local listener = assert(socket.tcp())
      assert(listener:bind("127.0.0.1", 0))
      assert(listener:listen(0))
      local _, port = listener:getsockname()
      local fillers = {}
      for i = 1, 4 do
        fillers[i] = socket.tcp()
        fillers[i]:settimeout(0)
        fillers[i]:connect("127.0.0.1", port)
      end
      socket.sleep(0.1)
      local c = core.new({ base_url = "http://127.0.0.1:" .. port, token = "t", rate = false,
                           connect_timeout = 0.3, max_retries = 1, backoff_base = 0 })
      local folders, err, elapsed = timed(c, "folders")
      for _, f in ipairs(fillers) do f:close() end
      listener:close()
      assert.is_nil(folders)
      assert.are.equal("timeout", err.kind)
      assert.are.equal(2, err.attempts)
      assert.matches("^connect timeout on GET /library/folders: no connection within 0%.3 s", err.message)
      assert.is_true(elapsed >= 0.55 and elapsed < 3, "elapsed " .. elapsed)
    end)

    it("aborts after the total timeout with kind timeout", function()
      srv:faults({ { delay = 5 } })
      local folders, err, elapsed = timed(new({ timeout = 1, max_retries = 0 }), "folders")
      assert.is_nil(folders)
      assert.are.equal("timeout", err.kind)
      assert.matches("^total timeout on GET /library/folders", err.message)
      assert.is_true(elapsed >= 0.9 and elapsed < 3, "elapsed " .. elapsed)
    end)

    it("retries a timeout", function()
      srv:faults({ { delay = 3 } })
      local folders, _, elapsed = timed(new({ timeout = 1, max_retries = 1 }), "folders")
      assert.is_table(folders)
      assert.is_true(elapsed < 4, "elapsed " .. elapsed)
    end)

    it("does not mistake a slow trickle for a stall", function()
      srv:faults({ { action = "trickle", rate = 40000 } })
      local folders = new({ stall_timeout = 1 }):folders()
      assert.are.equal(#fake.library().folders, #folders)
      assert.are.equal(1, seen())
    end)
  end)

  describe("deadline: a whole request, its retries and waits included", function()
    it("ends a request the server does not answer at the deadline, retries left or not", function()
      srv:faults({ { delay = 5, times = -1 } })
      local folders, err, elapsed = timed(new({ deadline = 1 }), "folders")
      assert.is_nil(folders)
      assert.are.equal("timeout", err.kind)
      assert.are.equal("deadline", err.timeout)
      assert.are.equal("deadline passed on GET /library/folders: no complete response within 1 s", err.message)
      assert.are.equal(1, err.attempts)
      assert.are.equal(1, seen())
      assert.is_true(elapsed >= 0.95 and elapsed < 2.5, "elapsed " .. elapsed)
    end)

    it("gives a retry only the time the deadline leaves, not a whole timeout", function()
      srv:faults({ { delay = 5, times = -1 } })
      local c = new({ timeout = 0.5, deadline = 0.8, backoff_base = 0.05, backoff_max = 0.05 })
      local folders, err, elapsed = timed(c, "folders")
      assert.is_nil(folders)
      assert.are.equal("deadline", err.timeout, err.message)
      assert.are.equal(2, err.attempts)
      assert.is_true(elapsed >= 0.75 and elapsed < 1.6, "elapsed " .. elapsed)
    end)

    it("starts no retry whose wait would pass it: the last attempt's error, saying so", function()
      srv:faults({ { status = 429, headers = { ["Retry-After"] = "3" } } })
      local folders, err, elapsed = timed(new({ deadline = 1 }), "folders")
      assert.is_nil(folders)
      assert.are.equal("rate_limited", err.kind)
      assert.are.equal(3, err.retry_after)
      assert.matches("; a retry in 3 s would pass the deadline of 1 s$", err.message)
      assert.is_nil(err.halt)
      assert.are.equal(1, seen())
      assert.is_true(elapsed < 0.9, "elapsed " .. elapsed)
    end)

    it("does not wait for the rate limit past it", function()
      local c = new({ rate = 1, deadline = 0.5 })
      assert(c:folders())
      local folders, err, elapsed = timed(c, "folders")
      assert.is_nil(folders)
      assert.are.equal("deadline", err.timeout)
      assert.matches("^deadline passed on GET /library/folders: the rate limit holds it back [%d.]+ s, past the "
        .. "deadline of 0%.5 s$", err.message)
      assert.are.equal(0, err.attempts)
      assert.are.equal(1, seen())
      assert.is_true(elapsed < 0.4, "elapsed " .. elapsed)
    end)

    it("holds for each request of a batch", function()
      srv:faults({ { delay = 5, times = -1 } })
      local ids = { fake.library().folders[1].id, fake.library().folders[2].id }
      local results, _, elapsed = timed(new({ deadline = 0.6 }), "calls_batch", ids)
      for i = 1, 2 do
        assert.are.equal("deadline", results[i].timeout, tostring(results[i]))
        assert.matches("^deadline passed on GET /library/folders/%d+/calls: no complete response within 0%.6 s$",
                       results[i].message)
      end
      assert.is_true(elapsed >= 0.55 and elapsed < 2, "elapsed " .. elapsed)
    end)

    it("is what client:retry_in(err, attempts, left) holds a wait against", function()
      local c = new({ deadline = 2 })
      assert.are.equal(1, (c:retry_in({ transient = true, retry_after = 1 }, 1, 1.5)))
      local err = core.error("rate_limited", "HTTP 429", { transient = true, retry_after = 3 })
      assert.is_nil(c:retry_in(err, 1, 1.5))
      assert.are.equal("HTTP 429; a retry in 3 s would pass the deadline of 2 s", err.message)
      c:close()
    end)
  end)

  describe("on_wait: told before each wait of a request", function()
    -- A client whose on_wait keeps what it is told.
    local function listening(opts)
      local heard = {}
      local o = { on_wait = function(info) heard[#heard + 1] = info end }
      for k, v in pairs(opts or {}) do o[k] = v end
      return new(o), heard
    end

    it("hears of a retry: why, how long, the attempt that follows and how many there may be", function()
      srv:faults({ { status = 503 }, { status = 429, headers = { ["Retry-After"] = "1" } } })
      local c, heard = listening()
      assert(c:folders())
      assert.are.equal(2, #heard)
      local server, limited = heard[1], heard[2]
      assert.are.equal("server", server.reason)
      assert.are.equal(503, server.status)
      assert.are.equal(2, server.attempt)
      assert.are.equal(5, server.attempts)
      assert.are.equal("folders", server.kind)
      assert.is_true(server.seconds >= 0 and server.seconds <= 0.05, tostring(server.seconds))
      assert.is_true(server.elapsed >= 0 and server.elapsed < 1, tostring(server.elapsed))
      assert.are.same({ reason = "rate_limited", seconds = 1, attempt = 3, attempts = 5, kind = "folders",
                        status = 429, elapsed = limited.elapsed }, limited)
    end)

    it("hears of a timeout, which limit, and how long the attempt waited", function()
      srv:faults({ { delay = 2 } })
      local c, heard = listening({ timeout = 0.3 })
      assert(c:folders())
      assert.are.equal(1, #heard)
      assert.are.equal("timeout", heard[1].reason)
      assert.are.equal("total", heard[1].timeout)
      assert.is_nil(heard[1].status)
      assert.is_true(heard[1].elapsed >= 0.25, tostring(heard[1].elapsed))
    end)

    it("hears of a network failure, and of the rate limit holding an attempt back", function()
      srv:faults({ { action = "close" } })
      local c, heard = listening({ rate = 1 })
      assert(c:folders())
      assert.are.equal("network", heard[1].reason)
      assert.are.equal("rate", heard[2].reason, "the retry waits for the window the first attempt took")
      assert.are.equal(2, heard[2].attempt)
      assert.is_nil(heard[2].elapsed)
      assert.is_true(heard[2].seconds > 0 and heard[2].seconds <= 1.1, tostring(heard[2].seconds))
    end)

    it("hears of the waits of a batch's requests, each with its kind", function()
      srv:faults({ { status = 502 } })
      local c, heard = listening()
      local results = c:calls_batch({ fake.library().folders[1].id })
      assert.is_table(results[1])
      assert.are.equal(1, #heard)
      assert.are.equal("server", heard[1].reason)
      assert.are.equal("calls", heard[1].kind)
      assert.is_nil(heard[1].id)
    end)

    it("is not told of a request that needs no wait", function()
      local c, heard = listening()
      assert(c:folders())
      assert(c:calls_batch({ fake.library().folders[1].id }))
      assert.are.equal(0, #heard)
    end)

    it("ends the request with what it raises, raised from the method; the client still works", function()
      local c = new({ on_wait = function() error("no waiting here", 0) end })
      srv:faults({ { status = 503 } })
      assert.has_error(function() c:folders() end, "no waiting here")
      srv:faults({ { status = 503 } })
      assert.has_error(function() c:calls_batch({ fake.library().folders[1].id }) end, "no waiting here")
      assert.is_table((c:folders()))
      assert.are.equal(3, seen())
    end)

    it("may close the client: the request ends with a closed error", function()
      local c
      c = new({ on_wait = function() c:close() end })
      srv:faults({ { status = 503 } })
      local folders, err = c:folders()
      assert.is_nil(folders)
      assert.are.equal("closed", err.kind)
      c = new({ on_wait = function() c:close() end })
      srv:faults({ { status = 503 } })
      local results
      results, err = c:calls_batch({ fake.library().folders[1].id })
      assert.is_nil(results)
      assert.are.equal("closed", err.kind)
      assert.are.equal(2, seen())
    end)

    it("comes with client:retry_in's wait for a host that retries itself", function()
      local c = new({ max_retries = 2 })
      local wait, info = c:retry_in({ kind = "http", status = 503, transient = true, retry_after = 2 }, 1, nil,
                                    "calls")
      assert.are.equal(2, wait)
      assert.are.same({ reason = "server", seconds = 2, attempt = 2, attempts = 3, kind = "calls", status = 503 }, info)
      wait, info = c:retry_in({ kind = "timeout", timeout = "stall", transient = true }, 2)
      assert.is_true(wait >= 0 and wait <= 0.1, tostring(wait))
      assert.are.same({ "timeout", "stall", 3 }, { info.reason, info.timeout, info.attempt })
      c:close()
    end)
  end)

  describe("size limits", function()
    it("refuses a declared body over max_response_bytes without reading it", function()
      srv:faults({ { action = "huge", bytes = 8 * 1024 * 1024 } })
      local folders, err, elapsed = timed(new({ max_response_bytes = 1024 * 1024 }), "folders")
      assert.is_nil(folders)
      assert.are.equal("too_large", err.kind)
      assert.are.equal(1, err.attempts)
      assert.matches("max_response_bytes %(1048576 bytes%)", err.message)
      assert.is_true(elapsed < 2, "elapsed " .. elapsed)
    end)

    it("stops a chunked body as soon as it passes the limit", function()
      srv:faults({ { action = "chunked", chunk = 1000 } })
      local folders, err = new({ max_response_bytes = 10000 }):folders()
      assert.is_nil(folders)
      assert.are.equal("too_large", err.kind)
      assert.are.equal(1, seen())
    end)

    it("accepts a body of exactly max_response_bytes", function()
      srv:faults({ { action = "huge", bytes = 300000 } })
      local folders, err = new({ max_response_bytes = 300000 }):folders()
      assert.is_table(folders, tostring(err))
    end)
  end)

  describe("redirects", function()
    it("are not followed: an http error names the Location", function()
      local other = fake.start()
      local target = other.url .. "/library/folders"
      srv:faults({ { action = "redirect", status = 302, location = target } })
      local folders, err = new():folders()
      assert.is_nil(folders)
      assert.are.equal("http", err.kind)
      assert.are.equal(302, err.status)
      assert.are.equal(target, err.location)
      assert.matches("redirect to " .. target:gsub("%p", "%%%0") .. " not followed", err.message)
      assert.are.equal(0, #other:requests())
      other:stop()
    end)
  end)

  describe("IPv6 loopback", function()
    it("works against a server on ::1", function()
      local v6 = fake.start({ host = "::1" })
      local c = core.new({ base_url = v6.url, token = creds.token, rate = false })
      local folders = c:folders()
      assert.are.equal(#fake.library().folders, #folders)
      v6:stop()
    end)
  end)

  -- Ctrl-C under the plain interpreter: lua.c (luajit.c) answers SIGINT by
  -- setting a hook that raises "interrupted!" at the next Lua instruction.
  -- Whatever the core is waiting for (a response, a retry's backoff, the rate
  -- limiter, a batch), it must hand control back at once so the hook can fire.
  describe("Ctrl-C while a request waits", function()
    -- Runs `code` in a child interpreter (CLIENT is a core client for the
    -- server, made with `opts`), sends SIGINT once the server has seen
    -- `requests` requests, and returns what the child printed and how long
    -- it took from the signal to its end.
    local function interrupted(code, opts, requests)
      local prelude = ("require('gong') CLIENT = require('gong.core').new({ base_url = %q, token = %q, %s })\n")
        :format(srv.url, creds.token, opts or "rate = false")
      local pid, finish = process.spawn({ process.lua, "-e", prelude .. code })
      local deadline = now() + 10
      while seen() < (requests or 1) do
        assert(now() < deadline, "the child never reached the server")
        socket.sleep(0.02)
      end
      socket.sleep(0.3) -- well inside the wait by now
      local t0 = now()
      os.execute("kill -INT " .. pid)
      local out, err, status = finish()
      return out, err, status, now() - t0
    end

    -- Interrupts the first expression; the second must work after it. Not a
    -- tail call: LuaJIT fires the hook at the next Lua instruction only, and
    -- that must be inside the pcall.
    local CHECK = [[
      local ok, err = pcall(function() local list, e = %s return list, e end)
      print(ok, (tostring(err):gsub("^.*interrupted!$", "interrupted!")))
      local again = %s
      print(again and #again)
    ]]

    local function check(out, err, status, took)
      assert.are.equal(0, status, err)
      assert.are.equal("false\tinterrupted!\n" .. #fake.library().folders .. "\n", out,
                       "the call is interrupted, and the client works after")
      assert.is_true(took < 0.5, ("it took %.2f s to stop"):format(took))
    end

    it("stops client:folders() waiting for a response", function()
      srv:faults({ { delay = 30 } })
      check(interrupted(CHECK:format("CLIENT:folders()", "CLIENT:folders()")))
    end)

    it("stops the wait before a retry (Retry-After: 30)", function()
      srv:faults({ { status = 503, headers = { ["Retry-After"] = "30" } } })
      check(interrupted(CHECK:format("CLIENT:folders()", "CLIENT:folders()")))
    end)

    it("stops the wait for the rate limiter", function()
      -- The same client would wait its 10 s again, rightly: a new one shows nothing is stuck.
      local fresh = ("require('gong.core').new({ base_url = %q, token = %q }):folders()"):format(srv.url, creds.token)
      check(interrupted("CLIENT:folders()\n" .. CHECK:format("CLIENT:folders()", fresh), "rate = 0.1"))
    end)

    it("stops client:calls_batch()", function()
      srv:faults({ { delay = 30, times = 3 } })
      local id = fake.library().folders[1].id
      check(interrupted(CHECK:format(("CLIENT:calls_batch({ %q, %q, %q })"):format(id, id, id), "CLIENT:folders()"),
                        nil, 3))
    end)
  end)

  -- The interpreter turns Ctrl-C into an "interrupted!" error raised from a
  -- debug hook at the next call or return. During a long decode that is the
  -- return of cjson's decoder, inside cjson.safe's own pcall; it must still
  -- reach the caller, not become a decode error that lets a CLI go on.
  describe("an interrupt during decoding", function()
    -- Runs fn() with a hook that raises "interrupted!" at the first return
    -- event, as lua.c's does; returns pcall's results and what kind of
    -- function was returning when the hook fired.
    local function interrupted(fn)
      -- Globals are looked up in busted's environment by a Lua function,
      -- whose return would trip the hook: everything used is a local here.
      local pcall, sethook, getinfo, raise = pcall, debug.sethook, debug.getinfo, error
      local armed, where = false, nil
      sethook(function()
        if armed then
          where = getinfo(2, "S").what
          sethook()
          raise("interrupted!", 0)
        end
      end, "r")
      armed = true
      local ok, a, b = pcall(fn)
      sethook()
      return where, ok, a, b
    end

    local function check(where, ok, a, b)
      if where ~= "C" then
        pending("this Lua calls no hooks on returns from C functions")
        return
      end
      assert.is_false(ok, "an interrupt became a result: " .. tostring(a) .. ", " .. tostring(b))
      assert.are.equal("interrupted!", a)
    end

    it("reaches the caller of client:folders()", function()
      local c = new()
      check(interrupted(function() return c:folders() end))
    end)

    it("reaches the caller when it lands while reading an error body", function()
      srv:faults({ { status = 500, times = 1 } })
      local c = new({ max_retries = 0 })
      check(interrupted(function() return c:folders() end))
    end)

    it("reaches the caller of client:calls_batch(), and the client still works", function()
      local c = new()
      local id = fake.library().folders[1].id
      check(interrupted(function() return c:calls_batch({ id, id }) end))
      local results = c:calls_batch({ id })
      assert.is_nil(results[1].kind, "the client fails after an interrupted batch: " .. tostring(results[1].message))
      assert.are.equal(#fake.library().calls[id], #results[1])
    end)
  end)
end)
