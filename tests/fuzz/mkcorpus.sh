#!/bin/sh
# Regenerates the seed corpora tests/fuzz/corpus/<target>/ from the tests'
# fixtures: catalogs/, rules/ and tests/data/** as they are, and the
# request bodies, rule sources and query strings the tests send (string
# literals of tests/*.c found by c-strings.awk, sorted into routes by their
# keys). Seeds of targets that serve several routes start with the route's
# line (see each fuzz_*.c). The corpora are committed; run this again when
# the fixtures change. Needs only sh, awk, sed, sort and sha1sum.
#
# usage: sh tests/fuzz/mkcorpus.sh
set -eu
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
OUT=$ROOT/tests/fuzz/corpus
cd "$ROOT"
TMP=$(mktemp -d "${TMPDIR:-/tmp}/cpqd-corpus-XXXXXX")
trap 'rm -rf "$TMP"' EXIT INT TERM
# fuzz_bank's and fuzz_finance's seeds are written by hand (statements and
# bodies from docs/finance.md and the tests, named for what they are): kept
for t in tests/fuzz/fuzz_*.c; do
    case $(basename "$t" .c) in fuzz_bank | fuzz_finance) continue ;; esac
    rm -rf "$OUT/$(basename "$t" .c)"
    mkdir -p "$OUT/$(basename "$t" .c)"
done

# put TARGET LINE: stdin, after LINE and a newline when LINE is not empty,
# into a file of TARGET's corpus named after its content
put() {
    { [ -z "$2" ] || printf '%s\n' "$2"; cat; } > "$TMP/seed"
    mv "$TMP/seed" "$OUT/$1/$(sha1sum < "$TMP/seed" | cut -c1-16)"
}
# copy TARGET FILE...: files as they are, named after their path
copy() {
    t=$1
    shift
    for f; do cp "$f" "$OUT/$t/$(printf '%s' "$f" | tr '/' '_')"; done
}
# C string escapes to bytes (the ones the tests use)
decode() {
    sed -e 's/\\\\/\x01/g' -e 's/\\"/"/g' -e "s/\\\\'/'/g" -e 's/\\n/\n/g' -e 's/\\t/\t/g' \
        -e 's/\x01/\\/g'
}

# ---- files ----
copy fuzz_catalog catalogs/*.yaml $(find tests/data -name '*.yaml' ! -path 'tests/data/auth/*' | sort)
copy fuzz_auth tests/data/auth/*.yaml
copy fuzz_rules $(find rules tests/data -name '*.lua' | sort)
copy fuzz_xcsp tests/data/import/xcsp/*
copy fuzz_dimacs tests/data/import/dimacs/*
for d in tests/data/import/clib/*/; do
    { cat "$d/domains.txt"; for pm in "$d"*.pm; do printf '%%%%\n'; cat "$pm"; done; } | put fuzz_clib ""
done

# ---- what the tests send ----
for f in tests/test_*.c tests/*.h; do
    awk -f tests/fuzz/c-strings.awk "$f"
done | grep -v '%[-0-9.]*[sdzlu]' | sort -u > "$TMP/literals"

grep '^{\\"' "$TMP/literals" | while IFS= read -r lit; do
    body=$(printf '%s\n' "$lit" | decode)
    case $body in
    *'"signed_on"'*) printf '%s' "$body" | put fuzz_contract accept ;;
    *'"paid_on"'*) printf '%s' "$body" | put fuzz_contract pay ;;
    *'"effective_on"'*) printf '%s' "$body" | put fuzz_contract seats ;;
    *'"period":'*) printf '%s' "$body" | put fuzz_contract usage ;;
    *'"term"'* | *'"period_amount"'*) printf '%s' "$body" | put fuzz_contract renew ;;
    *'"as_of"'*) printf '%s' "$body" | put fuzz_contract sweep ;;
    '{"on"'*'"line"'*) printf '%s' "$body" | put fuzz_contract milestone ;;
    '{"on"'*)
        printf '%s' "$body" | put fuzz_contract delivered
        printf '%s' "$body" | put fuzz_contract accepted
        ;;
    '{"line"'*) printf '%s' "$body" | put fuzz_contract close ;;
    *'"note"'*) printf '%s' "$body" | put fuzz_quote action ;;
    *'"product"'* | *'"choices"'*) printf '%s' "$body" | put fuzz_configure "" ;;
    *'"lines":['* | *'"customer"'*)
        printf '%s' "$body" | put fuzz_price ""
        printf '%s' "$body" | put fuzz_quote create
        printf '%s' "$body" | put fuzz_quote "create partner"
        ;;
    esac
done

# rule sources the rules tests evaluate
grep -v '^{\\"' "$TMP/literals" | grep -E 'return|local ' | while IFS= read -r lit; do
    printf '%s\n' "$lit" | decode | put fuzz_rules ""
done

# query strings: the end-to-end cases and the tests' request paths
{ sed -n 's/^[A-Z]* \/v1\/[^?]*?\([^ ]*\)$/\1/p' tests/data/e2e/cases.txt
  sed -n 's/^\/v1\/[^?]*?\([^ "]*\)$/\1/p' "$TMP/literals"; } | sort -u |
    while IFS= read -r q; do printf '%s' "$q" | put fuzz_query ""; done

# ---- by hand: what no fixture holds ----
printf '' | put fuzz_quote action
printf '' | put fuzz_contract sweep
printf '{"within":7}' | put fuzz_contract sweep
printf '' | put fuzz_contract close
printf '' | put fuzz_contract renew
for m in 12.50 -0.0035 0 1e3 +1 9223372036854775807 0.000000000000000001 123456789012345678.9; do
    printf '%s' "$m" | put fuzz_scalars money
done
for s in '100.00 3 2' '-0.05 4 2' '1 7 18' '0.10 64 0'; do
    printf '%s' "$s" | put fuzz_scalars split
done
for d in 2026-12-01 2028-02-29 2027-02-29 1900-01-01 9999-12-31 2026-1-01; do
    printf '%s' "$d" | put fuzz_scalars date
done
for r in half_up half_even up down ceiling floor; do printf '%s' "$r" | put fuzz_scalars round; done
for r in partner rep manager crm admin; do printf '%s' "$r" | put fuzz_scalars role; done
for l in debug info warn error; do printf '%s' "$l" | put fuzz_scalars level; done

for t in "$OUT"/*; do
    echo "$(basename "$t"): $(ls "$t" | wc -l) seeds, $(cat "$t"/* | wc -c) bytes"
done
