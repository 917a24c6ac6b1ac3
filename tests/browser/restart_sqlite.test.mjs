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
  RtdemoServer, launchBrowser, waitState, status,
  serverHistory, messageIds, logEntries, waitForId, uniqueChannel, tempDir, waitUntil, startSender,
  openStreamingTabs,
} from './harness.mjs';

let browser;

before(async () => {
  browser = await launchBrowser();
});

after(async () => {
  await browser?.close();
});

// Two tabs per HTTP transport and one WebSocket tab (issue 8's restart test).
const TRANSPORTS = ['sse', 'sse', 'longpoll', 'longpoll', 'ws'];

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
      const tabs = await openStreamingTabs(context, server.url, channel, TRANSPORTS);
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

