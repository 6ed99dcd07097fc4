-- The version of gong, the one place it is written: gong.core reads it (its
-- _VERSION and the default User-Agent), and the rockspec's name must match
-- it (a spec checks). Pure Lua, so the CLI can tell it even without the core.
return "0.1.0"
