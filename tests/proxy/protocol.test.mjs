// Which protocol a browser gets through Caddy (issue 10, test 2): HTTP/3 when
// QUIC is forced for the origin, HTTP/2 when QUIC is off, for the page and
// for its SSE stream, read from the browser's own nextHopProtocol. Then what
// the proxy promises besides: HTTP/1.1 still works, h3 is advertised, the
// stream's headers survive the proxy, and a forged X-Forwarded-For never
// reaches the upstream.

import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import http from 'node:http';
import {
  RtdemoServer, openTab, clickStart, clickStop, waitHeartbeats, uniqueChannel,
} from '../browser/harness.mjs';
import {
  CaddyServer, launchProxyBrowser, pageProtocol, resourceProtocols,
} from './proxy_harness.mjs';

let server;
let caddy;

before(async () => {
  server = await new RtdemoServer({ backend: 'memory' }).start();
  caddy = await new CaddyServer({ upstreamPort: server.port }).start();
});

after(async () => {
  await caddy?.stop();
  await server?.stop();
});

// Opens the page through the proxy, runs SSE until a heartbeat arrived,
// stops it (its Resource Timing entry appears only once it has ended) and
// returns the protocols the browser reported.
async function protocolsSeen(quic) {
  const browser = await launchProxyBrowser(caddy, { quic });
  try {
    const context = await browser.newContext();
    const tab = await openTab(context, caddy.origin, { channel: uniqueChannel('proto') });
    // While the stream is open, Resource Timing has nothing for it yet; the
    // DevTools protocol sees the response as it starts.
    const cdp = await context.newCDPSession(tab);
    const live = [];
    cdp.on('Network.responseReceived', (e) => {
      if (e.response.url.includes('/events')) live.push(e.response.protocol);
    });
    await cdp.send('Network.enable');
    await clickStart(tab, 'sse');
    await waitHeartbeats(tab, 'sse', 1);
    await clickStop(tab, 'sse');
    await tab.waitForFunction(
      () => performance.getEntriesByType('resource').some((e) => e.name.includes('/events')),
      null, { timeout: 10000, polling: 50 },
    );
    return {
      page: await pageProtocol(tab),
      sse: await resourceProtocols(tab, '/events'),
      sseWhileOpen: live,
    };
  } finally {
    await browser.close();
  }
}

test('QUIC forced: the page and its SSE stream arrive over HTTP/3', async () => {
  const seen = await protocolsSeen(true);
  assert.equal(seen.page, 'h3', `page: ${JSON.stringify(seen)}\n${caddy.output.slice(-3000)}`);
  assert.deepEqual(seen.sse, ['h3'], `SSE: ${JSON.stringify(seen)}`);
  assert.deepEqual(seen.sseWhileOpen, ['h3'], `SSE while open: ${JSON.stringify(seen)}`);
});

test('QUIC off: the page and its SSE stream arrive over HTTP/2', async () => {
  const seen = await protocolsSeen(false);
  assert.equal(seen.page, 'h2', JSON.stringify(seen));
  assert.deepEqual(seen.sse, ['h2'], JSON.stringify(seen));
  assert.deepEqual(seen.sseWhileOpen, ['h2'], JSON.stringify(seen));
});

test('HTTP/1.1 is still served, and every answer advertises HTTP/3', async () => {
  const h1 = await caddy.request('/healthz', { alpn: ['http/1.1'] });
  assert.equal(h1.alpn, 'http/1.1');
  assert.equal(h1.status, 200, h1.body);
  const h2 = await caddy.request('/healthz');
  assert.equal(h2.alpn, 'h2');
  assert.equal(h2.status, 200, h2.body);
  for (const r of [h1, h2]) {
    assert.match(String(r.headers['alt-svc']), new RegExp(`h3=":${caddy.httpsPort}"`));
  }
});

test('the SSE stream keeps its headers and is not compressed through the proxy', async () => {
  const session = caddy.connectH2();
  try {
    const req = session.request({
      ':path': `/events?channel=${uniqueChannel('headers')}`,
      'accept-encoding': 'gzip, br, zstd',
    });
    const head = await new Promise((resolve, reject) => {
      req.once('response', resolve);
      req.once('error', reject);
    });
    req.close();
    assert.equal(head[':status'], 200);
    assert.match(head['content-type'], /^text\/event-stream/);
    assert.equal(head['x-accel-buffering'], 'no');
    assert.equal(head['cache-control'], 'no-cache');
    assert.equal(head['content-encoding'], undefined);
  } finally {
    session.close();
  }
});

test('the upstream gets the client address in X-Forwarded-For, never a forged one', async () => {
  // A stand-in upstream that reports what it received, behind its own Caddy
  // with the same Caddyfile. rtdemo shows the client address only in a log
  // line on a failed publish, which cannot be provoked on demand.
  const seen = [];
  const upstream = http.createServer((req, res) => {
    seen.push({ url: req.url, headers: req.headers });
    res.writeHead(200, { 'content-type': 'application/json' });
    res.end('{}');
  });
  await new Promise((resolve) => upstream.listen(0, '127.0.0.1', resolve));
  const proxy = new CaddyServer({ upstreamPort: upstream.address().port });
  try {
    await proxy.start();
    const r = await proxy.request('/whoami', { headers: { 'x-forwarded-for': '203.0.113.66' } });
    assert.equal(r.status, 200);
    // The others are Caddy's health checks (/healthz).
    const mine = seen.filter((s) => s.url === '/whoami');
    assert.equal(mine.length, 1, JSON.stringify(seen));
    assert.equal(mine[0].headers['x-forwarded-for'], '127.0.0.1', 'the address Caddy saw, not the forged one');
    assert.equal(mine[0].headers['x-forwarded-proto'], 'https');
  } finally {
    await proxy.stop();
    await new Promise((resolve) => upstream.close(resolve));
  }
});
