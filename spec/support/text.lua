-- Helpers for specs that judge text output: its lines, and that none of them
-- ends in white space.

local M = {}

--- The lines of `s`, each without its "\n" (a last line without one is dropped).
function M.lines_of(s)
  local list = {}
  for line in s:gmatch("([^\n]*)\n") do
    list[#list + 1] = line
  end
  return list
end

--- Fails when any line of `s` ends in a space, tab or CR.
function M.assert_no_trailing_spaces(s)
  for i, line in ipairs(M.lines_of(s)) do
    assert(not line:find("[ \t\r]$"), "line " .. i .. " ends in white space: '" .. line .. "'")
  end
end

return M
