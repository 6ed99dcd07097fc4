-- gong-library completion bash|zsh|fish: the scripts, made from gong.cli.args's
-- table, run in the real shells. Bash's completion function is called as
-- bash calls it (COMP_WORDS, COMP_CWORD); fish answers `complete -C LINE`
-- itself; zsh completes only in its line editor, so it runs in a real
-- terminal (tmux) and Tab is typed. Every spec here is #once: the scripts
-- do not depend on the Lua that made them.

local args = require "gong.cli.args"
local process = require "spec.support.process"

local quote = process.quote

-- Whether `program` is on PATH.
local function installed(program)
  return process.capture("command -v " .. program .. " || true") ~= ""
end

-- Runs gong-library with `argv` (no credentials: none is needed).
local function cli(argv)
  local full = { process.lua, "bin/gong-library" }
  for _, a in ipairs(argv) do full[#full + 1] = a end
  return process.run(full)
end

-- The sorted words of a list.
local function sorted(list)
  local copy = {}
  for i, v in ipairs(list) do copy[i] = v end
  table.sort(copy)
  return copy
end

-- The options valid where `command` (nil: none yet) and its `action` (nil:
-- none yet, every action's) are typed, from the table.
local function options_of(command, action)
  local list = {}
  for name, spec in pairs(args.OPTIONS) do
    if not spec.commands or (command and spec.commands[command]
                             and (not action or not spec.actions or spec.actions[action])) then
      list[#list + 1] = name
    end
  end
  return sorted(list)
end

describe("gong-library completion", function()
  local dir, scripts

  setup(function()
    dir = process.tmpdir()
    scripts = {}
    for _, shell in ipairs({ "bash", "zsh", "fish" }) do
      local out, err, status = cli({ "completion", shell })
      assert(status == 0 and err == "", err)
      scripts[shell] = process.write_file(dir .. "/gong-library." .. shell, out, "644")
    end
  end)

  teardown(function()
    if dir then os.execute("rm -rf " .. quote(dir)) end
  end)

  it("prints the script of each shell help names, and refuses another shell by name #once", function()
    assert.are.same({ "bash", "zsh", "fish" }, args.COMMAND.completion.words)
    for _, shell in ipairs(args.COMMAND.completion.words) do
      assert.truthy(process.read_file(scripts[shell]):find("completion for gong-library", 1, true), shell)
    end
    local out, err, status = cli({ "completion", "tcsh" })
    assert.are.equal("", out)
    assert.are.equal(2, status)
    assert.truthy(err:find("no completion for the shell 'tcsh' (bash, zsh, fish)", 1, true), err)
    out, err, status = cli({ "completion" })
    assert.are.equal("", out)
    assert.are.equal(2, status)
    assert.truthy(err:find("missing SHELL (bash, zsh, fish)", 1, true), err)
  end)

  describe("for bash", function()
    -- What the completion function offers for `line` (the word under the
    -- cursor is its last; a trailing space starts a new one), split into
    -- words as bash splits them (at = and : too, COMP_WORDBREAKS).
    local function complete(line)
      local words = {}
      for word in line:gsub("([=:])", " %1 "):gmatch("%S+") do words[#words + 1] = word end
      if line:find("[ =]$") then words[#words + 1] = "" end
      -- "--format=" leaves the cursor on the "=" word itself, as bash does.
      if line:find("=$") then words[#words] = nil end
      local assign = {}
      for i, w in ipairs(words) do assign[i] = quote(w) end
      local script = ("source %s; COMP_WORDS=(%s); COMP_CWORD=%d; _gong_library; printf '%%s\\n' \"${COMPREPLY[@]}\"")
        :format(quote(scripts.bash), table.concat(assign, " "), #words - 1)
      local out = process.capture("cd " .. quote(dir) .. " && bash --norc --noprofile -c " .. quote(script))
      local got = {}
      for word in out:gmatch("[^\n]+") do got[#got + 1] = word end
      return sorted(got)
    end

    it("is valid bash, and registers the function for gong-library #once", function()
      assert.are.equal("0\n", process.capture("bash -n " .. quote(scripts.bash) .. " 2>&1; echo $?"))
      local out = process.capture("bash --norc -c "
        .. quote("source " .. quote(scripts.bash) .. "; complete -p gong-library"))
      assert.are.equal("complete -F _gong_library gong-library\n", out)
    end)

    it("offers the commands, then the words of help, oauth and completion's argument #once", function()
      assert.are.same(sorted(args.COMMANDS), complete("gong-library "))
      assert.are.same({ "transcript", "tree" }, complete("gong-library tr"))
      assert.are.same({ "transcript", "tree" }, complete("gong-library --rate 3 tr"))
      assert.are.same(sorted(args.COMMANDS), complete("gong-library help "))
      assert.are.same(sorted(args.ACTIONS.oauth), complete("gong-library oauth "))
      assert.are.same({ "bash", "fish", "zsh" }, complete("gong-library completion "))
      assert.are.same({}, complete("gong-library help tree "))
      assert.are.same({}, complete("gong-library calls "))
    end)

    it("offers the options of the command typed, and the global ones before a command #once", function()
      assert.are.same(options_of(nil), complete("gong-library -"))
      for _, command in ipairs(args.COMMANDS) do
        assert.are.same(options_of(command), complete("gong-library " .. command .. " -"), command)
      end
      for _, action in ipairs(args.ACTIONS.oauth) do
        assert.are.same(options_of("oauth", action), complete("gong-library oauth " .. action .. " -"), action)
      end
      assert.are.same({ "--code" }, complete("gong-library oauth exchange --co"))
      assert.are.same({}, complete("gong-library oauth status --sc"))
      assert.are.same({ "--format" }, complete("gong-library export --fo"))
      assert.are.same({ "--format" }, complete("gong-library export --f"))
      assert.are.same({ "--folder" }, complete("gong-library transcript --f"))
      assert.are.same({ "--workspace" }, complete("gong-library folders --w"))
      assert.are.same({}, complete("gong-library calls --w"))
    end)

    it("offers an enumerated option's values, after a space or an =, and file names for FILE #once", function()
      assert.are.same({ "json", "ndjson" }, complete("gong-library export --format "))
      assert.are.same({ "ndjson" }, complete("gong-library export --format=nd"))
      assert.are.same({ "json", "ndjson" }, complete("gong-library export --format="))
      assert.are.same({ "auto", "contract", "public" }, complete("gong-library --api "))
      assert.are.same({ "contract" }, complete("gong-library tree --api c"))
      -- The script's directory holds the scripts themselves.
      assert.are.same({ "gong-library.bash", "gong-library.fish", "gong-library.zsh" },
        complete("gong-library export -o gong-library."))
      assert.are.same({ "gong-library.bash" }, complete("gong-library --credentials gong-library.b"))
      -- A value of its own (a number, an ID) has nothing to offer, and is no command.
      assert.are.same({}, complete("gong-library --rate "))
      assert.are.same({ "folders" }, complete("gong-library --base-url https://example.test fo"))
    end)
  end)

  describe("for fish", function()
    -- What fish offers for `line`: the candidates (without descriptions).
    local function complete(line)
      local out = process.capture("cd " .. quote(dir) .. " && fish --no-config -c "
        .. quote("source " .. quote(scripts.fish) .. "; complete -C" .. quote(line)))
      local got = {}
      for word in out:gmatch("([^\t\n]+)[^\n]*\n") do got[#got + 1] = word end
      return sorted(got)
    end

    it("offers commands with what they do, options and values from the same table #once", function()
      if not installed("fish") then return pending("fish is not installed (make test installs it)") end
      assert.are.equal("", process.capture("fish --no-config -n " .. quote(scripts.fish) .. " 2>&1"))
      assert.are.same(sorted(args.COMMANDS), complete("gong-library "))
      local described = process.capture("fish --no-config -c "
        .. quote("source " .. quote(scripts.fish) .. "; complete -C'gong-library '"))
      assert.truthy(described:find("folders\t" .. args.COMMAND.folders.summary, 1, true), described)
      for _, command in ipairs({ "folders", "export", "oauth" }) do
        local expected = {}
        for _, name in ipairs(options_of(command)) do
          if name:sub(1, 2) == "--" then expected[#expected + 1] = name end
        end
        assert.are.same(expected, complete("gong-library " .. command .. " --"), command)
      end
      assert.are.same({ "json", "ndjson" }, complete("gong-library export --format "))
      assert.are.same(sorted(args.ACTIONS.oauth), complete("gong-library oauth "))
      assert.are.same(sorted(args.COMMANDS), complete("gong-library help "))
      assert.are.same({ "gong-library.bash" }, complete("gong-library --credentials gong-library.b"))
    end)
  end)

  describe("for zsh", function()
    it("is valid zsh; in a terminal, Tab lists commands with what they do, options and values #once", function()
      if not installed("zsh") then return pending("zsh is not installed (make test installs it)") end
      assert.are.equal("", process.capture("zsh -n " .. quote(scripts.zsh) .. " 2>&1"))
      local terminal = require "spec.support.terminal"
      process.write_file(dir .. "/.zshrc", "autoload -U compinit && compinit -u -D\nsource "
        .. quote(scripts.zsh) .. "\nPS1='$ '\n", "644")
      local t = terminal.start({ "zsh", "-i" }, { width = 100, height = 30, env = { ZDOTDIR = dir } })
      local ok, err = pcall(function()
        t:wait_for("$")
        t:keys("gong-library ", "Tab")
        t:wait_for("folders     -- " .. args.COMMAND.folders.summary)
        t:keys("C-u", "gong-library export --form", "Tab")
        t:wait_for("$ gong-library export --format")
        t:keys("C-u", "gong-library export --format ", "Tab")
        local lines = t:wait_for("ndjson")
        assert.truthy(table.concat(lines, "\n"):find("json%s+ndjson"), table.concat(lines, "\n"))
        t:keys("C-u", "gong-library oauth ", "Tab")
        t:wait_for("status         -- " .. args.COMMAND.oauth.actions[3].summary)
        t:keys("C-u", "gong-library oauth exc", "Tab")
        t:wait_for("$ gong-library oauth exchange")
      end)
      t:stop()
      assert(ok, err)
    end)
  end)
end)
