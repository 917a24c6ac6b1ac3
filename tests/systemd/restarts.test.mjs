// Restarts that clients do not notice (issue 23), measured under a real
// systemd: 1,000 SSE subscribers of one channel (clients.mjs: each resumes
// at once with Last-Event-ID when its stream ends), a publisher making one
// POST /send after another and a poller making one long poll after another,
// each on a fresh connection and never retried, while rtdemo is restarted
// again and again with `systemctl restart rtdemo`.
//   - Every connection attempt is counted by how it ended: refused (nobody
//     listened), failed (accepted, but no answer), served.
//   - A request "mid-restart" is one issued while no rtdemo served: between
//     systemd's ActiveExitTimestampMonotonic of the old instance (its stop
//     began) and ActiveEnterTimestampMonotonic of the new one (READY=1).
//   - At the end every subscriber must hold the channel's whole history,
//     each message exactly once, in order.
// Two runs: first with the fd store off (FileDescriptorStoreMax=0 in a
// drop-in), which is rtdemo binding its own port at each start as it did
// before, where connections are refused; then as shipped, where rtdemo's
// listening socket waits in systemd's fd store across the restart and the
// kernel queues connections meanwhile: 0 refused, 0 failed.

import { test, before } from 'node:test';
import assert from 'node:assert/strict';
import { serverHistory, uniqueChannel } from '../browser/harness.mjs';
import {
  systemctl, show, writeEtc, editProperties, installRtdemo, canConnect, journal, NO_START_LIMIT,
} from './container.mjs';
import { SseCrowd, request, publish } from './clients.mjs';

const URL = 'http://127.0.0.1:5000';
const SUBSCRIBERS = 1000;

before(async () => {
  await installRtdemo();
});

async function setFdStore(max) {
  writeEtc('systemd/system/rtdemo.service.d/50-test.conf',
    NO_START_LIMIT + (max === null ? '' : `[Service]\nFileDescriptorStoreMax=${max}\n`));
  await systemctl('daemon-reload');
  // A stop, not a restart: the store starts empty either way.
  await systemctl('stop', 'rtdemo');
  await systemctl('start', 'rtdemo');
}

// Runs a loop of one-shot requests until stopped; keeps every result.
function requestLoop(make) {
  const loop = { results: [], stopped: false };
  loop.done = (async () => {
    for (let i = 0; !loop.stopped; i += 1) {
      loop.results.push(await make(i));
      // At most one every 20 ms, refused or not.
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
  })();
  loop.stop = async () => {
    loop.stopped = true;
    await loop.done;
  };
  return loop;
}

async function restartsUnderLoad(label, restarts) {
  const channel = uniqueChannel(label);
  const crowd = new SseCrowd({ channel, count: SUBSCRIBERS });
  await crowd.start();
  const acked = [];
  const sends = requestLoop(async (i) => {
    const r = await publish(channel, `m${i}`);
    if (r.ok && r.status === 201) acked.push(r.id);
    return r;
  });
  const polls = requestLoop(async () => {
    const since = acked.at(-1) ?? '';
    return request({ path: `/poll?channel=${channel}&since=${encodeURIComponent(since)}&timeout=1` });
  });
  const gaps = [];
  try {
    for (let k = 0; k < restarts; k += 1) {
      await systemctl('restart', 'rtdemo');
      const s = await show('rtdemo', 'ActiveExitTimestampMonotonic', 'ActiveEnterTimestampMonotonic');
      gaps.push([Number(s.ActiveExitTimestampMonotonic), Number(s.ActiveEnterTimestampMonotonic)]);
      // Under all 1,000 again before the next restart.
      await crowd.waitAllOpen(30000);
    }
  } finally {
    await sends.stop();
    await polls.stop();
  }
  const last = await publish(channel, 'last');
  assert.equal(last.status, 201);
  acked.push(last.id);
  await crowd.waitAll(last.id, 30000);
  crowd.close();

  const history = await serverHistory(URL, channel);
  assert.deepEqual(history.filter((id) => acked.includes(id)), acked, 'every acknowledged send is kept, in order');
  let lost = 0;
  for (const sub of crowd.subscribers) {
    if (JSON.stringify(sub.ids) !== JSON.stringify(history)) lost += 1;
  }

  const probes = [...sends.results.map((r) => ({ ...r, kind: 'send' })), ...polls.results.map((r) => ({ ...r, kind: 'poll' }))];
  const inGap = (r) => gaps.some(([a, b]) => r.startUs >= a && r.startUs <= b);
  const bad = (r) => !(r.ok && (r.kind === 'send' ? r.status === 201 : r.status === 200));
  const refusedProbes = probes.filter((r) => r.error === 'ECONNREFUSED').length;
  const mid = probes.filter(inGap);
  const stats = {
    label,
    restarts,
    gapMsMedian: gaps.map(([a, b]) => (b - a) / 1000).sort((x, y) => x - y)[Math.floor(gaps.length / 2)],
    subscriberAttempts: crowd.tally.served + crowd.tally.refused + crowd.tally.failed,
    subscribersRefused: crowd.tally.refused,
    subscribersFailed: crowd.tally.failed,
    requests: probes.length,
    requestsRefused: refusedProbes,
    requestsFailed: probes.filter(bad).length - refusedProbes,
    midRestart: mid.length,
    midRestartFailed: mid.filter(bad).length,
    messages: history.length,
    subscribersWithLossOrDuplicate: lost,
    resetsSeen: crowd.subscribers.reduce((n, sub) => n + sub.resets, 0),
    failures: [...crowd.tally.failures.slice(0, 3), ...probes.filter((r) => bad(r) && r.error !== 'ECONNREFUSED')
      .slice(0, 3).map((r) => `${r.kind}: ${r.error ?? r.status}`)],
  };
  console.log(JSON.stringify(stats));
  return stats;
}

test('without the fd store (rtdemo binds its port at each start): restarts refuse connections', async () => {
  await setFdStore(0);
  const s = await restartsUnderLoad('before', 3);
  assert.ok(s.subscribersRefused + s.requestsRefused > 0, 'the measurement sees refusals where they happen');
  assert.equal(s.subscribersWithLossOrDuplicate, 0, 'even so, every subscriber resumes with nothing lost');
});

test('as shipped: 20 restarts under 1,000 subscribers, 0 refused, mid-restart requests answered, nothing lost', async () => {
  await setFdStore(null);
  const s = await restartsUnderLoad('after', 20);
  assert.equal(s.subscribersRefused + s.requestsRefused, 0, 'no connection refused');
  assert.equal(s.subscribersFailed + s.requestsFailed, 0, `no connection left unanswered: ${s.failures}`);
  assert.ok(s.midRestart > 0, 'requests were issued mid-restart');
  assert.equal(s.midRestartFailed, 0, 'each was answered without a retry');
  assert.equal(s.subscribersWithLossOrDuplicate, 0, 'every subscriber has every message exactly once');
  assert.equal(s.resetsSeen, 0, 'and none was told its history was gone');
});

test('a new rtdemo.port: the stored socket is dropped, the new port bound and stored', async () => {
  editProperties({ 'rtdemo.port': '5001' });
  try {
    await systemctl('restart', 'rtdemo');
    assert.ok(await canConnect(5001), 'rtdemo listens on the new port');
    assert.ok(!await canConnect(5000), 'the old port is closed, not kept in the store');
    assert.equal((await show('rtdemo', 'NFileDescriptorStore')).NFileDescriptorStore, '1');
    await systemctl('restart', 'rtdemo');
    assert.ok(await canConnect(5001), 'and the new one is kept across the next restart');
    const mine = await journal(['-u', 'rtdemo', `_PID=${(await show('rtdemo', 'MainPID')).MainPID}`]);
    assert.match(mine, /listening socket taken over from systemd's fd store/);
  } finally {
    editProperties({ 'rtdemo.port': '5000' });
    await systemctl('restart', 'rtdemo');
  }
});
