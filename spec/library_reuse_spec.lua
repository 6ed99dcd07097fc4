-- client:library{ reuse = ... }: an earlier run's details and transcripts
-- hung on the calls again, the Calls API asked only for what they lack.

local gong = require "gong"
local core = require "gong.core"
local fake = require "spec.support.fake"

local creds = fake.credentials

-- The folders library() asks for their calls, and the first of them.
local function with_calls(folders)
  local n, first = 0, nil
  for _, f in ipairs(folders) do
    if f.callCount ~= 0 then
      n = n + 1
      first = first or f
    end
  end
  return n, first
end

-- The gong.LibraryReuse of an earlier run's tree `t`: what it found of each
-- call, a call asked for its transcript that has none marked false.
local function reuse_of(t, phases)
  local reuse = { details = {}, transcripts = {}, folders = {} }
  for node in t:walk() do
    local ids = {}
    for i, call in ipairs(node.calls or {}) do
      ids[i] = call.callId
      if phases.details then reuse.details[call.callId] = call.details end
      if phases.transcripts then reuse.transcripts[call.callId] = call.transcript or false end
    end
    reuse.folders[node.id] = ids
  end
  return reuse
end

-- The distinct call ids of a tree.
local function distinct(t)
  local seen, n = {}, 0
  for node in t:walk() do
    for _, call in ipairs(node.calls or {}) do
      if not seen[call.callId] then seen[call.callId], n = true, n + 1 end
    end
  end
  return n, seen
end

-- The Calls API requests the server received: route -> the call ids asked.
local function calls_api(srv)
  local asked = {}
  for _, req in ipairs(srv:requests()) do
    if req.path:find("^/calls/") then
      asked[req.path] = asked[req.path] or {}
      for _, id in ipairs(require("cjson").decode(req.body).filter.callIds) do
        table.insert(asked[req.path], id)
      end
    end
  end
  return asked
end

describe("client:library{ reuse = ... }", function()
  local srv, lib

  local function new()
    return gong.new({ base_url = srv.url, token = creds.token, rate = false })
  end

  setup(function()
    srv = fake.start()
    lib = fake.library()
  end)
  teardown(function() srv:stop() end)
  before_each(function() srv:reset() end)

  it("asks nothing of the Calls API for an unchanged library, and hangs the earlier data on the calls", function()
    local all = { details = true, transcripts = true }
    local earlier = assert(new():library(all))
    srv:reset()
    local plan
    local t, errors = new():library({ details = true, transcripts = true, reuse = reuse_of(earlier, all),
                                      on_plan = function(p) plan = p end })
    assert.are.same({}, errors)
    local folders = with_calls(lib.folders)
    local calls = distinct(earlier)
    assert.are.equal(1 + folders, #srv:requests())
    assert.are.same({}, calls_api(srv))
    assert.are.same({ requests = 1 + folders, exact = false, folder_list = 1, folders = folders, calls = 0,
                      phases = 2, batch_size = core.MAX_BATCH, calls_api = 0, reused = calls }, plan)
    assert.are.equal(calls, t.reused)
    local reuse = reuse_of(earlier, all)
    for node in t:walk() do
      for _, call in ipairs(node.calls) do
        assert.are.equal(reuse.details[call.callId], call.details)
        assert.are.same(lib.transcripts[call.callId], call.transcript)
        assert.are.equal(reuse.details[call.callId].metaData.started, call.started)
      end
    end
  end)

  it("asks the Calls API for the new calls only: 2 requests for 3 calls, as planned", function()
    local all = { details = true, transcripts = true }
    local earlier = assert(new():library(all))
    local folders, folder = with_calls(lib.folders)
    srv:reset()
    local new_ids = srv:add_calls(folder.id, 3)
    local plan
    local t = assert(new():library({ details = true, transcripts = true, reuse = reuse_of(earlier, all),
                                     on_plan = function(p) plan = p end }))
    assert.are.same({ ["/calls/extensive"] = new_ids, ["/calls/transcript"] = new_ids }, calls_api(srv))
    assert.are.equal(1 + folders + 2, #srv:requests())
    assert.are.same({ requests = 1 + folders + 2, exact = false, folder_list = 1, folders = folders, calls = 3,
                      phases = 2, batch_size = core.MAX_BATCH, calls_api = 2, reused = distinct(earlier) }, plan)
    assert.are.equal(distinct(earlier), t.reused)
    local node = t:get(folder.id)
    local last = node.calls[#node.calls]
    assert.are.equal(new_ids[3], last.callId)
    assert.are.equal(new_ids[3], last.details.metaData.id)
  end)

  it("serves for what it holds: an earlier run without transcripts has all of them asked", function()
    local earlier = assert(new():library({ details = true }))
    srv:reset()
    local plan
    local t = assert(new():library({ details = true, transcripts = true,
                                     reuse = reuse_of(earlier, { details = true }),
                                     on_plan = function(p) plan = p end }))
    local calls = distinct(earlier)
    local asked = calls_api(srv)
    assert.is_nil(asked["/calls/extensive"])
    assert.are.equal(calls, #asked["/calls/transcript"])
    assert.are.equal(0, t.reused)
    assert.are.equal(math.ceil(calls / core.MAX_BATCH), plan.calls_api)
    assert.are.equal(calls, plan.calls)
  end)

  it("must be a table, refused before any request", function()
    local ok, err = pcall(new().library, new(), { reuse = true })
    assert.is_false(ok)
    assert.are.equal("argument", err.kind)
    assert.matches("^library: reuse must be a table", err.message)
    assert.are.equal(0, #srv:requests())
  end)
end)
