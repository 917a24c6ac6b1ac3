// Shared pieces of the browser tests: run build/rtdemo on a port the OS picks,
// drive a real browser, and read what the page shows. Tests assert on the page
// (its log and status panels), never on the transports' internals, because the
// page is what users look at.
//
// The browser is Debian's chromium through playwright-core, or Debian's
// firefox-esr through puppeteer-core over WebDriver BiDi (firefox.mjs, which
// answers the same Playwright-style calls), so every test body runs in both.
//
// Environment: RTDEMO_BIN (the server binary, default <root>/build/rtdemo),
// RTDEMO_ROOT (the repo root, the server's working directory, so it finds web/),
// RTDEMO_BROWSER (chromium, the default, or firefox), CHROMIUM (default
// /usr/bin/chromium), FIREFOX (default /usr/bin/firefox-esr).

import { spawn } from 'node:child_process';
import net from 'node:net';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { before, after } from 'node:test';
import { chromium } from 'playwright-core';

const here = path.dirname(fileURLToPath(import.meta.url));
export const ROOT = path.resolve(process.env.RTDEMO_ROOT || path.join(here, '..', '..'));
export const BIN = process.env.RTDEMO_BIN || path.join(ROOT, 'build', 'rtdemo');
export const BROWSER = process.env.RTDEMO_BROWSER || 'chromium';
if (!['chromium', 'firefox'].includes(BROWSER)) {
  throw new Error(`RTDEMO_BROWSER must be chromium or firefox, not ${JSON.stringify(BROWSER)}`);
}

// Short timings so heartbeats, timeouts and reconnects happen within a test.
// The demo ticker is off: tests count messages.
export const TEST_DEFINES = {
  'rtdemo.heartbeat.seconds': '1',
  'rtdemo.poll.timeout.seconds': '2',
  'rtdemo.demo.interval.seconds': '0',
  'rtdemo.retry.ms': '500',
  'rtdemo.retry.jitter.ms': '0',  // reconnect timing as before the jitter
};

// ---- Server ------------------------------------------------------------------

// A port that was free a moment ago, for servers that cannot listen on port
// 0 and say which port they got (Caddy). rtdemo never needs it: RtdemoServer
// lets it bind port 0 and reads the port file it writes.
export async function freePort() {
  const srv = net.createServer();
  await new Promise((resolve, reject) => {
    srv.once('error', reject);
    srv.listen(0, '127.0.0.1', resolve);
  });
  const { port } = srv.address();
  await new Promise((resolve) => srv.close(resolve));
  return port;
}

export function tempDir(prefix) {
  return fs.mkdtempSync(path.join(os.tmpdir(), `rtdemo-${prefix}-`));
}

// One rtdemo process at a time on a fixed port, so a test can stop it and
// start it again where the browser tabs expect it. The first start lets
// rtdemo pick the port (port 0, reported through rtdemo.port-file); later
// starts ask for that same port again.
export class RtdemoServer {
  constructor({ backend = 'memory', defines = {}, port = null } = {}) {
    this.backend = backend;
    this.defines = { ...TEST_DEFINES, ...defines };
    this.port = port;
    this.portDir = null;
    this.proc = null;
    this.output = '';
    this.starts = 0;
  }

  get url() {
    return `http://127.0.0.1:${this.port}`;
  }

  async start() {
    if (!fs.existsSync(BIN)) throw new Error(`server binary not found: ${BIN} (set RTDEMO_BIN)`);
    if (this.portDir == null) this.portDir = tempDir('port');
    const portFile = path.join(this.portDir, 'port');
    fs.rmSync(portFile, { force: true });
    const args = ['--port', String(this.port ?? 0), '--backend', this.backend];
    for (const [k, v] of Object.entries(this.defines)) args.push('-D', `${k}=${v}`);
    args.push('-D', `rtdemo.port-file=${portFile}`);
    const proc = spawn(BIN, args, { cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'] });
    this.proc = proc;
    this.starts += 1;
    const tag = `[rtdemo#${this.starts}] `;
    let atLineStart = true;
    const keep = (d) => {
      const text = d.toString();
      this.output += (atLineStart ? tag : '') + text.replace(/\n(?=.)/g, `\n${tag}`);
      atLineStart = text.endsWith('\n');
      if (this.output.length > 200000) this.output = this.output.slice(-100000);
    };
    proc.stdout.on('data', keep);
    proc.stderr.on('data', keep);
    proc.exited = new Promise((resolve) => proc.once('exit', (code, sig) => resolve({ code, sig })));
    const deadline = Date.now() + 20000;
    for (;;) {
      if (proc.exitCode !== null || proc.signalCode !== null) {
        throw new Error(`rtdemo exited while starting (${proc.exitCode ?? proc.signalCode}):\n${this.output}`);
      }
      // Written (complete, by rename) once the port accepts connections.
      const written = fs.existsSync(portFile) ? fs.readFileSync(portFile, 'utf8') : '';
      if (written.endsWith('\n')) {
        const bound = Number(written.trim());
        if (this.port != null && bound !== this.port) {
          proc.kill('SIGKILL');
          throw new Error(`rtdemo listens on ${bound}, not on the ${this.port} asked for`);
        }
        this.port = bound;
        return this;
      }
      if (Date.now() > deadline) {
        proc.kill('SIGKILL');
        throw new Error(`rtdemo did not write its port file within 20 s:\n${this.output}`);
      }
      await delay(50);
    }
  }

  // Resolves once the process is gone; SIGKILLs it if a SIGTERM takes too long.
  async stop(signal = 'SIGTERM') {
    const proc = this.proc;
    if (!proc) return null;
    this.proc = null;
    if (proc.exitCode === null && proc.signalCode === null) proc.kill(signal);
    const timer = setTimeout(() => proc.kill('SIGKILL'), 10000);
    const result = await proc.exited;
    clearTimeout(timer);
    if (this.portDir != null) fs.rmSync(this.portDir, { recursive: true, force: true });
    this.portDir = null;
    return result;
  }
}

export function delay(ms) {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

// POST /send from the test itself (not through a tab, which would use up one
// of the browser's 6 connections per origin).
export async function send(baseUrl, fields) {
  const resp = await fetch(`${baseUrl}/send`, { method: 'POST', body: new URLSearchParams(fields) });
  const body = await resp.json().catch(() => ({}));
  if (resp.status !== 201) throw new Error(`POST /send answered ${resp.status}: ${JSON.stringify(body)}`);
  return body.id;
}

// Polls a condition of the test's own state (not the page's), such as how many
// sends were acknowledged.
export async function waitUntil(what, fn, timeout = 20000) {
  const deadline = Date.now() + timeout;
  while (!fn()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await delay(20);
  }
}

// A steady stream of sends, one at a time, as a publisher would do. It carries
// on through the outage; a refused send is counted, not retried, because
// whether it was stored is the server's to say (see serverHistory).
export function startSender(baseUrl, channel, paceMs = 40) {
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

// Everything the server retains on a channel, in its order. An unknown cursor
// makes the server answer with a reset and the history from the oldest on.
export async function serverHistory(baseUrl, channel) {
  const ids = [];
  let since = 'rtdemo-browser-test-unknown-0';
  for (let i = 0; i < 10000; i += 1) {
    const q = new URLSearchParams({ channel, since, timeout: '1' });
    const resp = await fetch(`${baseUrl}/poll?${q}`);
    if (resp.status !== 200) throw new Error(`GET /poll answered ${resp.status}`);
    const body = await resp.json();
    if (!body.reset && body.messages.length === 0) return ids;
    for (const m of body.messages) ids.push(m.id);
    since = body.last_id;
  }
  throw new Error('history did not end');
}

// ---- Browser -----------------------------------------------------------------

// Says which browser ran in the test output (a "#" line in TAP).
export async function launchBrowser() {
  const browser = await launchBrowserOnly();
  console.log(`browser: ${BROWSER} ${await browser.version()}`);
  return browser;
}

// One memory-backend server and one browser for a whole test file: started
// before its first test, stopped after its last. `ready(server, browser)`
// hands them to the file once both run.
export function serverAndBrowserPerFile(ready) {
  let server;
  let browser;
  before(async () => {
    server = await new RtdemoServer({ backend: 'memory' }).start();
    browser = await launchBrowser();
    ready(server, browser);
  });
  after(async () => {
    await browser?.close();
    await server?.stop();
  });
}

async function launchBrowserOnly() {
  if (BROWSER === 'firefox') {
    const { launchFirefox } = await import('./firefox.mjs');
    return launchFirefox();
  }
  return chromium.launch({
    executablePath: process.env.CHROMIUM || '/usr/bin/chromium',
    headless: true,
    args: [
      '--headless',
      '--no-sandbox',
      '--disable-gpu',
      '--no-first-run',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
      '--disable-quic',
    ],
  });
}

// query: extra page parameters, e.g. {channel: 'x', shared: '1'}.
export async function openTab(context, baseUrl, query = {}) {
  const page = await context.newPage();
  page.consoleErrors = [];
  page.on('pageerror', (err) => page.consoleErrors.push(String(err)));
  await page.goto(`${baseUrl}/?${new URLSearchParams(query)}`);
  await page.waitForSelector('html[data-ready="true"]');
  return page;
}

const PREFIX = { sse: 'sse', longpoll: 'lp', ws: 'ws' };

// One tab per entry of `transports` on `channel`, each started and shown
// subscribed (a heartbeat) before this returns. backoff_max_ms keeps the
// page's reconnects within a test's time.
export async function openStreamingTabs(context, baseUrl, channel, transports) {
  const tabs = [];
  for (let i = 0; i < transports.length; i += 1) {
    tabs.push(await openTab(context, baseUrl, { channel, backoff_max_ms: '1000' }));
  }
  for (let i = 0; i < tabs.length; i += 1) await clickStart(tabs[i], transports[i]);
  for (let i = 0; i < tabs.length; i += 1) await waitHeartbeats(tabs[i], transports[i]);
  return tabs;
}

export async function clickStart(page, transport) {
  // Only the front tab gets prompt input handling, as for a user.
  await page.bringToFront();
  await page.locator(`#${PREFIX[transport]}-toggle`).click();
  await page.waitForSelector(`#${PREFIX[transport]}-toggle[aria-pressed="true"]`);
}

export async function clickStop(page, transport) {
  await page.bringToFront();
  await page.locator(`#${PREFIX[transport]}-toggle`).click();
  await page.waitForSelector(`#${PREFIX[transport]}-toggle[aria-pressed="false"]`);
}

export async function status(page, transport) {
  const p = PREFIX[transport];
  return page.evaluate((p) => {
    const el = (id) => document.getElementById(id);
    return {
      state: el(`${p}-state`).dataset.state,
      text: el(`${p}-state`).textContent,
      role: el(`${p}-state`).dataset.role,
      leader: el(`${p}-state`).dataset.leader,
      lastId: el(`${p}-last-id`).textContent,
      reconnects: Number(el(`${p}-reconnects`).dataset.count),
      heartbeats: Number(el(`${p}-heart`).dataset.count),
      heartAge: el(`${p}-heart-age`).textContent,
    };
  }, p);
}

// Waits until the transport's heartbeat counter reaches n. A heartbeat proves
// the tab is subscribed (SSE) or holds a cursor (long polling), so a message
// sent afterwards cannot be missed as "before the tab started".
export async function waitHeartbeats(page, transport, n = 1, timeout = 15000) {
  await page.waitForFunction(
    ([p, n]) => Number(document.getElementById(`${p}-heart`).dataset.count) >= n,
    [PREFIX[transport], n],
    { timeout, polling: 100 },
  );
}

export async function waitState(page, transport, state, timeout = 15000) {
  await page.waitForFunction(
    ([p, s]) => document.getElementById(`${p}-state`).dataset.state === s,
    [PREFIX[transport], state],
    { timeout, polling: 100 },
  );
}

// The log as the page shows it.
export async function logEntries(page) {
  return page.evaluate(() =>
    [...document.querySelectorAll('#log > li')].map((li) => ({
      kind: li.dataset.kind,
      id: li.dataset.id,
      event: li.dataset.event,
      transport: li.dataset.transport,
      channel: li.dataset.channel,
      via: li.dataset.via || null,
      oldest: li.dataset.oldest,
      data: li.querySelector('.data')?.textContent ?? null,
      text: li.textContent,
    })),
  );
}

export async function messageIds(page, channel) {
  return (await logEntries(page))
    .filter((e) => e.kind === 'message' && e.channel === channel)
    .map((e) => e.id);
}

export async function waitForId(page, id, timeout = 15000) {
  await page.waitForFunction(
    (id) => [...document.querySelectorAll('#log > li[data-kind="message"]')].some((li) => li.dataset.id === id),
    id,
    { timeout, polling: 100 },
  );
}

// Sends through the page's form, as a user would; returns the id it shows.
export async function sendFromForm(page, data, event = '') {
  await page.bringToFront();
  await page.fill('#send-data', data);
  await page.fill('#send-event', event);
  await page.evaluate(() => {
    const out = document.getElementById('send-result');
    out.dataset.status = '';
  });
  await page.click('#send-button');
  await page.waitForFunction(
    () => ['ok', 'error'].includes(document.getElementById('send-result').dataset.status),
    null,
    { timeout: 10000, polling: 50 },
  );
  return page.evaluate(() => {
    const out = document.getElementById('send-result');
    return { status: out.dataset.status, id: out.dataset.id, text: out.textContent };
  });
}

export function uniqueChannel(prefix) {
  return `${prefix}-${process.pid}-${Math.random().toString(36).slice(2, 8)}`;
}
