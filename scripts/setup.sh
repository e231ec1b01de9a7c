#!/bin/sh
# Installs what Herald needs to build, run and test on Debian 12, and nothing
# it already has: one `apt-get update`, then one `apt-get install` of the
# missing packages, then the browser tests' npm packages (from their lock
# file) when they are missing or stale. Safe to run again; a second run
# installs nothing.
set -eu
cd "$(dirname "$0")/.."

PACKAGES="
  gcc clang libclang-rt-14-dev meson ninja-build pkg-config valgrind
  libevent-dev libjansson-dev libsqlite3-dev libssl-dev libicu-dev
  libhttp-parser-dev libcmocka-dev libcurl4-openssl-dev
  libpq-dev postgresql-15 postgresql-client-15
  python3 python3-pytest python3-requests python3-aiosmtpd openssl
  chromium firefox-esr
  ca-certificates
"

missing=""
for p in $PACKAGES; do
  if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed'; then
    missing="$missing $p"
  fi
done
# Node.js and npm may come from Debian or from elsewhere (NodeSource ships
# npm inside its nodejs): ask for the commands, not the package names.
command -v node >/dev/null 2>&1 || missing="$missing nodejs"
command -v npm >/dev/null 2>&1 || missing="$missing npm"

if [ -n "$missing" ]; then
  SUDO=""
  if [ "$(id -u)" -ne 0 ]; then
    if command -v sudo >/dev/null 2>&1; then SUDO="sudo"; else
      echo "setup: need root to install:$missing" >&2; exit 1; fi
  fi
  echo "setup: installing:$missing"
  $SUDO env DEBIAN_FRONTEND=noninteractive apt-get update -q
  # shellcheck disable=SC2086
  $SUDO env DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends $missing
fi

# Browser-side tooling and test peers from npm, exactly as locked.
for dir in tests/browser tests/push; do
  lock=$dir/package-lock.json
  stamp=$dir/node_modules/.herald-lock
  if [ ! -f "$stamp" ] || ! cmp -s "$lock" "$stamp"; then
    echo "setup: npm ci ($dir)"
    (cd "$dir" && npm ci --no-audit --no-fund --loglevel=error)
    cp "$lock" "$stamp"
  fi
done
