// What the long-polling and WebSocket transports share: the cursor, the
// reconnect bookkeeping, and how they report state to the page (the same
// onEvent/onState callbacks as sse.js).

export class CursorTransport {
  constructor({ channel, cursor, onEvent, onState, backoff = {} }) {
    this.channel = channel;
    this.lastId = cursor || null;
    this.onEvent = onEvent;
    this.onState = onState;
    this.backoff = backoff;
    this.reconnects = 0;
    this.failures = 0;
    this.running = false;
    this.state = 'stopped';
  }

  // Types matter only to EventSource; these transports get every message.
  addType() {}

  setState(state, retryInMs = null, error = null) {
    this.state = state;
    this.onState({ state, retryInMs, reconnects: this.reconnects, lastId: this.lastId, error });
  }
}
