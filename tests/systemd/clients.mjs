// Many plain HTTP clients of rtdemo, for the container tests that need more
// than a few browser tabs (1,000 subscribers across 20 restarts, a fan-out
// big enough to measure):
//   - SseCrowd: N subscribers of one channel on GET /events over raw
//     sockets. Each keeps every message id it receives, in order, and when
//     its stream ends it connects again at once with Last-Event-ID, as an
//     EventSource does (without the retry: wait, so restarts are hit hard).
//     Every connection attempt is counted by how it ended: refused (nobody
//     listening: ECONNREFUSED), failed (accepted, but closed or reset before
//     the response head), or served.
//   - request(): one request on a fresh connection (Connection: close), with
//     no retry, for "a /send or a long poll issued mid-restart succeeds".
// Every time is process.hrtime (CLOCK_MONOTONIC), comparable with systemd's
// *TimestampMonotonic properties.
//
// All on the event loop of the test's process; nothing here is thread-safe
// or needs to be.

import net from 'node:net';

export function nowUs() {
  return Number(process.hrtime.bigint() / 1000n);
}

// How connection attempts ended, summed over a crowd.
export class Tally {
  constructor() {
    this.refused = 0;
    this.failed = 0;
    this.served = 0;
    this.failures = [];
  }
}

class SseSubscriber {
  constructor(crowd, index) {
    this.crowd = crowd;
    this.index = index;
    this.ids = [];
    this.lastId = '';
    this.socket = null;
    this.open = false; // response head received on the current connection
    this.resets = 0; // reset events from the server
  }

  connect() {
    const { port, channel, tally } = this.crowd;
    const sock = net.connect({ port, host: '127.0.0.1' });
    this.socket = sock;
    this.open = false;
    let head = '';
    let buf = '';
    let event = { id: null, data: [], type: null };
    let outcome = null; // 'refused' | 'failed' | 'served'
    sock.setNoDelay(true);
    sock.once('connect', () => {
      const last = this.lastId ? `Last-Event-ID: ${this.lastId}\r\n` : '';
      sock.write(`GET /events?channel=${encodeURIComponent(channel)} HTTP/1.1\r\n` +
        `Host: 127.0.0.1\r\nAccept: text/event-stream\r\n${last}\r\n`);
    });
    sock.setEncoding('utf8');
    sock.on('data', (chunk) => {
      if (!this.open) {
        head += chunk;
        const end = head.indexOf('\r\n\r\n');
        if (end < 0) return;
        if (!head.startsWith('HTTP/1.1 200')) {
          outcome = 'failed';
          tally.failed += 1;
          tally.failures.push(`subscriber ${this.index}: ${head.split('\r\n')[0]}`);
          sock.destroy();
          return;
        }
        this.open = true;
        outcome = 'served';
        tally.served += 1;
        chunk = head.slice(end + 4);
        head = '';
        this.crowd.onOpen(this);
      }
      const lines = (buf + chunk).split('\n');
      buf = lines.pop();
      for (const raw of lines) {
        const line = raw.endsWith('\r') ? raw.slice(0, -1) : raw;
        if (line === '') {
          if (event.type === 'reset') this.resets += 1;
          if (event.id !== null && event.data.length > 0 && event.type !== 'reset') {
            this.ids.push(event.id);
            this.crowd.onMessage(this, event.id);
          }
          if (event.id !== null) this.lastId = event.id;
          event = { id: null, data: [], type: null };
        } else if (line.startsWith(':')) {
          // a heartbeat comment
        } else {
          const colon = line.indexOf(':');
          const field = colon < 0 ? line : line.slice(0, colon);
          const value = colon < 0 ? '' : line.slice(colon + 1).replace(/^ /, '');
          if (field === 'id') event.id = value;
          else if (field === 'data') event.data.push(value);
          else if (field === 'event') event.type = value;
        }
      }
    });
    sock.on('error', (err) => {
      if (outcome) return;
      if (err.code === 'ECONNREFUSED') {
        outcome = 'refused';
        tally.refused += 1;
      } else {
        outcome = 'failed';
        tally.failed += 1;
        tally.failures.push(`subscriber ${this.index}: ${err.code || err.message} before the response`);
      }
    });
    sock.on('close', () => {
      if (!outcome) {
        outcome = 'failed';
        tally.failed += 1;
        tally.failures.push(`subscriber ${this.index}: closed before the response`);
      }
      this.open = false;
      if (this.crowd.closing) return;
      // At once after a stream that ended; a refused or failed attempt
      // tries again soon.
      setTimeout(() => this.connect(), outcome === 'served' ? 0 : 20);
    });
  }
}

export class SseCrowd {
  constructor({ port = 5000, channel, count }) {
    this.port = port;
    this.channel = channel;
    this.tally = new Tally();
    this.closing = false;
    this.subscribers = Array.from({ length: count }, (_, i) => new SseSubscriber(this, i));
    this.openCount = 0;
    this.waiters = [];
    // Per message id, how many subscribers have it: waitAll() reads it.
    this.have = new Map();
  }

  onOpen() {
    this.openCount += 1;
    this.wake();
  }

  onMessage(sub, id) {
    this.have.set(id, (this.have.get(id) || 0) + 1);
    this.wake();
  }

  wake() {
    const ready = this.waiters.filter((w) => w.test());
    this.waiters = this.waiters.filter((w) => !ready.includes(w));
    for (const w of ready) w.resolve();
  }

  until(what, test, timeoutMs) {
    if (test()) return Promise.resolve();
    return new Promise((resolve, reject) => {
      const w = { test, resolve: () => { clearTimeout(w.timer); resolve(); } };
      w.timer = setTimeout(() => {
        this.waiters = this.waiters.filter((x) => x !== w);
        reject(new Error(`timed out after ${timeoutMs} ms waiting for ${what} (${this.describe()})`));
      }, timeoutMs);
      this.waiters.push(w);
    });
  }

  // Connects every subscriber, a few at a time, and waits until all are
  // subscribed (their response heads arrived).
  async start(timeoutMs = 60000) {
    for (let i = 0; i < this.subscribers.length; i += 1) {
      this.subscribers[i].connect();
      if (i % 50 === 49) await new Promise((r) => setImmediate(r));
    }
    await this.until(`${this.subscribers.length} subscribers open`,
      () => this.subscribers.every((s) => s.open), timeoutMs);
  }

  describe() {
    const t = this.tally;
    const open = this.subscribers.filter((s) => s.open).length;
    return `${open} open; attempts: ${t.served} served, ${t.refused} refused, ${t.failed} failed` +
      (t.failures.length ? `, e.g. ${t.failures.slice(-3).join('; ')}` : '');
  }

  // Waits until every subscriber has message `id`.
  waitAll(id, timeoutMs = 30000) {
    return this.until(`every subscriber to receive ${id}`,
      () => (this.have.get(id) || 0) >= this.subscribers.length, timeoutMs);
  }

  // Waits until every subscriber is connected again (a stream open).
  waitAllOpen(timeoutMs = 30000) {
    return this.until('every subscriber to be connected', () => this.subscribers.every((s) => s.open), timeoutMs);
  }

  close() {
    this.closing = true;
    for (const s of this.subscribers) s.socket?.destroy();
  }
}

// One HTTP/1.1 request on a fresh connection, no retry. Resolves
// {ok, status, body, error, startUs, endUs}; never rejects.
export function request({ port = 5000, method = 'GET', path, body = null, timeoutMs = 30000 }) {
  return new Promise((resolve) => {
    const startUs = nowUs();
    const sock = net.connect({ port, host: '127.0.0.1' });
    let data = '';
    let settled = false;
    const done = (r) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      sock.destroy();
      resolve({ ...r, startUs, endUs: nowUs() });
    };
    const timer = setTimeout(() => done({ ok: false, error: 'timeout' }), timeoutMs);
    sock.setEncoding('utf8');
    sock.once('connect', () => {
      const payload = body ?? '';
      const type = body !== null ? 'Content-Type: application/x-www-form-urlencoded\r\n' : '';
      sock.write(`${method} ${path} HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n${type}` +
        `Content-Length: ${Buffer.byteLength(payload)}\r\n\r\n${payload}`);
    });
    sock.on('data', (chunk) => { data += chunk; });
    sock.on('error', (err) => done({ ok: false, error: err.code || err.message }));
    sock.on('close', () => {
      const m = data.match(/^HTTP\/1\.1 (\d{3})/);
      if (!m) return done({ ok: false, error: data ? 'malformed response' : 'closed before the response' });
      const status = Number(m[1]);
      const bodyText = data.slice(data.indexOf('\r\n\r\n') + 4);
      done({ ok: true, status, body: bodyText });
    });
  });
}

// POST /send of `data` on `channel`; resolves the request() result with the
// stored id as `id` when rtdemo answered 201.
export async function publish(channel, data, port = 5000) {
  const r = await request({ port, method: 'POST', path: '/send',
    body: new URLSearchParams({ channel, data }).toString() });
  if (r.ok && r.status === 201) r.id = JSON.parse(r.body).id;
  return r;
}
