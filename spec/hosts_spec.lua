-- One host contract: the blocking client, gong.loop on luv, gong.nvim in a
-- headless Neovim and gong.resty in nginx have the same methods, built on
-- the same request kinds, and answer them the same: the same results, the
-- same errors (a bad argument raises, a closed client answers a `closed`
-- error), the same callbacks in a batch (their `false` stops it), stats,
-- tenant, retry_in and __close. The matrix of calls is spec/support/matrix.lua;
-- each host runs it its own way and reports plain data, judged here against
-- the blocking client's report.

local cjson = require("cjson").new()
local fake = require "spec.support.fake"
local gong = require "gong"
local loop = require "gong.loop"
local matrix = require "spec.support.matrix"
local nginx = require "spec.support.nginx"
local nvim = require "spec.support.nvim"
local uv = require "spec.support.luv"

local creds = fake.credentials
local unpack = table.unpack or unpack

-- A report as it reads after crossing as JSON, so that every host's compares alike.
local function plain(report)
  return fake.strip_null(cjson.decode(cjson.encode(report)))
end

-- gong.loop's way: the callback last, called once, never before the method
-- returns, with (result, nil, extra) or (nil, err); the loop runs meanwhile.
local function loop_call(client, name, ...)
  local args = { n = select("#", ...), ... }
  local got, returned = nil, false
  args[args.n + 1] = function(...)
    assert(returned, name .. " called back before it returned")
    assert(got == nil, name .. " called back twice")
    got = { n = select("#", ...), ... }
  end
  client[name](client, unpack(args, 1, args.n + 1))
  returned = true
  local deadline = uv.now() + 30000
  while not got and uv.now() < deadline do uv.run("once") end
  assert(got, name .. " never called back")
  if got[1] == nil then
    assert(got.n == 2, name .. ": a failure calls back with (nil, err)")
    return nil, got[2]
  end
  assert(got[2] == nil, name .. ": a result calls back with (result, nil, extra)")
  return got[1], got[3]
end

describe("every host's client", function()
  local srv, lib, data, blocking

  setup(function()
    srv = fake.start()
    lib = fake.library()
    data = { folder = lib.folders[1].id, workspace = lib.workspaces[2].id,
             call_ids = { lib.call_ids[1], lib.call_ids[2], lib.call_ids[3], lib.call_ids[1], lib.call_ids[4] } }
    blocking = plain(matrix.run(gong.new({ base_url = srv.url, token = creds.token, rate = false }),
                                matrix.direct, data))
  end)

  teardown(function()
    if srv then srv:stop() end
    uv.run("nowait")
  end)

  it("answers the matrix on the blocking client as its methods promise", function()
    assert.are.same({ n = #lib.folders, extra = "string" }, blocking.folders)
    assert.are.same({ kind = "http", status = 404, attempts = 1,
                      message = "HTTP 404 on GET /library/folders/missing/calls: Folder not found" },
                    blocking.missing.err)
    assert.are.same({ told = 1, results = 1 }, blocking.calls_batch_stopped, "on_result's false ends the batch")
    assert.are.same({ "2/4", "4/4" }, blocking.call_details.progress)
    assert.are.same({ calls = true, details = true, transcripts = true }, blocking.library.phases)
    assert.are.same({ requests = "number", some = true }, blocking.stats)
    assert.are.equal(16, blocking.tenant)
    assert.are.equal(3, blocking.retry_in)
    assert.is_true(blocking.has_close)
    assert.is_false(blocking.dot_call.ok)
    assert.are.same({ kind = "argument",
                      message = "folders: call it on a client, as client:folders(...) (got string)" },
                    blocking.dot_call.err)
    assert.are.same({ err = { kind = "closed", message = "folders: client is closed" } }, blocking.closed.folders)
    assert.are.same({ err = { kind = "closed", message = "calls_batch: client is closed" } },
                    blocking.closed.calls_batch)
    assert.are.equal("argument", blocking.closed.still_raises.err.kind)
  end)

  it("gong.loop on luv answers it as the blocking client does", function()
    local report = matrix.run(loop.client({ base_url = srv.url, token = creds.token, rate = false }, uv), loop_call,
                              data)
    assert.are.same(blocking, plain(report))
  end)

  it("gong.nvim in Neovim answers it as the blocking client does, every callback on the main loop", function()
    local report = nvim.run(srv, "matrix", { env = { GONG_NVIM_MATRIX = cjson.encode(data) } })
    assert.are.same({}, report.fast, "callbacks called in a fast event")
    assert.are.same(blocking, plain(report.matrix))
  end)

  it("gong.resty in nginx answers it as the blocking client does", function()
    local server = nginx.start({ GONG_BASE_URL = srv.url, GONG_TOKEN = creds.token })
    finally(function() server:stop() end)
    local status, _, body = nginx.get(server.port, "/spec/matrix?data=" .. cjson.encode(data):gsub("[^%w%-%._~]",
      function(c) return ("%%%02X"):format(c:byte()) end))
    assert.are.equal(200, status, body .. server:error_log())
    assert.are.same(blocking, plain(cjson.decode(body)))
  end)
end)
