-- The fake's public answers against Gong's own description of its public v2
-- API (doc/gong-v2-openapi.json), with the strict checker of
-- spec.support.openapi: every endpoint gong uses, every selection of the
-- Calls API, second pages, and the error answers the fake gives. Public mode
-- is the tenant (/tenant/v2/...); the routes both flavours share are asked
-- at the root too, where they serve the same shape. The contract's own
-- routes at the root (doc/gong-library-openapi.yml) are not Gong's and are
-- judged by spec/fake_server_spec.lua. Requests go over plain HTTP with
-- LuaSocket, not through gong, so a client bug cannot hide a fake's.

local http = require "socket.http"
local ltn12 = require "ltn12"
local mime = require "mime"
local cjson = require("cjson").new()
local fake = require "spec.support.fake"
local openapi = require "spec.support.openapi"
local json = require "fake.json"

local creds = fake.credentials
local BASIC = fake.BASIC
local WRONG = "Basic " .. mime.b64(creds.key .. ":nope")

-- Percent-encodes everything but unreserved characters (RFC 3986).
local function encode(s)
  return (s:gsub("[^%w%-._~]", function(c) return ("%%%02X"):format(c:byte()) end))
end

-- A /calls request body for `ids`, plus `extra` members (contentSelector, cursor).
local function calls_body(ids, extra)
  local t = {}
  for k, v in pairs(extra or {}) do t[k] = v end
  t.filter = { callIds = json.array(ids) }
  return json.encode(t)
end

local function slice(list, from, to)
  local out = {}
  for i = from, math.min(to, #list) do out[#out + 1] = list[i] end
  return out
end

-- Every contentSelector gong can send, and a few it does not: each section
-- alone (as `true` and as an object naming one member), all and none, with
-- each context and without one.
local function selectors()
  local fields = {
    { name = "no exposedFields" },
    { name = "{}", value = json.object {} },
    { name = "parties", value = { parties = true } },
    { name = "content", value = { content = true } },
    { name = "content.topics", value = { content = { topics = true } } },
    { name = "interaction", value = { interaction = true } },
    { name = "interaction.speakers", value = { interaction = { speakers = true } } },
    { name = "collaboration", value = { collaboration = true } },
    { name = "collaboration.publicComments", value = { collaboration = { publicComments = true } } },
    { name = "media", value = { media = true } },
    { name = "every section", value = { parties = true, content = true, interaction = true,
                                        collaboration = true, media = true } },
  }
  local out = { { name = "no contentSelector" } }
  for _, context in ipairs { "(none)", "None", "Basic", "Extended" } do
    for _, f in ipairs(fields) do
      local sel = json.object {}
      if context ~= "(none)" then sel.context = context end
      if f.value then sel.exposedFields = f.value end
      out[#out + 1] = { name = f.name .. ", context " .. context, value = sel }
    end
  end
  return out
end

describe("the fake's public answers", function()
  local srv, lib, api

  setup(function()
    srv = fake.start()
    lib = fake.library()
    api = openapi.load()
  end)

  teardown(function()
    if srv then srv:stop() end
  end)

  before_each(function()
    srv:reset()
  end)

  -- One request; returns status, decoded body, lower-cased headers, raw body.
  local function request(method, target, body, auth)
    local chunks = {}
    local headers = { authorization = auth or BASIC }
    if body then
      headers["content-type"] = "application/json"
      headers["content-length"] = #body
    end
    local ok, status, head = http.request {
      url = srv.url .. target, method = method, headers = headers,
      source = body and ltn12.source.string(body) or nil, sink = ltn12.sink.table(chunks),
    }
    assert(ok, status)
    local raw = table.concat(chunks)
    local lower = {}
    for k, v in pairs(head) do lower[k:lower()] = v end
    return status, cjson.decode(raw), lower, raw
  end

  -- Asks `method path` (the description's path, with `query`) in public mode
  -- and, when `root`, at the root as well; expects `status` and an answer the
  -- description's schema for it admits. Returns the tenant's decoded answer.
  local function conforms(status, method, path, opts)
    opts = opts or {}
    local targets = { "/tenant" .. path .. (opts.query or "") }
    if opts.root then targets[2] = path:gsub("^/v2", "") .. (opts.query or "") end
    local first
    for _, target in ipairs(targets) do
      local got, decoded, headers, raw = request(method, target, opts.body, opts.auth)
      assert.are.equal(status, got, method .. " " .. target .. ": " .. raw:sub(1, 300))
      assert.matches("^application/json", headers["content-type"] or "")
      assert.are.same({}, api:check(method, path, status, decoded), method .. " " .. target)
      assert.are.same({}, api:check_headers(method, path, status, headers), method .. " " .. target)
      first = first or decoded
    end
    return first
  end

  describe("GET /v2/library/folders", function()
    it("lists every folder as LibraryResponse says", function()
      local body = conforms(200, "GET", "/v2/library/folders")
      assert.are.equal(#lib.folders, #body.folders)
    end)

    it("lists each workspace's folders, and none of an unknown one, as LibraryResponse says", function()
      for _, ws in ipairs(lib.workspaces) do
        local body = conforms(200, "GET", "/v2/library/folders", { query = "?workspaceId=" .. ws.id })
        assert.is_true(#body.folders > 0)
      end
      conforms(200, "GET", "/v2/library/folders", { query = "?workspaceId=nope" })
    end)

    it("sends null as the parentFolderId of a root folder, as the schema's text says", function()
      local roots = 0
      for _, f in ipairs(conforms(200, "GET", "/v2/library/folders").folders) do
        if f.parentFolderId == cjson.null then roots = roots + 1 end
      end
      assert.is_true(roots > 0)
    end)
  end)

  describe("GET /v2/library/folder-content", function()
    it("answers every folder, the empty and the special ones too, as LibraryFolderListOfCallsResponse", function()
      local empty = 0
      for _, f in ipairs(lib.folders) do
        local body = conforms(200, "GET", "/v2/library/folder-content", { query = "?folderId=" .. encode(f.id) })
        assert.are.equal(f.id, body.id)
        if #lib.calls[f.id] == 0 then empty = empty + 1 end
      end
      assert.is_true(empty > 0)
    end)

    it("answers the same at the root", function()
      for _, id in ipairs { lib.special_id, lib.folders[1].id, lib.folders[2].id } do
        conforms(200, "GET", "/v2/library/folder-content", { query = "?folderId=" .. encode(id), root = true })
      end
    end)
  end)

  describe("GET /v2/workspaces", function()
    it("lists the workspaces as WorkspacesMetadata says, at the root and under /tenant", function()
      local body = conforms(200, "GET", "/v2/workspaces", { root = true })
      assert.are.equal(#lib.workspaces, #body.workspaces)
    end)
  end)

  describe("POST /v2/calls/extensive", function()
    it("answers every selection of exposedFields, with each context, as Calls says", function()
      local ids = slice(lib.call_ids, 1, 100)
      for _, sel in ipairs(selectors()) do
        local body = conforms(200, "POST", "/v2/calls/extensive",
                              { body = calls_body(ids, { contentSelector = sel.value }), root = true })
        assert.are.equal(#ids, #body.calls, sel.name)
      end
    end)

    it("answers every call with every section as Calls says, page by page with the cursor", function()
      srv:settings { page_size = 100 }
      local ids = lib.call_ids
      local every = { context = "Extended", exposedFields = { parties = true, content = true, interaction = true,
                                                              collaboration = true, media = true } }
      local seen = 0
      for from = 1, #ids, 100 do
        local batch = slice(ids, from, from + 99)
        local cursor, pages = nil, 0
        repeat
          local body = conforms(200, "POST", "/v2/calls/extensive",
                                { body = calls_body(batch, { contentSelector = every, cursor = cursor }) })
          seen, pages, cursor = seen + #body.calls, pages + 1, body.records.cursor
        until not cursor
        assert.are.equal(1, pages)
      end
      assert.are.equal(#ids, seen)
    end)

    it("answers second and later pages as Calls says", function()
      srv:settings { page_size = 7 }
      local ids = slice(lib.call_ids, 1, 30)
      local cursor, pages = nil, 0
      repeat
        local body = conforms(200, "POST", "/v2/calls/extensive",
                              { body = calls_body(ids, { contentSelector = { exposedFields = { parties = true } },
                                                         cursor = cursor }) })
        pages, cursor = pages + 1, body.records.cursor
      until not cursor
      assert.are.equal(5, pages)
    end)
  end)

  describe("POST /v2/calls/transcript", function()
    it("answers every call's transcript as CallTranscripts says", function()
      local seen = 0
      for from = 1, #lib.call_ids, 100 do
        local body = conforms(200, "POST", "/v2/calls/transcript",
                              { body = calls_body(slice(lib.call_ids, from, from + 99)), root = from == 1 })
        seen = seen + #body.callTranscripts
      end
      assert.is_true(seen > 0)
    end)

    it("answers second and later pages, and an empty list, as CallTranscripts says", function()
      srv:settings { page_size = 4 }
      local ids = slice(lib.call_ids, 1, 20)
      local cursor, pages = nil, 0
      repeat
        local body = conforms(200, "POST", "/v2/calls/transcript", { body = calls_body(ids, { cursor = cursor }) })
        pages, cursor = pages + 1, body.records.cursor
      until not cursor
      assert.is_true(pages > 1)
      -- Call 7 (its serial a multiple of 7) has no transcript.
      local body = conforms(200, "POST", "/v2/calls/transcript", { body = calls_body { lib.call_ids[7] } })
      assert.are.equal(0, #body.callTranscripts)
    end)
  end)

  describe("error answers", function()
    local CALLS = { "/v2/calls/extensive", "/v2/calls/transcript" }

    it("refuse wrong and missing credentials with 401, and 403 on /v2/workspaces, as ErrorResponse", function()
      for _, auth in ipairs { WRONG, "Bearer nope" } do
        conforms(401, "GET", "/v2/library/folders", { auth = auth })
        conforms(401, "GET", "/v2/library/folder-content", { auth = auth, query = "?folderId=" .. lib.folders[1].id })
        conforms(403, "GET", "/v2/workspaces", { auth = auth, root = true })
        for _, path in ipairs(CALLS) do
          conforms(401, "POST", path, { auth = auth, body = calls_body { lib.call_ids[1] }, root = true })
        end
      end
    end)

    it("answer malformed requests with 400 as ErrorResponse", function()
      conforms(400, "GET", "/v2/library/folders", { query = "?workspaceId=%zz" })
      conforms(400, "GET", "/v2/library/folder-content", { root = true })
      conforms(400, "GET", "/v2/library/folder-content", { query = "?folderId=%zz" })
      local many = {}
      for i = 1, 101 do many[i] = lib.call_ids[i] end
      for _, path in ipairs(CALLS) do
        for _, body in ipairs { "[]", "{}", '{"filter":{"callIds":"1"}}', calls_body(many),
                                calls_body({ lib.call_ids[1] }, { cursor = "nope" }) } do
          conforms(400, "POST", path, { body = body, root = true })
        end
      end
      conforms(400, "POST", "/v2/calls/extensive",
               { body = calls_body({ lib.call_ids[1] }, { contentSelector = { context = "All" } }) })
    end)

    it("answer what is not there with 404 as ErrorResponse", function()
      conforms(404, "GET", "/v2/library/folder-content", { query = "?folderId=nope", root = true })
      for _, path in ipairs(CALLS) do
        conforms(404, "POST", path, { body = calls_body { "1" }, root = true })
      end
    end)

    it("list messages as objects only with error_objects, a setting the description does not admit", function()
      srv:settings { error_objects = true }
      local status, body = request("GET", "/tenant/v2/library/folder-content")
      assert.are.equal(400, status)
      assert.are.same({ "$.errors[1]: expected a string, got an object" },
                      api:check("GET", "/v2/library/folder-content", 400, body))
    end)

    it("answer past the rate limit with 429, Retry-After and ErrorResponse", function()
      local asks = {
        { "GET", "/v2/library/folders" },
        { "GET", "/v2/library/folder-content", { query = "?folderId=" .. encode(lib.special_id) } },
        { "GET", "/v2/workspaces" },
        { "POST", "/v2/calls/extensive", { body = calls_body { lib.call_ids[1] } } },
        { "POST", "/v2/calls/transcript", { body = calls_body { lib.call_ids[1] } } },
      }
      for _, ask in ipairs(asks) do
        srv:reset()
        srv:settings { rate_limit = 1 }
        conforms(200, ask[1], ask[2], ask[3])
        conforms(429, ask[1], ask[2], ask[3])
      end
    end)
  end)
end)

describe("spec.support.openapi", function()
  local api

  setup(function() api = openapi.load() end)

  local function problems(method, path, status, text)
    return api:check(method, path, status, cjson.decode(text))
  end

  it("admits an answer the schema describes", function()
    assert.are.same({}, problems("GET", "/v2/library/folder-content", 200,
      '{"requestId":"r","id":"1","name":"n","createdBy":"2","updated":"2024-01-02T03:04:05Z",'
        .. '"calls":[{"id":"3","title":"t","addedBy":"2","created":"2024-01-02T03:04:05.5-08:00",'
        .. '"url":"u","snippet":{"fromSec":1,"toSec":20}}]}'))
  end)

  it("names every property the schema does not, a snippet that is no object, and a float for an integer", function()
    assert.are.same({
      "$.callCount: not in the schema (LibraryFolderListOfCallsResponse)",
      "$.calls[1].snippet: expected an object, got the string \"Pricing\"",
      "$.created: not in the schema (LibraryFolderListOfCallsResponse)",
    }, problems("GET", "/v2/library/folder-content", 200,
                '{"callCount":1,"created":"2024-01-02T03:04:05Z","calls":[{"snippet":"Pricing"}]}'))
    assert.are.same({ "$.calls[1].snippet.toSec: expected an integer, got number 2.5" },
                    problems("GET", "/v2/library/folder-content", 200, '{"calls":[{"snippet":{"toSec":2.5}}]}'))
  end)

  it("refuses null but where its exception list allows it, and bad dates and enums", function()
    assert.are.same({}, problems("GET", "/v2/library/folders", 200, '{"folders":[{"parentFolderId":null}]}'))
    assert.are.same({
      "$.records: null where the schema says object",
    }, problems("POST", "/v2/calls/extensive", 200, '{"records":null}'))
    assert.are.same({
      "$.calls[1].metaData.direction: the string \"Sideways\" is not one of Inbound, Outbound, Conference, Unknown",
      "$.calls[1].metaData.started: expected an ISO 8601 date-time, got the string \"2024-01-02 03:04:05\"",
      "$.calls[1].metaData.title: null where the schema says string",
    }, problems("POST", "/v2/calls/extensive", 200,
                '{"calls":[{"metaData":{"title":null,"started":"2024-01-02 03:04:05","direction":"Sideways"}}]}'))
  end)

  it("refuses a status the operation does not answer, and error messages that are not strings", function()
    assert.are.same({ "GET /v2/workspaces does not answer 401 (it answers 200, 400, 403, 429, 500)" },
                    problems("GET", "/v2/workspaces", 401, '{"requestId":"r","errors":["Invalid credentials"]}'))
    assert.are.same({ "$.errors[1]: expected a string, got an object" },
                    problems("GET", "/v2/library/folders", 401, '{"requestId":"r","errors":[{"message":"x"}]}'))
  end)

  it("wants the headers the description declares, of their type", function()
    assert.are.same({ "Retry-After: missing" }, api:check_headers("GET", "/v2/workspaces", 429, {}))
    assert.are.same({ 'Retry-After: expected an integer, got "soon"' },
                    api:check_headers("GET", "/v2/workspaces", 429, { ["retry-after"] = "soon" }))
  end)

  it("keeps each exception with its reason", function()
    for key, exception in pairs(openapi.EXCEPTIONS) do
      assert.matches("^%w+%.%w+$", key)
      assert.is_string(exception.why)
    end
  end)
end)
