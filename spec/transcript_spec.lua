-- gong.transcript: a call's monologues as lines people read.

local transcript = require "gong.transcript"

local raises_argument = require("spec.support.errors").raises_argument

local PARTIES = {
  { speakerId = "11", name = "Ada Lovelace" },
  { speakerId = "22", emailAddress = "bob@example.com" },
}

local function monologue(speaker, ...)
  local sentences = {}
  for i, s in ipairs({ ... }) do sentences[i] = { start = s[1], ["end"] = s[1] + 1000, text = s[2] } end
  return { speakerId = speaker, topic = "Intro", sentences = sentences }
end

describe("gong.transcript.text()", function()
  it("writes a line per monologue in order, stamped with its first sentence, names from the parties", function()
    local t = {
      monologue("11", { 5000, "Hello." }, { 7000, "Shall we start?" }),
      monologue("22", { 65500, "Yes." }),
      monologue("11", { 600000, "Good." }),
    }
    assert.are.equal("[00:05] Ada Lovelace: Hello. Shall we start?\n"
      .. "[01:05] Speaker 22: Yes.\n"
      .. "[10:00] Ada Lovelace: Good.\n", transcript.text(t, PARTIES))
  end)

  it("names a speaker the parties do not know 'Speaker <speakerId>', and every one without parties", function()
    assert.are.equal("[00:00] Speaker 99: Who am I?\n", transcript.text({ monologue("99", { 0, "Who am I?" }) },
                                                                        PARTIES))
    assert.are.equal("[00:00] Speaker 11: Hi.\n", transcript.text({ monologue("11", { 0, "Hi." }) }))
  end)

  it("stamps [h:mm:ss] from one hour on", function()
    assert.are.equal("[59:59] Ada Lovelace: Almost.\n[1:00:00] Ada Lovelace: There.\n[10:02:03] Ada Lovelace: Late.\n",
      transcript.text({ monologue("11", { 3599999, "Almost." }), monologue("11", { 3600000, "There." }),
                        monologue("11", { 36123000, "Late." }) }, PARTIES))
  end)

  it("gives \"\" for a transcript without sentences, and skips a monologue without any", function()
    assert.are.equal("", transcript.text({}))
    assert.are.equal("", transcript.text({ { speakerId = "11", sentences = {} }, { speakerId = "22" } }, PARTIES))
    assert.are.equal("[00:01] Ada Lovelace: One.\n",
      transcript.text({ { speakerId = "22", sentences = {} }, monologue("11", { 1000, "One." }) }, PARTIES))
  end)

  it("keeps each monologue on one line, and raises gong's argument error for what is not a transcript", function()
    assert.are.equal("[00:00] Ada Lovelace: a b\n", transcript.text({ monologue("11", { 0, "a\nb" }) }, PARTIES))
    raises_argument("gong.transcript.text: transcript must be a list of monologues, got string", transcript.text,
                    "nope")
    raises_argument("gong.transcript.text: transcript must be a list of monologues, got nil", transcript.text, nil)
  end)
end)
