// The portal's two figures for `make bench` (docs/portal.md "Figures"),
// in headless Debian chromium (playwright-core) against a real cpqd on
// loopback:
//   1. first load of /portal/, cold (a new browser context: empty cache),
//      all assets: bytes received and milliseconds from navigation to
//      interactive (the module has run and drawn the sign-in form), median
//      and max of RUNS loads; also the first load of a signed-in partner
//      to an interactive catalog;
//   2. one configuration step on CNC-5AX-650, from the click to the
//      redrawn states (POST /v1/configure with full explanations, then
//      the DOM), p50/p95/max over STEPS clicks.
// The aims (issue 15): < 300 KB and < 500 ms; < 100 ms p95.
// usage: node tests/bench/portal.mjs [BUILD_DIR]   (from the repository root)
import {join, resolve} from 'node:path';
import {createRequire} from 'node:module';

const root = resolve('.');
process.env.CPQD_BIN ||= join(root, process.argv[2] || 'build/release', 'cpqd');
const require = createRequire(join(root, 'tests/browser/package.json'));
const lib = await import(join(root, 'tests/browser/lib.mjs'));
const RUNS = Number(process.env.PORTAL_BENCH_RUNS || 10);
const STEPS = Number(process.env.PORTAL_BENCH_STEPS || 60);
void require;

const pct = (xs, p) => { const s = [...xs].sort((a, b) => a - b); return s[Math.min(s.length - 1, Math.ceil(p * s.length) - 1)]; };
const f = (x) => x.toFixed(1);

lib.preflight();
const srv = await lib.startServer();
const browser = await lib.launch();
try {
  for (const [what, signed] of [['sign-in page', false], ['catalog, signed in as a partner', true]]) {
    const times = [], bytes = [];
    for (let i = 0; i < RUNS; i++) {
      const ctx = await browser.newContext({viewport: {width: 1280, height: 800}});
      if (signed) {
        const r = await fetch(`${srv.url}/v1/session`, {method: 'POST', headers: {'Content-Type': 'application/json'},
          body: JSON.stringify({key: srv.keys.p201})});
        const token = /cpqd_session=([^;]+)/.exec(r.headers.get('set-cookie'))[1];
        await ctx.addCookies([{name: 'cpqd_session', value: token, url: srv.url, httpOnly: true, sameSite: 'Strict'}]);
      }
      const page = await ctx.newPage();
      let total = 0;
      page.on('response', async (r) => { try { total += (await r.body()).length; } catch { /* redirect */ } });
      const t0 = Date.now();
      await page.goto(`${srv.url}/portal/`);
      await page.waitForFunction(() => document.body.dataset.ready === 'true', null, {timeout: 10000});
      if (signed) await page.waitForSelector('li.card .price strong');
      times.push(Date.now() - t0);
      await page.waitForLoadState('networkidle');
      bytes.push(total);
      await ctx.close();
    }
    console.log(`first load of /portal/ (${what}), cold, ${RUNS} loads: ${Math.max(...bytes)} bytes ` +
      `(${f(Math.max(...bytes) / 1024)} KiB, every response), to interactive median ${pct(times, 0.5)} ms, max ${Math.max(...times)} ms`);
  }
  const page = await lib.newPage(browser, {lang: 'en'});
  await lib.signIn(page, srv, 'p201', 'en');
  await lib.go(page, '#/product/CNC-5AX-650');
  await page.waitForSelector('#price h3');
  const cycle = [['toolchanger', 'CNC-ATC-60'], ['spindle', 'CNC-SP-24K'], ['@voltage', '400'], ['toolchanger', 'CNC-ATC-30'],
    ['spindle', 'CNC-SP-18K'], ['@voltage', '380']];
  const ms = [];
  for (let i = 0; i < STEPS; i++) {
    const [path, value] = cycle[i % cycle.length];
    const sel = `fieldset[id="v-${path.replace(/[^A-Za-z0-9]/g, '_')}"] button.val[data-value="${value}"]`;
    await page.waitForSelector(sel);
    const before = await page.getAttribute('#configurator', 'data-steps');
    // timed inside the page: from the click event to the states redrawn
    const t = await page.evaluate(async ([s, b]) => {
      const t0 = performance.now();
      document.querySelector(s).click();
      await new Promise((ok) => {
        const check = () => (document.getElementById('configurator')?.dataset.steps !== b ? ok() : requestAnimationFrame(check));
        check();
      });
      return performance.now() - t0;
    }, [sel, before]);
    ms.push(t);
    await page.waitForSelector('#price h3');
  }
  console.log(`configuration step on CNC-5AX-650, click to redrawn states (explain: full), ${STEPS} clicks: ` +
    `p50 ${f(pct(ms, 0.5))} ms, p95 ${f(pct(ms, 0.95))} ms, max ${f(Math.max(...ms))} ms`);
} finally {
  await browser.close();
  await srv.stop();
}
