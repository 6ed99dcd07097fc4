/*
 * The options of gong.core.new. One table gives every option's name, type,
 * default and range: it validates an options table into a client_config,
 * and Lua sees it as core.options, so the documentation and the specs can
 * check themselves against it instead of repeating it.
 */
#include <stddef.h>

/* OPT_LIMIT: a number in range, or none (nil: no limit, read as 0). OPT_FUNCTION: a function, or none. */
typedef enum {
  OPT_STRING, OPT_NUMBER, OPT_BOOLEAN, OPT_RATE, OPT_HEADERS, OPT_CHOICE, OPT_TOKEN, OPT_LIMIT, OPT_FUNCTION
} option_kind;

typedef struct option_spec {
  const char *name;
  option_kind kind;
  size_t offset;              /* of the value in client_config */
  double dflt, min, max;      /* OPT_NUMBER and OPT_RATE; min and max for OPT_LIMIT */
  const char *dflt_text;      /* OPT_STRING: the default, NULL for none */
  const char *const *choices; /* OPT_CHOICE: the values, NULL-terminated; read as an index */
} option_spec;

#define OPTION_AT(field) offsetof(client_config, field)
#define MIB (1024.0 * 1024.0)

/* Sorted by name. A string without a default is absent unless given. */
static const option_spec option_specs[] = {
  {"access_key", OPT_STRING, OPTION_AT(access_key), 0, 0, 0, NULL, NULL},
  {"access_key_secret", OPT_STRING, OPTION_AT(access_key_secret), 0, 0, 0, NULL, NULL},
  {"allow_http", OPT_BOOLEAN, OPTION_AT(allow_http), 0, 0, 0, NULL, NULL},
  {"api", OPT_CHOICE, OPTION_AT(api), 0, 0, 0, NULL, api_names},
  {"backoff_base", OPT_NUMBER, OPTION_AT(backoff_base), 0.5, 0, 3600, NULL, NULL},
  {"backoff_max", OPT_NUMBER, OPTION_AT(backoff_max), 30, 0, 86400, NULL, NULL},
  {"base_url", OPT_STRING, OPTION_AT(base_url), 0, 0, 0, DEFAULT_BASE_URL, NULL},
  {"ca_file", OPT_STRING, OPTION_AT(ca_file), 0, 0, 0, NULL, NULL},
  {"connect_timeout", OPT_NUMBER, OPTION_AT(connect_timeout), 10, 0.001, 86400, NULL, NULL},
  {"deadline", OPT_LIMIT, OPTION_AT(deadline), 0, 0.001, 86400, NULL, NULL},
  {"headers", OPT_HEADERS, OPTION_AT(headers), 0, 0, 0, NULL, NULL},
  {"insecure", OPT_BOOLEAN, OPTION_AT(insecure), 0, 0, 0, NULL, NULL},
  {"max_response_bytes", OPT_NUMBER, OPTION_AT(max_response_bytes), 64 * MIB, 1, 1e15, NULL, NULL},
  {"max_retries", OPT_NUMBER, OPTION_AT(max_retries), 4, 0, 100, NULL, NULL},
  {"max_retry_wait", OPT_NUMBER, OPTION_AT(max_retry_wait), 60, 0, 86400, NULL, NULL},
  {"on_attempt", OPT_FUNCTION, OPTION_AT(on_attempt), 0, 0, 0, NULL, NULL},
  {"on_wait", OPT_FUNCTION, OPTION_AT(on_wait), 0, 0, 0, NULL, NULL},
  {"rate", OPT_RATE, OPTION_AT(rate), 3, 0.001, RATELIMIT_MAX_CAP, NULL, NULL},
  {"rate_scope", OPT_CHOICE, OPTION_AT(rate_scope), 0, 0, 0, NULL, rate_scope_names},
  {"stall_timeout", OPT_NUMBER, OPTION_AT(stall_timeout), 30, 0.001, 86400, NULL, NULL},
  {"timeout", OPT_NUMBER, OPTION_AT(timeout), 60, 0.001, 86400, NULL, NULL},
  {"token", OPT_TOKEN, OPTION_AT(token), 0, 0, 0, NULL, NULL},
  {"user_agent", OPT_STRING, OPTION_AT(user_agent), 0, 0, 0, NULL, NULL},
  {NULL, OPT_STRING, 0, 0, 0, 0, NULL, NULL}};

static const char *const option_kind_names[] = {"string", "number", "boolean", "rate", "headers",
                                                "choice", "token", "limit", "function"};

/* Pushes `v` as an integer where Lua has them and it is one, so 3 prints as 3. */
static void option_push_number(lua_State *L, double v) {
  if (LUA_VERSION_NUM >= 503 && v == floor(v) && fabs(v) < 9007199254740992.0)
    lua_pushinteger(L, (lua_Integer)v);
  else
    lua_pushnumber(L, v);
}

/*
 * Pushes the config error of option `name`: its fields `option`, `detail`
 * (what is wrong, without the option's name: for a host that names the
 * option its own way) and `reason` (a name for why, when there is one).
 * Never quotes the value.
 */
static void option_push_error(lua_State *L, const char *name, const char *why, const char *reason) {
  error_push(L, "config", "option '%s' %s", name, why);
  error_set_string(L, "option", name);
  error_set_string(L, "detail", why);
  error_set_string(L, "reason", reason);
}

/* Raises option_push_error's error. */
static int option_error_because(lua_State *L, const char *name, const char *why, const char *reason) {
  option_push_error(L, name, why, reason);
  return lua_error(L);
}

static int option_error(lua_State *L, const char *name, const char *why) {
  return option_error_because(L, name, why, NULL);
}

/* A string without control characters (they could split headers), or the default. */
static const char *option_string(lua_State *L, int value, const option_spec *s) {
  size_t len, i;
  const char *str;
  if (lua_isnil(L, value)) return s->dflt_text;
  if (lua_type(L, value) != LUA_TSTRING)
    option_error(L, s->name, lua_pushfstring(L, "must be a string (got %s)", luaL_typename(L, value)));
  str = lua_tolstring(L, value, &len);
  if (len == 0) option_error(L, s->name, "must not be empty");
  for (i = 0; i < len; i++)
    if ((unsigned char)str[i] < 0x20 || str[i] == 0x7f)
      option_error(L, s->name, "must not contain control characters");
  return str; /* still referenced by the options table */
}

/* A number in [min, max], or the default. */
static double option_number(lua_State *L, int value, const option_spec *s) {
  double v;
  if (lua_isnil(L, value)) return s->dflt;
  if (lua_type(L, value) != LUA_TNUMBER)
    option_error(L, s->name, lua_pushfstring(L, "must be a number (got %s)", luaL_typename(L, value)));
  v = lua_tonumber(L, value);
  if (!(v >= s->min && v <= s->max)) {
    char why[96];
    snprintf(why, sizeof why, "must be a number from %g to %g", s->min, s->max);
    option_error(L, s->name, why);
  }
  return v;
}

/* The index of the option's value among its choices, or of the first one. */
static int option_choice(lua_State *L, int value, const option_spec *s) {
  int i = error_find_choice(L, value, s->choices);
  if (i >= 0) return i;
  if (lua_isnil(L, value)) return 0;
  {
    luaL_Buffer b;
    luaL_buffinit(L, &b);
    luaL_addstring(&b, "must be ");
    error_add_choices(&b, s->choices);
    luaL_pushresult(&b);
    return option_error(L, s->name, lua_tostring(L, -1));
  }
}

/* Reads the value at stack index `value` as option `s` into `cfg`. */
static void option_read(lua_State *L, int value, const option_spec *s, client_config *cfg) {
  char *field = (char *)cfg + s->offset;
  switch (s->kind) {
  case OPT_STRING:
    *(const char **)(void *)field = option_string(L, value, s);
    break;
  case OPT_NUMBER:
    *(double *)(void *)field = option_number(L, value, s);
    break;
  case OPT_BOOLEAN:
    if (!lua_isnil(L, value) && lua_type(L, value) != LUA_TBOOLEAN)
      option_error(L, s->name, "must be a boolean");
    *(int *)(void *)field = lua_toboolean(L, value);
    break;
  case OPT_LIMIT:
    *(double *)(void *)field = lua_isnil(L, value) ? 0 : option_number(L, value, s);
    break;
  case OPT_FUNCTION: /* the stack index of the function */
    if (!lua_isnil(L, value) && lua_type(L, value) != LUA_TFUNCTION)
      option_error(L, s->name, lua_pushfstring(L, "must be a function (got %s)", luaL_typename(L, value)));
    *(int *)(void *)field = lua_isnil(L, value) ? 0 : value;
    break;
  case OPT_RATE:
    if (lua_type(L, value) == LUA_TBOOLEAN) {
      if (lua_toboolean(L, value))
        option_error(L, s->name, "must be a number of requests per second, or false");
      *(double *)(void *)field = 0; /* off */
    } else {
      *(double *)(void *)field = option_number(L, value, s);
    }
    break;
  case OPT_HEADERS:
    if (!lua_isnil(L, value) && lua_type(L, value) != LUA_TTABLE)
      option_error(L, s->name, "must be a table of name = value strings");
    *(int *)(void *)field = lua_isnil(L, value) ? 0 : value;
    break;
  case OPT_CHOICE:
    *(int *)(void *)field = option_choice(L, value, s);
    break;
  case OPT_TOKEN: /* a string, or a function that gives one */
    if (lua_type(L, value) == LUA_TFUNCTION) {
      cfg->token_fn = value;
    } else if (!lua_isnil(L, value) && lua_type(L, value) != LUA_TSTRING) {
      option_error(L, s->name,
                   lua_pushfstring(L, "must be a string or a function (got %s)", luaL_typename(L, value)));
    } else {
      *(const char **)(void *)field = option_string(L, value, s);
    }
    break;
  }
}

/* Raises unless every key of the options table at `opts` names an option. */
static void options_check_names(lua_State *L, int opts) {
  lua_pushnil(L);
  while (lua_next(L, opts)) {
    const option_spec *s;
    const char *key;
    lua_pop(L, 1);
    if (lua_type(L, -1) != LUA_TSTRING)
      error_raise(L, "config", "option names must be strings (got %s)", luaL_typename(L, -1));
    key = lua_tostring(L, -1);
    for (s = option_specs; s->name != NULL && strcmp(s->name, key) != 0; s++) {}
    if (s->name == NULL) error_raise(L, "config", "unknown option '%s'", key);
  }
}

/*
 * Reads the options table at `opts` into `cfg`, raising a config error that
 * names the option for anything unknown or invalid. Leaves every option's
 * value on the stack (strings in `cfg` point into them).
 */
static void options_read(lua_State *L, int opts, client_config *cfg) {
  const option_spec *s;
  options_check_names(L, opts);
  luaL_checkstack(L, (int)(sizeof option_specs / sizeof *option_specs) + 4, "gong: options");
  for (s = option_specs; s->name != NULL; s++) {
    lua_getfield(L, opts, s->name);
    option_read(L, lua_gettop(L), s, cfg);
  }
}

/*
 * Sets core.options on the module table on top: for each option its kind and,
 * where it has them, default, min, max and choices.
 */
static void options_export(lua_State *L) {
  const option_spec *s;
  int i;
  lua_newtable(L);
  for (s = option_specs; s->name != NULL; s++) {
    lua_createtable(L, 0, 4);
    lua_pushstring(L, option_kind_names[s->kind]);
    lua_setfield(L, -2, "kind");
    if (s->kind == OPT_NUMBER || s->kind == OPT_RATE || s->kind == OPT_LIMIT) {
      if (s->kind != OPT_LIMIT) { /* a limit has none: no limit */
        option_push_number(L, s->dflt);
        lua_setfield(L, -2, "default");
      }
      option_push_number(L, s->min);
      lua_setfield(L, -2, "min");
      option_push_number(L, s->max);
      lua_setfield(L, -2, "max");
    } else if (s->kind == OPT_BOOLEAN) {
      lua_pushboolean(L, 0);
      lua_setfield(L, -2, "default");
    } else if (s->kind == OPT_STRING && s->dflt_text != NULL) {
      lua_pushstring(L, s->dflt_text);
      lua_setfield(L, -2, "default");
    } else if (s->kind == OPT_CHOICE) {
      lua_pushstring(L, s->choices[0]);
      lua_setfield(L, -2, "default");
      lua_newtable(L);
      for (i = 0; s->choices[i] != NULL; i++) {
        lua_pushstring(L, s->choices[i]);
        lua_rawseti(L, -2, i + 1);
      }
      lua_setfield(L, -2, "choices");
    }
    lua_setfield(L, -2, s->name);
  }
  lua_setfield(L, -2, "options");
  lua_pushliteral(L, DEFAULT_BASE_URL);
  lua_setfield(L, -2, "DEFAULT_BASE_URL");
}
