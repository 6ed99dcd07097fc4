-- What gong-library shows on a terminal fits it: folders, calls --details,
-- tree and the export's progress line, at 80 and 40 columns, run as a real
-- process in a real terminal (tmux) against the fake Gong server. tmux moves
-- its cursor by the C library's wcwidth(), so it is also the outside check
-- of the widths gong.cli.text counts. #once: these start tmux and the CLI
-- (the Makefile runs them under the first Lua only).

local fake = require "spec.support.fake"
local process = require "spec.support.process"
local terminal = require "spec.support.terminal"
local text = require "gong.cli.text"
local socket = require "socket"

local rep = string.rep

describe("gong-library on a terminal #once", function()
  local srv, lib, scratch
  local open = {}

  setup(function()
    -- 40 folders, among them "🚀 Launches", "Wins 🏆" and Japanese names.
    srv = fake.start({ folders = 40 })
    lib = fake.contract_library({ folders = 40 })
    scratch = process.tmpdir()
  end)

  teardown(function()
    if srv then srv:stop() end
    if scratch then os.execute("rm -rf " .. process.quote(scratch)) end
  end)

  after_each(function()
    for _, t in ipairs(open) do t:stop() end
    open = {}
  end)

  local function env()
    return srv:cli_env()
  end

  -- Starts `argv` in a terminal `width` columns wide (and tall enough for
  -- the whole output).
  local function start(width, argv)
    local t = terminal.start(argv, { width = width, height = 60, env = env() })
    open[#open + 1] = t
    return t
  end

  -- Runs gong-library with `args` in a terminal `width` wide; the screen's
  -- lines once it has exited (status 0), after checking that no line of it
  -- wrapped: the terminal's rows are its lines.
  local function shown(width, args)
    local argv = { process.lua, "bin/gong-library" }
    for _, a in ipairs(args) do argv[#argv + 1] = a end
    local t = start(width, argv)
    local lines = t:wait_for("EXIT:")
    assert.are.equal("EXIT:0", lines[#lines], table.concat(lines, "\n"))
    assert.are.same(lines, t:rows(), "a line wrapped")
    lines[#lines] = nil
    return lines
  end

  -- Whether `s` is on the screen as a whole word (not cut).
  local function whole(lines, s)
    for _, line in ipairs(lines) do
      if (" " .. line .. " "):find(" " .. s .. " ", 1, true) then return true end
    end
    return false
  end

  it("moves by as many columns as gong counts for wide, emoji, combining and zero-width text", function()
    -- Each sample is written after 20 - (its width as gong counts it) x's
    -- and before "|", in a terminal 20 wide: where gong and the terminal
    -- agree, "|" wraps to a row of its own. (Not ZWJ sequences: tmux draws
    -- one as a single emoji where wcwidth() counts each; see gong.cli.text.)
    local samples = {
      "🚀 Launches", "✅ done", "⚡ fast", "🫠 melting", "Wins 🏆", "商談の録音", "한국어", "ＡＢ",
      "e\204\129 acute", "a\226\128\139b zwsp", "soft\194\173hyphen", "Odd ✱ folder", "✓ ❤ ©", "🇫🇷 flag",
      "\225\132\128\225\133\161 jamo", "Zürich",
    }
    local script, expected = {}, {}
    for _, s in ipairs(samples) do
      local w = text.width(s)
      assert(w < 20, s)
      script[#script + 1] = rep("x", 20 - w) .. s .. "|"
      expected[#expected + 1] = rep("x", 20 - w) .. s
      expected[#expected + 1] = "|"
    end
    local file = scratch .. "/samples.txt"
    process.write_file(file, table.concat(script, "\n") .. "\n")
    local t = start(20, { "cat", file })
    t:wait_for("EXIT:0")
    local rows = t:rows()
    rows[#rows] = nil
    assert.are.same(expected, rows)
  end)

  for _, width in ipairs({ 80, 40 }) do
    describe(("at %d columns"):format(width), function()
      it("fits folders, keeping every id whole and saying which columns it left out", function()
        local lines = shown(width, { "folders" })
        for _, f in ipairs(lib.folders) do assert.is_true(whole(lines, f.id), f.id) end
        local note = table.concat(lines, " ", #lib.folders + 2)
        assert.truthy(note:find("^%(to fit " .. width .. " columns, .*CREATED"), note)
        assert.is_true(whole(lines, "🚀"), "a wide name is shown")
      end)

      it("fits calls --details, cutting titles and people with …, keeping ids whole", function()
        local folder
        for _, f in ipairs(lib.folders) do
          if #lib.calls[f.id] >= 3 and #lib.calls[f.id] <= 20 then folder = f break end
        end
        local lines = shown(width, { "calls", "--details", folder.id })
        assert.truthy(lines[1]:find("^CALL ID +TITLE"), lines[1])
        for _, c in ipairs(lib.calls[folder.id]) do assert.is_true(whole(lines, c.callId), c.callId) end
        assert.truthy(table.concat(lines, "\n"):find("…", 1, true), "nothing was cut")
        assert.truthy(table.concat(lines, " "):find("URL", 1, true), "the note names URL")
        if width == 80 then
          assert.truthy(lines[1]:find("PRIMARY USER +SPEAKERS"), "the people stay: " .. lines[1])
        end
      end)

      it("fits the tree, cutting names and then the ends of lines", function()
        local lines = shown(width, { "tree" })
        assert.are.equal(#lib.folders + 1, #lines)
        assert.truthy(lines[#lines]:find("^40 folders, %d+ calls$"), lines[#lines])
      end)
    end)
  end

  it("keeps the export's progress line on one row at 80 and at 40 columns, and clears it", function()
    -- Both at once; 10 requests a second make the export last long enough
    -- (41 requests) for the rate and the time left to show.
    local runs = {}
    for _, width in ipairs({ 80, 40 }) do
      local out = scratch .. "/export-" .. width .. ".json"
      runs[#runs + 1] = { width = width, frames = {},
                          t = start(width, { process.lua, "bin/gong-library", "export", "--rate", "10", "-o", out }) }
    end
    local deadline = socket.gettime() + 30
    local pending = #runs
    while pending > 0 do
      assert(socket.gettime() < deadline, "the exports did not end")
      pending = 0
      for _, run in ipairs(runs) do
        if not run.done then
          -- The rows alone: the lines of another capture could show another frame.
          local rows = run.t:rows()
          local progress = {}
          for _, row in ipairs(rows) do
            if row:find("^%d+/%d+ folders") then progress[#progress + 1] = row end
          end
          run.done = rows[#rows] and rows[#rows]:find("^EXIT:") and run.t:lines()
          if run.done then
            assert.are.equal("EXIT:0", rows[#rows])
            assert.are.same({}, progress, "the progress line was not cleared")
          else
            pending = pending + 1
            -- A frame that wrapped leaves its start on a row, and the next
            -- frame goes on the row below, where the first ended.
            assert.is_true(#progress <= 1, "progress lines piled up:\n" .. table.concat(rows, "\n"))
            if progress[1] then
              assert.are.equal(progress[1], rows[#rows], "the progress line wrapped")
              run.frames[#run.frames + 1] = progress[1]
            end
          end
        end
      end
      socket.sleep(0.05)
    end
    local function any(frames, pattern)
      for _, f in ipairs(frames) do
        if f:find(pattern) then return true end
      end
      return false
    end
    assert.is_true(any(runs[1].frames, ", %d+ calls, %d+%.%d req/s, ETA "), "80 columns: every part shows")
    assert.is_true(any(runs[2].frames, ", ETA "), "40 columns: the time left shows")
    assert.is_false(any(runs[2].frames, "req/s"), "40 columns: the rate gives way")
    for _, run in ipairs(runs) do
      assert.truthy(run.done[#run.done - 1]:find("exported", 1, true), table.concat(run.done, "\n"))
    end
  end)
end)
