// breakerd's live status page: the first screen from the daemon (api/breakers?limit=…), then the
// whole list in the background for filtering, then Server-Sent Events (/events) only.
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

// ---- choosing and drawing tiles -----------------------------------------------------------

function controls() {
  return { prefix: $('filter').value.trim(), state: $('state-filter').value, sort: $('sort').value };
}

function selection() {
  const { prefix, state, sort } = controls();
  if (!page.listLoaded) {
    const chosen = page.screen ? page.screen.names.map((name) => page.byName.get(name)).filter(Boolean) : [];
    return { chosen, total: page.screen ? page.screen.count : 0 };
  }
  const all = page.list;
  const match = (b) => (!prefix || b.name.startsWith(prefix)) && (!state || b.state === state);
  let total = 0;
  let chosen = [];
  if (sort === 'name') {
    for (const b of all) if (match(b)) { if (total < MAX_TILES) chosen.push(b); total++; }
  } else if (sort === 'change') {
    const matching = (prefix || state) ? all.filter(match) : all.slice();
    total = matching.length;
    matching.sort((a, b) => b._change - a._change || (a.name < b.name ? -1 : 1));
    chosen = matching.slice(0, MAX_TILES);
  } else {
    // activity: the busy ones, then breakers not closed, then by name
    const busy = [], troubled = [];
    for (const b of all) {
      if (!match(b)) continue;
      total++;
      if (b._act > 0) busy.push(b);
      else if (b.state !== 'closed') { if (troubled.length < MAX_TILES) troubled.push(b); }
      else if (busy.length + troubled.length + chosen.length < MAX_TILES) chosen.push(b);
    }
    busy.sort((a, b) => b._act - a._act || (a.name < b.name ? -1 : 1));
    chosen = busy.concat(troubled, chosen).slice(0, MAX_TILES);
  }
  return { chosen, total };
}

function queueRender() {
  if (page.renderQueued || !page.screen) return;
  page.renderQueued = true;
  requestAnimationFrame(() => { page.renderQueued = false; render(); });
}

function render() {
  const started = performance.now();
  const { chosen, total } = selection();
  const items = chosen.map(tileFor);
  $('tiles').replaceChildren(...items);
  if (page.tiles.size > MAX_CACHED_TILES) {
    const keep = new Set(chosen.map((b) => b.name));
    for (const name of page.tiles.keys()) if (!keep.has(name)) page.tiles.delete(name);
  }
  $('more').textContent = total > chosen.length ? 'and ' + (total - chosen.length).toLocaleString('en') + ' more — narrow the filter to see them' : '';
  $('empty').hidden = total > 0;
  $('shown').textContent = 'showing ' + chosen.length.toLocaleString('en') + ' of ' + total.toLocaleString('en');
  renderTotals();
  window.__breakerd.lastRenderMs = performance.now() - started;
  const timing = window.__breakerd;
  if (timing.firstPaintMs === null) requestAnimationFrame(() => { timing.firstPaintMs = performance.now(); });
  if (page.listLoaded && timing.listPaintMs === null) requestAnimationFrame(() => { timing.listPaintMs = performance.now(); });
}

function renderTotals() {
  let counts = { closed: 0, open: 0, half_open: 0, forced_open: 0 };
  let total = page.list.length;
  if (page.listLoaded) {
    for (const b of page.list) counts[b.state] = (counts[b.state] || 0) + 1;
  } else {
    counts = page.screen.states;
    total = page.screen.total;
  }
  $('totals').textContent = total.toLocaleString('en') + ' breakers · ' +
    counts.open + ' open · ' + counts.half_open + ' half open · ' + counts.forced_open + ' forced open';
}

function tileFor(b) {
  let t = page.tiles.get(b.name);
  if (!t) {
    t = el('li', 'tile');
    t.tabIndex = 0;
    t.setAttribute('role', 'button');
    t.dataset.name = b.name;
    const head = el('div', 'tile-head');
    head.append(el('span', 'name', b.name), el('span', 'badge'));
    t.append(head, el('div', 'line counts'), el('div', 'spark-row'), el('div', 'line until'),
      el('div', 'line forced-line'), el('div', 'line last'));
    t.addEventListener('click', () => openDetail(b.name));
    t.addEventListener('keydown', (e) => {
      if (e.key === 'Enter' || e.key === ' ') { e.preventDefault(); openDetail(b.name); }
    });
    page.tiles.set(b.name, t);
  }
  fillTile(t, b);
  return t;
}

function fillTile(t, b) {
  t.dataset.state = b.state;
  t.setAttribute('aria-label', b.name + ', ' + word(b.state));
  const badge = t.querySelector('.badge');
  badge.textContent = word(b.state);
  badge.className = 'badge ' + b.state;
  let counts = 'failures ' + n(b.failure_count) + ' · successes ' + n(b.success_count);
  if (b.config && b.config.policy === 'rate') {
    counts += ' · failure rate ' + (b.failure_rate === undefined ? '–' : fmt(b.failure_rate) + '%');
  }
  counts += ' · calls ' + n(b.metrics.total_calls).toLocaleString('en') + ' · rejected ' + n(b.metrics.rejected_calls).toLocaleString('en');
  t.querySelector('.counts').textContent = counts;
  drawSpark(t.querySelector('.spark-row'), b);
  const until = t.querySelector('.until');
  until.textContent = b.state === 'open' && b._until ? 'half-open in ' + Math.max(0, Math.ceil((b._until - Date.now()) / 1000)) + ' s' : '';
  const forced = t.querySelector('.forced-line');
  forced.textContent = b.state === 'forced_open' && b.forced
    ? 'forced open by ' + (b.forced.by || 'unknown') + (b.forced.reason ? ': ' + b.forced.reason : '') : '';
  const lt = b.last_transition;
  const last = lt ? word(lt.from) + ' → ' + word(lt.to) + ' (' + lt.reason + '), ' : 'created ';
  t.querySelector('.last').textContent = last + ago(b._change);
}

const SVG = 'http://www.w3.org/2000/svg';
function drawSpark(row, b) {
  const s = page.series.get(b.name);
  const rate = b._rate || { calls: 0, rejected: 0 };
  if (!row.firstChild) {
    const svg = document.createElementNS(SVG, 'svg');
    svg.setAttribute('class', 'spark');
    svg.setAttribute('viewBox', '0 0 ' + SPARK_POINTS + ' 28');
    svg.setAttribute('preserveAspectRatio', 'none');
    svg.setAttribute('role', 'img');
    const calls = document.createElementNS(SVG, 'polyline');
    calls.setAttribute('class', 'calls');
    const rejected = document.createElementNS(SVG, 'polyline');
    rejected.setAttribute('class', 'rejected');
    svg.append(calls, rejected);
    row.append(svg, el('span', 'legend-calls'), el('span', 'legend-rejected'));
  }
  const [svg, callsText, rejectedText] = row.children;
  callsText.textContent = fmt(rate.calls) + ' calls/s';
  rejectedText.textContent = fmt(rate.rejected) + ' rejected/s';
  svg.setAttribute('aria-label', 'calls and rejections per second over the last 5 minutes');
  const points = (values, max) => {
    const offset = SPARK_POINTS - values.length;
    let out = '';
    for (let i = 0; i < values.length; i++) out += (offset + i) + ',' + (27 - (values[i] / max) * 25).toFixed(1) + ' ';
    return out;
  };
  if (s) {
    const max = Math.max(1, ...s.calls, ...s.rejected);
    svg.children[0].setAttribute('points', points(s.calls, max));
    svg.children[1].setAttribute('points', points(s.rejected, max));
  }
}

// ---- the detail dialog and actions --------------------------------------------------------

function token() { return sessionStorage.getItem(TOKEN_KEY) || ''; }

function updateActions() {
  const enabled = page.info && page.info.actions;
  const note = !page.info ? 'loading…' : !enabled ? 'Disabled: ' + page.info.actions_disabled_reason
    : !token() ? 'Enter the admin token at the top of the page to act.' : '';
  $('actions-note').textContent = note;
  for (const id of ['act-force-open', 'act-release', 'act-reset']) $(id).disabled = !enabled || !token();
  $('token-state').textContent = token() ? 'token set for this tab' : 'no token';
}

function openDetail(name) {
  page.detailName = name;
  $('detail-name').textContent = name;
  $('action-result').textContent = '';
  $('action-result').className = '';
  updateActions();
  if (!$('detail').open) $('detail').showModal();
  refreshDetail();
}

async function refreshDetail() {
  const name = page.detailName;
  if (!name) return;
  const q = encodeURIComponent(name);
  const [inspect, history] = await Promise.all([getJSON('api/breaker?name=' + q), getJSON('api/history?name=' + q + '&limit=50')]);
  if (page.detailName !== name) return;
  if (!inspect.ok) { $('detail-summary').textContent = errorText(inspect.body, inspect.status); return; }
  const b = inspect.body.breaker;
  const badge = $('detail-badge');
  badge.textContent = word(b.state);
  badge.className = 'badge ' + b.state;
  let summary = 'generation ' + b.generation + ' · failures ' + b.failure_count + ' · successes ' + b.success_count +
    ' · calls ' + b.metrics.total_calls + ' · rejected ' + b.metrics.rejected_calls;
  if (b.open_until) summary += ' · half-open at ' + new Date(b.open_until).toLocaleTimeString();
  if (b.forced) summary += ' · forced open by ' + (b.forced.by || 'unknown') + (b.forced.reason ? ': ' + b.forced.reason : '');
  $('detail-summary').textContent = summary;
  const config = $('detail-config').tBodies[0];
  config.replaceChildren(...Object.entries(b.config).map(([key, value]) => {
    const row = el('tr');
    const th = el('th', null, key);
    th.scope = 'row';
    row.append(th, el('td', null, value === null ? 'off' : typeof value === 'object' ? JSON.stringify(value) : String(value)));
    return row;
  }));
  const rows = history.ok ? history.body.transitions : [];
  $('detail-history').tBodies[0].replaceChildren(...rows.map((t) => {
    const row = el('tr');
    row.append(el('td', null, new Date(t.at).toLocaleString()), el('td', null, word(t.from)), el('td', null, word(t.to)),
      el('td', null, t.reason), el('td', null, t.actor || ''), el('td', null, t.note || ''));
    return row;
  }));
}

async function act(op) {
  const name = page.detailName;
  const body = { op, breaker: name };
  const reason = $('reason').value.trim();
  if (op === 'force-open' && reason) body.reason = reason;
  const result = $('action-result');
  result.className = '';
  result.textContent = op + '…';
  const r = await getJSON('api/admin', {
    method: 'POST',
    headers: { 'Content-Type': 'application/json', 'Authorization': 'Bearer ' + token() },
    body: JSON.stringify(body),
  });
  if (!r.ok) {
    result.className = 'fail';
    result.textContent = errorText(r.body, r.status);
    showError(op + ' ' + name + ' failed: ' + errorText(r.body, r.status));
    return;
  }
  showError('');
  result.className = 'done';
  result.textContent = op + ' done: ' + word(r.body.breaker.state);
  merge(r.body.breaker, 0);
  queueRender();
  refreshDetail();
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
