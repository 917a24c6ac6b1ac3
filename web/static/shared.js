// "Share one connection across tabs" for the rtdemo page.
//
// Over HTTP/1.1 a browser opens at most 6 connections per origin, counted
// across all its tabs, so the seventh tab that streams just hangs. In shared
// mode the tabs that want the same transport and channel elect one leader with
// a Web Lock: the lock holder runs the real transport (sse.js or longpoll.js)
// and relays every event to the other tabs over a BroadcastChannel. The lock
// is freed when the leader stops or its tab closes, and the next waiting tab
// takes over, resuming from its own cursor, so nothing is missed.
//
// Every tab still keeps its own cursor, fed by the relayed ids. After a
// handover the new leader may resume from slightly behind what the old one
// relayed (a relay still in flight when the lock moved), so each tab drops
// ids it has already shown. Reports through the same callbacks as sse.js,
// with `role` and `leader` added to the state.

const SEEN_MAX = 4096;

export class SharedTransport {
  // makeInner({cursor, onEvent, onState}) builds the real transport.
  constructor({ transport, channel, cursor, tabId, makeInner, onEvent, onState }) {
    this.transport = transport;
    this.channel = channel;
    this.lastId = cursor || null;
    this.tabId = tabId;
    this.makeInner = makeInner;
    this.onEvent = onEvent;
    this.onState = onState;
    this.running = false;
    this.inner = null;
    this.leader = null; // tab id of the current leader, ours included
    this.followed = false; // whether we ever followed someone: a takeover is a reconnect
    this.seen = new Set();
    this.types = new Set();
    this.lastState = { state: 'connecting', retryInMs: null, reconnects: 0 };
  }

  get name() {
    return `rtdemo:${this.transport}:${this.channel}`;
  }

  start() {
    if (this.running) return;
    if (!('locks' in navigator) || typeof BroadcastChannel === 'undefined') {
      throw new Error('this browser lacks Web Locks or BroadcastChannel');
    }
    this.running = true;
    this.bc = new BroadcastChannel(this.name);
    this.bc.onmessage = (e) => this.onRelay(e.data);
    this.lockAbort = new AbortController();
    this.report({ state: 'connecting', retryInMs: null, reconnects: 0 });
    // Ask who leads, so a tab that joins late shows the leader at once.
    this.post({ type: 'who' });
    navigator.locks
      .request(this.name, { signal: this.lockAbort.signal }, () => this.lead())
      .catch((err) => {
        if (err.name !== 'AbortError') console.error('rtdemo shared mode:', err);
      });
  }

  stop() {
    if (!this.running) return;
    this.running = false;
    if (this.inner) {
      const inner = this.inner;
      this.inner = null;
      inner.onEvent = () => {};
      inner.onState = () => {};
      inner.stop();
      this.post({ type: 'resign' });
    }
    if (this.releaseLock) this.releaseLock();
    this.lockAbort.abort();
    this.bc.close();
    this.onState({ state: 'stopped', retryInMs: null, reconnects: this.lastState.reconnects,
      lastId: this.lastId, role: null, leader: null });
  }

  addType(type) {
    this.types.add(type);
    if (this.inner) this.inner.addType(type);
  }

  // Runs while we hold the lock; returning frees it for the next tab.
  lead() {
    if (!this.running) return undefined;
    this.leader = this.tabId;
    const takeover = this.followed ? 1 : 0;
    this.inner = this.makeInner({
      cursor: this.lastId,
      types: [...this.types],
      onEvent: (ev) => {
        this.deliver(ev);
        this.post({ type: 'event', ev });
      },
      onState: (st) => {
        const s = { ...st, reconnects: st.reconnects + takeover };
        this.report(s);
        this.post({ type: 'state', st: s, cursor: this.lastId });
      },
    });
    this.post({ type: 'leader', cursor: this.lastId });
    this.inner.start();
    return new Promise((resolve) => {
      this.releaseLock = resolve;
    });
  }

  onRelay(msg) {
    if (!this.running || !msg) return;
    const leading = this.inner !== null;
    switch (msg.type) {
      case 'who':
        if (leading) {
          this.post({ type: 'leader', cursor: this.lastId });
          this.post({ type: 'state', st: this.lastState, cursor: this.lastId });
        }
        break;
      case 'leader':
        if (leading) break;
        this.follow(msg.from, msg.cursor);
        this.report(this.lastState);
        break;
      case 'resign':
        if (leading) break;
        this.leader = null;
        this.report({ ...this.lastState, state: 'connecting', retryInMs: null });
        break;
      case 'event':
        if (leading) break;
        this.follow(msg.from);
        this.deliver(msg.ev);
        break;
      case 'state':
        if (leading) break;
        this.follow(msg.from, msg.cursor);
        this.report(msg.st);
        break;
      default:
        break;
    }
  }

  follow(leader, cursor) {
    this.leader = leader;
    this.followed = true;
    // A tab that joined before any message still needs a cursor to resume from
    // if it becomes the leader.
    if (!this.lastId && cursor) this.lastId = cursor;
  }

  deliver(ev) {
    if ((ev.kind === 'message' || ev.kind === 'reset') && ev.id) {
      if (this.seen.has(ev.id)) return;
      this.seen.add(ev.id);
      if (this.seen.size > SEEN_MAX) this.seen.delete(this.seen.values().next().value);
    }
    if (ev.kind === 'message' && ev.id) this.lastId = ev.id;
    if (ev.kind === 'reset' && ev.id) this.lastId = ev.id;
    if (ev.kind === 'heartbeat' && ev.cursor) this.lastId = ev.cursor;
    this.onEvent({ ...ev, via: this.leader === this.tabId ? null : this.leader });
  }

  report(st) {
    this.lastState = { state: st.state, retryInMs: st.retryInMs ?? null, reconnects: st.reconnects || 0 };
    this.onState({
      ...this.lastState,
      lastId: this.lastId,
      error: st.error || null,
      role: this.inner ? 'leader' : 'follower',
      leader: this.leader,
    });
  }

  post(msg) {
    if (this.running || msg.type === 'resign') this.bc.postMessage({ ...msg, from: this.tabId });
  }
}
