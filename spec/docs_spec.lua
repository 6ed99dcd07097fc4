-- What the README, the LuaLS annotations and the rockspec say agrees with
-- the one place each fact is defined: the options and record fields in the
-- core, the library options in gong.client, the modules in lua/gong.

local core = require "gong.core"
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
  local body = assert(src:match("%-%-%-@class " .. class:gsub("%.", "%%.") .. "[:%s%w.]*\n(.-)\n[^%-]"), class)
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
    assert.are.same(sorted_keys(require("gong.library").OPTIONS),
                    sorted(annotated_fields("lua/gong/library.lua", "gong.LibraryOptions")))
  end)

  it("gong.LibraryPlan annotates every field of the plan library() tells on_plan", function()
    local fake = require "spec.support.fake"
    local srv = fake.start({ folders = 10 })
    local plan
    local ok, err = pcall(function()
      local c = require("gong").new({ base_url = srv.url, token = fake.credentials.token, rate = false })
      -- With the Calls API asked of a library with counts, and reuse, every field is there.
      c:library({ details = true, reuse = {}, on_plan = function(p)
        plan = p
        return false
      end })
      c:close()
    end)
    srv:stop()
    assert(ok, err)
    assert.are.same(sorted_keys(plan), sorted(annotated_fields("lua/gong/library.lua", "gong.LibraryPlan")))
  end)
end)

describe("the annotations", function()
  local function set(list)
    local t = {}
    for _, v in ipairs(list) do t[v] = true end
    return t
  end

  -- The names the code gives an error's fields: error_push's own (kind,
  -- message, errors), the error_set_* and lua_setfield(L, err, ...) calls
  -- of the core, the url of every request's error, and what Lua adds.
  local function error_fields_set()
    local names = { kind = true, message = true, errors = true, url = true }
    for path in process.capture("ls src/*.c"):gmatch("[^\n]+") do
      local src = assert(read(path))
      for name in src:gmatch('error_set_%a+%(L, "([%w_]+)"') do names[name] = true end
      for name in src:gmatch('lua_setfield%(L, err, "([%w_]+)"%)') do names[name] = true end
    end
    for name in assert(read("lua/gong/library.lua")):gmatch("failure%.([%w_]+) =") do names[name] = true end
    return names
  end

  it("gong.Error has every field the code sets on an error, and none it does not", function()
    assert.are.same(sorted_keys(error_fields_set()), sorted(annotated_fields("lua/gong/init.lua", "gong.Error")))
  end)

  it("gong.Error's fields are what real errors carry", function()
    local annotated = set(annotated_fields("lua/gong/init.lua", "gong.Error"))
    local c = core.new({ base_url = "http://127.0.0.1:1", token = "t", rate = false, max_retries = 0 })
    local _, network = c:folders()
    local _, bad_url = pcall(core.new, { base_url = "http://example.com" })
    for _, err in ipairs({ network, bad_url, core.error("http", "x") }) do
      for k in pairs(err) do assert.is_true(annotated[k], "gong.Error lacks " .. k) end
    end
  end)

  it("gong.TreeNode has every field the tree and library() set on a node", function()
    local annotated = set(annotated_fields("lua/gong/tree.lua", "gong.TreeNode"))
    for _, field in ipairs(core.FOLDER_FIELDS) do annotated[field] = true end -- a gong.Folder
    local seen = {}
    for _, path in ipairs({ "lua/gong/tree.lua", "lua/gong/tree_shape.lua", "lua/gong/library.lua" }) do
      for name in assert(read(path)):gmatch("node%.([%w_]+) =") do seen[name] = true end
    end
    for name in pairs(seen) do assert.is_true(annotated[name], "gong.TreeNode lacks " .. name) end
  end)

  it("every public function documents each of its parameters with @param", function()
    for _, path in ipairs({ "lua/gong/init.lua", "lua/gong/client.lua", "lua/gong/tree.lua", "lua/gong/nvim.lua",
                            "lua/gong/resty.lua", "lua/gong/credentials.lua", "lua/gong/json.lua",
                            "lua/gong/wire.lua", "lua/gong/batch.lua", "lua/gong/library.lua", "lua/gong/tasks.lua",
                            "lua/gong/loop.lua", "lua/gong/message.lua", "lua/gong/tree_shape.lua",
                            "lua/gong/resty_window.lua" }) do
      -- Each documented function: the "---" lines right above "function name(params)".
      local comment, checked = {}, 0
      for line in io.lines(path) do
        local name, params = line:match("^function ([%w_.:]+)%(([^)]*)%)")
        if name and #comment > 0 then
          checked = checked + 1
          local text = table.concat(comment, "\n") .. "\n"
          for param in params:gmatch("[%w_]+") do
            assert.truthy(text:find("---@param " .. param .. "%??%s"), ("%s: %s lacks ---@param %s"):format(
              path, name, param))
          end
        end
        if line:find("^%-%-%-") then comment[#comment + 1] = line else comment = {} end
      end
      assert.is_true(checked > 0, path .. ": no documented function found")
    end
  end)

  it("gong.error and gong.is_error say what they return", function()
    local src = assert(read("lua/gong/init.lua"))
    assert.matches("%-%-%-@return gong%.Error\nfunction _M%.error%(", src)
    assert.matches("%-%-%-@return boolean\nfunction _M%.is_error%(", src)
  end)
end)

describe("README's Layout", function()
  it("lists every file of src/ and lua/gong/, each with its concern", function()
    local readme = assert(read("README.md"))
    local layout = assert(readme:match("\n### Layout\n(.*)$"), "README has no Layout section")
    local listed = {}
    for row in layout:gmatch("\n| (`[^\n]-) |[^\n]+ |") do
      local dir
      for name in row:gmatch("`([^`]+)`") do
        if name:find("/", 1, true) then dir = name:match("^(.*/)") else name = dir .. name end
        listed[name] = true
      end
    end
    local missing = {}
    for path in process.capture("ls src/*.c src/*.h; find lua/gong -name '*.lua'"):gmatch("[^\n]+") do
      if not listed[path] then missing[#missing + 1] = path end
    end
    assert.are.same({}, missing)
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

  it("builds the core with the version gong.version says, as the Makefile does", function()
    local version = require "gong.version"
    local spec = assert(read("gong-" .. version .. "-1.rockspec"))
    assert.truthy(spec:find("'GONG_VERSION=\"" .. version .. "\"'", 1, true), "the rockspec's GONG_VERSION define")
    assert.are.equal(version, core._VERSION)
  end)
end)
