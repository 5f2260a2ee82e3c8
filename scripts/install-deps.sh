#!/bin/sh
# Installs the Debian 12 packages cpqd builds, tests and benchmarks with.
# Idempotent: does nothing when every package is already there.
set -eu
PKGS="build-essential pkg-config libevent-dev libyaml-dev liblua5.4-dev \
libpcre2-dev libcmocka-dev libjansson-dev libssl-dev libcadical-dev libxml2-dev libsqlite3-dev \
libpq-dev postgresql-15 wrk curl faketime chromium fonts-noto-cjk"
# node and npm (the portal's browser tests): Debian's unless a node is
# already installed (a NodeSource node brings its own npm)
command -v node >/dev/null 2>&1 && command -v npm >/dev/null 2>&1 || PKGS="$PKGS nodejs npm"
missing=""
for p in $PKGS; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" \
    || missing="$missing $p"
done
[ -z "$missing" ] && exit 0
echo "cpqd: installing Debian packages:$missing" >&2
SUDO=""
[ "$(id -u)" -ne 0 ] && SUDO="sudo"
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq
# shellcheck disable=SC2086
$SUDO apt-get install -y -qq --no-install-recommends $missing >/dev/null
