#!/bin/sh
# Installs what is missing, builds Herald, and runs it with the demo
# practice on an embedded SQLite file (var/demo.db). Prints the URL, the
# admin key, a workspace API key and a member token.
set -eu
cd "$(dirname "$0")/.."
./scripts/setup.sh
[ -d build ] || meson setup build >/dev/null
ninja -C build herald >/dev/null
mkdir -p var
# The demo's admin key is made once and kept beside its database, so every
# run can print it (Herald itself stores only its hash).
if [ ! -s var/demo-admin-key ]; then
  (umask 077; printf 'hak_%s\n' "$(head -c 32 /dev/urandom | base64 | tr '+/' '-_' | tr -d '=\n')" > var/demo-admin-key)
fi
HERALD_ADMIN_KEY=$(cat var/demo-admin-key)
export HERALD_ADMIN_KEY
exec ./build/herald serve --demo --database var/demo.db "$@"
