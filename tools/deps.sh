#!/bin/sh
# Installs the Debian packages a make target needs, when they are missing.
# As root it runs apt-get; otherwise it prints the exact command and fails,
# so nothing is ever installed behind the user's back.
#   tools/deps.sh PACKAGE...
set -eu
missing=""
for pkg in "$@"; do
  if ! dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "install ok installed"; then
    missing="$missing $pkg"
  fi
done
[ -z "$missing" ] && exit 0
if [ "$(id -u)" -ne 0 ]; then
  echo "gong: missing Debian packages:$missing" >&2
  echo "install them with:  sudo apt-get install -y$missing" >&2
  exit 1
fi
echo "gong: installing Debian packages:$missing" >&2
# A fresh machine has no package lists yet: on failure refresh them and retry.
install() { DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends $missing >&2; }
install 2>/dev/null || { apt-get update -qq >&2 && install; }
