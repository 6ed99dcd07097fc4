--- gong.cli.completion: the shells' completion scripts of gong-library
--- (`gong-library completion bash|zsh|fish`), made from gong.cli.args's
--- table of commands and options, so that a command or an option added
--- there completes in every shell with nothing written here.
---
--- Each script finds the command in the words typed so far the way the
--- parser does (the first word that is neither an option nor an option's
--- value), then offers: an option's value (the words of "a|b" values,
--- file names for FILE), the options valid there (the global ones, and the
--- command's own once it is typed, of its action once that is) when the
--- word starts with "-", the
--- commands before one is typed, and the words a command's first argument
--- is one of (help's commands, oauth's actions, completion's shells).

local args = require "gong.cli.args"
local version = require "gong.version"

local concat, error, ipairs, pairs, sort, tostring = table.concat, error, ipairs, pairs, table.sort, tostring

local _M = {}

local PROGRAM = require("gong.cli.report").PROGRAM

-- Raises unless `word` can stand unquoted in every shell's script: the
-- table's names and values are, and one that is not is a mistake there.
local function plain(word)
  if not word:find("^[%w][%w_.-]*$") and not word:find("^%-%-?[%w][%w-]*$") then
    error("gong.cli.completion: '" .. word .. "' is not a plain word", 2)
  end
  return word
end

-- `s` in single quotes for sh, bash and zsh.
local function sh_quote(s)
  return "'" .. s:gsub("'", "'\\''") .. "'"
end

-- `s` in single quotes for fish, where \ and ' are escaped inside them.
local function fish_quote(s)
  return "'" .. s:gsub("[\\']", "\\%0") .. "'"
end

-- The options, sorted by name, each { name, spec, choices, file }.
local function option_rows()
  local rows = {}
  for name, spec in pairs(args.OPTIONS) do
    rows[#rows + 1] = { name = plain(name), spec = spec, choices = args.choices(spec),
                        file = spec.value == "FILE" }
  end
  sort(rows, function(a, b) return a.name < b.name end)
  return rows
end

-- The global options, and each command's own: { [false] = global, [command] = list }.
local function options_by_command(rows)
  local by = { [false] = {} }
  for _, command in ipairs(args.COMMANDS) do by[command] = {} end
  for _, row in ipairs(rows) do
    if row.spec.commands then
      for _, command in ipairs(args.COMMANDS) do
        if row.spec.commands[command] then by[command][#by[command] + 1] = row end
      end
    else
      by[false][#by[false] + 1] = row
    end
  end
  return by
end

-- The rows of `list` valid for `action` (every row when it is nil): an
-- option limited to some actions (`actions`) only for those.
local function for_action(list, action)
  local rows = {}
  for _, row in ipairs(list) do
    if action == nil or not row.spec.actions or row.spec.actions[action] then rows[#rows + 1] = row end
  end
  return rows
end

-- The words a command's first argument is one of, each { name, summary }
-- (summary nil for a plain word), or nil when it has none.
local function first_words(command)
  if command.actions then return command.actions end
  if not command.words then return nil end
  local list = {}
  for i, word in ipairs(command.words) do
    local described = args.COMMAND[word]
    list[i] = { name = plain(word), summary = command.name == "help" and described and described.summary or nil }
  end
  return list
end

-- The names of the options that take a value, as a shell's case pattern.
local function value_pattern(rows)
  local names = {}
  for _, row in ipairs(rows) do
    if row.spec.value then names[#names + 1] = row.name end
  end
  return concat(names, "|")
end

local function names_of(list)
  local names = {}
  for i, item in ipairs(list) do names[i] = plain(item.name) end
  return concat(names, " ")
end

local HEADER = "# %s completion for " .. PROGRAM .. " %s, made by `" .. PROGRAM .. " completion %s`\n"

local function bash()
  local rows = option_rows()
  local by = options_by_command(rows)
  local out = { HEADER:format("bash", version, "bash") }
  local function add(...) for _, s in ipairs({ ... }) do out[#out + 1] = s end end
  add([=[
# The value of option $1 that starts with $2.
_gong_library_value() {
  case $1 in
]=])
  for _, row in ipairs(rows) do
    if row.choices then
      add("    ", row.name, ") COMPREPLY=($(compgen -W ", sh_quote(concat(row.choices, " ")), ' -- "$2"));;\n')
    end
  end
  local files = {}
  for _, row in ipairs(rows) do
    if row.file then files[#files + 1] = row.name end
  end
  add("    ", concat(files, "|"), [=[) compopt -o filenames 2>/dev/null; COMPREPLY=($(compgen -f -- "$2"));;
    *) COMPREPLY=();;
  esac
}

_gong_library() {
  local cur=${COMP_WORDS[COMP_CWORD]} command= first= after=0 option= glued= i word
  # As the parser reads them: the first word that is neither an option nor
  # an option's value is the command. Bash splits words at = and : (its
  # COMP_WORDBREAKS): "--format=x" comes as "--format" "=" "x", and
  # "https://h" as "https" ":" "//h".
  for ((i = 1; i < COMP_CWORD; i++)); do
    word=${COMP_WORDS[i]}
    if [[ -n $glued ]]; then
      glued=
      continue
    elif [[ $word == : ]]; then
      glued=1
      continue
    elif [[ -n $option ]]; then
      [[ $word == = ]] || option=
      continue
    fi
    case $word in
      ]=], value_pattern(rows), [=[) option=$word;;
      -*) ;;
      *) if [[ -z $command ]]; then command=$word; else ((after++ == 0)) && first=$word; fi;;
    esac
  done
  if [[ -n $option ]]; then
    [[ $cur == = ]] && cur=
    _gong_library_value "$option" "$cur"
    return
  fi
  if [[ $cur == --*=* ]]; then
    # = is no word break here: each value goes with its option.
    _gong_library_value "${cur%%=*}" "${cur#*=}"
    COMPREPLY=("${COMPREPLY[@]/#/${cur%%=*}=}")
    return
  fi
  if [[ $cur == -* ]]; then
    local options=]=], sh_quote(names_of(by[false])), "\n", "    case $command in\n")
  for _, command in ipairs(args.COMMAND_LIST) do
    local own = by[command.name]
    if #own > 0 and command.actions then
      -- An option of some actions only: offered once one of them is typed, or before any.
      add("      ", plain(command.name), ") case $first in\n")
      for _, action in ipairs(command.actions) do
        local valid = for_action(own, action.name)
        add("          ", plain(action.name), ") options+=", sh_quote(#valid > 0 and " " .. names_of(valid) or ""),
            ";;\n")
      end
      add("          *) options+=", sh_quote(" " .. names_of(own)), ";;\n        esac;;\n")
    elseif #own > 0 then
      add("      ", plain(command.name), ") options+=", sh_quote(" " .. names_of(own)), ";;\n")
    end
  end
  add([=[
    esac
    COMPREPLY=($(compgen -W "$options" -- "$cur"))
  elif [[ -z $command ]]; then
    COMPREPLY=($(compgen -W ]=], sh_quote(concat(args.COMMANDS, " ")), [=[ -- "$cur"))
  elif ((after == 0)); then
    case $command in
]=])
  for _, command in ipairs(args.COMMAND_LIST) do
    local words = first_words(command)
    if words then
      add("      ", command.name, ") COMPREPLY=($(compgen -W ", sh_quote(names_of(words)), ' -- "$cur"));;\n')
    end
  end
  add([=[
      *) COMPREPLY=();;
    esac
  else
    COMPREPLY=()
  fi
}

complete -F _gong_library ]=], PROGRAM, "\n")
  return concat(out)
end

-- zsh's "name:summary" items, quoted.
local function zsh_items(list)
  local items = {}
  for i, item in ipairs(list) do
    local summary = item.summary or (item.spec and item.spec.summary)
    items[i] = sh_quote(plain(item.name) .. (summary and ":" .. summary or ""))
  end
  return concat(items, " ")
end

local function zsh()
  local rows = option_rows()
  local by = options_by_command(rows)
  local out = { "#compdef ", PROGRAM, "\n", HEADER:format("zsh", version, "zsh") }
  local function add(...) for _, s in ipairs({ ... }) do out[#out + 1] = s end end
  add([=[
# Load it with `source <(gong-library completion zsh)` after compinit, or
# save it as _gong-library in a directory of $fpath.

# The value of option $1.
_gong_library_value() {
  case $1 in
]=])
  for _, row in ipairs(rows) do
    if row.choices then
      add("    ", row.name, ") compadd -- ", concat(row.choices, " "), ";;\n")
    end
  end
  local files = {}
  for _, row in ipairs(rows) do
    if row.file then files[#files + 1] = row.name end
  end
  add("    ", concat(files, "|"), [=[) _files;;
    *) _message -e values "${1#--} value";;
  esac
}

_gong_library() {
  local cur=${words[CURRENT]} command= first= after=0 option= i word
  local -a items
  # As the parser reads them: the first word that is neither an option nor
  # an option's value is the command.
  for ((i = 2; i < CURRENT; i++)); do
    word=${words[i]}
    if [[ -n $option ]]; then
      option=
      continue
    fi
    case $word in
      ]=], value_pattern(rows), [=[) option=$word;;
      -*) ;;
      *) if [[ -z $command ]]; then command=$word; else ((after++ == 0)) && first=$word; fi;;
    esac
  done
  if [[ -n $option ]]; then
    _gong_library_value $option
  elif [[ $cur == --*=* ]]; then
    option=${cur%%=*}
    compset -P '*='
    _gong_library_value $option
  elif [[ $cur == -* ]]; then
    items=(]=], zsh_items(by[false]), ")\n", "    case $command in\n")
  for _, command in ipairs(args.COMMAND_LIST) do
    local own = by[command.name]
    if #own > 0 and command.actions then
      add("      ", command.name, ") case $first in\n")
      for _, action in ipairs(command.actions) do
        add("          ", action.name, ") items+=(", zsh_items(for_action(own, action.name)), ");;\n")
      end
      add("          *) items+=(", zsh_items(own), ");;\n        esac;;\n")
    elseif #own > 0 then
      add("      ", command.name, ") items+=(", zsh_items(own), ");;\n")
    end
  end
  add([=[
    esac
    _describe -t options option items
  elif [[ -z $command ]]; then
    items=(]=], zsh_items(args.COMMAND_LIST), [=[)
    _describe -t commands command items
  elif ((after == 0)); then
    case $command in
]=])
  for _, command in ipairs(args.COMMAND_LIST) do
    local words = first_words(command)
    if words then
      add("      ", command.name, ") items=(", zsh_items(words), "); _describe -t values ", command.name,
          " items;;\n")
    end
  end
  add([=[
    esac
  fi
}

if [[ $funcstack[1] == _gong-library ]]; then
  _gong_library "$@"
else
  compdef _gong_library ]=], PROGRAM, [=[

fi
]=])
  return concat(out)
end

local function fish()
  local rows = option_rows()
  local by = options_by_command(rows)
  local out = { HEADER:format("fish", version, "fish") }
  local function add(...) for _, s in ipairs({ ... }) do out[#out + 1] = s end end
  local values = {}
  for _, row in ipairs(rows) do
    if row.spec.value then values[#values + 1] = fish_quote(row.name) end
  end
  add([=[
# The command typed so far, and the words after it, as the parser reads
# them: the first word that is neither an option nor an option's value.
function __gong_library_words
    set -l words (commandline -opc)
    set -l option 0
    set -l command
    for word in $words[2..-1]
        if test $option = 1
            set option 0
            continue
        end
        switch $word
            case ]=], concat(values, " "), [=[

                set option 1
            case '-*'
            case '*'
                set -a command $word
        end
    end
    if set -q command[1]
        printf '%s\n' $command
    end
end

# True when the command typed is $argv[1] (any command: no argument).
function __gong_library_command
    set -l words (__gong_library_words)
    if test (count $argv) = 0
        test (count $words) -gt 0
    else
        test "$words[1]" = "$argv[1]"
    end
end

# True when the command typed is $argv[1] and its first argument, if typed, $argv[2].
function __gong_library_action
    set -l words (__gong_library_words)
    test "$words[1]" = "$argv[1]"; and begin; test (count $words) = 1; or test "$words[2]" = "$argv[2]"; end
end

# True when the command typed is $argv[1] and it has no argument yet.
function __gong_library_first
    set -l words (__gong_library_words)
    test (count $words) = 1; and test "$words[1]" = "$argv[1]"
end

complete -c gong-library -f
]=])
  for _, command in ipairs(args.COMMAND_LIST) do
    add("complete -c gong-library -n 'not __gong_library_command' -a ", plain(command.name), " -d ",
        fish_quote(command.summary), "\n")
  end
  local function option_line(row, condition)
    local name = row.name
    add("complete -c gong-library")
    if condition then add(" -n ", fish_quote(condition)) end
    add(name:sub(2, 2) == "-" and " -l " .. name:sub(3) or " -s " .. name:sub(2))
    if row.choices then
      add(" -x -a ", fish_quote(concat(row.choices, " ")))
    elseif row.file then
      add(" -r -F")
    elseif row.spec.value then
      add(" -x")
    end
    add(" -d ", fish_quote(row.spec.summary), "\n")
  end
  for _, row in ipairs(by[false]) do option_line(row) end
  for _, command in ipairs(args.COMMANDS) do
    for _, row in ipairs(by[command]) do
      if row.spec.actions then
        for _, action in ipairs(args.ACTIONS[command]) do
          if row.spec.actions[action] then option_line(row, "__gong_library_action " .. command .. " " .. action) end
        end
      else
        option_line(row, "__gong_library_command " .. command)
      end
    end
  end
  for _, command in ipairs(args.COMMAND_LIST) do
    for _, word in ipairs(first_words(command) or {}) do
      add("complete -c gong-library -n ", fish_quote("__gong_library_first " .. command.name), " -a ",
          plain(word.name), word.summary and " -d " .. fish_quote(word.summary) or "", "\n")
    end
  end
  return concat(out)
end

local SCRIPTS = { bash = bash, zsh = zsh, fish = fish }

--- The completion script of `shell`, one of gong.cli.args's
--- COMMAND.completion.words ("bash", "zsh", "fish").
---@param shell string
---@return string
function _M.script(shell)
  local make = SCRIPTS[shell]
  if not make then
    error("gong.cli.completion: no script for the shell '" .. tostring(shell) .. "'", 2)
  end
  return make()
end

return _M
