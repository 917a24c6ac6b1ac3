// SSE transport for the rtdemo page: one EventSource on /events for one channel.
//
// The browser does the reconnecting: it waits the server's `retry:` and sends
// Last-Event-ID, and the server replays what we missed. This file only watches
// that happen so the page can show it. The one case EventSource does not retry
// is a response that is not a 200 text/event-stream (a proxy's 502, a server
// still starting); then it closes for good, so we open a new one ourselves with
// `last_event_id` in the query, with the same backoff as long polling.
//
// Every transport (this one, longpoll.js, shared.js) reports through the same
// two callbacks:
//   onEvent({kind: 'message', id, event, data})
//   onEvent({kind: 'heartbeat', cursor})
//   onEvent({kind: 'reset', id, oldest, reason})
//   onState({state, retryInMs, reconnects, lastId})
// with state one of 'connecting', 'open', 'reconnecting', 'stopped'.

import { backoffDelay } from './backoff.js';

export class SseTransport {
  // cursor: the id to resume after, or null for live messages only.
  // types: event types to listen for besides the default `message`.
  constructor({ channel, cursor, types = [], onEvent, onState, backoff = {} }) {
    this.channel = channel;
    this.lastId = cursor || null;
    this.types = new Set(types);
    this.onEvent = onEvent;
    this.onState = onState;
    this.backoff = backoff;
    this.reconnects = 0;
    this.source = null;
    this.everOpened = false;
    this.failures = 0;
    this.retryTimer = null;
    this.running = false;
    this.state = 'stopped';
    this.onMessageEvent = (e) => this.handleMessage(e);
  }

  start() {
    if (this.running) return;
    this.running = true;
    this.open();
  }

  stop() {
    this.running = false;
    clearTimeout(this.retryTimer);
    this.retryTimer = null;
    if (this.source) this.source.close();
    this.source = null;
    this.setState('stopped');
  }

  // Named SSE events only reach listeners registered for that name, so a type
  // we learn about late must be added to the live EventSource as well.
  addType(type) {
    if (!type || this.types.has(type) || RESERVED.has(type)) return;
    this.types.add(type);
    if (this.source) this.source.addEventListener(type, this.onMessageEvent);
  }

  open() {
    const params = new URLSearchParams({ channel: this.channel });
    // Only used on a connection we create: EventSource's own reconnects send the
    // Last-Event-ID header instead, which the server prefers.
    if (this.lastId) params.set('last_event_id', this.lastId);
    const source = new EventSource('/events?' + params.toString());
    this.source = source;
    this.setState(this.everOpened ? 'reconnecting' : 'connecting');

    source.onopen = () => {
      if (source !== this.source) return;
      if (this.everOpened) this.reconnects += 1;
      this.everOpened = true;
      this.failures = 0;
      this.setState('open');
    };
    source.onerror = () => {
      if (source !== this.source || !this.running) return;
      if (source.readyState === EventSource.CONNECTING) {
        // The browser will retry after the server's retry: delay, which it
        // does not tell us, so no countdown here.
        this.setState('reconnecting');
        return;
      }
      // CLOSED: the browser gave up (non-200 or wrong content type).
      source.close();
      this.source = null;
      const delay = backoffDelay(this.failures++, this.backoff);
      this.setState('reconnecting', delay);
      this.retryTimer = setTimeout(() => {
        this.retryTimer = null;
        if (this.running) this.open();
      }, delay);
    };
    source.addEventListener('message', this.onMessageEvent);
    for (const t of this.types) source.addEventListener(t, this.onMessageEvent);
    source.addEventListener('heartbeat', () => {
      if (source !== this.source) return;
      this.onEvent({ kind: 'heartbeat', cursor: this.lastId });
    });
    source.addEventListener('reset', (e) => {
      if (source !== this.source) return;
      let info = {};
      try {
        info = JSON.parse(e.data);
      } catch {
        // A reset we cannot parse still means history was lost.
      }
      this.lastId = e.lastEventId || this.lastId;
      this.onEvent({
        kind: 'reset',
        id: e.lastEventId,
        oldest: info.oldest ?? null,
        reason: info.reason || '',
      });
      this.setState(this.state);
    });
  }

  handleMessage(e) {
    if (e.target !== this.source) return;
    this.lastId = e.lastEventId || this.lastId;
    this.onEvent({
      kind: 'message',
      id: e.lastEventId,
      // Unnamed events arrive as type 'message'; the protocol's unset event is ''.
      event: e.type === 'message' ? '' : e.type,
      data: e.data,
    });
    this.setState(this.state);
  }

  setState(state, retryInMs = null) {
    this.state = state;
    this.onState({ state, retryInMs, reconnects: this.reconnects, lastId: this.lastId });
  }
}

const RESERVED = new Set(['message', 'heartbeat', 'reset']);
