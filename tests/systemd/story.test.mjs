// The user's story under a real systemd (issue 23), as one test file run in
// a booted container (container.sh run --dpkg): "run it as a systemd
// service, choose the backend in etc/rtdemo.properties, restart the server
// and watch the tabs reconnect."
//   1. `dpkg -i` of the .deb CPack built installs, enables and starts it;
//   2. the backend is chosen in the installed /etc/rtdemo/rtdemo.properties
//      and `systemctl restart rtdemo` returns once rtdemo said READY=1:
//      systemd's own log shows the unit going from start to running only on
//      that notification, and `systemctl status` shows rtdemo's STATUS line;
//   3. real Chromium tabs on SSE, long polling and WebSocket stay open across
//      `systemctl restart rtdemo` and across a SIGKILL that systemd recovers
//      from (Restart=on-failure), while a publisher keeps sending, and every
//      tab ends with every message exactly once, in order: on SQLite, then on
//      Redis (the Debian redis-server, started in the container).
// The test prints what a user would see (status, journal lines), which the
// README quotes.
//
// Environment: CT_PID1, CT_ROOT (container.sh), RTDEMO_PKG_DIR (the host
// directory holding the .deb, bound at /srv/pkg in the container).

import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import {
  launchBrowser, openStreamingTabs, status, messageIds, logEntries, waitForId, serverHistory,
  uniqueChannel, startSender, waitUntil,
} from '../browser/harness.mjs';
import {
  ct, systemctl, show, journal, journalCursor, waitJournal, writeEtc, editProperties, waitRunning,
  mainPid, debName, startRedis, TEST_PROPERTIES, NO_START_LIMIT,
} from './container.mjs';

const URL = 'http://127.0.0.1:5000';
const DEB = debName();
// Two tabs per HTTP transport and one WebSocket tab, as in the browser tests.
const TRANSPORTS = ['sse', 'sse', 'longpoll', 'longpoll', 'ws'];

let browser;
before(async () => {
  browser = await launchBrowser();
});
after(async () => {
  await browser?.close();
});

async function healthz() {
  const resp = await fetch(`${URL}/healthz`);
  return { status: resp.status, body: await resp.json() };
}

test('1. dpkg -i installs the package, enables rtdemo.service and starts it', async () => {
  const out = await ct(['dpkg', '-i', `/srv/pkg/${DEB}`]);
  console.log(out.stdout.trim());
  assert.match(out.stdout, /Setting up rtdemo/);
  assert.equal((await systemctl('is-enabled', 'rtdemo')).trim(), 'enabled');
  // postinst's `systemctl start` waits for READY=1, so it runs already.
  const s = await show('rtdemo', 'ActiveState', 'SubState');
  assert.deepEqual([s.ActiveState, s.SubState], ['active', 'running']);
  assert.deepEqual(await healthz(), { status: 200, body: { status: 'ok', backend: 'sqlite' } });
});

test('2. choose SQLite in /etc/rtdemo/rtdemo.properties; restart: running only after READY=1', async () => {
  editProperties({ 'rtdemo.backend': 'sqlite', ...TEST_PROPERTIES });
  writeEtc('systemd/system/rtdemo.service.d/50-test.conf', NO_START_LIMIT);
  await systemctl('daemon-reload');

  // systemd's debug log names each notification and each state change.
  await systemctl('log-level', 'debug');
  const cursor = await journalCursor();
  try {
    await systemctl('restart', 'rtdemo');
  } finally {
    await systemctl('log-level', 'info');
  }
  const s = await show('rtdemo', 'ActiveState', 'SubState', 'MainPID', 'StatusText');
  assert.deepEqual([s.ActiveState, s.SubState], ['active', 'running']);
  assert.deepEqual(await healthz(), { status: 200, body: { status: 'ok', backend: 'sqlite' } });

  const lines = (await journal(['-u', 'rtdemo'], cursor)).split('\n');
  const ready = lines.findIndex((l) =>
    new RegExp(`Got notification message from PID ${s.MainPID} \\(READY=1, STATUS=serving on port 5000, backend sqlite\\)`).test(l));
  const running = lines.findIndex((l) => /rtdemo\.service: Changed start -> running/.test(l));
  const starting = lines.findIndex((l) => /rtdemo\.service: Changed .* -> start$/.test(l));
  assert.ok(starting >= 0, 'systemd logged the unit entering "start"');
  assert.ok(ready > starting, `READY=1 from PID ${s.MainPID} in systemd's log after the start:\n${lines.join('\n')}`);
  assert.ok(running > ready, 'the unit became running only after READY=1');
  for (const i of [starting, ready, running]) console.log(lines[i]);

  const statusText = await systemctl('status', 'rtdemo');
  console.log(statusText.trim());
  assert.match(statusText, /Active: active \(running\)/);
  // READY=1's STATUS, or already the watchdog thread's, which follows it.
  assert.match(statusText, /Status: "serving(; backend sqlite, \d+ streams, \d+ held polls| on port 5000, backend sqlite)"/);
});

// Waits until every SSE and WebSocket tab has reconnected since `before`
// (their streams end at every stop; a long poll between two polls need not
// notice) and every tab shows a message acknowledged after the restart.
async function waitResumed(tabs, sender, before) {
  for (let i = 0; i < tabs.length; i += 1) {
    if (TRANSPORTS[i] === 'longpoll') continue;
    await tabs[i].waitForFunction(
      ([p, n]) => Number(document.getElementById(`${p}-reconnects`).dataset.count) > n,
      [TRANSPORTS[i] === 'sse' ? 'sse' : 'ws', before[i]],
      { timeout: 20000, polling: 100 },
    );
  }
  const acked = sender.acked.length;
  await waitUntil('a send acknowledged by the new rtdemo', () => sender.acked.length > acked, 20000);
  const id = sender.acked.at(-1);
  for (const tab of tabs) await waitForId(tab, id, 20000);
}

async function reconnectCounts(tabs) {
  return Promise.all(tabs.map(async (tab, i) => (await status(tab, TRANSPORTS[i])).reconnects));
}

// Step 3 on the backend rtdemo runs now.
async function tabsAcrossRestartAndKill(backend) {
  const context = await browser.newContext();
  const channel = uniqueChannel(`story-${backend}`);
  let sender;
  try {
    const tabs = await openStreamingTabs(context, URL, channel, TRANSPORTS);
    sender = startSender(URL, channel);
    await waitUntil('5 acknowledged sends', () => sender.acked.length >= 5);

    let pid = await mainPid();
    let before = await reconnectCounts(tabs);
    await systemctl('restart', 'rtdemo');
    assert.notEqual(await mainPid(), pid, 'a new process after systemctl restart');
    await waitResumed(tabs, sender, before);
    console.log(`${backend}: every tab resumed after systemctl restart (${sender.acked.length} sends acknowledged so far)`);

    // SIGKILL: no chance to close anything. Restart=on-failure brings it
    // back after RestartSec=2s.
    const { NRestarts } = await show('rtdemo', 'NRestarts');
    pid = await mainPid();
    before = await reconnectCounts(tabs);
    const cursor = await journalCursor();
    await systemctl('kill', '--kill-whom=main', '--signal=SIGKILL', 'rtdemo');
    const s = await waitRunning('rtdemo', { notPid: pid, timeoutMs: 20000 });
    assert.equal(Number(s.NRestarts), Number(NRestarts) + 1, 'systemd restarted it (NRestarts)');
    const killed = await waitJournal(/Main process exited, code=killed, status=9\/KILL/, { args: ['-u', 'rtdemo'], cursor });
    const scheduled = await waitJournal(/Scheduled restart job/, { args: ['-u', 'rtdemo'], cursor });
    console.log(killed);
    console.log(scheduled);
    await waitResumed(tabs, sender, before);
    console.log(`${backend}: every tab resumed after SIGKILL and Restart=on-failure`);

    await sender.stop();
    const acked = sender.acked;
    const history = await serverHistory(URL, channel);
    assert.deepEqual(history.filter((id) => acked.includes(id)), acked,
      'rtdemo kept every acknowledged message, in order');
    for (let i = 0; i < tabs.length; i += 1) {
      await waitForId(tabs[i], history.at(-1), 20000);
      const ids = await messageIds(tabs[i], channel);
      assert.deepEqual(ids, history, `tab ${i} (${TRANSPORTS[i]}) shows every message exactly once, in order`);
      const resets = (await logEntries(tabs[i])).filter((e) => e.kind === 'reset');
      assert.deepEqual(resets, [], `tab ${i} (${TRANSPORTS[i]}) saw no reset: ${backend} keeps its history`);
      assert.equal((await status(tabs[i], TRANSPORTS[i])).state, 'open');
    }
    console.log(`${backend}: ${history.length} messages (${acked.length} acknowledged, ` +
      `${sender.failures} sends refused during the restarts); each of the ${tabs.length} tabs ` +
      `(${TRANSPORTS.join(', ')}) shows each exactly once`);
  } finally {
    await sender?.stop();
    await context.close();
  }
}

test('3. SQLite: tabs stay open across systemctl restart and a SIGKILL, every message once', async () => {
  await tabsAcrossRestartAndKill('sqlite');
});

test('4. Redis: redis-server in the container, rtdemo.backend = redis, the same', async () => {
  await startRedis();
  editProperties({ 'rtdemo.backend': 'redis' });
  await systemctl('restart', 'rtdemo');
  assert.deepEqual(await healthz(), { status: 200, body: { status: 'ok', backend: 'redis' } });
  const s = await show('rtdemo', 'StatusText');
  assert.match(s.StatusText, /backend redis/);
  console.log(`StatusText=${s.StatusText}`);
  await tabsAcrossRestartAndKill('redis');
});
