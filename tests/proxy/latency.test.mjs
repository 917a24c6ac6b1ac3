// No buffering in the proxy (issue 10, test 5): a message takes about as
// long to reach a subscriber through Caddy (HTTP/2) as straight from rtdemo
// (HTTP/1.1), measured side by side on the same channel in the same test,
// for SSE and for a held long poll.
//
// Heartbeats are 30 s apart here, so a proxy that held small writes in a
// buffer would not be rescued by the next heartbeat: a buffered message would
// be late by seconds, not milliseconds.

import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import http from 'node:http';
import { RtdemoServer, send, uniqueChannel, delay } from '../browser/harness.mjs';
import { CaddyServer, readSse } from './proxy_harness.mjs';

const MESSAGES = 20;
const POLLS = 5;
// The proxy adds a TLS hop and a loopback connection; on a loaded 2-core
// machine that is a few milliseconds. Buffering would be seconds.
const MEDIAN_MARGIN_MS = 25;
const WORST_MARGIN_MS = 250;

let server;
let caddy;

before(async () => {
  server = await new RtdemoServer({
    backend: 'memory',
    defines: { 'rtdemo.heartbeat.seconds': '30', 'rtdemo.poll.timeout.seconds': '20' },
  }).start();
  caddy = await new CaddyServer({ upstreamPort: server.port }).start();
});

after(async () => {
  await caddy?.stop();
  await server?.stop();
});

function median(xs) {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)];
}

// Resolves when `arrivals` has an entry for `id` (set by a reader).
function waitArrival(arrivals, waiters, id) {
  if (arrivals.has(id)) return Promise.resolve(arrivals.get(id));
  return new Promise((resolve) => waiters.set(id, resolve));
}

function recorder() {
  const arrivals = new Map();
  const waiters = new Map();
  return {
    record(id, at) {
      arrivals.set(id, at);
      waiters.get(id)?.(at);
    },
    wait: (id) => waitArrival(arrivals, waiters, id),
  };
}

// rtdemo's own count of parked polls, from /metrics.
async function pollsHeld() {
  const text = await (await fetch(`${server.url}/metrics`)).text();
  const m = /rtdemo_open_connections\{transport="poll"\} (\d+)/.exec(text);
  return m ? Number(m[1]) : 0;
}

function report(name, rows) {
  const diffs = rows.map((r) => r.proxied - r.direct);
  const line = `${name}: direct median ${median(rows.map((r) => r.direct)).toFixed(2)} ms, ` +
    `proxied median ${median(rows.map((r) => r.proxied)).toFixed(2)} ms, ` +
    `difference median ${median(diffs).toFixed(2)} ms, worst ${Math.max(...diffs).toFixed(2)} ms`;
  console.log(line);
  return { diffs, line };
}

test('SSE: a message through the proxy is as prompt as one straight from rtdemo', async () => {
  const channel = uniqueChannel('latency-sse');
  const direct = recorder();
  const proxied = recorder();

  const directReq = http.get(`${server.url}/events?channel=${channel}`);
  const directRes = await new Promise((resolve, reject) => {
    directReq.once('response', resolve);
    directReq.once('error', reject);
  });
  assert.equal(directRes.statusCode, 200);
  readSse(directRes, (e) => e.id && direct.record(e.id, e.at));

  const session = caddy.connectH2();
  try {
    const proxiedReq = session.request({ ':path': `/events?channel=${channel}` });
    const head = await new Promise((resolve, reject) => {
      proxiedReq.once('response', resolve);
      proxiedReq.once('error', reject);
    });
    assert.equal(head[':status'], 200);
    readSse(proxiedReq, (e) => e.id && proxied.record(e.id, e.at));

    // Both streams took their cursor before their headers went out, so
    // nothing published from here on can be missed.
    const rows = [];
    for (let i = 0; i < MESSAGES; i += 1) {
      const t0 = performance.now();
      const id = await send(server.url, { channel, data: `latency ${i}` });
      const [d, p] = await Promise.all([direct.wait(id), proxied.wait(id)]);
      rows.push({ direct: d - t0, proxied: p - t0 });
    }
    const { diffs, line } = report('SSE', rows);
    assert.ok(median(diffs) < MEDIAN_MARGIN_MS, line);
    assert.ok(Math.max(...diffs) < WORST_MARGIN_MS, line);
    proxiedReq.close();
  } finally {
    directReq.destroy();
    session.close();
  }
});

test('long polling: a held poll through the proxy is answered as promptly as one straight from rtdemo', async () => {
  const channel = uniqueChannel('latency-poll');
  let since = await send(server.url, { channel, data: 'cursor' });
  const session = caddy.connectH2();
  try {
    const rows = [];
    for (let i = 0; i < POLLS; i += 1) {
      const q = `/poll?channel=${channel}&since=${encodeURIComponent(since)}&timeout=20`;
      const heldBefore = await pollsHeld();
      const directDone = new Promise((resolve, reject) => {
        http.get(`${server.url}${q}`, (res) => {
          let body = '';
          res.on('data', (d) => { body += d; });
          res.on('end', () => resolve({ at: performance.now(), status: res.statusCode, body }));
        }).once('error', reject);
      });
      const proxiedDone = new Promise((resolve, reject) => {
        const req = session.request({ ':path': q });
        let body = '';
        let statusCode = 0;
        req.on('response', (h) => { statusCode = h[':status']; });
        req.on('data', (d) => { body += d; });
        req.on('end', () => resolve({ at: performance.now(), status: statusCode, body }));
        req.once('error', reject);
        req.end();
      });
      // Publish only once both polls are parked in rtdemo's hub, so both
      // are answered by the push, not by a history read.
      const deadline = Date.now() + 10000;
      while ((await pollsHeld()) < heldBefore + 2) {
        assert.ok(Date.now() < deadline, 'both polls should be parked');
        await delay(10);
      }
      const t0 = performance.now();
      const id = await send(server.url, { channel, data: `poll ${i}` });
      const [d, p] = await Promise.all([directDone, proxiedDone]);
      for (const r of [d, p]) {
        assert.equal(r.status, 200, r.body);
        assert.deepEqual(JSON.parse(r.body).messages.map((m) => m.id), [id]);
      }
      rows.push({ direct: d.at - t0, proxied: p.at - t0 });
      since = id;
    }
    const { diffs, line } = report('long poll', rows);
    assert.ok(median(diffs) < MEDIAN_MARGIN_MS, line);
    assert.ok(Math.max(...diffs) < WORST_MARGIN_MS, line);
  } finally {
    session.close();
  }
});
