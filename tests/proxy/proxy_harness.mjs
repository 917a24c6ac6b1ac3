// Shared pieces of the proxy tests (issue 10): run Debian's caddy with
// deploy/caddy/Caddyfile on free loopback ports and a temporary storage
// directory, in front of a real build/rtdemo; reach it from Chromium over
// HTTP/2 or HTTP/3 and from Node over HTTP/2.
//
// Everything about rtdemo and the page comes from ../browser/harness.mjs; this
// file adds only what the proxy brings. Caddy's site is a named host,
// rtdemo.test, as in production (SNI, a certificate for a name); the browser
// maps it to 127.0.0.1 with --host-resolver-rules and Node connects to
// 127.0.0.1 naming it in SNI, so no /etc/hosts entry is needed.
//
// Trust: Caddy's local CA (tls internal) issues the certificate. Chromium is
// told to accept that one certificate's public key
// (--ignore-certificate-errors-spki-list), which it honours for QUIC too;
// Node trusts the CA's root from the storage directory. Nothing is added to
// the system's trust store (the Caddyfile says skip_install_trust).
//
// Environment: CADDY (default: caddy on PATH), plus those of ../browser/harness.mjs.

import { spawn } from 'node:child_process';
import crypto from 'node:crypto';
import dgram from 'node:dgram';
import fs from 'node:fs';
import http2 from 'node:http2';
import https from 'node:https';
import path from 'node:path';
import tls from 'node:tls';
import { ROOT, freePort, tempDir, delay } from '../browser/harness.mjs';
import { chromium } from '../browser/node_modules/playwright-core/index.mjs';

export const CADDYFILE = path.join(ROOT, 'deploy', 'caddy', 'Caddyfile');
export const SITE = 'rtdemo.test';

// A port free for TCP (HTTP/1.1, HTTP/2) and for UDP (HTTP/3) alike: Caddy
// serves both on its HTTPS port.
export async function freeTcpUdpPort() {
  for (let i = 0; i < 50; i += 1) {
    const port = await freePort();
    const sock = dgram.createSocket('udp4');
    const ok = await new Promise((resolve) => {
      sock.once('error', () => resolve(false));
      sock.bind(port, '127.0.0.1', () => resolve(true));
    });
    await new Promise((resolve) => (ok ? sock.close(resolve) : resolve()));
    if (ok) return port;
  }
  throw new Error('no port free for both TCP and UDP');
}

export class CaddyServer {
  // upstreamPort: where rtdemo (or another upstream) listens on 127.0.0.1.
  // env: more RTDEMO_* variables of the Caddyfile, e.g. a read timeout.
  constructor({ upstreamPort, env = {} }) {
    this.upstreamPort = upstreamPort;
    this.extraEnv = env;
    this.storage = tempDir('caddy');
    this.httpsPort = null;
    this.httpPort = null;
    this.proc = null;
    this.output = '';
    this.ca = null;
  }

  get origin() {
    return `https://${SITE}:${this.httpsPort}`;
  }

  // Caddy cannot listen on port 0 and say which port it got, so its ports
  // are probed free here; another process may take one before Caddy binds
  // it. Then Caddy exits saying so, and it starts again on new ports (only
  // ports it chose itself: a restart keeps the ones clients expect).
  async start(options = {}) {
    const chosen = this.httpsPort == null;
    for (let attempt = 1; ; attempt += 1) {
      if (this.httpsPort == null) {
        this.httpsPort = await freeTcpUdpPort();
        this.httpPort = await freePort();
      }
      try {
        return await this.startOnce(options);
      } catch (err) {
        if (!chosen || attempt >= 5 || !/address already in use/i.test(this.output)) throw err;
        this.httpsPort = null;
        this.httpPort = null;
        this.output = '';
      }
    }
  }

  async startOnce({ waitHealthy = true } = {}) {
    const env = {
      ...process.env,
      RTDEMO_SITE: SITE,
      RTDEMO_TLS: 'internal',
      RTDEMO_CADDY_BIND: '127.0.0.1', // loopback only, whatever the default
      RTDEMO_CADDY_HTTP_PORT: String(this.httpPort),
      RTDEMO_CADDY_HTTPS_PORT: String(this.httpsPort),
      RTDEMO_CADDY_STORAGE: this.storage,
      RTDEMO_CADDY_ADMIN: 'off',
      RTDEMO_UPSTREAM: `127.0.0.1:${this.upstreamPort}`,
      RTDEMO_HEALTH_INTERVAL: '1s',
      // Caddy's own data and config directories, out of $HOME.
      XDG_DATA_HOME: this.storage,
      XDG_CONFIG_HOME: this.storage,
      ...this.extraEnv,
    };
    const bin = process.env.CADDY || 'caddy';
    const proc = spawn(bin, ['run', '--config', CADDYFILE, '--adapter', 'caddyfile'], {
      env, stdio: ['ignore', 'pipe', 'pipe'],
    });
    this.proc = proc;
    const keep = (d) => {
      this.output += d.toString();
      if (this.output.length > 200000) this.output = this.output.slice(-100000);
    };
    proc.stdout.on('data', keep);
    proc.stderr.on('data', keep);
    proc.exited = new Promise((resolve) => proc.once('exit', (code, sig) => resolve({ code, sig })));
    proc.once('error', (err) => { this.output += `spawn failed: ${err}\n`; });

    // Ready when the certificate is issued (a TLS handshake for the name
    // succeeds) and, unless told otherwise, when the upstream answers through
    // the proxy: Caddy's first health check has passed.
    const deadline = Date.now() + 30000;
    for (;;) {
      if (proc.exitCode !== null || proc.signalCode !== null) {
        throw new Error(`caddy exited while starting (${proc.exitCode ?? proc.signalCode}):\n${this.output}`);
      }
      if (Date.now() > deadline) {
        await this.stop();
        throw new Error(`caddy was not ready within 30 s:\n${this.output}`);
      }
      try {
        this.ca = fs.readFileSync(path.join(this.storage, 'pki', 'authorities', 'local', 'root.crt'));
        this.leaf = await peerCertificate(this.httpsPort, this.ca);
        if (!waitHealthy) return this;
        const r = await this.request('/healthz');
        if (r.status === 200) return this;
      } catch {
        // not yet
      }
      await delay(100);
    }
  }

  async stop() {
    const proc = this.proc;
    if (!proc) return null;
    this.proc = null;
    if (proc.exitCode === null && proc.signalCode === null) proc.kill('SIGTERM');
    const timer = setTimeout(() => proc.kill('SIGKILL'), 10000);
    const result = await proc.exited;
    clearTimeout(timer);
    return result;
  }

  // base64 SHA-256 of the served certificate's SubjectPublicKeyInfo, the form
  // --ignore-certificate-errors-spki-list takes.
  spkiHash() {
    const spki = this.leaf.publicKey.export({ type: 'spki', format: 'der' });
    return crypto.createHash('sha256').update(spki).digest('base64');
  }

  // One request over HTTPS, HTTP/1.1 or HTTP/2 as ALPN decides (alpn forces
  // one). Resolves with {status, headers, body, alpn}.
  request(pathname, { method = 'GET', headers = {}, body = null, alpn = ['h2', 'http/1.1'] } = {}) {
    if (alpn.length === 1 && alpn[0] === 'http/1.1') return this.requestH1(pathname, { method, headers, body });
    return new Promise((resolve, reject) => {
      const session = this.connectH2();
      session.once('error', reject);
      const req = session.request({ ':method': method, ':path': pathname, ...headers });
      let data = '';
      let head = null;
      req.setEncoding('utf8');
      req.on('response', (h) => { head = h; });
      req.on('data', (d) => { data += d; });
      req.on('end', () => {
        session.close();
        resolve({ status: head[':status'], headers: head, body: data, alpn: 'h2' });
      });
      req.on('error', (e) => { session.destroy(); reject(e); });
      if (body != null) req.end(body); else req.end();
    });
  }

  requestH1(pathname, { method, headers, body }) {
    return new Promise((resolve, reject) => {
      const req = https.request({
        host: '127.0.0.1', port: this.httpsPort, servername: SITE, ca: this.ca,
        method, path: pathname, headers: { host: `${SITE}:${this.httpsPort}`, ...headers },
        ALPNProtocols: ['http/1.1'], agent: false,
      }, (res) => {
        let data = '';
        res.setEncoding('utf8');
        res.on('data', (d) => { data += d; });
        res.on('end', () => resolve({
          status: res.statusCode, headers: res.headers, body: data, alpn: res.socket.alpnProtocol,
        }));
      });
      req.on('error', reject);
      if (body != null) req.end(body); else req.end();
    });
  }

  // An HTTP/2 session to the proxy, as a browser would have.
  connectH2() {
    return http2.connect(this.origin, {
      createConnection: () => tls.connect({
        host: '127.0.0.1', port: this.httpsPort, servername: SITE, ca: this.ca, ALPNProtocols: ['h2'],
      }),
    });
  }
}

function peerCertificate(port, ca) {
  return new Promise((resolve, reject) => {
    const sock = tls.connect({ host: '127.0.0.1', port, servername: SITE, ca }, () => {
      const cert = sock.getPeerX509Certificate();
      sock.destroy();
      resolve(cert);
    });
    sock.once('error', reject);
  });
}

// Chromium that trusts this Caddy's certificate and finds rtdemo.test at
// 127.0.0.1. quic: force HTTP/3 for the proxy's origin from the first
// request (no waiting for Alt-Svc); otherwise QUIC is off and HTTP/2 is the
// best the browser can get.
export async function launchProxyBrowser(caddy, { quic }) {
  const args = [
    '--headless',
    '--no-sandbox',
    '--disable-gpu',
    '--no-first-run',
    '--disable-background-networking',
    '--disable-component-update',
    '--disable-sync',
    `--host-resolver-rules=MAP ${SITE} 127.0.0.1`,
    `--ignore-certificate-errors-spki-list=${caddy.spkiHash()}`,
  ];
  if (quic) args.push('--enable-quic', `--origin-to-force-quic-on=${SITE}:${caddy.httpsPort}`);
  else args.push('--disable-quic');
  return chromium.launch({ executablePath: process.env.CHROMIUM || '/usr/bin/chromium', headless: true, args });
}

// The protocol of the page's own load, from the Navigation Timing entry.
export function pageProtocol(page) {
  return page.evaluate(() => performance.getEntriesByType('navigation')[0].nextHopProtocol);
}

// The protocols of finished requests whose URL contains `part`, from
// Resource Timing. A stream's entry appears only once it has ended.
export function resourceProtocols(page, part) {
  return page.evaluate(
    (part) => performance.getEntriesByType('resource')
      .filter((e) => e.name.includes(part))
      .map((e) => e.nextHopProtocol),
    part,
  );
}

// Reads a server-sent event stream from a Node response stream, calling
// onEvent({id, event, data, at}) per complete event, `at` being the
// performance.now() at which its last byte arrived.
export function readSse(stream, onEvent) {
  let buf = '';
  stream.setEncoding('utf8');
  stream.on('data', (chunk) => {
    const at = performance.now();
    buf += chunk;
    let end;
    while ((end = buf.search(/\r?\n\r?\n/)) >= 0) {
      const block = buf.slice(0, end);
      buf = buf.slice(end).replace(/^\r?\n\r?\n/, '');
      const ev = { id: null, event: 'message', data: [], at };
      for (const line of block.split(/\r?\n/)) {
        const m = /^([^:]*)(?::\s?(.*))?$/.exec(line);
        if (!m || m[1] === '') continue;
        if (m[1] === 'id') ev.id = m[2];
        else if (m[1] === 'event') ev.event = m[2];
        else if (m[1] === 'data') ev.data.push(m[2]);
      }
      if (ev.data.length || ev.id) onEvent({ ...ev, data: ev.data.join('\n') });
    }
  });
}
