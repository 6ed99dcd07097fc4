-- gong.tree: building a folder tree from the flat list the Library API returns.

local tree = require("gong.tree")

local raises_argument = require("spec.support.errors").raises_argument

-- Independent copy, so "input not mutated" compares against a snapshot that
-- build() could not have touched.
local function deep_copy(value)
  if type(value) ~= "table" then
    return value
  end
  local copy = {}
  for k, v in pairs(value) do
    copy[deep_copy(k)] = deep_copy(v)
  end
  return copy
end

local function ids_of(nodes)
  local ids = {}
  for i = 1, #nodes do
    ids[i] = nodes[i].id
  end
  return ids
end

local function names_of(nodes)
  local names = {}
  for i = 1, #nodes do
    names[i] = nodes[i].name
  end
  return names
end

local function walked(t)
  local seen = {}
  for node, depth in t:walk() do
    seen[#seen + 1] = node.id .. "@" .. depth
  end
  return seen
end

describe("gong.tree.build()", function()
  it("returns an empty tree for an empty list", function()
    local t = tree.build({})
    assert.same({}, t.roots)
    assert.equal(0, t.count)
    assert.same({}, t.orphans)
    assert.same({}, t.cycles)
    assert.same({}, t.duplicates)
    assert.same({}, walked(t))
    assert.is_nil(t:get("1"))
    assert.is_nil(t:find(""))
    assert.equal("gong.tree(0 folders, 0 roots)", tostring(t))
  end)

  it("turns one folder into one root node carrying the folder's fields", function()
    local folder = {
      id = "123",
      name = "Sales",
      description = "all sales calls",
      callCount = 4,
      createdBy = "u1",
      created = "2024-01-02T03:04:05Z",
    }
    local t = tree.build({ folder })
    assert.equal(1, t.count)
    assert.equal(1, #t.roots)
    local node = t.roots[1]
    assert.not_equal(folder, node)
    assert.equal(node, t:get("123"))
    assert.equal("123", node.id)
    assert.equal("Sales", node.name)
    assert.equal("all sales calls", node.description)
    assert.equal(4, node.callCount)
    assert.equal("u1", node.createdBy)
    assert.equal("2024-01-02T03:04:05Z", node.created)
    assert.is_nil(node.parentFolderId)
    assert.is_nil(node.parent)
    assert.same({}, node.children)
    assert.equal(0, node.depth)
    assert.equal(4, node.total_calls)
    assert.equal("Sales", node.path)
    assert.equal("gong.tree.node(Sales, id=123)", tostring(node))
    assert.equal("gong.tree(1 folders, 1 roots)", tostring(t))
  end)

  it("orders siblings by name, then id (as strings), then input position; a missing name sorts as ''", function()
    local t = tree.build({
      { id = "5", name = "b" },
      { id = "9", name = "a" },
      { id = "10", name = "a" }, -- "10" < "9" as strings
      { id = "3" },              -- no name: sorts as ""
      { id = "10", name = "a", description = "second" },
    })
    assert.same({ "3", "10", "10", "9", "5" }, ids_of(t.roots))
    -- the two "a"/"10" folders keep their input order
    assert.is_nil(t.roots[2].description)
    assert.equal("second", t.roots[3].description)
  end)

  it("orders Unicode names by their UTF-8 bytes, not by letter or case", function()
    local t = tree.build({
      { id = "1", name = "Ω" },      -- CE A9
      { id = "2", name = "éclair" }, -- C3 A9
      { id = "3", name = "alpha" },
      { id = "4", name = "Émile" },  -- C3 89
      { id = "5", name = "Zeta" },
      { id = "6", name = "Ängel" },  -- C3 84
    })
    assert.same({ "Zeta", "alpha", "Ängel", "Émile", "éclair", "Ω" }, names_of(t.roots))
  end)

  it("keeps byte order when the collation locale is not C (string '<' would follow the locale)", function()
    -- LuaJIT's "<" always compares bytes, so only PUC Lua needs to ask.
    local must_ask = type(rawget(_G, "jit")) ~= "table"
    local setlocale = os.setlocale
    local queried = false
    -- Pretend a host switched LC_COLLATE; only queries are answered.
    -- The stub is the point of this spec; it is restored below.
    os.setlocale = function(locale, category) -- luacheck: ignore 122
      if locale == nil and category == "collate" then
        queried = true
        return "en_US.UTF-8"
      end
      return setlocale(locale, category)
    end
    -- names differing at every byte position of the first two 4-byte chunks,
    -- in the tail, and by length
    local names = {
      "abcd", "abcD", "abCd", "aBcd", "Abcd", "abcdefgh", "abcdefgH", "abcdeFgh", "abcdefg",
      "abcdef\0", "abcdeé", "abcde", "abc", "b", "B", "é", "a\0b", "ab", "abcdXfgh",
    }
    local folders = {}
    for i = 1, #names do
      folders[i] = { id = tostring(i), name = names[i] }
    end
    local ok, t = pcall(tree.build, folders)
    os.setlocale = setlocale -- luacheck: ignore 122
    assert.is_true(ok, t)
    assert.equal(must_ask, queried)
    assert.same({
      "Abcd", "B", "a\0b", "aBcd", "ab", "abCd", "abc", "abcD", "abcd", "abcdXfgh", "abcde", "abcdeFgh",
      "abcdef\0", "abcdefg", "abcdefgH", "abcdefgh", "abcdeé", "b", "é",
    }, names_of(t.roots))
  end)

  it("keeps byte order under a real non-C collation locale, if one is installed", function()
    local previous = os.setlocale(nil, "collate")
    local chosen
    for _, name in ipairs({ "en_US.UTF-8", "en_US.utf8", "de_DE.UTF-8", "fr_FR.UTF-8" }) do
      chosen = os.setlocale(name, "collate")
      if chosen then
        break
      end
    end
    if not chosen then
      pending("no non-C collation locale installed")
      return
    end
    local ok, t = pcall(tree.build, {
      { id = "1", name = "b" },
      { id = "2", name = "B" },
      { id = "3", name = "é" },
      { id = "4", name = "a" },
    })
    os.setlocale(previous, "collate")
    assert.is_true(ok, t)
    assert.same({ "B", "a", "b", "é" }, names_of(t.roots))
  end)

  it("links nested folders with parent, children and depth", function()
    local t = tree.build({
      { id = "c", name = "Onboarding", parentFolderId = "s" },
      { id = "s", name = "Sales" },
      { id = "g", name = "Week 1", parentFolderId = "c" },
      { id = "d", name = "Demos", parentFolderId = "s" },
    })
    assert.same({ "s" }, ids_of(t.roots))
    local sales, onboarding, week, demos = t:get("s"), t:get("c"), t:get("g"), t:get("d")
    assert.same({ "d", "c" }, ids_of(sales.children))
    assert.equal(sales, onboarding.parent)
    assert.equal(sales, demos.parent)
    assert.equal(onboarding, week.parent)
    assert.equal(0, sales.depth)
    assert.equal(1, onboarding.depth)
    assert.equal(2, week.depth)
    assert.equal("Sales/Onboarding/Week 1", week.path)
    assert.equal("gong.tree.node(Sales/Onboarding/Week 1, id=g)", tostring(week))
    assert.same({}, t.orphans)
  end)

  it("computes path lazily, joining names with '/' (even names containing '/'; a missing name is '')", function()
    local t = tree.build({
      { id = "1", name = "A/B" },
      { id = "2", name = "C", parentFolderId = "1" },
      { id = "3", parentFolderId = "2" },
    })
    local c = t:get("2")
    assert.is_nil(rawget(c, "path"))
    assert.equal("A/B/C", c.path)
    assert.equal("A/B/C", rawget(c, "path"))
    assert.equal("A/B/C/", t:get("3").path)
    -- folder fields named like computed ones do not survive into the node
    local p = tree.build({
      { id = "x", name = "X", path = "/wrong", parent = "bogus", depth = 9, total_calls = 9, children = { 1 } },
    })
    local x = p:get("x")
    assert.equal("X", x.path)
    assert.is_nil(x.parent)
    assert.equal(0, x.depth)
    assert.is_nil(x.total_calls, "its callCount is unknown, so is its total")
    assert.same({}, x.children)
  end)

  it("sums callCount over each subtree into total_calls", function()
    local t = tree.build({
      { id = "r", name = "root", callCount = 1 },
      { id = "a", name = "a", parentFolderId = "r", callCount = 10 },
      { id = "b", name = "b", parentFolderId = "r", callCount = 0 },
      { id = "c", name = "c", parentFolderId = "a", callCount = 100 },
      { id = "d", name = "d", parentFolderId = "b", callCount = 1000 },
    })
    assert.equal(1111, t:get("r").total_calls)
    assert.equal(110, t:get("a").total_calls)
    assert.equal(1000, t:get("b").total_calls)
    assert.equal(100, t:get("c").total_calls)
  end)

  it("leaves total_calls absent where a count under it is unknown (nil or a non-number), never 0", function()
    local t = tree.build({
      { id = "r", name = "root", callCount = 1 },
      { id = "a", name = "a", parentFolderId = "r", callCount = 10 },
      { id = "b", name = "b", parentFolderId = "r" },
      { id = "c", name = "c", parentFolderId = "a", callCount = 100 },
      { id = "d", name = "d", parentFolderId = "b", callCount = 1000 },
      { id = "e", name = "e", parentFolderId = "b", callCount = "7" },
    })
    assert.is_nil(t:get("r").total_calls)
    assert.equal(110, t:get("a").total_calls, "a subtree of known counts still has its total")
    assert.is_nil(t:get("b").total_calls)
    assert.is_nil(t:get("b").callCount)
    assert.equal(1000, t:get("d").total_calls)
    assert.is_nil(t:get("e").total_calls)
  end)

  it("recounts the totals after counts were filled in", function()
    local t = tree.build({
      { id = "r", name = "root", callCount = 1 },
      { id = "b", name = "b", parentFolderId = "r" },
      { id = "d", name = "d", parentFolderId = "b", callCount = 1000 },
    })
    assert.is_nil(t:get("r").total_calls)
    t:get("b").callCount = 5
    t:recount()
    assert.equal(1006, t:get("r").total_calls)
    assert.equal(1005, t:get("b").total_calls)
    assert.equal(1000, t:get("d").total_calls)
  end)

  it("never mutates its input", function()
    local folders = {
      { id = "2", name = "b", parentFolderId = "1", callCount = 2, tags = { "x" } },
      { id = "1", name = "a", callCount = 1 },
      { id = "3", name = "c", parentFolderId = "3" },
      { id = "4", name = "d", parentFolderId = "5" },
      { id = "5", name = "e", parentFolderId = "4" },
      { id = "1", name = "dup" },
      { name = "no id", parentFolderId = "nowhere", path = "kept" },
    }
    local before = deep_copy(folders)
    local t = tree.build(folders)
    for node in t:walk() do
      local _ = node.path
    end
    assert.same(before, folders)
    for i = 1, #folders do
      assert.is_nil(getmetatable(folders[i]))
    end
    assert.equal(7, t.count)
  end)

  it("makes folders whose parent is unknown into roots and lists them in t.orphans, in input order", function()
    local t = tree.build({
      { id = "z", name = "Z", parentFolderId = "gone" },
      { id = "a", name = "A" },
      { id = "b", name = "B", parentFolderId = "also-gone" },
      { id = "c", name = "C", parentFolderId = "b" },
    })
    assert.same({ "z", "b" }, ids_of(t.orphans))
    assert.same({ "a", "b", "z" }, ids_of(t.roots))
    assert.is_nil(t:get("z").parent)
    assert.equal("gone", t:get("z").parentFolderId)
    assert.equal(t:get("b"), t:get("c").parent)
    assert.same({}, t.cycles)
  end)

  it("makes a folder that is its own parent a root and lists it as a cycle", function()
    local t = tree.build({
      { id = "s", name = "Self", parentFolderId = "s", callCount = 3 },
      { id = "k", name = "Kid", parentFolderId = "s", callCount = 2 },
    })
    assert.same({ { "s" } }, t.cycles)
    assert.same({ "s" }, ids_of(t.roots))
    assert.is_nil(t:get("s").parent)
    assert.same({ "k" }, ids_of(t:get("s").children))
    assert.equal(5, t:get("s").total_calls)
    assert.same({}, t.orphans)
  end)

  it("breaks a 2-cycle at the member with the smallest id and lists it from there", function()
    local t = tree.build({
      { id = "q", name = "Q", parentFolderId = "p" },
      { id = "p", name = "P", parentFolderId = "q" },
    })
    assert.same({ { "p", "q" } }, t.cycles)
    assert.same({ "p" }, ids_of(t.roots))
    assert.equal(t:get("p"), t:get("q").parent)
    assert.equal(1, t:get("q").depth)
    assert.equal("P/Q", t:get("q").path)
  end)

  it("breaks a 3-cycle at the smallest id (string order), lists it in parent-chain order, keeps tails", function()
    local t = tree.build({
      { id = "tail", name = "T", parentFolderId = "m" },
      { id = "m", name = "M", parentFolderId = "z" },
      { id = "z", name = "Z", parentFolderId = "a" },
      { id = "a", name = "A", parentFolderId = "m" },
      { id = "10", name = "Ten", parentFolderId = "9" },
      { id = "9", name = "Nine", parentFolderId = "10" },
    })
    -- "a"'s parent is "m", whose parent is "z", whose parent is "a" again;
    -- "10" < "9" as strings, so "10" becomes the root of the second cycle.
    assert.same({ { "a", "m", "z" }, { "10", "9" } }, t.cycles)
    assert.same({ "a", "10" }, ids_of(t.roots))
    assert.equal("A/Z/M/T", t:get("tail").path)
    assert.equal(3, t:get("tail").depth)
    assert.equal("Ten/Nine", t:get("9").path)
    assert.equal(6, t.count)
  end)

  it("keeps folders with a duplicated id as separate nodes, attaches children to the first, lists the rest", function()
    local t = tree.build({
      { id = "x", name = "First" },
      { id = "y", name = "Child", parentFolderId = "x" },
      { id = "x", name = "Second" },
      { id = "x", name = "Third", parentFolderId = "x" },
    })
    assert.equal(4, t.count)
    local first = t:get("x")
    assert.equal("First", first.name)
    assert.same({ "Second", "Third" }, names_of(t.duplicates))
    assert.same({ "Child", "Third" }, names_of(first.children))
    assert.same({ "First", "Second" }, names_of(t.roots))
    assert.same({}, t.cycles)
  end)

  it("treats a NaN id or parent id like a missing one instead of raising", function()
    local nan = 0 / 0
    local t = tree.build({
      { id = nan, name = "Not a number" },
      { id = "c", name = "Child", parentFolderId = nan },
    })
    assert.equal(2, t.count)
    assert.same({ "Child", "Not a number" }, names_of(t.roots))
    assert.same({ "Child" }, names_of(t.orphans))
    assert.is_nil(t:get(nan))
    assert.same({}, t.duplicates)
  end)

  it("returns nil from get() for ids it does not know, of any type", function()
    local t = tree.build({ { id = "1", name = "One" }, { id = 2, name = "Two" } })
    assert.equal("One", t:get("1").name)
    assert.equal("Two", t:get(2).name)
    assert.is_nil(t:get(1))
    assert.is_nil(t:get("2"))
    assert.is_nil(t:get(false))
    assert.is_nil(t:get({}))
  end)

  it("keeps folders without an id as nodes with parents, unreachable by get()", function()
    local t = tree.build({
      { name = "Loose", callCount = 2 },
      { name = "Inside", parentFolderId = "p", callCount = 3 },
      { id = "p", name = "Parent" },
    })
    assert.equal(3, t.count)
    assert.same({ "Loose", "Parent" }, names_of(t.roots))
    local inside = t:get("p").children[1]
    assert.equal("Inside", inside.name)
    assert.equal("Parent/Inside", inside.path)
    assert.is_nil(t:get("p").total_calls, "Parent's own count is unknown")
    assert.equal(3, inside.total_calls)
    assert.is_nil(t:get(nil))
    assert.equal("gong.tree.node(Loose, id=nil)", tostring(t.roots[1]))
    assert.same({}, t.duplicates)
  end)

  it("walks depth-first in pre-order, roots and children in order, yielding each node with its depth", function()
    local t = tree.build({
      { id = "b1", name = "x", parentFolderId = "b" },
      { id = "a", name = "A" },
      { id = "b", name = "B" },
      { id = "a2", name = "2", parentFolderId = "a" },
      { id = "a1", name = "1", parentFolderId = "a" },
      { id = "a11", name = "1", parentFolderId = "a1" },
    })
    assert.same({ "a@0", "a1@1", "a11@2", "a2@1", "b@0", "b1@1" }, walked(t))
    -- each call starts a fresh walk
    assert.same({ "a@0", "a1@1", "a11@2", "a2@1", "b@0", "b1@1" }, walked(t))
  end)

  describe("t:find()", function()
    local t = tree.build({
      { id = "s", name = "Sales" },
      { id = "o", name = "Onboarding", parentFolderId = "s" },
      { id = "ab", name = "A/B", parentFolderId = "s" },
      { id = "a", name = "A", parentFolderId = "s" },
      { id = "b", name = "B", parentFolderId = "a" },
      { id = "c", name = "C", parentFolderId = "ab" },
      { id = "s2", name = "Sales" },
      { id = "x", name = "X", parentFolderId = "s2" },
    })

    it("finds a node by a '/'-joined path", function()
      assert.equal(t:get("o"), t:find("Sales/Onboarding"))
      assert.equal(t:get("s"), t:find("Sales"))
    end)

    it("returns the first match in walk order when names contain '/'", function()
      -- "Sales/A/B" is both Sales > "A/B" and Sales > A > B; "A" sorts first
      assert.equal(t:get("b"), t:find("Sales/A/B"))
    end)

    it("backtracks: a prefix that fits the wrong sibling does not hide the right one", function()
      -- "A" fits the prefix of "A/B/C", but only "A/B" has a child C
      assert.equal(t:get("c"), t:find("Sales/A/B/C"))
      -- the first "Sales" has no X; the second does
      assert.equal(t:get("x"), t:find("Sales/X"))
    end)

    it("accepts an array of names for unambiguous lookup", function()
      assert.equal(t:get("ab"), t:find({ "Sales", "A/B" }))
      assert.equal(t:get("b"), t:find({ "Sales", "A", "B" }))
      assert.equal(t:get("x"), t:find({ "Sales", "X" }))
    end)

    it("returns nil when there is no such path", function()
      assert.is_nil(t:find("Sales/Nope"))
      assert.is_nil(t:find("Sales/"))
      assert.is_nil(t:find("Sales/Onboarding/"))
      assert.is_nil(t:find("Sale"))
      -- a name must be followed by "/" or the end: "A" then "B" is not "AxB"
      assert.is_nil(t:find("Sales/AxB"))
      assert.is_nil(t:find({ "Sales", "A/B", "B" }))
      assert.is_nil(t:find({}))
      assert.is_nil(t:find({ "Nope", "Onboarding" }))
    end)

    it("raises gong's argument error on a path that is neither a string nor an array of strings", function()
      raises_argument("gong.tree:find: path must be a string or an array of names, got number", t.find, t, 42)
      raises_argument("gong.tree:find: path[2] must be a string, got number", t.find, t, { "Sales", 1 })
    end)
  end)

  it("handles a chain of 100,000 nested folders without recursion", function()
    local n = 100000
    local folders = {}
    -- children listed before their parents, so nothing relies on input order
    for i = n, 1, -1 do
      folders[#folders + 1] = {
        id = "f" .. i,
        name = "n" .. i,
        parentFolderId = i > 1 and ("f" .. (i - 1)) or nil,
        callCount = 1,
      }
    end
    local clock = os.clock()
    local t = tree.build(folders)
    local visited, last, last_depth = 0, nil, nil
    for node, depth in t:walk() do
      visited = visited + 1
      last, last_depth = node, depth
    end
    local names = {}
    for i = 1, n do
      names[i] = "n" .. i
    end
    local deepest = t:get("f" .. n)
    local path = deepest.path
    local found = t:find(table.concat(names, "/"))
    local elapsed = os.clock() - clock
    assert.equal(n, t.count)
    assert.equal(1, #t.roots)
    assert.equal(n, visited)
    assert.equal(deepest, last)
    assert.equal(n - 1, last_depth)
    assert.equal(n - 1, deepest.depth)
    assert.equal(n, t.roots[1].total_calls)
    assert.equal(table.concat(names, "/"), path)
    assert.equal(deepest, found)
    assert.equal(deepest, t:find(names))
    -- generous: catches quadratic behaviour, not a slow machine
    assert.is_true(elapsed < 20, "took " .. elapsed .. "s")
  end)

  it("handles a flat list of 100,000 folders", function()
    local n = 100000
    local folders = {}
    for i = 1, n do
      -- 7919 is prime and coprime to n: a scrambled permutation of names
      folders[i] = { id = tostring(i), name = string.format("%06d", (i * 7919) % n), callCount = i % 3 }
    end
    local clock = os.clock()
    local t = tree.build(folders)
    local visited, calls = 0, 0
    for node, depth in t:walk() do
      visited = visited + 1
      calls = calls + node.total_calls
      assert(depth == 0)
    end
    local elapsed = os.clock() - clock
    assert.equal(n, t.count)
    assert.equal(n, #t.roots)
    assert.equal(n, visited)
    assert.equal(100000, calls) -- 33,334 ones and 33,333 twos
    for i = 1, n do
      if t.roots[i].name ~= string.format("%06d", i - 1) then
        error("root " .. i .. " is " .. t.roots[i].name)
      end
    end
    assert.equal(t:get("1"), t:find("007919"))
    assert.is_true(elapsed < 20, "took " .. elapsed .. "s")
  end)

  it("raises gong's argument error, naming the argument, when folders or an item is not a table", function()
    raises_argument("gong.tree.build: folders must be a table, got nil", tree.build, nil)
    raises_argument("gong.tree.build: folders must be a table, got string", tree.build, "x")
    raises_argument("gong.tree.build: folders[2] must be a table, got string", tree.build, { {}, "x" })
    raises_argument("gong.tree.build: folders[3] must be a table, got boolean", tree.build, { {}, {}, false })
  end)
end)

describe("t:visit()", function()
  -- a (b (d, e), c), f
  local function sample()
    return tree.build({
      { id = "a", name = "A" }, { id = "b", name = "B", parentFolderId = "a" },
      { id = "c", name = "C", parentFolderId = "a" }, { id = "d", name = "D", parentFolderId = "b" },
      { id = "e", name = "E", parentFolderId = "b" }, { id = "f", name = "F" },
    })
  end

  local function trace(t, enter_result)
    local seen = {}
    t:visit(function(node, depth, last)
      seen[#seen + 1] = ("+%s@%d%s"):format(node.id, depth, last and " last" or "")
      if enter_result then return enter_result(node) end
    end, function(node, depth, last)
      seen[#seen + 1] = ("-%s@%d%s"):format(node.id, depth, last and " last" or "")
    end)
    return seen
  end

  it("enters each node before its children and leaves it after them, telling depth and the last sibling", function()
    assert.are.same({ "+a@0", "+b@1", "+d@2", "-d@2", "+e@2 last", "-e@2 last", "-b@1", "+c@1 last",
                      "-c@1 last", "-a@0", "+f@0 last", "-f@0 last" }, trace(sample()))
  end)

  it("enters nodes in the order walk() gives them", function()
    local t, entered = sample(), {}
    t:visit(function(node, depth) entered[#entered + 1] = node.id .. "@" .. depth end)
    assert.are.same(walked(t), entered)
  end)

  it("skips a node's children when enter returns false, and still leaves it", function()
    assert.are.same({ "+a@0", "+b@1", "-b@1", "+c@1 last", "-c@1 last", "-a@0", "+f@0 last", "-f@0 last" },
                    trace(sample(), function(node) return node.id ~= "b" end))
  end)

  it("visits nothing in an empty tree, and never recurses on a deep one", function()
    assert.are.same({}, trace(tree.build({})))
    local chain = { { id = "1" } }
    for i = 2, 100000 do chain[i] = { id = tostring(i), parentFolderId = tostring(i - 1) } end
    local depth, left = -1, 0
    tree.build(chain):visit(function(_, d) depth = d end, function() left = left + 1 end)
    assert.are.equal(99999, depth)
    assert.are.equal(100000, left)
  end)
end)
