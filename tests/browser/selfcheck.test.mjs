// The harness checks itself in the browser under test (RTDEMO_BROWSER), so
// that the other files' "nothing happened" assertions mean something there:
// an uncaught error, a dialog, a script injected through innerHTML and a
// request are all seen when they do happen, and a wait that cannot succeed
// fails. Without this, an adapter that silently dropped an event would turn
// e.g. the XSS test's "no dialogs, no page errors" into a pass that tests
// nothing.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { BROWSER, serverAndBrowserPerFile, openTab, uniqueChannel } from './harness.mjs';

let server;
let browser;
serverAndBrowserPerFile((s, b) => {
  server = s;
  browser = b;
});

test(`the page runs in ${BROWSER}`, async () => {
  const context = await browser.newContext();
  try {
    const tab = await openTab(context, server.url);
    const ua = await tab.evaluate(() => navigator.userAgent);
    if (BROWSER === 'firefox') {
      assert.match(ua, /Firefox\/\d+/);
    } else {
      assert.match(ua, /Chrome\/\d+/);
      assert.doesNotMatch(ua, /Firefox/);
    }
  } finally {
    await context.close();
  }
});

test('page errors, dialogs, requests and markup injected on purpose are all seen', async () => {
  const context = await browser.newContext();
  const requests = [];
  context.on('request', (req) => requests.push({ page: req.frame().page(), path: new URL(req.url()).pathname }));
  try {
    const tab = await openTab(context, server.url, { channel: uniqueChannel('selfcheck') });
    const dialogs = [];
    tab.on('dialog', (d) => {
      dialogs.push(d.message());
      d.dismiss();
    });

    await tab.evaluate(() => {
      setTimeout(() => {
        throw new Error('thrown on purpose');
      }, 0);
    });
    await tab.evaluate(() => {
      // What the XSS test guards against: markup through innerHTML runs.
      const div = document.createElement('div');
      div.innerHTML = '<img src="x" onerror="window.__xss = \'img\'">';
      document.body.append(div);
    });
    await tab.waitForFunction(() => window.__xss === 'img', null, { timeout: 10000 });
    await tab.evaluate(() => {
      setTimeout(() => alert('alert on purpose'), 0);
    });
    await tab.evaluate(() => fetch('/selfcheck-probe').catch(() => {}));

    const deadline = Date.now() + 10000;
    while ((tab.consoleErrors.length === 0 || dialogs.length === 0
      || !requests.some((r) => r.path === '/selfcheck-probe')) && Date.now() < deadline) {
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
    assert.equal(tab.consoleErrors.length, 1, `page errors: ${tab.consoleErrors}`);
    assert.match(tab.consoleErrors[0], /thrown on purpose/);
    assert.deepEqual(dialogs, ['alert on purpose']);
    const probe = requests.find((r) => r.path === '/selfcheck-probe');
    assert.ok(probe, `requests seen: ${requests.map((r) => r.path)}`);
    assert.equal(probe.page, tab, 'a request is attributed to the page that sent it');
    // The dismissed alert no longer blocks the page.
    assert.equal(await tab.evaluate(() => 1 + 1), 2);
  } finally {
    await context.close();
  }
});

test('a wait for something that never happens fails', async () => {
  const context = await browser.newContext();
  try {
    const tab = await openTab(context, server.url);
    await assert.rejects(
      tab.waitForFunction((id) => document.getElementById(id) !== null, 'no-such-element', { timeout: 500 }),
    );
    await assert.rejects(tab.waitForSelector('#log > li[data-kind="reset"]', { timeout: 500 }));
    // An element that exists but is hidden is not "there" either (Playwright's
    // visible-by-default waitForSelector).
    await tab.evaluate(() => {
      const el = document.createElement('p');
      el.id = 'hidden-probe';
      el.hidden = true;
      document.body.append(el);
    });
    await assert.rejects(tab.waitForSelector('#hidden-probe', { timeout: 500 }));
  } finally {
    await context.close();
  }
});
