-- gong.cli.trees: what a folder tree looks like drawn, as nested JSON and
-- as CSV, as exact strings rendered from trees gong.tree builds of hand-made
-- folder lists (no server, no process).

local trees = require "gong.cli.trees"
local tree = require "gong.tree"
local cjson = require("cjson").new()
local text_support = require "spec.support.text"

local lines_of = text_support.lines_of

-- Sales (3) with Discovery (5, with Openers 2) and Objections (1), and Support (1):
-- subtree totals 11 and 7.
local function sample_tree()
  return tree.build({
    { id = "1", name = "Sales", callCount = 3 },
    { id = "2", name = "Discovery", parentFolderId = "1", callCount = 5 },
    { id = "4", name = "Openers", parentFolderId = "2", callCount = 2 },
    { id = "3", name = "Objections", parentFolderId = "1", callCount = 1 },
    { id = "5", name = "Support", callCount = 1 },
  })
end

describe("gong.cli.trees", function()
  describe("text()", function()
    it("draws box-drawing guides, counts per folder, subtree totals on parents, a totals line", function()
      assert.are.equal(
        "Sales  (3 calls, 11 in subtree)  [1]\n" ..
        "├── Discovery  (5 calls, 7 in subtree)  [2]\n" ..
        "│   └── Openers  (2 calls)  [4]\n" ..
        "└── Objections  (1 call)  [3]\n" ..
        "Support  (1 call)  [5]\n" ..
        "5 folders, 12 calls\n",
        trees.text(sample_tree()))
    end)

    it("hangs the children of a last child under blank space, not under a rule", function()
      local t = tree.build({
        { id = "a", name = "A", callCount = 0 },
        { id = "b", name = "B", parentFolderId = "a", callCount = 0 },
        { id = "c", name = "C", parentFolderId = "b", callCount = 1 },
      })
      assert.are.equal(
        "A  (0 calls, 1 in subtree)  [a]\n" ..
        "└── B  (0 calls, 1 in subtree)  [b]\n" ..
        "    └── C  (1 call)  [c]\n" ..
        "3 folders, 1 call\n",
        trees.text(t))
    end)

    it("prints (no folders) for an empty tree", function()
      assert.are.equal("(no folders)\n", trees.text(tree.build({})))
    end)

    it("names a folder without a name (unnamed) and cleans control characters", function()
      local t = tree.build({ { id = "x", callCount = 1 }, { id = "y", name = "a\nb", callCount = 0 } })
      assert.are.equal("(unnamed)  (1 call)  [x]\na b  (0 calls)  [y]\n2 folders, 1 call\n", trees.text(t))
    end)

    it("fits a width: cuts a name with … down to 12 columns, then leaves out the id, then cuts the line", function()
      local t = tree.build({
        { id = "7782391105000000001", name = "🚀 Launches and demos", callCount = 3 },
        { id = "7782391105000000002", name = "Competitive: Acme vs. Globex", parentFolderId = "7782391105000000001",
          callCount = 12 },
        { id = "7782391105000000003", name = "Short", parentFolderId = "7782391105000000002", callCount = 1 },
      })
      assert.are.equal(trees.text(t), trees.text(t, { width = 82 }), "what fits is left alone")
      assert.are.same({
        "🚀 Launches and de…  (3 calls, 16 in subtree)  [7782391105000000001]",
        "└── Competitive: …  (12 calls, 13 in subtree)  [7782391105000000002]",
        "    └── Short  (1 call)  [7782391105000000003]",
        "3 folders, 16 calls",
      }, lines_of(trees.text(t, { width = 68 })))
      assert.are.same({
        "🚀 Launches…  (3 calls, 16 in subtree)",
        "└── Competitive…  (12 calls, 13 in subt…",
        "    └── Short  (1 call)",
        "3 folders, 16 calls",
      }, lines_of(trees.text(t, { width = 40 })))
    end)
  end)

  describe("json()", function()
    it("nests each folder's contract fields, total_calls and children, with no parent back-references", function()
      local t = sample_tree()
      -- The tree's back-references must not leak into the JSON.
      assert.are.equal(t.roots[1], t.roots[1].children[1].parent)
      local s = trees.json(t)
      assert.are.equal(
        '[\n' ..
        '  {\n' ..
        '    "id": "1",\n' ..
        '    "name": "Sales",\n' ..
        '    "callCount": 3,\n' ..
        '    "total_calls": 11,\n' ..
        '    "children": [\n' ..
        '      {\n' ..
        '        "id": "2",\n' ..
        '        "name": "Discovery",\n' ..
        '        "parentFolderId": "1",\n' ..
        '        "callCount": 5,\n' ..
        '        "total_calls": 7,\n' ..
        '        "children": [\n' ..
        '          {\n' ..
        '            "id": "4",\n' ..
        '            "name": "Openers",\n' ..
        '            "parentFolderId": "2",\n' ..
        '            "callCount": 2,\n' ..
        '            "total_calls": 2,\n' ..
        '            "children": []\n' ..
        '          }\n' ..
        '        ]\n' ..
        '      },\n' ..
        '      {\n' ..
        '        "id": "3",\n' ..
        '        "name": "Objections",\n' ..
        '        "parentFolderId": "1",\n' ..
        '        "callCount": 1,\n' ..
        '        "total_calls": 1,\n' ..
        '        "children": []\n' ..
        '      }\n' ..
        '    ]\n' ..
        '  },\n' ..
        '  {\n' ..
        '    "id": "5",\n' ..
        '    "name": "Support",\n' ..
        '    "callCount": 1,\n' ..
        '    "total_calls": 1,\n' ..
        '    "children": []\n' ..
        '  }\n' ..
        ']\n',
        s)
      assert.are.equal("Openers", cjson.decode(s)[1].children[1].children[1].name)
    end)

    it("writes [] for an empty tree", function()
      assert.are.equal("[]\n", trees.json(tree.build({})))
    end)
  end)

  describe("csv()", function()
    it("writes one row per folder, parents first, with the folder columns plus depth and total_calls", function()
      assert.are.equal(
        "id,name,description,parentFolderId,callCount,createdBy,created,updated,depth,total_calls\r\n" ..
        "1,Sales,,,3,,,,0,11\r\n" ..
        "2,Discovery,,1,5,,,,1,7\r\n" ..
        "4,Openers,,2,2,,,,2,2\r\n" ..
        "3,Objections,,1,1,,,,1,1\r\n" ..
        "5,Support,,,1,,,,0,1\r\n",
        trees.csv(sample_tree()))
    end)
  end)

  describe("every renderer on a deep chain", function()
    it("never recurse, so server data deeper than Lua's call stack still renders", function()
      local depth = 200000
      local chain = { { id = "1", name = "n", callCount = 1 } }
      for i = 2, depth do
        chain[i] = { id = tostring(i), name = "n", parentFolderId = tostring(i - 1), callCount = 1 }
      end
      local t = tree.build(chain)
      local s = trees.csv(t)
      assert.are.equal(depth + 1, select(2, s:gsub("\r\n", "")))
      assert.truthy(s:find("\r\n200000,n,,199999,1,,,,199999,1\r\n$"))
    end)
  end)

  describe("every renderer with a depth", function()
    it("leave out deeper folders, saying how many subfolders each folder at the limit has", function()
      assert.are.equal(
        "Sales  (3 calls, 11 in subtree; 2 subfolders not shown)  [1]\n" ..
        "Support  (1 call)  [5]\n" ..
        "5 folders, 12 calls\n",
        trees.text(sample_tree(), { depth = 0 }))
      assert.are.equal(
        "Sales  (3 calls, 11 in subtree)  [1]\n" ..
        "├── Discovery  (5 calls, 7 in subtree; 1 subfolder not shown)  [2]\n" ..
        "└── Objections  (1 call)  [3]\n" ..
        "Support  (1 call)  [5]\n" ..
        "5 folders, 12 calls\n",
        trees.text(sample_tree(), { depth = 1 }))
      assert.are.equal(trees.text(sample_tree()), trees.text(sample_tree(), { depth = 2 }))
      local rows = lines_of(trees.csv(sample_tree(), { depth = 0 }))
      assert.are.same({ "1,Sales,,,3,,,,0,11\r", "5,Support,,,1,,,,0,1\r" }, { rows[2], rows[3] })
      local roots = cjson.decode(trees.json(sample_tree(), { depth = 0 }))
      assert.are.equal(11, roots[1].total_calls)
    end)

    it("say in JSON how many subfolders a folder at the limit hides, never an empty children list", function()
      local roots = cjson.decode(trees.json(sample_tree(), { depth = 0 }))
      assert.is_nil(roots[1].children)
      assert.are.equal(2, roots[1].children_not_shown)
      -- A leaf at the limit hides nothing: its children are the empty list they are.
      assert.are.same({}, roots[2].children)
      assert.is_nil(roots[2].children_not_shown)
      roots = cjson.decode(trees.json(sample_tree(), { depth = 1 }))
      local discovery, objections = roots[1].children[1], roots[1].children[2]
      assert.are.same({ nil, 1 }, { discovery.children, discovery.children_not_shown })
      assert.are.same({ {}, nil }, { objections.children, objections.children_not_shown })
      assert.is_nil(trees.json(sample_tree()):find("children_not_shown", 1, true))
    end)
  end)
end)
