// breakerd's status page, part 2 of 3: choosing the tiles to show and drawing them (tiles.js).
// Loaded before status.js, which holds the model and the wiring; shares its globals.
'use strict';

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
