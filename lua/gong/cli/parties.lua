--- gong.cli.parties: the people on a call as gong-library names them, from
--- the parties of its details (client:call_details(), or --details): its
--- speakers and its primary user. A party is named by its name, else its
--- e-mail address.

local json = require "gong.json"

local concat, ipairs, type = table.concat, ipairs, type

local present = json.present

local _M = {}

-- A party as a person reads it: the name, else the e-mail address.
local function party_name(party)
  return type(party) == "table" and (present(party.name) and party.name or present(party.emailAddress)
    and party.emailAddress) or nil
end

-- The list of the call's parties, or nil when its details have none.
local function parties_of(call)
  local parties = type(call.details) == "table" and call.details.parties
  return type(parties) == "table" and parties or nil
end

--- The names of a call's speakers, from its details' parties, joined by ", ".
---@param call table
---@return string|nil
function _M.speakers(call)
  local parties = parties_of(call)
  if not parties or #parties == 0 then return nil end
  local names = {}
  for _, party in ipairs(parties) do names[#names + 1] = party_name(party) end
  return #names > 0 and concat(names, ", ") or nil
end

--- The call's primary user: their name where the details' parties say it,
--- else the call's primaryUserId.
---@param call table
---@return string|nil
function _M.primary_user(call)
  for _, party in ipairs(parties_of(call) or {}) do
    if type(party) == "table" and party.userId ~= nil and party.userId == call.primaryUserId then
      return party_name(party) or call.primaryUserId
    end
  end
  return call.primaryUserId
end

return _M
