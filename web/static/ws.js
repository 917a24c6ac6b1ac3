// WebSocket transport for the rtdemo page: one socket to /ws, subscribed to
// the channel after the tab's own last id.
//
// Like long polling, the cursor is the whole story: every message moves
// lastId, and every reconnect subscribes with last_id = lastId, so a restart
// of the server costs no message and repeats none. Reconnects use the same
// capped, jittered backoff as long polling. Reports through the same
// onEvent/onState callbacks as sse.js and longpoll.js.

import { backoffDelay } from './backoff.js';
import { CursorTransport } from './transport.js';

export class WebSocketTransport extends CursorTransport {
  constructor(options) {
    super(options);
    this.socket = null;
    this.timer = null;
    this.reconnectPending = false; // every subscribe after the first is a reconnect
  }

  start() {
    if (this.running) return;
    this.running = true;
    this.connect();
  }

  stop() {
    this.running = false;
    clearTimeout(this.timer);
    if (this.socket) this.socket.close(1000, 'stopped');
    this.socket = null;
    this.setState('stopped');
  }

  connect() {
    this.setState('connecting');
    const scheme = location.protocol === 'https:' ? 'wss:' : 'ws:';
    const socket = new WebSocket(`${scheme}//${location.host}/ws`);
    this.socket = socket;
    socket.onopen = () => {
      const sub = { type: 'subscribe', channel: this.channel };
      if (this.lastId) sub.last_id = this.lastId;
      socket.send(JSON.stringify(sub));
    };
    socket.onmessage = (e) => this.handle(e.data);
    socket.onclose = () => {
      if (this.socket !== socket || !this.running) return;
      this.socket = null;
      const delay = backoffDelay(this.failures++, this.backoff);
      this.setState('reconnecting', delay);
      this.timer = setTimeout(() => {
        if (this.running) this.connect();
      }, delay);
    };
  }

  handle(text) {
    let m;
    try {
      m = JSON.parse(text);
    } catch {
      return; // the server sends only JSON; ignore anything else
    }
    switch (m.type) {
      case 'subscribed':
        if (this.failures > 0 || this.reconnectPending) this.reconnects += 1;
        this.reconnectPending = true;
        this.failures = 0;
        this.setState('open');
        break;
      case 'message':
        this.lastId = m.id;
        this.onEvent({ kind: 'message', id: m.id, event: m.event || '', data: m.data, ts: m.ts });
        this.setState('open');
        break;
      case 'heartbeat':
        this.onEvent({ kind: 'heartbeat', cursor: this.lastId });
        break;
      case 'reset':
        this.onEvent({ kind: 'reset', id: null, oldest: m.oldest ?? null, reason: m.reason || '' });
        break;
      case 'error':
        this.setState(this.state, null, m.error);
        break;
      default:
        break;
    }
  }
}
