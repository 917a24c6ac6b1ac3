// Resume through the proxy (issue 10, test 4): rtdemo restarts behind Caddy
// while a tab is subscribed over HTTP/3, with SSE and long polling at once.
// Messages published while the tab is cut off arrive after the restart,
// once each, with no reset: EventSource's Last-Event-ID header and the long
// poll's `since` both cross the proxy. SQLite keeps history across the
// restart, so a resume is exact rather than a reset.
//
// WebSocket: rtdemo has no /ws yet. Caddy's reverse_proxy passes WebSocket
// upgrades through unchanged (over HTTP/1.1), so when /ws lands, add its
// resume case here.

import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import path from 'node:path';
import {
  RtdemoServer, openTab, clickStart, waitHeartbeats, status, send, waitForId,
  logEntries, uniqueChannel, tempDir,
} from '../browser/harness.mjs';
import { CaddyServer, launchProxyBrowser, pageProtocol } from './proxy_harness.mjs';

let server;
let caddy;
let browser;

before(async () => {
  server = await new RtdemoServer({
    backend: 'sqlite',
    defines: {
      'rtdemo.sqlite.path': path.join(tempDir('proxy-resume'), 'rtdemo.db'),
      // EventSource waits this long before reconnecting: long enough that
      // the messages below are published while the tab's stream is down,
      // so they can only reach it by resuming.
      'rtdemo.retry.ms': '3000',
    },
  }).start();
  caddy = await new CaddyServer({ upstreamPort: server.port }).start();
  browser = await launchProxyBrowser(caddy, { quic: true });
});

after(async () => {
  await browser?.close();
  await caddy?.stop();
  const r = await server?.stop();
  if (r && r.code !== 0 && r.sig !== 'SIGTERM') console.log(server.output);
});

test('SSE and long polling resume across an rtdemo restart, through the proxy', async () => {
  const channel = uniqueChannel('proxy-resume');
  const context = await browser.newContext();
  try {
    const tab = await openTab(context, caddy.origin, { channel });
    assert.equal(await pageProtocol(tab), 'h3');
    for (const t of ['sse', 'longpoll']) {
      await clickStart(tab, t);
      await waitHeartbeats(tab, t);
    }
    const ids = [await send(server.url, { channel, data: 'before the restart' })];
    await waitForId(tab, ids[0]);

    const reconnectsBefore = (await status(tab, 'sse')).reconnects;
    await server.stop();
    await server.start();
    ids.push(await send(server.url, { channel, data: 'after the restart 1' }));
    ids.push(await send(server.url, { channel, data: 'after the restart 2' }));
    // Both were stored while the tab's EventSource was still waiting to
    // reconnect: only Last-Event-ID can bring them.
    assert.notEqual((await status(tab, 'sse')).state, 'open', 'SSE was down when they were published');

    await tab.waitForFunction(
      (n) => document.querySelectorAll('#log > li[data-kind="message"]').length >= n,
      2 * ids.length, { timeout: 20000, polling: 100 },
    );
    const entries = (await logEntries(tab)).filter((e) => e.channel === channel);
    assert.deepEqual(entries.filter((e) => e.kind === 'reset'), [], 'history covered the cursor: no reset');
    for (const t of ['sse', 'longpoll']) {
      const got = entries.filter((e) => e.kind === 'message' && e.transport === t).map((e) => e.id);
      assert.deepEqual(got, ids, `${t}: every message once, in order`);
    }
    const sse = await status(tab, 'sse');
    assert.equal(sse.state, 'open');
    assert.ok(sse.reconnects > reconnectsBefore, 'the SSE stream really reconnected');
    assert.deepEqual(tab.consoleErrors, []);
  } finally {
    await context.close();
  }
});
