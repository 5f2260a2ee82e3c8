#!/bin/sh
# A throwaway PostgreSQL cluster for the tests (make test's PostgreSQL half).
#
#   tests/pg-cluster.sh start      creates and starts one; prints its directory DIR
#   tests/pg-cluster.sh url DIR    prints the URL of its superuser's "postgres"
#                                  database (CPQD_TEST_DB_URL: tests create a
#                                  fresh database per test beside it)
#   tests/pg-cluster.sh stop DIR   stops it and removes DIR
#
# The cluster lives in a new directory under $TMPDIR (or /tmp): initdb and
# pg_ctl from Debian's postgresql-15 (/usr/lib/postgresql/15/bin, or
# $CPQD_PG_BIN), UTF8 with locale C (cpqd requires byte order), superuser
# "cpqd" with a random password (so the tests also see that no password
# reaches a log), listening on 127.0.0.1 only, on a free port picked at
# random (another port is tried when one is taken), its socket in DIR.
# Durability is off (fsync=off, full_page_writes=off): the cluster is
# thrown away after the run, and speed matters more than surviving a power
# cut; CPQD_PG_DURABLE=1 keeps PostgreSQL's defaults (make bench's figures). PostgreSQL refuses to run as root: run as root, initdb and the
# server run as the "postgres" account Debian's postgresql-common package
# creates (the account meant for running PostgreSQL servers), or as
# "nobody" if there is none, in DIR, which that account owns; the tests
# connect over TCP, so they may run as root.
#
# Any failure prints why on stderr and exits non-zero: the PostgreSQL half
# of the suite then fails, it is never skipped.
set -eu

BIN=${CPQD_PG_BIN:-/usr/lib/postgresql/15/bin}

die() {
    echo "pg-cluster: $*" >&2
    exit 1
}

# Runs a command as the account that owns the cluster.
as_owner() {
    if [ -n "${OWNER:-}" ]; then
        runuser -u "$OWNER" -- "$@"
    else
        "$@"
    fi
}

pick_owner() {
    OWNER=""
    [ "$(id -u)" -eq 0 ] || return 0
    if id -u postgres >/dev/null 2>&1; then
        OWNER=postgres
    else
        OWNER=nobody
    fi
    command -v runuser >/dev/null 2>&1 || die "runuser (util-linux) is needed to run PostgreSQL as $OWNER"
}

random_hex() {
    od -An -N"$1" -tx1 /dev/urandom | tr -d ' \n'
}

start() {
    [ -x "$BIN/initdb" ] && [ -x "$BIN/pg_ctl" ] ||
        die "$BIN/initdb or pg_ctl not found: install postgresql-15 (scripts/install-deps.sh)"
    pick_owner
    dir=$(mktemp -d "${TMPDIR:-/tmp}/cpqd-pg-XXXXXX")
    trap 'rm -rf "$dir"' EXIT
    pw=$(random_hex 12)
    printf '%s\n' "$pw" >"$dir/pw"
    chmod 600 "$dir/pw"
    [ -z "$OWNER" ] || chown -R "$OWNER" "$dir"
    as_owner "$BIN/initdb" -D "$dir/data" -U cpqd --pwfile="$dir/pw" -E UTF8 --locale=C \
        -A scram-sha-256 --no-sync >"$dir/initdb.log" 2>&1 ||
        { cat "$dir/initdb.log" >&2; die "initdb failed"; }
    rm -f "$dir/pw"
    port=""
    nodurable="-c fsync=off -c full_page_writes=off"
    [ "${CPQD_PG_DURABLE:-0}" = 1 ] && nodurable=""
    for try in 1 2 3 4 5 6 7 8; do
        p=$((20000 + $(od -An -N2 -tu2 /dev/urandom | tr -d ' ') % 40000))
        if as_owner "$BIN/pg_ctl" -D "$dir/data" -l "$dir/server.log" -w -t 60 -s \
            -o "-p $p -c listen_addresses=127.0.0.1 -c unix_socket_directories=$dir \
                $nodurable -c max_connections=300" start \
            >/dev/null 2>&1; then
            port=$p
            break
        fi
        grep -q "could not bind\|Address already in use" "$dir/server.log" 2>/dev/null ||
            { cat "$dir/server.log" >&2 2>/dev/null; die "the server did not start (try $try)"; }
    done
    [ -n "$port" ] || die "no free port found for the server"
    printf 'postgresql://cpqd:%s@127.0.0.1:%s/postgres\n' "$pw" "$port" >"$dir/url"
    chmod 600 "$dir/url"
    trap - EXIT
    echo "$dir"
}

stop() {
    dir=$1
    [ -d "$dir/data" ] || die "$dir holds no cluster"
    pick_owner
    as_owner "$BIN/pg_ctl" -D "$dir/data" -m immediate -w -s stop >/dev/null 2>&1 || true
    rm -rf "$dir"
}

case "${1:-}" in
start) start ;;
url)
    [ $# -eq 2 ] && [ -f "$2/url" ] || die "usage: $0 url DIR (a DIR from start)"
    cat "$2/url"
    ;;
stop)
    [ $# -eq 2 ] || die "usage: $0 stop DIR"
    stop "$2"
    ;;
*)
    echo "usage: $0 start | url DIR | stop DIR" >&2
    exit 2
    ;;
esac
