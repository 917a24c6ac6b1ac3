// Scenario 5 of issue 6: pushed data is shown as text. Anyone who can POST
// /send controls what every subscribed tab renders, so markup in a message
// must never become markup in the page, on any transport.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  serverAndBrowserPerFile, openTab, clickStart, waitHeartbeats, sendFromForm, send,
  waitForId, logEntries, uniqueChannel,
} from './harness.mjs';

let server;
let browser;
serverAndBrowserPerFile((s, b) => {
  server = s;
  browser = b;
});

const PAYLOADS = [
  '<script>window.__xss = "script"</script>',
  '<img src="x" onerror="window.__xss = \'img\'">',
  '"><svg onload="window.__xss = \'svg\'"></svg>',
  '<b>bold?</b> &amp; &lt;entity&gt;',
];

test('scenario 5: markup in pushed data is rendered as text on every transport', async () => {
  const channel = uniqueChannel('xss');
  const context = await browser.newContext();
  try {
    const tab = await openTab(context, server.url, { channel });
    const dialogs = [];
    tab.on('dialog', (d) => {
      dialogs.push(d.message());
      d.dismiss();
    });
    const transports = ['sse', 'longpoll', 'ws'];
    for (const t of transports) await clickStart(tab, t);
    for (const t of transports) await waitHeartbeats(tab, t);

    const ids = [];
    // The first through the form, as a user would; the rest straight to /send.
    const viaForm = await sendFromForm(tab, PAYLOADS[0]);
    assert.equal(viaForm.status, 'ok', viaForm.text);
    ids.push(viaForm.id);
    for (const data of PAYLOADS.slice(1)) ids.push(await send(server.url, { channel, data }));
    for (const id of ids) await waitForId(tab, id);
    // Every transport delivers each message, so wait for all the copies.
    await tab.waitForFunction(
      (n) => document.querySelectorAll('#log > li[data-kind="message"]').length >= n,
      ids.length * transports.length,
    );

    const entries = (await logEntries(tab)).filter((e) => e.kind === 'message');
    for (const transport of transports) {
      assert.deepEqual(
        entries.filter((e) => e.transport === transport).map((e) => e.data),
        PAYLOADS,
        `${transport}: each payload is shown exactly as sent`,
      );
    }
    const injected = await tab.evaluate(() => ({
      xss: window.__xss ?? null,
      elements: document.querySelectorAll('#log script, #log img, #log svg, #log b').length,
    }));
    assert.deepEqual(injected, { xss: null, elements: 0 });
    assert.deepEqual(dialogs, []);
    assert.deepEqual(tab.consoleErrors, []);
  } finally {
    await context.close();
  }
});

test('scenario 5: a refused send shows the server error as text', async () => {
  const channel = uniqueChannel('xss-event');
  const context = await browser.newContext();
  try {
    const tab = await openTab(context, server.url, { channel });
    // An event type with markup breaks the channel rules: the server says 400,
    // and the page shows its message without rendering anything from it.
    const r = await sendFromForm(tab, 'data', '<img src=x onerror=alert(1)>');
    assert.equal(r.status, 'error');
    assert.match(r.text, /^not sent: HTTP 400/);
    const imgs = await tab.evaluate(() => document.querySelectorAll('img').length);
    assert.equal(imgs, 0);
  } finally {
    await context.close();
  }
});
