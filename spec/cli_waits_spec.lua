-- gong-library while a request waits: for Gong's rate limit, before a
-- retry, past a long Retry-After. On a terminal it says what it waits for,
-- on one line that is replaced and cleared; on a pipe it says nothing; an
-- export that Gong's rate limit stops says so in one line. The program runs
-- as a real process against the fake Gong server, and under tmux for what a
-- terminal shows.

local process = require "spec.support.process"
local progress = require "gong.cli.progress"

describe("gong.cli.progress.wait_text: what the status line says of a wait", function()
  it("says why a retry waits, how long, and which attempt follows of how many", function()
    assert.are.equal("rate limited by Gong, retrying in 20 s (attempt 2 of 5)",
      progress.wait_text({ reason = "rate_limited", seconds = 20, attempt = 2, attempts = 5, status = 429 }))
    assert.are.equal("Gong answered HTTP 503, retrying in 0.4 s (attempt 3 of 5)",
      progress.wait_text({ reason = "server", seconds = 0.37, attempt = 3, attempts = 5, status = 503 }))
    assert.are.equal("no answer yet (30 s), retrying in 1.2 s (attempt 2 of 3)",
      progress.wait_text({ reason = "timeout", timeout = "stall", elapsed = 30.02, seconds = 1.2, attempt = 2,
                           attempts = 3 }))
    assert.are.equal("no connection yet (10 s), retrying in 0 s (attempt 2 of 5)",
      progress.wait_text({ reason = "timeout", timeout = "connect", elapsed = 10, seconds = 0.01, attempt = 2,
                           attempts = 5 }))
    assert.are.equal("network error, retrying in 2 min (attempt 5 of 5)",
      progress.wait_text({ reason = "network", seconds = 130, attempt = 5, attempts = 5 }))
  end)

  it("says a wait for the rate limit of 2 s or more, and nothing of the shorter ones every request makes", function()
    assert.are.equal("waiting 20 s for the rate limit",
      progress.wait_text({ reason = "rate", seconds = 19.6, attempt = 1, attempts = 5 }))
    assert.are.equal("waiting 2 s for the rate limit",
      progress.wait_text({ reason = "rate", seconds = 2, attempt = 1, attempts = 5 }))
    assert.is_nil(progress.wait_text({ reason = "rate", seconds = 1.05, attempt = 1, attempts = 5 }))
  end)
end)

describe("gong.cli.progress.waiting: the status line a wait is said on", function()
  local report = require "gong.cli.report"

  -- A report on a stderr that keeps what is written, its status line on a clock set by hand.
  local function on_screen()
    local written, t = {}, { now = 0 }
    local stderr = { write = function(_, ...) for _, s in ipairs({ ... }) do written[#written + 1] = s end end,
                     flush = function() end }
    local r = report.new(stderr)
    r.progress = progress.new(stderr, function() return t.now end)
    -- The text of the last frame drawn, its padding dropped.
    local function last()
      local frames = table.concat(written)
      return (frames:match("\r([^\r]*)$"):gsub(" +$", ""))
    end
    return r, t, last
  end

  it("says the retry a 429 waits for again, with its time left, while others wait out the pause", function()
    local r, clock, last = on_screen()
    progress.waiting(r, { reason = "rate_limited", seconds = 20, attempt = 2, attempts = 5, status = 429 })
    assert.are.equal("rate limited by Gong, retrying in 20 s (attempt 2 of 5)", last())
    clock.now = 5
    progress.waiting(r, { reason = "rate", seconds = 15.2, attempt = 1, attempts = 5 })
    assert.are.equal("rate limited by Gong, retrying in 15 s (attempt 2 of 5)", last())
    clock.now = 25
    progress.waiting(r, { reason = "rate", seconds = 3, attempt = 1, attempts = 5 })
    assert.are.equal("waiting 3 s for the rate limit", last())
    r.progress:update(1, 9, nil)
    assert.are.equal("1/9 folders, 0 calls", last(), "the progress line is drawn over it")
  end)

  it("makes the status line when the command has none, which report:say() clears first", function()
    local written = {}
    local stderr = { write = function(_, ...) for _, s in ipairs({ ... }) do written[#written + 1] = s end end,
                     flush = function() end }
    local r = report.new(stderr)
    progress.waiting(r, { reason = "server", seconds = 0.5, attempt = 2, attempts = 5, status = 502 })
    r:say("next\n")
    local said = "Gong answered HTTP 502, retrying in 0.5 s (attempt 2 of 5)"
    assert.are.equal("\r" .. said .. "\r" .. (" "):rep(#said) .. "\rnext\n", table.concat(written))
  end)
end)

describe("gong-library while a request waits #once", function()
  local fake = require "spec.support.fake"
  local srv, scratch

  setup(function()
    srv = fake.start({ folders = 12 })
    scratch = process.tmpdir()
  end)

  teardown(function()
    if srv then srv:stop() end
    if scratch then os.execute("rm -rf " .. process.quote(scratch)) end
  end)

  before_each(function() srv:reset() end)

  local function env(extra)
    return srv:cli_env(extra)
  end

  local function run(args, extra)
    local argv = { process.lua, "bin/gong-library" }
    for _, a in ipairs(args) do argv[#argv + 1] = a end
    return process.run(argv, env(extra))
  end

  -- "HH:MM UTC" `seconds` from now, and a minute earlier (the run may start in the minute before).
  local function times_after(seconds)
    return os.date("!%H:%M UTC", os.time() + seconds), os.date("!%H:%M UTC", os.time() + seconds - 60)
  end

  it("says nothing of a wait on a pipe", function()
    srv:faults({ { path = "/workspaces", status = 429, headers = { ["Retry-After"] = "1" } } })
    local out, err, status = run({ "workspaces" })
    assert.are.equal(0, status, err)
    assert.are.equal("", err)
    assert.truthy(out:find("^ID +NAME"), out)
    assert.are.equal(2, #srv:requests())
  end)

  it("with GONG_PROGRESS=1 says the wait on a line it clears before the output", function()
    srv:faults({ { path = "/workspaces", status = 429, headers = { ["Retry-After"] = "1" } } })
    local _, err, status = run({ "workspaces" }, { GONG_PROGRESS = "1" })
    assert.are.equal(0, status, err)
    local said = "rate limited by Gong, retrying in 1 s (attempt 2 of 5)"
    assert.are.equal("\r" .. said .. "\r" .. (" "):rep(#said) .. "\r", err)
    srv:reset()
    srv:faults({ { path = "/workspaces", status = 503 } })
    _, err, status = run({ "workspaces" }, { GONG_PROGRESS = "1" })
    assert.are.equal(0, status, err)
    assert.matches("^\rGong answered HTTP 503, retrying in [%d.]+ s %(attempt 2 of 5%)\r +\r$", err)
  end)

  it("on a terminal shows the wait while it lasts, then the output with no trace of it", function()
    local terminal = require "spec.support.terminal"
    srv:faults({ { path = "/workspaces", status = 429, headers = { ["Retry-After"] = "2" } } })
    local t = terminal.start({ process.lua, "bin/gong-library", "workspaces" }, { width = 80, env = env() })
    local ok, lines = pcall(function()
      local shown = t:wait_for("rate limited by Gong")
      local final = t:wait_for("EXIT:0")
      return { shown, final }
    end)
    t:stop()
    assert(ok, lines)
    assert.are.equal("rate limited by Gong, retrying in 2 s (attempt 2 of 5)", lines[1][1])
    local final = lines[2]
    assert.truthy(final[1]:find("^ID +NAME"), final[1])
    for _, line in ipairs(final) do assert.is_nil(line:find("retrying", 1, true), line) end
    assert.are.equal("EXIT:0", final[#final])
  end)

  it("--timeout bounds each request whole: no retry after the deadline, one line saying so", function()
    srv:faults({ { delay = 5, times = -1 } })
    local out, err, status = run({ "folders", "--timeout", "1" }, { GONG_PROGRESS = "1" })
    assert.are.equal(1, status, err)
    assert.are.equal("", out)
    assert.are.equal("gong-library: deadline passed on GET /library/folders: no complete response within 1 s; "
      .. "raise --timeout to wait longer\n", err)
    assert.are.equal(1, #srv:requests())
  end)

  it("an export Gong's rate limit stops says so in one line: how many folders, why, when to try again", function()
    srv:faults({ { path = "/library/folders/", status = 429, headers = { ["Retry-After"] = "3600" }, times = -1 } })
    local file = scratch .. "/lib.json"
    local out, err, status = run({ "export", "-o", file })
    assert.are.equal(1, status, err)
    assert.are.equal("", out)
    local asked = 0
    for _, f in ipairs(fake.contract_library({ folders = 12 }).folders) do
      if f.callCount ~= 0 then asked = asked + 1 end
    end
    local at, before = times_after(3600)
    local line = "gong-library: warning: the calls of %d of %d folders were not fetched: Gong asks to wait 60 min: "
      .. "try again after %s\n"
    assert.truthy(err == line:format(asked, asked, at) or err == line:format(asked, asked, before), err)
    -- In the file too, each folder's error says it in the CLI's words.
    local written = assert(process.read_file(file))
    assert.is_nil(written:find("max_retry_wait", 1, true))
    assert.truthy(written:find('"error": "not attempted; Gong asks to wait 60 min: try again after ', 1, true))
    -- With the progress line, the summary counts the folders left without their calls.
    local _
    _, err = run({ "export", "-o", file }, { GONG_PROGRESS = "1" })
    assert.matches("\ngong%-library: exported 12 folders %(" .. asked .. " without their calls%) and 0 calls to ",
                   err)
    assert.is_nil(err:find("max_retry_wait", 1, true), err)
  end)

  it("a single request past a long Retry-After says when to try again, not gong's option name", function()
    srv:faults({ { status = 429, headers = { ["Retry-After"] = "3600" }, times = -1 } })
    local _, err, status = run({ "folders" })
    assert.are.equal(1, status, err)
    local at, before = times_after(3600)
    local line = "^gong%-library: HTTP 429 on GET /library/folders: API rate limit exceeded %(request %x+%); Gong asks "
      .. "to wait 60 min: try again after "
    assert.truthy(err:find(line .. at .. "\n$") or err:find(line .. before .. "\n$"), err)
  end)
end)
