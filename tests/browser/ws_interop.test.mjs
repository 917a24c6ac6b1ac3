// Issue 8: a third-party WebSocket client (the npm `ws` package) against the
// real server, to show that rtdemo's hand-framed WebSocket speaks the
// protocol as others implement it: handshake, masked frames, pings answered
// by the library, close codes.

import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import WebSocket from 'ws';
import { RtdemoServer, send, uniqueChannel } from './harness.mjs';

let server;

before(async () => {
  server = await new RtdemoServer({ defines: { 'rtdemo.heartbeat.seconds': '1' } }).start();
});

after(async () => {
  await server?.stop();
});

// Collects parsed JSON messages and lets the test wait for one that matches.
function collector(ws) {
  const seen = [];
  const waiters = [];
  ws.on('message', (raw, isBinary) => {
    assert.equal(isBinary, false, 'the server only sends text frames');
    const m = JSON.parse(raw.toString());
    seen.push(m);
    for (const w of [...waiters]) {
      if (w.match(m)) {
        waiters.splice(waiters.indexOf(w), 1);
        w.resolve(m);
      }
    }
  });
  return {
    seen,
    next(match, timeout = 10000) {
      const found = seen.find(match);
      if (found) {
        seen.splice(seen.indexOf(found), 1);
        return Promise.resolve(found);
      }
      return new Promise((resolve, reject) => {
        const w = { match, resolve };
        waiters.push(w);
        setTimeout(() => reject(new Error('timed out waiting for a message')), timeout);
      });
    },
  };
}

function open(url) {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(url);
    const c = collector(ws);
    ws.once('open', () => resolve({ ws, c }));
    ws.once('error', reject);
  });
}

test('ws client subscribes, publishes, and gets acks and messages', async () => {
  const channel = uniqueChannel('interop');
  const { ws, c } = await open(`${server.url.replace('http', 'ws')}/ws`);
  ws.send(JSON.stringify({ type: 'subscribe', channel, ref: 's' }));
  assert.equal((await c.next((m) => m.type === 'subscribed')).channel, channel);

  ws.send(JSON.stringify({ type: 'publish', channel, event: 'chat', data: 'héllo ♥\nline 2', ref: 'p' }));
  const ack = await c.next((m) => m.type === 'ack');
  assert.equal(ack.ref, 'p');
  const msg = await c.next((m) => m.type === 'message' && m.id === ack.id);
  assert.equal(msg.data, 'héllo ♥\nline 2');
  assert.equal(msg.event, 'chat');

  const viaHttp = await send(server.url, { channel, data: 'from http' });
  const msg2 = await c.next((m) => m.type === 'message' && m.id === viaHttp);
  assert.equal(msg2.data, 'from http');
  ws.close(1000);
});

test('the library answers pings, so the server keeps the connection for several heartbeats', async () => {
  const { ws, c } = await open(`${server.url.replace('http', 'ws')}/ws`);
  let pings = 0;
  ws.on('ping', () => {
    pings += 1;
  });
  // The server drops a peer silent for three heartbeats; `ws` answers pings
  // with pongs on its own, so after four heartbeats it must still be open.
  let beats = 0;
  while (beats < 5 || pings < 4) {
    await c.next((m) => m.type === 'heartbeat', 5000);
    beats += 1;
    assert.ok(beats <= 12, `pings seen: ${pings} in ${beats} heartbeats`);
  }
  assert.equal(ws.readyState, WebSocket.OPEN);
  ws.close(1000);
});

test('a binary frame is refused with close code 1003', async () => {
  const { ws } = await open(`${server.url.replace('http', 'ws')}/ws`);
  const code = await new Promise((resolve) => {
    ws.once('close', (c) => resolve(c));
    ws.send(Buffer.from([1, 2, 3]), { binary: true });
  });
  assert.equal(code, 1003);
});
