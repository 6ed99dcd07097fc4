/*
 * One source for Lua 5.1, LuaJIT 2.1, 5.2, 5.3 and 5.4: the code is written
 * against the 5.3/5.4 API and this header fills the gaps of older versions.
 * Fallbacks get their own names and are mapped with macros after the Lua
 * headers, so they never collide with LuaJIT's partial 5.2 API.
 */
#ifndef GONG_COMPAT_H
#define GONG_COMPAT_H

#include <lua.h>
#include <lauxlib.h>

#if LUA_VERSION_NUM < 502

#define lua_rawlen(L, i) lua_objlen((L), (i))

static inline int gong_compat_absindex(lua_State *L, int idx) {
  return (idx > 0 || idx <= LUA_REGISTRYINDEX) ? idx : lua_gettop(L) + idx + 1;
}
#define lua_absindex gong_compat_absindex

static inline void gong_compat_setfuncs(lua_State *L, const luaL_Reg *l, int nup) {
  luaL_checkstack(L, nup, "too many upvalues");
  for (; l->name != NULL; l++) {
    int i;
    for (i = 0; i < nup; i++) lua_pushvalue(L, -nup);
    lua_pushcclosure(L, l->func, nup);
    lua_setfield(L, -(nup + 2), l->name);
  }
  lua_pop(L, nup);
}
#define luaL_setfuncs gong_compat_setfuncs

static inline void gong_compat_setmetatable(lua_State *L, const char *tname) {
  luaL_getmetatable(L, tname);
  lua_setmetatable(L, -2);
}
#define luaL_setmetatable gong_compat_setmetatable

static inline void *gong_compat_testudata(lua_State *L, int i, const char *tname) {
  void *p = lua_touserdata(L, i);
  if (p == NULL || !lua_getmetatable(L, i)) return NULL;
  luaL_getmetatable(L, tname);
  if (!lua_rawequal(L, -1, -2)) p = NULL;
  lua_pop(L, 2);
  return p;
}
#define luaL_testudata gong_compat_testudata

#endif /* < 502 */

#if LUA_VERSION_NUM < 503
/* Before 5.3 every number is a float: there is no integer subtype to keep. */
#define lua_isinteger(L, i) 0

/* From 5.3 on, lua_rawget returns the type of the value it pushed. */
static inline int gong_compat_rawget(lua_State *L, int idx) {
  lua_rawget(L, idx);
  return lua_type(L, -1);
}
#define lua_rawget gong_compat_rawget
#endif

#if LUA_VERSION_NUM < 504
#define lua_newuserdatauv(L, sz, nuv) lua_newuserdata((L), (sz))
#endif

/*
 * A userdata's one user value, a table: what it keeps alive without a
 * registry reference, so that a cycle through it can still be collected.
 * 5.4 numbers them (the userdata is made with one), 5.2 and 5.3 have one,
 * 5.1 and LuaJIT call it the environment.
 */
#if LUA_VERSION_NUM >= 504
#define gong_setuservalue(L, i) ((void)lua_setiuservalue((L), (i), 1))
#define gong_getuservalue(L, i) ((void)lua_getiuservalue((L), (i), 1))
#elif LUA_VERSION_NUM >= 502
#define gong_setuservalue(L, i) lua_setuservalue((L), (i))
#define gong_getuservalue(L, i) ((void)lua_getuservalue((L), (i)))
#else
#define gong_setuservalue(L, i) ((void)lua_setfenv((L), (i)))
#define gong_getuservalue(L, i) lua_getfenv((L), (i))
#endif

#endif /* GONG_COMPAT_H */
