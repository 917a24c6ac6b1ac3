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
// such as ['-u', 'rtdemo'] or ['-p', 'err'].
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
