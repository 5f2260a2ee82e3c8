// A spec-driven client: drives a real cpqd from docs/openapi.yaml alone.
//
// usage: node tests/spec/drive.mjs SPEC CPQD_BIN REPO_ROOT [SUMMARY_FILE]
//
// It knows no route of cpqd. For every operation of the spec, in the
// order the spec lists them, it builds the request from the spec: the
// path from the template with each parameter's `example` (or a value a
// hook captured earlier under the parameter's name), the query from the
// parameters that have an `example`, the body from the request body's
// `example`, the key from the operation's `x-cpqd-roles` (the first role
// of the hooks' preference the operation admits). It then checks that the
// answer has a 2xx status the operation documents, the documented media
// type, and a body valid against the documented schema (JSON Schema 2020-12
// with Ajv). For every operation that needs a key it also sends the same
// request without one and checks the documented 401.
//
// What the spec cannot know lives in hooks.js beside this file, as dredd's
// hooks would: the API keys to make, how to start the server, values to
// capture from answers (ids), and requests that set up a precondition (a
// quote waiting for approval before approving one).
//
// The server is `cpqd serve` on the sample catalogs with --clock, a fresh
// database and key file in a temporary directory, on a loopback port;
// every request has a 10 s deadline and the whole run a 120 s one.
// Prints one line per operation and "spec client: N passed, M failed";
// SUMMARY_FILE gets "N M". Exits 1 on any failure.

import { spawn, execFileSync } from "node:child_process";
import { mkdtempSync, openSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";

import Ajv2020 from "ajv/dist/2020.js";
import YAML from "yaml";

import * as hooks from "./hooks.js";

const METHODS = ["get", "put", "post", "delete", "patch"];
const REQUEST_MS = 10000;
const RUN_MS = 120000;

function die(msg) {
  console.error("spec client: " + msg);
  process.exit(2);
}

const [specPath, bin, root, summary] = process.argv.slice(2);
if (!specPath || !bin || !root) die("usage: drive.mjs SPEC CPQD_BIN REPO_ROOT [SUMMARY_FILE]");
const spec = YAML.parse(readFileSync(specPath, "utf8"));

const ajv = new Ajv2020({ strict: false, allErrors: false, validateSchema: false });
ajv.addSchema(spec, "spec");
const escape = (s) => encodeURIComponent(s.replace(/~/g, "~0").replace(/\//g, "~1"));
const validators = new Map();
function validatorAt(tokens) {
  const ref = "spec#/" + tokens.map(escape).join("/");
  if (!validators.has(ref)) validators.set(ref, ajv.compile({ $ref: ref }));
  return validators.get(ref);
}
function deref(node) {
  while (node && node.$ref) {
    node = node.$ref.slice(2).split("/").reduce((n, t) => n[t.replace(/~1/g, "/").replace(/~0/g, "~")], spec);
  }
  return node;
}

// ---- the server ----

const dir = mkdtempSync(join(tmpdir(), "cpqd-spec-"));
const keysFile = join(dir, "keys.yaml");
const keys = {};
for (const who of hooks.keys) {
  const [role, partner] = who.split(":");
  const argv = ["key", "new", "--keys", keysFile, "--role", role];
  if (partner) argv.push("--partner", partner);
  keys[who] = execFileSync(bin, argv, { encoding: "utf8", stdio: ["ignore", "pipe", "ignore"] }).trim();
}
const logPath = join(dir, "cpqd.log");
writeFileSync(join(dir, "webhook-secret"), "spec-client-secret\n");
const args = ["serve", "--listen", "127.0.0.1:0", "--keys", keysFile, "--db", join(dir, "cpqd.db"),
  "--catalogs", join(root, "catalogs"), "--rules", join(root, "rules"),
  ...hooks.serveArgs({ dir })];
const logFd = openSync(logPath, "w");
const server = spawn(bin, args, { stdio: ["ignore", logFd, logFd] });
let exited = null;
server.on("exit", (code, sig) => { exited = code ?? 128; if (sig) exited = sig; });

const runTimer = setTimeout(() => {
  console.error("spec client: the run took more than " + RUN_MS / 1000 + " s");
  server.kill("SIGKILL");
  process.exit(1);
}, RUN_MS);

async function sleep(ms) { return new Promise((r) => setTimeout(r, ms)); }

async function waitPort() {
  for (let i = 0; i < 1500 && exited === null; i++) {
    const m = readFileSync(logPath, "utf8").match(/listening on 127\.0\.0\.1:(\d+)/);
    if (m) return Number(m[1]);
    await sleep(10);
  }
  die("the server did not start:\n" + readFileSync(logPath, "utf8"));
}
const base = "http://127.0.0.1:" + (await waitPort());

// ---- requests ----

async function send(method, path, { role, body, headers = {} } = {}) {
  const h = { ...headers };
  if (role) h.Authorization = "Bearer " + keys[hooks.keyFor(role)];
  let payload;
  if (body !== undefined) {
    h["Content-Type"] = h["Content-Type"] || "application/json";
    payload = typeof body === "string" ? body : JSON.stringify(body);
  }
  const res = await fetch(base + path, { method, headers: h, body: payload,
    signal: AbortSignal.timeout(REQUEST_MS) });
  const text = await res.text();
  let json;
  try { json = JSON.parse(text); } catch { json = undefined; }
  return { status: res.status, type: res.headers.get("content-type") || "", headers: res.headers,
    text, json };
}

// what hooks may call: a request as a role, failing loudly if not 2xx
const api = {
  vars: {},
  keys,
  send,
  async call(method, path, body, role = "rep") {
    const r = await send(method, path, { role, body });
    if (r.status < 200 || r.status > 299) {
      throw new Error(`hook request ${method} ${path} answered ${r.status}: ${r.text.slice(0, 300)}`);
    }
    return r.json;
  },
  sleep,
};

// ---- one operation ----

function firstExample(obj) {
  if (!obj) return undefined;
  if ("example" in obj) return obj.example;
  if (obj.examples && typeof obj.examples === "object") {
    const first = Object.values(obj.examples)[0];
    return first && "value" in first ? first.value : undefined;
  }
  if (obj.schema) {
    const s = deref(obj.schema);
    if (s && Array.isArray(s.examples)) return s.examples[0];
  }
  return undefined;
}

function buildRequest(template, method, op, pathItem) {
  const t = { template, method: method.toUpperCase(), op, params: {}, query: {}, body: undefined };
  const params = [...(pathItem.parameters || []), ...(op.parameters || [])].map(deref);
  for (const p of params) {
    const v = p.in === "path" ? (api.vars[p.name] ?? firstExample(p)) : firstExample(p);
    if (v === undefined) continue;
    if (p.in === "path") t.params[p.name] = String(v);
    else if (p.in === "query") t.query[p.name] = String(v);
  }
  const rb = deref(op.requestBody);
  if (rb && rb.content && rb.content["application/json"]) {
    t.body = firstExample(rb.content["application/json"]);
  } else if (rb && rb.content) {
    // a body of another type (a bank statement: text/csv): the first
    // media type with an example, sent as it is
    for (const [media, c] of Object.entries(rb.content)) {
      const ex = firstExample(c);
      if (typeof ex !== "string") continue;
      t.body = ex;
      t.headers = { "Content-Type": media };
      break;
    }
  }
  const roles = op["x-cpqd-roles"] || [];
  t.role = roles.includes("public") ? null : hooks.rolePreference.find((r) => roles.includes(r));
  return t;
}

function target(t) {
  let path = t.template.replace(/\{([^}]+)\}/g, (_, n) => {
    if (!(n in t.params)) throw new Error(`no value for path parameter ${n}`);
    return encodeURIComponent(t.params[n]);
  });
  const q = new URLSearchParams(t.query).toString();
  return q ? path + "?" + q : path;
}

function check(t, res, wantStatus) {
  const responses = t.op.responses || {};
  const documented = Object.keys(responses).filter((s) => wantStatus(Number(s)));
  if (!documented.includes(String(res.status))) {
    return `status ${res.status}, expected ${documented.join(" or ")}: ${res.text.slice(0, 300)}`;
  }
  const resp = deref(responses[String(res.status)]);
  const content = resp.content || {};
  const media = res.type.split(";")[0].trim();
  const key = Object.keys(content).find((k) => k.split(";")[0].trim() === media);
  if (!key) return `Content-Type ${res.type} is not documented (${Object.keys(content).join(", ")})`;
  if (media !== "application/json") return null;
  if (res.json === undefined) return "the body is not JSON";
  const respPtr = responses[String(res.status)].$ref
    ? responses[String(res.status)].$ref.slice(2).split("/").map((s) => s.replace(/~1/g, "/"))
    : ["paths", t.template, t.method.toLowerCase(), "responses", String(res.status)];
  const validate = validatorAt([...respPtr, "content", key, "schema"]);
  if (validate(res.json)) return null;
  const e = validate.errors[0];
  return `at $${e.instancePath.replace(/\//g, ".")}: ${e.message} ${JSON.stringify(e.params)}`;
}

const results = [];
async function run(template, method, op, pathItem) {
  const id = op.operationId;
  const t = buildRequest(template, method, op, pathItem);
  const line = { id, method: t.method, template, problems: [], checks: 0 };
  results.push(line);
  try {
    if (hooks.before[id]) await hooks.before[id](t, api);
    // without a key first: a 401 writes nothing
    if (t.role && (op.responses || {})["401"]) {
      const r = await send(t.method, target(t), { body: t.body, headers: t.headers });
      const p = check(t, r, (s) => s === 401);
      line.checks++;
      if (p) line.problems.push("without a key: " + p);
    }
    const r = await send(t.method, target(t), { role: t.role, body: t.body, headers: t.headers });
    const p = check(t, r, (s) => s >= 200 && s < 300);
    line.checks++;
    line.status = r.status;
    line.role = t.role || "no key";
    if (p) line.problems.push(p);
    else if (hooks.after[id]) await hooks.after[id](t, r.json, api);
  } catch (e) {
    line.problems.push(String(e && e.message ? e.message : e));
  }
}

for (const [template, item] of Object.entries(spec.paths)) {
  for (const m of METHODS) if (item[m]) await run(template, m, item[m], item);
}

// ---- the report ----

server.kill("SIGTERM");
for (let i = 0; i < 1500 && exited === null; i++) await sleep(10);
clearTimeout(runTimer);
let passed = 0;
let failed = 0;
console.log(`spec client: ${results.length} operations of ${specPath} against ${bin}`);
for (const r of results) {
  const ok = r.problems.length === 0;
  ok ? passed++ : failed++;
  console.log(`  ${ok ? "ok  " : "FAIL"} ${r.method.padEnd(4)} ${r.template.padEnd(56)} ${String(r.status ?? "-")} as ${r.role ?? "-"} (${r.checks} checks)`);
  for (const p of r.problems) console.log("       " + p);
}
if (exited !== 0) {
  console.log(`  FAIL the server exited with ${exited} on SIGTERM:\n` + readFileSync(logPath, "utf8").slice(-2000));
  failed++;
}
console.log(`spec client: ${passed} passed, ${failed} failed`);
if (summary) writeFileSync(summary, `${passed} ${failed}\n`);
rmSync(dir, { recursive: true, force: true });
process.exit(failed ? 1 : 0);
