// Scenario 6 of issue 6: "share one connection across tabs". Eight tabs of one
// browser profile (past the 6-connections-per-origin limit of HTTP/1.1) all
// receive every message while only the leader tab talks to the server, and
// leadership moves on when the leader tab closes, without losing a message.
// The server's side is counted from the browser: which pages sent stream
// requests. Last, a restart under a shared stream: the leader's reset notice
// and reconnect must reach every tab, once.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  RtdemoServer, serverAndBrowserPerFile, openTab, clickStart, waitHeartbeats, waitState, status, send,
  messageIds, logEntries, waitForId, uniqueChannel,
} from './harness.mjs';

let server;
let browser;
serverAndBrowserPerFile((s, b) => {
  server = s;
  browser = b;
});

const STREAM_PATH = { sse: '/events', longpoll: '/poll' };

async function roles(tabs, transport) {
  return Promise.all(tabs.map((t) => status(t, transport)));
}

for (const transport of ['sse', 'longpoll']) {
  test(`scenario 6 (${transport}): 8 tabs share one stream, and leadership moves on close`, async () => {
    const channel = uniqueChannel(`shared-${transport}`);
    const context = await browser.newContext();
    const streamRequests = []; // {page, url}
    context.on('request', (req) => {
      if (new URL(req.url()).pathname === STREAM_PATH[transport]) {
        streamRequests.push({ page: req.frame().page(), url: req.url() });
      }
    });
    const streamingPages = () => new Set(streamRequests.map((r) => r.page));
    try {
      const tabs = [];
      for (let i = 0; i < 8; i += 1) {
        tabs.push(await openTab(context, server.url, { channel, shared: '1', backoff_max_ms: '1000' }));
      }
      for (const tab of tabs) await clickStart(tab, transport);
      // Heartbeats are relayed too: every tab blinking means every tab is fed.
      for (const tab of tabs) await waitHeartbeats(tab, transport);
      for (const tab of tabs) await waitState(tab, transport, 'open');

      let st = await roles(tabs, transport);
      const leaders = st.filter((s) => s.role === 'leader');
      assert.equal(leaders.length, 1, `one leader: ${JSON.stringify(st)}`);
      const leaderIdx = st.findIndex((s) => s.role === 'leader');
      const leaderTabId = await tabs[leaderIdx].textContent('#tab-id');
      for (const [i, s] of st.entries()) {
        if (i !== leaderIdx) assert.equal(s.leader, leaderTabId, `tab ${i} follows the leader`);
      }
      assert.deepEqual([...streamingPages()], [tabs[leaderIdx]], 'only the leader tab talks to the server');
      if (transport === 'sse') assert.equal(streamRequests.length, 1, 'the server sees one SSE stream');

      const ids = [];
      for (let k = 0; k < 3; k += 1) ids.push(await send(server.url, { channel, data: `first ${k}` }));
      for (const [i, tab] of tabs.entries()) {
        await waitForId(tab, ids.at(-1));
        assert.deepEqual(await messageIds(tab, channel), ids, `tab ${i} got each message once`);
      }

      // Close the leader: its Web Lock is released and a waiting tab takes over.
      await tabs[leaderIdx].close();
      const rest = tabs.filter((_, i) => i !== leaderIdx);
      await Promise.race(rest.map((tab) => tab.waitForSelector(
        `#${transport === 'sse' ? 'sse' : 'lp'}-state[data-role="leader"]`, { timeout: 15000 },
      )));
      // Messages sent during and after the handover.
      for (let k = 0; k < 3; k += 1) ids.push(await send(server.url, { channel, data: `second ${k}` }));
      for (const [i, tab] of rest.entries()) {
        await waitForId(tab, ids.at(-1));
        assert.deepEqual(await messageIds(tab, channel), ids, `remaining tab ${i} got each message once`);
      }
      st = await roles(rest, transport);
      assert.equal(st.filter((s) => s.role === 'leader').length, 1, `one new leader: ${JSON.stringify(st)}`);
      const newLeader = rest[st.findIndex((s) => s.role === 'leader')];
      assert.deepEqual(
        new Set(streamRequests.filter((r) => r.page !== tabs[leaderIdx]).map((r) => r.page)),
        new Set([newLeader]),
        'after the handover only the new leader talks to the server',
      );
      if (transport === 'sse') assert.equal(streamRequests.length, 2, 'one new SSE stream, no more');
    } finally {
      await context.close();
    }
  });
}

test('shared mode across a server restart: the reset and the reconnect reach every tab', async () => {
  // A server of its own, since this one gets killed.
  const own = await new RtdemoServer({ backend: 'memory' }).start();
  const channel = uniqueChannel('shared-restart');
  const context = await browser.newContext();
  try {
    const tabs = [];
    for (let i = 0; i < 3; i += 1) {
      tabs.push(await openTab(context, own.url, { channel, shared: '1', backoff_max_ms: '1000' }));
    }
    for (const tab of tabs) await clickStart(tab, 'sse');
    for (const tab of tabs) await waitHeartbeats(tab, 'sse');
    const first = await send(own.url, { channel, data: 'before' });
    for (const tab of tabs) await waitForId(tab, first);

    await own.stop('SIGKILL');
    for (const tab of tabs) await waitState(tab, 'sse', 'reconnecting');
    await own.start();
    for (const tab of tabs) await tab.waitForSelector('#log > li[data-kind="reset"]', { timeout: 20000 });
    const second = await send(own.url, { channel, data: 'after' });
    for (const [i, tab] of tabs.entries()) {
      await waitForId(tab, second);
      assert.deepEqual(await messageIds(tab, channel), [first, second], `tab ${i}`);
      const resets = (await logEntries(tab)).filter((e) => e.kind === 'reset');
      assert.equal(resets.length, 1, `tab ${i} shows one reset notice`);
      const st = await status(tab, 'sse');
      assert.ok(st.reconnects >= 1, `tab ${i} shows the leader's reconnect: ${JSON.stringify(st)}`);
    }
  } catch (err) {
    console.log(own.output);
    throw err;
  } finally {
    await context.close();
    await own.stop();
  }
});
