// breakerd's live status page, part 1 of 3: the model and the wiring. The first screen comes from
// the daemon (api/breakers?limit=…), then the whole list in the background for filtering, then
// Server-Sent Events (/events) only. tiles.js (drawing) and detail.js (dialog, actions) load first.
// Vanilla JS; every breaker-supplied string goes into the DOM as text, never as HTML.
'use strict';

const MAX_TILES = 60;           // tiles drawn at once; the rest are counted ("and N more")
const MAX_CACHED_TILES = 2000;  // tile elements kept for reuse when the filter changes back
const SPARK_POINTS = 300;       // 5 minutes of one-second samples
const MAX_SPARK_SERIES = 5000;  // breakers with a sparkline kept in memory
const TOKEN_KEY = 'breakerd-admin-token';
const WORDS = { closed: 'closed', open: 'open', half_open: 'half open', forced_open: 'forced open' };

const $ = (id) => document.getElementById(id);
const page = {
  info: null,
  list: [],               // every breaker, sorted by name (the compact form of /api/breakers)
  byName: new Map(),
  active: new Set(),      // breakers with activity > 0
  series: new Map(),      // name -> {calls: [], rejected: []}, one sample per summary
  tiles: new Map(),       // name -> tile element, reused between renders
  detailName: null,
  listLoaded: false,
  screen: null,           // until the list is loaded: the daemon's choice {names, count, total, states}
  screenSeq: 0,
  firstScreen: null,      // the first loadScreen(), which loadList waits for
  renderQueued: false,
};
// Timings for the browser tests and BENCHMARKS (milliseconds).
window.__breakerd = { screenFetchMs: null, listFetchMs: null, firstPaintMs: null, listPaintMs: null, lastRenderMs: null, events: 0, summaries: 0, resyncs: 0 };

function word(state) { return WORDS[state] || state; }
function n(value) { return value || 0; }
function fmt(x) { return x >= 100 ? Math.round(x).toString() : x.toFixed(1); }
function ago(ms) {
  const s = Math.max(0, Math.round((Date.now() - ms) / 1000));
  if (s < 60) return s + ' s ago';
  if (s < 3600) return Math.floor(s / 60) + ' min ago';
  if (s < 86400) return Math.floor(s / 3600) + ' h ago';
  return Math.floor(s / 86400) + ' d ago';
}
function el(tag, cls, text) {
  const e = document.createElement(tag);
  if (cls) e.className = cls;
  if (text !== undefined) e.textContent = text;
  return e;
}
function errorText(body, status) {
  if (body && body.error && body.error.code) return body.error.code + ': ' + body.error.message;
  if (body && typeof body.error === 'string') return body.error;
  return 'request failed (HTTP ' + status + ')';
}
function showError(text) {
  const e = $('error');
  e.textContent = text || '';
  e.hidden = !text;
}
async function getJSON(url, options) {
  const response = await fetch(url, options);
  let body = null;
  try { body = await response.json(); } catch (_) { body = null; }
  return { ok: response.ok, status: response.status, body };
}

// ---- the model ----------------------------------------------------------------------------

function prepare(b) {
  b.metrics = b.metrics || {};
  b._change = Date.parse(b.metrics.last_state_change) || 0;
  b._until = b.open_until ? Date.parse(b.open_until) : 0;
  b._act = 0;
  return b;
}

function indexOfName(name) {
  let lo = 0, hi = page.list.length;
  while (lo < hi) {
    const mid = (lo + hi) >> 1;
    if (page.list[mid].name < name) lo = mid + 1; else hi = mid;
  }
  return lo;
}

function insert(b) {
  page.list.splice(indexOfName(b.name), 0, b);
  page.byName.set(b.name, b);
}

function replaceList(breakers) {
  const old = page.byName;
  page.list = breakers.map(prepare);
  page.byName = new Map();
  page.active = new Set();
  for (let i = 0; i < page.list.length; i++) {
    let b = page.list[i];
    const before = old.get(b.name);
    // An event seen after the daemon read the list is newer than the list's copy.
    if (before && before.generation > b.generation) page.list[i] = b = before;
    page.byName.set(b.name, b);
    if (before) { b._act = before._act; if (b._act > 0) page.active.add(b); }
  }
}

// A breaker object from a summary or an action reply: same field names as the list.
function merge(incoming, intervalMs) {
  const b = prepare(incoming);
  const old = page.byName.get(b.name);
  let calls = 0, rejected = 0;
  if (old) {
    calls = Math.max(0, n(b.metrics.total_calls) - n(old.metrics.total_calls));
    rejected = Math.max(0, n(b.metrics.rejected_calls) - n(old.metrics.rejected_calls));
    b._act = old._act;
    page.list[indexOfName(b.name)] = b;
    page.byName.set(b.name, b);
    page.active.delete(old);
  } else {
    insert(b);
  }
  if (intervalMs) {
    const seconds = Math.max(intervalMs, 1) / 1000;
    b._rate = { calls: calls / seconds, rejected: rejected / seconds };
    b._act = b._act * 0.7 + (calls + rejected) / seconds + 0.001;
  }
  if (b._act > 0) page.active.add(b);
  return b;
}

function onTransition(ev) {
  window.__breakerd.events++;
  let b = page.byName.get(ev.breaker);
  if (!b) {
    b = prepare({ name: ev.breaker, state: ev.to, generation: ev.generation, config: {}, metrics: { last_state_change: ev.at } });
    insert(b);
  }
  if (ev.generation < b.generation) return;   // older than what the list already shows
  b.state = ev.to;
  b.generation = ev.generation;
  b.metrics.last_state_change = ev.at;
  b._change = Date.parse(ev.at) || Date.now();
  b.last_transition = { from: ev.from, to: ev.to, at: ev.at, reason: ev.reason };
  if (ev.to === 'open' && b.config && b.config.timeout_ms) b._until = b._change + b.config.timeout_ms;
  else if (ev.to !== 'open') { b._until = 0; delete b.open_until; }
  if (ev.to !== 'forced_open') delete b.forced;
  b._act += 1;
  page.active.add(b);
  queueRender();
  if (page.detailName === ev.breaker) refreshDetail();
}

function onSummary(summary) {
  window.__breakerd.summaries++;
  const seen = new Set();
  for (const incoming of summary.breakers) {
    const b = merge(incoming, summary.interval_ms);
    seen.add(b.name);
    sample(b.name, b._rate);
  }
  for (const name of page.series.keys()) if (!seen.has(name)) sample(name, null);
  for (const b of page.active) {
    if (!seen.has(b.name)) {
      b._act *= 0.7;
      b._rate = null;
      if (b._act < 0.01) { b._act = 0; page.active.delete(b); }
    }
  }
  queueRender();
}

function sample(name, rate) {
  let s = page.series.get(name);
  if (!s) {
    if (!rate || page.series.size >= MAX_SPARK_SERIES) return;
    s = { calls: [], rejected: [] };
    page.series.set(name, s);
  }
  s.calls.push(rate ? rate.calls : 0);
  s.rejected.push(rate ? rate.rejected : 0);
  if (s.calls.length > SPARK_POINTS) { s.calls.shift(); s.rejected.shift(); }
}

// ---- wiring -------------------------------------------------------------------------------

// The first screen as the daemon chooses it (the page's order, before any activity is known), so
// the first paint does not wait for every breaker; asked again when the controls change until the
// whole list is here.
async function loadScreen() {
  const seq = ++page.screenSeq;
  const { prefix, state, sort } = controls();
  const started = performance.now();
  const query = 'limit=' + MAX_TILES + '&sort=' + encodeURIComponent(sort) + '&prefix=' + encodeURIComponent(prefix) +
    '&state=' + encodeURIComponent(state);
  const r = await getJSON('api/breakers?' + query);
  if (seq !== page.screenSeq || page.listLoaded) return;
  if (!r.ok) { showError('cannot load breakers: ' + errorText(r.body, r.status)); return; }
  if (window.__breakerd.screenFetchMs === null) window.__breakerd.screenFetchMs = performance.now() - started;
  for (const b of r.body.breakers) {
    const known = page.byName.get(b.name);
    if (!known || known.generation <= b.generation) merge(b, 0);
  }
  page.screen = { names: r.body.breakers.map((b) => b.name), count: r.body.count, total: r.body.total, states: r.body.states };
  render();
}

async function loadList() {
  // The first screen first: the whole list takes the daemon and the browser far longer.
  if (!page.listLoaded) await page.firstScreen;
  const started = performance.now();
  const r = await getJSON('api/breakers');
  if (!r.ok) { showError('cannot load breakers: ' + errorText(r.body, r.status)); return; }
  window.__breakerd.listFetchMs = performance.now() - started;
  replaceList(r.body.breakers);
  page.listLoaded = true;
  page.screenSeq++;
  if (!page.screen) page.screen = { names: [], count: 0, total: 0, states: {} };
  render();
}

function controlsChanged() {
  if (page.listLoaded) render(); else loadScreen();
}

function connect() {
  const conn = $('conn');
  const events = new EventSource('events');
  let opened = false;
  events.addEventListener('open', () => {
    conn.textContent = 'live';
    conn.className = 'conn live';
    // Subscribed first, then the list: nothing that happens in between is missed.
    loadList();
    opened = true;
  });
  events.addEventListener('error', () => {
    if (events.readyState !== EventSource.OPEN) {
      conn.textContent = opened ? 'reconnecting…' : 'connecting…';
      conn.className = 'conn down';
    }
  });
  events.addEventListener('transition', (e) => onTransition(JSON.parse(e.data)));
  events.addEventListener('summary', (e) => onSummary(JSON.parse(e.data)));
  events.addEventListener('resync', () => { window.__breakerd.resyncs++; loadList(); });
}

async function start() {
  // The first screen does not wait for anything: the events and the whole list follow it.
  page.firstScreen = loadScreen();
  const info = await getJSON('api/info');
  page.info = info.ok ? info.body : null;
  if (page.info && !page.info.actions) {
    const notice = $('actions-disabled');
    notice.textContent = 'Actions are disabled: ' + page.info.actions_disabled_reason + '.';
    notice.hidden = false;
  }
  updateActions();
  $('filter').addEventListener('input', controlsChanged);
  $('state-filter').addEventListener('change', controlsChanged);
  $('sort').addEventListener('change', controlsChanged);
  $('token-form').addEventListener('submit', (e) => {
    e.preventDefault();
    const value = $('token').value.trim();
    if (value) sessionStorage.setItem(TOKEN_KEY, value);
    $('token').value = '';
    updateActions();
  });
  $('token-forget').addEventListener('click', () => { sessionStorage.removeItem(TOKEN_KEY); updateActions(); });
  $('detail-close').addEventListener('click', () => $('detail').close());
  $('detail').addEventListener('close', () => { page.detailName = null; });
  for (const button of document.querySelectorAll('.buttons button')) {
    button.addEventListener('click', () => act(button.dataset.op));
  }
  setInterval(queueRender, 1000);  // countdowns and "ago" move even when nothing happens
  connect();
}

start();
