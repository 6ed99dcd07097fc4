-- What the README, the LuaLS annotations and the rockspec say agrees with
-- the one place each fact is defined: the options and record fields in the
-- core, the library options in gong.client, the modules in lua/gong.

local core = require "gong.core"
local client = require "gong.client"
local process = require "spec.support.process"

local read = process.read_file

-- The README's table of gong.new options: { [name] = default cell }.
local function readme_options()
  local readme = assert(read("README.md"))
  local section = assert(readme:match("### `gong.new%(%[opts%]%) %-> client`\n(.-)\n\n[^|]"))
  local rows = {}
  for line in section:gmatch("[^\n]+") do
    local names, default = line:match("^| (`[^|]+`) | ([^|]*) |")
    if names then
      local list = {}
      for name in names:gmatch("`([%w_]+)`") do list[#list + 1] = name end
      -- "0.5, 30" gives each name of "`backoff_base`, `backoff_max`" its own value.
      local values = {}
      for v in (default .. ","):gmatch("%s*([^,]-)%s*,") do values[#values + 1] = v end
      for i, name in ipairs(list) do rows[name] = values[i] or values[1] end
    end
  end
  return rows
end

-- The fields of a LuaLS class in a Lua file, in the order written.
local function annotated_fields(path, class)
  local src = assert(read(path))
  local body = assert(src:match("%-%-%-@class " .. class:gsub("%.", "%%.") .. "\n(.-)\n[^%-]"), class)
  local fields = {}
  for name in body:gmatch("%-%-%-@field ([%w_]+)") do fields[#fields + 1] = name end
  return fields
end

local function sorted_keys(t)
  local keys = {}
  for k in pairs(t) do keys[#keys + 1] = k end
  table.sort(keys)
  return keys
end

local function sorted(list)
  local copy = {}
  for i, v in ipairs(list) do copy[i] = v end
  table.sort(copy)
  return copy
end

describe("the documentation", function()
  it("README's option table lists every option of core.options with its default", function()
    local rows = readme_options()
    assert.are.same(sorted_keys(core.options), sorted_keys(rows))
    for name, spec in pairs(core.options) do
      local cell = rows[name]
      if spec.kind == "number" or spec.kind == "rate" then
        local n, unit = cell:match("^([%d%.]+)%s*(%a*)$")
        local value = tonumber(n) * (unit == "MiB" and 1024 * 1024 or 1)
        assert.are.equal(spec.default, value, name)
      elseif spec.kind == "boolean" then
        assert.are.equal("false", cell, name)
      elseif spec.default ~= nil then
        assert.truthy(cell:find(spec.default, 1, true), name .. ": " .. cell)
      end
    end
  end)

  it("gong.Options annotates every option of core.options, numbers with their defaults", function()
    assert.are.same(sorted_keys(core.options), sorted(annotated_fields("lua/gong/init.lua", "gong.Options")))
    local src = assert(read("lua/gong/init.lua"))
    for name, spec in pairs(core.options) do
      if spec.kind == "number" or spec.kind == "rate" then
        local text = assert(src:match("\n%-%-%-@field " .. name .. "%?[^\n]-%(([^)]+)%)"), name)
        local n, unit = text:match("^([%d%.]+)%s*(%a*)$")
        assert.are.equal(spec.default, tonumber(n) * (unit == "MiB" and 1024 * 1024 or 1), name)
      end
    end
    assert.truthy(src:find("---@field base_url? string default $GONG_BASE_URL or " .. core.DEFAULT_BASE_URL, 1, true))
  end)

  it("gong.Folder and gong.Call annotate the contract's fields, in its order", function()
    assert.are.same(core.FOLDER_FIELDS, annotated_fields("lua/gong/init.lua", "gong.Folder"))
    assert.are.same(core.CALL_FIELDS, annotated_fields("lua/gong/init.lua", "gong.Call"))
  end)

  it("gong.LibraryOptions annotates every option library() accepts", function()
    assert.are.same(sorted_keys(client.LIBRARY_OPTIONS),
                    sorted(annotated_fields("lua/gong/client.lua", "gong.LibraryOptions")))
  end)
end)

describe("the rockspec", function()
  it("is named after gong.version and lists every Lua module under lua/gong, each at its path", function()
    local version = require "gong.version"
    local spec = assert(read("gong-" .. version .. "-1.rockspec"), "no rockspec for version " .. version)
    assert.truthy(spec:find('version = "' .. version .. '-1"', 1, true))
    local listed = {}
    for name, path in spec:gmatch('%["(gong[%w_.]*)"%] = "(lua/[^"]+)"') do listed[name] = path end
    local files = {}
    for path in process.capture("find lua/gong -name '*.lua' | sort"):gmatch("[^\n]+") do
      local name = path:gsub("^lua/", ""):gsub("/init%.lua$", ""):gsub("%.lua$", ""):gsub("/", ".")
      files[name] = path
    end
    assert.are.same(files, listed)
  end)
end)
