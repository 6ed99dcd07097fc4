--- gong.transcript: a call's transcript as people read it.
---
--- A transcript is what client:transcripts() returns for a call: the list of
--- monologues Gong sends, each `{ speakerId, topic, sentences = { {start,
--- end, text} } }`, times in milliseconds from the start of the call. The
--- speakers' names come from the call's parties (client:call_details()),
--- matched by speakerId. No network; of gong.core it uses only the error
--- object, which a caller's mistake raises (kind "argument").

local gong_error = require("gong.core").error

local error, floor, format, ipairs, tostring, type =
      error, math.floor, string.format, ipairs, tostring, type
local concat = table.concat

local _M = {}

--- "[mm:ss]" for `ms` milliseconds into a call, "[h:mm:ss]" from one hour on.
---@param ms number
---@return string
function _M.stamp(ms)
  local s = floor((type(ms) == "number" and ms > 0 and ms or 0) / 1000)
  if s >= 3600 then
    return format("[%d:%02d:%02d]", floor(s / 3600), floor(s % 3600 / 60), s % 60)
  end
  return format("[%02d:%02d]", floor(s / 60), s % 60)
end

-- speakerId -> name, from the parties of a call.
local function names_of(parties)
  local names = {}
  for _, party in ipairs(type(parties) == "table" and parties or {}) do
    if type(party) == "table" and party.speakerId ~= nil and type(party.name) == "string" and party.name ~= "" then
      names[tostring(party.speakerId)] = party.name
    end
  end
  return names
end

--- The transcript as text: one line per monologue, in the order sent,
--- `[mm:ss] Name: the monologue's sentences`, stamped with its first
--- sentence's start (`[h:mm:ss]` from one hour on). Names come from
--- `parties` (a call's parties, as call_details returns them) by speakerId,
--- else "Speaker <speakerId>". A monologue without sentences adds nothing, so
--- a transcript without sentences is "". Every line ends in "\n".
---@param transcript table[] the monologues of one call
---@param parties? table[] the call's parties
---@return string
function _M.text(transcript, parties)
  if type(transcript) ~= "table" then
    error(gong_error("argument", "gong.transcript.text: transcript must be a list of monologues, got "
                                 .. type(transcript)), 2)
  end
  local names = names_of(parties)
  local lines = {}
  for _, monologue in ipairs(transcript) do
    local sentences = type(monologue) == "table" and type(monologue.sentences) == "table" and monologue.sentences or {}
    local words = {}
    for _, sentence in ipairs(sentences) do
      if type(sentence) == "table" and type(sentence.text) == "string" then words[#words + 1] = sentence.text end
    end
    if #words > 0 then
      local id = monologue.speakerId ~= nil and tostring(monologue.speakerId) or "?"
      lines[#lines + 1] = _M.stamp(sentences[1].start) .. " " .. (names[id] or "Speaker " .. id) .. ": "
        .. concat(words, " "):gsub("[\r\n]+", " ")
    end
  end
  return #lines > 0 and concat(lines, "\n") .. "\n" or ""
end

return _M
