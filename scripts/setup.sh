#!/bin/sh
# Installs what Herald needs to build, run and test on Debian 12, and nothing
# it already has: one `apt-get update`, then one `apt-get install` of the
# missing packages. Safe to run again; a second run installs nothing.
set -eu

PACKAGES="
  gcc clang meson ninja-build pkg-config
  libevent-dev libjansson-dev libsqlite3-dev libssl-dev libicu-dev
  libhttp-parser-dev libcmocka-dev
  python3 python3-pytest python3-requests
  ca-certificates
"

missing=""
for p in $PACKAGES; do
  if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed'; then
    missing="$missing $p"
  fi
done

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
