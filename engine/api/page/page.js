// archy's status page. It shows what GET /v1/status says, and reads it
// again whenever the daemon reports an event, so a problem shows the
// moment it happens and goes when the app is back. It decides nothing:
// the banners are the status document's problems, one each.
//
// All text goes in through textContent, never as markup: app ids,
// messages and URLs come from the node and its apps.
'use strict';

// The event types of docs/api.md; "message" catches an event with no name.
const EVENT_TYPES = ['reconcile', 'step', 'state', 'failure', 'warning', 'backoff',
  'rollback', 'config', 'podman', 'message'];

const ACTIONS = {
  start: {label: 'Start', busy: 'starting…', done: 'started',
    explain: 'archy starts it (and what it depends on) and keeps it running.'},
  stop: {label: 'Stop', busy: 'stopping…', done: 'stopped',
    explain: 'archy stops it cleanly and keeps it stopped, across reconciles and reboots, until you start it.'},
  restart: {label: 'Restart', busy: 'restarting…', done: 'restarted',
    explain: 'archy stops it cleanly and starts it again.'},
  upgrade: {label: 'Upgrade', busy: 'upgrading…', done: 'upgraded',
    explain: 'archy builds or pulls its new version, recreates it and proves it healthy, or rolls it back. This can take minutes.'},
};

const INTENT_WORDS = {
  stopped: 'stopped by the operator',
  removed: 'removed by the operator',
  adopted: 'adopted (archy found it, did not make it)',
};

// The details an app row can show, in order; an empty one is hidden.
const DETAILS = [['url', 'URL'], ['generation', 'Generation'], ['intent', 'Intent'],
  ['held', 'Held'], ['backoff', 'Backoff'], ['degraded', 'Degraded'], ['restarts', 'Restarts']];

const LOOPBACK = /^(localhost|127(\.\d+){3}|\[::1\])$/;

const $ = (sel) => document.querySelector(sel);

const page = {
  status: null, // the last status document
  events: new Map(), // app id ('' for the node) -> {time, type, message}
  busy: new Map(), // app id -> {action, since}
  rows: new Map(), // app id -> its element
  banners: new Map(), // app + ' ' + kind -> its element
  skew: 0, // ms the daemon's clock is ahead of this device's
  es: null,
  live: false,
  unauthorized: false,
  error: '', // why the last status could not be read
};

function el(tag, props, ...kids) {
  const e = document.createElement(tag);
  for (const [k, v] of Object.entries(props || {})) {
    if (k === 'class') e.className = v;
    else if (k === 'text') e.textContent = v;
    else e.setAttribute(k, v);
  }
  e.append(...kids);
  return e;
}

// setText and setAttr touch the DOM only for a change: a banner whose
// text is rewritten is announced again by screen readers.
function setText(e, s) {
  if (e.textContent !== s) e.textContent = s;
}

function setAttr(e, name, v) {
  if (v === null || v === undefined || v === '') e.removeAttribute(name);
  else if (e.getAttribute(name) !== v) e.setAttribute(name, v);
}

// --- reading the status -------------------------------------------------

// refresh reads the status again. Events come in bursts (a reconcile is a
// dozen), so at most one read is in flight and one more waits; the one
// that waits starts after the event that queued it, so it sees its effect.
const STATUS_TIMEOUT = 15000;
let fetching = false;
let again = false;

function refresh() {
  if (fetching) {
    again = true;
    return;
  }
  fetching = true;
  loadStatus().finally(() => {
    fetching = false;
    if (again) {
      again = false;
      refresh();
    }
  });
}

async function loadStatus() {
  let r;
  let doc;
  try {
    // A read that hangs (a daemon stuck on Podman) must not hold every
    // later one back: give up after STATUS_TIMEOUT and let the next go.
    r = await fetch('/v1/status', {cache: 'no-store', credentials: 'same-origin',
      signal: AbortSignal.timeout(STATUS_TIMEOUT)});
    if (r.status === 401) {
      page.unauthorized = true;
      showConn();
      return;
    }
    page.unauthorized = false;
    doc = await r.json();
  } catch (e) {
    page.error = 'no answer from the daemon';
    showConn();
    renderSummary();
    return;
  }
  if (!r.ok) {
    page.error = 'cannot read the status: ' + (doc.error || r.status);
    renderSummary();
    showConn();
    return;
  }
  page.error = '';
  // Countdowns are the daemon's times; this device's clock may be off.
  const date = Date.parse(r.headers.get('Date') || '');
  if (!isNaN(date)) {
    const d = date - Date.now();
    page.skew = Math.abs(d) > 2000 ? d : 0; // Date has whole seconds
  }
  page.status = doc;
  render();
  if (!page.es) connect(); // signed in again, or the stream had given up
  showConn();
}

// --- the event stream ---------------------------------------------------

function connect() {
  const es = new EventSource('/v1/events');
  page.es = es;
  // open comes on the first connect and on every reconnect (a restarted
  // daemon): events were missed meanwhile, so read the whole status.
  es.addEventListener('open', () => {
    page.live = true;
    showConn();
    refresh();
  });
  es.addEventListener('error', () => {
    page.live = false;
    showConn();
    if (es.readyState === EventSource.CLOSED) {
      // The browser retries a dropped stream by itself, but gives up on an
      // answer that is not a stream (a 401, a proxy's 502). The status says
      // which; the next good one connects again.
      es.close();
      if (page.es === es) page.es = null;
      setTimeout(refresh, 3000);
    }
  });
  for (const type of EVENT_TYPES) es.addEventListener(type, onEvent);
}

function onEvent(m) {
  let e;
  try {
    e = JSON.parse(m.data);
  } catch {
    return; // not an event of ours
  }
  const app = e.app || '';
  page.events.set(app, {time: e.time, type: e.type || m.type, message: e.message || ''});
  showLastEvent(app);
  refresh();
}

function showConn() {
  const state = page.unauthorized ? 'unauthorized' : page.live ? 'live' : 'reconnecting';
  const c = $('#conn');
  c.dataset.state = state;
  let words = 'Live';
  if (state === 'unauthorized') words = 'Not signed in';
  else if (state === 'reconnecting') words = page.status ? 'Reconnecting… (showing the last known state)' : 'Connecting…';
  setText(c.querySelector('.words'), words);
  $('#conn-help').hidden = state !== 'unauthorized';
  showAllGood();
  if (state === 'unauthorized' && !page.status) setText($('#summary'), 'Nothing to show until this browser is signed in.');
  document.body.dataset.conn = state; // the stylesheet dims a stale page
}

// --- rendering ----------------------------------------------------------

function render() {
  const doc = page.status;
  $('#apps-section').hidden = false;
  renderBanners(doc.problems || []);
  renderApps(doc.apps || [], doc.degraded);
  renderSummary();
  showLastEvent('');
  tick();
}

function renderSummary() {
  const s = $('#summary');
  if (page.error) {
    s.dataset.ok = 'false';
    setText(s, page.status ? `Showing the last known state: ${page.error}.` : `${page.error[0].toUpperCase()}${page.error.slice(1)}.`);
    return;
  }
  const doc = page.status;
  if (!doc) return;
  const apps = doc.apps || [];
  const n = {healthy: 0, starting: 0, unhealthy: 0, down: 0, stopped: 0};
  for (const a of apps) {
    const word = healthWord(a.health);
    if (a.state !== 'running') {
      const intended = (a.intent || []).some((i) => i === 'stopped' || i === 'removed');
      n[intended ? 'stopped' : 'down']++;
    } else if (word in n) {
      n[word]++;
    }
  }
  // No-break spaces keep "1 stopped" on one line on a phone.
  const parts = [`${apps.length}\u00a0${apps.length === 1 ? 'app' : 'apps'}`, `${n.healthy}\u00a0healthy`];
  for (const k of ['starting', 'unhealthy', 'down', 'stopped']) if (n[k]) parts.push(`${n[k]}\u00a0${k}`);
  const problems = (doc.problems || []).length;
  parts.push(problems ? `${problems}\u00a0${problems === 1 ? 'problem' : 'problems'}` : 'no\u00a0problems');
  s.dataset.ok = String(problems === 0);
  setText(s, parts.join(' · '));
}

// Banners are keyed by app and kind: one that persists is the same
// element, so a screen reader announces it once, when it appears.
function renderBanners(problems) {
  const box = $('#banners');
  const seen = new Set();
  problems.forEach((p, i) => {
    const key = (p.app || '') + ' ' + p.kind;
    seen.add(key);
    let b = page.banners.get(key);
    if (!b) {
      b = el('div', {class: 'banner', role: 'alert', 'data-app': p.app || '', 'data-kind': p.kind},
        el('span', {class: 'message'}));
      page.banners.set(key, b);
    }
    setText(b.querySelector('.message'), p.message);
    setAttr(b, 'data-since', p.since ? 'since ' + when(p.since) : '');
    let cd = b.querySelector('.countdown');
    if (p.until && !cd) {
      // aria-hidden: a live region would read every second's change out.
      cd = b.appendChild(el('span', {class: 'countdown', 'aria-hidden': 'true'}));
    } else if (!p.until && cd) {
      cd.remove();
    }
    if (cd && p.until) setAttr(cd, 'data-until', p.until);
    if (box.children[i] !== b) box.insertBefore(b, box.children[i] || null);
  });
  for (const [key, b] of page.banners) {
    if (!seen.has(key)) {
      b.remove();
      page.banners.delete(key);
      // Over, unless the app has another problem now (down became a crash
      // loop, say): then the new banner tells the story.
      const app = b.dataset.app;
      if (![...seen].some((k) => k.startsWith(app + ' '))) resolved(b);
    }
  }
  for (const r of $('#resolved').children) {
    if (seen.has(r.dataset.app + ' ' + r.dataset.kind)) r.remove(); // back again: the banner says so
  }
  showAllGood();
}

// RESOLVED_FOR is how long a problem that ended stays on the page, quiet
// (no alert): a UI that archy brought back within a second was still
// down, and the operator should be able to see that it was.
const RESOLVED_FOR = 60000;

function resolved(b) {
  const r = el('div', {class: 'resolved', 'data-app': b.dataset.app, 'data-kind': b.dataset.kind},
    el('span', {class: 'message'}));
  setText(r.querySelector('.message'), 'resolved ' + when(new Date().toISOString()) + ': ' +
    b.querySelector('.message').textContent);
  const box = $('#resolved');
  box.prepend(r);
  setTimeout(() => r.remove(), RESOLVED_FOR);
}

// showAllGood says nothing is wrong only while that is known: live, and
// no banner.
function showAllGood() {
  $('#all-good').hidden = !page.status || !page.live || page.unauthorized || page.banners.size > 0;
}

function renderApps(apps, degraded) {
  const list = $('#apps');
  const seen = new Set();
  apps.forEach((a, i) => {
    seen.add(a.app);
    let row = page.rows.get(a.app);
    if (!row) {
      row = appRow(a.app);
      page.rows.set(a.app, row);
      showLastEvent(a.app);
    }
    fillRow(row, a);
    // Move a row only when it is out of place: moving it drops focus.
    if (list.children[i] !== row) list.insertBefore(row, list.children[i] || null);
  });
  for (const [id, row] of page.rows) {
    if (!seen.has(id)) {
      row.remove();
      page.rows.delete(id);
    }
  }
  const none = $('#no-apps');
  none.hidden = apps.length > 0;
  setText(none, degraded ? 'No apps to show: the daemon cannot read them while it is degraded.' : 'No apps are declared.');
}

function appRow(id) {
  const buttons = Object.entries(ACTIONS).map(([action, a]) =>
    el('button', {type: 'button', 'data-action': action, 'aria-label': `${a.label} ${id}`, text: a.label}));
  const details = el('dl', {class: 'details'});
  for (const [key, label] of DETAILS) {
    details.append(el('div', {class: 'detail', 'data-detail': key, hidden: ''},
      el('dt', {text: label}), el('dd', {class: key})));
  }
  return el('li', {class: 'app', 'data-app': id},
    el('div', {class: 'head'},
      el('h3', {class: 'name', text: id}),
      el('span', {class: 'state'}),
      el('span', {class: 'exit'}),
      el('span', {class: 'health'}, el('span', {class: 'health-word'}), el('span', {class: 'note'}))),
    details,
    el('p', {class: 'last-event'}, el('time'), el('span', {class: 'event-message'})),
    el('div', {class: 'actions'}, ...buttons),
    el('p', {class: 'busy', hidden: ''}));
}

function healthWord(h) {
  return (h || '').split(':')[0].trim();
}

function fillRow(row, a) {
  const state = row.querySelector('.state');
  setText(state, a.state || 'unknown');
  state.dataset.state = a.state || 'unknown';
  setText(row.querySelector('.exit'), a.state === 'exited' ? `exit ${a.exit_code}` : '');
  // "starting: Loading block index…" shows as starting, with its note.
  const h = a.health || '';
  const cut = h.indexOf(':');
  const health = row.querySelector('.health');
  health.dataset.health = healthWord(h) || 'none';
  health.hidden = h === '';
  setText(health.querySelector('.health-word'), cut < 0 ? h : h.slice(0, cut));
  setText(health.querySelector('.note'), cut < 0 ? '' : h.slice(cut + 1).trim());

  const url = appURL(a.url);
  const urlDD = row.querySelector('dd.url');
  let link = urlDD.querySelector('a');
  if (url && !link) link = urlDD.appendChild(el('a', {rel: 'noopener noreferrer', target: '_blank'}));
  if (!url && link) link.remove();
  if (url) {
    setAttr(link, 'href', url);
    setText(link, url);
  }
  detail(row, 'url', url ? url : '');
  detail(row, 'generation', a.generation ? String(a.generation) : '');
  detail(row, 'intent', (a.intent || []).map((i) => INTENT_WORDS[i] || i).join(', '));
  detail(row, 'held', a.held || '');
  detail(row, 'degraded', a.degraded || '');
  detail(row, 'restarts', a.restarts ? `${a.restarts} since the daemon started` : '');
  const backoff = row.querySelector('dd.backoff');
  setAttr(backoff, 'data-until', a.backoff_until || '');
  detail(row, 'backoff', a.backoff_until ? countdown(a.backoff_until) : '');
  showBusy(a.app);
}

// detail shows a row's detail, or hides it when there is nothing to say.
// The URL's dd holds a link, so only its visibility is set here.
function detail(row, key, text) {
  const d = row.querySelector(`[data-detail="${key}"]`);
  d.hidden = text === '';
  if (key !== 'url') setText(d.querySelector('dd'), text);
}

// appURL is where the app answers, as a link for this browser: only http
// and https, and the node's loopback address made the page's host, since
// 127.0.0.1 on a phone is the phone.
function appURL(raw) {
  if (!raw) return '';
  let u;
  try {
    u = new URL(raw);
  } catch {
    return '';
  }
  if (u.protocol !== 'http:' && u.protocol !== 'https:') return '';
  if (LOOPBACK.test(u.hostname) && !LOOPBACK.test(location.hostname)) u.hostname = location.hostname;
  return u.href;
}

function showLastEvent(app) {
  const ev = page.events.get(app);
  if (app === '') {
    const p = $('#node-event');
    p.hidden = !ev;
    if (ev) setText(p, `Last node event: ${when(ev.time)} ${ev.message}`);
    return;
  }
  const row = page.rows.get(app);
  if (!row) return;
  const p = row.querySelector('.last-event');
  const t = p.querySelector('time');
  p.dataset.type = ev ? ev.type : 'none';
  setAttr(t, 'datetime', ev ? ev.time : '');
  setText(t, ev ? when(ev.time) : '');
  setText(p.querySelector('.event-message'), ev ? ev.message : 'no event since this page opened');
}

function showBusy(app) {
  const row = page.rows.get(app);
  if (!row) return;
  const b = page.busy.get(app);
  setAttr(row, 'data-busy', b ? b.action : '');
  setAttr(row, 'aria-busy', b ? 'true' : '');
  for (const btn of row.querySelectorAll('button[data-action]')) btn.disabled = !!b;
  const p = row.querySelector('.busy');
  p.hidden = !b;
  if (b) setText(p, ACTIONS[b.action].busy + elapsed(b.since));
}

// --- time ---------------------------------------------------------------

function when(iso) {
  const d = new Date(iso);
  if (isNaN(d)) return '';
  const t = d.toLocaleTimeString([], {hour: '2-digit', minute: '2-digit', second: '2-digit', hourCycle: 'h23'});
  if (d.toDateString() === new Date().toDateString()) return t;
  return d.toLocaleDateString([], {day: 'numeric', month: 'short'}) + ' ' + t;
}

function duration(s) {
  if (s < 60) return `${s}s`;
  if (s < 3600) return `${Math.floor(s / 60)}m ${String(s % 60).padStart(2, '0')}s`;
  if (s < 86400) return `${Math.floor(s / 3600)}h ${String(Math.floor(s / 60) % 60).padStart(2, '0')}m`;
  const d = Math.floor(s / 86400);
  return `${d} ${d === 1 ? 'day' : 'days'}`;
}

function countdown(iso) {
  const ms = Date.parse(iso) - (Date.now() + page.skew);
  if (isNaN(ms)) return '';
  return ms <= 0 ? 'restarting now' : `restarting in ${duration(Math.ceil(ms / 1000))}`;
}

function elapsed(since) {
  const s = Math.floor((Date.now() - since) / 1000);
  return s < 2 ? '' : ` ${duration(s)}`;
}

// tick updates what changes with time alone: countdowns and busy rows.
function tick() {
  for (const e of document.querySelectorAll('[data-until]')) setText(e, countdown(e.dataset.until));
  for (const app of page.busy.keys()) showBusy(app);
}

// --- actions ------------------------------------------------------------

// ask opens the in-page dialog (window.confirm blocks the page, and is
// awkward on phones) and resolves to the answer.
let answer = null;

function ask(app, action) {
  const a = ACTIONS[action];
  setText($('#confirm-title'), `${a.label} ${app}?`);
  setText($('#confirm-text'), a.explain);
  setText($('#confirm-yes'), `${a.label} ${app}`);
  $('#confirm').showModal(); // focuses Cancel, the first button: the safe default
  return new Promise((resolve) => {
    answer = resolve;
  });
}

function answered(yes) {
  const resolve = answer;
  answer = null;
  const d = $('#confirm');
  if (d.open) d.close();
  if (resolve) resolve(yes);
}

async function act(app, action) {
  if (page.busy.has(app) || !(await ask(app, action))) return;
  const a = ACTIONS[action];
  page.busy.set(app, {action, since: Date.now()});
  showBusy(app);
  try {
    // The header tells the daemon a page of its own asks: a form on
    // another site cannot send it.
    const r = await fetch(`/v1/apps/${encodeURIComponent(app)}/${action}`, {
      method: 'POST', headers: {'X-Archy-Request': '1'}, credentials: 'same-origin',
    });
    let body = {};
    try {
      body = await r.json();
    } catch {
      // no JSON: the status code says enough
    }
    if (r.ok) {
      notify(`${app} ${a.done}.`, 'ok');
    } else {
      if (r.status === 401) {
        page.unauthorized = true;
        showConn();
      }
      notify(`${a.label} ${app} failed: ${body.error || `${r.status} ${r.statusText}`}`, 'error');
    }
  } catch (e) {
    notify(`${a.label} ${app}: no answer from the daemon; it may still be doing it.`, 'error');
  } finally {
    page.busy.delete(app);
    showBusy(app);
    refresh();
  }
}

// notify shows a notice that blocks nothing: a success goes by itself,
// an error stays until dismissed.
function notify(text, kind) {
  const close = el('button', {type: 'button', class: 'close', 'aria-label': 'Dismiss', text: '×'});
  const n = el('div', {class: 'notice', 'data-kind': kind}, el('span', {class: 'text', text}), close);
  close.addEventListener('click', () => n.remove());
  $('#notices').append(n);
  if (kind === 'ok') setTimeout(() => n.remove(), 6000);
}

// --- start --------------------------------------------------------------

function init() {
  // The token in the address has done its work (the daemon set a cookie):
  // keep it out of the history and of screenshots.
  if (new URLSearchParams(location.search).has('token')) history.replaceState(null, '', location.pathname);
  setText($('#sign-in'), `${location.origin}/?token=…`);
  $('#apps').addEventListener('click', (ev) => {
    const b = ev.target.closest('button[data-action]');
    if (b) act(b.closest('.app').dataset.app, b.dataset.action);
  });
  const d = $('#confirm');
  $('#confirm-yes').addEventListener('click', () => answered(true));
  $('#confirm-no').addEventListener('click', () => answered(false));
  // Escape, or a phone's back gesture. (Not "close": that event comes
  // late, and could cancel the next question.)
  d.addEventListener('cancel', () => answered(false));
  d.addEventListener('click', (ev) => {
    if (ev.target === d) answered(false); // the backdrop
  });
  // A phone may drop the stream of a page in the background.
  document.addEventListener('visibilitychange', () => {
    if (!document.hidden) refresh();
  });
  connect();
  refresh();
  // A safety net under the events; each read probes the apps' health, so
  // a page nobody looks at does not ask.
  setInterval(() => {
    if (!document.hidden) refresh();
  }, 10000);
  setInterval(tick, 1000);
}

init();
