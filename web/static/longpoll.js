// Long-polling transport for the rtdemo page: a loop of GET /poll requests.
//
// The cursor is the whole story. Every answer carries `last_id`, and the next
// poll sends it back as `since`, so a message published between two polls, or
// while the server was down, is picked up by the next poll instead of lost.
// Errors (server gone, 5xx) are retried with capped exponential backoff and
// jitter; an empty answer is the server's heartbeat. Reports through the same
// onEvent/onState callbacks as sse.js.

import { backoffDelay } from './backoff.js';
import { CursorTransport } from './transport.js';

// A held poll the server never answers (a dead proxy, a sleeping laptop) must
// not hang the loop for ever. Far above any sane server timeout.
const GUARD_MS = 120000;

export class LongPollTransport extends CursorTransport {
  constructor(options) {
    super(options);
    this.controller = null;
    this.wake = null;
  }

  start() {
    if (this.running) return;
    this.running = true;
    this.setState('connecting');
    this.loop();
  }

  stop() {
    this.running = false;
    if (this.controller) this.controller.abort();
    if (this.wake) this.wake();
    this.setState('stopped');
  }

  async loop() {
    while (this.running) {
      let body;
      try {
        body = await this.pollOnce();
      } catch (err) {
        if (!this.running) return;
        if (err instanceof ClientError) {
          // The request itself is wrong (bad channel): retrying cannot help.
          this.running = false;
          this.setState('stopped', null, err.message);
          return;
        }
        const delay = backoffDelay(this.failures++, this.backoff);
        this.setState('reconnecting', delay);
        await this.pause(delay);
        continue;
      }
      if (!this.running) return;
      this.handleAnswer(body);
    }
  }

  async pollOnce() {
    const params = new URLSearchParams({ channel: this.channel });
    if (this.lastId) {
      params.set('since', this.lastId);
    } else {
      // Without a cursor we wait only briefly: the empty answer hands us one,
      // and from then on no message can fall between two polls.
      params.set('timeout', '1');
    }
    const controller = new AbortController();
    this.controller = controller;
    const guard = setTimeout(() => controller.abort(), GUARD_MS);
    try {
      const resp = await fetch('/poll?' + params.toString(), {
        signal: controller.signal,
        cache: 'no-store',
      });
      const text = await resp.text();
      if (resp.status === 400 || resp.status === 404) {
        throw new ClientError(errorText(resp.status, text));
      }
      if (!resp.ok) throw new Error(errorText(resp.status, text));
      return JSON.parse(text);
    } finally {
      clearTimeout(guard);
      if (this.controller === controller) this.controller = null;
    }
  }

  handleAnswer(body) {
    const sentSince = this.lastId;
    if (this.failures > 0) this.reconnects += 1;
    this.failures = 0;
    const messages = Array.isArray(body.messages) ? body.messages : [];
    if (body.reset) {
      this.onEvent({
        kind: 'reset',
        id: null,
        oldest: body.oldest ?? null,
        reason: body.reason || '',
      });
    }
    for (const m of messages) {
      this.lastId = m.id;
      this.onEvent({ kind: 'message', id: m.id, event: m.event || '', data: m.data, ts: m.ts });
    }
    if (body.last_id) this.lastId = body.last_id;
    if (body.reset && this.lastId === sentSince && messages.length === 0) {
      // The server refused this cursor but handed back no new one; polling
      // with it again would only bring the same reset. Start over live.
      this.lastId = null;
    }
    if (messages.length === 0 && !body.reset) {
      this.onEvent({ kind: 'heartbeat', cursor: this.lastId });
    }
    this.setState('open');
  }

  pause(ms) {
    return new Promise((resolve) => {
      const timer = setTimeout(done, ms);
      function done() {
        clearTimeout(timer);
        resolve();
      }
      this.wake = done;
    }).finally(() => {
      this.wake = null;
    });
  }
}

class ClientError extends Error {}

function errorText(status, text) {
  try {
    const j = JSON.parse(text);
    if (j && j.error) return `HTTP ${status}: ${j.error}`;
  } catch {
    // Not JSON: fall through to the status alone.
  }
  return `HTTP ${status}`;
}
