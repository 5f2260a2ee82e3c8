#!/bin/sh
# Installs the Debian 12 packages cpqd builds, tests and benchmarks with.
# Idempotent: does nothing when every package is already there.
set -eu
PKGS="build-essential pkg-config libevent-dev libyaml-dev liblua5.4-dev \
libpcre2-dev libcmocka-dev libjansson-dev libssl-dev libcadical-dev libxml2-dev libsqlite3-dev \
libpq-dev libzstd-dev postgresql-15 wrk curl faketime python3-yaml python3-jsonschema \
valgrind"
# webhooks over https: libevent's OpenSSL bufferevents (libevent_openssl,
# with libevent-dev) over libssl; the openssl command makes the tests' CA
PKGS="$PKGS libevent-openssl-2.1-7 openssl"
# make fuzz, make test: Debian's clang with libFuzzer (libclang_rt.fuzzer)
PKGS="$PKGS clang libclang-rt-14-dev"
# make test: the quote document printed to PDF by headless Chromium, read
# back with poppler's pdfinfo/pdftotext; Noto CJK so Chinese text renders
PKGS="$PKGS chromium poppler-utils fonts-noto-cjk"
missing=""
for p in $PKGS; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" \
    || missing="$missing $p"
done
# make test lints docs/openapi.yaml and drives the service from it with
# npm packages (tests/spec/package.json): any Node.js 18.17+ with its npm
# will do (Debian's nodejs and npm unless one is installed already, such
# as a nodejs package that bundles npm)
command -v node >/dev/null 2>&1 || missing="$missing nodejs"
command -v npm >/dev/null 2>&1 || missing="$missing npm"
[ -z "$missing" ] && exit 0
echo "cpqd: installing Debian packages:$missing" >&2
SUDO=""
[ "$(id -u)" -ne 0 ] && SUDO="sudo"
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq
# shellcheck disable=SC2086
$SUDO apt-get install -y -qq --no-install-recommends $missing >/dev/null
