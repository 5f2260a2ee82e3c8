# Prints every run of adjacent C string literals of a C file as one line,
# escapes kept (a C literal holds no raw newline): "a" "b" and "a" \
# "b" are one run "ab". Comments and character literals are skipped.
# Used by tests/fuzz/mkcorpus.sh to find the request bodies the tests use.
# usage: awk -f tests/fuzz/c-strings.awk FILE.c
{ src = src $0 "\n" }
END {
    n = length(src); i = 1; run = ""; inrun = 0
    while (i <= n) {
        c = substr(src, i, 1)
        if (c == "/" && substr(src, i + 1, 1) == "/") {
            j = index(substr(src, i), "\n"); i += (j ? j : n); continue
        }
        if (c == "/" && substr(src, i + 1, 1) == "*") {
            j = index(substr(src, i + 2), "*/"); i += (j ? j + 3 : n); continue
        }
        if (c == "'") {
            i++
            while (i <= n && substr(src, i, 1) != "'") { if (substr(src, i, 1) == "\\") i++; i++ }
            i++; if (inrun) { print run; run = ""; inrun = 0 } continue
        }
        if (c == "\"") {
            i++; s = i
            while (i <= n && substr(src, i, 1) != "\"") { if (substr(src, i, 1) == "\\") i++; i++ }
            run = run substr(src, s, i - s); inrun = 1; i++; continue
        }
        if (c == "\\" && substr(src, i + 1, 1) == "\n") { i += 2; continue }
        if (c ~ /[ \t\n]/) { i++; continue }
        if (inrun) { print run; run = ""; inrun = 0 }
        i++
    }
    if (inrun) print run
}
