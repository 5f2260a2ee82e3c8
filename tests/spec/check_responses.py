#!/usr/bin/python3
"""Checks every HTTP response the end-to-end suite received against
docs/openapi.yaml, and reports which operations the suite exercised.

usage: check_responses.py SPEC RECORD [SUMMARY]

RECORD is what tests/testutil.h's tu_http appends when CPQD_TEST_RECORD
names a file: per response a line "REC <method length> <path length>
<status> <content-type length> <body length>", then the method, the path
(with its query), the Content-Type and the body, raw, then "\n".

For each response: the operation is found from the method and the path
(the spec's path templates; HEAD is GET without a body). Its status must
be one the operation documents, its Content-Type the documented media
type, and a JSON body must validate against the documented schema
(JSON Schema 2020-12, as OpenAPI 3.1 defines it). A path no operation
serves must have answered 404, a method the path does not serve 405 (or
501 for a method libevent does not know), with the error schema.

Exits 1 if a response does not match, if no response was recorded, or if
an operation of the spec never got a 2xx answer in the suite (every
route must be exercised). Prints one line per operation, then
"spec responses: N passed, M failed", one count per operation plus one for
the responses no operation serves; SUMMARY (if given) gets "N M".

Python 3 with Debian's python3-yaml and python3-jsonschema (4.10; newer
versions work too).
"""
import collections
import json
import re
import sys
import warnings

import yaml

warnings.simplefilter("ignore", DeprecationWarning)
import jsonschema  # noqa: E402  (after the warning filter: RefResolver is deprecated in 4.18+)

METHODS = ("get", "put", "post", "delete", "options", "head", "patch", "trace")
MAX_REPORTED = 5  # failures printed per operation


def records(path):
    """Yields (method, target, status, content_type, body bytes)."""
    with open(path, "rb") as f:
        data = f.read()
    i = 0
    while i < len(data):
        nl = data.index(b"\n", i)
        head = data[i:nl].split()
        if len(head) != 6 or head[0] != b"REC":
            raise ValueError("malformed record at byte %d" % i)
        ml, pl, status, cl, bl = (int(x) for x in head[1:])
        i = nl + 1
        method = data[i:i + ml].decode("ascii", "replace")
        i += ml
        target = data[i:i + pl].decode("utf-8", "replace")
        i += pl
        ctype = data[i:i + cl].decode("ascii", "replace")
        i += cl
        body = data[i:i + bl]
        i += bl + 1
        yield method, target, status, ctype, body


class Spec:
    def __init__(self, doc):
        self.doc = doc
        self.resolver = jsonschema.RefResolver.from_schema(doc)
        self.ops = {}  # operationId -> (method, template, operation)
        self.routes = []  # (regex, template, {method: operationId})
        for template, item in doc.get("paths", {}).items():
            methods = {}
            for m in METHODS:
                if m in item:
                    op = item[m]
                    self.ops[op["operationId"]] = (m.upper(), template, op)
                    methods[m.upper()] = op["operationId"]
            rx = "^" + re.sub(r"\\\{[^/]*?\\\}", "[^/]+", re.escape(template)) + "$"
            self.routes.append((re.compile(rx), template, methods))
        # literal segments win over templated ones (as the server's table)
        self.routes.sort(key=lambda r: r[1].count("{"))
        self.validators = {}

    def deref(self, node):
        while isinstance(node, dict) and "$ref" in node and len(node) == 1:
            _, node = self.resolver.resolve(node["$ref"])
        return node

    def route(self, method, path):
        """(operationId or None, template or None)."""
        for rx, template, methods in self.routes:
            if rx.match(path):
                if method in methods:
                    return methods[method], template
                return None, template
        return None, None

    def validator(self, schema):
        key = json.dumps(schema, sort_keys=True)
        v = self.validators.get(key)
        if v is None:
            v = jsonschema.Draft202012Validator(schema, resolver=self.resolver)
            self.validators[key] = v
        return v

    def error_schema(self, status):
        name = "Error%d" % status
        if name in self.doc["components"]["schemas"]:
            return {"$ref": "#/components/schemas/" + name}
        return {"$ref": "#/components/schemas/Error"}


def media(ctype):
    return ctype.split(";")[0].strip().lower()


def check_body(spec, schema, body):
    """None if body (JSON) validates against schema, else a message."""
    try:
        doc = json.loads(body.decode("utf-8"))
    except (UnicodeDecodeError, ValueError) as e:
        return "body is not JSON: %s" % e
    errs = sorted(spec.validator(schema).iter_errors(doc), key=lambda e: list(e.absolute_path))
    if not errs:
        return None
    e = errs[0]
    where = "$" + "".join("[%d]" % p if isinstance(p, int) else ".%s" % p for p in e.absolute_path)
    return "at %s: %s (%d error%s)" % (where, e.message[:300], len(errs), "" if len(errs) == 1 else "s")


def check_one(spec, op_id, method, status, ctype, body):
    """None if the response matches the operation, else a message."""
    _, _, op = spec.ops[op_id]
    responses = op.get("responses", {})
    resp = responses.get(str(status))
    if resp is None:
        return "status %d is not documented (documented: %s)" % (status, ", ".join(sorted(responses)))
    resp = spec.deref(resp)
    content = resp.get("content")
    if method == "HEAD":
        return None if not body else "a HEAD answer with a body"
    if not content:
        return None if not body else "a body where the spec documents none"
    want = {media(k): v for k, v in content.items()}
    got = media(ctype)
    if got not in want:
        return "Content-Type '%s' is not documented (%s)" % (ctype, ", ".join(sorted(want)))
    schema = want[got].get("schema")
    if got != "application/json" or schema is None:
        return None
    return check_body(spec, schema, body)


def main(argv):
    if len(argv) not in (3, 4):
        sys.stderr.write(__doc__)
        return 2
    with open(argv[1], encoding="utf-8") as f:
        spec = Spec(yaml.safe_load(f))
    seen = collections.defaultdict(collections.Counter)  # op -> status counts
    fails = collections.defaultdict(list)  # op (or "(no operation)") -> messages
    unrouted = 0
    total = 0
    for method, target, status, ctype, body in records(argv[2]):
        total += 1
        path = target.split("?", 1)[0]
        lookup = "GET" if method == "HEAD" else method
        op_id, template = spec.route(lookup, path)
        if op_id is not None:
            seen[op_id][status] += 1
            msg = check_one(spec, op_id, method, status, ctype, body)
            if msg:
                fails[op_id].append("%s %s -> %d: %s" % (method, target[:120], status, msg))
            continue
        # no operation: the server must have refused it as no route serves it
        unrouted += 1
        want = (404,) if template is None else (405, 501)
        if method not in ("GET", "HEAD", "POST", "PUT", "DELETE", "PATCH", "OPTIONS"):
            want = want + (501, 400)
        if status not in want:
            hint = "no path of the spec matches" if template is None else \
                "the spec's %s has no %s" % (template, method.lower())
            fails["(no operation)"].append("%s %s -> %d: %s (expected %s; add the route to "
                                           "docs/openapi.yaml?)" % (method, target[:120], status,
                                                                    hint, "/".join(map(str, want))))
            continue
        msg = None if method == "HEAD" else check_body(spec, spec.error_schema(status), body)
        if msg:
            fails["(no operation)"].append("%s %s -> %d: %s" % (method, target[:120], status, msg))

    passed = failed = 0
    print("spec: %d responses checked against %s" % (total, argv[1]))
    for op_id, (m, template, _) in spec.ops.items():
        statuses = seen.get(op_id, {})
        ok2xx = any(200 <= s < 300 for s in statuses)
        desc = ", ".join("%d×%d" % (n, s) for s, n in sorted(statuses.items())) or "never called"
        problems = list(fails.get(op_id, []))
        if not ok2xx:
            problems.append("never answered 2xx in the suite: no test exercises %s %s" % (m, template))
        print("  %-4s %-40s %-24s %s%s" % (m, template, op_id, "ok  " if not problems else "FAIL",
                                          desc))
        for p in problems[:MAX_REPORTED]:
            print("       " + p)
        if len(problems) > MAX_REPORTED:
            print("       ... and %d more" % (len(problems) - MAX_REPORTED))
        if problems:
            failed += 1
        else:
            passed += 1
    bad = fails.get("(no operation)", [])
    print("  responses no operation serves: %d%s" % (unrouted, "" if not bad else ", FAIL"))
    for p in bad[:MAX_REPORTED * 2]:
        print("       " + p)
    if bad:
        failed += 1
    else:
        passed += 1
    if total == 0:
        print("spec: no response was recorded (is CPQD_TEST_RECORD set?)")
        failed += 1
    print("spec responses: %d passed, %d failed" % (passed, failed))
    if len(argv) == 4:
        with open(argv[3], "w") as f:
            f.write("%d %d\n" % (passed, failed))
    return 0 if failed == 0 else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv))
