-- gong.cli.progress: the status line an export redraws on stderr, driven by
-- a clock the spec sets, so rates and times left are exact.

local progress = require "gong.cli.progress"

describe("gong.cli.progress", function()
  local now, written, line

  -- A stderr that keeps what is written, and a progress line on it.
  local stderr

  before_each(function()
    now, written = 100, {}
    stderr = {
      write = function(self, ...)
        for _, s in ipairs({ ... }) do written[#written + 1] = s end
        return self
      end,
      flush = function(self) return self end,
    }
    line = progress.new(stderr, function() return now end)
  end)

  -- The last frame drawn, without the padding over a longer one.
  local function shown()
    local text = table.concat(written)
    return (text:match("\r([^\r]*)$"):gsub(" +$", ""))
  end

  it("counts folders and their calls, with no rate before a whole window has passed", function()
    line:update(1, 4, { calls = { {}, {} } }, "calls")
    assert.are.equal("1/4 folders, 2 calls", shown())
    now = now + 1
    line:update(2, 4, { calls = { {} } }, "calls")
    assert.are.equal("2/4 folders, 3 calls", shown())
  end)

  it("shows the request rate over the last 2 s and the time left at that pace", function()
    for i = 1, 4 do
      line:update(i, 10, { calls = {} }, "calls")
      now = now + 0.5
    end
    line:update(5, 10, { calls = {} }, "calls")
    -- 2 s after the start: the 4 updates since 100.0 (exclusive) are in the window.
    assert.are.equal("5/10 folders, 0 calls, 2.0 req/s, ETA 0:00:03", shown())
  end)

  it("counts a Calls API phase in calls, its time left from calls per second, not requests", function()
    line:update(3, 3, { calls = {} }, "calls")
    now = now + 10
    line:update(100, 1000, nil, "details")
    assert.are.equal("details: 100/1000 calls", shown(), "a new phase starts its own window")
    now = now + 1
    line:update(200, 1000, nil, "details")
    now = now + 1
    line:update(300, 1000, nil, "details")
    -- 200 calls in the window of 2 s (from 100 to 300) in 2 requests: 1 req/s,
    -- 100 calls/s, so 700 calls are 7 s away (not 700 s).
    assert.are.equal("details: 300/1000 calls, 1.0 req/s, ETA 0:00:07", shown())
  end)

  it("pads over what a longer frame left and clears the line at the end", function()
    line:update(100, 1000, { calls = {} }, "calls")
    line:update(1, 9, nil, "transcripts")
    local text = table.concat(written)
    assert.are.equal("\r100/1000 folders, 0 calls\rtranscripts: 1/9 calls   ", text)
    line:clear()
    assert.are.equal(text .. "\r" .. (" "):rep(22) .. "\r", table.concat(written), "blanked, cursor back at the start")
  end)

  describe("on a terminal of a given width", function()
    local columns

    before_each(function()
      columns = 40
      line = progress.new(stderr, function() return now end, function() return columns end)
    end)

    -- 300 folders in 3 s: the rate and the time left show.
    local function run(folders, calls)
      for i = 1, 3 do
        line:update(i * 100, folders, { calls = { calls } }, "calls")
        now = now + 1
      end
      return shown()
    end

    it("leaves out the rate first, then the calls counted, then the time left, to stay on one row", function()
      assert.are.equal("300/900 folders, 3 calls, ETA 0:00:06", run(900, {}))
      columns = 80
      line:update(400, 900, nil, "calls")
      assert.are.equal("400/900 folders, 3 calls, 1.0 req/s, ETA 0:00:05", shown(), "all of it where it fits")
      columns = 30
      line:update(500, 900, nil, "calls")
      assert.are.equal("500/900 folders, ETA 0:00:03", shown())
      columns = 20
      line:update(600, 900, nil, "calls")
      assert.are.equal("600/900 folders", shown())
    end)

    it("cuts what is left with …, a column short of the edge, and pads only within the width", function()
      run(900, {})
      columns = 12
      line:update(400, 900, nil, "calls")
      assert.are.equal("400/900 fo…", shown())
      assert.are.equal("\r400/900 fo…", written[#written - 2] .. written[#written - 1] .. written[#written],
                       "no padding past the 11 columns left")
    end)

    it("asks the width at each frame, so a resized terminal is fitted", function()
      line:update(1, 1000, { calls = {} }, "calls")
      columns = 10
      line:update(2, 1000, { calls = {} }, "calls")
      assert.are.equal("2/1000 f…", shown())
    end)
  end)
end)
