-- The fake Gong server (fake/server.lua), over real sockets with LuaSocket.
-- The gong client is deliberately not used: these specs are what make the
-- fake trustworthy enough to test the client against.

local socket = require "socket"
local mime = require "mime"
local cjson = require("cjson").new()
local fake = require "spec.support.fake"
local json = require "fake.json"
local contract = require "fake.contract"

local creds = fake.credentials
local BASIC = fake.BASIC
local BEARER = "Bearer " .. creds.token

-- Percent-encodes everything but unreserved characters (RFC 3986).
local function encode(s)
  return (s:gsub("[^%w%-._~]", function(c) return ("%%%02X"):format(c:byte()) end))
end

local function connect(srv)
  local c = assert(socket.connect(srv.host, srv.port))
  c:settimeout(5)
  return c
end

local function send_request(c, method, target, headers, body)
  local lines = { method .. " " .. target .. " HTTP/1.1", "Host: fake" }
  for name, value in pairs(headers or {}) do lines[#lines + 1] = name .. ": " .. value end
  if body then lines[#lines + 1] = "Content-Length: " .. #body end
  assert(c:send(table.concat(lines, "\r\n") .. "\r\n\r\n" .. (body or "")))
end

-- Reads the status line and headers; returns status, headers (lower-cased).
local function read_head(c)
  local line, err = c:receive("*l")
  if not line then return nil, err end
  local status = tonumber(line:match("^HTTP/1%.1 (%d%d%d) "))
  local headers = {}
  while true do
    local h = assert(c:receive("*l"))
    if h == "" then break end
    local name, value = h:match("^([^:]+):%s*(.*)$")
    headers[name:lower()] = value
  end
  return status, headers
end

local function read_chunked(c)
  local parts = {}
  while true do
    local size = tonumber(assert(c:receive("*l")), 16)
    if size == 0 then
      assert.are.equal("", c:receive("*l"))
      return table.concat(parts), #parts
    end
    parts[#parts + 1] = assert(c:receive(size))
    assert.are.equal("", c:receive("*l"))
  end
end

-- Reads one response: {status, headers, body, chunks}.
local function read_response(c)
  local status, headers = read_head(c)
  if not status then return nil, headers end
  local res = { status = status, headers = headers }
  if headers["transfer-encoding"] == "chunked" then
    res.body, res.chunks = read_chunked(c)
  else
    res.body = assert(c:receive(tonumber(headers["content-length"])))
  end
  return res
end

-- One request on a fresh connection, closed afterwards.
local function get(srv, target, headers, method)
  local c = connect(srv)
  send_request(c, method or "GET", target, headers or { Authorization = BASIC })
  local res = assert(read_response(c))
  c:close()
  return res
end

local function decode(body)
  return cjson.decode(body)
end

-- One POST with a body on a fresh connection, closed afterwards.
local function post(srv, target, body, headers)
  local c = connect(srv)
  send_request(c, "POST", target, headers or { Authorization = BASIC, ["Content-Type"] = "application/json" },
               body)
  local res = assert(read_response(c))
  c:close()
  return res
end

-- A /calls request body for `ids`, plus `extra` members (contentSelector, cursor).
local function calls_body(ids, extra)
  local t = {}
  for k, v in pairs(extra or {}) do t[k] = v end
  t.filter = { callIds = json.array(ids) }
  return json.encode(t)
end

-- The ids of the calls (or transcripts) a /calls response lists.
local function listed_ids(list)
  local ids = {}
  for i, item in ipairs(list) do ids[i] = item.callId or item.metaData.id end
  return ids
end

-- Sorted keys of a table, to compare which members are present.
local function keys(t)
  local out = {}
  for k in pairs(t) do out[#out + 1] = k end
  table.sort(out)
  return out
end

-- Follows the cursors of a /calls route; returns the decoded pages.
local function all_pages(srv, target, ids, extra)
  local pages, cursor = {}, nil
  repeat
    local body = extra or {}
    body.cursor = cursor
    local res = post(srv, target, calls_body(ids, body))
    assert.are.equal(200, res.status, res.body)
    local page = decode(res.body)
    pages[#pages + 1] = page
    cursor = page.records.cursor
  until not cursor or #pages > 200
  return pages
end

local function request_id(body)
  return body:match('^{"requestId":"([^"]+)"')
end

local exited = require("spec.support.process").exited

local function empty_folder(lib)
  for _, f in ipairs(lib.folders) do
    if f.callCount == 0 then return f end
  end
end

describe("fake Gong server", function()
  local srv, lib

  setup(function()
    srv = fake.start()
    lib = fake.library()
  end)

  teardown(function()
    srv:stop()
  end)

  before_each(function()
    srv:reset()
  end)

  describe("start-up", function()
    it("announces its loopback URL, port and pid", function()
      assert.are.equal("http://127.0.0.1:" .. srv.port, srv.url)
      assert.is_true(srv.port > 0)
      assert.is_false(exited(srv.pid))
    end)

    it("listens on ::1 when asked", function()
      local v6 = fake.start { host = "::1", folders = 5 }
      assert.are.equal("http://[::1]:" .. v6.port, v6.url)
      assert.are.equal("::1", v6.host)
      local res = get(v6, "/library/folders")
      assert.are.equal(200, res.status)
      assert.are.equal(5, #decode(res.body).folders)
      v6:stop()
    end)

    it("rejects unknown options on stderr with exit status 2", function()
      local lua = os.getenv("GONG_FAKE_LUA") or "lua5.4"
      local p = io.popen(lua .. " fake/server.lua --bogus 2>/dev/null; echo \"exit:$?\"")
      local out = p:read("*a")
      p:close()
      assert.are.equal("exit:2\n", out)
    end)
  end)

  describe("authentication", function()
    it("accepts Basic key:secret", function()
      assert.are.equal(200, get(srv, "/library/folders", { Authorization = BASIC }).status)
    end)

    it("accepts a Bearer token, scheme in any case", function()
      assert.are.equal(200, get(srv, "/library/folders", { Authorization = BEARER }).status)
      assert.are.equal(200, get(srv, "/library/folders", { Authorization = "bearer " .. creds.token }).status)
    end)

    it("answers 401 with the contract error body for wrong or missing credentials", function()
      local wrong = {
        { Authorization = "Basic " .. mime.b64(creds.key .. ":nope") },
        { Authorization = "Bearer nope" },
        { Authorization = "Digest whatever" },
        {},
      }
      for _, headers in ipairs(wrong) do
        local res = get(srv, "/library/folders/" .. lib.folders[1].id .. "/calls", headers)
        assert.are.equal(401, res.status)
        assert.matches('^{"requestId":"%x+","errors":%["Invalid credentials"%]}$', res.body)
      end
    end)

    it("honours --key, --secret and --token", function()
      local other = fake.start { folders = 3, key = "k", secret = "s", token = "t" }
      assert.are.equal(200, get(other, "/library/folders", { Authorization = "Basic " .. mime.b64("k:s") }).status)
      assert.are.equal(200, get(other, "/library/folders", { Authorization = "Bearer t" }).status)
      assert.are.equal(401, get(other, "/library/folders", { Authorization = BASIC }).status)
      other:stop()
    end)
  end)

  describe("GET /library/folders", function()
    it("returns every folder, byte for byte as fake.contract renders them", function()
      local res = get(srv, "/library/folders")
      assert.are.equal(200, res.status)
      assert.are.equal("application/json; charset=utf-8", res.headers["content-type"])
      assert.are.equal(#res.body, tonumber(res.headers["content-length"]))
      local rid = request_id(res.body)
      assert.are.equal(contract.body(rid, "folders", contract.folders(lib.folders)), res.body)
      assert.are.equal(300, #decode(res.body).folders)
    end)

    it("writes null, [], integers and decimals exactly", function()
      local body = get(srv, "/library/folders").body
      assert.truthy(body:find('"parentFolderId":null', 1, true))
      assert.truthy(body:find('"description":null', 1, true))
      assert.truthy(body:find('"callCount":0,', 1, true))
      assert.falsy(body:find("%d%.0[,}]"))
      local empty = assert(empty_folder(lib))
      local calls = get(srv, "/library/folders/" .. empty.id .. "/calls").body
      assert.matches('^{"requestId":"%x+","calls":%[%]}$', calls)
      local busy = lib.folders[2]
      local text = get(srv, "/library/folders/" .. busy.id .. "/calls").body
      assert.matches('"duration":%d+[,}]', text)
      assert.falsy(text:find("%d%.0[,}]"))
    end)

    it("filters by workspaceId, decoding %XX and +", function()
      for _, ws in ipairs(lib.workspaces) do
        local want = {}
        for _, f in ipairs(lib.folders) do
          if f.workspaceId == ws.id then want[#want + 1] = f.id end
        end
        local got = {}
        for _, f in ipairs(decode(get(srv, "/library/folders?workspaceId=" .. ws.id).body).folders) do
          got[#got + 1] = f.id
        end
        assert.is_true(#want > 0)
        assert.are.same(want, got)
      end
      local ws = lib.workspaces[1].id
      local escaped = "%" .. ("%02X"):format(ws:byte(1)) .. ws:sub(2)
      assert.are.equal(#decode(get(srv, "/library/folders?workspaceId=" .. ws).body).folders,
                       #decode(get(srv, "/library/folders?x=1&workspaceId=" .. escaped).body).folders)
    end)

    it("returns [] for an unknown workspace", function()
      local body = get(srv, "/library/folders?workspaceId=no+such").body
      assert.matches('^{"requestId":"%x+","folders":%[%]}$', body)
    end)

    it("answers 400 to a malformed escape in the query", function()
      assert.are.equal(400, get(srv, "/library/folders?workspaceId=%zz").status)
    end)
  end)

  describe("GET /library/folders/{folderId}/calls", function()
    it("returns a folder's calls, byte for byte", function()
      for i = 1, 20 do
        local f = lib.folders[i]
        local res = get(srv, "/library/folders/" .. f.id .. "/calls", { Authorization = BEARER })
        assert.are.equal(200, res.status)
        local rid = request_id(res.body)
        assert.are.equal(contract.body(rid, "calls", contract.calls(lib.calls[f.id])), res.body)
        assert.are.equal(f.callCount, #decode(res.body).calls)
      end
    end)

    it("reaches the special-character id when it is percent-encoded", function()
      local res = get(srv, "/library/folders/" .. encode(lib.special_id) .. "/calls")
      assert.are.equal(200, res.status)
      assert.are.equal(2, #decode(res.body).calls)
      -- An unencoded "/" makes it two segments, which is no route.
      local slashed = encode(lib.special_id):gsub("%%2F", "/")
      assert.are.equal(404, get(srv, "/library/folders/" .. slashed .. "/calls").status)
    end)

    it("answers 404 Folder not found for an unknown folder", function()
      local res = get(srv, "/library/folders/123/calls")
      assert.are.equal(404, res.status)
      assert.matches('^{"requestId":"%x+","errors":%["Folder not found"%]}$', res.body)
    end)
  end)

  describe("GET /library/folder-content", function()
    it("returns the public shape of a folder and its calls: Gong's LibraryFolderListOfCallsResponse", function()
      local res = get(srv, "/library/folder-content?folderId=" .. encode(lib.special_id))
      assert.are.equal(200, res.status)
      local body = decode(res.body)
      local f = lib.by_id[lib.special_id]
      assert.are.same({ "calls", "createdBy", "id", "name", "requestId", "updated" }, keys(body))
      assert.are.equal(lib.special_id, body.id)
      assert.are.equal(f.name, body.name)
      assert.are.equal(f.createdBy, body.createdBy)
      assert.are.equal(f.updated, body.updated)
      assert.are.equal(2, #body.calls)
      local call, want = body.calls[1], lib.calls[lib.special_id][1]
      assert.are.equal(want.callId, call.id)
      assert.are.equal(want.addedToLibraryAt, call.created)
    end)

    it("leaves out a call's missing title, note and snippet; a snippet is {fromSec, toSec}", function()
      local seen = { title = 0, note = 0, snippet = 0, none = 0 }
      for _, f in ipairs(lib.folders) do
        local res = get(srv, "/library/folder-content?folderId=" .. encode(f.id))
        assert.is_nil(res.body:find("null", 1, true))
        for i, call in ipairs(decode(res.body).calls) do
          local want = lib.calls[f.id][i]
          assert.are.equal(want.title, call.title)
          assert.are.equal(want.note, call.note)
          if call.snippet then
            assert.are.same({ "fromSec", "toSec" }, keys(call.snippet))
            assert.are.same(want.snippet, call.snippet)
            assert.is_true(0 <= call.snippet.fromSec and call.snippet.fromSec < call.snippet.toSec)
            assert.is_true(call.snippet.toSec <= want.duration)
          end
          for _, key in ipairs { "title", "note", "snippet" } do
            if call[key] then seen[key] = seen[key] + 1 end
          end
          if not (call.title and call.note and call.snippet) then seen.none = seen.none + 1 end
        end
      end
      for key, n in pairs(seen) do assert.is_true(n > 0, key) end
    end)

    it("answers 404 for an unknown folder and 400 without folderId", function()
      assert.are.equal(404, get(srv, "/library/folder-content?folderId=nope").status)
      assert.are.equal(400, get(srv, "/library/folder-content").status)
    end)
  end)

  describe("GET /tenant/library/folders", function()
    it("lists the folders in a tenant's public shape: no description, callCount or created", function()
      local res = get(srv, "/tenant/library/folders")
      assert.are.equal(200, res.status)
      assert.are.equal(contract.body(request_id(res.body), "folders", contract.public_folders(lib.folders)), res.body)
      local folders = decode(res.body).folders
      assert.are.equal(#lib.folders, #folders)
      for i, f in ipairs(folders) do
        local want = lib.folders[i]
        assert.are.same({ "createdBy", "id", "name", "parentFolderId", "updated" }, keys(f))
        assert.are.equal(want.id, f.id)
        assert.are.equal(want.parentFolderId or cjson.null, f.parentFolderId)
        assert.matches("^%d%d%d%d%-%d%d%-%d%dT%d%d:%d%d:%d%dZ$", f.updated)
        assert.is_true(f.updated >= want.created)
      end
    end)

    it("filters by workspaceId and returns [] for an unknown one", function()
      local ws = lib.workspaces[3].id
      local want = {}
      for _, f in ipairs(lib.folders) do
        if f.workspaceId == ws then want[#want + 1] = f end
      end
      local body = get(srv, "/tenant/library/folders?workspaceId=" .. ws).body
      assert.are.equal(contract.body(request_id(body), "folders", contract.public_folders(want)), body)
      assert.matches('^{"requestId":"%x+","folders":%[%]}$',
                     get(srv, "/tenant/library/folders?workspaceId=nope").body)
    end)

    it("serves folder-content as the root does", function()
      local id = encode(lib.special_id)
      local root = get(srv, "/library/folder-content?folderId=" .. id).body
      local tenant = get(srv, "/tenant/library/folder-content?folderId=" .. id).body
      assert.are.equal(root:gsub('^{"requestId":"%x+"', ""), (tenant:gsub('^{"requestId":"%x+"', "")))
      assert.are.equal(404, get(srv, "/tenant/library/folder-content?folderId=nope").status)
    end)
  end)

  describe("GET /workspaces", function()
    it("lists id, name and description of every workspace, at the root and under /tenant", function()
      for _, target in ipairs { "/workspaces", "/tenant/workspaces" } do
        local res = get(srv, target, { Authorization = BEARER })
        assert.are.equal(200, res.status)
        assert.are.equal(contract.body(request_id(res.body), "workspaces", contract.workspaces(lib.workspaces)),
                         res.body)
        local list = decode(res.body).workspaces
        assert.are.equal(3, #list)
        for i, ws in ipairs(list) do
          assert.are.same({ "description", "id", "name" }, keys(ws))
          assert.are.equal(lib.workspaces[i].id, ws.id)
          assert.is_true(#ws.description > 0)
        end
      end
    end)
  end)

  describe("POST /calls/extensive", function()
    local ids
    setup(function() ids = lib.call_ids end)

    it("answers known ids once each, in request order, omitting unknown ones, with metaData only", function()
      local res = post(srv, "/calls/extensive", calls_body { ids[3], "nope", ids[1], ids[3], ids[2] })
      assert.are.equal(200, res.status)
      local body = decode(res.body)
      assert.are.same({ ids[3], ids[1], ids[2] }, listed_ids(body.calls))
      assert.are.same({ currentPageNumber = 0, currentPageSize = 3, totalRecords = 3 }, body.records)
      for _, call in ipairs(body.calls) do assert.are.same({ "metaData" }, keys(call)) end
      local items = {}
      for i, id in ipairs { ids[3], ids[1], ids[2] } do
        items[i] = json.encode { metaData = lib.details[id].metaData }
      end
      assert.are.equal(contract.paged(request_id(res.body), contract.records(3, 3, 0), "calls", items), res.body)
    end)

    it("adds each section only when its exposedFields entry asks for it", function()
      local cases = {
        { { parties = true }, "parties" }, { { parties = false }, nil },
        { { content = true }, "content" }, { { content = { topics = true, trackers = false } }, "content" },
        { { content = { topics = false } }, nil }, { { content = json.object {} }, nil },
        { { interaction = { speakers = true } }, "interaction" }, { { interaction = false }, nil },
        { { collaboration = { publicComments = true } }, "collaboration" },
        { { collaboration = true }, "collaboration" },
        { { media = true }, "media" }, { { media = false }, nil },
      }
      for _, case in ipairs(cases) do
        local selector = { exposedFields = case[1] }
        local res = post(srv, "/calls/extensive", calls_body({ ids[1] }, { contentSelector = selector }))
        local want = { "metaData" }
        if case[2] then want = case[2] < "metaData" and { case[2], "metaData" } or { "metaData", case[2] } end
        assert.are.same(want, keys(decode(res.body).calls[1]), json.encode(case[1]))
        local item = contract.extensive_call(lib.details[ids[1]], { [case[2] or "none"] = true })
        assert.are.equal(contract.paged(request_id(res.body), contract.records(1, 1, 0), "calls", { item }), res.body)
      end
    end)

    it("adds context for Basic and Extended, none for None or without", function()
      for context, has in pairs { None = false, Basic = true, Extended = true } do
        local res = post(srv, "/calls/extensive",
                         calls_body({ ids[2] }, { contentSelector = { context = context } }))
        local call = decode(res.body).calls[1]
        assert.are.equal(has, call.context ~= nil, context)
        if has then assert.are.equal("Salesforce", call.context[1].system) end
      end
      assert.are.same({ "metaData" }, keys(decode(post(srv, "/calls/extensive",
        calls_body({ ids[2] }, { contentSelector = json.object {} })).body).calls[1]))
      assert.are.equal(400, post(srv, "/calls/extensive",
        calls_body({ ids[2] }, { contentSelector = { context = "Everything" } })).status)
    end)

    it("answers every section exactly as fake.library's details, at the root and under /tenant", function()
      local selector = { context = "Extended", exposedFields = {
        parties = true, media = true, content = { topics = true }, interaction = { speakers = true },
        collaboration = { publicComments = true } } }
      local want = { ids[5], ids[7], lib.calls[lib.special_id][1].callId }
      local items = {}
      for i, id in ipairs(want) do items[i] = json.encode(lib.details[id]) end
      for _, target in ipairs { "/calls/extensive", "/tenant/calls/extensive" } do
        local res = post(srv, target, calls_body(want, { contentSelector = selector }))
        assert.are.equal(contract.paged(request_id(res.body), contract.records(3, 3, 0), "calls", items), res.body)
      end
    end)

    it("answers 400 with the contract error body to a body that is not a JSON object or lacks call ids", function()
      local bad = {
        "", "nope", "[]", '"x"', "{}", '{"filter":{}}', '{"filter":[]}', '{"filter":{"callIds":"1"}}',
        '{"filter":{"callIds":[1,2]}}', '{"filter":{"callIds":{"a":"1"}}}', '{"filter":{"callIds":["1",null]}}',
        calls_body({ ids[1] }, { cursor = 5 }),
      }
      for _, body in ipairs(bad) do
        local res = post(srv, "/calls/extensive", body)
        assert.are.equal(400, res.status, body)
        assert.matches('^{"requestId":"%x+","errors":%["[^"]+"%]}$', res.body)
      end
    end)

    it("answers 400 to more than 100 call ids, and 100 known ones in full", function()
      local many = {}
      for i = 1, 101 do many[i] = ids[i] end
      local res = post(srv, "/calls/extensive", calls_body(many))
      assert.are.equal(400, res.status)
      assert.matches('"errors":%["At most 100 call ids per request"%]', res.body)
      many[101] = nil
      local body = decode(post(srv, "/calls/extensive", calls_body(many)).body)
      assert.are.equal(100, #body.calls)
      assert.is_nil(body.records.cursor)
    end)

    it("answers 404 'No calls found' to unknown ids only, as strings or, with error_objects, as objects", function()
      local res = post(srv, "/calls/extensive", calls_body { "1", "nope" })
      assert.are.equal(404, res.status)
      assert.matches('^{"requestId":"%x+","errors":%["No calls found corresponding to the provided filters"%]}$',
                     res.body)
      assert.are.equal(404, post(srv, "/calls/extensive", calls_body {}).status)
      srv:settings { error_objects = true }
      res = post(srv, "/tenant/calls/extensive", calls_body { "nope" })
      assert.are.equal(404, res.status)
      assert.matches('^{"requestId":"%x+","errors":%[{"message":' ..
                     '"No calls found corresponding to the provided filters"}%]}$', res.body)
      assert.are.same({ { message = "At most 100 call ids per request" } },
                      decode(post(srv, "/calls/extensive", calls_body(lib.call_ids)).body).errors)
    end)

    it("pages with the page_size setting, and rejects a cursor of another request", function()
      srv:settings { page_size = 2 }
      local request = { ids[9], ids[2], "nope", ids[9], ids[4], ids[6], ids[1], ids[8], ids[3] }
      local known = { ids[9], ids[2], ids[4], ids[6], ids[1], ids[8], ids[3] }
      local pages = all_pages(srv, "/calls/extensive", request,
                              { contentSelector = { exposedFields = { parties = true } } })
      assert.are.equal(4, #pages)
      local got = {}
      for n, page in ipairs(pages) do
        local size = n < 4 and 2 or 1
        assert.are.equal(7, page.records.totalRecords)
        assert.are.equal(size, page.records.currentPageSize)
        assert.are.equal(size, #page.calls)
        assert.are.equal(n - 1, page.records.currentPageNumber)
        assert.are.equal(n < 4, page.records.cursor ~= nil)
        for _, call in ipairs(page.calls) do
          got[#got + 1] = call.metaData.id
          assert.is_table(call.parties)
        end
      end
      assert.are.same(known, got)

      local cursor = pages[1].records.cursor
      local other = { ids[9], ids[2], ids[4] }
      for _, target in ipairs { "/calls/extensive", "/calls/transcript" } do
        local filter = target == "/calls/extensive" and other or request
        local res = post(srv, target, calls_body(filter, { cursor = cursor }))
        assert.are.equal(400, res.status, target)
        assert.matches('"errors":%["cursor does not match the request"%]', res.body)
      end
      assert.are.equal(400, post(srv, "/calls/extensive", calls_body(request, { cursor = "garbage!" })).status)
      assert.are.equal(200, post(srv, "/calls/extensive", calls_body(request, { cursor = cursor })).status)
    end)
  end)

  describe("POST /calls/transcript", function()
    local ids
    setup(function() ids = lib.call_ids end)

    it("answers the transcripts of known calls, omitting calls without one", function()
      assert.is_nil(lib.transcripts[ids[7]])
      local request = { ids[1], ids[7], "nope", ids[2], ids[1], ids[14], ids[23] }
      local want = { ids[1], ids[2], ids[23] }
      local items = {}
      for i, id in ipairs(want) do items[i] = contract.call_transcript(id, lib.transcripts[id]) end
      for _, target in ipairs { "/calls/transcript", "/tenant/calls/transcript" } do
        local res = post(srv, target, calls_body(request))
        assert.are.equal(200, res.status)
        assert.are.equal(contract.paged(request_id(res.body), contract.records(3, 3, 0), "callTranscripts", items),
                         res.body)
        assert.are.same(want, listed_ids(decode(res.body).callTranscripts))
      end
    end)

    it("names the parties' speaker ids, but for the unidentified speaker of every 23rd call", function()
      local body = decode(post(srv, "/calls/transcript", calls_body { ids[22], ids[23] }).body)
      local strangers = {}
      for _, entry in ipairs(body.callTranscripts) do
        local speakers = {}
        for _, party in ipairs(lib.details[entry.callId].parties) do speakers[party.speakerId] = true end
        strangers[entry.callId] = 0
        for _, monologue in ipairs(entry.transcript) do
          if not speakers[monologue.speakerId] then strangers[entry.callId] = strangers[entry.callId] + 1 end
          assert.is_true(#monologue.sentences > 0)
        end
      end
      assert.are.same({ [ids[22]] = 0, [ids[23]] = 1 }, strangers)
    end)

    it("answers 404 to unknown ids only, and an empty list when no known call has a transcript", function()
      local res = post(srv, "/calls/transcript", calls_body { "nope" })
      assert.are.equal(404, res.status)
      assert.matches('"errors":%["No calls found corresponding to the provided filters"%]', res.body)
      res = post(srv, "/calls/transcript", calls_body { ids[7], ids[14] })
      assert.are.equal(200, res.status)
      assert.matches('^{"requestId":"%x+","records":{"totalRecords":0,"currentPageSize":0,"currentPageNumber":0},' ..
                     '"callTranscripts":%[%]}$', res.body)
    end)

    it("answers 400 to bad bodies and more than 100 ids", function()
      assert.are.equal(400, post(srv, "/calls/transcript", "[]").status)
      assert.are.equal(400, post(srv, "/calls/transcript", '{"filter":{"callIds":[1]}}').status)
      local res = post(srv, "/tenant/calls/transcript", calls_body(lib.call_ids))
      assert.are.equal(400, res.status)
      assert.matches("At most 100 call ids per request", res.body, 1, true)
    end)

    it("pages over the transcribed calls with the page_size setting", function()
      srv:settings { page_size = 2 }
      local request, want = {}, {}
      for i = 1, 10 do
        request[i] = ids[i]
        if lib.transcripts[ids[i]] then want[#want + 1] = ids[i] end
      end
      local pages = all_pages(srv, "/calls/transcript", request)
      assert.are.equal(5, #pages)
      local got = {}
      for n, page in ipairs(pages) do
        assert.are.equal(#want, page.records.totalRecords)
        assert.are.equal(n - 1, page.records.currentPageNumber)
        for _, entry in ipairs(page.callTranscripts) do got[#got + 1] = entry.callId end
      end
      assert.are.same(want, got)
      assert.is_nil(pages[5].records.cursor)
    end)

    it("serves each sentence transcript_scale times, its time shared out in order, for transcripts of a real size",
      function()
        local id
        for i = 1, #ids do
          if lib.transcripts[ids[i]] then id = ids[i] break end
        end
        local plain = cjson.decode(post(srv, "/calls/transcript", calls_body({ id })).body)
        srv:settings { transcript_scale = 25 }
        local res = post(srv, "/calls/transcript", calls_body({ id }))
        local big = cjson.decode(res.body).callTranscripts[1].transcript
        local base = plain.callTranscripts[1].transcript
        assert.are.equal(#base, #big)
        for m, monologue in ipairs(base) do
          assert.are.equal(monologue.speakerId, big[m].speakerId)
          assert.are.equal(25 * #monologue.sentences, #big[m].sentences)
          for k, s in ipairs(monologue.sentences) do
            local first, last = big[m].sentences[25 * (k - 1) + 1], big[m].sentences[25 * k]
            assert.are.same({ s.start, s["end"], s.text }, { first.start, last["end"], last.text })
          end
          local previous = -1
          for _, s in ipairs(big[m].sentences) do
            assert.is_true(s.start >= previous and s["end"] >= s.start)
            previous = s.start
          end
        end
        assert.is_true(#cjson.encode(big) > 10 * #cjson.encode(base))
        assert.has_error(function() srv:settings { transcript_scale = 0 } end)
      end)
  end)

  describe("POST /__fake/calls and /__fake/transcripts", function()
    it("files new calls at the end of a folder, with details and transcripts, its callCount raised, "
       .. "until a reset", function()
      local folder = lib.folders[3]
      local before = decode(get(srv, "/library/folders/" .. folder.id .. "/calls").body).calls
      local ids = srv:add_calls(folder.id, 3)
      assert.are.equal(3, #ids)
      local after = decode(get(srv, "/library/folders/" .. folder.id .. "/calls").body).calls
      assert.are.equal(#before + 3, #after)
      assert.are.same(ids, { after[#after - 2].callId, after[#after - 1].callId, after[#after].callId })
      local listed
      for _, f in ipairs(decode(get(srv, "/library/folders").body).folders) do
        if f.id == folder.id then listed = f end
      end
      assert.are.equal(#before + 3, listed.callCount)
      local content = decode(get(srv, "/library/folder-content?folderId=" .. folder.id).body)
      assert.are.equal(ids[3], content.calls[#content.calls].id)
      local details = decode(post(srv, "/calls/extensive", calls_body(ids)).body)
      assert.are.same(ids, listed_ids(details.calls))
      -- A new id is the next serial: none of the library's.
      for _, id in ipairs(ids) do assert.is_nil(lib.details[id]) end
      srv:reset()
      assert.are.equal(#before, #decode(get(srv, "/library/folders/" .. folder.id .. "/calls").body).calls)
      assert.are.equal(404, post(srv, "/calls/extensive", calls_body(ids)).status)
    end)

    it("files calls without a transcript when told, and transcribes them later", function()
      local ids = srv:add_calls(lib.folders[3].id, 2,
                                { transcribed = false, addedToLibraryAt = "2030-01-01T00:00:00Z" })
      assert.are.equal(404, post(srv, "/calls/extensive", calls_body { "nope" }).status)
      assert.are.same({}, decode(post(srv, "/calls/transcript", calls_body(ids)).body).callTranscripts)
      local calls = decode(get(srv, "/library/folders/" .. lib.folders[3].id .. "/calls").body).calls
      assert.are.equal("2030-01-01T00:00:00Z", calls[#calls].addedToLibraryAt)
      assert.are.same(ids, srv:transcribe(ids))
      assert.are.same(ids, listed_ids(decode(post(srv, "/calls/transcript", calls_body(ids)).body).callTranscripts))
      assert.are.same({}, srv:transcribe(ids))
    end)

    it("answers 400 to an unknown folder or a bad count, and changes nothing", function()
      for _, body in ipairs { '{"folderId":"nope","count":1}', '{"folderId":"' .. lib.folders[3].id .. '","count":0}',
                              '[]', '{"count":1}' } do
        assert.are.equal(400, post(srv, "/__fake/calls", body, { ["Content-Type"] = "application/json" }).status, body)
      end
      assert.are.equal(#lib.calls[lib.folders[3].id],
        #decode(get(srv, "/library/folders/" .. lib.folders[3].id .. "/calls").body).calls)
    end)
  end)

  describe("routing", function()
    it("answers 404 to unknown routes and 405 with Allow to non-GET", function()
      local res = get(srv, "/library/nothing")
      assert.are.equal(404, res.status)
      assert.matches('"errors":%[', res.body)
      assert.are.equal(404, get(srv, "/", {}).status)
      local posted = get(srv, "/library/folders", { Authorization = BASIC }, "POST")
      assert.are.equal(405, posted.status)
      assert.are.equal("GET", posted.headers.allow)
    end)

    it("answers 405 with Allow to the wrong method on every route, in both flavours", function()
      for _, prefix in ipairs { "", "/tenant" } do
        for _, path in ipairs { "/library/folders", "/library/folder-content?folderId=1", "/workspaces" } do
          local res = post(srv, prefix .. path, "{}")
          assert.are.equal(405, res.status, prefix .. path)
          assert.are.equal("GET", res.headers.allow)
        end
        for _, path in ipairs { "/calls/extensive", "/calls/transcript" } do
          for _, method in ipairs { "GET", "PUT" } do
            local res = get(srv, prefix .. path, { Authorization = BASIC }, method)
            assert.are.equal(405, res.status, method .. " " .. prefix .. path)
            assert.are.equal("POST", res.headers.allow)
          end
        end
      end
    end)

    it("answers 404 under /tenant to /library/folders/{id}/calls, which only the contract has", function()
      local target = "/library/folders/" .. lib.folders[1].id .. "/calls"
      assert.are.equal(200, get(srv, target).status)
      local res = get(srv, "/tenant" .. target)
      assert.are.equal(404, res.status)
      assert.matches('^{"requestId":"%x+","errors":%["Not found"%]}$', res.body)
      assert.are.equal(404, get(srv, "/tenant/nothing").status)
    end)

    it("wants credentials on every route of both flavours: 401, but 403 on /workspaces", function()
      for _, target in ipairs { "/library/folders", "/tenant/library/folders", "/tenant/nothing" } do
        assert.are.equal(401, get(srv, target, {}).status, target)
      end
      for _, target in ipairs { "/workspaces", "/tenant/workspaces", "/tenant/v2/workspaces" } do
        local res = get(srv, target, {})
        assert.are.equal(403, res.status, target)
        assert.matches('^{"requestId":"%x+","errors":%["Invalid credentials"%]}$', res.body)
      end
      for _, target in ipairs { "/calls/extensive", "/tenant/calls/transcript" } do
        local res = post(srv, target, calls_body { lib.call_ids[1] }, { Authorization = "Bearer nope" })
        assert.are.equal(401, res.status, target)
      end
    end)

    it("answers 400 to a malformed request and closes", function()
      local c = connect(srv)
      assert(c:send("NONSENSE\r\n\r\n"))
      local res = assert(read_response(c))
      assert.are.equal(400, res.status)
      assert.are.equal("close", res.headers.connection)
      local _, err = c:receive(1)
      assert.are.equal("closed", err)
      c:close()
    end)
  end)

  describe("connections", function()
    it("keeps HTTP/1.1 connections alive, and records which connection each request came on", function()
      srv:reset()
      local c = connect(srv)
      send_request(c, "GET", "/library/folders", { Authorization = BASIC })
      assert.are.equal(200, read_response(c).status)
      send_request(c, "GET", "/library/folders/" .. lib.folders[1].id .. "/calls", { Authorization = BASIC })
      assert.are.equal(200, read_response(c).status)
      local other = connect(srv)
      send_request(other, "GET", "/library/folders", { Authorization = BASIC })
      assert.are.equal(200, read_response(other).status)
      other:close()
      c:close()
      local records = srv:requests()
      assert.are.equal(3, #records)
      assert.are.equal(records[1].connection, records[2].connection)
      assert.is_true(records[3].connection > records[1].connection)
    end)

    it("answers pipelined requests in order", function()
      local c = connect(srv)
      local one = "GET /library/folders/" .. lib.folders[1].id .. "/calls HTTP/1.1\r\n" ..
                  "Authorization: " .. BASIC .. "\r\n\r\n"
      assert(c:send(one .. "GET /nothing HTTP/1.1\r\n\r\n"))
      assert.are.equal(200, read_response(c).status)
      assert.are.equal(404, read_response(c).status)
      c:close()
    end)

    it("closes after Connection: close and after HTTP/1.0 without keep-alive", function()
      local c = connect(srv)
      send_request(c, "GET", "/library/folders", { Authorization = BASIC, Connection = "close" })
      local res = read_response(c)
      assert.are.equal("close", res.headers.connection)
      assert.are.equal("closed", select(2, c:receive(1)))
      c:close()

      c = connect(srv)
      assert(c:send("GET /library/folders HTTP/1.0\r\nAuthorization: " .. BASIC .. "\r\n\r\n"))
      assert.are.equal(200, read_response(c).status)
      assert.are.equal("closed", select(2, c:receive(1)))
      c:close()

      c = connect(srv)
      assert(c:send("GET /library/folders HTTP/1.0\r\nConnection: keep-alive\r\n" ..
                    "Authorization: " .. BASIC .. "\r\n\r\n"))
      local kept = read_response(c)
      assert.are.equal("keep-alive", kept.headers.connection)
      send_request(c, "GET", "/library/folders", { Authorization = BASIC })
      assert.are.equal(200, read_response(c).status)
      c:close()
    end)

    it("serves other connections while one response is delayed", function()
      srv:faults { { path = "/library/folder-content", delay = 1 } }
      local slow, fast = connect(srv), connect(srv)
      local t0 = socket.gettime()
      send_request(slow, "GET", "/library/folder-content?folderId=" .. encode(lib.folders[1].id),
                   { Authorization = BASIC })
      socket.sleep(0.1)
      send_request(fast, "GET", "/library/folders", { Authorization = BASIC })
      assert.are.equal(200, read_response(fast).status)
      assert.is_true(socket.gettime() - t0 < 0.7)
      assert.are.equal(200, read_response(slow).status)
      assert.is_true(socket.gettime() - t0 >= 1)
      slow:close()
      fast:close()
    end)

    it("survives a client that disconnects mid-response", function()
      srv:faults { { action = "huge", bytes = 8 * 1024 * 1024 } }
      local c = connect(srv)
      send_request(c, "GET", "/library/folders", { Authorization = BASIC })
      assert.are.equal(200, (read_head(c)))
      assert(c:receive(1000))
      c:close()
      assert.are.equal(200, get(srv, "/library/folders").status)
    end)
  end)

  describe("faults", function()
    it("answers canned statuses with headers and the contract error body, FIFO, `times` times", function()
      srv:faults { { status = 503, times = 2, headers = { ["Retry-After"] = "2" } }, { status = 429 } }
      for _ = 1, 2 do
        local res = get(srv, "/library/folders")
        assert.are.equal(503, res.status)
        assert.are.equal("2", res.headers["retry-after"])
        assert.matches('^{"requestId":"%x+","errors":%["Service unavailable"%]}$', res.body)
      end
      assert.are.equal(429, get(srv, "/library/folders").status)
      assert.are.equal(200, get(srv, "/library/folders").status)
    end)

    it("applies only to requests under its path prefix (decoded)", function()
      srv:faults { { path = "/library/folders/" .. lib.special_id, status = 500, body = "oops" } }
      assert.are.equal(200, get(srv, "/library/folders").status)
      local res = get(srv, "/library/folders/" .. encode(lib.special_id) .. "/calls")
      assert.are.equal(500, res.status)
      assert.are.equal("oops", res.body)
    end)

    it("delays the normal response", function()
      srv:faults { { delay = 0.3 } }
      local t0 = socket.gettime()
      assert.are.equal(200, get(srv, "/library/folders").status)
      assert.is_true(socket.gettime() - t0 >= 0.3)
    end)

    it("'close' closes without a response", function()
      srv:faults { { action = "close" } }
      local c = connect(srv)
      send_request(c, "GET", "/library/folders", { Authorization = BASIC })
      local line, err = c:receive("*l")
      assert.is_nil(line)
      assert.are.equal("closed", err)
      c:close()
    end)

    it("'short' declares more bytes than it sends", function()
      srv:faults { { action = "short" } }
      local c = connect(srv)
      send_request(c, "GET", "/library/folders", { Authorization = BASIC })
      local _, headers = read_head(c)
      local length = tonumber(headers["content-length"])
      local body, err, partial = c:receive(length)
      assert.is_nil(body)
      assert.are.equal("closed", err)
      assert.is_true(#partial > 0 and #partial < length)
      c:close()
    end)

    it("'reset' aborts the connection mid-body", function()
      srv:faults { { action = "reset" } }
      local c = connect(srv)
      send_request(c, "GET", "/library/folders", { Authorization = BASIC })
      local status, headers = read_head(c)
      assert.are.equal(200, status)
      local length = tonumber(headers["content-length"])
      local body, err, partial = c:receive(length)
      assert.is_nil(body)
      -- LuaSocket reports ECONNRESET as "closed" too; libcurl tells them apart.
      assert.is_truthy(err == "closed" or err:match("^connection reset"))
      assert.is_true(#partial < length)
      c:close()
    end)

    it("'stall' sends part of the body, then nothing, without blocking others", function()
      srv:faults { { action = "stall", seconds = 30 } }
      local c = connect(srv)
      send_request(c, "GET", "/library/folders", { Authorization = BASIC })
      local _, headers = read_head(c)
      c:settimeout(0.3)
      local body, err, partial = c:receive(tonumber(headers["content-length"]))
      assert.is_nil(body)
      assert.are.equal("timeout", err)
      assert.is_true(#partial > 0)
      assert.are.equal(200, get(srv, "/library/folders").status)
      c:close()
    end)

    it("'trickle' sends the normal body slowly", function()
      local id = lib.special_id
      srv:faults { { action = "trickle", rate = 2000 } }
      local t0 = socket.gettime()
      local res = get(srv, "/library/folders/" .. encode(id) .. "/calls")
      local elapsed = socket.gettime() - t0
      assert.are.equal(contract.body(request_id(res.body), "calls", contract.calls(lib.calls[id])), res.body)
      assert.is_true(elapsed >= #res.body / 2000 * 0.8, "took " .. elapsed)
    end)

    it("'chunked' sends the normal body with Transfer-Encoding: chunked", function()
      srv:faults { { action = "chunked", chunk = 100 } }
      local res = get(srv, "/library/folders")
      assert.are.equal("chunked", res.headers["transfer-encoding"])
      assert.is_nil(res.headers["content-length"])
      assert.is_true(res.chunks > 10)
      assert.are.equal(contract.body(request_id(res.body), "folders", contract.folders(lib.folders)), res.body)
    end)

    it("'huge' sends exactly `bytes` bytes of valid JSON", function()
      srv:faults { { action = "huge", bytes = 3 * 1024 * 1024 } }
      local res = get(srv, "/library/folders")
      assert.are.equal(200, res.status)
      assert.are.equal(3 * 1024 * 1024, #res.body)
      assert.are.same({}, decode(res.body).folders)
    end)

    it("'redirect' answers 302 with the Location given", function()
      srv:faults { { action = "redirect", location = "http://127.0.0.1:1/elsewhere" } }
      local res = get(srv, "/library/folders")
      assert.are.equal(302, res.status)
      assert.are.equal("http://127.0.0.1:1/elsewhere", res.headers.location)
    end)

    it("records the fault's name, and `times = -1` lasts until reset", function()
      srv:faults { { name = "slow", delay = 0.01, times = -1 } }
      for _ = 1, 3 do assert.are.equal(200, get(srv, "/library/folders").status) end
      local records = srv:requests()
      assert.are.equal(3, #records)
      assert.are.equal("slow", records[3].fault)
      srv:reset()
      get(srv, "/library/folders")
      assert.is_nil(srv:requests()[1].fault)
    end)

    it("without a path meets the next API request, whichever route it is", function()
      srv:faults { { status = 503 }, { status = 502 }, { status = 500 } }
      assert.are.equal(503, post(srv, "/calls/extensive", calls_body { lib.call_ids[1] }).status)
      assert.are.equal(502, get(srv, "/tenant/workspaces").status)
      assert.are.equal(500, post(srv, "/tenant/calls/transcript", calls_body { lib.call_ids[1] }).status)
      assert.are.equal(200, get(srv, "/workspaces").status)
      local records = srv:requests()
      assert.are.same({ "503", "502", "500" }, { records[1].fault, records[2].fault, records[3].fault })
    end)

    it("with a path selects the tenant's routes apart from the root's", function()
      srv:faults { { path = "/tenant/calls/", status = 429, headers = { ["Retry-After"] = "1" } } }
      assert.are.equal(200, post(srv, "/calls/transcript", calls_body { lib.call_ids[1] }).status)
      assert.are.equal(200, get(srv, "/tenant/workspaces").status)
      local res = post(srv, "/tenant/calls/transcript", calls_body { lib.call_ids[1] })
      assert.are.equal(429, res.status)
      assert.are.equal("1", res.headers["retry-after"])
      assert.matches('^{"requestId":"%x+","errors":%["API rate limit exceeded"%]}$', res.body)
    end)

    it("delivers the normal /calls response through actions", function()
      srv:faults { { action = "chunked", chunk = 50 } }
      local body = calls_body({ lib.call_ids[1] }, { contentSelector = { exposedFields = { parties = true } } })
      local res = post(srv, "/calls/extensive", body)
      assert.are.equal("chunked", res.headers["transfer-encoding"])
      local item = contract.extensive_call(lib.details[lib.call_ids[1]], { parties = true })
      assert.are.equal(contract.paged(request_id(res.body), contract.records(1, 1, 0), "calls", { item }), res.body)
    end)

    it("rejects malformed faults with 400 and queues none of them", function()
      assert.has_error(function() srv:faults { { status = 200 }, { action = "explode" } } end)
      assert.has_error(function() srv:faults { { stauts = 500 } } end)
      assert.are.equal(200, get(srv, "/library/folders").status)
    end)
  end)

  describe("the rate_limit setting", function()
    -- A folders request on a connection of its own: the status and when it
    -- was answered.
    local function folders(server, headers)
      local res = get(server or srv, "/library/folders", headers)
      return res.status, res
    end

    -- Sleeps until `seconds` after `t`.
    local function sleep_until(t, seconds)
      local left = t + seconds - socket.gettime()
      if left > 0 then socket.sleep(left) end
    end

    it("is off by default, and then never refuses", function()
      assert.are.equal(0, srv:settings().rate_limit)
      for _ = 1, 6 do assert.are.equal(200, (folders())) end
    end)

    it("answers 429 with Retry-After: 1 and the error body of a 429 past N accepted requests in a second, "
       .. "and records each request's status", function()
      srv:settings { rate_limit = 2 }
      assert.are.equal(200, (folders()))
      assert.are.equal(200, (folders()))
      local status, res = folders()
      assert.are.equal(429, status)
      assert.are.equal("1", res.headers["retry-after"])
      assert.matches('^{"requestId":"%x+","errors":%["API rate limit exceeded"%]}$', res.body)
      srv:settings { error_objects = true }
      assert.matches('"errors":%[{"message":"API rate limit exceeded"}%]', select(2, folders()).body)
      local records = srv:requests()
      assert.are.same({ 200, 200, 429, 429 },
                      { records[1].status, records[2].status, records[3].status, records[4].status })
    end)

    it("slides: a slot frees one second after the arrival that took it, not at a full second", function()
      srv:settings { rate_limit = 2 }
      assert.are.equal(200, (folders()))
      local t0 = srv:requests()[1].time
      sleep_until(t0, 0.6)
      assert.are.equal(200, (folders()))
      sleep_until(t0, 1.1)
      -- The first arrival has left the window, the one at 0.6 s has not.
      assert.are.equal(200, (folders()))
      assert.are.equal(429, (folders()))
      local records = srv:requests()
      assert.is_true(records[4].time - records[2].time < 1, "the refusal came within a second of 0.6 s")
    end)

    it("counts neither refused requests nor control requests nor API requests without valid credentials", function()
      srv:settings { rate_limit = 1 }
      assert.are.equal(200, (folders()))
      local t0 = srv:requests()[1].time
      assert.are.equal(401, (folders(nil, {})))
      sleep_until(t0, 0.5)
      assert.are.equal(429, (folders()))
      for _ = 1, 3 do srv:settings() end
      sleep_until(t0, 1.1)
      -- Had the refusal at 0.5 s counted, this would be refused too.
      assert.are.equal(200, (folders()))
      local statuses = {}
      for i, r in ipairs(srv:requests()) do statuses[i] = r.status end
      assert.are.same({ 200, 401, 429, 200 }, statuses)
    end)

    it("counts the contract's and the tenant's requests in one window, and not the token endpoint's", function()
      srv:settings { rate_limit = 2 }
      assert.are.equal(200, get(srv, "/tenant/workspaces").status)
      local token = post(srv, "/oauth2/generate-customer-token?grant_type=refresh_token&refresh_token=x", "",
                         { Authorization = "Basic " .. mime.b64(creds.client_id .. ":" .. creds.client_secret) })
      assert.are.equal(400, token.status)
      assert.are.equal(200, post(srv, "/calls/extensive", calls_body { lib.call_ids[1] }).status)
      assert.are.equal(429, get(srv, "/tenant/library/folders", { Authorization = BEARER }).status)
    end)

    it("refuses on arrival, when the request was read; a delay fault still delays the 429, "
       .. "and a refused request spends a fault's use", function()
      srv:settings { rate_limit = 1 }
      srv:faults { { delay = 0.4, times = -1 } }
      local a, b = connect(srv), connect(srv)
      local sent = socket.gettime()
      send_request(a, "GET", "/library/folders", { Authorization = BASIC })
      send_request(b, "GET", "/library/folders", { Authorization = BASIC })
      local statuses = { read_response(a).status, read_response(b).status }
      table.sort(statuses)
      assert.are.same({ 200, 429 }, statuses)
      assert.is_true(socket.gettime() - sent >= 0.4, "both answers waited for the delay")
      a:close()
      b:close()
      for _, r in ipairs(srv:requests()) do
        assert.is_true(r.time - sent < 0.2, "counted when read, before the delay")
        assert.are.equal("delay", r.fault)
      end
      srv:reset()
      srv:settings { rate_limit = 1 }
      assert.are.equal(200, (folders()))
      srv:faults { { status = 503 } }
      assert.are.equal(429, (folders()))
      local t0 = srv:requests()[1].time
      sleep_until(t0, 1.05)
      assert.are.equal(200, (folders()), "the 503 was spent on the refused request")
      assert.are.equal("503", srv:requests()[2].fault)
    end)

    it("records null as the status of a request answered without a head, and the head's status of actions", function()
      srv:faults { { action = "close" }, { action = "short" }, { action = "huge", bytes = 100 } }
      for _ = 1, 3 do
        local c = connect(srv)
        send_request(c, "GET", "/library/folders", { Authorization = BASIC, Connection = "close" })
        c:receive("*a")
        c:close()
      end
      local records = srv:requests()
      assert.is_nil(records[1].status)
      assert.are.equal(200, records[2].status)
      assert.are.equal(200, records[3].status)
    end)

    it("forgets its window and turns off on reset; rejects limits that are not integers >= 0", function()
      srv:settings { rate_limit = 1 }
      assert.are.equal(200, (folders()))
      assert.are.equal(429, (folders()))
      srv:reset()
      assert.are.equal(200, (folders()))
      srv:settings { rate_limit = 1 }
      -- Turned on, the window starts empty: the request before it does not count.
      assert.are.equal(200, (folders()))
      assert.are.equal(429, (folders()))
      for _, bad in ipairs { { rate_limit = -1 }, { rate_limit = 1.5 }, { rate_limit = "3" }, { rate_limit = true } } do
        assert.has_error(function() srv:settings(bad) end)
      end
      assert.are.equal(1, srv:settings().rate_limit)
    end)
  end)

  describe("control API", function()
    it("records API requests with raw target, path and query, lower-cased headers and the fault", function()
      srv:faults { { status = 503 } }
      local t0 = socket.gettime()
      get(srv, "/library/folders?workspaceId=a%20b", { Authorization = BASIC, ["X-Trace"] = "1" })
      get(srv, "/library/folders/" .. encode(lib.special_id) .. "/calls")
      local records = srv:requests()
      assert.are.equal(2, #records)
      local first, second = records[1], records[2]
      assert.are.equal("GET", first.method)
      assert.are.equal("/library/folders?workspaceId=a%20b", first.target)
      assert.are.equal("/library/folders", first.path)
      assert.are.equal("workspaceId=a%20b", first.query)
      assert.are.equal(BASIC, first.headers.authorization)
      assert.are.equal("1", first.headers["x-trace"])
      assert.are.equal("503", first.fault)
      assert.is_true(first.time >= t0 - 1 and first.time <= socket.gettime())
      assert.are.equal("/library/folders/" .. encode(lib.special_id) .. "/calls", second.path)
      assert.are.equal("", second.query)
      assert.is_nil(second.fault)
    end)

    it("records the request body: \"\" without one, the bytes sent with one", function()
      local body = calls_body({ lib.call_ids[2], lib.call_ids[1] }, { cursor = "abc" })
      post(srv, "/tenant/calls/extensive", body)
      get(srv, "/workspaces")
      local records = srv:requests()
      assert.are.equal(body, records[1].body)
      assert.are.equal("POST", records[1].method)
      assert.are.equal("/tenant/calls/extensive", records[1].path)
      assert.are.equal("", records[2].body)
    end)

    it("serves settings: defaults, partial changes, and 400 to bad ones without changing any", function()
      assert.are.same({ page_size = 100, error_objects = false, token_ttl = 3600, rate_limit = 0,
                        transcript_scale = 1 }, srv:settings())
      assert.are.same({ page_size = 3, error_objects = false, token_ttl = 3600, rate_limit = 0, transcript_scale = 1 },
                      srv:settings { page_size = 3 })
      assert.are.same({ page_size = 3, error_objects = true, token_ttl = 3600, rate_limit = 0, transcript_scale = 1 },
                      srv:settings { error_objects = true })
      local bad = { { page_size = 0 }, { page_size = 101 }, { page_size = 2.5 }, { page_size = "2" },
                    { error_objects = 1 }, { page_size = 5, colour = "red" } }
      for _, t in ipairs(bad) do
        assert.has_error(function() srv:settings(t) end)
      end
      for _, body in ipairs { "[]", "nope", "" } do
        assert.are.equal(400, post(srv, "/__fake/settings", body, {}).status, body)
      end
      assert.are.same({ page_size = 3, error_objects = true, token_ttl = 3600, rate_limit = 0, transcript_scale = 1 },
                      srv:settings())
      local res = get(srv, "/__fake/settings", {}, "DELETE")
      assert.are.equal(405, res.status)
      assert.are.equal("GET, POST", res.headers.allow)
    end)

    it("writes every API error's messages as objects with error_objects, until reset", function()
      srv:settings { error_objects = true }
      assert.matches('^{"requestId":"%x+","errors":%[{"message":"Invalid credentials"}%]}$',
                     get(srv, "/library/folders", {}).body)
      assert.matches('"errors":%[{"message":"Folder not found"}%]', get(srv, "/library/folders/1/calls").body)
      srv:faults { { status = 503 } }
      assert.matches('"errors":%[{"message":"Service unavailable"}%]', get(srv, "/library/folders").body)
      srv:reset()
      assert.are.same({ page_size = 100, error_objects = false, token_ttl = 3600, rate_limit = 0,
                        transcript_scale = 1 }, srv:settings())
      assert.matches('"errors":%["Invalid credentials"%]', get(srv, "/library/folders", {}).body)
    end)

    it("reset clears records and queued faults", function()
      srv:faults { { status = 500 } }
      get(srv, "/nothing", {})
      srv:reset()
      assert.are.same({}, srv:requests())
      assert.are.equal(200, get(srv, "/library/folders").status)
    end)

    it("answers Expect: 100-continue before reading a control body", function()
      local c = connect(srv)
      send_request(c, "POST", "/__fake/faults", { Expect = "100-continue", ["Content-Length"] = "2" })
      assert.are.equal("HTTP/1.1 100 Continue", c:receive("*l"))
      assert.are.equal("", c:receive("*l"))
      assert(c:send("[]"))
      assert.are.equal(200, read_response(c).status)
      c:close()
    end)

    it("serves control requests without credentials and does not record them", function()
      local res = get(srv, "/__fake/requests", {})
      assert.are.equal(200, res.status)
      assert.are.equal("[]", res.body)
      assert.are.same({}, srv:requests())
    end)

    it("shuts down on request, and stop() is idempotent", function()
      local other = fake.start { folders = 3 }
      local c = connect(other)
      send_request(c, "POST", "/__fake/shutdown", {}, "")
      assert.are.equal(200, read_response(c).status)
      c:close()
      local deadline = socket.gettime() + 3
      while not exited(other.pid) and socket.gettime() < deadline do socket.sleep(0.02) end
      assert.is_true(exited(other.pid))
      -- Nothing but the ready line ever reaches stdout.
      assert.are.equal("", other.pipe:read("*a"))
      other:stop()
      other:stop()
    end)

    it("writes a request log to --log, not to stdout", function()
      local path = os.tmpname()
      local other = fake.start { folders = 3, log = path }
      get(other, "/library/folders?x=1")
      other:stop()
      local f = assert(io.open(path))
      local text = f:read("*a")
      f:close()
      os.remove(path)
      assert.matches("GET /library/folders%?x=1 200\n", text)
    end)

    it("exits by itself after --idle-exit seconds without a request", function()
      local other = fake.start { folders = 3, idle_exit = 1 }
      assert.are.equal(200, get(other, "/library/folders").status)
      socket.sleep(0.6)
      assert.is_false(exited(other.pid))
      local deadline = socket.gettime() + 4
      while not exited(other.pid) and socket.gettime() < deadline do socket.sleep(0.05) end
      assert.is_true(exited(other.pid))
      other:stop()
    end)
  end)
end)

describe("OAuth token endpoint", function()
  local srv
  local TOKEN = "/oauth2/generate-customer-token"
  local REDIRECT = "http://localhost:8765/callback"
  local CLIENT = "Basic " .. mime.b64(creds.client_id .. ":" .. creds.client_secret)
  local SCOPE = "api:library:read api:calls:read:extensive api:calls:read:transcript"

  setup(function()
    srv = fake.start { folders = 5 }
  end)

  teardown(function()
    srv:stop()
  end)

  before_each(function()
    srv:reset()
  end)

  -- One token request with `query` on a fresh connection, with the Host a
  -- client sends (it decides api_base_url_for_customer).
  local function token_request(server, query, authorization, method)
    local c = connect(server)
    local lines = { (method or "POST") .. " " .. TOKEN .. "?" .. query .. " HTTP/1.1",
                    "Host: " .. server.host .. ":" .. server.port, "Content-Length: 0" }
    if authorization then lines[#lines + 1] = "Authorization: " .. authorization end
    assert(c:send(table.concat(lines, "\r\n") .. "\r\n\r\n"))
    local res = assert(read_response(c))
    c:close()
    return res
  end

  local function exchange(code, redirect_uri, authorization, client_id)
    return token_request(srv, "grant_type=authorization_code&code=" .. encode(code) .. "&client_id="
                         .. encode(client_id or creds.client_id) .. "&redirect_uri=" .. encode(redirect_uri),
                         authorization or CLIENT)
  end

  local function refresh(token, authorization)
    return token_request(srv, "grant_type=refresh_token&refresh_token=" .. encode(token), authorization or CLIENT)
  end

  -- A new token family: the decoded answer to the exchange of a fresh code.
  local function login()
    local res = exchange(srv:oauth_code(REDIRECT), REDIRECT)
    assert.are.equal(200, res.status, res.body)
    return decode(res.body)
  end

  -- The OAuth error code of a response, which must have nothing but
  -- error and error_description.
  local function oauth_error(res)
    local body = decode(res.body)
    assert.are.same({ "error", "error_description" }, keys(body))
    assert.are.equal("string", type(body.error_description))
    return body.error
  end

  local function bearer(token)
    return { Authorization = "Bearer " .. token }
  end

  it("exchanges an issued code once for a token family, in Gong's answer shape", function()
    local code = srv:oauth_code(REDIRECT)
    assert.matches("^code%-%x+$", code)
    local res = exchange(code, REDIRECT)
    assert.are.equal(200, res.status, res.body)
    assert.are.equal("no-store", res.headers["cache-control"])
    local t = decode(res.body)
    assert.matches("^at%-%x+$", t.access_token)
    assert.matches("^rt%-%x+$", t.refresh_token)
    assert.are.equal(table.concat {
      '{"access_token":"', t.access_token, '","refresh_token":"', t.refresh_token,
      '","scope":"', SCOPE, '","token_type":"bearer","expires_in":3600,',
      '"api_base_url_for_customer":"', srv.tenant_url, '"}',
    }, res.body)
    assert.are.equal("http://127.0.0.1:" .. srv.port .. "/tenant", t.api_base_url_for_customer)
    local again = exchange(code, REDIRECT)
    assert.are.equal(400, again.status)
    assert.are.equal("invalid_grant", oauth_error(again))
    assert.are.same({ refreshes = {}, exchanges = 1 }, srv:oauth_log())
    local other = login()
    assert.are_not.equal(t.access_token, other.access_token)
    assert.are_not.equal(t.refresh_token, other.refresh_token)
  end)

  it("refuses another redirect_uri, client_id or an unknown code, and spends a code only on success", function()
    local code = srv:oauth_code(REDIRECT)
    for _, res in ipairs {
      exchange(code, "http://localhost:8765/other"),
      exchange(code, REDIRECT, nil, "someone-else"),
      exchange("code-0000000f000000", REDIRECT),
      token_request(srv, "grant_type=authorization_code&client_id=" .. creds.client_id, CLIENT),
    } do
      assert.are.equal(400, res.status, res.body)
      assert.are.equal("invalid_grant", oauth_error(res))
    end
    assert.are.equal(200, exchange(code, REDIRECT).status)
  end)

  it("answers 401 invalid_client to wrong or missing client credentials", function()
    local code = srv:oauth_code(REDIRECT)
    for _, authorization in ipairs { "Basic " .. mime.b64(creds.client_id .. ":nope"), BASIC, BEARER, "Digest x" } do
      local res = exchange(code, REDIRECT, authorization)
      assert.are.equal(401, res.status, authorization)
      assert.are.equal("invalid_client", oauth_error(res))
    end
    local res = token_request(srv, "grant_type=refresh_token&refresh_token=x")
    assert.are.equal(401, res.status)
    assert.are.equal("invalid_client", oauth_error(res))
    assert.are.equal(200, exchange(code, REDIRECT).status)
  end)

  it("answers 405 with Allow: POST, 400 unsupported_grant_type, and 400 to a malformed query", function()
    for _, method in ipairs { "GET", "PUT" } do
      local res = token_request(srv, "grant_type=refresh_token&refresh_token=x", CLIENT, method)
      assert.are.equal(405, res.status)
      assert.are.equal("POST", res.headers.allow)
    end
    for _, query in ipairs { "", "grant_type=password", "grant_type=&refresh_token=x" } do
      local res = token_request(srv, query, CLIENT)
      assert.are.equal(400, res.status, query)
      assert.are.equal("unsupported_grant_type", oauth_error(res))
    end
    local res = token_request(srv, "grant_type=refresh_token&refresh_token=%zz", CLIENT)
    assert.are.equal(400, res.status)
    assert.are.equal("invalid_request", oauth_error(res))
    assert.are.equal(404, get(srv, "/oauth2/other", { Authorization = CLIENT }, "POST").status)
  end)

  it("rotates the refresh token: the new one works, the old one is dead at once, all attempts logged", function()
    local t0 = socket.gettime()
    local first = login()
    local res = refresh(first.refresh_token)
    assert.are.equal(200, res.status, res.body)
    local second = decode(res.body)
    assert.are_not.equal(first.refresh_token, second.refresh_token)
    assert.are_not.equal(first.access_token, second.access_token)
    assert.are.equal(SCOPE, second.scope)
    assert.are.equal(srv.tenant_url, second.api_base_url_for_customer)
    local reused = refresh(first.refresh_token)
    assert.are.equal(400, reused.status)
    assert.are.equal("invalid_grant", oauth_error(reused))
    res = refresh(second.refresh_token)
    assert.are.equal(200, res.status, res.body)
    local third = decode(res.body)
    local unknown = refresh("rt-nope")
    assert.are.equal(400, unknown.status)
    assert.are.equal("invalid_grant", oauth_error(unknown))
    -- Earlier access tokens of the family live to their own expiry.
    for _, t in ipairs { first, second, third } do
      assert.are.equal(200, get(srv, "/tenant/v2/workspaces", bearer(t.access_token)).status)
    end
    local log = srv:oauth_log()
    assert.are.equal(1, log.exchanges)
    local used, outcomes = {}, {}
    for i, entry in ipairs(log.refreshes) do
      used[i], outcomes[i] = entry.refresh_token, entry.outcome
      assert.is_true(entry.time >= t0 - 1 and entry.time <= socket.gettime())
      if i > 1 then assert.is_true(entry.time >= log.refreshes[i - 1].time) end
    end
    assert.are.same({ first.refresh_token, first.refresh_token, second.refresh_token, "rt-nope" }, used)
    assert.are.same({ "ok", "invalid_grant", "ok", "invalid_grant" }, outcomes)
  end)

  it("lets issued access tokens into the tenant under /tenant/v2 and /tenant", function()
    local t = login()
    local headers = bearer(t.access_token)
    local v2 = get(srv, "/tenant/v2/library/folders", headers)
    assert.are.equal(200, v2.status, v2.body)
    local plain = get(srv, "/tenant/library/folders", headers)
    assert.are.equal(200, plain.status)
    assert.are.equal(contract.body(request_id(v2.body), "folders", contract.public_folders(fake.library {
      folders = 5 }.folders)), v2.body)
    assert.are.equal(v2.body:gsub('^{"requestId":"%x+"', ""), (plain.body:gsub('^{"requestId":"%x+"', "")))
    local lib = fake.library { folders = 5 }
    local res = post(srv, "/tenant/v2/calls/transcript", calls_body { lib.call_ids[1] },
                     { Authorization = headers.Authorization })
    assert.are.equal(200, res.status, res.body)
    assert.are.equal(200, get(srv, "/library/folders", headers).status)
    assert.are.equal(404, get(srv, "/tenant/v2/library/folders/" .. lib.folders[1].id .. "/calls", headers).status)
    assert.are.equal(404, get(srv, "/tenant/v2", headers).status)
    -- Only as Bearer, only ours, and the refresh token is no access token.
    assert.are.equal(401, get(srv, "/tenant/v2/library/folders", { Authorization = "Basic " .. t.access_token }).status)
    assert.are.equal(401, get(srv, "/tenant/v2/library/folders", bearer(t.refresh_token)).status)
    assert.are.equal(401, get(srv, "/tenant/v2/library/folders", bearer("at-00000001000000")).status)
  end)

  it("expires access tokens token_ttl seconds after they were issued, as the ttl was then", function()
    assert.are.equal(3600, srv:settings().token_ttl)
    assert.are.equal(0.5, srv:settings { token_ttl = 0.5 }.token_ttl)
    local res = exchange(srv:oauth_code(REDIRECT), REDIRECT)
    assert.truthy(res.body:find('"expires_in":0.5,', 1, true), res.body)
    local t = decode(res.body)
    srv:settings { token_ttl = 3600 }
    assert.are.equal(200, get(srv, "/tenant/v2/library/folders", bearer(t.access_token)).status)
    socket.sleep(0.7)
    local expired = get(srv, "/tenant/v2/library/folders", bearer(t.access_token))
    assert.are.equal(401, expired.status)
    assert.matches('^{"requestId":"%x+","errors":%["Invalid credentials"%]}$', expired.body)
    assert.are.equal(200, get(srv, "/tenant/v2/library/folders", { Authorization = BEARER }).status)
    assert.are.equal(200, get(srv, "/tenant/v2/library/folders", { Authorization = BASIC }).status)
    -- The refresh token outlives the access token.
    res = refresh(t.refresh_token)
    assert.are.equal(200, res.status)
    assert.truthy(res.body:find('"expires_in":3600,', 1, true), res.body)
    assert.are.equal(200, get(srv, "/tenant/v2/library/folders", bearer(decode(res.body).access_token)).status)
    for _, bad in ipairs { { token_ttl = 0 }, { token_ttl = -1 }, { token_ttl = "60" }, { token_ttl = true } } do
      assert.has_error(function() srv:settings(bad) end)
    end
    assert.are.same({ page_size = 100, error_objects = false, token_ttl = 3600, rate_limit = 0,
                      transcript_scale = 1 }, srv:settings())
  end)

  it("records token requests and meets queued faults like API requests", function()
    srv:faults { { path = "/oauth2/", status = 503 } }
    local code = srv:oauth_code(REDIRECT)
    assert.are.equal(503, exchange(code, REDIRECT).status)
    local res = exchange(code, REDIRECT)
    assert.are.equal(200, res.status)
    local records = srv:requests()
    assert.are.equal(2, #records)
    assert.are.same({ TOKEN, TOKEN }, { records[1].path, records[2].path })
    assert.are.equal("503", records[1].fault)
    assert.is_nil(records[2].fault)
    assert.are.equal("POST", records[2].method)
    assert.are.equal(CLIENT, records[2].headers.authorization)
    assert.matches("^grant_type=authorization_code&code=", records[2].query)
    -- A broken answer after the grant: rotated, though the client never saw the new token.
    local t = decode(res.body)
    srv:faults { { action = "reset" } }
    assert.is_false(pcall(refresh, t.refresh_token))
    assert.are.equal(400, refresh(t.refresh_token).status)
    local outcomes = {}
    for i, entry in ipairs(srv:oauth_log().refreshes) do outcomes[i] = entry.outcome end
    assert.are.same({ "ok", "invalid_grant" }, outcomes)
  end)

  it("reset forgets codes, tokens and the log, and restores token_ttl", function()
    srv:settings { token_ttl = 100 }
    local code = srv:oauth_code(REDIRECT)
    local t = login()
    assert.are.equal(200, refresh(t.refresh_token).status)
    srv:reset()
    assert.are.same({ refreshes = {}, exchanges = 0 }, srv:oauth_log())
    assert.are.equal(3600, srv:settings().token_ttl)
    assert.are.equal(401, get(srv, "/tenant/v2/library/folders", bearer(t.access_token)).status)
    assert.are.equal("invalid_grant", oauth_error(exchange(code, REDIRECT)))
    local after = login()
    assert.are_not.equal(t.access_token, after.access_token)
    assert.are.equal(3600, after.expires_in)
  end)

  it("serves the control routes without credentials, unrecorded, and refuses bad code requests", function()
    srv:oauth_code(REDIRECT)
    srv:oauth_log()
    assert.are.same({}, srv:requests())
    for _, body in ipairs { "", "[]", "{}", '{"redirect_uri":1}', "nope" } do
      assert.are.equal(400, post(srv, "/__fake/oauth/code", body, {}).status, body)
    end
    local res = get(srv, "/__fake/oauth/code", {})
    assert.are.equal(405, res.status)
    assert.are.equal("POST", res.headers.allow)
    assert.are.equal('{"exchanges":0,"refreshes":[]}', get(srv, "/__fake/oauth", {}).body)
  end)

  it("honours --client-id and --client-secret", function()
    local other = fake.start { folders = 3, client_id = "cid", client_secret = "cs" }
    -- Even when an assertion fails: a server left running would hold busted's exit.
    finally(function() other:stop() end)
    local code = other:oauth_code(REDIRECT)
    local query = "grant_type=authorization_code&code=" .. code .. "&client_id=cid&redirect_uri=" .. encode(REDIRECT)
    assert.are.equal(401, token_request(other, query, CLIENT).status)
    local res = token_request(other, query, "Basic " .. mime.b64("cid:cs"))
    assert.are.equal(200, res.status, res.body)
    assert.are.equal(other.tenant_url, decode(res.body).api_base_url_for_customer)
  end)
end)

describe("fake.library", function()
  local lib = fake.library()

  it("has 300 folders in 3 workspaces, callCount matching the calls", function()
    assert.are.equal(300, #lib.folders)
    assert.are.equal(3, #lib.workspaces)
    local total = 0
    for _, f in ipairs(lib.folders) do
      assert.are.equal(f.callCount, #lib.calls[f.id])
      total = total + f.callCount
    end
    assert.is_true(total > 2000)
  end)

  it("nests at least 5 deep and lists some children before their parents", function()
    local position, deepest, early = {}, 0, 0
    for i, f in ipairs(lib.folders) do position[f.id] = i end
    for i, f in ipairs(lib.folders) do
      local depth, p = 1, f.parentFolderId
      while p do
        depth = depth + 1
        p = lib.by_id[p].parentFolderId
      end
      if depth > deepest then deepest = depth end
      if f.parentFolderId and position[f.parentFolderId] > i then early = early + 1 end
    end
    assert.is_true(deepest >= 5)
    assert.is_true(early > 0)
  end)

  it("has the awkward data clients must survive", function()
    local parent_of_name, empty, slash, unicode, long_ids, dupes = {}, 0, false, false, 0, false
    for _, f in ipairs(lib.folders) do
      if f.callCount == 0 then empty = empty + 1 end
      if f.name:find("/", 1, true) then slash = true end
      if f.name:find("[\128-\255]") then unicode = true end
      if f.id:match("^" .. ("%d"):rep(19) .. "$") then long_ids = long_ids + 1 end
      local parent = f.parentFolderId or ""
      local earlier = parent_of_name[f.name]
      if earlier and earlier ~= parent then dupes = true end
      parent_of_name[f.name] = parent
    end
    assert.is_true(empty > 0 and slash and unicode and dupes)
    assert.are.equal(#lib.folders - 1, long_ids)
    assert.are.equal(2, #lib.calls[lib.special_id])
    local fractional = false
    for _, calls in pairs(lib.calls) do
      for _, c in ipairs(calls) do
        if c.duration ~= math.floor(c.duration) then fractional = true end
      end
    end
    assert.is_true(fractional)
  end)

  it("describes each workspace", function()
    for _, ws in ipairs(lib.workspaces) do
      assert.is_string(ws.description)
      assert.is_true(#ws.description > 0)
    end
  end)

  it("files a few calls in more than one folder of their workspace: the same record, counted in each", function()
    local folders_of, record = {}, {}
    for _, f in ipairs(lib.folders) do
      assert.are.equal(f.callCount, #lib.calls[f.id])
      local here = {}
      for _, c in ipairs(lib.calls[f.id]) do
        assert.is_nil(here[c.callId], "a folder lists a call once")
        here[c.callId] = true
        local list = folders_of[c.callId] or {}
        list[#list + 1] = f
        folders_of[c.callId] = list
        assert.are.equal(record[c.callId] or c, c)
        record[c.callId] = c
      end
    end
    local shared = 0
    for id, list in pairs(folders_of) do
      if #list > 1 then shared = shared + 1 end
      for _, f in ipairs(list) do assert.are.equal(lib.details[id].metaData.workspaceId, f.workspaceId) end
    end
    assert.is_true(shared >= 10 and shared <= #lib.folders / 10, shared .. " shared calls")
    assert.are.equal(2, #lib.calls[lib.special_id])
  end)

  it("lists each distinct call once in call_ids, and has details for exactly those", function()
    local listed, n = {}, 0
    for _, f in ipairs(lib.folders) do
      for _, c in ipairs(lib.calls[f.id]) do listed[c.callId] = c end
    end
    for i, id in ipairs(lib.call_ids) do
      assert.is_not_nil(listed[id], id)
      listed[id] = nil
      assert.are.equal(i, tonumber(id:sub(-9)))
    end
    assert.is_nil(next(listed))
    for _ in pairs(lib.details) do n = n + 1 end
    assert.are.equal(#lib.call_ids, n)
  end)

  it("details each call with every section, metaData agreeing with the call", function()
    local calls = {}
    for _, f in ipairs(lib.folders) do
      for _, c in ipairs(lib.calls[f.id]) do calls[c.callId] = c end
    end
    local seen = { direction = {}, system = {}, scope = {}, media = {}, language = {}, untitled = 0 }
    for _, id in ipairs(lib.call_ids) do
      local d, c = lib.details[id], calls[id]
      assert.are.same({ "collaboration", "content", "context", "interaction", "media", "metaData", "parties" },
                      keys(d))
      local m = d.metaData
      assert.are.equal(id, m.id)
      for _, field in ipairs { "url", "title", "started", "primaryUserId" } do
        assert.are.equal(c[field], m[field], field)
      end
      -- Gong's metaData.duration is whole seconds.
      assert.are.equal(math.floor(c.duration), m.duration)
      if not m.title then seen.untitled = seen.untitled + 1 end
      assert.is_true(m.scheduled < m.started)
      for _, field in ipairs { "direction", "system", "scope", "media", "language" } do seen[field][m[field]] = true end
      assert.is_truthy(({ Inbound = 1, Outbound = 1, Conference = 1 })[m.direction])
      assert.is_truthy(({ Internal = 1, External = 1 })[m.scope])
      assert.is_truthy(({ Video = 1, Audio = 1 })[m.media])

      assert.is_true(#d.parties >= 2 and #d.parties <= 5)
      local speakers, primary, external = {}, 0, 0
      for _, p in ipairs(d.parties) do
        assert.is_nil(speakers[p.speakerId], "speaker ids are unique in a call")
        speakers[p.speakerId] = true
        assert.is_string(p.id)
        assert.is_string(p.name)
        assert.matches("^[%w.]+@[%w.-]+$", p.emailAddress)
        if p.affiliation == "Internal" then
          assert.is_string(p.userId)
          if p.userId == m.primaryUserId then primary = primary + 1 end
        else
          assert.are.equal("External", p.affiliation)
          assert.is_nil(p.userId)
          external = external + 1
        end
      end
      assert.are.equal(1, primary)
      assert.are.equal(m.scope == "Internal", external == 0)

      local topic_time, talk_time = 0, 0
      for _, t in ipairs(d.content.topics) do topic_time = topic_time + t.duration end
      for _, t in ipairs(d.content.trackers) do assert.is_true(t.count >= 1 and #t.id == 19) end
      assert.are.equal(#d.parties, #d.interaction.speakers)
      for i, sp in ipairs(d.interaction.speakers) do
        assert.are.equal(d.parties[i].id, sp.id)
        assert.are.equal(d.parties[i].userId, sp.userId)
        talk_time = talk_time + sp.talkTime
      end
      assert.is_true(#d.content.topics > 0 and topic_time <= m.duration and talk_time <= m.duration)
      assert.is_number(d.interaction.questions.companyCount)
      assert.is_number(d.interaction.questions.nonCompanyCount)
      for _, comment in ipairs(d.collaboration.publicComments) do
        assert.is_true(comment.audioStartTime < comment.audioEndTime and comment.audioEndTime <= m.duration)
      end
      assert.matches("^https://", d.media.audioUrl)
      assert.matches("^https://", d.media.videoUrl)
      assert.are.equal("Salesforce", d.context[1].system)
    end
    assert.is_true(seen.untitled > 0)
    for _, field in ipairs { "direction", "scope", "media" } do assert.is_true(#keys(seen[field]) >= 2, field) end
    assert.is_true(#keys(seen.system) >= 3 and #keys(seen.language) >= 3)
  end)

  it("transcribes every call but each 7th, in order, within the call, mostly by its parties", function()
    local missing, strangers, past_hour = 0, 0, 0
    for i, id in ipairs(lib.call_ids) do
      local t, d = lib.transcripts[id], lib.details[id]
      assert.are.equal(i % 7 == 0, t == nil, id)
      if not t then
        missing = missing + 1
      else
        local speakers = {}
        for _, p in ipairs(d.parties) do speakers[p.speakerId] = true end
        local last = 0
        assert.is_true(#t >= 3)
        for _, monologue in ipairs(t) do
          if not speakers[monologue.speakerId] then strangers = strangers + 1 end
          assert.is_string(monologue.speakerId)
          assert.is_true(monologue.topic == nil or type(monologue.topic) == "string")
          assert.is_true(#monologue.sentences >= 1)
          for _, sentence in ipairs(monologue.sentences) do
            assert.is_true(sentence.start >= last and sentence["end"] > sentence.start, id)
            assert.are.equal(math.floor(sentence.start), sentence.start)
            assert.is_string(sentence.text)
            last = sentence["end"]
          end
        end
        assert.is_true(last <= d.metaData.duration * 1000, id)
        if last > 3600 * 1000 then past_hour = past_hour + 1 end
      end
    end
    assert.are.equal(math.floor(#lib.call_ids / 7), missing)
    assert.is_true(strangers > 0 and strangers < #lib.call_ids / 10, strangers .. " unidentified monologues")
    assert.is_true(past_hour > 0)
  end)

  it("renders byte-identical JSON under every Lua interpreter", function()
    local script = 'package.path = "./?.lua;" .. package.path; ' ..
                   'io.write(require("fake.contract").document(require("fake.library").generate { seed = 7 }))'
    local here = contract.document(require("fake.library").generate { seed = 7 })
    -- The document covers what /tenant and /calls serve too.
    for _, piece in ipairs { '"updated":', '"description":"New business', '"metaData":', '"parties":',
                             '"publicComments":', '"speakerId":', '"sentences":' } do
      assert.truthy(here:find(piece, 1, true), piece)
    end
    local compared = 0
    for _, lua in ipairs { "lua5.1", "lua5.2", "lua5.3", "lua5.4", "luajit" } do
      local found = os.execute("command -v " .. lua .. " >/dev/null 2>&1")
      -- os.execute returns true/nil from Lua 5.2 on, an exit status before.
      if found == true or found == 0 then
        local p = io.popen(lua .. " -e '" .. script .. "'")
        local out = p:read("*a")
        p:close()
        assert.are.equal(#here, #out, lua)
        assert.is_true(here == out, lua .. " renders different JSON")
        compared = compared + 1
      end
    end
    assert.is_true(compared >= 3)
  end)

  it("encodes JSON exactly (json.lua)", function()
    assert.are.equal('[]', json.encode({}))
    assert.are.equal('{}', json.encode(json.object {}))
    assert.are.equal('[1,2.5,-3,null,"a\\"b\\\\c\\n\\u0001é"]',
                     json.encode { 1, 2.5, -3, json.null, 'a"b\\c\n\1é' })
    assert.are.equal('{"a":1,"b":[true,false]}', json.encode { b = { true, false }, a = 1 })
    assert.are.equal("12", json.number(12.0))
    assert.are.equal("1834.5", json.number(1834.5))
    assert.are.equal("0.1", json.number(0.1))
  end)
end)
