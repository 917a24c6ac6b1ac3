// The README's screenshot (docs/screenshot.png), taken from the real page so
// that it cannot go stale unnoticed.
//
// One tab on channel `demo` starts SSE, long polling and WebSocket, waits
// until each shows heartbeats, and receives three messages (one sent from the
// page's form, two from a publisher). The test asserts what the page shows:
// every panel open, each message once per transport and in order, the last id
// in each status panel, the three Stop buttons. Then it takes the screenshot.
//
// Compare, or regenerate? Neither pixel by pixel: ids, times and font
// rendering differ from run to run and machine to machine, and a test that
// failed on them would fail CI for nothing. Instead the PNG carries, in an
// iTXt chunk, an outline of what the page shows (its headings, labels, status
// terms and buttons, in order) and the SHA-256 of web/static/style.css. Every
// run takes the screenshot anew and
//   - with RTDEMO_WRITE_SCREENSHOT=1, writes it to docs/screenshot.png;
//   - otherwise writes it to RTDEMO_SCREENSHOT_OUT (the build directory under
//     ctest; a temp dir without it) and fails if the committed
//     docs/screenshot.png has another outline or style sheet, naming what
//     changed and the command that refreshes it.
// So a page that gains a button or a panel, or a new style, fails here until
// the screenshot is taken again; a screenshot that merely differs in pixels
// does not.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import zlib from 'node:zlib';
import {
  ROOT, serverAndBrowserPerFile, openTab, clickStart, waitHeartbeats, status, send,
  sendFromForm, logEntries, tempDir,
} from './harness.mjs';

const COMMITTED = path.join(ROOT, 'docs', 'screenshot.png');
const STYLE = path.join(ROOT, 'web', 'static', 'style.css');
const KEYWORD = 'rtdemo:page';
const TRANSPORTS = ['sse', 'longpoll', 'ws'];
const REFRESH = 'RTDEMO_WRITE_SCREENSHOT=1 ctest -R browser_screenshot (in build/)';

let server;
let browser;
let taken = null;  // { description } once the first test has run
serverAndBrowserPerFile((s, b) => {
  server = s;
  browser = b;
});

// ---- PNG text chunks -------------------------------------------------------

function chunk(type, data) {
  const head = Buffer.alloc(8);
  head.writeUInt32BE(data.length, 0);
  head.write(type, 4, 'latin1');
  const crc = Buffer.alloc(4);
  crc.writeUInt32BE(zlib.crc32(Buffer.concat([head.subarray(4), data])) >>> 0, 0);
  return Buffer.concat([head, data, crc]);
}

// `png` with an uncompressed UTF-8 text chunk (iTXt) before its IEND.
function withText(png, keyword, text) {
  const iend = png.length - 12;
  assert.equal(png.toString('latin1', iend + 4, iend + 8), 'IEND', 'a PNG ends with IEND');
  const data = Buffer.concat([
    Buffer.from(keyword, 'latin1'),
    Buffer.from([0, 0, 0, 0, 0]),  // end of keyword, not compressed, method, no language, no translation
    Buffer.from(text, 'utf8'),
  ]);
  return Buffer.concat([png.subarray(0, iend), chunk('iTXt', data), png.subarray(iend)]);
}

// The text of the iTXt chunk named `keyword`, or null.
function readText(png, keyword) {
  for (let at = 8; at + 12 <= png.length;) {
    const length = png.readUInt32BE(at);
    const type = png.toString('latin1', at + 4, at + 8);
    const data = png.subarray(at + 8, at + 8 + length);
    if (type === 'iTXt') {
      const end = data.indexOf(0);
      if (data.toString('latin1', 0, end) === keyword) {
        let p = end + 3;                 // flag and method
        p = data.indexOf(0, p) + 1;      // language tag
        p = data.indexOf(0, p) + 1;      // translated keyword
        return data.toString('utf8', p);
      }
    }
    at += 12 + length;
  }
  return null;
}

// ---- What the page shows ---------------------------------------------------

// Headings, labels, status terms and buttons, one line each, in page order.
// Their text is static except for the buttons' Start/Stop, which the
// scenario fixes.
function outline(page) {
  return page.evaluate(() =>
    [...document.querySelectorAll('h1, h2, h3, label, dt, button')]
      .filter((el) => el.checkVisibility())
      .map((el) => `${el.tagName.toLowerCase()}${el.id ? `#${el.id}` : ''} ${el.textContent.replace(/\s+/g, ' ').trim()}`),
  );
}

function styleHash() {
  return crypto.createHash('sha256').update(fs.readFileSync(STYLE)).digest('hex');
}

function describe(lines) {
  return [...lines, `web/static/style.css sha256 ${styleHash()}`].join('\n');
}

async function waitForAll(page, ids) {
  await page.waitForFunction(
    ([ids, transports]) => {
      const shown = [...document.querySelectorAll('#log > li[data-kind="message"]')];
      return ids.every((id) => transports.every((t) =>
        shown.some((li) => li.dataset.id === id && li.dataset.transport === t)));
    },
    [ids, TRANSPORTS],
    { timeout: 15000, polling: 100 },
  );
}

test('the page on SSE, long polling and WebSocket at once: messages and heartbeats in each', async () => {
  const context = await browser.newContext({ viewport: { width: 1200, height: 900 }, deviceScaleFactor: 1 });
  try {
    const tab = await openTab(context, server.url, { channel: 'demo', types: 'news' });
    for (const t of TRANSPORTS) await clickStart(tab, t);
    // Heartbeats every second, and a long poll that times out after 2 s
    // (the harness's settings), so two of each come quickly.
    for (const t of TRANSPORTS) await waitHeartbeats(tab, t, 2);

    const form = await sendFromForm(tab, 'hello from the page');
    assert.equal(form.status, 'ok', form.text);
    const ids = [form.id];
    ids.push(await send(server.url, { channel: 'demo', event: 'news', data: 'a named event' }));
    ids.push(await send(server.url, { channel: 'demo', data: 'two\nlines' }));
    await waitForAll(tab, ids);

    const entries = (await logEntries(tab)).filter((e) => e.kind === 'message');
    for (const t of TRANSPORTS) {
      assert.deepEqual(entries.filter((e) => e.transport === t).map((e) => e.id), ids,
        `${t} shows each message once, in order`);
      const st = await status(tab, t);
      assert.equal(st.state, 'open', `${t} is open`);
      assert.equal(st.lastId, ids.at(-1), `${t} shows the last id`);
      assert.ok(st.heartbeats >= 2, `${t} shows heartbeats (${st.heartbeats})`);
    }
    for (const [id, label] of [['sse-toggle', 'Stop SSE'], ['lp-toggle', 'Stop Long Polling'],
      ['ws-toggle', 'Stop WebSocket']]) {
      assert.equal((await tab.textContent(`#${id}`)).trim(), label);
    }
    assert.deepEqual(tab.consoleErrors, []);

    const lines = await outline(tab);
    for (const want of ['h3 SSE', 'h3 Long polling', 'h3 WebSocket']) {
      assert.ok(lines.includes(want), `the status panel shows ${want}: ${lines.join(' | ')}`);
    }
    const description = describe(lines);
    const png = withText(await tab.screenshot({ fullPage: true }), KEYWORD, description);
    assert.equal(readText(png, KEYWORD), description, 'the chunk reads back');
    const out = process.env.RTDEMO_WRITE_SCREENSHOT === '1'
      ? COMMITTED
      : process.env.RTDEMO_SCREENSHOT_OUT || path.join(tempDir('shot'), 'screenshot.png');
    fs.mkdirSync(path.dirname(out), { recursive: true });
    fs.writeFileSync(out, png);
    console.log(`screenshot: ${out}`);
    taken = { description };
  } finally {
    await context.close();
  }
});

test('docs/screenshot.png shows the page as it is now', () => {
  assert.ok(taken, 'the page was shown and photographed (the test above)');
  const committed = readText(fs.readFileSync(COMMITTED), KEYWORD);
  assert.ok(committed !== null,
    `docs/screenshot.png was not taken by this test (no ${KEYWORD} chunk); refresh it: ${REFRESH}`);
  if (committed === taken.description) return;
  const was = committed.split('\n');
  const now = taken.description.split('\n');
  const gone = was.filter((l) => !now.includes(l)).map((l) => `  - ${l}`);
  const added = now.filter((l) => !was.includes(l)).map((l) => `  + ${l}`);
  assert.fail(`docs/screenshot.png shows another page than web/ serves now:\n${[...gone, ...added].join('\n')}\n` +
    `(order may differ too); refresh it: ${REFRESH}`);
});
