-- gong.nvim: requests from Neovim that do not freeze the editor. Every case
-- starts a real headless Neovim (Debian's 0.7.2, LuaJIT) on one scenario of
-- spec/nvim/run.lua against the fake Gong server, and judges what it reports.
-- Needs `nvim` (tools/deps.sh neovim) and gong.core built for LuaJIT
-- (make LUA=luajit); runs under any Lua itself.

local cjson = require("cjson").new()
local gong = require "gong"
local fake = require "spec.support.fake"

local creds = fake.credentials

local nvim_support = require "spec.support.nvim"
local process = require "spec.support.process"
local shell_quote, slurp, capture = process.quote, process.read_file, process.capture

local ROOT, CORE = nvim_support.ROOT, nvim_support.CORE
local DOC = ROOT .. "/doc/neovim.md"
local run = nvim_support.run

-- The doc's Lua blocks, by name, each run by the scenario of the same name.
local SNIPPETS = {
  lazy = "doc_lazy", runtimepath = "doc_runtimepath", install = "doc_install",
  api = "doc_api", command = "doc_command", client = "doc_client",
}

-- Every field of two errors but the request id, which differs per request.
local function without_request_id(fields)
  local copy = {}
  for k, v in pairs(fields) do if k ~= "request_id" then copy[k] = v end end
  return copy
end

local function keys_of(t)
  local keys = {}
  for k in pairs(t) do keys[#keys + 1] = k end
  return keys
end

local function escape_pattern(s)
  return (s:gsub("%W", "%%%0"))
end

describe("gong.nvim (in Neovim)", function()
  local srv, lib

  setup(function()
    assert(capture("command -v nvim") ~= "",
      "Neovim is not installed: run `tools/deps.sh neovim` as root (or apt-get install neovim)")
    assert(io.open(CORE), CORE .. " is missing: build gong.core for LuaJIT with `make LUA=luajit`")
    srv = fake.start()
    lib = fake.library()
  end)

  teardown(function()
    if srv then srv:stop() end
  end)

  before_each(function() srv:reset() end)

  describe("folders(), calls() and tree()", function()
    it("return the same data as the blocking API, with the request id, when run all at once", function()
      local folder_ids = { lib.folders[1].id, lib.special_id, lib.folders[#lib.folders].id }
      local r = run(srv, "same_data", { env = {
        GONG_NVIM_WORKSPACE = lib.workspaces[1].id,
        GONG_NVIM_FOLDERS = cjson.encode(folder_ids),
      } })
      local in_workspace = 0
      for _, f in ipairs(lib.folders) do
        if f.workspaceId == lib.workspaces[1].id then in_workspace = in_workspace + 1 end
      end
      local expected = { folders = #lib.folders, workspace = in_workspace, tree = #lib.folders + 2 }
      for i, id in ipairs(folder_ids) do expected["calls" .. i] = #lib.calls[id] end
      for key, count in pairs(expected) do
        assert.are.same({ key = key, same = true, count = count }, { key = key, same = r[key].same,
          count = r[key].blocking_count }, r[key].err)
        assert.are.equal(1, r.callbacks[key], key .. " callback calls")
        assert.matches("^%x+$", r[key].request_id, key)
      end
      assert.is_true(in_workspace > 0 and in_workspace < #lib.folders)
      assert.is_true(expected.calls2 > 0, "the special folder has calls")
      assert.matches("^gong%.tree%(" .. #lib.folders .. " folders, %d+ roots%)$", r.tree.text)
      assert.is_true(r.tree.is_tree)
    end)

    it("carry every double and every byte of a string exactly, and an empty list as an empty table", function()
      local title = "quote \" backslash \\ slash / tab \t newline \n nul \0 del \127 caf\195\169 \240\159\152\128"
      local durations = { 1234.5678901234567, 0.1, -2.5e-300, 1e300, 2 ^ 53 + 2, 3 }
      local list = {}
      for i, d in ipairs(durations) do
        list[i] = ('{"callId":"c%d","title":%s,"duration":%.17g}'):format(i, cjson.encode(title), d)
      end
      local body = '{"requestId":"exact","calls":[' .. table.concat(list, ",") .. "]}"
      srv:faults({ { body = body }, { body = body }, { body = '{"requestId":"empty","calls":[]}' } })
      local r = run(srv, "exact")
      assert.is_nil(r.err)
      assert.is_true(r.same)
      local expected_durations, expected_titles = {}, {}
      for i, d in ipairs(durations) do
        expected_durations[i] = ("%.17g"):format(d)
        expected_titles[i] = title:gsub(".", function(c) return ("%02x"):format(c:byte()) end)
      end
      assert.are.same(expected_durations, r.durations)
      assert.are.same(expected_titles, r.titles)
      assert.are.same({ type = "table", count = 0, metatable = false }, r.empty)
    end)

    it("take credentials and base URL from the environment, like gong.new", function()
      local r = run(srv, "environment", { env = { GONG_BASE_URL = srv.url, GONG_TOKEN = creds.token } })
      assert.are.equal(#lib.folders, r.count, r.err)
      assert.is_true(r.same)
      assert.matches("^gong%.tree%(" .. #lib.folders .. " folders", r.tree)
      assert.are.same({ folders = 1, tree = 1 }, r.callbacks)
      local requests = srv:requests()
      assert.are.equal(3, #requests)
      for _, req in ipairs(requests) do
        assert.are.equal("Bearer " .. creds.token, req.headers.authorization)
      end
    end)
  end)

  describe("client()", function()
    it("runs 9 calls at once over one connection, under the rate limit, while a 20 ms timer keeps ticking", function()
      local ids = {}
      for i = 1, 9 do ids[i] = lib.folders[i].id end
      local r = run(srv, "one_client", { env = { GONG_NVIM_FOLDERS = cjson.encode(ids) } })
      for i, id in ipairs(ids) do
        assert.are.equal(1, r.counts[i], "callback calls of request " .. i)
        assert.are.equal(#lib.calls[id], r.calls[i])
        assert.matches("^%x+$", r.request_ids[i])
      end
      assert.are.equal(0, r.cancelled, "the cancelled request's callback was called")
      assert.matches("^gong%.tree%(" .. #lib.folders .. " folders", r.tree)
      assert.matches("^%x+$", r.tree_request_id)
      local most, total = srv:most_in_window()
      assert.are.equal(10, total, "9 calls and the tree; the cancelled request never went")
      assert.are.equal(3, most)
      local connections = {}
      for _, req in ipairs(srv:requests()) do connections[req.connection] = true end
      assert.are.equal(1, #keys_of(connections), "requests came on more than one connection")
      assert.is_true(r.elapsed_ms >= 1900, "9 calls at 3 a second take 2 s: " .. r.elapsed_ms)
      assert.is_true(r.ticks >= 90, r.ticks .. " ticks")
      assert.is_true(r.longest_ms < 500, "the timer waited " .. r.longest_ms .. " ms")
    end)
  end)

  describe("errors", function()
    -- One Neovim run checks every way a call can go wrong.
    local failures
    local function failure_cases()
      failures = failures or run(srv, "failures")
      return failures
    end

    it("reach the callback as the blocking API's error objects: HTTP 401 with status and request id", function()
      local secret = "wrong-token-0123456789"
      local r = run(srv, "http_error", { env = { GONG_NVIM_BAD_TOKEN = secret } })
      assert.are.same({ unauthorized = 1, not_found = 1 }, r.callbacks)
      for key, status in pairs({ unauthorized = 401, not_found = 404 }) do
        local async, blocking = r[key].async, r[key].blocking
        assert.are.equal("nil", r[key].data)
        assert.is_true(async.is_error, key)
        assert.is_true(r[key].same_metatable, key)
        assert.are.equal("http", async.fields.kind)
        assert.are.equal(status, async.fields.status)
        assert.matches("^%x+$", async.fields.request_id)
        assert.are_not.equal(blocking.fields.request_id, async.fields.request_id)
        assert.are.same(without_request_id(blocking.fields), without_request_id(async.fields))
        assert.are.equal(blocking.text:gsub(escape_pattern(blocking.fields.request_id), async.fields.request_id),
                         async.text)
        assert.matches("(request " .. async.fields.request_id .. ")", async.text, 1, true)
      end
      assert.matches("^gong: HTTP 401 ", r.unauthorized.async.text)
      assert.is_nil(cjson.encode(r):find(secret, 1, true), "the token appears in what the callback got")
    end)

    it("from an editor without lua-cjson or gong.core on package.cpath, or with a gong.core built for another "
      .. "Lua: require works, each request names the missing piece, what to do and require's whole reason, once, "
      .. "and works once package.cpath is fixed", function()
        -- A gong.core of another Lua than LuaJIT's 5.1 ABI, from this checkout's builds.
        local other
        for _, lua in ipairs({ "5.4", "5.3", "5.2" }) do
          local build = ROOT .. "/build/" .. lua
          if not other and io.open(build .. "/gong/core.so") then other = build end
        end
        assert(other, "no gong.core built for Lua 5.2 or later: run make LUA=5.4")
        local r = run(srv, "no_core", { env = { GONG_NVIM_OTHER_BUILD = other } })
        assert.is_false(r.core_loads, "the scenario's editor must not find gong.core")
        assert.is_true(r.loaded, r.load_error)
        for _, key in ipairs({ "no_cjson", "no_core", "other_lua" }) do
          assert.are.equal(1, r[key].calls, key)
          assert.are.equal("nil", r[key].data, key)
          assert.are.equal("config", r[key].kind, key)
        end
        assert.matches("^gong: gong.nvim could not load lua%-cjson: it is not on package.cpath: install lua%-cjson "
          .. "for Lua 5%.1 %(Debian: lua%-cjson%) or add its directory to package%.cpath %(module 'cjson' not "
          .. "found: no field package%.preload%['cjson'%]; no file '[^']+', '", r.no_cjson.text)
        assert.matches("^gong: gong.nvim could not load gong%.core, gong's C module: it is not on package%.cpath: "
          .. "build it for LuaJIT %(make LUA=luajit%).* %(.-module 'gong%.core' not found: .*'%)$", r.no_core.text)
        -- The dynamic linker's reason, on the line after the first of require's message, is kept.
        local so = escape_pattern(other .. "/gong/core.so")
        assert.matches("^gong: gong%.nvim could not load gong%.core, gong's C module: it was built for another "
          .. "Lua: build it for LuaJIT %(make LUA=luajit%) %(error loading module 'gong%.core' from file '" .. so
          .. "': " .. so .. ": undefined symbol: lua[%w_]+%)$", r.other_lua.text)
        assert.is_false(r.client_raises[1], "client() raises what it cannot load")
        assert.matches("could not load gong%.core", r.client_raises[2])
        assert.are.same({ calls = 1, data = "table" }, { calls = r.recovered.calls, data = r.recovered.data })
      end)

    it("that gong raises in the blocking API (options, parameters, credentials) reach the callback once", function()
      local r = failure_cases()
      for key, kind in pairs({ unknown_option = "config", empty_folder_id = "argument",
                               unknown_param = "argument", no_credentials = "config" }) do
        local case = r[key]
        assert.are.equal(1, case.calls, key)
        assert.are.equal("nil", case.data, key)
        assert.is_true(case.err.is_error, key)
        assert.are.equal(kind, case.err.fields.kind, key)
        assert.are.same(case.expected, case.err, key)
      end
    end)

    it("in the call itself (no callback, unsendable options) raise an error of kind 'argument'", function()
      local r = failure_cases()
      for _, key in ipairs({ "not_a_callback", "missing_callback", "unsendable" }) do
        assert.is_false(r[key].ok, key)
        assert.is_true(r[key].err.is_error, key)
        assert.are.equal("argument", r[key].err.fields.kind, key)
      end
      assert.matches("callback function %(got string%)", r.not_a_callback.err.text)
      assert.matches("callback function %(got nil%)", r.missing_callback.err.text)
      assert.matches("only strings, numbers, booleans and tables", r.unsendable.err.text)
    end)
  end)

  describe("the editor", function()
    it("keeps a 50 ms timer on time while the server holds a request for 2 s (and freezes with the blocking API)",
      function()
        srv:faults({ { delay = 2 }, { delay = 1 } })
        local r = run(srv, "responsive")
        local a, b = r.adapter, r.blocking
        assert.are.equal(#lib.folders, a.count, a.err)
        assert.is_true(a.elapsed_ms >= 1900, "the request was not delayed: " .. a.elapsed_ms .. " ms")
        assert.is_true(a.ticks >= 30, "only " .. a.ticks .. " timer ticks during the request")
        assert.is_true(a.max_gap_ms < 250, "the timer stalled for " .. a.max_gap_ms .. " ms")
        -- The same measurement sees the blocking API freeze the editor, so it can fail.
        assert.are.equal(#lib.folders, b.count)
        assert.is_true(b.elapsed_ms >= 900)
        assert.is_true(b.ticks <= 1, b.ticks .. " ticks during a blocking request")
        assert.is_true(b.max_gap_ms >= 900)
      end)
  end)

  describe("doc/neovim.md", function()
    it("marks every Lua block with the name of the scenario that runs it", function()
      local doc = assert(slurp(DOC))
      local names = {}
      for marker, lang in doc:gmatch("([^\n]*)\n```(%w*)\n") do
        if lang == "lua" then
          local name = marker:match("^<!%-%- snippet: (%w+) %-%->$")
          assert(name, "a Lua block in doc/neovim.md has no snippet marker: " .. marker)
          names[name] = SNIPPETS[name] or "no scenario"
        end
      end
      assert.are.same(SNIPPETS, names)
    end)

    it("'api' snippet notifies the folder count and the calls of the first folder", function()
      local r = run(srv, "doc_api", { env = { GONG_BASE_URL = srv.url, GONG_ACCESS_KEY = creds.key,
                                              GONG_ACCESS_KEY_SECRET = creds.secret } })
      local first = lib.folders[1]
      assert.are.same({
        { message = #lib.folders .. " folders in the library", level = 2 },
        { message = ("%d calls in %s"):format(#lib.calls[first.id], first.name), level = 2 },
      }, r.notes)
    end)

    it("'client' snippet shows the library's progress from the main loop, and :GongStop stops it", function()
      local small = fake.start({ folders = 6 })
      finally(function() small:stop() end)
      local blocking = gong.new({ base_url = small.url, token = creds.token, rate = false })
      local tree = assert(blocking:library())
      blocking:close()
      small:reset()
      local r = run(small, "doc_client", { env = { GONG_BASE_URL = small.url, GONG_TOKEN = creds.token } })
      local calls = 0
      for node in tree:walk() do calls = calls + #node.calls end
      assert.are.equal(0, r.fast, "nvim_echo called from a loop callback")
      -- One line a folder asked for (the contract's empty folders are not).
      local asked = #r.progress
      assert.is_true(asked >= tree.count - 1, asked .. " progress lines")
      assert.are.equal(("gong: %d/%d folders"):format(asked, asked), r.progress[asked])
      assert.are.same({ { message = ("%d calls in %d folders, 0 folders failed"):format(calls, tree.count),
                          level = 2 } }, r.notes)
      assert.are.same({ notes = 0, progress = 0 }, r.after_stop)
      -- The first run's requests, then at most the folder list of the second.
      local sent = #small:requests()
      assert.is_true(sent == asked + 1 or sent == asked + 2, sent .. " requests")
    end)

    it("'command' snippet's :GongTree shows the blocking API's tree in a scratch buffer", function()
      local workspace = lib.workspaces[2].id
      local r = run(srv, "doc_command", { env = { GONG_BASE_URL = srv.url, GONG_TOKEN = creds.token,
                                                  GONG_NVIM_WORKSPACE = workspace } })
      local in_workspace = 0
      for _, f in ipairs(lib.folders) do
        if f.workspaceId == workspace then in_workspace = in_workspace + 1 end
      end
      assert.are.same({ new_buffer = true, buftype = "nofile", modifiable = false, same = true,
                        lines = #lib.folders, expected_lines = #lib.folders, first = r.all.first }, r.all)
      assert.matches("^%S.* %(%d+ calls%)$", r.all.first)
      assert.are.same({ new_buffer = true, buftype = "nofile", modifiable = false, same = true,
                        lines = in_workspace, expected_lines = in_workspace, first = r.workspace.first },
                      r.workspace)
    end)

    describe(":checkhealth gong", function()
      -- The lines of :checkhealth gong in a Neovim with `env`; none shows a credential.
      local function health(env)
        local r = run(srv, "health", { env = env })
        local text = table.concat(r.lines, "\n")
        for _, secret in ipairs({ creds.secret, creds.token, fake.BASIC:sub(7), "wrong-token-value" }) do
          assert.is_nil(text:find(secret, 1, true), "a credential is shown:\n" .. text)
        end
        assert.is_nil(text:find("No healthcheck found", 1, true), text)
        return text
      end

      it("says the core loads for LuaJIT, libcurl's version, the credentials by name, the rate state, and folders()",
        function()
        local text = health({ GONG_BASE_URL = srv.url, GONG_ACCESS_KEY = creds.key,
                              GONG_ACCESS_KEY_SECRET = creds.secret, GONG_NVIM_LIVE = "1" })
        for _, line in ipairs({
          "## gong " .. gong._VERSION,
          "OK: lua-cjson ",
          "OK: gong.core " .. gong._VERSION .. " loads in LuaJIT 2.1",
          " from " .. CORE,
          "OK: libcurl " .. require("gong.core").curl_version,
          "OK: credentials in the environment: GONG_ACCESS_KEY and GONG_ACCESS_KEY_SECRET (the values are not shown)",
          "OK: a client of them: gong.client(" .. srv.url .. ", auth=basic, api=contract)",
          "OK: runs at once share the tenant's rate limit through ",
          "OK: folders(): " .. #lib.folders .. " folders (request ",
        }) do
          assert.truthy(text:find(line, 1, true), line .. "\nin:\n" .. text)
        end
        assert.is_nil(text:find("ERROR", 1, true), text)
        assert.is_nil(text:find("WARNING", 1, true), text)
      end)

      it("says how to ask for folders() live, and what a refused token answers, without the token", function()
        local text = health({ GONG_BASE_URL = srv.url, GONG_TOKEN = creds.token })
        assert.truthy(text:find("INFO: for a live request to the tenant, `:let g:gong_health_live = 1`", 1, true), text)
        assert.is_nil(text:find("folders()", 1, true), text)
        text = health({ GONG_BASE_URL = srv.url, GONG_TOKEN = "wrong-token-value", GONG_NVIM_LIVE = "1" })
        assert.truthy(text:find("OK: credentials in the environment: GONG_TOKEN (the values are not shown)", 1, true),
          text)
        assert.truthy(text:find("ERROR: folders() failed: gong: HTTP 401 on GET /library/folders", 1, true), text)
      end)

      it("warns when the environment has no credentials, and stops there", function()
        local text = health({})
        assert.truthy(text:find("WARNING: no credentials: set GONG_ACCESS_KEY and GONG_ACCESS_KEY_SECRET", 1, true),
          text)
        assert.truthy(text:find("a plugin may pass credentials to gong.new itself", 1, true), text)
        assert.is_nil(text:find("ERROR", 1, true), text)
      end)

      it("says why gong.core does not load, the whole message, and what to do", function()
        local text = health({ GONG_TOKEN = creds.token, GONG_NVIM_CPATH = "/nonexistent/?.so" })
        assert.truthy(text:find("ERROR: gong.nvim could not load gong.core, gong's C module: it is not on "
          .. "package.cpath: build it for LuaJIT (make LUA=luajit)", 1, true), text)
        assert.truthy(text:find("/nonexistent/gong/core.so'", 1, true), text)
        local other = ROOT .. "/build/5.4/gong/core.so"
        if not io.open(other) then return pending(other .. " is not built (make LUA=5.4)") end
        text = health({ GONG_TOKEN = creds.token, GONG_NVIM_CPATH = ROOT .. "/build/5.4/?.so" })
        assert.truthy(text:find("undefined symbol", 1, true), text)
        assert.truthy(text:find("it was built for another Lua: build it for LuaJIT (make LUA=luajit)", 1, true), text)
      end)
    end)

    describe("installation snippets make gong load in Neovim and in its workers", function()
      local home

      before_each(function() home = process.tmpdir() end)
      after_each(function() os.execute("rm -rf " .. shell_quote(home)) end)

      local env = function() return { HOME = home, GONG_BASE_URL = srv.url, GONG_TOKEN = creds.token } end

      local function check(r)
        assert.is_false(r.before, "gong loaded before the snippet ran")
        assert.is_true(r.after, r.load_error)
        assert.are.equal(nil, r.err)
        assert.matches("^gong%.tree%(" .. #lib.folders .. " folders", r.tree)
        -- :checkhealth gong finds its check, and all is well.
        local health = table.concat(r.health, "\n")
        assert.truthy(health:find("OK: gong.core " .. gong._VERSION .. " loads in LuaJIT", 1, true), health)
        assert.is_nil(health:find("ERROR", 1, true), health)
        assert.is_nil(health:find("WARNING", 1, true), health)
      end

      it("lazy.nvim", function()
        local r = run(srv, "doc_lazy", { env = env(), cwd = home })
        check(r)
        assert.are.same({ name = "gong-lua/gong", build = "make LUA=luajit", lazy = true }, r.spec)
        assert.are.equal("@" .. ROOT .. "/lua/gong/init.lua", r.gong_file)
      end)

      it("plain 'runtimepath'", function()
        assert(os.execute("mkdir -p " .. shell_quote(home .. "/src") .. " && ln -s " .. shell_quote(ROOT) .. " "
          .. shell_quote(home .. "/src/gong")))
        local r = run(srv, "doc_runtimepath", { env = env(), cwd = home })
        check(r)
        assert.are.equal("@" .. home .. "/src/gong/lua/gong/init.lua", r.gong_file)
      end)

      it("make install LUA=luajit PREFIX=~/.local", function()
        -- Under `make test` (or check-asan) the parent's variables would reach
        -- this make through MAKEFLAGS, and its sanitizer through LD_PRELOAD.
        local log = capture("cd " .. shell_quote(ROOT) .. " && env -u MAKEFLAGS -u MFLAGS -u MAKELEVEL -u LD_PRELOAD "
          .. "make --no-print-directory install LUA=luajit BUILD=build/luajit PREFIX="
          .. shell_quote(home .. "/.local") .. " 2>&1; echo \"exit:$?\"")
        assert.matches("exit:0\n$", log)
        local r = run(srv, "doc_install", { env = env(), cwd = home })
        check(r)
        assert.are.equal("@" .. home .. "/.local/share/lua/5.1/gong/init.lua", r.gong_file)
      end)
    end)
  end)
end)
