-- gong.cli.text: how many columns text takes on a terminal, how it is cut
-- to fit, how a value becomes a cell, and how durations read.

local text = require "gong.cli.text"

describe("gong.cli.text", function()
  describe("width()", function()
    it("counts terminal columns: wide characters two, combining marks none", function()
      assert.are.equal(3, text.width("abc"))
      assert.are.equal(11, text.width("Überprüfung"))
      assert.are.equal(1, text.width("✓"))
      assert.are.equal(4, text.width("日本"))
      assert.are.equal(7, text.width("Wins 🏆"))
      assert.are.equal(1, text.width("e\204\129")) -- e + combining acute
      assert.are.equal(2, text.width("\255a")) -- invalid UTF-8: a column a byte
      assert.are.equal(0, text.width(""))
    end)
  end)

  describe("duration()", function()
    it("formats seconds as h:mm:ss, rounded to the nearest second", function()
      assert.are.equal("0:00:00", text.duration(0))
      assert.are.equal("0:01:00", text.duration(59.5))
      assert.are.equal("0:00:59", text.duration(59.25))
      assert.are.equal("1:02:05", text.duration(3725.4))
      assert.are.equal("10:00:00", text.duration(36000))
      assert.are.equal("100:00:01", text.duration(360001))
    end)

    it("shows - when there is no usable duration", function()
      assert.are.equal("-", text.duration(nil))
      assert.are.equal("-", text.duration("12"))
      assert.are.equal("-", text.duration(0 / 0))
    end)
  end)

  describe("truncate()", function()
    it("cuts to a number of terminal columns, ending in …, and leaves what fits alone", function()
      assert.are.equal("abc", text.truncate("abc", 3))
      assert.are.equal("ab…", text.truncate("abcd", 3))
      assert.are.equal("日…", text.truncate("日本語", 4), "a wide character does not fit in one column")
      assert.are.equal("Über…", text.truncate("Überprüfung", 5))
      assert.are.equal("…", text.truncate("abc", 1))
    end)
  end)

  describe("cell()", function()
    it("shows an absent value as -, and numbers as JSON writes them", function()
      assert.are.equal("-", text.cell(nil))
      assert.are.equal("-", text.cell({}))
      assert.are.equal("12", text.cell(12.0))
      assert.are.equal("3725.4", text.cell(3725.4))
      assert.are.equal("true", text.cell(true))
    end)

    it("turns C0 controls, DEL and C1 controls into spaces and leaves other UTF-8 alone", function()
      assert.are.equal("a b c d e é", text.cell("a\nb\27c\127d\194\155e é"))
    end)
  end)

  describe("rstrip()", function()
    it("removes the spaces a string ends in, and only those", function()
      assert.are.equal("  a b", text.rstrip("  a b   "))
      assert.are.equal("a\t", text.rstrip("a\t "))
      assert.are.equal("", text.rstrip("   "))
    end)
  end)
end)
