# gong — build, test, install. `make help` lists the targets.
#
#   make [LUA=5.4|5.3|5.2|5.1|luajit]   build gong.core for that Lua
#   make test                            install missing Debian packages, build, run the specs
#   make install PREFIX=/usr/local       standard layout: lib/lua/<ver>, share/lua/<ver>, bin

LUA     ?= 5.4
PREFIX  ?= /usr/local

ifeq ($(LUA),luajit)
  LUA_PC  := luajit
  LUA_BIN := luajit
  LUA_ABI := 5.1
  LUA_DEB := luajit libluajit-5.1-dev
else
  LUA_PC  := lua$(LUA)
  LUA_BIN := lua$(LUA)
  LUA_ABI := $(LUA)
  LUA_DEB := lua$(LUA) $(if $(filter 5.1,$(LUA)),liblua5.1-0-dev,liblua$(LUA)-dev)
endif

BUILD   := build/$(LUA)
CORE    := $(BUILD)/gong/core.so
SOURCES := $(wildcard src/*.c src/*.h)
LUA_SRC := $(wildcard lua/gong/*.lua)

CC      ?= cc
CFLAGS  ?= -O2 -g
WARN    := -std=c99 -Wall -Wextra -Werror -Wshadow -Wstrict-prototypes
DEFS    := -D_POSIX_C_SOURCE=200809L
PKG_CFLAGS = $(shell pkg-config --cflags $(LUA_PC) libcurl)
PKG_LIBS   = $(shell pkg-config --libs libcurl)
SANITIZE ?=

# Packages the targets need on Debian; tools/deps.sh installs what is missing.
DEB_BUILD := gcc make pkg-config libcurl4-openssl-dev $(LUA_DEB)
DEB_TEST  := $(DEB_BUILD) lua-cjson lua-busted lua-socket lua5.4
DEB_LINT  := lua-check cppcheck

BUSTED   = env LUA_PATH="lua/?.lua;lua/?/init.lua;./?.lua;;" \
               LUA_CPATH="$(BUILD)/?.so;;" GONG_TEST_LUA="$(LUA_BIN)" GONG_BUILD="$(BUILD)" \
               $(LUA_BIN) /usr/bin/busted

.PHONY: all build test demo install lint clean help deps deps-test

all: build

build: $(CORE)

$(CORE): $(SOURCES)
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) $(SANITIZE) $(WARN) $(DEFS) -fPIC -shared $(PKG_CFLAGS) \
	  src/gong.c -o $@ $(PKG_LIBS) -lpthread -lm

deps:
	@tools/deps.sh $(DEB_BUILD)

deps-test:
	@tools/deps.sh $(DEB_TEST)

## test: install missing packages, build, run every spec under $(LUA_BIN)
test: deps-test
	@$(MAKE) --no-print-directory build
	$(BUSTED) $(BUSTED_ARGS)

## demo: start the fake Gong server and show its library as a tree
demo: deps-test
	@$(MAKE) --no-print-directory build
	@LUA_BIN=$(LUA_BIN) BUILD=$(BUILD) tools/demo.sh

## install: PREFIX/lib/lua/<ver>/gong/core.so, PREFIX/share/lua/<ver>/gong/*.lua, PREFIX/bin/gong-library
install: build
	install -d $(DESTDIR)$(PREFIX)/lib/lua/$(LUA_ABI)/gong $(DESTDIR)$(PREFIX)/share/lua/$(LUA_ABI)/gong \
	  $(DESTDIR)$(PREFIX)/bin
	install -m 0755 $(CORE) $(DESTDIR)$(PREFIX)/lib/lua/$(LUA_ABI)/gong/core.so
	install -m 0644 $(LUA_SRC) $(DESTDIR)$(PREFIX)/share/lua/$(LUA_ABI)/gong/
	sed '1s|.*|#!/usr/bin/env $(LUA_BIN)|' bin/gong-library > $(DESTDIR)$(PREFIX)/bin/gong-library
	chmod 0755 $(DESTDIR)$(PREFIX)/bin/gong-library

## lint: luacheck and cppcheck, zero findings
lint:
	@tools/deps.sh $(DEB_LINT)
	luacheck lua bin/gong-library spec fake tools
	cppcheck --quiet --error-exitcode=1 --enable=warning,style,performance,portability \
	  --inline-suppr --suppress=missingIncludeSystem $(PKG_CFLAGS) $(DEFS) src/gong.c

clean:
	rm -rf build luarocks-tree

help:
	@grep -E '^## ' Makefile | sed 's/^## /  /'
