// What the portal's browser scripts share (tests/browser/*.mjs,
// docs/portal.md "Tests"): a real cpqd on loopback with API keys made by
// `cpqd key new`, a fresh SQLite store and a fixed --clock; Debian's
// chromium driven by playwright-core; signing in through the page.
import {spawn, execFileSync} from 'node:child_process';
import {appendFileSync, mkdtempSync, readFileSync, rmSync, existsSync} from 'node:fs';
import {tmpdir} from 'node:os';
import {join, resolve, dirname} from 'node:path';
import {fileURLToPath} from 'node:url';
import {chromium} from 'playwright-core';

export const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '../..');
export const BIN = process.env.CPQD_BIN || join(ROOT, 'build/release/cpqd');
export const CHROMIUM = process.env.CHROMIUM || '/usr/bin/chromium';
export const TODAY = '2026-12-01';

// Fails loudly when what the tests need is not there.
export function preflight() {
  for (const [what, path] of [['cpqd', BIN], ['chromium', CHROMIUM]]) {
    if (!existsSync(path)) throw new Error(`${what} is missing at ${path} (make; sh scripts/install-deps.sh)`);
  }
}

const KEYS = [
  ['p201', 'partner', 'P-201'], ['p202', 'partner', 'P-202'], ['p101', 'partner', 'P-101'],
  ['rep', 'rep'], ['manager', 'manager'], ['crm', 'crm'], ['admin', 'admin'],
];

// Starts cpqd serve on a free loopback port; resolves with {url, keys, stop}.
export async function startServer(extra = []) {
  const dir = mkdtempSync(join(tmpdir(), 'cpqd-portal-'));
  const keyFile = join(dir, 'keys.yaml');
  const keys = {};
  for (const [name, role, partner] of KEYS) {
    const args = ['key', 'new', '--keys', keyFile, '--role', role];
    if (partner) args.push('--partner', partner);
    keys[name] = execFileSync(BIN, args, {stdio: ['ignore', 'pipe', 'ignore']}).toString().trim();
  }
  const args = ['serve', '--catalogs', join(ROOT, 'catalogs'), '--rules', join(ROOT, 'rules'),
    '--listen', '127.0.0.1:0', '--threads', '2', '--keys', keyFile, '--db', join(dir, 'cpqd.db'),
    '--clock', TODAY, ...extra];
  const proc = spawn(BIN, args, {stdio: ['ignore', 'pipe', 'pipe']});
  let log = '';
  const port = await new Promise((ok, fail) => {
    const timer = setTimeout(() => fail(new Error(`cpqd did not start:\n${log}`)), 15000);
    const watch = (b) => {
      log += b.toString();
      const m = log.match(/listening on 127\.0\.0\.1:(\d+)/);
      if (m) { clearTimeout(timer); ok(Number(m[1])); }
    };
    proc.stdout.on('data', watch);
    proc.stderr.on('data', watch);
    proc.on('exit', (code) => { clearTimeout(timer); fail(new Error(`cpqd exited (${code}):\n${log}`)); });
  });
  const url = `http://127.0.0.1:${port}`;
  return {
    url, keys, dir,
    log: () => log,
    async stop() {
      proc.removeAllListeners('exit');
      const done = new Promise((ok) => proc.once('exit', ok));
      proc.kill('SIGTERM');
      await Promise.race([done, new Promise((ok) => setTimeout(ok, 5000))]);
      rmSync(dir, {recursive: true, force: true});
      // a sanitizer build (CPQD_BIN=build/asan/cpqd) reports here
      if (/AddressSanitizer|LeakSanitizer|runtime error:/.test(log)) throw new Error(`cpqd reported:\n${log}`);
    },
  };
}

// With CPQD_TEST_RECORD=FILE (make test), appends a response of cpqd to
// FILE in tests/testutil.h's format (tu_record), for
// tests/spec/check_responses.py to check against docs/openapi.yaml: a
// line "REC <method length> <path length> <status> <content-type length>
// <body length>", then the method, the path with its query, the
// Content-Type and the body, raw, and "\n"; one append per record.
export function record(srv, method, url, status, type, body) {
  const file = process.env.CPQD_TEST_RECORD;
  if (!file || !url.startsWith(srv.url + '/')) return;
  const u = new URL(url);
  const parts = [method, u.pathname + u.search, type || ''].map((x) => Buffer.from(x, 'utf8'));
  const b = Buffer.isBuffer(body) ? body : Buffer.from(body || '', 'utf8');
  const head = Buffer.from(`REC ${parts[0].length} ${parts[1].length} ${status} ${parts[2].length} ${b.length}\n`);
  try { appendFileSync(file, Buffer.concat([head, ...parts, b, Buffer.from('\n')])); } catch { /* best effort */ }
}

// A direct API call with a key (setting up data the way the ERP or CRM does).
export async function apiAs(srv, key, method, path, body) {
  const r = await fetch(srv.url + path, {method, headers: {Authorization: `Bearer ${srv.keys[key]}`,
    'Content-Type': 'application/json'}, body: body === undefined ? undefined : JSON.stringify(body)});
  const text = await r.text();
  record(srv, method, srv.url + path, r.status, r.headers.get('content-type'), text);
  let data = null;
  try { data = JSON.parse(text); } catch { data = text; }
  return {status: r.status, data};
}

export async function launch() {
  return chromium.launch({executablePath: CHROMIUM, headless: true,
    args: ['--no-sandbox', '--disable-dev-shm-usage', '--disable-gpu', '--font-render-hinting=none']});
}

// A new page (own context: own cookies) that records every response the
// page receives, for the checks of what reaches it (and, with srv and
// CPQD_TEST_RECORD, for the API contract's).
export async function newPage(browser, opts = {}, srv = null) {
  const ctx = await browser.newContext({viewport: opts.viewport || {width: 1280, height: 900},
    locale: opts.lang === 'en' ? 'en-US' : 'zh-CN', deviceScaleFactor: 1});
  const page = await ctx.newPage();
  page.responses = [];
  page.consoleErrors = [];
  page.on('console', (m) => { if (m.type() === 'error') page.consoleErrors.push(m.text()); });
  page.on('pageerror', (e) => page.consoleErrors.push(String(e)));
  page.on('response', async (r) => {
    const entry = {url: r.url(), status: r.status(), headers: r.headers(), body: null};
    page.responses.push(entry);
    let raw = null;
    try { raw = await r.body(); } catch { raw = null; }
    entry.body = raw ? raw.toString('utf8') : '';
    if (srv && raw) record(srv, r.request().method(), r.url(), r.status(), r.headers()['content-type'], raw);
  });
  page.ctx = ctx;
  return page;
}

export async function ready(page) {
  await page.waitForFunction(() => document.body.dataset.ready === 'true', null, {timeout: 10000});
}

export async function go(page, hash) {
  await page.evaluate((h) => { location.hash = h; }, hash);
  await ready(page);
}

// Signs in through the form as srv.keys[who]; lands on the catalog.
export async function signIn(page, srv, who, lang) {
  await page.goto(`${srv.url}/portal/`);
  await ready(page);
  if (lang === 'en' && (await page.getAttribute('html', 'lang')) !== 'en') {
    await page.click('#lang');
    await page.waitForFunction(() => document.documentElement.lang === 'en' && document.getElementById('key'));
  }
  await page.fill('#key', srv.keys[who]);
  await page.click('form.login button[type=submit]');
  await page.waitForSelector('#cards, .catalog', {timeout: 10000});
  await ready(page);
}

// Runs the named async tests in order; prints one line each and a
// summary "browser: N passed, N failed"; writes "N M" to $CPQD_SUMMARY.
export async function run(name, tests) {
  let passed = 0, failed = 0;
  for (const [label, fn] of tests) {
    const t0 = Date.now();
    try {
      await Promise.race([fn(), new Promise((_, fail) => setTimeout(() => fail(new Error('timed out after 60 s')), 60000))]);
      passed++;
      console.log(`ok - ${name}: ${label} (${Date.now() - t0} ms)`);
    } catch (e) {
      failed++;
      if (process.env.PORTAL_DEBUG && globalThis.lastPage) {
        console.log(await globalThis.lastPage.innerText('body').catch(() => ''));
        for (const r of globalThis.lastPage.responses.filter((x) => x.url.includes(process.env.PORTAL_DEBUG))) console.log(r.url, r.status, r.body);
      }
      console.log(`not ok - ${name}: ${label}\n  ${String(e.stack || e).split('\n').join('\n  ')}`);
    }
  }
  return {passed, failed};
}

export function readJSON(path) {
  return JSON.parse(readFileSync(path, 'utf8'));
}
