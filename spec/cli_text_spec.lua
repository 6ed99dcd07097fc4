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

    it("counts every emoji drawn as one two columns wide, in all of Unicode's emoji blocks", function()
      assert.are.equal(11, text.width("🚀 Launches")) -- U+1F680, Transport and Map Symbols
      assert.are.equal(2, text.width("✅")) -- U+2705, Dingbats
      assert.are.equal(2, text.width("⚡")) -- U+26A1, Miscellaneous Symbols
      assert.are.equal(2, text.width("🫠")) -- U+1FAE0, Symbols and Pictographs Extended-A
      assert.are.equal(2, text.width("🥳")) -- U+1F973, Supplemental Symbols and Pictographs
      assert.are.equal(2, text.width("\240\159\171\169"), "U+1FAE9, an emoji newer than the table")
    end)

    it("counts East Asian wide and fullwidth characters two, Hangul vowel jamo none", function()
      assert.are.equal(6, text.width("한국어"))
      assert.are.equal(4, text.width("ＡＢ")) -- fullwidth Latin
      assert.are.equal(2, text.width("\240\160\128\128")) -- U+20000, CJK Extension B
      assert.are.equal(2, text.width("\225\132\128\225\133\161")) -- U+1100 U+1161: one syllable
    end)

    it("counts a symbol of text presentation one, as the C library does, even with an emoji selector", function()
      assert.are.equal(1, text.width("❤"))
      assert.are.equal(1, text.width("❤\239\184\143")) -- + U+FE0F VARIATION SELECTOR-16
      assert.are.equal(1, text.width("©"))
      assert.are.equal(1, text.width("✱"))
    end)

    it("counts format characters none, but a soft hyphen and an Arabic number sign one", function()
      assert.are.equal(2, text.width("a\226\128\139b")) -- U+200B ZERO WIDTH SPACE
      assert.are.equal(0, text.width("\239\187\191")) -- U+FEFF, a byte order mark
      assert.are.equal(0, text.width("\226\128\174")) -- U+202E RIGHT-TO-LEFT OVERRIDE
      assert.are.equal(3, text.width("a\194\173b")) -- U+00AD SOFT HYPHEN
      assert.are.equal(1, text.width("\216\128")) -- U+0600 ARABIC NUMBER SIGN
    end)

    it("counts a sequence as its characters: a ZWJ emoji the sum of its emoji, a flag two", function()
      -- Man, ZWJ, woman, ZWJ, girl: wcswidth() counts 6; a terminal that
      -- joins the family draws 2, so the line is shorter, never wider.
      assert.are.equal(6, text.width("👨\226\128\141👩\226\128\141👧"))
      assert.are.equal(2, text.width("🇫🇷")) -- two regional indicators, one flag
      assert.are.equal(4, text.width("👍🏽")) -- a thumb and a skin tone
    end)
  end)

  describe("gong.cli.widths", function()
    local widths = require "gong.cli.widths"

    it("is sorted ranges apart from each other, of 0 or 2 columns, from a named Unicode version", function()
      assert.truthy(widths.unicode:find("^%d+%.%d+%.%d+$"), widths.unicode)
      local r = widths.ranges
      assert.are.equal(0, #r % 3)
      for i = 1, #r, 3 do
        assert.is_true(r[i] <= r[i + 1], ("range %X..%X"):format(r[i], r[i + 1]))
        assert.is_true(r[i + 2] == 0 or r[i + 2] == 2)
        if i > 1 then assert.is_true(r[i] > r[i - 2], ("range %X after %X"):format(r[i], r[i - 2])) end
      end
    end)

    it("is what tools/gen-widths.lua makes of Unicode's data, byte for byte #once", function()
      local ucd = "/usr/share/unicode"
      local f = io.open(ucd .. "/EastAsianWidth.txt")
      if not f then
        pending("Unicode's data is not in " .. ucd .. " (Debian: apt-get install unicode-data)")
        return
      end
      f:close()
      local process = require "spec.support.process"
      local out = os.tmpname()
      local _, err, status = process.run({ process.lua, "tools/gen-widths.lua", ucd, out })
      local made = process.read_file(out)
      os.remove(out)
      assert.are.equal(0, status, err)
      assert.are.equal(process.read_file("lua/gong/cli/widths.lua"), made,
                       "lua/gong/cli/widths.lua is not what the data gives: run make widths")
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

    it("keeps combining marks with their letter and leaves no joiner before the …", function()
      assert.are.equal("ne\204\129…", text.truncate("ne\204\129e\204\129e", 3))
      assert.are.equal("👨…", text.truncate("👨\226\128\141👩 family", 4))
    end)
  end)

  describe("wrap()", function()
    it("breaks a line at spaces into lines of at most a width, cutting a word wider than that", function()
      assert.are.equal("one two\nthree", text.wrap("one two three", 8))
      assert.are.equal("one two three", text.wrap("one two three", 13))
      assert.are.equal("🚀 🚀\n🚀", text.wrap("🚀 🚀 🚀", 6))
      assert.are.equal("a\nabcd…\nb", text.wrap("a abcdefgh b", 5))
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
