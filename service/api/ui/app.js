// The trawler dashboard: the service's JSON API, polled once a second, with the bearer token
// kept in this tab's sessionStorage. No framework, no other origin, no inline code (the page is
// served under a Content-Security-Policy that allows scripts, styles and requests from here only).
'use strict';

const TOKEN_KEY = 'trawler-token';
// The charts plot each crawl's history as the service keeps it (GET /v1/crawls/{id}/history): a
// sample a second of its counters over its own time (paused time left out), so a reload shows
// the same chart. The list's sparklines show the last SPARK_S seconds of crawl time; the selected
// crawl's whole history is asked again every HISTORY_REFRESH_MS (the service thins long ones),
// and the counts of each poll are added in between.
const SPARK_S = 60;
const HISTORY_REFRESH_MS = 30000;
// The service reads a crawl's broken links from its records on its I/O thread: asked again at
// most every 5 s when the crawl's 4xx/5xx count or state changed, every 30 s while only pages
// are added (new links to known broken URLs).
const BROKEN_CHANGED_MS = 5000;
const BROKEN_GROWN_MS = 30000;
// confirming: {id, action} of the crawl whose Cancel or Delete waits for "Yes" or "No".
// series: crawl id -> {samples: [{elapsed_s, pages, http_errors, errors}], full, at, loaded}.
// gone: crawls this page deleted, never asked about again (not even by a poll already on its way).
const view = { selected: null, series: new Map(), timer: null, broken: null, confirming: null, gone: new Set() };

const FINISHED = ['completed', 'cancelled', 'failed'];
// Why a crawl ended (its end_reason): in a few short words under its state in the list, and as
// the host table's note on hosts whose queued URLs were not fetched; the service's end_message
// says it whole.
const END_LABELS = {
  frontier_empty: 'nothing left to fetch', max_pages: 'max pages reached',
  max_pages_per_host: 'host budgets spent', cancelled: 'cancelled',
  stopped: 'stopped by a signal', service_stopped: 'service stopped',
  output_failed: 'output failed', redis_unreachable: 'Redis unreachable',
  internal_error: 'internal error',
};
const END_NOTES = {
  frontier_empty: 'nothing was left to fetch', max_pages: 'scope.max_pages reached',
  max_pages_per_host: 'scope.max_pages_per_host spent', cancelled: 'the crawl was cancelled',
  stopped: 'the crawl was stopped', service_stopped: 'the service stopped (it goes on at its next start)',
  output_failed: 'the records could not be written', redis_unreachable: 'Redis was unreachable',
  internal_error: 'an internal error',
};

function el(tag, attrs, ...children) {
  const e = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs || {})) {
    if (k === 'class') e.className = v;
    else if (k.startsWith('on')) e.addEventListener(k.slice(2), v);
    else e.setAttribute(k, v);
  }
  for (const c of children) e.append(c instanceof Node ? c : document.createTextNode(String(c)));
  return e;
}

function svg(tag, attrs) {
  const e = document.createElementNS('http://www.w3.org/2000/svg', tag);
  for (const [k, v] of Object.entries(attrs || {})) e.setAttribute(k, v);
  return e;
}

class Unauthorized extends Error {}

// A refused call: message is the first problem; problems lists every one as {key, message}
// (a bad config has "errors": every problem with its key path).
class ApiError extends Error {
  constructor(res, data) {
    const first = data.error || { message: res.status + ' ' + res.statusText };
    super(first.key ? first.key + ': ' + first.message : first.message);
    this.problems = Array.isArray(data.errors) && data.errors.length ? data.errors : [first];
  }
}

async function api(method, path, body, contentType = 'application/json') {
  const headers = {};
  const token = sessionStorage.getItem(TOKEN_KEY) || '';
  if (token) headers.Authorization = 'Bearer ' + token;
  if (body !== undefined) headers['Content-Type'] = contentType;
  const res = await fetch(path, { method, headers, body, cache: 'no-store' });
  if (res.status === 401) throw new Unauthorized();
  const data = await res.json().catch(() => ({}));
  if (!res.ok) throw new ApiError(res, data);
  return data;
}

// Fetches without a usable response (network, TLS, robots...), all kinds.
function errorsOf(stats) {
  let n = 0;
  for (const v of Object.values(stats.errors || {})) n += v;
  return n;
}

// Responses that answered 4xx or 5xx: not errors of the fetch, broken links of the site.
function httpErrorsOf(stats) {
  if (typeof stats.http_errors === 'number') return stats.http_errors;
  const st = stats.status || {};
  return (st['4xx'] || 0) + (st['5xx'] || 0);
}

function seriesOf(id) {
  let h = view.series.get(id);
  if (!h) view.series.set(id, (h = { samples: [], full: false, at: 0, loaded: false }));
  return h;
}

function sampleOf(p) {
  return { elapsed_s: p.elapsed_s || 0, pages: p.pages || 0, http_errors: httpErrorsOf(p), errors: errorsOf(p) };
}

// The crawl's counts of this poll, added when its crawl time moved on (a paused crawl's does
// not). A series not loaded whole keeps only what its sparkline shows.
function note(crawl) {
  const h = seriesOf(crawl.id);
  const s = crawl.stats || {};
  if (typeof s.elapsed_s !== 'number') return h;
  const last = h.samples[h.samples.length - 1];
  if (!last || s.elapsed_s >= last.elapsed_s + 0.5) h.samples.push(sampleOf(s));
  if (!h.full && h.samples.length > 3 * SPARK_S) h.samples.splice(0, h.samples.length - 2 * SPARK_S);
  return h;
}

// Asks the service for the crawl's history: whole, or the sparkline's last SPARK_S seconds.
async function loadHistory(id, whole) {
  if (view.gone.has(id)) return seriesOf(id);
  const data = await api('GET', '/v1/crawls/' + encodeURIComponent(id) + '/history' +
    (whole ? '' : '?last_s=' + SPARK_S));
  const h = seriesOf(id);
  const got = (data.samples || []).map(sampleOf);
  const end = got.length ? got[got.length - 1].elapsed_s : -1;
  // Counts noted while the answer was on its way stay after it.
  h.samples = got.concat(h.samples.filter((p) => p.elapsed_s >= end + 0.5));
  h.loaded = true;
  if (whole) {
    h.full = true;
    h.at = Date.now();
  }
  return h;
}

// Per-second rates between samples at least half a second of crawl time apart, each at the
// later sample's time: [{x, rate, http, err}].
function rates(samples) {
  const out = [];
  let prev = null;
  for (const p of samples) {
    if (!prev) { prev = p; continue; }
    const dt = p.elapsed_s - prev.elapsed_s;
    if (dt < 0.5) continue;
    out.push({
      x: p.elapsed_s, rate: Math.max(0, (p.pages - prev.pages) / dt),
      http: Math.max(0, (p.http_errors - prev.http_errors) / dt),
      err: Math.max(0, (p.errors - prev.errors) / dt),
    });
    prev = p;
  }
  return out;
}

// "0:07", "12:30", "1:02:05": crawl time.
function clockText(seconds) {
  const t = Math.round(seconds);
  const h = Math.floor(t / 3600), m = Math.floor((t % 3600) / 60), sec = t % 60;
  const two = (n) => String(n).padStart(2, '0');
  return h > 0 ? h + ':' + two(m) + ':' + two(sec) : m + ':' + two(sec);
}

function path(points, key, sx, sy, cls) {
  const d = points.map((p, i) => (i ? 'L' : 'M') + sx(p.x).toFixed(1) + ' ' + sy(p[key]).toFixed(1)).join(' ');
  return svg('path', { d: d || 'M0 0', class: cls, 'data-points': points.length });
}

function sparkline(h) {
  const s = svg('svg', { class: 'spark', viewBox: '0 0 96 24' });
  const samples = h.samples;
  const end = samples.length ? samples[samples.length - 1].elapsed_s : 0;
  const pts = rates(samples).filter((p) => p.x >= end - SPARK_S);
  const max = Math.max(1, ...pts.map((p) => p.rate));
  s.append(path(pts, 'rate', (x) => (96 * (x - (end - SPARK_S))) / SPARK_S, (y) => 22 - (22 * y) / max, 'main'));
  return s;
}

// Tick spacing of the time axis: at most 6 ticks.
const TICK_STEPS = [1, 2, 5, 10, 15, 30, 60, 120, 300, 600, 900, 1800, 3600, 7200, 10800, 21600, 43200, 86400];

function drawChart(h) {
  const chart = document.getElementById('detail-chart');
  chart.replaceChildren();
  const w = 840, top = 10, height = 150;
  const pts = rates(h.samples);
  const last = h.samples.length ? h.samples[h.samples.length - 1].elapsed_s : 0;
  const span = Math.max(10, last);
  const step = TICK_STEPS.find((t) => span / t <= 6) || 86400 * Math.ceil(span / (6 * 86400));
  const max = Math.max(1, ...pts.map((p) => Math.max(p.rate, p.err, p.http)));
  for (let i = 0; i <= 2; i++) {
    const y = top + height - (height * i) / 2;
    chart.append(svg('line', { x1: 0, x2: w, y1: y, y2: y }));
    const t = svg('text', { x: w + 4, y: y + 4 });
    t.textContent = ((max * i) / 2).toFixed(max >= 10 ? 0 : 1);
    chart.append(t);
  }
  const sx = (x) => (w * x) / span;
  for (let t = 0; t <= span + 1e-9; t += step) {
    chart.append(svg('line', { class: 'tick', x1: sx(t), x2: sx(t), y1: top + height, y2: top + height + 4 }));
    const label = svg('text', { class: 'axis tick-label', x: sx(t), y: top + height + 16, 'text-anchor': t === 0 ? 'start' : 'middle' });
    label.textContent = clockText(t);
    chart.append(label);
  }
  const title = svg('text', { class: 'axis axis-title', x: w, y: top + height + 34, 'text-anchor': 'end' });
  title.textContent = 'crawl time (paused time left out)';
  chart.append(title);
  const sy = (v) => height - (height * v) / max;
  const g = svg('g', { transform: 'translate(0 ' + top + ')' });
  g.append(path(pts, 'rate', sx, sy, 'main'));
  g.append(path(pts, 'http', sx, sy, 'warn'));
  g.append(path(pts, 'err', sx, sy, 'alert'));
  chart.append(g);
}

async function act(id, verb) {
  view.confirming = null;
  try {
    await api('POST', '/v1/crawls/' + encodeURIComponent(id) + '/' + verb);
  } catch (e) {
    setStatus(verb + ' failed: ' + e.message, true);
  }
  refresh();
}

// Takes a finished crawl off the list; its files stay (the API deletes them only when asked).
async function remove(id) {
  view.confirming = null;
  view.gone.add(id);
  if (view.selected === id) select(null);
  try {
    await api('DELETE', '/v1/crawls/' + encodeURIComponent(id));
    view.series.delete(id);
  } catch (e) {
    view.gone.delete(id);
    setStatus('delete failed: ' + e.message, true);
  }
  refresh();
}

// Pause or Resume; Cancel (a live crawl) or Delete (a finished one) apart in the last column,
// styled as the danger it is, asking "... this crawl? Yes / No" before it acts.
function actions(c) {
  const live = c.state === 'running' || c.state === 'paused';
  const finished = FINISHED.includes(c.state);
  const button = (verb, label, cls, onclick) => el('button', {
    type: 'button', 'data-action': verb, class: cls || '',
    onclick: (ev) => { ev.stopPropagation(); onclick(); },
  }, label);
  const controls = el('td', { class: 'controls' });
  if (c.state === 'running') controls.append(button('pause', 'Pause', '', () => act(c.id, 'pause')));
  if (c.state === 'paused') controls.append(button('resume', 'Resume', '', () => act(c.id, 'resume')));
  const danger = el('td', { class: 'danger-zone' });
  const asked = view.confirming && view.confirming.id === c.id ? view.confirming.action : null;
  const ask = (action) => () => { view.confirming = { id: c.id, action }; refresh(); };
  const no = () => button(asked + '-no', 'No', '', () => { view.confirming = null; refresh(); });
  if (asked === 'cancel' && live) {
    danger.append(el('span', { class: 'confirm', title: 'A cancelled crawl cannot be resumed.' }, 'Cancel this crawl?'),
      button('cancel-yes', 'Yes', 'danger strong', () => act(c.id, 'cancel')), no());
  } else if (asked === 'delete' && finished) {
    danger.append(el('span', { class: 'confirm', title: 'Its records, state and archives stay in ' + (c.output || 'its folder') + '.' },
      'Delete from the list? Its files stay.'),
    button('delete-yes', 'Yes', 'danger strong', () => remove(c.id)), no());
  } else {
    if (asked) view.confirming = null;  // the crawl moved on: the question is moot
    if (live) danger.append(button('cancel', 'Cancel', 'danger', ask('cancel')));
    if (finished) danger.append(button('delete', 'Delete', 'danger', ask('delete')));
  }
  return [controls, danger];
}

// "17:43:29" today, "2026-12-06 17:43" before; the full RFC 3339 time in the title.
function when(cls, iso) {
  if (!iso) return el('div', { class: cls }, '');
  const d = new Date(iso);
  if (isNaN(d)) return el('div', { class: cls }, iso);
  const today = new Date().toDateString() === d.toDateString();
  const text = today ? d.toLocaleTimeString('en-GB')
    : d.toLocaleDateString('en-CA') + ' ' + d.toLocaleTimeString('en-GB').slice(0, 5);
  return el('div', { class: cls, title: iso }, text);
}

function crawlCell(c) {
  const seeds = c.seeds || [];
  const more = (c.seed_count || 0) - seeds.length;
  const line = seeds.length ? seeds[0] + (seeds.length + more > 1 ? ' +' + (seeds.length + more - 1) + ' more' : '') : 'no seeds (joined a cluster crawl)';
  return el('td', { class: 'crawl' }, el('div', { class: 'id' }, c.id),
    el('div', { class: 'seeds', title: seeds.join('\n') }, line));
}

// The state, and for an ended crawl why in a few words (the whole sentence in the tooltip).
function stateCell(c) {
  const td = el('td', { class: 'state state-' + c.state }, c.state);
  const label = c.end_reason ? END_LABELS[c.end_reason] || c.end_reason : '';
  if (label && label !== c.state) td.append(el('div', { class: 'reason' }, label));
  if (c.end_message) td.title = c.end_message;
  return td;
}

// The selected crawl, also in the address (#crawl=ID), so a reload shows it again.
function select(id) {
  view.selected = id;
  const hash = id ? '#crawl=' + encodeURIComponent(id) : '';
  if (location.hash !== hash) history.replaceState(null, '', hash || location.pathname + location.search);
}

function renderCrawls(crawls) {
  const body = document.querySelector('#crawls tbody');
  body.replaceChildren();
  document.getElementById('no-crawls').hidden = crawls.length > 0;
  for (const c of crawls) {
    const s = c.stats || {};
    const h = note(c);
    const row = el('tr', { 'data-id': c.id, class: c.id === view.selected ? 'selected' : '', onclick: () => { select(c.id); refresh(); } },
      crawlCell(c),
      stateCell(c),
      el('td', { class: 'times' }, when('started', c.created_at), when('ended', c.finished_at)),
      el('td', { class: 'n pages' }, (s.pages || 0).toLocaleString('en')),
      el('td', { class: 'n http-errors' }, httpErrorsOf(s).toLocaleString('en')),
      el('td', { class: 'n errors' }, errorsOf(s).toLocaleString('en')),
      el('td', { class: 'n' }, (s.queued || 0).toLocaleString('en')),
      el('td', { class: 'n' }, (s.in_flight || 0).toLocaleString('en')),
      el('td', { class: 'n' }, (s.pages_per_s || 0).toFixed(1)),
      el('td', {}, sparkline(h)),
      ...actions(c));
    body.append(row);
  }
}

function card(label, value) {
  return el('div', { class: 'card' }, el('div', { class: 'value' }, value), el('div', { class: 'label' }, label));
}

async function renderDetail() {
  const section = document.getElementById('detail');
  if (!view.selected || view.gone.has(view.selected)) { section.hidden = true; return; }
  const c = await api('GET', '/v1/crawls/' + encodeURIComponent(view.selected));
  if (view.selected !== c.id) return;  // deleted or another one chosen meanwhile
  const s = c.stats || {};
  section.hidden = false;
  document.getElementById('detail-id').textContent = c.id + ' (' + c.state + ')';
  const ended = FINISHED.includes(c.state) || c.state === 'interrupted';
  const paused = c.state === 'paused';
  const why = document.getElementById('detail-why');
  why.hidden = !(paused || c.end_message);
  why.className = 'why' + (c.end_reason ? ' ended-' + c.end_reason : '') + (c.state === 'failed' ? ' failed' : '') + (paused ? ' paused' : '');
  if (paused) {
    why.replaceChildren(el('strong', {}, 'Paused: '), 'no request starts until Resume. Elapsed time and pages/s leave paused time out.');
  } else if (c.end_message) {
    why.replaceChildren(el('strong', {}, c.state === 'interrupted' ? 'Interrupted: ' : 'Why it ended: '), c.end_message);
  }
  document.getElementById('detail-output').textContent = c.output || '';
  const mb = ((s.bytes || 0) / 1e6).toFixed(1) + ' MB';
  document.getElementById('detail-cards').replaceChildren(
    card('pages', (s.pages || 0).toLocaleString('en')),
    card('4xx/5xx responses', httpErrorsOf(s).toLocaleString('en')),
    card('fetch errors', errorsOf(s).toLocaleString('en')),
    card('seen', (s.seen || 0).toLocaleString('en')), card('queued', (s.queued || 0).toLocaleString('en')),
    card('filtered', (s.filtered || 0).toLocaleString('en')), card('body bytes', mb),
    card('elapsed', (s.elapsed_s || 0).toFixed(0) + ' s'), card('pages/s', (s.pages_per_s || 0).toFixed(1)));
  // Recrawl: what the revisits found, and what waits.
  const fresh = document.getElementById('detail-freshness');
  const r = s.recrawl;
  fresh.hidden = !r;
  if (r) {
    const n = (v) => (v || 0).toLocaleString('en');
    const ch = r.changes || {};
    fresh.querySelector('.cards').replaceChildren(
      card('revisits waiting', n(r.waiting)), card('due now', n(r.due)),
      card('new', n(ch.new)), card('changed', n(ch.changed)), card('unchanged', n(ch.unchanged)),
      card('not modified (304)', n(ch.not_modified)), card('gone', n(ch.gone)),
      card('failed', n(ch.failed)),
      card('saved by 304s', ((r.bytes_saved || 0) / 1e6).toFixed(1) + ' MB'),
      card('ignore validators', n(r.validators_ignored)));
  }
  // The whole history when first shown, and again every HISTORY_REFRESH_MS while it runs.
  const series = seriesOf(c.id);
  if (!series.full || (!ended && Date.now() - series.at > HISTORY_REFRESH_MS)) {
    await loadHistory(c.id, true);
    if (view.selected !== c.id) return;
  }
  drawChart(series);
  renderHosts(c);
  await renderBroken(c);
  const rows = [];
  for (const [k, v] of Object.entries(s.status || {})) rows.push(['status ' + k, v]);
  for (const [k, v] of Object.entries(s.errors || {})) rows.push(['error ' + k, v]);
  document.querySelector('#detail-counts tbody').replaceChildren(
    ...rows.map(([k, v]) => el('tr', {}, el('td', {}, k), el('td', { class: 'n' }, v.toLocaleString('en')))));
}

// The host table: a live crawl's hosts with the most work left (a paused one's say so); an
// ended crawl's as they were at its end, its queued URLs noted with why they were not fetched.
function renderHosts(c) {
  const s = c.stats || {};
  const hosts = c.hosts || [];
  const ended = FINISHED.includes(c.state) || c.state === 'interrupted';
  const paused = c.state === 'paused';
  const queued = s.queued || 0;
  const why = END_NOTES[c.end_reason] || 'the crawl ended';
  document.getElementById('hosts-title').textContent = ended ? 'Hosts at the end' : 'Hosts with the most work left';
  const note = document.getElementById('hosts-note');
  note.hidden = !(ended || paused) || hosts.length === 0;
  note.textContent = paused ? 'The crawl is paused: no host starts a request until Resume.'
    : 'As they were when the crawl ended: those with URLs left first, then the busiest.' +
      (queued > 0 ? ' Their queued URLs were not fetched: ' + why + '.' : '');
  const none = document.getElementById('no-hosts');
  none.hidden = hosts.length > 0;
  none.textContent = !ended ? 'No host has work left.'
    : queued > 0 ? queued.toLocaleString('en') + ' URLs stayed queued, not fetched. ' + (c.end_message || '')
      : 'No host had work left at the end.';
  document.querySelector('#detail-hosts tbody').replaceChildren(...hosts.map((h) => {
    const notes = [];
    if (ended && h.queued > 0) notes.push('not fetched: ' + why);
    if (h.parked) notes.push('page budget spent');
    if (!h.robots_known && !ended) notes.push('robots.txt pending');
    if (h.consecutive_failures > 0) notes.push(h.consecutive_failures + ' failures in a row');
    const next = ended ? el('td', { class: 'n next muted' }, '-')
      : paused ? el('td', { class: 'n next paused' }, 'paused')
        : el('td', { class: 'n next' }, h.wait_ms > 0 ? (h.wait_ms / 1000).toFixed(1) + ' s' : 'now');
    return el('tr', { class: 'host' },
      el('td', {}, h.host),
      el('td', { class: 'n' }, h.queued.toLocaleString('en')),
      el('td', { class: 'n' }, h.open),
      el('td', { class: 'n' }, (h.revisits || 0).toLocaleString('en')),
      next,
      el('td', { class: 'n' }, h.responses.toLocaleString('en')),
      el('td', { class: 'n' }, h.failures.toLocaleString('en')),
      el('td', { class: 'n' }, h.response_ms === null ? '-' : h.response_ms.toFixed(0) + ' ms'),
      el('td', { class: 'muted note' }, notes.join(', ')));
  }));
}

// The selected crawl's broken links, asked again as BROKEN_CHANGED_MS and BROKEN_GROWN_MS say.
async function renderBroken(c) {
  const s = c.stats || {};
  const key = c.state + '/' + httpErrorsOf(s);
  const pages = s.pages || 0;
  const b = view.broken;
  const now = Date.now();
  if (b && b.id === c.id) {
    const changed = b.key !== key;
    if (!changed && b.pages === pages) return;
    if (now - b.at < (changed ? BROKEN_CHANGED_MS : BROKEN_GROWN_MS)) return;
  }
  if (view.gone.has(c.id)) return;
  view.broken = { id: c.id, key, pages, at: now };
  let data;
  try {
    data = await api('GET', '/v1/crawls/' + encodeURIComponent(c.id) + '/broken-links');
  } catch (e) {
    view.broken = null;  // asked again at the next refresh
    throw e;
  }
  if (view.selected !== c.id) return;
  const rows = data.broken_links || [];
  document.getElementById('no-broken').hidden = rows.length > 0;
  const more = document.getElementById('broken-more');
  more.hidden = rows.length >= (data.listed || 0);
  more.textContent = 'The ' + rows.length.toLocaleString('en') + ' most linked of ' +
    (data.listed || 0).toLocaleString('en') + ': trawler report --broken-links FILE lists all as CSV.';
  document.querySelector('#detail-broken tbody').replaceChildren(...rows.map((r) => el('tr', { class: 'broken' },
    el('td', { class: 'url' }, r.url),
    el('td', { class: 'n status-' + String(r.status)[0] + 'xx' }, r.status),
    el('td', { class: 'n' }, r.linked_from_count.toLocaleString('en')),
    el('td', { class: 'pages' }, ...r.linked_from.flatMap((p, i) => (i ? [el('br'), p] : [p]))))));
}

function setStatus(text, bad) {
  const s = document.getElementById('status');
  s.textContent = text;
  s.className = bad ? 'error' : 'muted';
}

function showLogin() {
  document.getElementById('login').hidden = false;
  document.getElementById('app').hidden = true;
  const asked = sessionStorage.getItem(TOKEN_KEY) !== null;
  setStatus(asked ? 'the service refused the token' : 'which token?', asked);
}

// One refresh at a time: a call while one runs asks for another right after it (a poll, a click).
let refreshing = null;
let refreshAgain = false;
function refresh() {
  if (refreshing) {
    refreshAgain = true;
    return refreshing;
  }
  refreshing = (async () => {
    do {
      refreshAgain = false;
      await refreshOnce();
    } while (refreshAgain);
  })().finally(() => { refreshing = null; });
  return refreshing;
}

async function refreshOnce() {
  // Nothing is asked of the API before the user says which token to use (none is a choice too):
  // a refused request would only be noise.
  if (sessionStorage.getItem(TOKEN_KEY) === null) {
    showLogin();
    return;
  }
  try {
    const list = await api('GET', '/v1/crawls');
    const crawls = (list.crawls || []).filter((c) => !view.gone.has(c.id));
    // A crawl no longer listed (deleted, or a stale #crawl= after a reload) is not shown.
    if (view.selected && !crawls.some((c) => c.id === view.selected)) select(null);
    // A crawl seen for the first time: its sparkline's last minute, from the service.
    await Promise.all(crawls.filter((c) => !seriesOf(c.id).loaded)
      .map((c) => loadHistory(c.id, c.id === view.selected).catch(() => { seriesOf(c.id).loaded = true; })));
    document.getElementById('login').hidden = true;
    document.getElementById('app').hidden = false;
    document.getElementById('forget').hidden = sessionStorage.getItem(TOKEN_KEY) === null;
    renderCrawls(crawls);
    await renderDetail();
    setStatus('updated ' + new Date().toLocaleTimeString('en-GB'), false);
  } catch (e) {
    if (e instanceof Unauthorized) showLogin();
    else setStatus('cannot reach the service: ' + e.message, true);
  }
}

document.getElementById('login-form').addEventListener('submit', (ev) => {
  ev.preventDefault();
  sessionStorage.setItem(TOKEN_KEY, document.getElementById('token').value.trim());
  refresh();
});
document.getElementById('no-token').addEventListener('click', () => {
  sessionStorage.setItem(TOKEN_KEY, '');
  refresh();
});
document.getElementById('forget').addEventListener('click', () => {
  sessionStorage.removeItem(TOKEN_KEY);
  view.series.clear();
  showLogin();
});
// The config goes as it was typed: the service reads YAML (JSON being YAML too) as
// `trawler crawl -c` reads a file, and answers with every problem and its key path.
document.getElementById('new-form').addEventListener('submit', async (ev) => {
  ev.preventDefault();
  const out = document.getElementById('new-result');
  const list = document.getElementById('new-errors');
  list.replaceChildren();
  list.hidden = true;
  out.textContent = 'starting...';
  out.className = 'muted';
  try {
    const created = await api('POST', '/v1/crawls', document.getElementById('new-config').value,
      'application/yaml');
    out.textContent = 'started ' + created.id;
    select(created.id);
  } catch (e) {
    out.className = 'error';
    if (e instanceof ApiError) {
      const n = e.problems.length;
      out.textContent = n === 1 ? 'The crawl was not started: 1 problem.' : 'The crawl was not started: ' + n + ' problems.';
      list.replaceChildren(...e.problems.map((p) => el('li', { class: 'problem' },
        el('code', { class: 'problem-key' }, p.key || 'config'), ': ', el('span', { class: 'problem-message' }, p.message))));
      list.hidden = false;
    } else {
      out.textContent = e instanceof Unauthorized ? 'the token was refused' : e.message;
    }
  }
  refresh();
});

// The selected crawl's records (GET /v1/crawls/{id}/records) or HTML report (/report), fetched
// with the token (a link cannot carry it) and saved as a file: the report is built from crawled
// data, so it is never opened inside the dashboard.
async function download(what, name, busy) {
  const out = document.getElementById('download-result');
  const id = view.selected;
  if (!id) return;
  out.textContent = busy;
  out.className = 'muted';
  try {
    const headers = {};
    const token = sessionStorage.getItem(TOKEN_KEY) || '';
    if (token) headers.Authorization = 'Bearer ' + token;
    const res = await fetch('/v1/crawls/' + encodeURIComponent(id) + '/' + what, { headers, cache: 'no-store' });
    if (res.status === 401) throw new Unauthorized();
    if (!res.ok) throw new ApiError(res, await res.json().catch(() => ({})));
    const url = URL.createObjectURL(await res.blob());
    const a = el('a', { href: url, download: name(id), hidden: '' });
    document.body.append(a);
    a.click();
    a.remove();
    setTimeout(() => URL.revokeObjectURL(url), 60000);
    out.textContent = 'saved as ' + name(id);
  } catch (e) {
    out.textContent = e instanceof Unauthorized ? 'the token was refused' : e.message;
    out.className = 'error';
  }
}
document.getElementById('detail-records').addEventListener('click', () =>
  download('records', (id) => 'trawler-records-' + id + '.jsonl', 'reading the records...'));
document.getElementById('detail-report').addEventListener('click', () =>
  download('report', (id) => 'trawler-report-' + id + '.html', 'building the report...'));

document.getElementById('explain-form').addEventListener('submit', async (ev) => {
  ev.preventDefault();
  const out = document.getElementById('explain-result');
  out.hidden = false;
  if (!view.selected) return;
  const url = document.getElementById('explain-url').value.trim();
  try {
    const a = await api('GET', '/v1/crawls/' + encodeURIComponent(view.selected) + '/urls?url=' +
      encodeURIComponent(url));
    out.replaceChildren(el('strong', {}, a.fate.replace(/_/g, ' ') + ': '), a.explanation);
    out.className = 'explanation';
  } catch (e) {
    out.textContent = e instanceof Unauthorized ? 'the token was refused' : e.message;
    out.className = 'error';
  }
});

// #crawl=ID: the crawl shown before a reload.
const shown = /^#crawl=([^&]+)$/.exec(location.hash);
if (shown) view.selected = decodeURIComponent(shown[1]);
refresh();
view.timer = setInterval(refresh, 1000);
