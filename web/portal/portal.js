// cpqd ordering portal (docs/portal.md): one ES module, no framework, no
// build step. It calls cpqd's own API with the session cookie (HttpOnly:
// this script never sees it) and the session's CSRF token on every change.
// The API key typed at sign-in goes to POST /v1/session and nowhere else:
// it is not kept in a variable, in storage or in the DOM.
// Every element is built with textContent (no innerHTML): catalog text and
// API answers can never become markup.
import {STRINGS} from './i18n.js';

const S = {
  lang: document.documentElement.lang === 'en' ? 'en' : 'zh',
  session: null,      // GET /v1/session: role, partner, csrf_token, today
  products: null,     // [{sku, name, category, catalog}], sellable, this caller's catalogs
  details: new Map(), // sku -> GET /v1/products/{sku}
  cat: {category: '', q: '', page: 1},
  cfg: null,          // the product page being configured
  customer: '',
  notice: '',
};
const PER_PAGE = 12;
const STAFF = ['rep', 'manager', 'admin'];

// ---- small helpers ----

const t = (k, vars) => {
  let s = STRINGS[S.lang][k] ?? STRINGS.en[k] ?? k;
  for (const [n, v] of Object.entries(vars || {})) s = s.replace(`{${n}}`, v);
  return s;
};

function h(tag, attrs, ...kids) {
  const el = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs || {})) {
    if (v === null || v === undefined || v === false) continue;
    if (k === 'class') el.className = v;
    else if (k.startsWith('on')) el.addEventListener(k.slice(2), v);
    else if (k === 'text') el.textContent = v;
    else el.setAttribute(k, v === true ? '' : v);
  }
  for (const kid of kids.flat(Infinity)) {
    if (kid === null || kid === undefined || kid === false) continue;
    el.append(kid instanceof Node ? kid : document.createTextNode(String(kid)));
  }
  return el;
}

// Replaces el's children with kids (nested arrays flattened, null and
// false left out).
function put(el, ...kids) {
  el.replaceChildren(...kids.flat(Infinity).filter((k) => k !== null && k !== undefined && k !== false)
    .map((k) => (k instanceof Node ? k : document.createTextNode(String(k)))));
}

const hasCJK = (s) => /[\u3000-\u9fff\uff00-\uffef]/.test(s);

// Catalog names are "中文 English": the Chinese part up to the first
// space after which no Chinese character follows, then the English.
export function splitName(name) {
  const s = String(name || '');
  for (let i = s.indexOf(' '); i > 0; i = s.indexOf(' ', i + 1)) {
    const head = s.slice(0, i), tail = s.slice(i + 1);
    if (hasCJK(head) && !hasCJK(tail) && /[A-Za-z]/.test(tail)) return {zh: head, en: tail};
  }
  return {zh: s, en: s};
}
const nameIn = (name) => splitName(name)[S.lang];
const nameOther = (name) => splitName(name)[S.lang === 'zh' ? 'en' : 'zh'];

function money(v, cur) {
  if (v === null || v === undefined) return '—';
  // exact: group the digits of the decimal string itself, never a float
  const [i, f] = String(v).split('.');
  const neg = i.startsWith('-');
  const g = (neg ? i.slice(1) : i).replace(/\B(?=(\d{3})+(?!\d))/g, ',');
  return `${neg ? '-' : ''}${cur === 'CNY' || !cur ? '¥' : cur + ' '}${g}${f ? '.' + f : ''}`;
}

function announce(msg) {
  const live = document.getElementById('live');
  live.textContent = '';
  setTimeout(() => { live.textContent = msg; }, 30);
}

class ApiError extends Error {
  constructor(status, body) {
    super(body?.error?.message || `HTTP ${status}`);
    this.status = status;
    this.body = body;
  }
}

async function api(method, path, body, extra) {
  const headers = {Accept: 'application/json'};
  if (body !== undefined) headers['Content-Type'] = 'application/json';
  if (method !== 'GET' && S.session) headers['X-CSRF-Token'] = S.session.csrf_token;
  const r = await fetch(path, {method, headers: {...headers, ...(extra || {})}, credentials: 'same-origin',
    body: body === undefined ? undefined : JSON.stringify(body)});
  const data = await r.json().catch(() => null);
  if (r.status === 401 && path !== '/v1/session') {
    S.session = null;
    S.notice = t('expired');
    location.hash = '#/login';
    throw new ApiError(401, data);
  }
  if (!r.ok) throw new ApiError(r.status, data);
  return data;
}

const isStaff = () => S.session && STAFF.includes(S.session.role);
const isPartner = () => S.session && S.session.role === 'partner';

// ---- layout ----

function shell(content) {
  const nav = S.session ? h('nav', {'aria-label': 'main'},
    h('a', {href: '#/catalog'}, t('navCatalog')),
    h('a', {href: '#/quotes'}, t('navQuotes')),
    h('a', {href: '#/contracts'}, t('navContracts')),
    isStaff() ? h('a', {href: '#/approvals'}, t('navApprovals')) : null) : null;
  const who = S.session ? h('span', {class: 'who'}, `${t('signedInAs')}: `,
    S.session.partner ? nameIn(S.session.partner.name || S.session.partner.id) : S.session.role,
    ` (${S.session.role})`) : null;
  const header = h('header', {class: 'top'},
    h('a', {class: 'skip', href: '#main'}, t('skip')),
    h('h1', {class: 'brand'}, t('title')),
    nav,
    h('div', {class: 'tools'}, who,
      h('button', {type: 'button', id: 'lang', lang: S.lang === 'zh' ? 'en' : 'zh-CN', title: t('langLabel'),
        onclick: () => { S.lang = S.lang === 'zh' ? 'en' : 'zh'; render(); }}, t('lang')),
      S.session ? h('button', {type: 'button', id: 'signout', onclick: signOut}, t('signOut')) : null));
  const main = h('main', {id: 'main', tabindex: '-1'}, content);
  document.documentElement.lang = S.lang === 'zh' ? 'zh-CN' : 'en';
  document.title = t('title');
  const app = document.getElementById('app');
  put(app, header, main);
  return main;
}

function errorBox(e) {
  return h('p', {class: 'error', role: 'alert'}, `${t('error')}: ${e.message || e}`);
}

// ---- sign in / out ----

function viewLogin() {
  const input = h('input', {id: 'key', name: 'key', type: 'password', autocomplete: 'off', required: true,
    spellcheck: 'false'});
  const msg = h('p', {class: 'error', role: 'alert', id: 'login-error'}, S.notice || '');
  S.notice = '';
  const form = h('form', {class: 'login', onsubmit: async (ev) => {
    ev.preventDefault();
    const key = input.value;
    input.value = ''; // the key leaves the page's hands now
    try {
      S.session = await api('POST', '/v1/session', {key});
      S.products = null;
      if (location.hash === '#/catalog') render(); else location.hash = '#/catalog';
    } catch (e) {
      msg.textContent = e.status === 401 ? t('badKey') : `${t('error')}: ${e.message}`;
      input.focus();
    }
  }},
  h('h2', {}, t('signIn')),
  h('p', {}, t('signInHelp')),
  h('label', {for: 'key'}, t('apiKey')), input, msg,
  h('button', {type: 'submit', class: 'primary'}, t('signIn')));
  shell(form);
  input.focus();
}

async function signOut() {
  try { await api('DELETE', '/v1/session'); } catch (e) { /* signed out anyway */ }
  S.session = null;
  S.products = null;
  S.details.clear();
  S.cfg = null;
  if (location.hash === '#/login') render(); else location.hash = '#/login';
}

// ---- catalog ----

async function loadProducts() {
  if (S.products) return S.products;
  const cats = S.session.partner ? S.session.partner.catalogs : [null];
  const all = [];
  for (const c of cats) {
    const q = c ? `&catalog=${encodeURIComponent(c)}` : '';
    // every page of the list: `next` leads on until it is null (docs/api.md)
    for (let after = ''; after !== null; ) {
      const more = after ? `&after=${encodeURIComponent(after)}` : '';
      const r = await api('GET', `/v1/products?limit=500${q}${more}`);
      all.push(...r.items.filter((p) => p.sellable));
      after = r.next;
    }
  }
  S.products = all;
  return all;
}

async function detail(sku) {
  if (!S.details.has(sku)) S.details.set(sku, await api('GET', `/v1/products/${encodeURIComponent(sku)}`));
  return S.details.get(sku);
}

// The list price of the book that prices this caller today: the most
// specific audience (the partner's own or its segment's) over "all".
function partnerPrice(d) {
  const today = S.session.today;
  const live = (d.prices || []).filter((p) => p.valid_from <= today && (!p.valid_to || p.valid_to >= today));
  live.sort((a, b) => (a.audience === 'all') - (b.audience === 'all'));
  return live[0] || null;
}

const configurable = (d) => (d.groups && d.groups.length) || (d.constraints && d.constraints.length);

function availBadge(a) {
  if (!a) return h('span', {class: 'avail unknown'}, t('unknown'));
  return h('span', {class: `avail ${a.status}`}, t(a.status),
    a.earliest_delivery ? ` · ${t('earliest')} ${a.earliest_delivery}` : '');
}

async function stockOf(skus, qtys) {
  if (!skus.length) return null;
  let path = `/v1/stock?sku=${skus.map(encodeURIComponent).join(',')}`;
  if (qtys) path += `&quantity=${qtys.join(',')}`;
  return api('GET', path);
}

async function viewCatalog() {
  const main = shell(h('p', {}, t('loading')));
  let items;
  try { items = await loadProducts(); } catch (e) { put(main, errorBox(e)); return; }
  const {category, q} = S.cat;
  const cats = [...new Set(items.map((p) => p.category))].sort();
  const ql = q.toLowerCase();
  const shown = items.filter((p) => (!category || p.category === category) &&
    (!ql || p.sku.toLowerCase().includes(ql) || p.name.toLowerCase().includes(ql)));
  const pages = Math.max(1, Math.ceil(shown.length / PER_PAGE));
  S.cat.page = Math.min(S.cat.page, pages);
  const page = shown.slice((S.cat.page - 1) * PER_PAGE, S.cat.page * PER_PAGE);
  const search = h('input', {id: 'search', type: 'search', value: q, 'aria-label': t('search'), placeholder: t('search')});
  const side = h('aside', {class: 'cats', 'aria-label': t('categories')},
    h('h2', {}, t('categories')),
    h('ul', {}, [''].concat(cats).map((c) => h('li', {},
      h('button', {type: 'button', class: c === category ? 'cat on' : 'cat', 'aria-pressed': String(c === category),
        onclick: () => { S.cat = {category: c, q: S.cat.q, page: 1}; render(); }}, c ? c.replace(/_/g, ' ') : t('allCategories'))))));
  const grid = h('ul', {class: 'cards', id: 'cards'});
  const pager = h('nav', {class: 'pager', 'aria-label': t('page')},
    h('button', {type: 'button', disabled: S.cat.page <= 1, onclick: () => { S.cat.page--; render(); }}, t('prev')),
    h('span', {}, `${t('page')} ${S.cat.page} / ${pages}`),
    h('button', {type: 'button', disabled: S.cat.page >= pages, onclick: () => { S.cat.page++; render(); }}, t('next')));
  put(main, h('div', {class: 'catalog'}, side, h('section', {class: 'products', 'aria-label': t('navCatalog')},
    h('form', {class: 'search', role: 'search', onsubmit: (ev) => { ev.preventDefault(); S.cat = {category, q: search.value.trim(), page: 1}; render(); }},
      search, h('button', {type: 'submit'}, t('searchBtn'))),
    page.length ? grid : h('p', {}, t('noProducts')), pager)));
  const stock = await stockOf(page.map((p) => p.sku)).catch(() => null);
  const avail = new Map((stock?.items || []).map((i) => [i.sku, i]));
  const cards = await Promise.all(page.map(async (p) => {
    const d = await detail(p.sku).catch(() => null);
    const price = d && partnerPrice(d);
    const conf = d && configurable(d);
    return h('li', {class: 'card', 'data-sku': p.sku},
      h('h3', {}, nameIn(p.name)),
      h('p', {class: 'alt', lang: S.lang === 'zh' ? 'en' : 'zh-CN'}, nameOther(p.name)),
      h('p', {class: 'sku'}, p.sku),
      h('p', {class: 'price'}, h('span', {class: 'label'}, t('yourPrice')), ' ',
        price ? h('strong', {}, money(price.list, price.currency)) : '—',
        conf ? h('span', {class: 'note'}, ` (${t('priceOnConfig')})`) : null),
      availBadge(avail.get(p.sku)),
      h('a', {class: 'button', href: `#/product/${encodeURIComponent(p.sku)}`,
        'aria-label': `${conf ? t('configure') : t('view')}: ${nameIn(p.name)}`}, conf ? t('configure') : t('view')));
  }));
  put(grid, ...cards);
}

// ---- product page: configure and price ----

// path -> group definition, from the product view (nested groups are
// at "group/OPTION/group").
function groupMap(d) {
  const m = new Map();
  const walk = (groups, prefix) => {
    for (const g of groups || []) {
      const path = prefix + g.id;
      m.set(path, g);
      for (const o of g.options || []) if (o.groups) walk(o.groups, `${path}/${o.sku}/`);
    }
  };
  walk(d.groups, '');
  return m;
}

async function viewProduct(sku) {
  const main = shell(h('p', {}, t('loading')));
  let d;
  try { d = await detail(sku); } catch (e) { put(main, errorBox(e)); return; }
  if (!S.cfg || S.cfg.sku !== sku) {
    S.cfg = {sku, d, groups: groupMap(d), choices: [], undo: [], text: {}, qty: '1', discount: '',
      result: null, price: null, priceNote: '', stock: null, history: null};
  }
  const c = S.cfg;
  const left = h('section', {class: 'configure', id: 'configurator', 'aria-label': t('options')});
  const right = h('section', {class: 'summary', 'aria-label': t('price')});
  put(main, 
    h('p', {}, h('a', {href: '#/catalog'}, `← ${t('back')}`)),
    h('h2', {}, nameIn(d.name), ' ', h('span', {class: 'alt', lang: S.lang === 'zh' ? 'en' : 'zh-CN'}, nameOther(d.name))),
    h('p', {class: 'sku'}, d.sku),
    h('div', {class: 'product'}, left, right));
  c.left = left;
  c.right = right;
  await step();
}

const rootAttr = (c, id) => (c.d.attributes || []).find((a) => a.id === id);

// One configuration step: states from /v1/configure redrawn first, then
// the price and the availability of the BOM.
async function step() {
  const c = S.cfg;
  const t0 = performance.now();
  if (configurable(c.d)) {
    try {
      c.result = await api('POST', '/v1/configure', {product: c.sku, choices: c.choices, explain: 'full'});
    } catch (e) {
      c.result = null;
      put(c.left, errorBox(e));
    }
  }
  drawConfig();
  c.left.dataset.stepMs = String(Math.round(performance.now() - t0));
  c.left.dataset.steps = String((Number(c.left.dataset.steps) || 0) + 1);
  await Promise.all([drawPrice(), drawStock()]);
}

function choose(path, value, opts) {
  const c = S.cfg;
  c.undo.push(c.choices.map((x) => ({...x})));
  const g = c.groups.get(path);
  const single = path.includes('@') || (g && g.max === 1);
  c.choices = c.choices.filter((x) => !(x.path === path && (single || x.value === value)));
  if (!opts?.remove) c.choices.push({path, value, ...(opts?.quantity ? {quantity: opts.quantity} : {}), ...(opts?.exclude ? {exclude: true} : {})});
  step();
}

function reasonText(reason) {
  const c = S.cfg;
  const parts = [];
  for (const ch of reason.choices || [])
    parts.push(`${ch.exclude ? t('excludedChoice') : t('yourChoice')}: ${labelOf(ch.path, ch.value)}`);
  for (const k of reason.constraints || []) {
    const def = (c.d.constraints || []).find((x) => x.id === k.id);
    parts.push(def && def.description ? nameIn(def.description) : k.id);
  }
  for (const g of reason.groups || []) {
    const def = c.groups.get(g.at ? `${g.at}/${g.group}` : g.group);
    parts.push(t('groupRule', {max: g.max, group: def ? nameIn(def.name) : g.group}));
  }
  return `${t('excludedBy')}: ${parts.join('; ')}`;
}

function varName(v) {
  const c = S.cfg;
  if (v.path.startsWith('@')) {
    const a = rootAttr(c, v.path.slice(1));
    return a ? nameIn(a.name) + (a.unit ? ` (${nameIn(a.unit)})` : '') : v.path;
  }
  const g = c.groups.get(v.path);
  return g ? nameIn(g.name) : v.path;
}

function labelOf(path, value) {
  const c = S.cfg;
  if (path.startsWith('@')) {
    const a = rootAttr(c, path.slice(1));
    const val = a && (a.values || []).find((x) => x.id === value);
    return val ? nameIn(val.name) : value;
  }
  const g = c.groups.get(path);
  const o = g && g.options.find((x) => x.sku === value);
  return o ? nameIn(o.name) : value;
}

function drawConfig() {
  const c = S.cfg;
  const r = c.result;
  const kids = [];
  kids.push(h('div', {class: 'row'},
    h('label', {for: 'customer'}, t('customer')),
    h('input', {id: 'customer', value: S.customer, 'aria-describedby': 'customer-help', onchange: (ev) => { S.customer = ev.target.value.trim(); drawPrice(); }}),
    h('small', {id: 'customer-help'}, t('customerHelp'))));
  kids.push(h('div', {class: 'row inline'},
    h('label', {for: 'qty'}, t('quantity')),
    h('input', {id: 'qty', type: 'number', min: '1', step: '1', value: c.qty, onchange: (ev) => { c.qty = ev.target.value || '1'; drawPrice(); drawStock(); }}),
    h('label', {for: 'discount'}, t('discount')),
    h('input', {id: 'discount', inputmode: 'decimal', value: c.discount, onchange: (ev) => { c.discount = ev.target.value.trim(); drawPrice(); }})));
  // text attributes: typed, not chosen
  for (const a of c.d.attributes || []) {
    if (a.type !== 'text') continue;
    kids.push(h('div', {class: 'row'},
      h('label', {for: `attr-${a.id}`}, nameIn(a.name), a.required ? h('span', {class: 'req'}, ` (${t('required')})`) : null),
      h('input', {id: `attr-${a.id}`, value: c.text[a.id] || '', pattern: a.pattern || null, required: a.required,
        onchange: (ev) => { c.text[a.id] = ev.target.value.trim(); drawPrice(); }})));
  }
  if (!configurable(c.d)) {
    for (const a of c.d.attributes || []) {
      if (a.type === 'text' || !a.values) continue;
      kids.push(h('div', {class: 'row'}, h('label', {for: `attr-${a.id}`}, nameIn(a.name)),
        h('select', {id: `attr-${a.id}`, onchange: (ev) => { c.text[a.id] = ev.target.value; drawPrice(); }},
          a.values.map((v) => h('option', {value: v.id, selected: (c.text[a.id] || a.default) === v.id}, nameIn(v.name))))));
    }
  }
  if (r) {
    kids.push(h('div', {class: 'tools-row'},
      h('button', {type: 'button', id: 'undo', disabled: !c.undo.length, onclick: () => { c.choices = c.undo.pop(); step(); }}, t('undo')),
      h('button', {type: 'button', id: 'restart', disabled: !c.choices.length, onclick: () => { c.undo.push(c.choices); c.choices = []; step(); }}, t('restart')),
      h('span', {id: 'complete', class: r.complete ? 'ok' : 'open', role: 'status'}, r.complete ? t('complete') : t('incomplete'))));
    if (!r.consistent && r.conflict) {
      kids.push(h('div', {class: 'conflict', role: 'alert', id: 'conflict'}, h('p', {}, t('conflict')),
        h('ul', {}, r.conflict.choices.map((ch) => h('li', {}, `${varName({path: ch.path})}: ${labelOf(ch.path, ch.value)} `,
          h('button', {type: 'button', onclick: () => choose(ch.path, ch.value, {remove: true})}, t('removeChoice')))))));
    }
    for (const v of r.variables || []) {
      if (v.kind === 'quantity') continue;
      if (v.path.startsWith('@') && rootAttr(c, v.path.slice(1))?.type === 'text') continue;
      kids.push(drawVariable(v));
    }
  }
  put(c.left, ...kids);
}

function drawVariable(v) {
  const c = S.cfg;
  const id = `v-${v.path.replace(/[^A-Za-z0-9]/g, '_')}`;
  const g = c.groups.get(v.path);
  const info = g && g.max > 1 ? ` (${g.min}–${g.max})` : '';
  return h('fieldset', {class: 'var', id},
    h('legend', {}, varName(v), info),
    h('ul', {class: 'values'}, v.values.map((x, i) => {
      const label = labelOf(v.path, x.value);
      const rid = `${id}-r${i}`;
      const chosen = c.choices.find((ch) => ch.path === v.path && ch.value === x.value);
      const opt = g && g.options.find((o) => o.sku === x.value);
      const btn = h('button', {type: 'button', class: `val ${x.state}`, 'data-value': x.value, 'data-state': x.state,
        'aria-pressed': String(x.state === 'selected'),
        'aria-disabled': x.state === 'excluded' ? 'true' : null,
        'aria-describedby': x.state === 'excluded' ? rid : null,
        onclick: () => {
          // in a one-choice group, another option of the same group switches to it
          const own = x.reason && x.reason.choices.every((ch) => ch.path === v.path) && !x.reason.constraints.length;
          if (x.state === 'excluded' && own && g && g.max === 1 || x.state === 'excluded' && own && v.path.startsWith('@')) {
            choose(v.path, x.value);
            return;
          }
          if (x.state === 'excluded') { document.getElementById(rid).classList.toggle('show'); return; }
          if (x.state === 'selected' && chosen) choose(v.path, x.value, {remove: true});
          else if (x.state !== 'implied' || !chosen) choose(v.path, x.value);
        }}, label,
        x.state === 'implied' ? h('span', {class: 'tag'}, ` · ${t('implied')}`) : null,
        x.state === 'excluded' ? h('span', {class: 'tag'}, ` · ${t('excluded')}`) : null);
      const qty = opt && opt.ranged && x.state === 'selected' && chosen ? h('input', {type: 'number', class: 'oq',
        min: opt.qty_min, max: opt.qty_max, value: chosen.quantity || opt.qty, 'aria-label': `${t('quantity')} ${label}`,
        onchange: (ev) => choose(v.path, x.value, {quantity: ev.target.value})}) : null;
      return h('li', {}, btn, qty, x.state === 'excluded' && x.reason ?
        h('span', {class: 'reason', id: rid, role: 'note'}, reasonText(x.reason), ' ',
          h('button', {type: 'button', class: 'anyway', onclick: () => choose(v.path, x.value)}, t('chooseAnyway'))) : null);
    })));
}

// The /v1/price line of the current page: root attributes apart, the
// other choices as the configuration; open required groups take their
// catalog defaults so that each step has a price to show.
function priceLine() {
  const c = S.cfg;
  const line = {sku: c.sku, quantity: c.qty || '1'};
  const attrs = {};
  for (const [k, v] of Object.entries(c.text)) if (v) attrs[k] = v;
  const conf = [];
  let filled = false;
  for (const ch of c.choices) {
    if (ch.path.startsWith('@') && !ch.exclude) attrs[ch.path.slice(1)] = ch.value;
    else if (!ch.path.startsWith('@')) conf.push(ch);
  }
  const r = c.result;
  if (r && r.consistent && !r.complete && c.choices.length) {
    const state = new Map();
    for (const v of r.variables) for (const x of v.values) state.set(`${v.path}|${x.value}`, x.state);
    // a nested group counts only when every option above it is in the configuration
    const active = (path) => {
      const seg = path.split('/');
      for (let i = 1; i < seg.length; i += 2) {
        const st = state.get(`${seg.slice(0, i).join('/')}|${seg[i]}`);
        if (st !== 'selected' && st !== 'implied') return false;
      }
      return true;
    };
    for (const v of r.variables) {
      const g = c.groups.get(v.path);
      if (v.kind !== 'group' || !g || g.min < 1 || !active(v.path)) continue;
      if (v.values.some((x) => x.state === 'selected' || x.state === 'implied')) continue;
      for (const o of g.options) {
        if (o.default && v.values.find((x) => x.value === o.sku && x.state === 'possible')) {
          conf.push({path: v.path, value: o.sku});
          filled = true;
        }
      }
    }
  }
  if (Object.keys(attrs).length) line.attributes = attrs;
  if (configurable(c.d) && c.choices.length) line.configuration = conf;
  if (c.discount) line.discount = c.discount;
  return {line, filled};
}

const priceBody = (line) => ({customer: {id: S.customer || 'PORTAL'}, lines: [line]});

async function drawPrice() {
  const c = S.cfg;
  const box = h('div', {class: 'price-box', id: 'price', 'aria-live': 'polite'});
  const {line, filled} = priceLine();
  let p = null, err = null;
  try { p = await api('POST', '/v1/price', priceBody(line)); } catch (e) { err = e; }
  if (S.cfg !== c) return;
  c.price = p;
  const kids = [h('h3', {}, t('priceLive'))];
  if (err) {
    const det = err.body?.error?.details || [];
    const named = det.filter((x) => x.name || x.path).map((x) => nameIn(x.name || x.path));
    for (const x of det) {
      const m = /attribute '([^']+)'/.exec(x.message || '');
      const a = m && rootAttr(c, m[1]);
      if (a) named.push(`${nameIn(a.name)} (${t('required')})`);
    }
    kids.push(h('p', {class: 'needs'}, t('priceNeeds'), ' ', named.length ? named.join(', ') : err.message));
  } else {
    const l = p.lines[0];
    if (filled) kids.push(h('p', {class: 'note'}, t('priceDefaults')));
    kids.push(h('dl', {class: 'totals'},
      h('dt', {}, t('list')), h('dd', {}, money(l.list_price, p.currency)),
      h('dt', {}, t('unit')), h('dd', {}, money(l.unit_price, p.currency)),
      h('dt', {}, t('net')), h('dd', {id: 'net'}, money(p.subtotal, p.currency)),
      h('dt', {}, t('tax')), h('dd', {}, money(l.tax, p.currency)),
      h('dt', {class: 'grand'}, t('total')), h('dd', {class: 'grand', id: 'total'}, money(p.total, p.currency))));
    kids.push(h('details', {open: true}, h('summary', {}, t('steps')),
      h('ol', {class: 'waterfall'}, (l.waterfall || []).map((w) => h('li', {}, h('span', {}, w.label), ' ',
        h('span', {class: 'num'}, money(w.delta, p.currency)))))));
    const pr = p.promotions || {applied: [], rejected: []};
    kids.push(h('section', {class: 'promos'}, h('h4', {}, t('promotions')),
      h('ul', {}, (pr.applied || []).map((x) => h('li', {class: 'applied'}, `✓ ${t('applied')}: ${nameIn(x.name || x.id)}`)),
        (pr.rejected || []).map((x) => h('li', {class: 'rejected'}, `✗ ${t('notApplied')}: ${nameIn(x.name || x.id)} — ${x.reason}`)))));
    kids.push(h('section', {class: 'approvals', id: 'approvals'}, h('h4', {}, t('approvals')),
      (p.approvals || []).length ? h('ul', {}, p.approvals.map((a) => h('li', {}, `${a.level}: ${a.reason}`))) : h('p', {}, t('noApproval'))));
    if (isStaff() && S.customer) kids.push(await historyBox(c.sku, p.currency));
    kids.push(h('button', {type: 'button', class: 'primary', id: 'save', onclick: saveQuote}, t('saveQuote')));
  }
  put(box, ...kids);
  const old = c.right.querySelector('#price');
  if (old) old.replaceWith(box); else c.right.prepend(box);
}

async function historyBox(sku, cur) {
  const r = await api('GET', `/v1/price-history?sku=${encodeURIComponent(sku)}&customer=${encodeURIComponent(S.customer)}`).catch(() => null);
  const mine = r?.customer?.prices;
  return h('section', {class: 'history', id: 'price-history'}, h('h4', {}, t('priceHistory')),
    !mine || !mine.count ? h('p', {}, t('noHistory')) :
      h('ul', {}, (mine.last || []).map((x) => h('li', {}, `${x.date || x.accepted_on || ''} ${x.number || ''}: ${money(x.unit_price, cur)}`))));
}

async function drawStock() {
  const c = S.cfg;
  const bom = c.result?.bom || [];
  const skus = [c.sku, ...bom.map((b) => b.sku)];
  const q = Number(c.qty) > 0 ? c.qty : '1';
  const qtys = [q, ...bom.map((b) => String(b.total_quantity * Number(q)))];
  const st = await stockOf(skus, qtys).catch(() => null);
  if (S.cfg !== c) return;
  const box = h('div', {class: 'stock', id: 'stock'}, h('h3', {}, t('availability')), availBadge(st?.all));
  const bomBox = h('div', {class: 'bom', id: 'bom'}, h('h3', {}, t('bom')),
    !bom.length ? h('p', {}, t('bomEmpty')) : h('table', {},
      h('thead', {}, h('tr', {}, h('th', {scope: 'col'}, t('sku')), h('th', {scope: 'col'}, t('name')),
        h('th', {scope: 'col'}, t('qty')), h('th', {scope: 'col'}, t('totalQty')), h('th', {scope: 'col'}, t('availability')))),
      h('tbody', {}, bom.map((b, i) => h('tr', {class: `lvl-${Math.min(b.level, 5)}${b.implied ? ' implied' : ''}`},
        h('td', {}, b.sku), h('td', {}, nameIn(b.name)), h('td', {class: 'num'}, b.quantity),
        h('td', {class: 'num'}, b.total_quantity), h('td', {}, availBadge(st?.items?.[i + 1])))))));
  for (const [id, el] of [['stock', box], ['bom', bomBox]]) {
    const old = c.right.querySelector(`#${id}`);
    if (old) old.replaceWith(el); else c.right.append(el);
  }
}

async function saveQuote() {
  const {line} = priceLine();
  try {
    const q = await api('POST', '/v1/quotes', priceBody(line));
    announce(`${t('saved')}: ${q.number}`);
    location.hash = `#/quote/${encodeURIComponent(q.id)}`;
  } catch (e) {
    S.cfg.right.prepend(errorBox(e));
  }
}

// ---- quotes ----

const statusText = (s) => STRINGS[S.lang].statuses[s] || s;

function quotesTable(items, extra) {
  return h('table', {class: 'list', tabindex: '0'},
    h('thead', {}, h('tr', {}, h('th', {scope: 'col'}, t('number')), h('th', {scope: 'col'}, t('customer')),
      h('th', {scope: 'col'}, t('status')), h('th', {scope: 'col'}, t('total')), h('th', {scope: 'col'}, t('updated')),
      h('th', {scope: 'col'}, t('actions')))),
    h('tbody', {}, items.map((q) => h('tr', {'data-id': q.id},
      h('td', {}, q.number), h('td', {}, q.customer_id), h('td', {}, h('span', {class: `st ${q.status}`}, statusText(q.status))),
      h('td', {class: 'num'}, money(q.total, q.currency)), h('td', {}, q.updated_at),
      h('td', {}, h('a', {href: `#/quote/${encodeURIComponent(q.id)}`}, t('open')), extra ? extra(q) : null)))));
}

async function viewQuotes() {
  const main = shell(h('p', {}, t('loading')));
  try {
    const r = await api('GET', '/v1/quotes?limit=100');
    put(main, h('h2', {}, t('quotes')), r.items.length ? quotesTable(r.items) : h('p', {}, t('noQuotes')));
  } catch (e) { put(main, errorBox(e)); }
}

async function quoteAction(q, action) {
  const body = action === 'accept' ? {signed_on: S.session.today} : {};
  try {
    await api('POST', `/v1/quotes/${encodeURIComponent(q.id)}/${action}`, body,
      action === 'accept' ? {'Idempotency-Key': `portal-accept-${q.id}`} : undefined);
    announce(t(action));
    render();
  } catch (e) {
    document.getElementById('main').prepend(errorBox(e));
  }
}

async function viewQuote(id) {
  const main = shell(h('p', {}, t('loading')));
  let q;
  try { q = await api('GET', `/v1/quotes/${encodeURIComponent(id)}`); } catch (e) {
    put(main, h('p', {class: 'empty', id: 'not-found'}, e.status === 404 ? t('notFound') : `${t('error')}: ${e.message}`));
    return;
  }
  const lines = q.priced?.lines || [];
  // what this caller may do: approving is staff's; a partner whose catalog
  // says can_accept: false leaves accepting to its sales rep
  const partnerAccepts = !isPartner() || S.session.partner?.can_accept !== false;
  const acts = (q.actions || []).filter((a) => ['submit', 'send', 'accept', 'approve', 'reject'].includes(a))
    .filter((a) => (a !== 'approve' && a !== 'reject') || isStaff())
    .filter((a) => a !== 'accept' || partnerAccepts);
  const repAccepts = !partnerAccepts && (q.actions || []).includes('accept');
  // each line with its BOM (a configured product is available when its BOM is)
  const st = await api('GET', `/v1/quotes/${encodeURIComponent(q.id)}/availability`).catch(() => null);
  // reps: the customer's earlier prices beside each line
  const hist = isStaff() ? await Promise.all(lines.map((l) => api('GET',
    `/v1/price-history?sku=${encodeURIComponent(l.sku)}&customer=${encodeURIComponent(q.customer_id)}&last=3`).catch(() => null))) : [];
  const earlier = (i) => {
    const p = hist[i]?.customer?.prices;
    return p && p.count ? (p.last || []).map((x) => money(x.unit_price, q.currency)).join(', ') : '—';
  };
  put(main, 
    h('h2', {}, `${t('quote')} ${q.number}`),
    h('dl', {class: 'facts'},
      h('dt', {}, t('status')), h('dd', {id: 'quote-status'}, h('span', {class: `st ${q.status}`}, statusText(q.status))),
      h('dt', {}, t('customer')), h('dd', {}, q.customer_id),
      h('dt', {}, t('total')), h('dd', {id: 'quote-total'}, money(q.total, q.currency)),
      h('dt', {}, t('validUntil')), h('dd', {}, q.valid_until),
      h('dt', {}, t('availability')), h('dd', {id: 'quote-avail'}, availBadge(st?.all))),
    h('h3', {}, t('lines')),
    h('table', {class: 'list', tabindex: '0'}, h('thead', {}, h('tr', {}, h('th', {scope: 'col'}, t('sku')), h('th', {scope: 'col'}, t('name')),
      h('th', {scope: 'col'}, t('qty')), h('th', {scope: 'col'}, t('unit')), h('th', {scope: 'col'}, t('total')), h('th', {scope: 'col'}, t('availability')),
      isStaff() ? h('th', {scope: 'col'}, t('priceHistory')) : null)),
    h('tbody', {}, lines.map((l, i) => h('tr', {}, h('td', {}, l.sku), h('td', {}, nameIn(l.name)), h('td', {class: 'num'}, l.quantity),
      h('td', {class: 'num'}, money(l.unit_price, q.currency)), h('td', {class: 'num'}, money(l.total, q.currency)),
      h('td', {}, st?.lines?.find((x) => x.line === l.id) ? availBadge(st.lines.find((x) => x.line === l.id)) : '—'), isStaff() ? h('td', {class: 'num earlier'}, earlier(i)) : null)))),
    (q.priced?.approvals || []).length ? h('section', {class: 'approvals'}, h('h3', {}, t('approvals')),
      h('ul', {}, q.priced.approvals.map((a) => h('li', {}, `${a.level}: ${a.reason}`)))) : null,
    h('div', {class: 'tools-row', id: 'quote-actions'},
      acts.map((a) => h('button', {type: 'button', class: a === 'accept' ? 'primary' : '', 'data-action': a, onclick: () => quoteAction(q, a)}, t(a))),
      h('a', {class: 'button', href: `/v1/quotes/${encodeURIComponent(q.id)}/document`, target: '_blank', rel: 'noopener', id: 'document'}, t('document'))),
    repAccepts ? h('p', {class: 'note', id: 'rep-accepts'}, t('repAccepts')) : null,
    h('h3', {}, t('history')),
    h('ol', {class: 'history', id: 'quote-history'}, (q.history || []).map((e) => h('li', {},
      `${e.at} · ${statusText(e.to)}${e.note ? ` · ${e.note}` : ''}`))),
    q.status === 'accepted' ? await contractBox(q) : null);
}

// ---- contracts and receivables ----

function itemsTable(k) {
  return h('table', {class: 'list receivables', tabindex: '0'},
    h('thead', {}, h('tr', {}, h('th', {scope: 'col'}, t('due')), h('th', {scope: 'col'}, t('amount')), h('th', {scope: 'col'}, t('paid')),
      h('th', {scope: 'col'}, t('outstanding')), h('th', {scope: 'col'}, t('status')))),
    h('tbody', {}, (k.items || []).map((i) => h('tr', {class: i.days_overdue > 0 ? 'overdue' : ''},
      h('td', {}, i.due_on || `${t('expected')} ${i.expected_on || '—'}`, i.description ? h('small', {}, ` ${i.description}`) : null),
      h('td', {class: 'num'}, money(i.amount, k.currency)), h('td', {class: 'num'}, money(i.paid, k.currency)),
      h('td', {class: 'num'}, money(i.outstanding, k.currency)),
      h('td', {}, i.days_overdue > 0 ? h('strong', {class: 'od'}, t('daysOverdue', {n: i.days_overdue})) : `${i.status} / ${i.payment_status}`)))));
}

async function contractBox(q) {
  try {
    const k = await api('GET', `/v1/quotes/${encodeURIComponent(q.id)}/contract`);
    return h('section', {class: 'contract', 'data-contract': k.id}, h('h3', {}, `${t('contract')} ${k.number}`),
      h('p', {}, `${t('signedOn')} ${k.signed_on} · ${t('total')} ${money(k.total, k.currency)}`), itemsTable(k));
  } catch (e) { return errorBox(e); }
}

async function viewContracts() {
  const main = shell(h('p', {}, t('loading')));
  try {
    const [acc, od] = await Promise.all([api('GET', '/v1/quotes?status=accepted&limit=100'),
      api('GET', '/v1/receivables?status=overdue')]);
    const boxes = await Promise.all(acc.items.map((q) => contractBox(q)));
    put(main, 
      h('h2', {}, t('overdueItems')),
      od.items.length ? h('ul', {class: 'overdue-list', id: 'overdue'}, od.items.map((i) => h('li', {},
        `${i.contract_number || ''} · ${t('due')} ${i.due_on} · ${money(i.outstanding, i.currency)} · `,
        h('strong', {class: 'od'}, t('daysOverdue', {n: i.days_overdue}))))) : h('p', {id: 'overdue'}, t('noOverdue')),
      h('h2', {}, t('contracts')),
      boxes.length ? boxes : h('p', {}, t('noContracts')));
  } catch (e) { put(main, errorBox(e)); }
}

async function viewApprovals() {
  const main = shell(h('p', {}, t('loading')));
  try {
    const r = await api('GET', '/v1/quotes?status=pending_approval&limit=100');
    const can = ['manager', 'admin', 'rep'].includes(S.session.role);
    put(main, h('h2', {}, t('approvalQueue')), r.items.length ? quotesTable(r.items, (q) => can ? [
      h('button', {type: 'button', 'data-action': 'approve', onclick: () => quoteAction(q, 'approve')}, t('approve')),
      h('button', {type: 'button', 'data-action': 'reject', onclick: () => quoteAction(q, 'reject')}, t('reject'))] : null)
      : h('p', {}, t('noPending')));
  } catch (e) { put(main, errorBox(e)); }
}

// ---- routing ----

async function render() {
  const hash = decodeURIComponent(location.hash.slice(1) || '/catalog');
  if (!S.session) {
    try { S.session = await api('GET', '/v1/session'); } catch (e) { S.session = null; }
  }
  if (!S.session) {
    viewLogin();
    document.body.dataset.ready = 'true';
    return;
  }
  const [, view, arg] = hash.split('/');
  const focus = () => document.getElementById('main')?.focus({preventScroll: true});
  switch (view) {
    case 'product': await viewProduct(arg); break;
    case 'quotes': await viewQuotes(); break;
    case 'quote': await viewQuote(arg); break;
    case 'contracts': await viewContracts(); break;
    case 'approvals': await viewApprovals(); break;
    case 'login': location.hash = '#/catalog'; return;
    default: await viewCatalog();
  }
  if (render.navigated) focus();
  render.navigated = false;
  document.body.dataset.ready = 'true';
}

window.addEventListener('hashchange', () => { render.navigated = true; document.body.dataset.ready = 'false'; render(); });
render();
