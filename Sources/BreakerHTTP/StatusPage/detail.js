// breakerd's status page, part 3 of 3: a breaker's detail dialog and the admin actions (detail.js).
// Loaded before status.js, which holds the model and the wiring; shares its globals.
'use strict';

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
