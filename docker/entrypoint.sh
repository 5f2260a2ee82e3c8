#!/bin/sh
# cpqd's container entrypoint (POSIX sh: the image's /bin/sh is dash).
#
#   entrypoint.sh [serve [SERVE FLAGS...]]   the default (CMD ["serve"])
#   entrypoint.sh COMMAND [ARGS...]          any other cpqd command, as is
#
# serve: on the first start, when the volume holds no key file yet, creates
# an admin API key there and prints it, once (the only time it is shown:
# `docker compose logs cpqd` right after the first `up`); then replaces
# itself with `cpqd serve` on the bundled catalogs, the key file and the
# SQLite store of the volume, listening on all addresses (API keys are
# required there). Flags after `serve` are passed on.
#
# Settings (environment; the defaults are the image's layout):
#   CPQD_BIN       /usr/local/bin/cpqd
#   CPQD_HOME      /srv/cpqd           catalogs/, rules/ and var/ below it
#   CPQD_CATALOGS  $CPQD_HOME/catalogs
#   CPQD_RULES     $CPQD_HOME/rules
#   CPQD_VAR       $CPQD_HOME/var      the volume: keys.yaml, cpqd.db
#   CPQD_LISTEN    0.0.0.0:8080
set -eu

bin=${CPQD_BIN:-/usr/local/bin/cpqd}
home=${CPQD_HOME:-/srv/cpqd}
catalogs=${CPQD_CATALOGS:-$home/catalogs}
rules=${CPQD_RULES:-$home/rules}
var=${CPQD_VAR:-$home/var}
listen=${CPQD_LISTEN:-0.0.0.0:8080}
keys=$var/keys.yaml

if [ "$#" -gt 0 ] && [ "$1" != serve ]; then
    exec "$bin" "$@"
fi
[ "$#" -gt 0 ] && shift

if [ ! -s "$keys" ]; then
    mkdir -p "$var"
    key=$("$bin" key new --keys "$keys" --role admin --name "first admin (docker entrypoint)")
    echo "cpqd: created the first admin API key in $keys; it is shown this once, keep it:"
    echo "cpqd: admin key: $key"
    echo "cpqd: more keys: docker compose exec cpqd cpqd key new --keys $keys --role rep"
fi

exec "$bin" serve --catalogs "$catalogs" --rules "$rules" --listen "$listen" \
    --keys "$keys" --db "$var/cpqd.db" "$@"
