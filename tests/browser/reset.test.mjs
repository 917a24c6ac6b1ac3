// Scenario 4 of issue 6: a memory-backend restart loses history, and every tab
// must say so with a reset notice, then carry on with the new history.

import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import {
  RtdemoServer, launchBrowser, openTab, clickStart, waitHeartbeats, waitState, status, send,
  logEntries, waitForId, uniqueChannel,
} from './harness.mjs';

let browser;

before(async () => {
  browser = await launchBrowser();
});

after(async () => {
  await browser?.close();
});

// SIGKILL too: the streams then end with no goodbye from the server, which is
// what a crash looks like to the page.
for (const signal of ['SIGTERM', 'SIGKILL']) {
  test(`scenario 4: a memory-backend restart (${signal}) shows the reset notice in every tab`, async () => {
    const server = await new RtdemoServer({ backend: 'memory' }).start();
    const channel = uniqueChannel('reset');
    const context = await browser.newContext();
    try {
      const transports = ['sse', 'longpoll'];
      const tabs = [];
      for (const tr of transports) {
        const tab = await openTab(context, server.url, { channel, backoff_max_ms: '1000' });
        await clickStart(tab, tr);
        await waitHeartbeats(tab, tr);
        tabs.push(tab);
      }
      const before = await send(server.url, { channel, data: 'before the restart' });
      for (const tab of tabs) await waitForId(tab, before);

      await server.stop(signal);
      // The outage itself is on the page before the server is back.
      for (const [i, tab] of tabs.entries()) await waitState(tab, transports[i], 'reconnecting');
      await server.start();

      for (const tab of tabs) {
        await tab.waitForSelector('#log > li[data-kind="reset"]', { timeout: 20000 });
      }
      const afterId = await send(server.url, { channel, data: 'after the restart' });
      for (const [i, tab] of tabs.entries()) {
        await waitForId(tab, afterId);
        const entries = (await logEntries(tab)).filter((e) => e.channel === channel);
        assert.deepEqual(
          entries.map((e) => e.kind),
          ['message', 'reset', 'message'],
          `tab ${i} (${transports[i]}): old message, reset notice, new message`,
        );
        assert.match(entries[1].text, /History was lost/);
        assert.equal(entries[2].data, 'after the restart');
        const st = await status(tab, transports[i]);
        assert.ok(st.reconnects >= 1, `tab ${i} shows a reconnect`);
      }
    } catch (err) {
      console.log(server.output);
      throw err;
    } finally {
      await context.close();
      await server.stop();
    }
  });
}
