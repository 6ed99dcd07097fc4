-- gong-library, the command-line tool, run as a real process against the fake
-- Gong server: its output (the same strings gong.cli's renderers give), its
-- exit statuses, credentials, files and signals. Read top to bottom this is
-- its manual; cli_render_spec, cli_trees_spec, cli_exports_spec, cli_text_spec,
-- cli_args_spec and cli_help_spec hold the details.

local csv = require "gong.cli.csv"
local exports = require "gong.cli.exports"
local json_records = require "gong.cli.json_records"
local tables = require "gong.cli.tables"
local text = require "gong.cli.text"
local trees = require "gong.cli.trees"
local help = require "gong.cli.help"
local cjson = require("cjson").new()
local text_support = require "spec.support.text"

local lines_of, assert_no_trailing_spaces = text_support.lines_of, text_support.assert_no_trailing_spaces

describe("the gong-library program", function()
  local fake = require "spec.support.fake"
  local process = require "spec.support.process"
  local tree = require "gong.tree"
  local creds = fake.credentials
  -- Every form a credential could leak in: as given, and as HTTP Basic sends it.
  local SECRETS = { creds.secret, creds.token, "dGVzdC1rZXk6dGVzdC1zZWNyZXQ=", "wrong-secret-value" }

  local srv, lib

  setup(function()
    srv = fake.start()
    lib = fake.contract_library()
  end)

  teardown(function()
    if srv then srv:stop() end
  end)

  before_each(function()
    srv:reset()
  end)

  local function basic_env(extra)
    local env = { GONG_BASE_URL = srv.url, GONG_ACCESS_KEY = creds.key, GONG_ACCESS_KEY_SECRET = creds.secret }
    for k, v in pairs(extra or {}) do env[k] = v end
    return env
  end

  -- Runs bin/gong-library with `args` and `env` (default: Basic credentials
  -- and the fake server's URL). Checks on every run that no secret was printed.
  -- process.run clears the parent's credential variables; GONG_PROGRESS and
  -- GONG_CREDENTIALS_FILE are cleared here (empty means unset) unless given,
  -- so a developer's own settings cannot change what a spec sees.
  local function run(args, env)
    local argv = { process.lua, "bin/gong-library" }
    for _, a in ipairs(args) do argv[#argv + 1] = a end
    -- Each run its own rate window: the specs here are not about sharing one
    -- (rate_scope_spec is), and a window left full by the spec before would
    -- slow every run down.
    local full = { GONG_PROGRESS = "", GONG_CREDENTIALS_FILE = "", GONG_RATE_SCOPE = "client" }
    for k, v in pairs(env or basic_env()) do full[k] = v end
    local out, err, status = process.run(argv, full)
    for _, secret in ipairs(SECRETS) do
      assert.is_nil(out:find(secret, 1, true), "stdout shows a secret")
      assert.is_nil(err:find(secret, 1, true), "stderr shows a secret")
    end
    return out, err, status
  end

  -- A successful run: status 0, nothing on stderr; returns stdout.
  local function ok(args, env)
    local out, err, status = run(args, env)
    assert.are.equal("", err)
    assert.are.equal(0, status)
    return out
  end

  -- A failed run: status 1, nothing on stdout, exactly one line on stderr.
  local function failed(args, env)
    local out, err, status = run(args, env)
    assert.are.equal(1, status, err)
    assert.are.equal("", out)
    assert.truthy(err:find("^gong%-library: [^\n]+\n$"), err)
    return err
  end

  -- A run refused for what configures it (a credentials file, the
  -- environment): status 2, as a usage error, nothing on stdout, the message
  -- and a pointer to --help on stderr, no request made. Returns the message line.
  local function misconfigured(args, env)
    local out, err, status = run(args, env)
    assert.are.equal(2, status, err)
    assert.are.equal("", out)
    local line = err:match("^(gong%-library: [^\n]+\n)Try 'gong%-library %-%-help' for more information%.\n$")
    assert.truthy(line, err)
    assert.are.equal(0, #srv:requests())
    return line
  end

  local function folder_with(predicate)
    for _, f in ipairs(lib.folders) do
      if predicate(f) then return f end
    end
    error("the fake library has no such folder")
  end

  describe("folders", function()
    it("prints every folder as an aligned table with a header row", function()
      local out = ok({ "folders" })
      assert.are.equal(tables.folders(lib.folders), out)
      local lines = lines_of(out)
      assert.truthy(lines[1]:find("^ID +NAME +PARENT +CALLS +CREATED$"))
      assert.are.equal(#lib.folders + 1, #lines)
      assert_no_trailing_spaces(out)
    end)

    it("prints a JSON array of contract-shaped objects with --json", function()
      local out = ok({ "folders", "--json" })
      assert.are.equal(json_records.folders(lib.folders), out)
      local decoded = cjson.decode(out)
      assert.are.equal(#lib.folders, #decoded)
      for i, f in ipairs(decoded) do
        assert.are.equal(lib.folders[i].id, f.id)
        assert.are.equal(lib.folders[i].callCount, f.callCount)
        assert.is_nil(f.workspaceId) -- not a contract field
      end
      assert.is_nil(out:find('"callCount": %d+%.0'), "an integer was printed with a fraction")
    end)

    it("prints RFC 4180 CSV with --csv, global options accepted before the command too", function()
      local out = ok({ "--csv", "folders" })
      assert.are.equal(csv.folders(lib.folders), out)
      assert.are.equal("id,name,description,parentFolderId,callCount,createdBy,created,updated\r\n",
                       out:match("^[^\n]*\n"))
    end)

    it("asks for one workspace with --workspace", function()
      local ws = lib.workspaces[3].id
      local expected = {}
      for _, f in ipairs(lib.folders) do
        if f.workspaceId == ws then expected[#expected + 1] = f end
      end
      local out = ok({ "folders", "--workspace", ws, "--json" })
      assert.are.equal(json_records.folders(expected), out)
      local requests = srv:requests()
      assert.are.equal(1, #requests)
      assert.are.equal("/library/folders", requests[1].path)
      assert.truthy(requests[1].query:find("workspaceId=" .. ws, 1, true))
    end)

    it("says (no folders), [] or just the header when a workspace has none", function()
      assert.are.equal("(no folders)\n", ok({ "folders", "--workspace=none" }))
      assert.are.equal("[]\n", ok({ "folders", "--workspace=none", "--json" }))
      assert.are.equal("id,name,description,parentFolderId,callCount,createdBy,created,updated\r\n",
                       ok({ "folders", "--workspace=none", "--csv" }))
    end)

    it("authenticates with GONG_TOKEN as well", function()
      local out = ok({ "folders", "--csv" }, { GONG_BASE_URL = srv.url, GONG_TOKEN = creds.token })
      assert.are.equal(csv.folders(lib.folders), out)
      assert.are.equal("Bearer " .. creds.token, srv:requests()[1].headers.authorization)
    end)
  end)

  describe("tree", function()
    local built

    setup(function()
      built = tree.build(lib.folders)
    end)

    it("draws the folders as a tree ending in a totals line", function()
      local out = ok({ "tree" })
      assert.are.equal(trees.text(built), out)
      local calls = 0
      for _, f in ipairs(lib.folders) do calls = calls + f.callCount end
      assert.are.equal(("%d folders, %d calls"):format(#lib.folders, calls), lines_of(out)[#lines_of(out)])
      assert.truthy(out:find("\n├── ", 1, true))
      assert_no_trailing_spaces(out)
    end)

    it("prints the nested tree as JSON with --json", function()
      local out = ok({ "tree", "--json" })
      assert.are.equal(trees.json(built), out)
      local seen = 0
      local function count(nodes)
        for _, n in ipairs(nodes) do
          seen = seen + 1
          assert.is_nil(n.parent)
          assert.are.equal("number", type(n.total_calls))
          count(n.children)
        end
      end
      count(cjson.decode(out))
      assert.are.equal(#lib.folders, seen)
    end)

    -- #once: the renderer's side is cli_trees_spec's, under every Lua.
    it("says in JSON how many subfolders --depth left out of a folder, never an empty list for them #once", function()
      local out = ok({ "tree", "--depth", "0", "--json" })
      assert.are.equal(trees.json(built, { depth = 0 }), out)
      local roots, hiding = cjson.decode(out), 0
      for i, root in ipairs(roots) do
        local node = built.roots[i]
        if node.children[1] then
          hiding = hiding + 1
          assert.are.same({ nil, #node.children }, { root.children, root.children_not_shown }, root.id)
        else
          assert.are.same({ {}, nil }, { root.children, root.children_not_shown }, root.id)
        end
      end
      assert.is_true(hiding > 0, "the fake library has no top-level folder with subfolders")
    end)

    it("prints one CSV row per folder, parents first, with --csv", function()
      local out = ok({ "tree", "--csv" })
      assert.are.equal(trees.csv(built), out)
    end)

    it("says (no folders) for an empty workspace", function()
      assert.are.equal("(no folders)\n", ok({ "tree", "--workspace", "none" }))
      assert.are.equal("[]\n", ok({ "tree", "--workspace", "none", "--json" }))
    end)
  end)

  describe("calls", function()
    it("lists the calls of a folder as a table, durations as h:mm:ss", function()
      local folder = folder_with(function(f) return f.callCount >= 3 end)
      local out = ok({ "calls", folder.id })
      assert.are.equal(tables.calls(lib.calls[folder.id]), out)
      assert.truthy(lines_of(out)[1]:find("^CALL ID +TITLE +STARTED +DURATION +URL$"))
      assert.truthy(lines_of(out)[2]:find(" %d+:%d%d:%d%d  "))
      assert_no_trailing_spaces(out)
    end)

    it("prints JSON and CSV with the contract's call fields", function()
      local folder = folder_with(function(f) return f.callCount >= 3 end)
      assert.are.equal(json_records.calls(lib.calls[folder.id]), ok({ "calls", folder.id, "--json" }))
      assert.are.equal(csv.calls(lib.calls[folder.id]), ok({ "--csv", "calls", folder.id }))
    end)

    it("finds a folder whose id needs percent-encoding", function()
      local out = ok({ "calls", "--json", "--", lib.special_id })
      assert.are.equal(json_records.calls(lib.calls[lib.special_id]), out)
    end)

    it("says (no calls), [] or just the header for an empty folder", function()
      local folder = folder_with(function(f) return f.callCount == 0 end)
      assert.are.equal("(no calls)\n", ok({ "calls", folder.id }))
      assert.are.equal("[]\n", ok({ "calls", folder.id, "--json" }))
      assert.are.equal("callId,title,url,started,duration,primaryUserId,addedToLibraryAt,addedBy,note,snippet\r\n",
                       ok({ "calls", folder.id, "--csv" }))
    end)

    it("fails with status 1 and the HTTP status and requestId for an unknown folder", function()
      local err = failed({ "calls", "no-such-folder" })
      assert.truthy(err:find("HTTP 404", 1, true), err)
      assert.truthy(err:find("%(request %x+%)"), err)
      -- Not one of Gong's hosts: the contract's 404 is the folder's, and --api has no part in it.
      assert.is_nil(err:find("--api", 1, true), err)
    end)

    -- #once: the core's side is core_spec's, under every Lua.
    it("cuts a folder id too long for the message in its middle, with …, keeping the path's /calls #once", function()
      local id = ("1"):rep(200) .. ("2"):rep(200)
      local err = failed({ "calls", id })
      assert.truthy(err:find("^gong%-library: HTTP 404 on GET /library/folders/1+…2+/calls: "), err)
    end)
  end)

  describe("on a terminal", function()
    local terminal = require "spec.support.terminal"
    local t

    after_each(function()
      if t then t:stop() end
      t = nil
    end)

    local function program(args)
      local argv = { process.lua, "bin/gong-library" }
      for _, a in ipairs(args) do argv[#argv + 1] = a end
      return argv
    end

    it("fits tables to an 80-column terminal, cutting titles with …, and prints them whole elsewhere", function()
      local folder = folder_with(function(f) return #lib.calls[f.id] >= 3 end)
      t = terminal.start(program({ "calls", folder.id }), { width = 80, env = basic_env() })
      local lines = t:wait_for("EXIT:0")
      local cut = 0
      for i = 1, #lines - 1 do
        assert.is_true(text.width(lines[i]) <= 80, "a line wider than the terminal: " .. lines[i])
        if lines[i]:find("…", 1, true) then cut = cut + 1 end
      end
      assert.is_true(cut > 0, "nothing needed cutting")
      assert.are.equal(tables.calls(lib.calls[folder.id]), ok({ "calls", folder.id }), "whole when piped")
    end)

    it("erases the ^C the terminal echoed before saying 'interrupted'", function()
      srv:faults({ { delay = 30, times = -1 } })
      t = terminal.start(program({ "folders" }), { width = 80, env = basic_env() })
      local deadline = os.time() + 10
      while #srv:requests() == 0 do
        assert(os.time() < deadline, "the request never reached the server")
        os.execute("sleep 0.05")
      end
      t:keys("C-c")
      local lines = t:wait_for("EXIT:130")
      assert.are.same({ "gong-library: interrupted", "EXIT:130" }, { lines[#lines - 1], lines[#lines] })
      for _, line in ipairs(lines) do assert.is_nil(line:find("^C", 1, true), line) end
    end)
  end)

  describe("a real tenant and the Calls API", function()
    local transcript = require "gong.transcript"

    local function tenant_env(extra)
      return basic_env(extra or { GONG_BASE_URL = srv.tenant_url, GONG_API = "public" })
    end

    it("workspaces lists the tenant's workspaces as a table, JSON or CSV", function()
      local out = ok({ "workspaces" })
      assert.truthy(lines_of(out)[1]:find("^ID +NAME +DESCRIPTION$"), out)
      assert.are.equal(#lib.workspaces + 1, #lines_of(out))
      local decoded = cjson.decode(ok({ "workspaces", "--json" }))
      assert.are.equal(lib.workspaces[2].name, decoded[2].name)
      assert.are.equal("id,name,description\r\n", ok({ "workspaces", "--csv" }):match("^[^\n]*\n"))
    end)

    it("calls --details adds the primary user and the speakers, from one Calls API request", function()
      local folder = folder_with(function(f) return f.callCount >= 3 end)
      local out = ok({ "calls", folder.id, "--details" }, tenant_env())
      local header = "^CALL ID +TITLE +STARTED +DURATION +PRIMARY USER +SPEAKERS +NOTE +URL$"
      assert.truthy(lines_of(out)[1]:find(header), out)
      local first = lib.calls[folder.id][1]
      local meta = lib.details[first.callId].metaData
      local row = lines_of(out)[2]
      assert.truthy(row:find(meta.started, 1, true), "STARTED comes from the details on a tenant: " .. row)
      assert.truthy(row:find(lib.details[first.callId].parties[1].name, 1, true), row)
      local paths = {}
      for _, req in ipairs(srv:requests()) do paths[#paths + 1] = req.path end
      assert.are.same({ "/tenant/library/folder-content", "/tenant/calls/extensive" }, paths)
      local decoded = cjson.decode(ok({ "calls", folder.id, "--details", "--json" }))
      assert.are.equal(meta.id, decoded[1].details.metaData.id)
      assert.truthy(ok({ "--csv", "calls", folder.id, "--details" }):find(",speakers\r\n", 1, true))
    end)

    it("transcript shows each call's transcript under a heading, speakers by name", function()
      local with, without
      for _, id in ipairs(lib.call_ids) do
        if lib.transcripts[id] and not with then with = id end
        if not lib.transcripts[id] and not without then without = id end
      end
      local out = ok({ "transcript", with, without })
      local d = lib.details[with]
      local heading = "== " .. (d.metaData.title or with) .. (d.metaData.title and " (" .. with .. ")" or "") .. " ==\n"
      assert.are.equal(2, select(2, ("\n" .. out):gsub("\n== ", "")), "a heading per call: " .. out)
      assert.truthy(out:find(heading, 1, true), out)
      assert.truthy(out:find(transcript.text(lib.transcripts[with], d.parties), 1, true), out)
      assert.truthy(out:find("(" .. without .. ") ==\n(no transcript)\n", 1, true)
        or out:find("== " .. without .. " ==\n(no transcript)\n", 1, true), out)
      local decoded = cjson.decode(ok({ "transcript", with, "--json" }))
      assert.are.equal(with, decoded[1].callId)
      assert.are.same(lib.transcripts[with], decoded[1].transcript)
    end)

    it("writes every field a tenant sends: updated, note, snippet in JSON, NDJSON and CSV; tables show them",
       function()
      -- A small library: the exports run at Gong's rate.
      local small, full = fake.start({ folders = 10 }), fake.library({ folders = 10 }) -- the tenant's fields
      finally(function() small:stop() end)
      local env = basic_env({ GONG_BASE_URL = small.tenant_url, GONG_API = "public" })
      local folder
      for _, f in ipairs(full.folders) do
        for _, c in ipairs(full.calls[f.id]) do
          if c.note and c.snippet then folder = folder or f end
        end
      end
      assert.is_table(folder, "the library has a call with a note and a snippet")
      local sent
      for _, c in ipairs(full.calls[folder.id]) do
        if c.note and c.snippet then sent = c break end
      end
      local function find(list, id)
        for _, item in ipairs(list) do
          if (item.callId or item.id) == id then return item end
        end
      end
      local call = find(cjson.decode(ok({ "calls", folder.id, "--json" }, env)), sent.callId)
      assert.are.equal(sent.note, call.note)
      assert.are.same(sent.snippet, call.snippet)
      local csv_out = ok({ "calls", folder.id, "--csv" }, env)
      assert.truthy(csv_out:find("^[^\n]*,note,snippet\r\n"), csv_out)
      assert.truthy(csv_out:find(sent.note, 1, true), csv_out)
      local table_out = ok({ "calls", folder.id }, env)
      assert.truthy(lines_of(table_out)[1]:find("^CALL ID +TITLE +NOTE +URL$"), table_out)
      local folders = cjson.decode(ok({ "folders", "--json" }, env))
      assert.are.equal(full.folders[1].updated, folders[1].updated)
      assert.truthy(lines_of(ok({ "folders" }, env))[1]:find("^ID +NAME +PARENT +UPDATED$"))
      local dir = process.tmpdir()
      for _, format in ipairs({ "json", "ndjson" }) do
        local file = dir .. "/library." .. format
        ok({ "export", "-o", file, "--format", format }, env)
        local written = process.read_file(file)
        assert.is_string(written, file)
        local notes, snippets, updated = 0, 0, 0
        if format == "json" then
          local stack = cjson.decode(written)
          while #stack > 0 do
            local node = table.remove(stack)
            if node.updated then updated = updated + 1 end
            for _, c in ipairs(node.calls or {}) do
              if c.callId == sent.callId then
                notes, snippets = notes + (c.note == sent.note and 1 or 0), snippets + 1
                assert.are.same(sent.snippet, c.snippet)
              end
            end
            for _, child in ipairs(node.children or {}) do stack[#stack + 1] = child end
          end
        else
          for line in written:gmatch("[^\n]+") do
            local record = cjson.decode(line)
            if record.type == "folder" and record.updated then updated = updated + 1 end
            if record.type == "call" and record.callId == sent.callId then
              notes, snippets = notes + (record.note == sent.note and 1 or 0), snippets + 1
              assert.are.same(sent.snippet, record.snippet)
            end
          end
        end
        assert.are.equal(#full.folders, updated, format)
        assert.truthy(notes > 0 and notes == snippets, format)
      end
      os.execute("rm -rf " .. process.quote(dir))
    end)

    it("transcript names an id Gong knows no call by, tells it from a call not transcribed yet, exit 1", function()
      local without
      for _, id in ipairs(lib.call_ids) do
        if not lib.transcripts[id] then without = without or id end
      end
      for _, unknown in ipairs({ "9999999999999999999", "abc" }) do
        local out, err, status = run({ "transcript", without, unknown })
        assert.are.equal(1, status, err)
        assert.are.equal("gong-library: Gong knows no call with the id " .. unknown .. "\n", err)
        assert.truthy(out:find("== " .. unknown .. " ==\n(no such call)\n", 1, true), out)
        assert.truthy(out:find(without .. ") ==\n(no transcript)\n", 1, true)
          or out:find("== " .. without .. " ==\n(no transcript)\n", 1, true), out)
        out, err, status = run({ "transcript", without, unknown, "--json" })
        assert.are.equal(1, status, err)
        local decoded = cjson.decode(out)
        assert.are.same({ callId = unknown, error = "no such call" }, decoded[2])
        assert.are.equal(without, decoded[1].callId)
        assert.is_nil(decoded[1].error)
        assert.is_nil(decoded[1].transcript)
      end
      local _, err, status = run({ "transcript", "1", "2" })
      assert.are.equal(1, status, err)
      assert.are.equal("gong-library: Gong knows no call with the ids 1, 2\n", err)
    end)

    it("transcript --folder takes every call of a folder", function()
      local folder = folder_with(function(f) return f.callCount >= 2 end)
      local decoded = cjson.decode(ok({ "transcript", "--folder", folder.id, "--json" }))
      assert.are.equal(#lib.calls[folder.id], #decoded)
      for i, call in ipairs(lib.calls[folder.id]) do assert.are.equal(call.callId, decoded[i].callId) end
    end)

    it("takes the API from --api, GONG_API or the credentials file, and refuses a bad one as a usage error", function()
      local count = #lib.folders
      local out = ok({ "folders", "--json", "--api", "public", "--base-url", srv.tenant_url })
      assert.are.equal(count, #cjson.decode(out))
      assert.is_nil(cjson.decode(out)[1].callCount, "a tenant's folders have no count")
      ok({ "folders" }, tenant_env())
      assert.are.equal("/tenant/library/folders", srv:requests()[#srv:requests()].path)
      local dir = process.tmpdir()
      local file = process.write_file(dir .. "/tenant.env", ("GONG_TOKEN=%s\nGONG_BASE_URL=%s\nGONG_API=public\n")
        :format(creds.token, srv.tenant_url))
      ok({ "folders", "--credentials", file }, {})
      assert.are.equal("/tenant/library/folders", srv:requests()[#srv:requests()].path)
      os.execute("rm -rf " .. process.quote(dir))
      local out2, err, status = run({ "folders", "--api", "v3" })
      assert.are.equal(2, status, err)
      assert.are.equal("", out2)
      assert.truthy(err:find('^gong%-library: %-%-api must be "auto", "contract" or "public"\n'), err)
    end)
  end)

  describe("help and version", function()
    it("prints the general help on stdout with --help, -h and help, without credentials", function()
      for _, args in ipairs({ { "--help" }, { "-h" }, { "help" } }) do
        local out = ok(args, {})
        assert.are.equal(help.text(), out)
      end
    end)

    it("prints a command's help with help COMMAND and COMMAND --help", function()
      assert.are.equal(help.text("calls"), ok({ "help", "calls" }, {}))
      assert.are.equal(help.text("calls"), ok({ "calls", "--help" }, {}))
      assert.are.equal(help.text("tree"), ok({ "tree", "-h" }, {}))
      assert.are.equal(help.text("help"), ok({ "help", "help" }, {}))
    end)

    describe("found without LUA_PATH", function()
      -- The program as a user runs it: no LUA_PATH or LUA_CPATH at all.
      local function bare(program, dir)
        return process.capture(("cd %s && env -u LUA_PATH -u LUA_CPATH %s %s --version 2>&1; echo \"exit:$?\"")
          :format(process.quote(dir or "."), process.quote(process.lua), process.quote(program)))
      end
      local version_line = function()
        return "gong-library " .. require("gong.version") .. " ("
          .. process.lua_code('io.write(jit and jit.version or _VERSION)') .. ")\n"
      end

      it("runs from a checkout, from any directory, its modules and build found beside it", function()
        assert.are.equal(version_line() .. "exit:0\n", bare(fake.root .. "/bin/gong-library"))
        local root = process.capture("cd " .. process.quote(fake.root) .. " && pwd"):gsub("\n$", "")
        assert.are.equal(version_line() .. "exit:0\n", bare(root .. "/bin/gong-library", "/"))
      end)

      it("runs from an install under any PREFIX", function()
        local prefix = process.tmpdir()
        local lua = process.lua:match("luajit") and "luajit" or process.lua:match("lua(5%.%d)")
        local log = process.capture(("env -u MAKEFLAGS -u MFLAGS -u MAKELEVEL -u LD_PRELOAD make --no-print-directory "
          .. "install LUA=%s BUILD=%s PREFIX=%s 2>&1; echo \"exit:$?\""):format(lua, process.build,
                                                                               process.quote(prefix)))
        assert.matches("exit:0\n$", log)
        assert.are.equal(version_line() .. "exit:0\n", bare(prefix .. "/bin/gong-library", "/"))
        os.execute("rm -rf " .. process.quote(prefix))
      end)

      it("says in one line what to set when its modules are nowhere to be found", function()
        local dir = process.tmpdir()
        os.execute("cp bin/gong-library " .. process.quote(dir))
        local out = bare(dir .. "/gong-library")
        os.execute("rm -rf " .. process.quote(dir))
        assert.matches("^gong%-library: cannot find gong's Lua modules %(gong/cli/init%.lua%) beside .*; set "
          .. "LUA_PATH to the directory they were installed in, such as [^\n]+\nexit:1\n$", out)
      end)
    end)

    describe("when gong's modules do not load", function()
      -- This Lua as messages name it, and as make's LUA= does.
      local this = process.lua_code('io.write(jit and "LuaJIT" or _VERSION)')
      local make_lua = process.lua_code('io.write(jit and "luajit" or _VERSION:match("%d+%.%d+"))')
      local version_out = "gong-library " .. require("gong.version") .. " (" .. process.lua_code(
        'io.write(jit and jit.version or _VERSION)') .. ")\n"
      local root = process.capture("cd " .. process.quote(fake.root) .. " && pwd"):gsub("\n$", "")
      local lua_path = root .. "/lua/?.lua;" .. root .. "/lua/?/init.lua;;"

      -- A copy of the program with nothing beside it: gong is found only as LUA_PATH and LUA_CPATH say.
      local function alone(args, env)
        local dir = process.tmpdir()
        os.execute("cp bin/gong-library " .. process.quote(dir))
        local argv = { process.lua, dir .. "/gong-library" }
        for _, a in ipairs(args) do argv[#argv + 1] = a end
        local out, err, status = process.run(argv, env)
        os.execute("rm -rf " .. process.quote(dir))
        return out, err, status
      end

      it("prints the version and names lua-cjson, with require's whole reason, when it is missing", function()
        local out, err, status = run({ "--version" }, { LUA_CPATH = "/nonexistent/?.so" })
        assert.are.same({ version_out, 1 }, { out, status })
        assert.truthy(err:find("^gong%-library: lua%-cjson, which gong needs, is not installed for "
          .. this:gsub("%p", "%%%0") .. "; install it %(Debian: apt%-get install lua%-cjson; LuaRocks: luarocks "
          .. "install lua%-cjson%) or set LUA_CPATH to where its cjson%.so is %(module 'cjson%.safe' not found: no "
          .. "field package%.preload%['cjson%.safe'%]; no file '[^\n]*'/nonexistent/cjson%.so'[^\n]*%)\n$"), err)
        assert.are.equal(0, #srv:requests())
      end)

      it("names gong.core and how to build it when it is not on LUA_CPATH", function()
        local out, err, status = alone({ "--version" }, { LUA_PATH = lua_path, LUA_CPATH = "/nonexistent/?.so;;" })
        assert.are.same({ version_out, 1 }, { out, status })
        assert.truthy(err:find("^gong%-library: gong%.core, gong's C module, is not built for "
          .. this:gsub("%p", "%%%0") .. " or not on LUA_CPATH; build it %(make LUA=" .. make_lua:gsub("%p", "%%%0")
          .. "%) or set LUA_CPATH to where gong/core%.so is %(module 'gong%.core' not found: no field "
          .. "[^\n]*'/nonexistent/gong/core%.so'[^\n]*%)\n$"), err)
      end)

      it("says gong.core was built for another Lua, with the undefined symbol, for --version and a command", function()
        -- A build for another ABI: LuaJIT's for Lua 5.2 and later, a 5.2+ one for 5.1 and LuaJIT.
        local other
        local candidates = (make_lua == "luajit" or make_lua == "5.1") and { "5.4", "5.3", "5.2" } or { "luajit" }
        for _, lua in ipairs(candidates) do
          if not other and process.read_file(root .. "/build/" .. lua .. "/gong/core.so") then
            other = root .. "/build/" .. lua
          end
        end
        assert(other, "no gong.core built for another Lua than this one: run make LUA=" .. candidates[1])
        local so = other .. "/gong/core.so"
        local expected = "^gong%-library: gong%.core, gong's C module, was built for another Lua than "
          .. this:gsub("%p", "%%%0") .. "; build it for this one %(make LUA=" .. make_lua:gsub("%p", "%%%0")
          .. "%) or set LUA_CPATH to where that build is %(error loading module 'gong%.core' from file '"
          .. so:gsub("%p", "%%%0") .. "': " .. so:gsub("%p", "%%%0") .. ": undefined symbol: lua[%w_]+%)\n$"
        local env = { LUA_PATH = lua_path, LUA_CPATH = other .. "/?.so;;" }
        local out, err, status = alone({ "--version" }, env)
        assert.are.same({ version_out, 1 }, { out, status })
        assert.truthy(err:find(expected), err)
        out, err, status = alone({ "folders" }, env)
        assert.are.same({ "", 1 }, { out, status })
        assert.truthy(err:find(expected), err)
      end)
    end)

    it("prints the gong version and the Lua that runs it with --version", function()
      local expected = process.lua_code(
        'io.write(require("gong")._VERSION, " (", jit and jit.version or _VERSION, ")")')
      assert.are.equal("gong-library " .. expected .. "\n", ok({ "--version" }, {}))
    end)
  end)

  describe("usage errors", function()
    local cases = {
      { "frobnicate" },
      { "folders", "--bogus" },
      { "calls" },
      { "folders", "--json", "--csv" },
      { "folders", "--timeout", "soon" },
      { "--timeout=0", "tree" },
      {},
      { "calls", "1", "2" },
      { "calls", "1", "--workspace", "W" },
      { "--token", "wrong-secret-value", "folders" },
      { "export", "--concurrency", "0" },
      { "export", "--concurrency=65" },
      { "export", "--format", "xml" },
      { "folders", "-o", "out.json" },
    }
    for _, args in ipairs(cases) do
      it("exit with status 2, a message and a --help hint, before any request: " .. table.concat(args, " "), function()
        local out, err, status = run(args)
        assert.are.equal(2, status, err)
        assert.are.equal("", out)
        assert.truthy(err:find("^gong%-library: [^\n]+\nTry 'gong%-library [%w%- ]+' for more information%.\n$"), err)
        assert.are.equal(0, #srv:requests())
      end)
    end
  end)

  describe("failures", function()
    it("exit with status 1 and the HTTP status and requestId when the credentials are wrong", function()
      local err = failed({ "folders" }, basic_env({ GONG_ACCESS_KEY_SECRET = "wrong-secret-value" }))
      assert.truthy(err:find("HTTP 401", 1, true), err)
      assert.truthy(err:find("Invalid credentials", 1, true), err)
      assert.truthy(err:find("%(request %x+%)"), err)
    end)

    -- The help's rule: a bad value in the environment or the credentials file is a usage error.
    it("exit with status 2, a usage error, naming the environment variables when there are no credentials", function()
      local err = misconfigured({ "folders" }, { GONG_BASE_URL = srv.url })
      assert.truthy(err:find("GONG_ACCESS_KEY", 1, true), err)
      assert.truthy(err:find("GONG_ACCESS_KEY_SECRET", 1, true), err)
      assert.truthy(err:find("GONG_TOKEN", 1, true), err)
    end)

    it("exit with status 2 when only half of the access key pair is set, or two kinds of credentials", function()
      local err = misconfigured({ "tree" }, { GONG_BASE_URL = srv.url, GONG_ACCESS_KEY = creds.key })
      assert.truthy(err:find("the environment sets GONG_ACCESS_KEY but not GONG_ACCESS_KEY_SECRET", 1, true), err)
      err = misconfigured({ "tree" }, basic_env({ GONG_TOKEN = creds.token }))
      assert.truthy(err:find("the environment sets both GONG_TOKEN and GONG_ACCESS_KEY; keep one kind", 1, true), err)
    end)

    it("exit with status 2 for a bad GONG_BASE_URL, as for a bad credential #once", function()
      local err = misconfigured({ "folders" }, basic_env({ GONG_BASE_URL = "http://example.com/v2" }))
      assert.are.equal("gong-library: GONG_BASE_URL in the environment uses plain http to a host that is not this "
        .. "machine; use https\n", err)
    end)

    it("never print a credential, even one typed where a folder id goes", function()
      local err = failed({ "calls", creds.secret })
      assert.truthy(err:find("/library/folders/[redacted]/calls", 1, true), err)
    end)

    it("exit with status 1 and one line when the server cannot be reached, saying what to check", function()
      local err = failed({ "folders", "--base-url", "http://127.0.0.1:1" })
      assert.truthy(err:find("127.0.0.1", 1, true), err)
      local suffix = " (5 attempts); check the base URL (from --base-url) and the network\n"
      assert.are.equal(suffix, err:sub(-#suffix))
      assert.is_nil(err:find("after 5 attempts", 1, true), err)
      err = failed({ "folders" }, basic_env({ GONG_BASE_URL = "http://127.0.0.1:1" }))
      assert.truthy(err:find("check the base URL (from GONG_BASE_URL in the environment)", 1, true), err)
    end)

    it("say which credentials to check after a 401, and where they came from", function()
      local err = failed({ "folders" }, basic_env({ GONG_ACCESS_KEY_SECRET = "wrong-secret-value" }))
      local suffix = "; check GONG_ACCESS_KEY and GONG_ACCESS_KEY_SECRET (from the environment)\n"
      assert.are.equal(suffix, err:sub(-#suffix))
      err = failed({ "tree" }, { GONG_BASE_URL = srv.url, GONG_TOKEN = "wrong-secret-value" })
      suffix = "; check GONG_TOKEN (from the environment)\n"
      assert.are.equal(suffix, err:sub(-#suffix))
    end)

    it("say when to try again when Gong's rate limit asks to wait long", function()
      srv:faults({ { status = 429, headers = { ["Retry-After"] = "3600" }, times = -1 } })
      local err = failed({ "folders" })
      local at = os.date("!%H:%M UTC", os.time() + 3600)
      local before = os.date("!%H:%M UTC", os.time() + 3599)
      assert.truthy(err:find("; Gong asks to wait 60 min: try again after " .. at, 1, true)
        or err:find("; Gong asks to wait 60 min: try again after " .. before, 1, true), err)
    end)

    it("give up after --timeout seconds on a server that does not answer", function()
      srv:faults({ { delay = 3, times = -1 } })
      local err = failed({ "folders", "--timeout", "0.3" })
      assert.truthy(err:find("0.3 s", 1, true), err)
    end)
  end)

  describe("Ctrl-C", function()
    local socket = require "socket"

    -- Runs gong-library with `args` against a server that holds every request
    -- for 30 s, sends SIGINT once the server has the request, and returns
    -- stdout, stderr, the status and the seconds from the signal to the end.
    local function interrupt(args)
      srv:faults({ { delay = 30, times = -1 } })
      local argv = { process.lua, "bin/gong-library" }
      for _, a in ipairs(args) do argv[#argv + 1] = a end
      local e = basic_env({ GONG_PROGRESS = "0" })
      local pid, finish = process.spawn(argv, e)
      local deadline = socket.gettime() + 10
      while #srv:requests() == 0 do
        assert(socket.gettime() < deadline, "the request never reached the server")
        socket.sleep(0.02)
      end
      socket.sleep(0.3)
      local t0 = socket.gettime()
      os.execute("kill -INT " .. pid)
      local out, err, status = finish()
      return out, err, status, socket.gettime() - t0
    end

    for _, args in ipairs({ { "folders" }, { "tree", "--json" }, { "calls", "1" }, { "export" } }) do
      it("stops '" .. table.concat(args, " ") .. "' within half a second while a request waits, with status 130",
        function()
          local out, err, status, took = interrupt(args)
          assert.are.equal(130, status, err)
          assert.are.equal("", out)
          assert.are.equal("gong-library: interrupted\n", err)
          assert.is_true(took < 0.5, ("it took %.2f s"):format(took))
        end)
    end
  end)

  describe("--base-url", function()
    it("wins over GONG_BASE_URL", function()
      local out = ok({ "folders", "--csv", "--base-url=" .. srv.url },
                     basic_env({ GONG_BASE_URL = "http://127.0.0.1:1" }))
      assert.are.equal(csv.folders(lib.folders), out)
    end)

    -- A usage error naming where the value came from, in the CLI's terms.
    local function refused(args, env, message)
      local out, err, status = run(args, env)
      assert.are.equal(2, status, err)
      assert.are.equal("", out)
      assert.are.equal("gong-library: " .. message .. "\nTry 'gong-library --help' for more information.\n", err)
      assert.are.equal(0, #srv:requests())
    end

    it("refuses a bad URL as a usage error naming the flag or variable, never a Lua option", function()
      refused({ "folders", "--base-url", "http://example.com/v2" }, nil,
              "--base-url uses plain http to a host that is not this machine; use https")
      refused({ "folders" }, basic_env({ GONG_BASE_URL = "https://user:pw@example.com/v2" }),
              "GONG_BASE_URL in the environment must not contain credentials; set GONG_ACCESS_KEY and "
              .. "GONG_ACCESS_KEY_SECRET, or GONG_TOKEN, in the environment or a --credentials file")
      refused({ "folders", "--base-url=ftp://example.com" }, nil, "--base-url must use https (or http to this machine)")
      refused({ "folders", "--base-url=https://example.com/v2?x=1" }, nil, "--base-url must not contain a query string")
    end)

    it("refuses a value gong rejects as a usage error naming the flag", function()
      refused({ "folders", "--timeout", "100000" }, nil, "--timeout must be a number from 0.001 to 86400")
    end)
  end)

  -- Files ----------------------------------------------------------------------

  local socket = require "socket"
  local scratch -- a directory of our own for credential and output files

  setup(function() scratch = process.tmpdir() end)

  teardown(function()
    if scratch then os.execute("rm -rf " .. process.quote(scratch)) end
  end)

  local slurp = process.read_file

  -- Writes `content` to a new file in the scratch directory with `mode`
  -- (default 600) and returns its path.
  local function write_file(name, content, mode)
    return process.write_file(scratch .. "/" .. name, content, mode)
  end

  local dirs = 0
  -- A new empty directory, so its listing shows exactly what a run left.
  local function new_dir()
    dirs = dirs + 1
    local dir = scratch .. "/d" .. dirs
    os.execute("mkdir " .. process.quote(dir))
    return dir
  end

  local function listing(dir)
    local p = assert(io.popen("ls -A " .. process.quote(dir)))
    local names = {}
    for name in p:lines() do names[#names + 1] = name end
    p:close()
    table.sort(names)
    return names
  end

  describe("--credentials FILE", function()
    local BASIC = "GONG_ACCESS_KEY=test-key\nGONG_ACCESS_KEY_SECRET=test-secret\n"

    local function last_authorization()
      local requests = srv:requests()
      return requests[#requests].headers.authorization
    end

    it("reads the access key and secret from a file only its owner can access", function()
      local path = write_file("basic.env", BASIC)
      local out = ok({ "folders", "--csv", "--credentials", path }, { GONG_BASE_URL = srv.url })
      assert.are.equal(csv.folders(lib.folders), out)
      assert.are.equal("Basic dGVzdC1rZXk6dGVzdC1zZWNyZXQ=", last_authorization())
    end)

    it("reads a token, skipping comments and blank lines, trimming spaces, quotes and CRLF line ends", function()
      local path = write_file("token.env", "# Gong, read-only\r\n\r\n   GONG_TOKEN = \"test-token\"  \r\n# end\r\n")
      ok({ "--credentials=" .. path, "tree" }, { GONG_BASE_URL = srv.url })
      assert.are.equal("Bearer test-token", last_authorization())
      path = write_file("token2.env", "GONG_TOKEN='test-token'")
      ok({ "tree", "--credentials", path }, { GONG_BASE_URL = srv.url })
      assert.are.equal("Bearer test-token", last_authorization())
    end)

    it("accepts a file its owner may only read (400)", function()
      local path = write_file("readonly.env", BASIC, "400")
      ok({ "folders", "--credentials", path }, { GONG_BASE_URL = srv.url })
    end)

    it("reads a pipe, so a password manager can hand the credentials over without a file", function()
      local script = 'exec "$@" --credentials <(printf "GONG_TOKEN=%s\\n" test-token)'
      local out, err, status = process.run({ "bash", "-c", script, "bash", process.lua, "bin/gong-library",
                                             "folders", "--csv" }, { GONG_BASE_URL = srv.url })
      assert.are.equal(0, status, err)
      assert.are.equal(csv.folders(lib.folders), out)
      assert.are.equal("Bearer test-token", last_authorization())
    end)

    it("takes the file from GONG_CREDENTIALS_FILE, and --credentials over it", function()
      local good = write_file("env-named.env", "GONG_TOKEN=test-token\n")
      ok({ "folders" }, { GONG_BASE_URL = srv.url, GONG_CREDENTIALS_FILE = good })
      assert.are.equal("Bearer test-token", last_authorization())
      ok({ "folders", "--credentials", good },
         { GONG_BASE_URL = srv.url, GONG_CREDENTIALS_FILE = scratch .. "/no-such-file" })
    end)

    it("uses the file's credentials instead of the environment's, all of them", function()
      local token_file = write_file("wins.env", "GONG_TOKEN=test-token\n")
      ok({ "folders", "--credentials", token_file },
         basic_env({ GONG_ACCESS_KEY_SECRET = "wrong-secret-value" }))
      assert.are.equal("Bearer test-token", last_authorization())
      -- A wrong file is not rescued by good credentials in the environment.
      local wrong = write_file("wrong.env", "GONG_ACCESS_KEY=test-key\nGONG_ACCESS_KEY_SECRET=wrong-secret-value\n")
      local err = failed({ "folders", "--credentials", wrong }, { GONG_BASE_URL = srv.url, GONG_TOKEN = creds.token })
      assert.truthy(err:find("HTTP 401", 1, true), err)
    end)

    it("takes GONG_BASE_URL from the file over the environment, and --base-url over both", function()
      local path = write_file("url.env", "GONG_TOKEN=test-token\nGONG_BASE_URL=" .. srv.url .. "\n")
      ok({ "folders", "--credentials", path }, { GONG_BASE_URL = "http://127.0.0.1:1" })
      path = write_file("bad-url.env", "GONG_TOKEN=test-token\nGONG_BASE_URL=http://127.0.0.1:1\n")
      ok({ "folders", "--credentials", path, "--base-url", srv.url }, {})
      local err = failed({ "folders", "--credentials", path }, { GONG_BASE_URL = srv.url })
      assert.truthy(err:find("127.0.0.1 port 1", 1, true), err)
    end)

    for _, mode in ipairs({ "640", "604", "660", "620", "601", "644" }) do
      it("refuses a file with mode " .. mode .. ", naming it and the fix, before any request", function()
        local path = write_file("mode" .. mode .. ".env", BASIC, mode)
        local err = misconfigured({ "folders", "--credentials", path }, { GONG_BASE_URL = srv.url })
        assert.truthy(err:find("credentials file " .. path .. " is accessible by group or others", 1, true), err)
        assert.truthy(err:find("chmod 600 " .. path .. "\n", 1, true), err)
      end)
    end

    it("refuses a file that belongs to another user, before any request", function()
      local path = write_file("foreign.env", BASIC)
      if process.capture("id -u") == "0\n" then
        os.execute("chown 65534 " .. process.quote(path))
      else
        path = "/etc/hostname" -- root's; its contents never matter
      end
      local err = misconfigured({ "folders", "--credentials", path }, { GONG_BASE_URL = srv.url })
      assert.truthy(err:find("credentials file " .. path .. " belongs to another user (uid ", 1, true), err)
    end)

    it("quotes the file name in the suggested chmod when the shell needs it", function()
      local path = write_file("it's mine.env", BASIC, "644")
      local err = misconfigured({ "folders", "--credentials", path }, { GONG_BASE_URL = srv.url })
      assert.truthy(err:find("chmod 600 '" .. scratch .. "/it'\\''s mine.env'\n", 1, true), err)
    end)

    it("judges the file a symlink points to, not the link", function()
      local private = write_file("target.env", BASIC)
      local link = scratch .. "/link.env"
      os.execute("ln -s " .. process.quote(private) .. " " .. process.quote(link))
      ok({ "folders", "--credentials", link }, { GONG_BASE_URL = srv.url })
      os.execute("chmod 644 " .. process.quote(private))
      srv:reset()
      local err = misconfigured({ "folders", "--credentials", link }, { GONG_BASE_URL = srv.url })
      assert.truthy(err:find("is accessible by group or others", 1, true), err)
    end)

    it("refuses naming the file when it is missing or not a regular file", function()
      local missing = scratch .. "/missing.env"
      local err = misconfigured({ "folders", "--credentials", missing }, { GONG_BASE_URL = srv.url })
      assert.are.equal("gong-library: cannot read credentials file " .. missing .. ": No such file or directory\n", err)
      err = misconfigured({ "folders", "--credentials", new_dir() }, { GONG_BASE_URL = srv.url })
      assert.truthy(err:find("is neither a regular file nor a pipe", 1, true), err)
    end)

    -- Contents that are refused: the message names the file and the line but
    -- never shows what a line holds (the run checks no secret is printed).
    local malformed = {
      { "GONG_TOKEN=test-token\n\nwrong-secret-value\n", "line 3: expected NAME=VALUE" },
      { "# mine\nGONG_SECRET=wrong-secret-value\n", "line 2: unknown name; expected GONG_ACCESS_KEY" },
      { "ABCDEF123456=wrong-secret-value\n", "line 1: unknown name" },
      { "GONG_TOKEN=test-token\nGONG_TOKEN=wrong-secret-value\n", "line 2: GONG_TOKEN is set twice" },
      { "GONG_TOKEN=\n", "line 1: GONG_TOKEN is empty" },
      { "GONG_TOKEN=\"\"\n", "line 1: GONG_TOKEN is empty" },
      { "GONG_ACCESS_KEY=test-key\n", "sets GONG_ACCESS_KEY but not GONG_ACCESS_KEY_SECRET" },
      { "GONG_ACCESS_KEY_SECRET=wrong-secret-value\n", "sets GONG_ACCESS_KEY_SECRET but not GONG_ACCESS_KEY" },
      { "GONG_TOKEN=test-token\n" .. BASIC, "sets both GONG_TOKEN and GONG_ACCESS_KEY" },
      { "# nothing here\n\nGONG_BASE_URL=http://127.0.0.1:1\n", "has no credentials" },
      { "", "has no credentials" },
    }
    for i, case in ipairs(malformed) do
      it("refuses a malformed file with status 2, the line and what is wrong: " .. case[2], function()
        local path = write_file("malformed" .. i .. ".env", case[1])
        local err = misconfigured({ "folders", "--credentials", path }, basic_env())
        assert.truthy(err:find("credentials file " .. path, 1, true), err)
        assert.truthy(err:find(case[2], 1, true), err)
        assert.is_nil(err:find("ABCDEF123456", 1, true), err)
      end)
    end

    it("names the line of the file a refused base URL came from", function()
      local path = write_file("bad-base.env", "GONG_TOKEN=test-token\n# tenant\nGONG_BASE_URL=http://example.com/v2\n")
      local out, err, status = run({ "folders", "--credentials", path }, { GONG_BASE_URL = srv.url })
      assert.are.equal(2, status, err)
      assert.are.equal("", out)
      assert.truthy(err:find("^gong%-library: GONG_BASE_URL on line 3 of credentials file " .. path:gsub("%p", "%%%0")
        .. " uses plain http to a host that is not this machine; use https\n"), err)
    end)

    it("reads $XDG_CONFIG_HOME/gong/credentials when no file is named, with the same checks", function()
      local config = new_dir()
      os.execute("mkdir " .. process.quote(config .. "/gong"))
      local path = process.write_file(config .. "/gong/credentials", "GONG_TOKEN=test-token\n")
      ok({ "folders" }, { GONG_BASE_URL = srv.url, XDG_CONFIG_HOME = config })
      assert.are.equal("Bearer test-token", last_authorization())
      -- A named file, and $GONG_CREDENTIALS_FILE, come first.
      local other = write_file("other.env", BASIC)
      ok({ "folders", "--credentials", other }, { GONG_BASE_URL = srv.url, XDG_CONFIG_HOME = config })
      assert.are.equal("Basic dGVzdC1rZXk6dGVzdC1zZWNyZXQ=", last_authorization())
      ok({ "folders" }, { GONG_BASE_URL = srv.url, XDG_CONFIG_HOME = config, GONG_CREDENTIALS_FILE = other })
      assert.are.equal("Basic dGVzdC1rZXk6dGVzdC1zZWNyZXQ=", last_authorization())
      os.execute("chmod 644 " .. process.quote(path))
      srv:reset()
      local err = misconfigured({ "folders" },
                                { GONG_BASE_URL = srv.url, XDG_CONFIG_HOME = config, GONG_TOKEN = creds.token })
      assert.truthy(err:find("credentials file " .. path .. " is accessible by group or others", 1, true), err)
      -- Without the default file, the environment.
      os.execute("rm " .. process.quote(path))
      ok({ "folders" }, { GONG_BASE_URL = srv.url, XDG_CONFIG_HOME = config, GONG_TOKEN = creds.token })
    end)

    it("takes a file a shell can source (export NAME=VALUE) and one an editor gave a byte order mark", function()
      local path = write_file("sourced.env", "\239\187\191# for gong\r\nexport GONG_TOKEN=test-token\r\n")
      ok({ "folders", "--credentials", path }, { GONG_BASE_URL = srv.url })
      assert.are.equal("Bearer test-token", last_authorization())
    end)

    it("never prints a credential read from the file, even one typed where a folder id goes", function()
      local path = write_file("redact.env", BASIC)
      local err = failed({ "calls", creds.secret, "--credentials", path }, { GONG_BASE_URL = srv.url })
      assert.truthy(err:find("/library/folders/[redacted]/calls", 1, true), err)
    end)
  end)

  describe("export", function()
    -- A library of 10 folders: at the API's 3 requests per second a whole
    -- export takes about 3 seconds, and it still has nesting, duplicate
    -- names and the folder id that needs percent-encoding.
    local small, small_lib

    setup(function()
      small = fake.start({ folders = 10 })
      small_lib = fake.contract_library({ folders = 10 })
    end)

    teardown(function()
      if small then small:stop() end
    end)

    before_each(function()
      small:reset()
    end)

    local function env(extra)
      local e = basic_env({ GONG_BASE_URL = small.url })
      for k, v in pairs(extra or {}) do e[k] = v end
      return e
    end

    -- What the export of a fake library (the small one unless told) must
    -- contain: its tree, with calls.
    local function expected(l)
      l = l or small_lib
      local t = tree.build(l.folders)
      for n in t:walk() do n.calls = l.calls[n.id] or {} end
      return t
    end

    local function total_calls(l)
      l = l or small_lib
      local n = 0
      for _, f in ipairs(l.folders) do n = n + #(l.calls[f.id] or {}) end
      return n
    end

    -- The requests of an export: the folder list, and the calls of each
    -- folder that has some (the contract's empty ones are not asked).
    local function export_requests(l)
      local n = 1
      for _, f in ipairs((l or small_lib).folders) do
        if f.callCount ~= 0 then n = n + 1 end
      end
      return n
    end

    local function a_folder_with_calls()
      for _, f in ipairs(small_lib.folders) do
        if #(small_lib.calls[f.id] or {}) >= 3 and f.id:find("^%d+$") then return f end
      end
      error("the small fake library has no such folder")
    end

    -- Every folder of a decoded JSON export, by id, with its depth.
    local function flatten(roots)
      local by_id, stack = {}, {}
      for i = #roots, 1, -1 do stack[#stack + 1] = { roots[i], 0 } end
      while #stack > 0 do
        local f, depth = stack[#stack][1], stack[#stack][2]
        stack[#stack] = nil
        by_id[f.id] = f
        f.depth = depth
        for i = #f.children, 1, -1 do stack[#stack + 1] = { f.children[i], depth + 1 } end
      end
      return by_id
    end

    it("writes the whole library as nested JSON on stdout, every folder with every call of its own", function()
      local out = ok({ "export" }, env())
      assert.are.equal(exports.json(expected()), out)
      local by_id = flatten(cjson.decode(out))
      local folders, calls = 0, 0
      for _, f in ipairs(small_lib.folders) do
        local got = by_id[f.id]
        assert.truthy(got, f.id)
        folders = folders + 1
        local want = small_lib.calls[f.id] or {}
        assert.are.equal(#want, #got.calls, f.id)
        for i, call in ipairs(want) do assert.are.equal(call.callId, got.calls[i].callId) end
        calls = calls + #got.calls
      end
      assert.are.equal(#small_lib.folders, folders)
      assert.are.equal(total_calls(), calls)
      assert.is_nil(out:find('"duration": %d+%.0[,\n]'), "an integer was printed with a fraction")
      assert.are.equal(export_requests(), #small:requests(), "one request for the folders, one per folder with calls")
    end)

    it("writes one JSON object per line with --format ndjson, each folder followed by its calls", function()
      local out = ok({ "export", "--format", "ndjson" }, env())
      assert.are.equal(exports.ndjson(expected()), out)
      local folders, calls, current, paths = 0, 0, nil, {}
      for _, line in ipairs(lines_of(out)) do
        local r = cjson.decode(line)
        if r.type == "folder" then
          folders = folders + 1
          current = r
          assert.are.equal(#(small_lib.calls[r.id] or {}), r.callCount, r.id)
          paths[r.id] = r.path
          if r.depth == 0 then
            assert.are.equal(r.name, r.path)
          else
            assert.are.equal(paths[r.parentFolderId] .. "/" .. r.name, r.path, "a parent comes before its children")
          end
        else
          assert.are.equal("call", r.type)
          assert.are.equal(current.id, r.folderId)
          calls = calls + 1
        end
      end
      assert.are.equal(#small_lib.folders, folders)
      assert.are.equal(total_calls(), calls)
    end)

    it("only exports one workspace with --workspace", function()
      local ws = small_lib.workspaces[2].id
      local out = ok({ "export", "--workspace", ws, "--format=ndjson" }, env())
      local want = 0
      for _, f in ipairs(small_lib.folders) do
        if f.workspaceId == ws then want = want + 1 end
      end
      assert.truthy(want > 0)
      assert.are.equal(want, select(2, out:gsub('{"type":"folder"', "")))
      assert.are.equal("workspaceId=" .. ws, small:requests()[1].query)
      assert.are.equal("[]\n", ok({ "export", "--workspace", "none", "--allow-empty" }, env()))
      assert.are.equal("", ok({ "export", "--workspace", "none", "--format", "ndjson", "--allow-empty" }, env()))
    end)

    describe("with --details and --transcripts", function()
      -- 15 folders: the smallest fake library with a call in two folders.
      local shared, shared_lib

      setup(function()
        shared = fake.start({ folders = 15 })
        shared_lib = fake.contract_library({ folders = 15 })
      end)

      teardown(function()
        if shared then shared:stop() end
      end)

      before_each(function()
        shared:reset()
      end)

      -- The distinct calls, in the order an export meets them.
      local function distinct_calls()
        local ids, seen = {}, {}
        for n in expected(shared_lib):walk() do
          for _, call in ipairs(n.calls) do
            if not seen[call.callId] then
              seen[call.callId] = true
              ids[#ids + 1] = call.callId
            end
          end
        end
        return ids
      end

      it("adds each call's details and transcript, each call asked for once, each phase shown", function()
        local distinct = distinct_calls()
        assert.truthy(#distinct < total_calls(shared_lib), "the library has a call in two folders")
        local dir = new_dir()
        local out, err, status = run({ "export", "--details", "--transcripts", "-o", dir .. "/lib.json" },
                                     env({ GONG_BASE_URL = shared.url, GONG_PROGRESS = "1" }))
        assert.are.equal(0, status, err)
        assert.are.equal("", out)
        local by_id, calls = flatten(cjson.decode(slurp(dir .. "/lib.json"))), 0
        for _, f in ipairs(shared_lib.folders) do
          for _, call in ipairs(by_id[f.id].calls) do
            calls = calls + 1
            local want = shared_lib.details[call.callId]
            assert.are.same(want.metaData, call.details.metaData)
            assert.are.same(want.parties, call.details.parties)
            assert.are.same(shared_lib.transcripts[call.callId], call.transcript, call.callId)
          end
        end
        assert.are.equal(total_calls(shared_lib), calls)
        -- Both Calls API phases ask for the distinct calls, 100 a request.
        local asked = { ["/calls/extensive"] = {}, ["/calls/transcript"] = {} }
        for _, req in ipairs(shared:requests()) do
          local list = asked[req.path]
          for _, id in ipairs(list and cjson.decode(req.body).filter.callIds or {}) do list[#list + 1] = id end
        end
        assert.are.same(distinct, asked["/calls/extensive"])
        assert.are.same(distinct, asked["/calls/transcript"])
        local requests = export_requests(shared_lib) + 2 * math.ceil(#distinct / 100)
        assert.are.equal(requests, #shared:requests())
        -- The progress line counts each phase in calls; the summary counts every request.
        local n = #distinct
        assert.truthy(err:find("\rdetails: " .. n .. "/" .. n .. " calls"), err)
        assert.truthy(err:find("\rtranscripts: " .. n .. "/" .. n .. " calls"), err)
        assert.are.equal(requests, tonumber(err:match("%((%d+) requests%)\n$")), err)
      end)

      it("writes a transcript record after a call the first time it appears, in NDJSON", function()
        local out = ok({ "export", "--format", "ndjson", "--details", "--transcripts" },
                       env({ GONG_BASE_URL = shared.url }))
        local previous, transcribed, records, again = nil, {}, 0, 0
        for _, line in ipairs(lines_of(out)) do
          local r = cjson.decode(line)
          if r.type == "call" then
            assert.are.same(shared_lib.details[r.callId].metaData, r.details.metaData)
            if transcribed[r.callId] then again = again + 1 end
          elseif r.type == "transcript" then
            records = records + 1
            assert.are.equal("call", previous.type)
            assert.are.equal(previous.callId, r.callId)
            assert.is_nil(transcribed[r.callId], "a transcript written twice: " .. r.callId)
            transcribed[r.callId] = true
            assert.are.same(shared_lib.transcripts[r.callId], r.transcript)
          end
          previous = r
        end
        local want, distinct = 0, distinct_calls()
        for _, id in ipairs(distinct) do
          if shared_lib.transcripts[id] then want = want + 1 end
        end
        assert.truthy(want > 0 and want < #distinct, "some calls have no transcript")
        assert.are.equal(want, records)
        assert.truthy(again > 0, "no call with a transcript was met twice")
      end)

      -- What client:library() gives in this process, rendered whole as the export used to be.
      local function in_memory(render)
        local c = require("gong").new({ base_url = shared.url, token = creds.token, rate = false })
        local t, errors = c:library({ details = true, transcripts = true })
        c:close()
        return render(t), errors
      end

      it("writes as it goes, the details and transcripts spooled beside FILE: the same bytes, no file left", function()
        for format, render in pairs({ json = exports.json, ndjson = exports.ndjson }) do
          local want = in_memory(render)
          local dir = new_dir()
          ok({ "export", "--format", format, "--details", "--transcripts", "-o", dir .. "/lib." .. format },
             env({ GONG_BASE_URL = shared.url }))
          assert.are.equal(want, slurp(dir .. "/lib." .. format), format)
          assert.are.same({ "lib." .. format }, listing(dir), "the spool is gone")
        end
      end)

      it("spools in $TMPDIR for stdout, and leaves nothing there", function()
        local tmp = new_dir()
        local out = ok({ "export", "--details", "--transcripts" }, env({ GONG_BASE_URL = shared.url, TMPDIR = tmp }))
        assert.are.equal(in_memory(exports.json), out)
        assert.are.same({}, listing(tmp))
      end)

      it("leaves a failed phase out whole, as before, and the spool gone", function()
        shared:faults({ { path = "/calls/transcript", status = 400, times = -1 } })
        local want, errors = in_memory(exports.ndjson)
        assert.are.equal("transcripts", errors[1].phase)
        assert.is_nil(want:find('"type":"transcript"', 1, true))
        local dir = new_dir()
        local out, err, status = run({ "export", "--format", "ndjson", "--details", "--transcripts", "-o",
                                       dir .. "/lib.ndjson" }, env({ GONG_BASE_URL = shared.url }))
        assert.are.equal(1, status, err)
        assert.are.equal("", out)
        assert.truthy(err:find("calls' transcripts: ", 1, true), err)
        assert.are.equal(want, slurp(dir .. "/lib.ndjson"))
        assert.are.same({ "lib.ndjson" }, listing(dir))
      end)

      it("removes the spool when the export fails before writing", function()
        shared:faults({ { path = "/calls/transcript", status = 400, times = -1 } })
        local dir = new_dir()
        failed({ "export", "--strict", "--details", "--transcripts", "-o", dir .. "/lib.json" },
               env({ GONG_BASE_URL = shared.url }))
        assert.are.same({}, listing(dir))
      end)
    end)

    it("writes FILE with -o only once complete, replacing what was there and leaving no temporary file", function()
      local dir = new_dir()
      local path = write_file(dir:match("[^/]+$") .. "/lib.json", "old\n", "644")
      assert.are.equal("", ok({ "export", "-o", path }, env()))
      assert.are.equal(exports.json(expected()), slurp(path))
      assert.are.same({ "lib.json" }, listing(dir))
    end)

    it("leaves an existing FILE as it was, and no temporary file, when the export fails", function()
      local dir = new_dir()
      local path = write_file(dir:match("[^/]+$") .. "/lib.json", "old\n")
      local err = failed({ "export", "-o", path }, env({ GONG_ACCESS_KEY_SECRET = "wrong-secret-value" }))
      assert.truthy(err:find("HTTP 401", 1, true), err)
      assert.are.equal("old\n", slurp(path))
      assert.are.same({ "lib.json" }, listing(dir))
      failed({ "export", "-o", dir .. "/new.json" }, env({ GONG_ACCESS_KEY_SECRET = "wrong-secret-value" }))
      assert.are.same({ "lib.json" }, listing(dir), "no FILE is created by a failed export")
    end)

    it("finds no folder: writes nothing, FILE as it was, exit 1, unless --allow-empty", function()
      local dir = new_dir()
      local path = write_file(dir:match("[^/]+$") .. "/lib.json", "a good export\n", "644")
      local out, err, status = run({ "export", "-o", path, "--workspace", "no-such-workspace" }, env())
      assert.are.equal(1, status, err)
      assert.are.equal("", out)
      assert.are.equal("gong-library: found no folders in workspace no-such-workspace: nothing was exported; "
        .. path .. " was left as it was; `gong-library workspaces` lists the IDs, and --allow-empty writes an "
        .. "empty export\n", err)
      assert.are.equal("a good export\n", slurp(path))
      assert.are.same({ "lib.json" }, listing(dir))
      -- To stdout, nothing either.
      out, err, status = run({ "export", "--workspace", "no-such-workspace" }, env())
      assert.are.same({ "", 1 }, { out, status }, err)
      -- A tenant's answer with no folder list at all is no answer: a decode error, FILE as it was.
      small:faults({ { path = "/library/folders", status = 200, body = "{}" } })
      err = failed({ "export", "-o", path }, env())
      assert.truthy(err:find("neither 'folders' nor a requestId", 1, true), err)
      assert.are.equal("a good export\n", slurp(path))
      assert.are.equal("", ok({ "export", "-o", path, "--workspace", "no-such-workspace", "--allow-empty" }, env()))
      assert.are.equal("[]\n", slurp(path))
    end)

    it("fails before any request when FILE cannot be written", function()
      local err = failed({ "export", "-o", scratch .. "/no/such/dir/lib.json" }, env())
      assert.truthy(err:find("cannot write " .. scratch .. "/no/such/dir/lib.json: ", 1, true), err)
      assert.truthy(err:find("No such file or directory", 1, true), err)
      assert.are.equal(0, #small:requests())
    end)

    it("fails before any request when FILE is a directory, or not a regular file", function()
      local dir = new_dir()
      local err = failed({ "export", "-o", dir }, env())
      assert.are.equal("gong-library: cannot write " .. dir .. ": it is a directory; -o names the file to write\n", err)
      err = failed({ "export", "-o", "/dev/null" }, env())
      assert.truthy(err:find("cannot write /dev/null: it is a character device, not a regular file", 1, true), err)
      assert.are.equal(0, #small:requests())
      assert.are.same({}, listing(dir))
    end)

    -- ls's view of a file: mode, owner and group (numeric).
    local function mode_of(path)
      return process.capture("ls -ln " .. process.quote(path)):match("^(%S+)%s+%S+%s+(%d+)%s+(%d+)")
    end

    it("keeps an existing FILE's mode, owner and group when it replaces it", function()
      local dir = new_dir()
      local path = write_file(dir:match("[^/]+$") .. "/lib.json", "old\n", "600")
      local is_root = process.capture("id -u") == "0\n"
      if is_root then os.execute("chown 65534:65534 " .. process.quote(path)) end
      local mode, uid, gid = mode_of(path)
      ok({ "export", "-o", path }, env())
      assert.are.equal(exports.json(expected()), slurp(path))
      assert.are.same({ "-rw-------", uid, gid }, { mode_of(path) })
      assert.are.equal("-rw-------", mode)
      if is_root then assert.are.equal("65534", uid) end
      os.execute("chmod 640 " .. process.quote(path))
      ok({ "export", "-o", path, "--format", "ndjson" }, env())
      assert.are.equal("-rw-r-----", (mode_of(path)))
      assert.are.same({ "lib.json" }, listing(dir))
    end)

    it("writes through a symlink to its target, which it replaces, and keeps the link", function()
      local dir = new_dir()
      local target = write_file(dir:match("[^/]+$") .. "/real.json", "old\n", "640")
      os.execute("ln -s real.json " .. process.quote(dir .. "/link.json"))
      ok({ "export", "-o", dir .. "/link.json" }, env())
      assert.are.equal(exports.json(expected()), slurp(target))
      assert.are.equal("real.json", process.capture("readlink " .. process.quote(dir .. "/link.json")):gsub("\n$", ""))
      assert.are.equal("-rw-r-----", (mode_of(target)))
      assert.are.same({ "link.json", "real.json" }, listing(dir))
    end)

    it("creates a symlink's target that does not exist yet, as the shell's > would, and keeps the link", function()
      local dir = new_dir()
      os.execute("mkdir " .. process.quote(dir .. "/sub"))
      os.execute("ln -s sub/new.json " .. process.quote(dir .. "/link.json"))
      ok({ "export", "-o", dir .. "/link.json" }, env())
      assert.are.equal(exports.json(expected()), slurp(dir .. "/sub/new.json"))
      assert.are.equal("sub/new.json\n", process.capture("readlink " .. process.quote(dir .. "/link.json")))
      -- A new file's mode, 0666 less the umask, as the shell gives one (stat -c %a).
      local function mode(path) return process.capture("stat -c %a " .. process.quote(path)) end
      os.execute(": > " .. process.quote(dir .. "/shell.json"))
      assert.are.equal(mode(dir .. "/shell.json"), mode(dir .. "/sub/new.json"))
      os.remove(dir .. "/shell.json")
      assert.are.same({ "link.json", "sub" }, listing(dir))
      assert.are.same({ "new.json" }, listing(dir .. "/sub"))
    end)

    it("says where a symlink leads when its target's directory is missing, and refuses a loop of links", function()
      local dir = new_dir()
      os.execute("ln -s no/such/dir/new.json " .. process.quote(dir .. "/link.json"))
      local err = failed({ "export", "-o", dir .. "/link.json" }, env())
      assert.are.equal("gong-library: cannot write " .. dir .. "/link.json (its links lead to " .. dir
        .. "/no/such/dir/new.json): No such file or directory\n", err)
      os.execute("ln -s a " .. process.quote(dir .. "/b") .. " && ln -s b " .. process.quote(dir .. "/a"))
      err = failed({ "export", "-o", dir .. "/a" }, env())
      assert.are.equal("gong-library: cannot write " .. dir .. "/a: its symbolic links lead round in a loop (or "
        .. "through more than 40 links)\n", err)
      assert.are.equal(0, #small:requests())
      assert.are.same({ "a", "b", "link.json" }, listing(dir))
    end)

    it("still writes the other folders when one folder's calls fail, warns naming it, and exits 1", function()
      local victim = a_folder_with_calls()
      small:faults({ { path = "/library/folders/" .. victim.id .. "/calls", status = 404, times = -1 } })
      local dir = new_dir()
      local out, err, status = run({ "export", "-o", dir .. "/lib.json" }, env())
      assert.are.equal(1, status, err)
      assert.are.equal("", out)
      local path = tree.build(small_lib.folders):get(victim.id).path
      assert.truthy(err:find("^gong%-library: warning: folder " .. path:gsub("%p", "%%%0") .. " %[" .. victim.id
        .. "%]: HTTP 404 on GET /library/folders/" .. victim.id .. "/calls: [^\n]*\n$"), err)
      local written = slurp(dir .. "/lib.json")
      assert.truthy(written, "the export was written")
      local by_id = flatten(cjson.decode(written))
      for _, f in ipairs(small_lib.folders) do
        local got = assert(by_id[f.id], f.id)
        if f.id == victim.id then
          assert.is_nil(got.calls)
          assert.truthy(got.error:find("^HTTP 404 on GET "), got.error)
        else
          assert.are.equal(#(small_lib.calls[f.id] or {}), #got.calls, f.id)
          assert.is_nil(got.error)
        end
      end
      assert.are.same({ "lib.json" }, listing(dir))
    end)

    it("writes nothing with --strict when a folder's calls fail", function()
      local victim = a_folder_with_calls()
      small:faults({ { path = "/library/folders/" .. victim.id .. "/calls", status = 404, times = -1 } })
      local dir = new_dir()
      local err = failed({ "export", "--strict", "-o", dir .. "/lib.json" }, env())
      assert.truthy(err:find("HTTP 404 on GET /library/folders/" .. victim.id .. "/calls", 1, true), err)
      assert.are.same({}, listing(dir))
    end)

    it("shows progress on stderr with GONG_PROGRESS=1, redrawn in place and cleared at the end", function()
      local dir = new_dir()
      local out, err, status = run({ "export", "-o", dir .. "/lib.json" }, env({ GONG_PROGRESS = "1" }))
      assert.are.equal(0, status, err)
      assert.are.equal("", out)
      -- The plan stays too, said over the cleared line once the folder list
      -- is back (cli_plan_spec has its words); without it the frames follow
      -- each other as they were drawn.
      local plans
      err, plans = err:gsub("\r +\rgong%-library: export will make [^\n]*\n", "", 1)
      assert.are.equal(1, plans, err)
      -- The summary is the other line that stays.
      local lines, summary = err:match("^(.*\r)(gong%-library: [^\r]*)$")
      assert.truthy(lines, err)
      local n = #small_lib.folders
      local shape = "^gong%%-library: exported %d folders and %d calls to %s in %%d:%%d%%d:%%d%%d %%(%d requests%%)\n$"
      local where = (dir .. "/lib.json"):gsub("%p", "%%%0")
      assert.matches(shape:format(n, total_calls(), where, export_requests()), summary)
      err = lines
      assert.is_nil(err:find("\n", 1, true), "progress lines are redrawn, never scrolled")
      local frames = {}
      for frame in err:gmatch("\r([^\r]*)") do frames[#frames + 1] = frame end
      assert.are.equal("listing folders...", frames[1])
      assert.truthy(frames[#frames - 1]:find("^ +$"), "the last line drawn is blanked out")
      assert.are.equal("", frames[#frames], "and the cursor is back at the start of the line")
      -- The folders to come, then a frame per folder asked for its calls.
      local asked = export_requests() - 1
      assert.are.equal("0/" .. asked .. " folders, 0 calls", frames[2])
      for i = 1, asked do
        local frame = frames[i + 2]:gsub(" +$", "")
        local rate = tonumber(frame:match(", (%d+%.%d) req/s"))
        assert.is_true(rate == nil or rate <= 3.0, "a rate above Gong's limit of 3/s: " .. frame)
        local done, total, calls = frame:match("^(%d+)/(%d+) folders, (%d+) calls")
        assert.are.equal(i, tonumber(done), frame)
        assert.are.equal(asked, tonumber(total), frame)
        assert.truthy(frame == done .. "/" .. total .. " folders, " .. calls .. " calls"
          or frame:find(", %d+%.%d req/s, ETA %d+:%d%d:%d%d$"), frame)
        if i == asked then assert.are.equal(total_calls(), tonumber(calls)) end
      end
      assert.truthy(err:find(" req/s, ETA ", 1, true), "an export over a second long shows rate and ETA")
      assert.are.equal(asked + 4, #frames)
    end)

    -- script(1) runs the command on a pseudo-terminal; its output is what
    -- the terminal would show (stdout and stderr together).
    local function on_terminal(args, extra)
      local words = { process.lua, "bin/gong-library" }
      for _, a in ipairs(args) do words[#words + 1] = a end
      for i, w in ipairs(words) do words[i] = process.quote(w) end
      local e = env(extra)
      e.GONG_PROGRESS = e.GONG_PROGRESS or ""
      return process.run({ "sh", "-c", 'exec script -qec "$1" /dev/null </dev/null', "sh",
                           table.concat(words, " ") }, e)
    end

    it("shows the plan and progress when stderr is a terminal, and neither with GONG_PROGRESS=0", function()
      local ws = small_lib.workspaces[2].id
      local dir = new_dir()
      local out, err, status = on_terminal({ "export", "--workspace", ws, "-o", dir .. "/a.json" })
      assert.are.equal(0, status, err)
      assert.truthy(out:find("\r1/1 folders, %d+ calls"), out)
      assert.truthy(out:find("\rgong%-library: export will make 2 requests %(1 folder list, 1 folder%), about "), out)
      out, err, status = on_terminal({ "export", "--workspace", ws, "-o", dir .. "/b.json" }, { GONG_PROGRESS = "0" })
      assert.are.equal(0, status, err)
      assert.are.equal("", out)
    end)

    it("fetches --concurrency N folders at once, one at a time with 1", function()
      -- Each folder's calls take 0.3 s to arrive; the folder list does not wait.
      local function starts(concurrency)
        small:reset()
        small:faults({ { path = "/library/folders/", delay = 0.3, times = -1 } })
        ok({ "export", "--concurrency", concurrency, "--format", "ndjson" }, env())
        local times = {}
        for _, r in ipairs(small:requests()) do
          if r.path:find("/calls$") then times[#times + 1] = r.time end
        end
        table.sort(times)
        assert.are.equal(export_requests() - 1, #times)
        local shortest = math.huge
        for i = 2, #times do shortest = math.min(shortest, times[i] - times[i - 1]) end
        return shortest
      end
      assert.truthy(starts("1") >= 0.25, "with 1, each folder starts after the previous one answered")
      assert.truthy(starts("3") < 0.1, "with 3, folders start together (as far as the rate limit allows)")
    end)

    -- Starts the program in the background: returns its pid and a function
    -- that waits for it and returns stdout, stderr and the exit status.
    local function spawn(args, extra)
      local argv = { process.lua, "bin/gong-library" }
      for _, a in ipairs(args) do argv[#argv + 1] = a end
      local e = env(extra)
      e.GONG_PROGRESS = e.GONG_PROGRESS or ""
      return process.spawn(argv, e)
    end

    -- Waits until the export is under way: folder calls requested and the
    -- temporary file there to be cleaned up.
    local function wait_for_export(dir)
      local deadline = socket.gettime() + 10
      while socket.gettime() < deadline do
        local names = listing(dir)
        if #small:requests() >= 3 and names[#names] and names[#names]:find("%.tmp%-%x+$") then return end
        socket.sleep(0.05)
      end
      error("the export did not start")
    end

    it("stops on Ctrl-C with status 130 and 'interrupted', leaving FILE as it was and no temporary file", function()
      small:faults({ { delay = 0.2, times = -1 } })
      local dir = new_dir()
      local path = write_file(dir:match("[^/]+$") .. "/lib.json", "old\n")
      local pid, finish = spawn({ "export", "-o", path }, { GONG_PROGRESS = "0" })
      wait_for_export(dir)
      os.execute("kill -INT " .. pid)
      local out, err, status = finish()
      assert.are.equal(130, status, err)
      assert.are.equal("gong-library: interrupted\n", err)
      assert.are.equal("", out)
      assert.are.equal("old\n", slurp(path))
      assert.are.same({ "lib.json" }, listing(dir))
      assert.truthy(#small:requests() < export_requests(), "the export stopped early")
    end)

    -- What ends an export at once, and its exit status. (core_spec shows a
    -- second Ctrl-C ending a process that is slow to stop after the first.)
    local fatal = {
      { "two Ctrl-C in a row", "kill -INT %d; kill -INT %d 2>/dev/null", 130 },
      { "SIGTERM", "kill -TERM %d", 143 },
      { "SIGHUP", "kill -HUP %d", 129 },
    }
    for _, case in ipairs(fatal) do
      it("leaves no temporary file when " .. case[1] .. " ends it, with status " .. case[3], function()
        small:faults({ { delay = 0.5, times = -1 } })
        local dir = new_dir()
        local path = write_file(dir:match("[^/]+$") .. "/lib.json", "old\n")
        local pid, finish = spawn({ "export", "-o", path }, { GONG_PROGRESS = "0" })
        wait_for_export(dir)
        os.execute(case[2]:format(pid, pid))
        local out, err, status = finish()
        assert.are.equal(case[3], status, err)
        assert.are.equal("", out)
        assert.are.equal("old\n", slurp(path))
        assert.are.same({ "lib.json" }, listing(dir))
      end)
    end

    it("clears the progress line before saying it was interrupted, and creates no FILE", function()
      small:faults({ { delay = 0.2, times = -1 } })
      local dir = new_dir()
      local pid, finish = spawn({ "export", "--format", "ndjson", "-o", dir .. "/lib.ndjson" }, { GONG_PROGRESS = "1" })
      wait_for_export(dir)
      os.execute("kill -INT " .. pid)
      local out, err, status = finish()
      assert.are.equal(130, status, err)
      assert.are.equal("", out)
      assert.truthy(err:find("\r +\rgong%-library: interrupted\n$"), err)
      assert.are.same({}, listing(dir))
    end)
  end)
end)
