-- gong.loop: gong on a libuv loop (luv here; Neovim's vim.uv is the same
-- API), driven through the core's driver, libcurl's multi socket interface:
-- one connection and one rate limiter per client, nothing blocking the loop.

local uv = require "spec.support.luv"
local gong = require "gong"
local loop = require "gong.loop"
local fake = require "spec.support.fake"

local creds = fake.credentials

describe("gong.loop", function()
  local srv, lib

  setup(function()
    srv = fake.start()
    lib = fake.library()
  end)
  teardown(function()
    srv:stop()
    uv.run("nowait") -- the handles closed last are closed by a turn of the loop
  end)
  before_each(function() srv:reset() end)

  local function new(opts)
    local o = { base_url = srv.url, token = creds.token }
    for k, v in pairs(opts or {}) do o[k] = v end
    return loop.client(o, uv)
  end

  -- Runs the loop until `done()` is true (or 30 s pass, a failure).
  local function run_until(done)
    local guard = uv.new_timer()
    local timed_out = false
    guard:start(30000, 0, function() timed_out = true end)
    while not done() and not timed_out do uv.run("once") end
    guard:stop()
    guard:close()
    uv.run("nowait")
    assert.is_false(timed_out, "the loop never finished")
  end

  -- close(), then a turn of the loop: libuv closes handles there (a program
  -- that exits with handles still closing crashes in luv's loop finalizer).
  local function close(c)
    c:close()
    uv.run("nowait")
  end

  local function connections()
    local seen, n = {}, 0
    for _, req in ipairs(srv:requests()) do
      if not seen[req.connection] then
        seen[req.connection] = true
        n = n + 1
      end
    end
    return n
  end

  it("runs 9 calls of one client at once over one connection, under the rate limit, the loop free", function()
    local c = new()
    local answers, ticks, longest, last = {}, 0, 0, uv.hrtime()
    local ticker = uv.new_timer()
    ticker:start(20, 20, function()
      local now = uv.hrtime()
      longest = math.max(longest, (now - last) / 1e9)
      last, ticks = now, ticks + 1
    end)
    for i = 1, 9 do
      c:calls(lib.folders[i].id, function(calls, err, rid)
        answers[i] = { calls and #calls, rid, err }
      end)
    end
    local cancelled = false
    c:folders(nil, function() cancelled = true end):cancel()
    run_until(function()
      for i = 1, 9 do if not answers[i] then return false end end
      return true
    end)
    ticker:stop()
    ticker:close()
    for i = 1, 9 do
      assert.are.equal(#lib.calls[lib.folders[i].id], answers[i][1], i)
      assert.matches("^%x+$", answers[i][2])
    end
    assert.is_false(cancelled, "a cancelled request's callback was called")
    local most, total = srv:most_in_window()
    assert.are.equal(9, total, "the cancelled request was never sent")
    assert.are.equal(3, most)
    assert.are.equal(1, connections())
    assert.is_true(ticks >= 80, ticks .. " ticks in 2 s")
    -- Blocking for a rate limit wait would hold the timer back a second.
    assert.is_true(longest < 0.5, "a 20 ms timer waited " .. longest .. " s")
    close(c)
  end)

  it("answers exactly what the blocking client does, failures included", function()
    local c = new({ rate = false })
    local blocking = gong.new({ base_url = srv.url, token = creds.token, rate = false })
    local got = {}
    c:folders({ workspaceId = lib.workspaces[2].id }, function(...) got.folders = { ... } end)
    c:calls("missing", function(...) got.missing = { ... } end)
    c:workspaces(function(...) got.workspaces = { ... } end)
    c:tree(nil, function(...) got.tree = { ... } end)
    run_until(function() return got.folders and got.missing and got.workspaces and got.tree end)
    assert.are.same(blocking:folders({ workspaceId = lib.workspaces[2].id }), got.folders[1])
    assert.is_nil(got.missing[1])
    local _, plain = blocking:calls("missing")
    assert.are.equal("http", got.missing[2].kind)
    assert.are.equal(404, got.missing[2].status)
    assert.are.equal(tostring(plain):gsub("request %x+", ""), tostring(got.missing[2]):gsub("request %x+", ""))
    assert.are.same(blocking:workspaces(), got.workspaces[1])
    assert.are.equal(#lib.folders, got.tree[1].count)
    assert.matches("^gong%.tree%(", tostring(got.tree[1]))
    close(c)
    blocking:close()
  end)

  it("retries as the client's policy says, and raises what the blocking method raises", function()
    local c = new({ rate = false, backoff_base = 0.01 })
    srv:faults({ { status = 503, times = 2 } })
    local list
    c:calls(lib.folders[1].id, function(calls) list = calls end)
    run_until(function() return list end)
    assert.are.equal(3, #srv:requests())
    local ok, err = pcall(c.calls, c, 42, function() end)
    assert.is_false(ok)
    assert.are.equal("argument", err.kind)
    assert.matches("folderId must be a non%-empty string", err.message)
    ok, err = pcall(c.folders, c, nil, "not a function")
    assert.is_false(ok)
    assert.matches("callback function", err.message)
    close(c)
    -- A closed client's method calls back, on a later turn, as the blocking client returns.
    local answered, closed
    local handle = c:folders(nil, function(folders, e) answered, closed = true, { folders, e } end)
    assert.is_table(handle)
    assert.is_nil(answered, "called back before the method returned")
    run_until(function() return answered end)
    assert.is_nil(closed[1])
    assert.are.equal("closed", closed[2].kind)
    assert.are.equal("folders: client is closed", closed[2].message)
  end)

  it("tells on_wait of each wait on the loop; what it raises is the call's config error", function()
    srv:faults({ { status = 503 }, { status = 429, headers = { ["Retry-After"] = "1" } } })
    local heard = {}
    local c = new({ rate = false, backoff_base = 0.05, on_wait = function(info) heard[#heard + 1] = info end })
    local result, err
    c:folders(nil, function(r, e) result, err = r or false, e end)
    run_until(function() return result ~= nil end)
    assert.is_table(result, tostring(err))
    assert.are.same({ "server", "rate_limited" }, { heard[1].reason, heard[2].reason })
    assert.are.same({ 2, 3, 1 }, { heard[1].attempt, heard[2].attempt, heard[2].seconds })
    close(c)
    srv:faults({ { status = 503 } })
    c = new({ rate = false, on_wait = function() error("no waiting here", 0) end })
    result = nil
    c:folders(nil, function(r, e) result, err = r or false, e end)
    run_until(function() return result ~= nil end)
    assert.is_false(result)
    assert.are.equal("config", err.kind)
    assert.are.equal("gong.loop: no waiting here", err.message)
    close(c)
  end)

  it("never calls back before the call returns, even when there is nothing to ask", function()
    local c = new()
    local called_during
    local answered = false
    c:call_details({}, nil, function(details, err, rids)
      answered = true
      assert.is_nil(err)
      assert.are.same({}, details)
      assert.are.same({}, rids)
    end)
    called_during = answered
    run_until(function() return answered end)
    assert.is_false(called_during)
    assert.are.equal(0, #srv:requests())
    close(c)
  end)

  it("follows every page and batch of the Calls API, as the blocking client does", function()
    srv:settings({ page_size = 3 })
    local c = new({ rate = false })
    local blocking = gong.new({ base_url = srv.url, token = creds.token, rate = false })
    local ids = {}
    for i = 1, 12 do ids[i] = lib.call_ids[i] end
    local progress, details, rids, transcripts = {}, nil, nil, nil
    c:call_details(ids, { batch_size = 5, on_progress = function(done, total)
      assert.are.equal(12, total)
      progress[#progress + 1] = done
    end }, function(d, err, r)
      assert.is_nil(err)
      details, rids = d, r
    end)
    c:transcripts(ids, nil, function(t) transcripts = t end)
    run_until(function() return details and transcripts end)
    assert.are.same((blocking:call_details(ids)), details)
    assert.are.same((blocking:transcripts(ids)), transcripts)
    assert.are.equal(5, #rids, "batches of 5, 5 and 2, in pages of 3: 2 + 2 + 1")
    assert.are.equal(3, #progress, "told as each of the 3 batches is back")
    assert.is_true(progress[1] < progress[2] and progress[2] < progress[3])
    assert.are.equal(12, progress[3])
    close(c)
    blocking:close()
  end)

  it("fetches the library with details and transcripts, as client:library does", function()
    local small = fake.start({ folders = 4 })
    finally(function() small:stop() end)
    local c = loop.client({ base_url = small.url, token = creds.token, rate = false }, uv)
    local blocking = gong.new({ base_url = small.url, token = creds.token, rate = false })
    local phases, t, errors = {}, nil, nil
    c:library({ details = true, transcripts = true, on_progress = function(_, _, _, _, phase)
      phases[phase] = true
    end }, function(a, err, b)
      assert.is_nil(err)
      t, errors = a, b
    end)
    run_until(function() return t end)
    local want = blocking:library({ details = true, transcripts = true })
    assert.are.same({}, errors)
    assert.are.same({ calls = true, details = true, transcripts = true }, phases)
    local got_calls, want_calls = {}, {}
    for node in t:walk() do
      for _, call in ipairs(node.calls) do got_calls[#got_calls + 1] = call end
    end
    for node in want:walk() do
      for _, call in ipairs(node.calls) do want_calls[#want_calls + 1] = call end
    end
    assert.are.same(want_calls, got_calls)
    close(c)
    blocking:close()
  end)

  it("closed from its token function or a progress callback: nothing called back, nothing crashes", function()
    for _, case in ipairs({
      { true, function(c, cb) c:folders(cb) end },
      { true, function(c, cb) c:library({}, cb) end },
      { false, function(c, cb) c:library({ on_progress = function() c:close() end }, cb) end },
      { false, function(c, cb)
        c:call_details(lib.call_ids, { batch_size = 10, on_progress = function() c:close() end }, cb) end },
      { false, function(c, cb)
        c:calls_batch({ lib.folders[1].id, lib.folders[2].id }, { on_result = function() c:close() end }, cb) end },
    }) do
      local c, called, closed = nil, false, false
      local opts = { rate = false }
      if case[1] then
        opts.token = function()
          closed = true
          c:close()
          return creds.token
        end
      end
      c = new(opts)
      if not case[1] then
        local close_it = c.close
        c.close = function(self)
          closed = true
          close_it(self)
        end
      end
      case[2](c, function() called = true end)
      run_until(function() return closed end)
      for _ = 1, 20 do uv.run("nowait") end
      assert.is_false(called, "a callback after close()")
      local err
      c:folders(function(_, e) err = e end)
      run_until(function() return err ~= nil end)
      assert.are.equal("closed", err.kind)
    end
  end)

  it("drops what is under way on close(): no callback, no request left", function()
    local c = new({ rate = 1 })
    local called = false
    for i = 1, 3 do c:calls(lib.folders[i].id, function() called = true end) end
    close(c)
    local spin = uv.new_timer()
    local over = false
    spin:start(1500, 0, function() over = true end)
    run_until(function() return over end)
    spin:close()
    assert.is_false(called)
    assert.is_true(#srv:requests() <= 1, "requests after close: " .. #srv:requests())
  end)
end)
