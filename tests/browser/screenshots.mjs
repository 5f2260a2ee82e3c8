// `make screenshots`: the images of docs/portal.md and the README
// (docs/img/portal-STEP-LANG-SIZE.png), each step of a partner's visit in
// Chinese and English, at 1280 px (desktop) and 360 px wide, taken from a
// real cpqd on the sample catalogs (--clock 2026-12-01) in headless
// Debian chromium. Viewport-sized PNGs (not the whole page), to stay small.
// usage: node tests/browser/screenshots.mjs OUT_DIR
import {mkdirSync, statSync} from 'node:fs';
import {join} from 'node:path';
import {preflight, startServer, launch, newPage, signIn, go, ready, apiAs} from './lib.mjs';

const out = process.argv[2] || 'docs/img';
mkdirSync(out, {recursive: true});
preflight();
const srv = await startServer();
const browser = await launch();
// data the pages show: stock pushed by the ERP, an accepted quote with an overdue advance
await apiAs(srv, 'crm', 'PUT', '/v1/stock', {items: [
  {sku: 'CNC-PRB-TOUCH', warehouse: 'SZ', quantity: '4', lead_time_days: 2},
  {sku: 'CNC-PRB-LASER', warehouse: 'SH', quantity: '2', lead_time_days: 3},
  {sku: 'CNC-5AX-650', warehouse: 'SZ', quantity: '3', lead_time_days: 10},
  ...['CNC-SP-24K', 'CNC-CTL-PRO', 'CNC-IO-16', 'CNC-SW-5AXIS', 'CNC-SW-HSM', 'CNC-ATC-30', 'CNC-CHL-2000', 'CNC-SVC-TRAIN-PRG']
    .map((sku) => ({sku, warehouse: 'SH', quantity: '6', lead_time_days: 4}))]});
const q = await apiAs(srv, 'p201', 'POST', '/v1/quotes', {customer: {id: 'C-5'}, lines: [{sku: 'CNC-PRB-LASER', quantity: '1'}]});
await apiAs(srv, 'p201', 'POST', `/v1/quotes/${q.data.id}/submit`, {});
await apiAs(srv, 'rep', 'POST', `/v1/quotes/${q.data.id}/accept`, {signed_on: '2026-10-01', lines: {1: {payment_term: 'cnc-30-60-10'}}});

const shots = [];
async function shot(p, name) {
  const file = join(out, `portal-${name}.png`);
  await p.waitForTimeout(150); // let the last paint land
  await p.screenshot({path: file, fullPage: false});
  shots.push([file, statSync(file).size]);
}

try {
  for (const lang of ['zh', 'en']) {
    for (const [size, viewport] of [['desktop', {width: 1280, height: 800}], ['360', {width: 360, height: 740}]]) {
      const tag = `${lang}-${size}`;
      const p = await newPage(browser, {viewport, lang});
      await p.goto(`${srv.url}/portal/`);
      await ready(p);
      if (lang === 'en') {
        await p.click('#lang');
        await p.waitForFunction(() => document.documentElement.lang === 'en');
      }
      await shot(p, `1-signin-${tag}`);
      await signIn(p, srv, 'p201', lang);
      await p.waitForSelector('li.card .price strong');
      await shot(p, `2-catalog-${tag}`);
      await go(p, '#/product/CNC-5AX-650');
      await p.waitForSelector('#price h3');
      await p.fill('#customer', 'C-77');
      await p.fill('#attr-plant_code', 'GD-0001');
      await p.press('#attr-plant_code', 'Tab');
      await p.waitForSelector('#total');
      await p.click('button[data-value="CNC-SP-24K"]');
      await p.waitForFunction(() => document.querySelector('button[data-value="480"]')?.dataset.state === 'excluded');
      await p.waitForSelector('#total');
      await p.hover('button[data-value="480"]', {force: true});
      if (size === '360') await p.evaluate(() => document.querySelector('fieldset[id="v-_voltage"]').scrollIntoView());
      await shot(p, `3-configure-${tag}`);
      await p.mouse.move(0, 0);
      await p.evaluate(() => document.getElementById('price').scrollIntoView());
      await shot(p, `4-price-${tag}`);
      await p.click('#save');
      await p.waitForSelector('#quote-status');
      await p.click('#quote-actions button[data-action="submit"]');
      await p.waitForFunction(() => document.querySelector('#quote-actions button[data-action="accept"]'));
      await shot(p, `5-quote-${tag}`);
      await go(p, '#/contracts');
      await p.waitForSelector('section.contract');
      await shot(p, `6-contracts-${tag}`);
      await p.ctx.close();
    }
  }
} finally {
  await browser.close();
  await srv.stop();
}
for (const [f, n] of shots) console.log(`${f}: ${(n / 1024).toFixed(0)} KiB`);
