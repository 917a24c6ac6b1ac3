// Firefox for the browser tests: Debian's firefox-esr driven by puppeteer-core
// over WebDriver BiDi (no geckodriver, no browser download), wrapped so that
// it answers the small part of Playwright's API that the test files use. The
// same test bodies then run in Chromium (playwright-core) and in Firefox;
// harness.mjs picks one by RTDEMO_BROWSER.
//
// Only what the tests call is here, with Playwright's meaning where the two
// libraries differ: waitForFunction(fn, arg, options), waitForSelector waits
// for a visible element, fill() sets the value as Playwright does (no key
// events), context-wide init scripts and request events. Anything else throws,
// so a test that starts using more of Playwright fails loudly in Firefox
// instead of doing something else.

import fs from 'node:fs';
import puppeteer from 'puppeteer-core';

export const FIREFOX = process.env.FIREFOX || '/usr/bin/firefox-esr';

// Playwright's defaults, so a page looks and waits the same in both browsers.
const VIEWPORT = { width: 1280, height: 720 };
const TIMEOUT = 30000;

// On top of puppeteer's own test profile (no updates, no safe browsing, no
// data reporting): everything else Firefox would reach out for by itself.
// The tests only ever talk to 127.0.0.1; traced with strace, a Firefox run
// connects to nothing else and makes no DNS lookup.
const PREFS = {
  'app.update.auto': false,
  'app.update.enabled': false,
  'app.normandy.enabled': false,
  'app.shield.optoutstudies.enabled': false,
  'browser.aboutwelcome.enabled': false,
  'browser.discovery.enabled': false,
  'browser.newtabpage.activity-stream.feeds.telemetry': false,
  'browser.newtabpage.activity-stream.telemetry': false,
  'browser.ping-centre.telemetry': false,
  'browser.region.network.url': '',
  'browser.region.update.enabled': false,
  'browser.safebrowsing.provider.google.updateURL': '',
  'browser.safebrowsing.provider.google4.updateURL': '',
  'browser.safebrowsing.provider.mozilla.updateURL': '',
  'browser.topsites.contile.enabled': false,
  'captivedetect.canonicalURL': '',
  'datareporting.healthreport.uploadEnabled': false,
  'datareporting.policy.dataSubmissionEnabled': false,
  'dom.push.connection.enabled': false,
  'dom.push.serverURL': '',
  'extensions.blocklist.enabled': false,
  'geo.provider.network.url': '',
  'identity.fxaccounts.enabled': false,
  'messaging-system.rsexperimentloader.enabled': false,
  'network.captive-portal-service.enabled': false,
  'network.connectivity-service.enabled': false,
  'network.dns.disablePrefetch': true,
  'network.predictor.enabled': false,
  'network.prefetch-next': false,
  // A safety net: anything that still reaches for the outside goes to a
  // proxy on a closed loopback port and fails there, without a DNS lookup.
  // 127.0.0.1, localhost and ::1 never go through a proxy.
  'network.proxy.type': 1,
  'network.proxy.http': '127.0.0.1',
  'network.proxy.http_port': 9,
  'network.proxy.ssl': '127.0.0.1',
  'network.proxy.ssl_port': 9,
  'network.proxy.allow_hijacking_localhost': false,
  'network.proxy.failover_direct': false,
  'network.trr.mode': 5, // no DNS over HTTPS
  'security.OCSP.enabled': 0,
  // Remote Settings (firefox.settings.services.mozilla.com) to a closed
  // loopback port; release builds read this pref only with
  // MOZ_REMOTE_SETTINGS_DEVTOOLS=1, which launchFirefox sets.
  'services.settings.server': 'http://127.0.0.1:9/v1',
  'toolkit.telemetry.archive.enabled': false,
  'toolkit.telemetry.enabled': false,
  'toolkit.telemetry.server': '',
  'toolkit.telemetry.unified': false,
};

// Fails (never skips) when Firefox is missing or does not start: a Firefox
// test that cannot run Firefox has not tested anything.
export async function launchFirefox() {
  if (!fs.existsSync(FIREFOX)) {
    throw new Error(`Firefox not found at ${FIREFOX}: install firefox-esr (tests/browser/setup.sh does) or set FIREFOX`);
  }
  let browser;
  try {
    // A fresh temporary profile per launch, removed again by close().
    browser = await puppeteer.launch({
      browser: 'firefox',
      executablePath: FIREFOX,
      headless: true,
      defaultViewport: VIEWPORT,
      extraPrefsFirefox: PREFS,
      // Makes services.settings.server (in PREFS) count in a release build.
      env: { ...process.env, MOZ_REMOTE_SETTINGS_DEVTOOLS: '1' },
      protocolTimeout: 60000,
      timeout: 60000,
    });
  } catch (err) {
    throw new Error(`Firefox (${FIREFOX}) did not start over WebDriver BiDi: ${err.message}`, { cause: err });
  }
  return new FxBrowser(browser);
}

function unsupported(what) {
  throw new Error(`the Firefox adapter (tests/browser/firefox.mjs) does not implement ${what}`);
}

class FxBrowser {
  constructor(browser) {
    this.pptr = browser;
  }

  version() {
    return this.pptr.version();
  }

  // A BiDi user context: its own cookies and storage, as a Playwright context.
  async newContext(options = {}) {
    for (const k of Object.keys(options)) if (k !== 'viewport') unsupported(`newContext({${k}})`);
    const ctx = await this.pptr.createBrowserContext();
    return new FxContext(ctx, options.viewport ?? null);
  }

  async close() {
    await this.pptr.close();
  }
}

class FxContext {
  constructor(ctx, viewport) {
    this.pptr = ctx;
    this.viewport = viewport;
    this.wrapped = new Map(); // puppeteer Page -> FxPage
    this.requestListeners = [];
    // Pages the page itself opens (window.open) get the same wrapping.
    ctx.on('targetcreated', async (target) => {
      if (target.type() !== 'page') return;
      const page = await target.page().catch(() => null);
      if (page) this.wrap(page);
    });
  }

  wrap(page) {
    let fx = this.wrapped.get(page);
    if (!fx) {
      fx = new FxPage(page, this);
      this.wrapped.set(page, fx);
      page.setDefaultTimeout(TIMEOUT);
      page.on('request', (req) => {
        const request = {
          url: () => req.url(),
          frame: () => ({ page: () => (req.frame() ? this.wrap(req.frame().page()) : null) }),
        };
        for (const fn of this.requestListeners) fn(request);
      });
    }
    return fx;
  }

  async newPage() {
    // A window per page, not a tab: every page is then visible and runs at
    // full speed, as each page does in headless Chromium. (A background tab's
    // timers would be throttled to once a second.)
    const page = await this.pptr.newPage({ type: 'window' });
    if (this.viewport) await page.setViewport(this.viewport);
    return this.wrap(page);
  }

  on(event, fn) {
    if (event !== 'request') unsupported(`context.on('${event}')`);
    this.requestListeners.push(fn);
  }

  // Runs fn before the page's scripts in every document of this context,
  // popups included. Puppeteer's evaluateOnNewDocument is per page, so this
  // asks WebDriver BiDi for a preload script on the whole user context.
  //
  // One Firefox difference needs handling: a popup from window.open starts
  // on about:blank, and the same-origin document that replaces it keeps that
  // Window, so Firefox runs no preload script for it. Worse, touching
  // sessionStorage on that about:blank stops Firefox from copying the
  // opener's sessionStorage into the popup. So on about:blank fn is not run
  // but deferred to the next document of the same Window, when it turns
  // interactive: before its deferred and module scripts (this page has only
  // a module script), though after any inline classic script.
  async addInitScript(fn) {
    const userContext = this.pptr.userContext;
    if (!userContext?.browser?.session) unsupported('addInitScript on this puppeteer-core version');
    this.initScripts = (this.initScripts ?? 0) + 1;
    const key = JSON.stringify(`rtdemoInitScript${this.initScripts}`);
    const functionDeclaration = `() => {
      const fn = (${fn.toString()});
      const done = window[${key}] || (window[${key}] = new WeakSet());
      const runOnce = () => {
        if (done.has(document)) return;
        done.add(document);
        fn();
      };
      if (document.URL !== 'about:blank') {
        runOnce();
        return;
      }
      const onState = () => {
        if (document.URL === 'about:blank') return;
        window.removeEventListener('readystatechange', onState, true);
        runOnce();
      };
      window.addEventListener('readystatechange', onState, true);
    }`;
    await userContext.browser.session.send('script.addPreloadScript', {
      functionDeclaration,
      userContexts: [userContext.id],
    });
  }

  // As in Playwright, a popup is handed over once it has navigated to the
  // URL it was opened with (not while it is still the initial about:blank),
  // and here also once its document is interactive, so that the deferred
  // init scripts above have run.
  async waitForEvent(event, options = {}) {
    if (event !== 'page') unsupported(`context.waitForEvent('${event}')`);
    const timeout = options.timeout ?? TIMEOUT;
    const known = new Set(this.pptr.targets());
    const target = await this.pptr.waitForTarget(
      (t) => t.type() === 'page' && !known.has(t) && t.url() !== 'about:blank',
      { timeout },
    );
    const page = this.wrap(await target.page());
    await page.pptr.waitForFunction(() => document.readyState !== 'loading', { timeout, polling: 50 });
    return page;
  }

  async close() {
    await this.pptr.close();
  }
}

// Playwright's key names where puppeteer's differ, and "Mod+Key" chords.
async function pressKeys(keyboard, combo) {
  const keys = combo.split('+').map((k) => ({ ControlOrMeta: 'Control', Space: ' ' })[k] ?? k);
  const key = keys.pop();
  for (const m of keys) await keyboard.down(m);
  await keyboard.press(key);
  for (const m of keys.reverse()) await keyboard.up(m);
}

class FxPage {
  constructor(page, context) {
    this.pptr = page;
    this.context = context;
    this.keyboard = {
      press: (combo) => pressKeys(page.keyboard, combo),
      type: (text) => page.keyboard.type(text),
    };
  }

  on(event, fn) {
    if (event === 'pageerror') {
      this.pptr.on('pageerror', fn);
    } else if (event === 'dialog') {
      this.pptr.on('dialog', fn); // message() and dismiss() as in Playwright
    } else {
      unsupported(`page.on('${event}')`);
    }
  }

  async goto(url) {
    return this.pptr.goto(url, { waitUntil: 'load' });
  }

  // Playwright's waitForSelector waits for a visible element by default.
  async waitForSelector(selector, options = {}) {
    return this.pptr.waitForSelector(selector, { visible: true, timeout: options.timeout ?? TIMEOUT });
  }

  // Playwright: (fn, arg, {timeout, polling}); puppeteer: (fn, {timeout, polling}, ...args).
  // Polling defaults to 100 ms rather than animation frames.
  async waitForFunction(fn, arg, options = {}) {
    return this.pptr.waitForFunction(
      fn,
      { timeout: options.timeout ?? TIMEOUT, polling: options.polling ?? 100 },
      arg,
    );
  }

  async evaluate(fn, arg) {
    return this.pptr.evaluate(fn, arg);
  }

  locator(selector) {
    const page = this.pptr;
    return {
      click: () => page.locator(selector).click(),
    };
  }

  async click(selector) {
    await this.pptr.locator(selector).click();
  }

  // Sets the value and fires input/change, as Playwright's fill does; short
  // strings would otherwise be typed key by key.
  async fill(selector, value) {
    await this.pptr.locator(selector).fill(value, { typingThreshold: 0 });
  }

  async focus(selector) {
    await this.pptr.waitForSelector(selector, { timeout: TIMEOUT });
    await this.pptr.focus(selector);
  }

  async textContent(selector) {
    const el = await this.pptr.waitForSelector(selector, { timeout: TIMEOUT });
    try {
      return await el.evaluate((e) => e.textContent);
    } finally {
      await el.dispose();
    }
  }

  async bringToFront() {
    await this.pptr.bringToFront();
  }

  async screenshot(options = {}) {
    return this.pptr.screenshot({ path: options.path, fullPage: options.fullPage ?? false });
  }

  async close() {
    await this.pptr.close();
  }
}
