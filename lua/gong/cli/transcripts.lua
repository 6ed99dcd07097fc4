--- gong.cli.transcripts: what `gong-library transcript` prints, the
--- transcripts of some calls as text to read (gong.transcript lays each out)
--- or as JSON. An item is `{callId, title?, transcript?, parties?, unknown?}`,
--- the transcript and parties as Gong sent them; `unknown` when Gong knows no
--- call by that id (a call it knows may have no transcript yet).

local json = require "gong.json"
local json_records = require "gong.cli.json_records"
local text = require "gong.cli.text"
local transcript = require "gong.transcript"

local concat, ipairs, type = table.concat, ipairs, type

local cell, present = text.cell, json.present

local _M = {}

-- What the JSON says of an id Gong knows no call by.
local UNKNOWN = "no such call"

--- Transcripts as text: for each of `items` a heading `== Title (callId) ==`,
--- then the transcript as gong.transcript.text gives it, "(no transcript)"
--- or "(no such call)". A blank line between calls; "(no calls)" when there
--- are none.
---@param items table[]
---@return string
function _M.text(items)
  local parts = {}
  for i, item in ipairs(items) do
    local heading = "== " .. (present(item.title) and cell(item.title) .. " (" .. cell(item.callId) .. ")"
      or cell(item.callId)) .. " =="
    local body = type(item.transcript) == "table" and transcript.text(item.transcript, item.parties) or ""
    parts[i] = heading .. "\n" .. (body ~= "" and body or item.unknown and "(no such call)\n" or "(no transcript)\n")
  end
  return #parts > 0 and concat(parts, "\n") or "(no calls)\n"
end

-- One item's object: callId, title, and the transcript (absent for a call
-- Gong has none of), the monologues as Gong sent them; `"error"` instead for
-- an id Gong knows no call by.
local function write_item(w, item)
  w:object()
  w:field("callId", item.callId)
  if item.unknown then w:field("error", UNKNOWN) end
  if present(item.title) then w:field("title", item.title) end
  if type(item.transcript) == "table" then
    w:key("transcript")
    w:any(item.transcript)
  end
  w:close_object()
end

--- Transcripts as JSON: an array of {callId, title, transcript} (transcript
--- absent for a call Gong has none of yet), the monologues as Gong sent
--- them; {callId, error = "no such call"} for an id Gong knows no call by.
---@param items table[]
---@return string
function _M.json(items)
  return json_records.array(items, write_item)
end

return _M
