// Glue for the rtdemo page: wires the buttons, the send form and the status
// panels to the transports in sse.js, longpoll.js, ws.js and shared.js, and renders
// what they report.
//
// Pushed data is untrusted: it only ever reaches the page through textContent.
//
// Query parameters, for links and for tests: ?channel=NAME, ?shared=1,
// ?types=a,b (extra SSE event types), ?log=N (log cap), ?backoff_max_ms=N.

import { SseTransport } from './sse.js';
import { LongPollTransport } from './longpoll.js';
import { WebSocketTransport } from './ws.js';
import { SharedTransport } from './shared.js';

const params = new URLSearchParams(location.search);
const LOG_CAP = clampInt(params.get('log'), 500, 10, 100000);
const BACKOFF = { baseMs: 500, maxMs: clampInt(params.get('backoff_max_ms'), 30000, 100, 600000) };
const TRANSPORTS = ['sse', 'longpoll', 'ws'];
const LABEL = { sse: 'SSE', longpoll: 'Long Polling', ws: 'WebSocket' };
const PREFIX = { sse: 'sse', longpoll: 'lp', ws: 'ws' };
const TYPE_RE = /^[A-Za-z0-9._:-]{1,64}$/; // the protocol's channel and event rule

const $ = (id) => document.getElementById(id);

// ---- Tab identity --------------------------------------------------------
// sessionStorage survives a reload but is per tab. A duplicated tab copies it,
// so a new tab announces its id and picks another if a live tab answers.

const tabs = new BroadcastChannel('rtdemo:tabs');
let tabId = sessionStorage.getItem('rtdemo.tabId') || newTabId();
sessionStorage.setItem('rtdemo.tabId', tabId);
const bornAt = Date.now();
tabs.onmessage = (e) => {
  const m = e.data || {};
  if (m.type === 'hello' && m.id === tabId) {
    tabs.postMessage({ type: 'taken', id: tabId, bornAt });
  } else if (m.type === 'taken' && m.id === tabId && m.bornAt < bornAt && !anyRunning()) {
    tabId = newTabId();
    sessionStorage.setItem('rtdemo.tabId', tabId);
    showTabId();
  } else if (m.type === 'types') {
    for (const t of m.types || []) addSseType(t, false);
  }
};
tabs.postMessage({ type: 'hello', id: tabId });
showTabId();

function newTabId() {
  const b = crypto.getRandomValues(new Uint8Array(3));
  return [...b].map((x) => x.toString(16).padStart(2, '0')).join('');
}

function showTabId() {
  $('tab-id').textContent = tabId;
  $('tab-id').dataset.tabId = tabId;
  document.title = `rtdemo (tab ${tabId})`;
}

// ---- Per-transport state -------------------------------------------------

const state = {};
for (const t of TRANSPORTS) {
  state[t] = {
    client: null,
    cursors: new Map(), // channel -> last id, so Stop then Start resumes
    heartbeats: 0,
    lastHeartbeat: null,
    st: { state: 'stopped' },
    retryAt: null,
    downSince: null,
  };
}

// SSE only delivers named events it listens for; see sse.js.
const sseTypes = new Set(splitTypes(params.get('types') || ''));

function splitTypes(s) {
  return s.split(/[\s,]+/).filter((t) => TYPE_RE.test(t));
}

function addSseType(type, tell) {
  if (!type || sseTypes.has(type) || !TYPE_RE.test(type)) return;
  sseTypes.add(type);
  state.sse.client?.addType(type);
  if (tell) tabs.postMessage({ type: 'types', types: [type] });
}

// ---- Controls --------------------------------------------------------------

const channelInput = $('channel');
const sharedBox = $('shared');
const typesInput = $('sse-types');
if (params.get('channel')) channelInput.value = params.get('channel');
sharedBox.checked = params.get('shared') === '1';
typesInput.value = [...sseTypes].join(', ');
typesInput.addEventListener('change', () => {
  for (const t of splitTypes(typesInput.value)) addSseType(t, true);
});
$('log-cap-note').textContent = `newest last, at most ${LOG_CAP} kept`;

for (const t of TRANSPORTS) {
  $(`${PREFIX[t]}-toggle`).addEventListener('click', () => toggle(t));
}
$('clear-log').addEventListener('click', () => {
  $('log').replaceChildren();
});

function anyRunning() {
  return TRANSPORTS.some((t) => Boolean(state[t].client));
}

function toggle(t) {
  const s = state[t];
  if (s.client) {
    s.client.stop();
    s.client = null;
  } else {
    const channel = channelInput.value.trim() || 'demo';
    if (!channelInput.checkValidity()) {
      channelInput.focus();
      channelInput.reportValidity();
      return;
    }
    s.channel = channel;
    s.client = makeClient(t, channel);
    try {
      s.client.start();
    } catch (err) {
      s.client = null;
      renderState(t, { state: 'stopped', error: String(err.message || err) });
    }
  }
  renderButtons();
}

function makeClient(t, channel) {
  const s = state[t];
  const onEvent = (ev) => handleEvent(t, channel, ev);
  const onState = (st) => renderState(t, st);
  const cursor = s.cursors.get(channel) || null;
  const make = ({ cursor: c, types, onEvent: oe, onState: os }) =>
    t === 'sse'
      ? new SseTransport({ channel, cursor: c, types, onEvent: oe, onState: os, backoff: BACKOFF })
      : t === 'ws'
        ? new WebSocketTransport({ channel, cursor: c, onEvent: oe, onState: os, backoff: BACKOFF })
        : new LongPollTransport({ channel, cursor: c, onEvent: oe, onState: os, backoff: BACKOFF });
  if (sharedBox.checked) {
    const shared = new SharedTransport({
      transport: t, channel, cursor, tabId, makeInner: make, onEvent, onState,
    });
    for (const ty of sseTypes) shared.addType(ty);
    return shared;
  }
  return make({ cursor, types: [...sseTypes], onEvent, onState });
}

function renderButtons() {
  for (const t of TRANSPORTS) {
    const b = $(`${PREFIX[t]}-toggle`);
    const on = Boolean(state[t].client);
    b.textContent = `${on ? 'Stop' : 'Start'} ${LABEL[t]}`;
    b.setAttribute('aria-pressed', String(on));
  }
  // A running transport keeps the channel and mode it started with.
  channelInput.disabled = anyRunning();
  sharedBox.disabled = anyRunning();
}

// ---- Events ----------------------------------------------------------------

function handleEvent(t, channel, ev) {
  const s = state[t];
  if (ev.kind === 'heartbeat') {
    if (ev.cursor) s.cursors.set(channel, ev.cursor);
    s.heartbeats += 1;
    s.lastHeartbeat = Date.now();
    blink(t);
    return;
  }
  if (ev.id) s.cursors.set(channel, ev.id);
  if (ev.kind === 'reset') {
    appendReset(t, channel, ev);
  } else if (ev.kind === 'message') {
    // A type seen by long polling is one SSE should listen for too.
    if (ev.event) addSseType(ev.event, false);
    appendMessage(t, channel, ev);
  }
}

function blink(t) {
  const heart = $(`${PREFIX[t]}-heart`);
  heart.dataset.count = String(state[t].heartbeats);
  heart.classList.remove('beat');
  void heart.offsetWidth; // restart the CSS animation
  heart.classList.add('beat');
  renderAges();
}

const log = $('log');

function entry(kind, t, channel, via) {
  const li = document.createElement('li');
  li.className = `entry ${kind}`;
  li.dataset.kind = kind;
  li.dataset.transport = t;
  li.dataset.channel = channel;
  if (via) li.dataset.via = via;
  li.append(span('time', clock(new Date())));
  li.append(span('via', via ? `${LABEL[t]} via tab ${via}` : LABEL[t]));
  return li;
}

function appendMessage(t, channel, ev) {
  const li = entry('message', t, channel, ev.via);
  li.dataset.id = ev.id || '';
  li.dataset.event = ev.event || '';
  const id = span('id', ev.id || '(no id)');
  if (ev.ts) id.title = `stored by the server at ${new Date(ev.ts).toISOString()}`;
  li.append(id, span('event', ev.event || 'message'), span('data', ev.data ?? ''));
  push(li);
}

function appendReset(t, channel, ev) {
  const li = entry('reset', t, channel, ev.via);
  li.dataset.oldest = ev.oldest || '';
  const what = ev.oldest
    ? `History was lost: messages before the oldest available id ${ev.oldest} are gone.`
    : 'History was lost: the server holds no earlier messages for this channel.';
  const why = ev.reason ? ` (${ev.reason})` : '';
  li.append(span('notice', `Reset on channel ${channel}. ${what}${why}`));
  li.setAttribute('role', 'note');
  push(li);
}

function push(li) {
  const atBottom = log.scrollHeight - log.scrollTop - log.clientHeight < 40;
  log.append(li);
  while (log.childElementCount > LOG_CAP) log.firstElementChild.remove();
  if (atBottom) log.scrollTop = log.scrollHeight;
}

function span(cls, text) {
  const el = document.createElement('span');
  el.className = cls;
  el.textContent = text;
  return el;
}

function clock(d) {
  const p = (n, w = 2) => String(n).padStart(w, '0');
  return `${p(d.getHours())}:${p(d.getMinutes())}:${p(d.getSeconds())}.${p(d.getMilliseconds(), 3)}`;
}

// ---- Status ----------------------------------------------------------------

function renderState(t, st) {
  const s = state[t];
  s.st = st;
  s.retryAt = st.state === 'reconnecting' && st.retryInMs != null ? Date.now() + st.retryInMs : null;
  if (st.state !== 'reconnecting') s.downSince = null;
  else if (s.downSince == null) s.downSince = Date.now();
  const p = PREFIX[t];
  const dd = $(`${p}-state`);
  dd.dataset.state = st.state;
  dd.dataset.role = st.role || '';
  dd.dataset.leader = st.leader || '';
  $(`${p}-last-id`).textContent = st.lastId || '–';
  $(`${p}-reconnects`).textContent = String(st.reconnects || 0);
  $(`${p}-reconnects`).dataset.count = String(st.reconnects || 0);
  renderStateText(t);
}

function renderStateText(t) {
  const s = state[t];
  const st = s.st;
  let text = st.state;
  if (st.state === 'reconnecting' && s.retryAt != null) {
    text = `reconnecting in ${Math.max(0, Math.ceil((s.retryAt - Date.now()) / 1000))} s`;
  } else if (st.state === 'reconnecting' && s.downSince != null) {
    // EventSource keeps its retry delay to itself, so say how long it has been.
    text = `reconnecting (browser retrying, down ${Math.round((Date.now() - s.downSince) / 1000)} s)`;
  }
  if (st.role === 'leader') text += ' (leader: this tab holds the shared stream)';
  if (st.role === 'follower') {
    text += st.leader ? ` (shared: via tab ${st.leader})` : ' (shared: waiting for a leader)';
  }
  if (st.error) text += `: ${st.error}`;
  const dd = $(`${PREFIX[t]}-state`);
  if (dd.textContent !== text) dd.textContent = text;
}

function renderAges() {
  for (const t of TRANSPORTS) {
    const s = state[t];
    const el = $(`${PREFIX[t]}-heart-age`);
    el.textContent = s.lastHeartbeat == null
      ? 'none yet'
      : `${s.heartbeats} received, last ${Math.round((Date.now() - s.lastHeartbeat) / 1000)} s ago`;
    renderStateText(t);
  }
}
setInterval(renderAges, 1000);

// ---- Send form ---------------------------------------------------------------

$('send-form').addEventListener('submit', async (e) => {
  e.preventDefault();
  const out = $('send-result');
  const data = $('send-data').value;
  const event = $('send-event').value.trim();
  const body = new URLSearchParams({ channel: channelInput.value.trim() || 'demo', data });
  if (event) {
    body.set('event', event);
    // Tell every tab's EventSource to listen for it before it can arrive.
    addSseType(event, true);
  }
  out.dataset.status = 'pending';
  out.textContent = 'sending…';
  try {
    const resp = await fetch('/send', { method: 'POST', body });
    const j = await resp.json().catch(() => ({}));
    if (resp.ok) {
      out.dataset.status = 'ok';
      out.dataset.id = j.id || '';
      out.textContent = `sent as id ${j.id} on ${j.channel}`;
    } else {
      out.dataset.status = 'error';
      out.textContent = `not sent: HTTP ${resp.status}${j.error ? `: ${j.error}` : ''}`;
    }
  } catch (err) {
    out.dataset.status = 'error';
    out.textContent = `not sent: ${err.message || err}`;
  }
});

// Enter makes a new line in the data field, so Ctrl+Enter (or Cmd+Enter) sends.
$('send-data').addEventListener('keydown', (e) => {
  if (e.key === 'Enter' && (e.ctrlKey || e.metaKey)) $('send-form').requestSubmit();
});

function clampInt(v, dflt, lo, hi) {
  const n = Number.parseInt(v, 10);
  return Number.isFinite(n) ? Math.min(hi, Math.max(lo, n)) : dflt;
}

// Tests wait on this before clicking.
document.documentElement.dataset.ready = 'true';
