// Why the proxy exists (issue 10, test 3): ten tabs of one browser, each
// with its own EventSource (shared mode off), all receive every message when
// they reach rtdemo through Caddy over HTTP/2, because all ten streams share
// one connection. The same browser talking HTTP/1.1 straight to rtdemo gets
// six streams; the seventh tab waits for a free connection.

import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import {
  RtdemoServer, openTab, clickStart, waitHeartbeats, status, send, waitForId,
  messageIds, uniqueChannel,
} from '../browser/harness.mjs';
import { CaddyServer, launchProxyBrowser, pageProtocol } from './proxy_harness.mjs';

const TABS = 10;

let server;
let caddy;
let browser;

before(async () => {
  server = await new RtdemoServer({ backend: 'memory' }).start();
  caddy = await new CaddyServer({ upstreamPort: server.port }).start();
  // QUIC off: this is the HTTP/2 case.
  browser = await launchProxyBrowser(caddy, { quic: false });
});

after(async () => {
  await browser?.close();
  await caddy?.stop();
  await server?.stop();
});

test('ten tabs over HTTP/2 with per-tab SSE all receive every message', async () => {
  const channel = uniqueChannel('tabs-h2');
  // One context is one browser profile: its tabs share one connection pool,
  // as real tabs do.
  const context = await browser.newContext();
  try {
    const tabs = [];
    for (let i = 0; i < TABS; i += 1) tabs.push(await openTab(context, caddy.origin, { channel }));
    for (const tab of tabs) await clickStart(tab, 'sse');
    // A heartbeat proves a tab's stream is open, so nothing sent later can
    // be missed as "before it subscribed".
    for (const tab of tabs) await waitHeartbeats(tab, 'sse', 1);
    for (const tab of tabs) assert.equal(await pageProtocol(tab), 'h2');

    const ids = [];
    for (let i = 0; i < 3; i += 1) ids.push(await send(server.url, { channel, data: `to all ${i}` }));
    for (const [i, tab] of tabs.entries()) {
      await waitForId(tab, ids.at(-1));
      assert.deepEqual(await messageIds(tab, channel), ids, `tab ${i + 1} got every message once, in order`);
      const st = await status(tab, 'sse');
      assert.equal(st.state, 'open');
      assert.deepEqual(tab.consoleErrors, []);
    }
  } finally {
    await context.close();
  }
});

test('control: over HTTP/1.1 straight to rtdemo, the 7th tab\'s stream waits', async () => {
  const channel = uniqueChannel('tabs-h1');
  const context = await browser.newContext();
  try {
    const tabs = [];
    for (let i = 0; i < 7; i += 1) tabs.push(await openTab(context, server.url, { channel }));
    // rtdemo speaks HTTP/1.1 only. (Chromium 156 reports an empty
    // nextHopProtocol for these plain-http pages, so it is not asserted.)
    for (const tab of tabs) await clickStart(tab, 'sse');
    for (const tab of tabs.slice(0, 6)) await waitHeartbeats(tab, 'sse', 1);
    // Three more heartbeats on the first six: the seventh has had every
    // chance to open, and has not.
    const before = (await status(tabs[0], 'sse')).heartbeats;
    await waitHeartbeats(tabs[0], 'sse', before + 3);
    const seventh = await status(tabs[6], 'sse');
    assert.notEqual(seventh.state, 'open', JSON.stringify(seventh));
    assert.equal(seventh.heartbeats, 0);
    // Not broken, only queued: closing one tab frees a connection for it.
    await tabs[0].close();
    await waitHeartbeats(tabs[6], 'sse', 1);
  } finally {
    await context.close();
  }
});
