// Scenarios 1 and 2 of issue 6: messages sent from the page's form reach every
// tab once with the same id, over SSE, long polling and WebSocket, and
// heartbeats show as ♥.
// Then the smaller promises of the page: Stop/Start resumes, the log is
// capped, and it works from the keyboard.
// Also takes the README screenshot (docs/screenshot.png when
// RTDEMO_UPDATE_SCREENSHOT=1, otherwise into a temp dir, so a test run does not
// dirty the work tree).

import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import path from 'node:path';
import {
  ROOT, RtdemoServer, launchBrowser, openTab, clickStart, clickStop, waitHeartbeats, waitState,
  status, send, sendFromForm, waitForId, logEntries, messageIds, uniqueChannel, tempDir,
} from './harness.mjs';

let server;
let browser;

before(async () => {
  server = await new RtdemoServer({ backend: 'memory' }).start();
  browser = await launchBrowser();
});

after(async () => {
  await browser?.close();
  const r = await server?.stop();
  if (r && r.code !== 0 && r.sig !== 'SIGTERM') console.log(server.output);
});

test('scenario 1: a message sent from the form appears once in every tab, with the same id', async () => {
  const channel = uniqueChannel('fanout');
  const context = await browser.newContext({ viewport: { width: 1200, height: 860 } });
  try {
    // One browser context is one browser profile: the four HTTP tabs share its
    // 6-connections-per-origin budget, as real tabs do (WebSockets do not count
    // against it).
    const transports = ['sse', 'sse', 'longpoll', 'longpoll', 'ws'];
    const tabs = [];
    for (let i = 0; i < transports.length; i += 1) {
      tabs.push(await openTab(context, server.url, { channel, types: 'greeting' }));
    }
    for (let i = 0; i < tabs.length; i += 1) await clickStart(tabs[i], transports[i]);
    for (let i = 0; i < tabs.length; i += 1) await waitHeartbeats(tabs[i], transports[i]);

    const tabIds = await Promise.all(tabs.map((p) => p.textContent('#tab-id')));
    assert.equal(new Set(tabIds).size, tabs.length, `each tab has its own id: ${tabIds}`);

    const payloads = [
      { data: `hello from tab ${tabIds[0]}`, event: '' },
      { data: 'a typed message', event: 'greeting' },
      { data: 'two\nlines', event: '' },
    ];
    const sent = [];
    for (const [i, p] of payloads.entries()) {
      // Send from different tabs: any tab's form reaches all of them.
      const r = await sendFromForm(tabs[i % tabs.length], p.data, p.event);
      assert.equal(r.status, 'ok', r.text);
      assert.ok(r.id, 'the form shows the id the server assigned');
      sent.push({ ...p, id: r.id });
    }

    for (const [i, tab] of tabs.entries()) {
      for (const s of sent) await waitForId(tab, s.id);
      const entries = (await logEntries(tab)).filter((e) => e.kind === 'message' && e.channel === channel);
      assert.deepEqual(
        entries.map((e) => e.id),
        sent.map((s) => s.id),
        `tab ${i} (${transports[i]}) shows each message once, in order`,
      );
      for (const [k, e] of entries.entries()) {
        assert.equal(e.data, sent[k].data);
        assert.equal(e.event, sent[k].event);
        assert.equal(e.transport, transports[i], 'the entry names the transport that delivered it');
      }
      const st = await status(tab, transports[i]);
      assert.equal(st.state, 'open');
      assert.equal(st.lastId, sent.at(-1).id, 'the status shows the last event id');
      assert.deepEqual(tab.consoleErrors, []);
    }

    const shot = process.env.RTDEMO_UPDATE_SCREENSHOT === '1'
      ? path.join(ROOT, 'docs', 'screenshot.png')
      : path.join(tempDir('shot'), 'screenshot.png');
    await tabs[0].screenshot({ path: shot, fullPage: true });
  } finally {
    await context.close();
  }
});

test('scenario 2: heartbeats are shown on every transport', async () => {
  const channel = uniqueChannel('heartbeat');
  const context = await browser.newContext();
  try {
    const tab = await openTab(context, server.url, { channel });
    await clickStart(tab, 'sse');
    await clickStart(tab, 'longpoll');
    await clickStart(tab, 'ws');
    // Heartbeat every 1 s (SSE, WebSocket) and poll timeout 2 s (long polling)
    // in the test config, so a few arrive quickly; the counter and the age both
    // show them.
    await waitHeartbeats(tab, 'sse', 3);
    await waitHeartbeats(tab, 'longpoll', 2);
    await waitHeartbeats(tab, 'ws', 3);
    const heartId = { sse: 'sse-heart', longpoll: 'lp-heart', ws: 'ws-heart' };
    for (const t of ['sse', 'longpoll', 'ws']) {
      const st = await status(tab, t);
      assert.equal(st.state, 'open');
      assert.match(st.heartAge, /^\d+ received, last \d+ s ago$/);
      assert.equal(await tab.textContent(`#${heartId[t]}`), '♥', `${t} shows the heart`);
      const beating = await tab.evaluate(
        (id) => document.getElementById(id).classList.contains('beat'),
        heartId[t],
      );
      assert.ok(beating, `${t} heart blinks`);
    }
    // Heartbeats are not messages: the log stays empty.
    assert.deepEqual((await logEntries(tab)).filter((e) => e.channel === channel), []);
  } finally {
    await context.close();
  }
});

test('stop then start resumes from the last id on both transports', async () => {
  const channel = uniqueChannel('resume');
  const context = await browser.newContext();
  try {
    const tab = await openTab(context, server.url, { channel });
    const ids = [];
    for (const t of ['sse', 'longpoll']) {
      await clickStart(tab, t);
      await waitHeartbeats(tab, t);
    }
    ids.push(await send(server.url, { channel, data: 'while running' }));
    await tab.waitForFunction(
      (n) => document.querySelectorAll('#log > li[data-kind="message"]').length >= n, 2);
    for (const t of ['sse', 'longpoll']) await clickStop(tab, t);
    ids.push(await send(server.url, { channel, data: 'while stopped' }));
    for (const t of ['sse', 'longpoll']) await clickStart(tab, t);
    await tab.waitForFunction(
      (n) => document.querySelectorAll('#log > li[data-kind="message"]').length >= n, 4);
    const entries = (await logEntries(tab)).filter((e) => e.kind === 'message');
    for (const t of ['sse', 'longpoll']) {
      assert.deepEqual(entries.filter((e) => e.transport === t).map((e) => e.id), ids,
        `${t} picked up the message sent while it was stopped, once`);
    }
  } finally {
    await context.close();
  }
});

test('the log is capped, keeping the newest entries', async () => {
  const channel = uniqueChannel('cap');
  const context = await browser.newContext();
  try {
    const tab = await openTab(context, server.url, { channel, log: '10' });
    await clickStart(tab, 'longpoll');
    await waitHeartbeats(tab, 'longpoll');
    const ids = [];
    for (let i = 0; i < 15; i += 1) ids.push(await send(server.url, { channel, data: `n${i}` }));
    await waitForId(tab, ids.at(-1));
    assert.deepEqual(await messageIds(tab, channel), ids.slice(-10));
  } finally {
    await context.close();
  }
});

test('keyboard only: start a transport and send a message', async () => {
  const channel = uniqueChannel('keys');
  const context = await browser.newContext();
  try {
    const tab = await openTab(context, server.url, { channel });
    await tab.bringToFront();
    await tab.focus('#sse-toggle');
    await tab.keyboard.press('Enter');
    await waitHeartbeats(tab, 'sse');
    await tab.focus('#send-data');
    await tab.keyboard.type('typed with the keyboard');
    await tab.keyboard.press('Control+Enter');
    await tab.waitForFunction(() => document.getElementById('send-result').dataset.status === 'ok');
    const id = await tab.evaluate(() => document.getElementById('send-result').dataset.id);
    await waitForId(tab, id);
    // Space toggles a focused button too: stop again.
    await tab.focus('#sse-toggle');
    await tab.keyboard.press('Space');
    await waitState(tab, 'sse', 'stopped');
    assert.equal(await tab.textContent('#sse-toggle'), 'Start SSE');
  } finally {
    await context.close();
  }
});

test('a tab opened from another (which copies sessionStorage) still gets its own tab id', async () => {
  const context = await browser.newContext();
  try {
    // What sessionStorage held before the page's script ran.
    await context.addInitScript(() => {
      window.initialTabId = sessionStorage.getItem('rtdemo.tabId');
    });
    const first = await openTab(context, server.url);
    const firstId = await first.textContent('#tab-id');
    // window.open copies the opener's sessionStorage, tab id included, as
    // "Duplicate tab" does.
    const [second] = await Promise.all([
      context.waitForEvent('page'),
      first.evaluate(() => window.open('/', '_blank')),
    ]);
    const copied = await second.evaluate(() => window.initialTabId);
    assert.equal(copied, firstId, 'the new tab started with a copy of the id');
    await second.waitForFunction((id) => document.getElementById('tab-id').textContent !== id, firstId);
    const secondId = await second.textContent('#tab-id');
    assert.notEqual(secondId, firstId);
    assert.equal(await first.textContent('#tab-id'), firstId, 'the older tab keeps its id');
  } finally {
    await context.close();
  }
});
