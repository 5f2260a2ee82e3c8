#!/bin/sh
# cpqd's container entrypoint (POSIX sh: the image's /bin/sh is dash).
#
#   entrypoint.sh [serve [SERVE FLAGS...]]   the default (CMD ["serve"])
#   entrypoint.sh setup                      the first admin key and the schema, then exit
#   entrypoint.sh COMMAND [ARGS...]          any other cpqd command, as is
#
# serve: on the first start, when the volume holds no key file yet, creates
# an admin API key there and prints it, once (the only time it is shown:
# `docker compose logs cpqd` right after the first `up`); then replaces
# itself with `cpqd serve` on the bundled catalogs, the key file and the
# store (CPQD_DB: the SQLite file of the volume unless it names a
# PostgreSQL URL), listening on all addresses (API keys are required
# there). Flags after `serve` are passed on.
#
# setup: what serve does first, without serving: the key (when none yet)
# and `cpqd migrate` of CPQD_DB. docker/compose.yaml runs it once before
# its instances start, so that two instances never race for either.
#
# Settings (environment; the defaults are the image's layout):
#   CPQD_BIN       /usr/local/bin/cpqd
#   CPQD_HOME      /srv/cpqd           catalogs/, rules/ and var/ below it
#   CPQD_CATALOGS  $CPQD_HOME/catalogs
#   CPQD_RULES     $CPQD_HOME/rules
#   CPQD_VAR       $CPQD_HOME/var      the volume: keys.yaml, cpqd.db
#   CPQD_LISTEN    0.0.0.0:8080
#   CPQD_DB        $CPQD_VAR/cpqd.db   or postgresql://user:password@host/db
set -eu

bin=${CPQD_BIN:-/usr/local/bin/cpqd}
home=${CPQD_HOME:-/srv/cpqd}
catalogs=${CPQD_CATALOGS:-$home/catalogs}
rules=${CPQD_RULES:-$home/rules}
var=${CPQD_VAR:-$home/var}
listen=${CPQD_LISTEN:-0.0.0.0:8080}
db=${CPQD_DB:-$var/cpqd.db}
keys=$var/keys.yaml

if [ "$#" -gt 0 ] && [ "$1" != serve ] && [ "$1" != setup ]; then
    exec "$bin" "$@"
fi
cmd=${1:-serve}
[ "$#" -gt 0 ] && shift

if [ ! -s "$keys" ]; then
    mkdir -p "$var"
    key=$("$bin" key new --keys "$keys" --role admin --name "first admin (docker entrypoint)")
    echo "cpqd: created the first admin API key in $keys; it is shown this once, keep it:"
    echo "cpqd: admin key: $key"
    echo "cpqd: more keys: cpqd key new --keys $keys --role rep (in a container with the volume)"
fi

if [ "$cmd" = setup ]; then
    exec "$bin" migrate --db "$db"
fi

exec "$bin" serve --catalogs "$catalogs" --rules "$rules" --listen "$listen" \
    --keys "$keys" --db "$db" "$@"
