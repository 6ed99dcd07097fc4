-- gong.resty: the gong API inside nginx (lua-nginx-module), each Gong request
-- on a thread pool so the worker's event loop never waits for Gong.
--
-- Starts a real nginx (Debian's nginx-light + libnginx-mod-http-lua) on its
-- own prefix and loopback port, one process, configured by
-- spec/resty/nginx.conf: the example doc/openresty.md shows, with paths filled
-- in. nginx runs gong on LuaJIT, so it needs `make LUA=luajit` whichever Lua
-- runs this spec.

local socket = require "socket"
local cjson = require("cjson").new()
local fake = require "spec.support.fake"
local tree = require "gong.tree"
local resty = require "gong.resty"

local creds = fake.credentials

local process = require "spec.support.process"
local nginx_support = require "spec.support.nginx"
local shell_quote, read_file = process.quote, process.read_file
local TEMPLATE, DOC = nginx_support.TEMPLATE, nginx_support.ROOT .. "/doc/openresty.md"

-- What doc/openresty.md shows in place of the template's @NAME@s.
local DOC_VALUES = {
  WORKERS = "auto",
  LUA_DIR = "/usr/local/share/lua/5.1",
  LIB_DIR = "/usr/local/lib/lua/5.1",
  LISTEN = "127.0.0.1:8080",
}

local render, start_nginx, send, receive, get = nginx_support.render, nginx_support.start, nginx_support.send,
  nginx_support.receive, nginx_support.get

local function get_json(port, path)
  local status, headers, body = get(port, path)
  assert.are.equal("application/json", headers["content-type"], body)
  return status, cjson.decode(body)
end

-- Local ports of the TCP connections to 127.0.0.1:`port`, in any state.
local function connections_to(port)
  local ports = {}
  for line in io.lines("/proc/net/tcp") do
    local lport, rport = line:match("^%s*%d+: %x+:(%x+) %x+:(%x+) ")
    if rport and tonumber(rport, 16) == port then ports[tonumber(lport, 16)] = true end
  end
  return ports
end

local function percent_encode(s)
  return (s:gsub("[^%w%-%._~]", function(ch) return ("%%%02X"):format(ch:byte()) end))
end

-- "id@depth" for every node, walk order, of the tree the JSON describes.
local function walk_json(roots)
  local seen = {}
  local function visit(node, depth)
    seen[#seen + 1] = node.id .. "@" .. depth
    for _, child in ipairs(node.children or {}) do visit(child, depth + 1) end
  end
  for _, root in ipairs(roots) do visit(root, 0) end
  return seen
end

describe("gong.resty", function()
  describe("outside nginx", function()
    it("raises a config error from new(): it needs ngx.run_worker_thread", function()
      local ok, err = pcall(resty.new, { base_url = "http://127.0.0.1:1", token = "t" })
      assert.is_false(ok)
      assert.is_true(resty.is_error(err))
      assert.are.equal("config", err.kind)
      assert.matches("ngx.run_worker_thread", err.message, 1, true)
    end)
  end)

  describe("example configuration", function()
    it("doc/openresty.md shows spec/resty/nginx.conf, the one the specs run", function()
      local doc = assert(read_file(DOC), "doc/openresty.md is missing")
      local shown = doc:match("```nginx\n(# gong in nginx:.-)```")
      assert.is_string(shown, "doc/openresty.md has no ```nginx block starting '# gong in nginx:'")
      assert.are.equal(render(read_file(TEMPLATE), DOC_VALUES), shown)
    end)
  end)

  describe("in nginx", function()
    local srv, nginx, lib

    setup(function()
      lib = fake.library()
      srv = fake.start()
      nginx = start_nginx({ GONG_BASE_URL = srv.url, GONG_TOKEN = creds.token })
    end)

    teardown(function()
      if nginx then nginx:stop() end
      if srv then srv:stop() end
    end)

    before_each(function() srv:reset() end)

    it("GET /gong/tree answers the library's folder tree as JSON", function()
      local status, body = get_json(nginx.port, "/gong/tree")
      assert.are.equal(200, status)
      local expected = tree.build(lib.folders)
      assert.are.equal(#lib.folders, body.count)
      assert.are.equal(expected.count, body.count)

      local root_ids, totals, expected_ids, expected_totals = {}, {}, {}, {}
      for i, root in ipairs(body.roots) do root_ids[i], totals[i] = root.id, root.total_calls end
      for i, root in ipairs(expected.roots) do
        expected_ids[i], expected_totals[i] = root.id, root.total_calls
      end
      assert.are.same(expected_ids, root_ids)
      assert.are.same(expected_totals, totals)

      local expected_walk = {}
      for node, depth in expected:walk() do expected_walk[#expected_walk + 1] = node.id .. "@" .. depth end
      assert.are.same(expected_walk, walk_json(body.roots))

      local all_calls, sum_of_roots = 0, 0
      for _, folder in ipairs(lib.folders) do all_calls = all_calls + folder.callCount end
      for _, total in ipairs(totals) do sum_of_roots = sum_of_roots + total end
      assert.are.equal(all_calls, sum_of_roots)
      assert.are.equal(1, #srv:requests())
    end)

    it("retries in the worker, each attempt taking its slot, as the client's retry policy says", function()
      local path = "/spec/page?folder=" .. lib.folders[1].id
      srv:faults({ { status = 503, times = 2 } })
      local status, _, body = get(nginx.port, path)
      assert.are.equal(200, status)
      assert.matches("^%d+ " .. #lib.calls[lib.folders[1].id] .. "\n$", body)
      assert.are.equal(3, #srv:requests())
      srv:reset()
      srv:faults({ { status = 429, headers = { ["Retry-After"] = "1" } } })
      status = get(nginx.port, path)
      assert.are.equal(200, status)
      local first, second = srv:requests()[1].time, srv:requests()[2].time
      assert.is_true(second - first >= 1, "Retry-After: 1 was kept")
      srv:reset()
      srv:faults({ { status = 400 } })
      _, _, body = get(nginx.port, path)
      assert.matches("gong: HTTP 400 on GET /library/folders/.+ %(request %x+%)\n$", body)
      assert.is_nil(body:find("attempts", 1, true), "a 400 is not retried")
      assert.are.equal(1, #srv:requests())
    end)

    it("tells on_wait of each retry's wait, and holds the option deadline between attempts", function()
      local path = "/spec/waits?folder=" .. lib.folders[1].id
      srv:faults({ { status = 503 } })
      local _, answer = get_json(nginx.port, path)
      assert.are.equal(#lib.calls[lib.folders[1].id], answer.count)
      assert.are.equal(1, #answer.heard)
      local info = answer.heard[1]
      assert.are.same({ "server", 503, 2, 5, "calls" }, { info.reason, info.status, info.attempt, info.attempts,
                                                         info.kind })
      assert.is_true(info.seconds >= 0 and info.seconds <= 0.05 and info.elapsed >= 0, cjson.encode(info))
      srv:reset()
      srv:faults({ { status = 429, headers = { ["Retry-After"] = "3" } } })
      _, answer = get_json(nginx.port, path .. "&deadline=1")
      assert.are.equal("rate_limited", answer.err.kind)
      assert.matches("; a retry in 3 s would pass the deadline of 1 s$", answer.err.message)
      assert.are.same({}, answer.heard)
      srv:reset()
      srv:faults({ { delay = 5, times = -1 } })
      _, answer = get_json(nginx.port, path .. "&deadline=1")
      assert.are.equal("deadline", answer.err.timeout, answer.err.message)
      assert.is_true(answer.seconds < 2.5, "took " .. answer.seconds .. " s")
      assert.are.equal(1, #srv:requests())
    end)

    it("GET /gong/calls answers a folder's calls as JSON, even for an id needing escapes", function()
      local id = lib.special_id
      local status, body = get_json(nginx.port, "/gong/calls?folder=" .. percent_encode(id))
      assert.are.equal(200, status)
      local expected = {}
      for i, call in ipairs(lib.calls[id]) do expected[i] = call.callId end
      local got = {}
      for i, call in ipairs(body.calls) do got[i] = call.callId end
      assert.is_true(#expected > 0)
      assert.are.same(expected, got)
      assert.matches("^%x+$", body.request_id)
    end)

    it("reuses its connection to Gong from one request to the next", function()
      local before = connections_to(srv.port)
      for _ = 1, 3 do assert.are.equal(200, (get_json(nginx.port, "/gong/tree"))) end
      local new = 0
      for port in pairs(connections_to(srv.port)) do
        if not before[port] then new = new + 1 end
      end
      assert.are.equal(3, #srv:requests())
      -- Sequential requests get the same thread VM, whose cached client keeps the
      -- connection open; at most one is new if that VM had none yet.
      assert.is_true(new <= 1, new .. " new connections for 3 requests")
    end)

    it("keeps answering /ping at once while a Gong request is delayed 2 s", function()
      srv:faults { { delay = 2, path = "/library/folders" } }
      local started = socket.gettime()
      local slow = send(nginx.port, "/gong/tree")
      while #srv:requests() == 0 do -- in flight once the fake Gong has it
        assert(socket.gettime() - started < 3, "the tree request never reached the fake Gong")
        socket.sleep(0.01)
      end
      local ping_started = socket.gettime()
      local ping_status, _, ping_body = get(nginx.port, "/ping")
      local ping_seconds = socket.gettime() - ping_started
      local slow_status, _, slow_body = receive(slow)
      local slow_seconds = socket.gettime() - started

      assert.are.equal(200, ping_status)
      assert.are.equal("pong\n", ping_body)
      assert.is_true(ping_seconds < 0.5, ("/ping took %.3f s"):format(ping_seconds))
      assert.are.equal(200, slow_status)
      assert.are.equal(#lib.folders, cjson.decode(slow_body).count)
      assert.is_true(slow_seconds >= 2, ("the delayed request took only %.3f s"):format(slow_seconds))
    end)

    it("stalls /ping with the blocking gong API in its place (so the check above can fail)", function()
      srv:faults { { delay = 2, path = "/library/folders" } }
      local started = socket.gettime()
      local slow = send(nginx.port, "/spec/blocking-tree")
      while #srv:requests() == 0 do
        assert(socket.gettime() - started < 3, "the tree request never reached the fake Gong")
        socket.sleep(0.01)
      end
      local ping_started = socket.gettime()
      local ping_status = get(nginx.port, "/ping")
      local ping_seconds = socket.gettime() - ping_started
      local slow_status, _, slow_body = receive(slow)

      assert.are.equal(200, ping_status)
      assert.is_true(ping_seconds > 1, ("/ping took only %.3f s"):format(ping_seconds))
      assert.are.equal(200, slow_status)
      assert.are.equal(tostring(#lib.folders) .. "\n", slow_body)
    end)

    describe("a client, checked inside nginx", function()
      local checks

      setup(function()
        local status, _, body = get(nginx.port, "/spec/checks")
        assert.are.equal(200, status, body .. nginx:error_log())
        checks = cjson.decode(body)
      end)

      it("returns what the blocking API returns from folders() and calls()", function()
        assert.are.equal(#lib.folders, checks.folders.count)
        assert.are.equal(checks.folders.plain_count, checks.folders.count)
        assert.are.same(checks.folders.plain_first, checks.folders.first)
        assert.matches("^%x+$", checks.folders.request_id)
        assert.is_true(checks.calls.count > 0)
        assert.are.equal(checks.calls.plain_count, checks.calls.count)
        assert.are.same(checks.calls.plain_first, checks.calls.first)
        assert.matches("^%x+$", checks.calls.request_id)
        assert.are.equal(#lib.folders, checks.each_folder)
        assert.are.same({ folders = #lib.folders, calls = checks.calls.count }, checks.module)
      end)

      it("has every method of gong's clients: library() and calls_batch() as well", function()
        assert.are.same({ count = #lib.folders, errors = 0, filled = #lib.folders, calls = checks.library.plain_calls,
                          plain_calls = checks.library.plain_calls, tree = checks.library.tree }, checks.library)
        assert.is_true(checks.library.calls > 0)
        assert.matches("^gong%.tree%(" .. #lib.folders .. " folders", checks.library.tree)
        local batch = checks.batch
        assert.are.equal(3, batch.count)
        assert.are.equal(checks.calls.count, batch.first)
        assert.is_true(batch.missing.is_error)
        assert.are.equal(404, batch.missing.status)
        table.sort(batch.order)
        assert.are.same({ 1, 2, 3 }, batch.order, "on_result runs once per id, as each completes")
        table.sort(checks.thread_batch_order)
        assert.are.same({ 1, 2, 3 }, checks.thread_batch_order, "without a rate window too, as each completes")
        assert.are.same({ "string", "string" }, batch.request_ids)
        assert.are.same({ true }, { batch.failures[1].is_error })
        assert.are.equal(1, checks.batch_stopped, "on_result returning false stops the calls to it")
        assert.is_false(checks.batch_bad_on_result.ok)
        assert.are.equal("argument", checks.batch_bad_on_result.err.kind)
        assert.matches("on_result must be a function", checks.batch_bad_on_result.err.message)
      end)

      it("has the Calls API methods, with the blocking client's results", function()
        assert.are.equal(#lib.workspaces, #checks.workspaces.list)
        assert.are.same(checks.workspaces.plain, checks.workspaces.list)
        assert.matches("^%x+$", checks.workspaces.request_id)
        local n = checks.calls.count
        local keys = 0
        for id, record in pairs(checks.details.found) do
          keys = keys + 1
          assert.are.same(lib.details[id].parties, record.parties, id)
        end
        assert.are.equal(n, keys)
        assert.are.same(checks.details.plain, checks.details.found)
        assert.are.equal(1, #checks.details.request_ids)
        assert.are.same({ { n, n } }, checks.details.told, "on_progress is told once, when all is back")
        assert.are.same(checks.transcripts.plain, checks.transcripts.found)
        for id, monologues in pairs(checks.transcripts.found) do assert.are.same(lib.transcripts[id], monologues) end
        for _, case in ipairs { "bad_call_ids", "bad_batch_size" } do
          assert.is_false(checks[case].ok, case)
          assert.are.equal("argument", checks[case].err.kind, case)
        end
        assert.matches("batch_size", checks.bad_batch_size.err.message)
        assert.are.equal(0, checks.missing_call.count, "Gong's 404 for no such call is no records, no error")
        assert.matches("^%x+$", checks.missing_call.request_ids[1])
      end)

      it("fetches the library with details and transcripts, every call of every folder", function()
        local d = checks.library_data
        assert.are.equal(checks.library.calls, d.calls)
        assert.are.equal(d.calls, d.detailed)
        assert.is_true(d.transcribed > 0 and d.transcribed < d.calls, "every 7th call has no transcript")
      end)

      it("returns a real error object, as the blocking API does, when a request fails", function()
        local err, plain = checks.missing.err, checks.missing.plain
        assert.is_nil(checks.missing.result)
        assert.is_true(err.is_error)
        assert.are.equal("http", err.kind)
        assert.are.equal(404, err.status)
        assert.matches("^%x+$", err.request_id)
        assert.are.equal("gong: " .. err.message .. " (request " .. err.request_id .. ")", err.text)
        for _, field in ipairs { "kind", "message", "status", "url", "attempts", "errors" } do
          assert.are.same(plain[field], err[field], field)
        end
      end)

      it("raises an argument error for a bad argument, even one that cannot cross to a thread", function()
        for _, case in ipairs { "bad_folder_id", "uncopyable_folder_id", "unknown_param" } do
          assert.is_false(checks[case].ok, case)
          assert.is_true(checks[case].err.is_error, case)
          assert.are.equal("argument", checks[case].err.kind, case)
        end
        assert.matches("folderId must be a non%-empty string %(got number%)", checks.bad_folder_id.err.message)
        -- Refused before it would cross to a thread, as the blocking method refuses it.
        assert.are.equal("calls: folderId must be a non-empty string (got function)",
                         checks.uncopyable_folder_id.err.message)
      end)

      it("raises a config error from new() for a bad option", function()
        for _, case in ipairs { "unknown_option", "bad_thread_pool" } do
          assert.is_false(checks[case].ok, case)
          assert.is_true(checks[case].err.is_error, case)
          assert.are.equal("config", checks[case].err.kind, case)
        end
        assert.matches("nope", checks.unknown_option.err.message)
        assert.matches("thread_pool", checks.bad_thread_pool.err.message)
      end)

      it("returns a config error when the thread pool does not exist", function()
        assert.is_true(checks.no_pool.is_error)
        assert.are.equal("config", checks.no_pool.kind)
        assert.matches("thread pool nope not found", checks.no_pool.message, 1, true)
      end)

      it("returns a closed error after close(), which is idempotent", function()
        assert.is_true(checks.closed.err.is_error)
        assert.are.equal("closed", checks.closed.err.kind)
        assert.are.equal("folders: client is closed", checks.closed.err.message)
        assert.matches("closed%), thread_pool=gong%)$", checks.closed.tostring)
        assert.are.equal(("gong.resty(gong.client(%s, auth=bearer, api=contract), thread_pool=gong)"):format(srv.url),
                         checks.tostring)
      end)
    end)

    it("raises a config error in a phase that cannot yield", function()
      local status, headers = get(nginx.port, "/spec/header-filter")
      assert.are.equal(200, status)
      assert.matches("^false config folders: gong.resty: .*header_filter_by_lua", headers["x-outcome"])
    end)
  end)

  describe("in nginx with 4 workers, all on one tenant", function()
    local srv, lib

    setup(function()
      srv = fake.start()
      lib = fake.library()
    end)

    teardown(function()
      if srv then srv:stop() end
    end)

    -- 12 pages at once, each making a Gong request, then /ping among them:
    -- the pages' answers, the workers that served them, how long /ping took,
    -- and the most Gong requests that arrived within one second, of how many.
    local function twelve_pages(nginx)
      srv:reset()
      local path = "/spec/page?folder=" .. lib.folders[1].id
      local sockets, answers, workers = {}, {}, {}
      for i = 1, 12 do sockets[i] = send(nginx.port, path) end
      socket.sleep(0.2)
      local started = socket.gettime()
      local status = get(nginx.port, "/ping")
      local ping = socket.gettime() - started
      assert.are.equal(200, status)
      for i, c in ipairs(sockets) do
        local code, _, body = receive(c)
        local pid, calls = body:match("^(%d+) (.-)\n$")
        answers[i] = code .. " " .. tostring(calls)
        workers[pid or "?"] = true
      end
      local served = 0
      for _ in pairs(workers) do served = served + 1 end
      return answers, served, ping, srv:most_in_window()
    end

    local function all_answered(answers)
      local want = {}
      for i = 1, 12 do want[i] = "200 " .. #lib.calls[lib.folders[1].id] end
      assert.are.same(want, answers)
    end

    -- reuseport: the kernel spreads the connections over the workers.
    local function start(extra)
      local nginx = start_nginx({ GONG_BASE_URL = srv.url, GONG_TOKEN = creds.token }, extra)
      return nginx
    end

    it("share one OAuth store: one refresh per expiry across the workers, every page answered", function()
      local dir = process.tmpdir()
      finally(function() os.execute("rm -rf " .. shell_quote(dir)) end)
      local store, redirect = dir .. "/oauth.json", "https://app.example/cb"
      local token_url = srv.url .. "/oauth2/generate-customer-token"
      srv:reset()
      srv:settings({ token_ttl = 1.5 })
      assert(require("gong.oauth").exchange({ client_id = creds.client_id, client_secret = creds.client_secret,
        token_url = token_url, code = srv:oauth_code(redirect), redirect_uri = redirect, store = store }))
      local nginx = start_nginx({ GONG_OAUTH_STORE = store, GONG_CLIENT_ID = creds.client_id,
                                  GONG_CLIENT_SECRET = creds.client_secret, GONG_OAUTH_TOKEN_URL = token_url },
                                { workers = 4, reuseport = true, as_me = true })
      finally(function() nginx:stop() end)
      -- 15 pages at once: at 3 requests a second they take 5 s, past three expiries.
      local sockets, workers = {}, {}
      for i = 1, 15 do sockets[i] = send(nginx.port, "/spec/page?folder=" .. lib.folders[1].id) end
      for _, c in ipairs(sockets) do
        local code, _, body = receive(c)
        assert.are.equal(200, code)
        local pid = body:match("^(%d+) %d+\n$")
        assert.truthy(pid, body)
        workers[pid] = true
        assert.is_nil(body:find(creds.client_secret, 1, true))
      end
      local served = 0
      for _ in pairs(workers) do served = served + 1 end
      assert.is_true(served >= 2, "the pages were served by " .. served .. " worker(s)")
      local log = srv:oauth_log().refreshes
      assert.is_true(#log >= 2 and #log <= 5, #log .. " refreshes in 5 s of 1.5 s tokens")
      for i, r in ipairs(log) do
        assert.are.equal("ok", r.outcome, "refresh " .. i)
        if i > 1 then assert.is_true(r.time - log[i - 1].time >= 1.2, "two refreshes for one expiry") end
      end
      assert.is_nil(nginx:error_log():find(creds.client_secret, 1, true))
    end)

    it("lets no more than 3 Gong requests a second arrive from all of them, and answers every page", function()
      local nginx = start({ workers = 4, reuseport = true })
      finally(function() nginx:stop() end)
      local answers, served, ping, most, total = twelve_pages(nginx)
      all_answered(answers)
      assert.is_true(served >= 2, "the pages were served by " .. served .. " worker(s)")
      assert.are.equal(12, total)
      assert.are.equal(3, most, "requests arriving within one second, from " .. served .. " workers")
      assert.is_true(ping < 0.5, "/ping waited " .. ping .. " s while the pages waited for their slots")
      assert.is_nil(nginx:error_log():find("no lua_shared_dict", 1, true))
    end)

    it("pause every worker's requests for a 429's Retry-After, not only the one that got it", function()
      local nginx = start({ workers = 4, reuseport = true })
      finally(function() nginx:stop() end)
      srv:reset()
      srv:faults({ { status = 429, headers = { ["Retry-After"] = "2" }, times = 1 } })
      local path = "/spec/page?folder=" .. lib.folders[1].id
      local sockets = {}
      for i = 1, 6 do sockets[i] = send(nginx.port, path) end
      for _, c in ipairs(sockets) do assert.are.equal(200, (receive(c))) end
      local refused
      for _, req in ipairs(srv:requests()) do
        if req.status == 429 then refused = req.time end
      end
      assert.truthy(refused, "the server answered one 429")
      for _, req in ipairs(srv:requests()) do
        local after = req.time - refused
        assert.is_true(after <= 0.05 or after >= 1.9,
          ("a request arrived %.2f s after the 429 that asked for 2 s"):format(after))
      end
    end)

    it("without the dict lets each worker count alone, and says how to share once per worker", function()
      local nginx = start({ workers = 4, reuseport = true, no_dict = true })
      finally(function() nginx:stop() end)
      local answers, served, _, most = twelve_pages(nginx)
      all_answered(answers)
      assert.is_true(most > 3, "without the dict " .. most .. " arrived within a second")
      local _, warnings = nginx:error_log():gsub("gong.resty: no lua_shared_dict gong: each nginx worker limits "
        .. "only its own requests to Gong; add `lua_shared_dict gong 1m;`", "")
      assert.is_true(warnings >= 1 and warnings <= served, warnings .. " warnings from " .. served .. " workers")
    end)
  end)

  describe("errors raised into nginx", function()
    local srv, nginx

    setup(function()
      srv = fake.start()
      nginx = start_nginx({ GONG_BASE_URL = srv.url, GONG_TOKEN = creds.token })
    end)

    teardown(function()
      if nginx then nginx:stop() end
      if srv then srv:stop() end
    end)

    -- The error log's lines from `from` on (nginx appends).
    local function log_after(from)
      return nginx:error_log():sub(from + 1)
    end

    it("reach the error log as their text, which nginx shows only for a string: a bad argument, an "
      .. "iterator's failed request, one in a light thread", function()
        local cases = {
          argument = { status = 500, line = "lua entry thread aborted: runtime error: gong: calls: folderId must be a "
            .. "non-empty string (got number)\n" },
          iterator = { status = 500, line = "lua entry thread aborted: runtime error: gong: HTTP 404 on GET "
            .. "/library/folders/no-such-folder/calls" },
          thread = { status = 200, line = "lua user thread aborted: runtime error: gong: calls: folderId must be a "
            .. "non-empty string (got number)\n" },
        }
        for case, expected in pairs(cases) do
          local before = #nginx:error_log()
          local status = get(nginx.port, "/spec/raise?case=" .. case)
          assert.are.equal(expected.status, status, case)
          local log = log_after(before)
          assert.truthy(log:find(expected.line, 1, true), case .. ": " .. log)
          assert.is_nil(log:find("unknown reason", 1, true), case .. ": " .. log)
        end
      end)

    it("stay error objects for code that catches them", function()
      local status, _, body = get(nginx.port, "/spec/raise?case=caught")
      assert.are.equal(200, status)
      assert.are.equal("false table argument\n", body)
    end)
  end)

  describe("in nginx, without credentials", function()
    local nginx

    setup(function() nginx = start_nginx({}) end)
    teardown(function() if nginx then nginx:stop() end end)

    it("the example's location fails with 500 and the error log says what is missing", function()
      local status = get(nginx.port, "/gong/tree")
      assert.are.equal(500, status)
      local log = nginx:error_log()
      assert.truthy(log:find("lua entry thread aborted: runtime error: gong: no credentials: pass access_key and "
        .. "access_key_secret, or token, or set GONG_ACCESS_KEY and GONG_ACCESS_KEY_SECRET, or GONG_TOKEN\n", 1,
        true), log)
      assert.is_nil(log:find("unknown reason", 1, true), log)
    end)
  end)

  describe("in nginx, with a wrong token", function()
    local srv, nginx

    setup(function()
      srv = fake.start()
      nginx = start_nginx({ GONG_BASE_URL = srv.url, GONG_TOKEN = "wrong-token" })
    end)

    teardown(function()
      if nginx then nginx:stop() end
      if srv then srv:stop() end
    end)

    it("answers 502 with Gong's 401 as JSON: kind, status and request id", function()
      local status, body = get_json(nginx.port, "/gong/tree")
      assert.are.equal(502, status)
      assert.are.equal("http", body.error.kind)
      assert.are.equal(401, body.error.status)
      assert.matches("^%x+$", body.error.request_id)
      assert.matches("401", body.error.message)
      assert.are.equal("Bearer wrong-token", srv:requests()[1].headers.authorization)
      -- The location logs tostring(err): the error object was rebuilt with its __tostring.
      assert.matches("gong: " .. body.error.message:gsub("%p", "%%%0") ..
                     " %(request " .. body.error.request_id .. "%)", nginx:error_log())
    end)
  end)
end)
