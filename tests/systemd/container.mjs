// The node side of the container fixture (container.sh): a test file run by
// `container.sh run -- node --test FILE` drives the booted systemd with
// these. The test itself runs on the host, inside the container's network
// namespace (so 127.0.0.1:5000 is the container's rtdemo, and a browser it
// starts reaches it); commands inside the container (systemctl, journalctl,
// dpkg) go through nsenter into all of its namespaces. CT_PID1 and CT_ROOT
// come from container.sh.
//
// Nothing here retries or sleeps for a fixed time: waits poll an observable
// condition with a deadline.

import { execFile } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';

const PID1 = process.env.CT_PID1;
export const CT_ROOT = process.env.CT_ROOT;
if (!PID1 || !CT_ROOT) {
  throw new Error('CT_PID1 and CT_ROOT are not set: run this under tests/systemd/container.sh run');
}

// Runs argv inside the container; resolves {code, stdout, stderr}. Rejects
// on a non-zero exit unless allowFail.
export function ct(argv, { allowFail = false, timeoutMs = 60000 } = {}) {
  const args = ['-t', PID1, '-m', '-u', '-i', '-n', '-p', '--', 'env', '-i',
    'PATH=/usr/sbin:/usr/bin:/sbin:/bin', ...argv];
  return new Promise((resolve, reject) => {
    execFile('nsenter', args, { maxBuffer: 64 << 20, timeout: timeoutMs }, (err, stdout, stderr) => {
      const code = err ? (typeof err.code === 'number' ? err.code : -1) : 0;
      const result = { code, stdout, stderr };
      if (code !== 0 && !allowFail) {
        reject(new Error(`in the container, ${argv.join(' ')} exited ${code}:\n${stdout}${stderr}`));
      } else {
        resolve(result);
      }
    });
  });
}

export async function sh(script, opts) {
  return ct(['bash', '-c', script], opts);
}

export async function systemctl(...args) {
  return (await ct(['systemctl', '--no-pager', ...args])).stdout;
}

// `systemctl show` of the given properties, as an object of strings.
export async function show(unit, ...props) {
  const out = await systemctl('show', unit, ...props.map((p) => `--property=${p}`));
  const o = {};
  for (const line of out.split('\n')) {
    const eq = line.indexOf('=');
    if (eq > 0) o[line.slice(0, eq)] = line.slice(eq + 1);
  }
  return o;
}

// The journal's cursor now, so a later journal() reads only what follows.
export async function journalCursor() {
  const out = (await ct(['journalctl', '-n', '0', '--show-cursor', '--no-pager'])).stdout;
  const m = out.match(/-- cursor: (\S+)/);
  if (!m) throw new Error(`no cursor in: ${out}`);
  return m[1];
}

// journalctl's lines after `cursor` (all if null), with extra arguments
// such as ['-u', 'rtdemo'] or ['-p', 'err']. Beware: journalctl 252, after a
// cursor and with -p or -t, misses entries of rtdemo's dynamic user (journald
// keeps them in a file of their own); there, match on _PID=... instead.
export async function journal(args = [], cursor = null) {
  const argv = ['journalctl', '--no-pager', '-q', ...args];
  if (cursor) argv.push(`--after-cursor=${cursor}`);
  return (await ct(argv)).stdout;
}

export function delay(ms) {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

// Polls fn (sync or async) until it returns something truthy; returns it.
export async function waitFor(what, fn, timeoutMs = 30000) {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = await fn();
    if (v) return v;
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await delay(50);
  }
}

// Waits until the journal after `cursor` has a line matching re; returns it.
export async function waitJournal(re, { args = [], cursor = null, timeoutMs = 30000 } = {}) {
  return waitFor(`a journal line matching ${re}`, async () => {
    const text = await journal(args, cursor);
    return text.split('\n').find((l) => re.test(l));
  }, timeoutMs);
}

// Installs files into the container's /etc as an administrator would edit
// them (the root's /etc is a plain directory on the host).
export function writeEtc(relPath, text) {
  const p = path.join(CT_ROOT, 'etc', relPath);
  fs.mkdirSync(path.dirname(p), { recursive: true });
  fs.writeFileSync(p, text);
}

export function readEtc(relPath) {
  return fs.readFileSync(path.join(CT_ROOT, 'etc', relPath), 'utf8');
}

// Sets keys in the installed /etc/rtdemo/rtdemo.properties: each `key =`
// line is rewritten in place, as `sudoedit` would; a key the file lacks is
// an error (the installed file documents every key).
export function editProperties(changes) {
  let text = readEtc('rtdemo/rtdemo.properties');
  for (const [key, value] of Object.entries(changes)) {
    const re = new RegExp(`^${key.replace(/\./g, '\\.')} =.*$`, 'm');
    if (!re.test(text)) throw new Error(`${key} is not in /etc/rtdemo/rtdemo.properties`);
    text = text.replace(re, `${key} = ${value}`);
  }
  writeEtc('rtdemo/rtdemo.properties', text);
}

// The service's main PID as the container sees it (0 when not running).
export async function mainPid(unit = 'rtdemo') {
  return Number((await show(unit, 'MainPID')).MainPID);
}

// Waits until `unit` is active (running) with a main PID other than
// `notPid`; returns its show() properties.
export async function waitRunning(unit, { notPid = 0, timeoutMs = 30000 } = {}) {
  return waitFor(`${unit} active (running) with a new main PID`, async () => {
    const s = await show(unit, 'ActiveState', 'SubState', 'MainPID', 'NRestarts', 'StatusText');
    const ok = s.ActiveState === 'active' && s.SubState === 'running' &&
      Number(s.MainPID) > 0 && Number(s.MainPID) !== notPid;
    return ok ? s : null;
  }, timeoutMs);
}

// Connects to 127.0.0.1:port (the container's loopback); true if accepted.
export async function canConnect(port) {
  const net = await import('node:net');
  return new Promise((resolve) => {
    const s = net.connect({ port, host: '127.0.0.1' });
    s.once('connect', () => { s.destroy(); resolve(true); });
    s.once('error', () => resolve(false));
  });
}

// ---- rtdemo in the container ---------------------------------------------------

// The package under RTDEMO_PKG_DIR (bound at /srv/pkg inside).
export function debName() {
  const dir = process.env.RTDEMO_PKG_DIR;
  const deb = dir && fs.readdirSync(dir).find((f) => /^rtdemo_.*\.deb$/.test(f));
  if (!deb) throw new Error(`no rtdemo_*.deb in RTDEMO_PKG_DIR (${dir})`);
  return deb;
}

// Short timings, so heartbeats and reconnects happen within a test, and no
// demo ticker: the tests count messages.
export const TEST_PROPERTIES = {
  'rtdemo.heartbeat.seconds': '1',
  'rtdemo.poll.timeout.seconds': '2',
  'rtdemo.demo.interval.seconds': '0',
  'rtdemo.retry.ms': '500',
  'rtdemo.retry.jitter.ms': '0',  // reconnect timing as before the jitter
};

// The tests start rtdemo more often than the unit's StartLimitBurst=5 in
// 120 s allows (that limit stops a crash loop, and counts manual starts
// too), so each lifts it with a drop-in, as `systemctl edit` would.
export const NO_START_LIMIT = '[Unit]\nStartLimitIntervalSec=0\n';

// dpkg -i of the package, TEST_PROPERTIES (and `properties`) in the
// installed configuration, a drop-in with NO_START_LIMIT and `service` (more
// [Service] lines), then a restart that returns once rtdemo is ready.
export async function installRtdemo({ properties = {}, service = '' } = {}) {
  await ct(['dpkg', '-i', `/srv/pkg/${debName()}`]);
  editProperties({ ...TEST_PROPERTIES, ...properties });
  writeEtc('systemd/system/rtdemo.service.d/50-test.conf',
    NO_START_LIMIT + (service ? `[Service]\n${service}\n` : ''));
  await systemctl('daemon-reload');
  await systemctl('restart', 'rtdemo');
}

// The Debian redis-server, started in the container. Its package made these
// directories on the host; the container's /var is fresh.
export async function startRedis() {
  await ct(['install', '-d', '-o', 'redis', '-g', 'redis', '-m', '750', '/var/lib/redis', '/var/log/redis']);
  await systemctl('start', 'redis-server');
}

// Where the host sees the container's units' cgroups (container.sh puts the
// container in nspawn-NAME/payload of the host's cgroup2 hierarchy).
export function unitCgroup(unit = 'rtdemo.service') {
  return `/sys/fs/cgroup/unified/nspawn-${process.env.CT_NAME}/payload/system.slice/${unit}`;
}

// The host TIDs of the unit's threads named `name` (/proc/TID/comm).
export function unitThreads(name, unit = 'rtdemo.service') {
  const tids = fs.readFileSync(path.join(unitCgroup(unit), 'cgroup.threads'), 'utf8').split('\n').filter(Boolean);
  return tids.filter((t) => {
    try {
      return fs.readFileSync(`/proc/${t}/comm`, 'utf8').trim() === name;
    } catch {
      return false;
    }
  }).map(Number);
}
