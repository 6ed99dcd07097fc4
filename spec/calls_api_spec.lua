-- A real Gong tenant: api = "auto", the public API's records under the
-- contract's names, workspaces, and the Calls API (call details and
-- transcripts: batches, pages, the empty 404), through libcurl to the fake
-- server's /tenant (a tenant) and root (the contract) flavours.

local gong = require "gong"
local core = require "gong.core"
local cjson = require("cjson").new()
local fake = require "spec.support.fake"

local creds = fake.credentials

-- The JSON bodies of the recorded requests to `path`, decoded.
local function bodies(srv, path)
  local list = {}
  for _, req in ipairs(srv:requests()) do
    if req.path:sub(-#path) == path then list[#list + 1] = cjson.decode(req.body) end
  end
  return list
end

local function count(t)
  local n = 0
  for _ in pairs(t) do n = n + 1 end
  return n
end

describe("a real tenant and the Calls API", function()
  local srv, lib

  setup(function()
    srv = fake.start()
    lib = fake.library()
  end)
  teardown(function() srv:stop() end)
  before_each(function() srv:reset() end)

  local function new(opts)
    local o = { base_url = srv.url, token = creds.token, rate = false, backoff_base = 0.01 }
    for k, v in pairs(opts or {}) do o[k] = v end
    return gong.new(o)
  end

  -- The first n distinct call ids of the library.
  local function call_ids(n)
    local ids = {}
    for i = 1, n do ids[i] = lib.call_ids[i] end
    return ids
  end

  describe('api = "auto"', function()
    it("speaks the public API to gong.io and its subdomains, the contract anywhere else", function()
      local cases = {
        ["https://api.gong.io/v2"] = "public", ["https://us-12345.api.gong.io/v2/"] = "public",
        ["https://gong.io"] = "public", ["https://API.Gong.IO/v2"] = "public",
        ["https://api.gong.io./v2"] = "public",
        ["https://gong.io.example.com/v2"] = "contract", ["https://evilgong.io/v2"] = "contract",
        ["https://example.com/v2"] = "contract", ["http://127.0.0.1:8080"] = "contract",
        ["https://gong.iox/v2"] = "contract",
      }
      for url, api in pairs(cases) do
        local c = core.new({ base_url = url })
        assert.are.equal(api, c.api, url)
        assert.are.equal(api, core.api_for(url), "core.api_for tells the same: " .. url)
        assert.truthy(tostring(c):find(", api=" .. api, 1, true), tostring(c))
        c:close()
      end
      assert.are.equal("argument", select(2, pcall(core.api_for, 5)).kind)
    end)

    it("gives way to an explicit api, and is what new() does without one", function()
      assert.are.equal("contract", core.new({ base_url = "https://api.gong.io/v2", api = "contract" }).api)
      assert.are.equal("public", core.new({ base_url = "http://127.0.0.1:1", api = "public" }).api)
      assert.are.equal("public", core.new().api, "the default base URL is Gong's")
    end)
  end)

  describe("the public API's records", function()
    it("are folders with the fields a tenant sends, callCount absent (unknown), not 0", function()
      local folders = assert(new({ base_url = srv.tenant_url, api = "public" }):folders())
      assert.are.equal(#lib.folders, #folders)
      for i, f in ipairs(folders) do
        local want = lib.folders[i]
        assert.are.same({ want.id, want.name, want.parentFolderId, want.createdBy, want.updated },
                        { f.id, f.name, f.parentFolderId, f.createdBy, f.updated }, want.id)
        assert.is_nil(f.callCount)
        assert.is_nil(f.description)
        assert.is_nil(f.created)
      end
    end)

    it("are calls under the contract's names: callId from id, addedToLibraryAt from created", function()
      local c = new({ base_url = srv.tenant_url, api = "public" })
      local calls = assert(c:calls(lib.special_id))
      assert.is_true(#calls > 0)
      for i, call in ipairs(calls) do
        local want = lib.calls[lib.special_id][i]
        assert.are.equal(want.callId, call.callId)
        assert.are.equal(want.addedToLibraryAt, call.addedToLibraryAt)
        assert.are.same({ want.title, want.url, want.addedBy }, { call.title, call.url, call.addedBy })
        assert.is_nil(call.id)
        assert.is_nil(call.created)
        assert.is_nil(call.started, "only the Calls API tells when a call started")
      end
      assert.are.equal("/tenant/library/folder-content", srv:requests()[1].path)
    end)
  end)

  describe("client:workspaces()", function()
    it("lists the tenant's workspaces with a request id", function()
      local list, rid = new():workspaces()
      assert.matches("^%x+$", rid)
      assert.are.equal(#lib.workspaces, #list)
      for i, w in ipairs(lib.workspaces) do
        assert.are.same({ w.id, w.name, w.description }, { list[i].id, list[i].name, list[i].description })
      end
      assert.are.equal("/workspaces", srv:requests()[1].path)
    end)
  end)

  describe("client:call_details()", function()
    it("returns the records keyed by call id, as sent, with a request id per page", function()
      local ids = call_ids(3)
      local details, rids = new():call_details(ids, { fields = { "parties", "content", "interaction",
                                                               "collaboration", "media" } })
      assert.are.equal(3, count(details))
      assert.are.equal(1, #rids)
      for _, id in ipairs(ids) do
        local want = lib.details[id]
        assert.are.same(want.metaData, details[id].metaData)
        assert.are.same(want.parties, details[id].parties)
        assert.are.same(want.content, details[id].content)
        assert.are.same(want.media, details[id].media)
      end
    end)

    it("asks for the parties only unless told, in context None", function()
      local details = assert(new():call_details(call_ids(1)))
      local d = details[lib.call_ids[1]]
      assert.is_table(d.parties)
      assert.is_nil(d.content)
      assert.is_nil(d.media)
      local body = bodies(srv, "/calls/extensive")[1]
      assert.are.same({ parties = true }, body.contentSelector.exposedFields)
      assert.are.equal("None", body.contentSelector.context)
      assert.are.same({ lib.call_ids[1] }, body.filter.callIds)
      assert.is_nil(body.cursor)
    end)

    it("sends the context it is given", function()
      local details = assert(new():call_details(call_ids(1), { context = "Extended" }))
      assert.is_table(details[lib.call_ids[1]].context)
      assert.are.equal("Extended", bodies(srv, "/calls/extensive")[1].contentSelector.context)
    end)

    for _, case in ipairs({ { 0, {} }, { 1, { 1 } }, { 100, { 100 } }, { 101, { 100, 1 } },
                            { 250, { 100, 100, 50 } } }) do
      local n, sizes = case[1], case[2]
      it(("sends %d ids in %d request(s) of at most 100"):format(n, #sizes), function()
        local details, rids = new():call_details(call_ids(n))
        assert.are.equal(n, count(details))
        assert.are.equal(#sizes, #rids)
        local sent = {}
        for i, body in ipairs(bodies(srv, "/calls/extensive")) do sent[i] = #body.filter.callIds end
        table.sort(sent, function(a, b) return a > b end)
        assert.are.same(sizes, sent)
      end)
    end

    it("sends a duplicated id once, and leaves ids Gong does not know out", function()
      local ids = { lib.call_ids[1], "no-such-call", lib.call_ids[2], lib.call_ids[1] }
      local details = assert(new():call_details(ids))
      assert.are.equal(2, count(details))
      assert.is_table(details[lib.call_ids[1]])
      assert.is_table(details[lib.call_ids[2]])
      assert.are.same({ lib.call_ids[1], "no-such-call", lib.call_ids[2] },
                      bodies(srv, "/calls/extensive")[1].filter.callIds)
    end)

    it("follows every page, the same request with the cursor, and keeps nothing twice", function()
      srv:settings({ page_size = 2 })
      local ids = call_ids(7)
      local details, rids = new():call_details(ids)
      assert.are.equal(7, count(details))
      assert.are.equal(4, #rids, "a request id per page")
      local sent = bodies(srv, "/calls/extensive")
      assert.are.equal(4, #sent)
      assert.is_nil(sent[1].cursor)
      for i = 2, 4 do
        assert.is_string(sent[i].cursor)
        assert.are.same(sent[1].filter, sent[i].filter)
        assert.are.same(sent[1].contentSelector, sent[i].contentSelector)
      end
    end)

    -- A page of one call naming `cursor` as the next, as a mock serving
    -- static examples answers every page.
    local function page_body(id, cursor)
      return cjson.encode({ requestId = "rid-" .. cursor, records = { totalRecords = 1, currentPageSize = 1,
        currentPageNumber = 0, cursor = cursor }, calls = { { metaData = { id = id } } } })
    end

    it("stops a paging that repeats its cursor: an error naming the route, nothing partial", function()
      local id = call_ids(1)[1]
      srv:faults({ { path = "/calls/extensive", status = 200, body = page_body(id, "same"), times = 50 } })
      local details, err = new():call_details({ id })
      assert.is_nil(details)
      assert.are.equal("decode", err.kind)
      assert.are.equal("gong: POST /calls/extensive paged without end: page 2 repeats the cursor of page 1; "
        .. "stopped after 2 requests (request rid-same)", tostring(err))
      assert.are.equal(2, #srv:requests())
    end)

    it("stops a paging that outgrows its batch, each page naming a new cursor", function()
      local ids, faults = call_ids(2), {}
      for i = 1, 10 do faults[i] = { path = "/calls/transcript", status = 200, body = page_body(ids[1], "c" .. i) } end
      srv:faults(faults)
      local transcripts, err = new():transcripts(ids)
      assert.is_nil(transcripts)
      assert.are.equal("decode", err.kind)
      assert.matches("^POST /calls/transcript paged without end: 4 pages for 2 call ids, and page 4 names another",
        err.message)
      assert.are.equal(4, #srv:requests())
    end)

    it("reads the empty-result 404 as no records, whether errors are strings or objects", function()
      for _, objects in ipairs({ false, true }) do
        srv:settings({ error_objects = objects })
        local details, rids = new():call_details({ "no-such-call" })
        assert.are.same({}, details)
        assert.are.equal(1, #rids)
      end
    end)

    it("gives the error's messages as strings when Gong sends {message} objects", function()
      srv:settings({ error_objects = true })
      local _, err = new({ token = "wrong" }):call_details(call_ids(1))
      assert.are.equal(401, err.status)
      assert.are.same({ "Invalid credentials" }, err.errors)
    end)

    it("returns nil and the error, nothing partial, when a page fails midway", function()
      srv:settings({ page_size = 2 })
      srv:faults({ { path = "/calls/extensive", delay = 0 }, { path = "/calls/extensive", status = 400 } })
      local details, err = new():call_details(call_ids(6), { concurrency = 1 })
      assert.is_nil(details)
      assert.are.equal(400, err.status)
      assert.matches("^HTTP 400 on POST /calls/extensive", err.message)
    end)

    it("retries a transient failure like a GET, and reports progress per batch", function()
      srv:faults({ { path = "/calls/extensive", status = 503 } })
      local seen = {}
      local details = assert(new():call_details(call_ids(150), { on_progress = function(done, total)
        seen[#seen + 1] = done .. "/" .. total
      end }))
      assert.are.equal(150, count(details))
      assert.are.equal(3, #srv:requests(), "two batches, one of them tried twice")
      -- The batches of 100 and 50 finish in either order.
      assert.are.equal(2, #seen)
      assert.truthy(seen[1] == "100/150" or seen[1] == "50/150", seen[1])
      assert.are.equal("150/150", seen[2])
    end)

    it("raises argument errors naming what is wrong", function()
      local c = new()
      for _, case in ipairs({
        { { "a", 5 }, nil, "callIds%[2%] must be a non%-empty string" },
        { "a", nil, "callIds must be a list" },
        { { "a" }, { batch_size = 101 }, "batch_size must be an integer from 1 to 100" },
        { { "a" }, { fields = { "partys" } }, "fields%[1%] must be one of parties" },
        { { "a" }, { context = "All" }, "context must be" },
        { { "a" }, { on_progress = 1 }, "on_progress must be a function" },
      }) do
        local ok, err = pcall(c.call_details, c, case[1], case[2])
        assert.is_false(ok)
        assert.are.equal("argument", err.kind)
        assert.matches("^call_details: " .. case[3], err.message)
      end
      assert.are.equal(0, #srv:requests())
    end)
  end)

  describe("client:transcripts()", function()
    it("returns each call's monologues as sent, none for a call without a transcript", function()
      local ids = call_ids(15)
      local transcripts, rids = new():transcripts(ids)
      assert.are.equal(1, #rids)
      local with = 0
      for _, id in ipairs(ids) do
        if lib.transcripts[id] then
          with = with + 1
          assert.are.same(lib.transcripts[id], transcripts[id])
        else
          assert.is_nil(transcripts[id])
        end
      end
      assert.is_true(with > 0 and with < 15, "some calls have a transcript and some have none")
      assert.are.equal(with, count(transcripts))
    end)

    it("batches and pages like call_details", function()
      srv:settings({ page_size = 3 })
      local transcripts, rids = new():transcripts(call_ids(120), { batch_size = 60 })
      local want = 0
      for i = 1, 120 do if lib.transcripts[lib.call_ids[i]] then want = want + 1 end end
      assert.are.equal(want, count(transcripts))
      local sent = bodies(srv, "/calls/transcript")
      assert.are.equal(#rids, #sent)
      assert.is_true(#sent > 2 * 3, #sent .. " requests")
      for _, body in ipairs(sent) do assert.is_true(#body.filter.callIds == 60) end
    end)
  end)
end)
