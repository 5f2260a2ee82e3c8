#!/usr/bin/python3
"""Checks that each `curl` command of a doc page sends exactly the request
of the executable example under it.

usage: check_curl.py PAGE.md... [--summary FILE]

A ```sh block whose first line starts with `curl` must be followed (prose
may come between) by a ```http block (docs/README.md "Examples that
run"), which tests/test_docs.c sends to a real server. The curl command
(backslash-continued lines joined, split as the shell would) must give:
the same method (-X, else POST with -d, else GET); the same path and
query after http://127.0.0.1:8080; the same headers, Content-Type
aside, with `Authorization: Bearer $ROLE` for `<role>` (REP for <rep>);
and with -d a body equal as JSON to the example's. Shell variables
`$QID` stand for the example's `{{qid}}` (lower case).

Prints one line per page, then "curl examples: N passed, M failed" (one
count per page); FILE gets "N M". Exits 1 on any mismatch, or if a page
has no curl command.
"""
import json
import re
import shlex
import sys

BASE = "http://127.0.0.1:8080"


def blocks(text):
    """(info string, body, line number) of every fenced block."""
    out = []
    lines = text.split("\n")
    i = 0
    while i < len(lines):
        m = re.match(r"^```(\S.*)?$", lines[i])
        if m and lines[i] != "```":
            info, start, body = m.group(1) or "", i + 1, []
            i += 1
            while i < len(lines) and lines[i] != "```":
                body.append(lines[i])
                i += 1
            out.append((info.strip(), "\n".join(body), start))
        i += 1
    return out


def unvar(s):
    """$QID -> {{qid}}, as the examples write captured values."""
    return re.sub(r"\$([A-Z][A-Z0-9_]*)", lambda m: "{{%s}}" % m.group(1).lower(), s)


def parse_curl(cmd):
    words = shlex.split(cmd.replace("\\\n", " "))
    if not words or words[0] != "curl":
        raise ValueError("not a curl command")
    method, url, headers, data = None, None, {}, None
    i = 1
    while i < len(words):
        w = words[i]
        if w in ("-X", "--request"):
            method = words[i + 1]
            i += 2
        elif w in ("-H", "--header"):
            k, _, v = words[i + 1].partition(":")
            headers[k.strip().lower()] = v.strip()
            i += 2
        elif w in ("-d", "--data", "--data-raw", "--data-binary"):
            data = words[i + 1]
            i += 2
        elif w.startswith("-"):
            i += 1  # -s and the like: no effect on the request
        else:
            url = w
            i += 1
    if not url or not url.startswith(BASE + "/"):
        raise ValueError("the URL must start with %s/" % BASE)
    method = method or ("POST" if data is not None else "GET")
    headers.pop("content-type", None)
    auth = headers.get("authorization")
    if auth:
        m = re.fullmatch(r"Bearer \$([A-Z]+)", auth)
        if not m:
            raise ValueError("Authorization must be 'Bearer $ROLE'")
        headers["authorization"] = "Bearer <%s>" % m.group(1).lower()
    return method, unvar(url[len(BASE):]), {k: unvar(v) for k, v in headers.items()}, data


def parse_http(body):
    head, _, payload = body.partition("\n\n")
    lines = head.split("\n")
    method, _, path = lines[0].partition(" ")
    headers = {}
    for h in lines[1:]:
        k, _, v = h.partition(":")
        headers[k.strip().lower()] = v.strip()
    headers.pop("content-type", None)
    return method, path.strip(), headers, payload.strip() or None


def compare(curl, http):
    cm, cp, ch, cd = curl
    hm, hp, hh, hd = http
    if cm != hm:
        return "method %s, the example %s" % (cm, hm)
    if cp != hp:
        return "path %s, the example %s" % (cp, hp)
    if ch != hh:
        return "headers %s, the example %s" % (sorted(ch.items()), sorted(hh.items()))
    if (cd is None) != (hd is None):
        return "a body on one side only"
    if cd is not None and json.loads(unvar(cd)) != json.loads(hd):
        return "the bodies differ as JSON"
    return None


def check_page(path):
    with open(path, encoding="utf-8") as f:
        bs = blocks(f.read())
    problems, n = [], 0
    for k, (info, body, line) in enumerate(bs):
        if info != "sh" or not body.lstrip().startswith("curl"):
            continue
        n += 1
        nxt = next((b for b in bs[k + 1:] if b[0] == "http" or (b[0] == "sh" and
                    b[1].lstrip().startswith("curl"))), None)
        if not nxt or nxt[0] != "http":
            problems.append("%s:%d: a curl command without its http example" % (path, line))
            continue
        try:
            msg = compare(parse_curl(body.strip()), parse_http(nxt[1]))
        except (ValueError, IndexError) as e:
            msg = str(e)
        if msg:
            problems.append("%s:%d: %s (example at line %d)" % (path, line, msg, nxt[2]))
    if n == 0:
        problems.append("%s: no curl command" % path)
    return n, problems


def main(argv):
    summary = None
    if "--summary" in argv:
        i = argv.index("--summary")
        summary = argv[i + 1]
        argv = argv[:i] + argv[i + 2:]
    pages = argv[1:]
    if not pages:
        sys.stderr.write(__doc__)
        return 2
    passed = failed = 0
    for p in pages:
        n, problems = check_page(p)
        print("  %s %s: %d curl command(s)" % ("ok  " if not problems else "FAIL", p, n))
        for m in problems:
            print("       " + m)
        if problems:
            failed += 1
        else:
            passed += 1
    print("curl examples: %d passed, %d failed" % (passed, failed))
    if summary:
        with open(summary, "w") as f:
            f.write("%d %d\n" % (passed, failed))
    return 0 if failed == 0 else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv))
