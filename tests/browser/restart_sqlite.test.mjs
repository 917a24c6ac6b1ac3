// Scenario 3 of issue 6: the page across a server restart with the SQLite
// backend. Messages keep being sent while the server is stopped (SIGTERM, then
// again with SIGKILL) and started on the same port and file; every tab must
// end up with the server's history exactly once, in order, with no gap, and
// show that it reconnected.
//
// A WebSocket tab ("Start WebSocket") goes through the same restarts.

import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import path from 'node:path';
import {
  RtdemoServer, launchBrowser, openTab, clickStart, waitHeartbeats, waitState, status,
  send, serverHistory, messageIds, logEntries, waitForId, uniqueChannel, tempDir, delay,
} from './harness.mjs';

let browser;

before(async () => {
  browser = await launchBrowser();
});

after(async () => {
  await browser?.close();
});

// Polls a condition of the test's own state (not the page's), such as how many
// sends were acknowledged.
async function waitUntil(what, fn, timeout = 20000) {
  const deadline = Date.now() + timeout;
  while (!fn()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await delay(20);
  }
}

// A steady stream of sends, one at a time, as a publisher would do. It carries
// on through the outage; a refused send is counted, not retried, because
// whether it was stored is the server's to say (see serverHistory).
function startSender(baseUrl, channel, paceMs = 40) {
  const s = { acked: [], failures: 0, stopped: false };
  s.done = (async () => {
    for (let i = 0; !s.stopped; i += 1) {
      try {
        s.acked.push(await send(baseUrl, { channel, data: `msg ${i}` }));
      } catch {
        s.failures += 1;
      }
      await delay(paceMs);
    }
  })();
  s.stop = async () => {
    s.stopped = true;
    await s.done;
  };
  return s;
}

// Two tabs per HTTP transport and one WebSocket tab (issue 8's restart test).
const TRANSPORTS = ['sse', 'sse', 'longpoll', 'longpoll', 'ws'];

async function openStreamingTabs(context, server, channel) {
  const tabs = [];
  for (let i = 0; i < TRANSPORTS.length; i += 1) {
    tabs.push(await openTab(context, server.url, { channel, backoff_max_ms: '1000' }));
  }
  for (let i = 0; i < tabs.length; i += 1) await clickStart(tabs[i], TRANSPORTS[i]);
  for (let i = 0; i < tabs.length; i += 1) await waitHeartbeats(tabs[i], TRANSPORTS[i]);
  return tabs;
}

async function sqliteServer() {
  const db = path.join(tempDir('sqlite'), 'rtdemo.db');
  const server = new RtdemoServer({ backend: 'sqlite', defines: { 'rtdemo.sqlite.path': db } });
  await server.start();
  return server;
}

for (const signal of ['SIGTERM', 'SIGKILL']) {
  test(`scenario 3: SQLite restart by ${signal} loses and duplicates nothing in any tab`, async () => {
    const server = await sqliteServer();
    const channel = uniqueChannel(`restart-${signal.toLowerCase()}`);
    const context = await browser.newContext();
    let sender;
    try {
      const tabs = await openStreamingTabs(context, server, channel);
      sender = startSender(server.url, channel);
      await waitUntil('10 acknowledged sends', () => sender.acked.length >= 10);

      await server.stop(signal);
      const failuresAtStop = sender.failures;
      // The page must show the outage, and sends must be attempted during it.
      for (let i = 0; i < tabs.length; i += 1) await waitState(tabs[i], TRANSPORTS[i], 'reconnecting');
      await waitUntil('sends refused while down', () => sender.failures >= failuresAtStop + 3);

      await server.start();
      const ackedAtRestart = sender.acked.length;
      await waitUntil('10 more acknowledged sends', () => sender.acked.length >= ackedAtRestart + 10);
      await sender.stop();
      const acked = sender.acked;

      const history = await serverHistory(server.url, channel);
      const ackedInHistory = history.filter((id) => acked.includes(id));
      assert.deepEqual(ackedInHistory, acked, 'the server kept every acknowledged message, in order');

      for (let i = 0; i < tabs.length; i += 1) {
        const tab = tabs[i];
        await waitForId(tab, history.at(-1), 20000);
        const ids = await messageIds(tab, channel);
        assert.deepEqual(ids, history, `tab ${i} (${TRANSPORTS[i]}) shows the whole history once, in order`);
        const resets = (await logEntries(tab)).filter((e) => e.kind === 'reset');
        assert.deepEqual(resets, [], `tab ${i} saw no reset: SQLite keeps its history`);
        const st = await status(tab, TRANSPORTS[i]);
        assert.equal(st.state, 'open');
        assert.ok(st.reconnects >= 1, `tab ${i} (${TRANSPORTS[i]}) shows a reconnect: ${JSON.stringify(st)}`);
        assert.equal(st.lastId, history.at(-1));
      }
    } catch (err) {
      console.log(server.output);
      throw err;
    } finally {
      await sender?.stop();
      await context.close();
      await server.stop();
    }
  });
}

