-- client:library() and client:calls_batch(): the whole library, folders'
-- calls fetched concurrently under one rate limiter and retry policy.

local gong = require "gong"
local core = require "gong.core"
local fake = require "spec.support.fake"
local socket = require "socket"

local creds = fake.credentials

-- How many of `folders` hold calls: the folders library() asks for theirs.
local function non_empty(folders)
  local n = 0
  for _, f in ipairs(folders) do
    if f.callCount ~= 0 then n = n + 1 end
  end
  return n
end

-- The k-th folder of `folders` that holds calls (library() asks for its calls).
local function with_calls(folders, k)
  for _, f in ipairs(folders) do
    if f.callCount ~= 0 then
      k = k - 1
      if k == 0 then return f end
    end
  end
  error("not that many folders with calls")
end

describe("client:library()", function()
  local srv, lib

  local function new(opts)
    local o = { base_url = srv.url, token = creds.token, rate = false, backoff_base = 0.01 }
    for k, v in pairs(opts or {}) do o[k] = v end
    return gong.new(o)
  end

  setup(function()
    srv = fake.start()
    lib = fake.library()
  end)
  teardown(function() srv:stop() end)
  before_each(function() srv:reset() end)

  it("returns the tree with every folder's calls, and no errors", function()
    local t, errors = new():library()
    assert.are.same({}, errors)
    assert.are.equal(#lib.folders, t.count)
    local nodes = 0
    for node in t:walk() do
      nodes = nodes + 1
      local want = lib.calls[node.id] or {}
      assert.are.equal(#want, #node.calls, node.id)
      if want[1] then assert.are.equal(want[1].callId, node.calls[1].callId) end
    end
    assert.are.equal(#lib.folders, nodes)
    -- one request for the folders, one per folder that holds calls
    assert.are.equal(1 + non_empty(lib.folders), #srv:requests())
  end)

  it("asks no folder the contract says is empty, unless skip_empty = false", function()
    local empty = #lib.folders - non_empty(lib.folders)
    assert.is_true(empty > 0, "the fake library has empty folders")
    local t = new():library()
    for node in t:walk() do
      if node.callCount == 0 then assert.are.same({}, node.calls) end
    end
    for _, req in ipairs(srv:requests()) do
      local id = req.path:match("^/library/folders/(.*)/calls$")
      if id then
        id = id:gsub("%%(%x%x)", function(hex) return string.char(tonumber(hex, 16)) end)
        assert.are_not.equal(0, t:get(id).callCount, id)
      end
    end
    srv:reset()
    new():library({ skip_empty = false })
    assert.are.equal(1 + #lib.folders, #srv:requests())
  end)

  it("filters by workspace", function()
    local ws = lib.workspaces[2].id
    local t = new():library({ workspaceId = ws })
    local want = 0
    for _, f in ipairs(lib.folders) do
      if f.workspaceId == ws then want = want + 1 end
    end
    assert.are.equal(want, t.count)
    assert.are.equal("workspaceId=" .. ws, srv:requests()[1].query)
  end)

  it("keeps going when one folder fails, and reports it", function()
    local victim = with_calls(lib.folders, 5)
    srv:faults({ { path = "/library/folders/" .. victim.id .. "/calls", status = 404 } })
    local t, errors = new():library()
    assert.are.equal(1, #errors)
    assert.are.equal(victim.id, errors[1].folder_id)
    assert.are.equal(404, errors[1].status)
    local node = t:get(victim.id)
    assert.is_nil(node.calls)
    assert.are.equal(errors[1], node.error)
    local filled = 0
    for n in t:walk() do if n.calls then filled = filled + 1 end end
    assert.are.equal(#lib.folders - 1, filled, "the others, empty ones included, have their calls")
  end)

  it("returns nil and the first error with strict = true, stopping early", function()
    srv:faults({ { path = "/library/folders/" .. with_calls(lib.folders, 1).id .. "/calls", status = 404 } })
    local t, err = new():library({ strict = true, concurrency = 1 })
    assert.is_nil(t)
    assert.are.equal(404, err.status)
    assert.is_true(#srv:requests() < #lib.folders / 2)
  end)

  it("returns nil, err when the folder list fails", function()
    local t, err = new({ token = "wrong" }):library()
    assert.is_nil(t)
    assert.are.equal(401, err.status)
  end)

  it("retries transient failures of single folders", function()
    srv:faults({ { path = "/library/folders/" .. with_calls(lib.folders, 3).id .. "/calls", status = 503, times = 2 },
                 { path = "/library/folders/" .. with_calls(lib.folders, 7).id .. "/calls", action = "reset" } })
    local t, errors = new():library({ concurrency = 4 })
    assert.are.same({}, errors)
    assert.is_table(t:get(with_calls(lib.folders, 3).id).calls)
    assert.are.equal(1 + non_empty(lib.folders) + 3, #srv:requests())
  end)

  it("reports progress once per folder asked for its calls, in the phase 'calls'", function()
    local calls, last_total = 0, nil
    new():library({ on_progress = function(done, total, node, err, phase)
      calls = calls + 1
      assert.are.equal(calls, done)
      assert.is_nil(err)
      assert.is_table(node)
      assert.are.equal("calls", phase)
      last_total = total
    end })
    assert.are.equal(non_empty(lib.folders), calls)
    assert.are.equal(non_empty(lib.folders), last_total)
  end)

  it("lets an error raised by on_progress propagate, leaving the client usable", function()
    local c = new()
    local ok, err = pcall(c.library, c, { on_progress = function() error("stop here") end })
    assert.is_false(ok)
    assert.matches("stop here", tostring(err))
    assert.is_table((c:library()))
  end)

  describe("on_plan", function()
    -- The calls the contract's counts give the folders library() asks.
    local function counted(folders)
      local n = 0
      for _, f in ipairs(folders) do n = n + f.callCount end
      return n
    end

    it("is told what the run will make once the folder list is back, before any other request", function()
      local plans, seen = {}, nil
      local t, errors = new():library({ on_plan = function(plan)
        plans[#plans + 1] = plan
        seen = #srv:requests()
      end })
      assert.are.same({}, errors)
      assert.are.equal(#lib.folders, t.count)
      assert.are.equal(1, #plans, "told once")
      assert.are.equal(1, seen, "after the folder list, before anything else")
      local folders = non_empty(lib.folders)
      assert.are.same({ requests = 1 + folders, exact = true, folder_list = 1, folders = folders,
                        calls = counted(lib.folders), phases = 0, batch_size = core.MAX_BATCH,
                        calls_api = 0 }, plans[1])
      assert.are.equal(plans[1].requests, #srv:requests(), "the plan is what the server received")
    end)

    it("stops the run when it returns false: nil, a config error naming it, and no other request", function()
      local c = new()
      local t, err = c:library({ details = true, on_plan = function() return false end })
      assert.is_nil(t)
      assert.is_true(gong.is_error(err))
      assert.are.equal("config", err.kind)
      assert.are.equal("on_plan", err.option)
      assert.are.equal("refused", err.reason)
      assert.are.equal("library: on_plan refused the plan; no request was made after the folder list", err.message)
      assert.are.equal(1, #srv:requests())
      assert.are.equal("/library/folders", srv:requests()[1].path)
      -- Anything but false goes on; the client is as good as new.
      srv:reset()
      assert.is_table((c:library({ on_plan = function() return nil end })))
      assert.are.equal(1 + non_empty(lib.folders), #srv:requests())
    end)

    it("counts the Calls API batches of details and transcripts from the folders' counts", function()
      local plan
      local t = new():library({ details = true, transcripts = true, on_plan = function(p) plan = p end })
      assert.is_table(t)
      local folders, calls = non_empty(lib.folders), counted(lib.folders)
      local batches = math.ceil(calls / core.MAX_BATCH)
      assert.are.same({ requests = 1 + folders + 2 * batches, exact = false, folder_list = 1, folders = folders,
                        calls = calls, phases = 2, batch_size = core.MAX_BATCH, calls_api = 2 * batches }, plan)
      -- A call in two folders is asked for once: the server gets what the
      -- distinct calls need, no more than planned.
      local seen, distinct = {}, 0
      for node in t:walk() do
        for _, call in ipairs(node.calls) do
          if not seen[call.callId] then seen[call.callId], distinct = true, distinct + 1 end
        end
      end
      local got = { folders = 0, calls_api = 0 }
      for _, req in ipairs(srv:requests()) do
        if req.path:find("^/calls/") then got.calls_api = got.calls_api + 1
        elseif req.path:find("/calls$") then got.folders = got.folders + 1 end
      end
      assert.are.same({ folders = folders, calls_api = 2 * math.ceil(distinct / core.MAX_BATCH) }, got)
      assert.is_true(got.calls_api <= plan.calls_api)
    end)

    it("gives a real tenant's run the least it makes: its folders have no count", function()
      local plan
      local c = new({ base_url = srv.tenant_url, api = "public" })
      assert.is_table((c:library({ details = true, on_plan = function(p) plan = p end })))
      assert.are.same({ requests = 1 + #lib.folders, exact = false, folder_list = 1, folders = #lib.folders,
                        phases = 1, batch_size = core.MAX_BATCH }, plan)
      assert.is_true(#srv:requests() > plan.requests)
    end)

    it("is told of a run with no folder to ask: the folder list was all", function()
      local plan
      new():library({ workspaceId = "none", transcripts = true, on_plan = function(p) plan = p end })
      assert.are.same({ requests = 1, exact = true, folder_list = 1, folders = 0, calls = 0, phases = 1,
                        batch_size = core.MAX_BATCH, calls_api = 0 }, plan)
      assert.are.equal(1, #srv:requests())
    end)

    it("must be a function, refused before any request", function()
      local ok, err = pcall(new().library, new(), { on_plan = 5 })
      assert.is_false(ok)
      assert.are.equal("argument", err.kind)
      assert.are.equal("library: on_plan must be a function", err.message)
      assert.are.equal(0, #srv:requests())
    end)
  end)

  it("refuses details it cannot ask for before any request, not after the folders' calls", function()
    local ok, err = pcall(new().library, new(), { details = { "partys" } })
    assert.is_false(ok)
    assert.are.equal("argument", err.kind)
    assert.matches("^call_details: fields%[1%] must be one of parties", err.message)
    assert.are.equal(0, #srv:requests())
  end)

  it("runs concurrently: 8 transfers beat 1 by far when the server is slow", function()
    local ids = {}
    for i = 1, 16 do ids[i] = lib.folders[i].id end
    srv:faults({ { delay = 0.2, times = 32 } })
    local c = new()
    local t0 = socket.gettime()
    local one = c:calls_batch(ids, { concurrency = 1 })
    local t1 = socket.gettime()
    local eight = c:calls_batch(ids, { concurrency = 8 })
    local t2 = socket.gettime()
    assert.are.equal(16, #one)
    assert.are.equal(16, #eight)
    assert.is_true(t1 - t0 >= 16 * 0.2 * 0.95, "sequential took " .. (t1 - t0))
    assert.is_true((t2 - t1) < (t1 - t0) / 4, ("concurrent %.2f vs %.2f"):format(t2 - t1, t1 - t0))
  end)

  for _, delay in ipairs({ 0, 0.25 }) do
    it(("never exceeds the rate limit, whatever the concurrency (responses taking %g s)"):format(delay), function()
      local ids = {}
      for i = 1, 10 do ids[i] = lib.folders[i].id end
      if delay > 0 then srv:faults({ { delay = delay, times = -1 } }) end
      local c = new({ rate = 3 })
      c:calls_batch(ids, { concurrency = 8 })
      local times = {}
      for i, req in ipairs(srv:requests()) do times[i] = req.time end
      table.sort(times)
      for i = 4, #times do
        assert.is_true(times[i] - times[i - 3] >= 1, ("requests %d and %d %.3f s apart"):format(
          i - 3, i, times[i] - times[i - 3]))
      end
    end)
  end

  it("stops starting new folders when the rate limit outlasts max_retry_wait", function()
    srv:faults({ { status = 429, headers = { ["Retry-After"] = "3600" }, times = 100 } })
    local ids = {}
    for i = 1, 20 do ids[i] = lib.folders[i].id end
    local results = new():calls_batch(ids, { concurrency = 2 })
    assert.are.equal(20, #results)
    for _, r in ipairs(results) do
      assert.is_true(gong.is_error(r))
      assert.are.equal("rate_limited", r.kind)
    end
    assert.is_true(#srv:requests() <= 2)
  end)

  it("ends a batch when on_result returns false: nothing more starts, unfinished results stay nil", function()
    local ids = {}
    for i = 1, 12 do ids[i] = lib.folders[i].id end
    srv:faults({ { delay = 0.2, times = -1 } })
    local c = new()
    local seen = {}
    local results = c:calls_batch(ids, { concurrency = 2, on_result = function(i)
      seen[#seen + 1] = i
      return #seen < 3
    end })
    assert.are.equal(3, #seen, "on_result is not called after it asked to stop")
    local finished = 0
    for i = 1, #ids do if results[i] ~= nil then finished = finished + 1 end end
    assert.are.equal(3, finished)
    assert.is_true(#srv:requests() <= 4, #srv:requests() .. " requests for a batch stopped after 3")
    -- The transfers dropped on the way leave the client as good as new.
    srv:reset()
    local again = c:calls_batch({ ids[12], ids[11] })
    assert.are.equal(#lib.calls[ids[12]], #again[1])
    assert.are.equal(#lib.calls[ids[11]], #again[2])
  end)

  describe("with details and transcripts", function()
    -- Every distinct call id the library lists.
    local function distinct_calls()
      local seen, n = {}, 0
      for _, f in ipairs(lib.folders) do
        for _, c in ipairs(lib.calls[f.id] or {}) do
          if not seen[c.callId] then seen[c.callId], n = true, n + 1 end
        end
      end
      return n
    end

    it("fetches each distinct call's details and transcript once: 1 + folders + 2 x ceil(calls / 100) requests",
      function()
        local phases = {}
        local t, errors = new():library({ details = true, transcripts = true,
          on_progress = function(done, total, _, _, phase) phases[phase] = { done, total } end })
        assert.are.same({}, errors)
        local distinct = distinct_calls()
        assert.is_true(distinct < 4600 and distinct > 4000)
        local listed = 0
        for node in t:walk() do
          for _, call in ipairs(node.calls) do
            listed = listed + 1
            assert.are.same(lib.details[call.callId].metaData, call.details.metaData, call.callId)
            assert.are.same(lib.details[call.callId].parties, call.details.parties)
            assert.are.same(lib.transcripts[call.callId], call.transcript)
          end
        end
        assert.is_true(listed > distinct, "some calls are in more than one folder, and fetched once")
        assert.are.equal(1 + non_empty(lib.folders) + 2 * math.ceil(distinct / 100), #srv:requests())
        assert.are.same({ calls = { non_empty(lib.folders), non_empty(lib.folders) },
                          details = { distinct, distinct }, transcripts = { distinct, distinct } }, phases)
      end)

    it("fills a real tenant's calls from their details, and counts its folders' calls", function()
      local c = new({ base_url = srv.tenant_url, api = "public" })
      local t, errors = c:library({ details = true })
      assert.are.same({}, errors)
      for node in t:walk() do
        assert.are.equal(#node.calls, node.callCount, "a tenant sends no count: it is counted")
        assert.is_number(node.total_calls)
        for _, call in ipairs(node.calls) do
          local meta = lib.details[call.callId].metaData
          assert.are.same({ meta.started, meta.duration, meta.primaryUserId },
                          { call.started, call.duration, call.primaryUserId }, call.callId)
          assert.is_nil(call.transcript)
        end
      end
      -- A tenant's folders have no count to skip empty ones by: each is asked.
      assert.are.equal(1 + #lib.folders + math.ceil(distinct_calls() / 100), #srv:requests())
    end)

    it("lists a failed phase among the errors, or stops with it when strict", function()
      srv:faults({ { path = "/calls/transcript", status = 400, times = -1 } })
      local t, errors = new():library({ transcripts = true, workspaceId = lib.workspaces[3].id })
      assert.is_table(t)
      assert.are.equal(1, #errors)
      assert.are.equal("transcripts", errors[1].phase)
      assert.are.equal(400, errors[1].status)
      local none, err = new():library({ transcripts = true, strict = true, workspaceId = lib.workspaces[3].id })
      assert.is_nil(none)
      assert.are.equal("transcripts", err.phase)
    end)

    describe("streamed: on_call_data and keep = false", function()
      it("hands each distinct call's details and transcript to on_call_data once, as each page comes, "
        .. "and hangs none on the tree", function()
        local got, pages_before_end = { details = {}, transcript = {} }, {}
        local t, errors = new({ base_url = srv.tenant_url, api = "public" }):library({
          details = true, transcripts = true, keep = false, workspaceId = lib.workspaces[3].id,
          on_call_data = function(id, field, data)
            assert.is_nil(got[field][id], "handed twice: " .. field .. " " .. id)
            got[field][id] = data
            -- Each page is handed over before the phase ends: its progress is told after.
            pages_before_end[field] = true
          end })
        assert.are.same({}, errors)
        local calls = 0
        for node in t:walk() do
          for _, call in ipairs(node.calls) do
            calls = calls + 1
            assert.is_nil(call.details)
            assert.is_nil(call.transcript)
            assert.are.same(lib.details[call.callId].metaData, got.details[call.callId].metaData)
            assert.are.same(lib.transcripts[call.callId], got.transcript[call.callId])
            -- A real tenant's record still gets what only the details tell.
            assert.are.equal(lib.details[call.callId].metaData.started, call.started)
          end
        end
        assert.is_true(calls > 0)
        assert.are.same({ details = true, transcript = true }, pages_before_end)
      end)

      it("hangs them on the tree too without keep = false", function()
        local handed = 0
        local t = new():library({ transcripts = true, workspaceId = lib.workspaces[3].id,
          on_call_data = function() handed = handed + 1 end })
        local hung = {}
        for node in t:walk() do
          for _, call in ipairs(node.calls) do
            if call.transcript then
              assert.are.same(lib.transcripts[call.callId], call.transcript)
              hung[call.callId] = true
            end
          end
        end
        local n = 0
        for _ in pairs(hung) do n = n + 1 end
        assert.is_true(n > 0)
        assert.are.equal(n, handed)
      end)

      it("ends with a closed error when on_call_data closes the client", function()
        local c = new()
        local t, err = c:library({ transcripts = true, workspaceId = lib.workspaces[3].id,
          on_call_data = function() c:close() end })
        assert.is_nil(t)
        assert.are.equal("closed", err.kind)
      end)

      it("raises for an on_call_data that is no function and a keep that is no boolean", function()
        assert.has_error(function() new():library({ on_call_data = 1 }) end)
        assert.has_error(function() new():library({ keep = "no" }) end)
      end)
    end)
  end)

  it("raises argument errors for bad ids and options", function()
    local c = new()
    assert.has_error(function() c:calls_batch({ "a", "" }) end)
    assert.has_error(function() c:calls_batch({ "a" }, { concurrency = 0 }) end)
    assert.has_error(function() c:calls_batch({ "a" }, { on_result = 1 }) end)
    assert.has_error(function() c:library({ concurency = 2 }) end)
    srv:reset()
    local ok, err = pcall(c.library, c, { concurrency = 0 })
    assert.is_false(ok)
    assert.are.equal("library: concurrency must be an integer from 1 to 64", err.message)
    assert.are.equal(0, #srv:requests(), "refused before the folder list is fetched")
    assert.are.same({}, c:calls_batch({}))
  end)

  it("returns a closed error on a closed client", function()
    local c = new()
    c:close()
    local t, err = c:library()
    assert.is_nil(t)
    assert.are.equal("closed", err.kind)
    local r, err2 = c:calls_batch({ "a" })
    assert.is_nil(r)
    assert.are.equal("closed", err2.kind)
  end)
end)
