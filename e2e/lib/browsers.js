// Real Chromium (driven by playwright-core) and real Firefox (driven by puppeteer-core over
// WebDriver BiDi), both with fake camera and microphone, behind one small page interface.
import { execFileSync } from 'node:child_process';
import { chmodSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, afterEach } from 'node:test';
import { chromium } from 'playwright-core';
import puppeteer from 'puppeteer-core';
import { virtualDisplay } from './display.js';

const CHROMIUM = process.env.CHROMIUM_BIN ?? '/usr/bin/chromium';
const FIREFOX = process.env.FIREFOX_BIN ?? '/usr/bin/firefox-esr';

// Records every RTCPeerConnection the app creates, so tests can read inbound-rtp stats the way
// chrome://webrtc-internals would. The app itself is not changed for testing.
function trackPeerConnections() {
  const Original = window.RTCPeerConnection;
  window.__pcs = [];
  window.RTCPeerConnection = class extends Original {
    constructor(...args) {
      super(...args);
      window.__pcs.push(this);
    }
  };
}

// Caps the fake camera at 15 frames per second (the app asks for 640x360 and no frame rate, so
// the fake devices deliver 20-30). Up to six browsers share two cores in these tests, each
// encoding its camera (twice, in simulcast) and decoding everyone else's; half the frames
// halve that work without changing a single code path of the app.
function lightCamera() {
  const devices = navigator.mediaDevices;
  if (!devices?.getUserMedia) return;
  const original = devices.getUserMedia.bind(devices);
  devices.getUserMedia = (constraints = {}) => {
    if (constraints.video) {
      const video = constraints.video === true ? {} : { ...constraints.video };
      video.frameRate = { max: 15 };
      constraints = { ...constraints, video };
    }
    return original(constraints);
  };
}

// Records what the page's Content-Security-Policy blocked (the relay sends a strict one), so a
// test can check that the app itself never trips over it.
function recordPolicyViolations() {
  window.__policyViolations = [];
  document.addEventListener('securitypolicyviolation', (e) => {
    window.__policyViolations.push(`${e.effectiveDirective}: ${e.blockedURI || 'inline'} (${e.sourceFile}:${e.lineNumber})`);
  });
}

// Stands for "this browser has been in the room before". The app lets an `autojoin=1` link skip
// the pre-join screen only then (client/src/params.rs, `skips_prejoin`), so that a stranger's
// link cannot put anyone live. Tabs are first visits by default, as every citizen's is, and
// come in through the pre-join screen (`Tab.enter`); a tab made with `joinedBefore: true` is a
// returning visitor, for the suites that test that case.
function joinedLinkedRoomBefore() {
  const params = new URLSearchParams(location.search);
  const room = params.get('room')?.trim();
  if (!room || params.get('autojoin') !== '1') return;
  const key = 'treffpunkt.joined-rooms';
  let rooms = [];
  try { rooms = JSON.parse(localStorage.getItem(key) ?? '[]'); } catch { rooms = []; }
  if (!Array.isArray(rooms)) rooms = [];
  if (!rooms.includes(room)) localStorage.setItem(key, JSON.stringify([room, ...rooms]));
}

// Page errors: what any page a test opened threw and nobody caught, promises it rejected with no
// one to handle them, and WebAssembly panics (the app's panic hook writes "panicked at ..." to
// `console.error`, then the WebAssembly traps). Each one fails the test during which it happened,
// or, when it comes after the last test, the file: a test that passes while a page throws proves
// nothing. Both engines report them, Chromium through the DevTools protocol, Firefox through
// WebDriver BiDi's `log.entryAdded` events (tests/page-errors.test.js provokes each kind).
const pageErrors = [];
// Known, harmless messages of the browsers themselves, by exact text, each with its reason.
// Nothing from the app belongs here.
const HARMLESS = new Map([]);

function pageError(tab, what) {
  if (HARMLESS.has(what)) return;
  const entry = { tab, what };
  tab.errors.push(entry);
  pageErrors.push(entry);
}

function failOnPageErrors(when) {
  if (pageErrors.length === 0) return;
  const found = pageErrors.splice(0).map((e) => `${e.tab.kind} ${e.tab.where()}: ${e.what}`);
  throw new Error(`${found.length} page error(s) ${when}:\n  ${found.join('\n  ')}`);
}

// Registered on the test file that imports this module, so they run after each of its tests,
// in every suite, and once after all of them.
afterEach(() => failOnPageErrors('during this test'));
after(() => failOnPageErrors('after the last test'));

/** One browser tab, whichever engine runs it. */
class Tab {
  constructor(kind, page, close) {
    this.kind = kind;
    this.page = page;
    this._close = close;
    this.console = [];
    /** The page errors this tab saw (see `pageErrors`). */
    this.errors = [];
    const onError = (e) => pageError(this, e?.stack || e?.message || String(e));
    page.on('pageerror', onError);
    page.on('console', (m) => {
      const text = m.text();
      this.console.push(`${m.type()}: ${text}`);
      if (m.type() === 'error' && text.includes('panicked at')) pageError(this, `WebAssembly panic: ${text}`);
    });
  }
  /** Where the tab is, for messages. */
  where() {
    try { return this.page.url(); } catch { return '(closed)'; }
  }
  /** Takes the page errors this tab has seen so far out of the check that fails the test, for a
   * test that provokes them on purpose; returns them. */
  expectErrors() {
    const mine = this.errors.splice(0);
    for (const e of mine) pageErrors.splice(pageErrors.indexOf(e), 1);
    return mine.map((e) => e.what);
  }
  goto(url) { return this.page.goto(url); }
  /**
   * Comes into a meeting the way a person does: opens the link, and on the pre-join screen
   * presses Join as soon as it is there (the name comes from the link's `name`, or from this
   * browser's memory). Returns once the meeting shows; what it shows is the test's business.
   */
  async enter(url) {
    await this.page.goto(url);
    const screen = await waitFor('the pre-join screen or the meeting', () => this.page.evaluate(() => {
      if (document.querySelector('main.meeting')) return 'meeting';
      return document.querySelector('[data-testid="join"]') ? 'prejoin' : null;
    }), { interval: 50 });
    if (screen === 'prejoin') await this.page.click('[data-testid="join"]');
    await waitFor('the meeting', () => this.page.evaluate(() => document.querySelector('main.meeting') !== null), { interval: 50 });
  }
  /** Runs `fn` in every document this tab opens from now on, before the app's scripts. */
  addInitScript(fn) {
    return this.kind === 'chromium' ? this.page.addInitScript(fn) : this.page.evaluateOnNewDocument(fn);
  }
  /** Runs `fn(arg)` in the page. */
  evaluate(fn, arg) { return this.page.evaluate(fn, arg); }
  click(selector) { return this.page.click(selector); }
  /** Answers every `confirm()` of the page with OK, as a person who means it would. */
  acceptDialogs() { this.page.on('dialog', (dialog) => dialog.accept()); }
  /** Sets the viewport size. */
  setViewport(width, height) {
    return this.kind === 'chromium'
      ? this.page.setViewportSize({ width, height })
      : this.page.setViewport({ width, height });
  }
  async type(selector, text) {
    if (this.kind === 'chromium') {
      await this.page.fill(selector, text);
    } else {
      await this.page.click(selector, { count: 3 });
      await this.page.type(selector, text);
    }
  }
  press(key) { return this.page.keyboard.press(key); }
  screenshot(path) { return this.page.screenshot({ path }); }
  close() { return this._close(); }
}

function chromiumArgs({ deny }) {
  return [
    '--use-fake-device-for-media-stream',
    deny ? '--deny-permission-prompts' : '--use-fake-ui-for-media-stream',
    '--allow-loopback-in-peer-connection',
    '--autoplay-policy=no-user-gesture-required',
    '--disable-features=WebRtcHideLocalIpsWithMdns',
    '--no-sandbox',
    '--disable-gpu',
    '--disable-quic',
    '--disable-background-networking',
    '--disable-component-update',
    '--disable-sync',
    '--no-first-run',
  ];
}

/** An NSS certificate database in `dir` (created) that trusts the certificate authority in
 * `caPem` for TLS servers, as a town's computers trust the town's CA. Both browsers read such a
 * database: Chromium from `$HOME/.pki/nssdb`, Firefox from its profile. Needs `certutil`. */
function trustingNssDb(dir, caPem) {
  mkdirSync(dir, { recursive: true });
  execFileSync('certutil', ['-d', `sql:${dir}`, '-N', '--empty-password'], { stdio: 'ignore' });
  execFileSync('certutil', ['-d', `sql:${dir}`, '-A', '-t', 'C,,', '-n', 'Treffpunkt lab CA', '-i', caPem], { stdio: 'ignore' });
}

// Chromium participants of one suite share one browser process, each in a context of its own
// (its own storage, permissions and renderer, like a separate person's profile): six browser
// processes on two cores starve each other, and a browser's fixed cost (browser, GPU, network and
// audio processes) is paid once instead of once per person. Suites run one after another, each in
// a process of its own, so no state crosses suites.
const sharedChromium = new Map(); // launch flags -> { browser, tabs }

async function chromiumBrowser({ deny, trust }) {
  const key = JSON.stringify({ deny, trust });
  if (sharedChromium.has(key)) {
    const shared = sharedChromium.get(key);
    shared.tabs += 1;
    return { browser: await shared.browser, release: () => release(key) };
  }
  // With `trust`, the browser's home holds an NSS database that trusts that authority.
  let env;
  let dir;
  if (trust) {
    dir = mkdtempSync(path.join(tmpdir(), 'tp-chromium-'));
    trustingNssDb(path.join(dir, '.pki', 'nssdb'), trust);
    env = { ...process.env, HOME: dir };
  }
  const launching = chromium.launch({ executablePath: CHROMIUM, headless: true, args: chromiumArgs({ deny }), env });
  sharedChromium.set(key, { browser: launching, tabs: 1, dir });
  return { browser: await launching, release: () => release(key) };
}

async function release(key) {
  const shared = sharedChromium.get(key);
  shared.tabs -= 1;
  if (shared.tabs > 0) return;
  sharedChromium.delete(key);
  await (await shared.browser).close();
  if (shared.dir) rmSync(shared.dir, { recursive: true, force: true });
}

// A Chromium of its own inside network namespace `netns` (a computer of the NAT lab), where the
// page's plain-http origin on the lab's public address counts as secure (getUserMedia needs a
// secure context; the lab serves the app without TLS). With `trust`, the computer trusts that
// certificate authority (the relay's TURN over TLS has a certificate from it).
async function chromiumInNamespace(netns, secureOrigin, trust) {
  const dir = mkdtempSync(path.join(tmpdir(), 'tp-chromium-'));
  const wrapper = path.join(dir, 'chromium');
  if (trust) trustingNssDb(path.join(dir, 'home', '.pki', 'nssdb'), trust);
  const home = trust ? `HOME=${path.join(dir, 'home')} ` : '';
  writeFileSync(wrapper, `#!/bin/sh\n${home}exec ip netns exec ${netns} ${CHROMIUM} "$@"\n`);
  chmodSync(wrapper, 0o755);
  const args = [...chromiumArgs({ deny: false }), `--unsafely-treat-insecure-origin-as-secure=${secureOrigin}`];
  const browser = await chromium.launch({ executablePath: wrapper, headless: true, args });
  return {
    browser,
    release: async () => {
      await browser.close();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

/** A new Chromium tab in a context of its own (a separate person), in the suite's shared browser,
 * or with `netns` in a browser of its own inside that network namespace. With `trust`, the
 * browser trusts that certificate authority (a PEM file). */
export async function chromiumTab({ deny = false, locale = 'en-US', viewport, clipboard = false, netns, secureOrigin, trust, joinedBefore = false } = {}) {
  const { browser, release: releaseBrowser } = netns
    ? await chromiumInNamespace(netns, secureOrigin, trust)
    : await chromiumBrowser({ deny, trust });
  const context = await browser.newContext({ locale, viewport: viewport ?? { width: 1280, height: 720 } });
  if (clipboard) await context.grantPermissions(['clipboard-read', 'clipboard-write']);
  await context.addInitScript(trackPeerConnections);
  await context.addInitScript(lightCamera);
  await context.addInitScript(recordPolicyViolations);
  if (joinedBefore) await context.addInitScript(joinedLinkedRoomBefore);
  const page = await context.newPage();
  let closed = false;
  const tab = new Tab('chromium', page, async () => {
    if (closed) return;
    closed = true;
    await context.close().catch(() => {});
    await releaseBrowser();
  });
  return tab;
}

/** A new Firefox tab, in its own browser process; with `netns`, inside that network namespace
 * (a computer of the NAT lab), where plain-http pages may use camera and microphone; with
 * `trust`, its profile trusts that certificate authority; with `display`, a window on a virtual
 * screen (lib/display.js) that it can share, where headless Firefox has no screen to share. */
export async function firefoxTab({ deny = false, locale = 'en-US', netns, trust, joinedBefore = false, display = false } = {}) {
  const network = netns
    ? {
      // The lab's computers reach the relay over their own interface; pages there are plain http.
      'media.devices.insecure.enabled': true,
      'media.getusermedia.insecure.enabled': true,
    }
    : {
      'media.peerconnection.ice.loopback': true,
      // Keep WebRTC on loopback (tests may only send to this machine's loopback addresses).
      'media.peerconnection.ice.force_interface': 'lo',
    };
  let executablePath = FIREFOX;
  let dir;
  let userDataDir;
  if (netns || trust) dir = mkdtempSync(path.join(tmpdir(), 'tp-firefox-'));
  if (trust) {
    userDataDir = path.join(dir, 'profile');
    trustingNssDb(userDataDir, trust);
  }
  if (netns) {
    executablePath = path.join(dir, 'firefox');
    const bridge = new URL('./netns-firefox.js', import.meta.url).pathname;
    writeFileSync(executablePath, `#!/bin/sh\nexec ${process.execPath} ${bridge} ${netns} ${FIREFOX} "$@"\n`);
    chmodSync(executablePath, 0o755);
  }
  const browser = await puppeteer.launch({
    browser: 'firefox',
    executablePath,
    headless: !display,
    ...(display ? { env: { ...process.env, DISPLAY: await virtualDisplay() } } : {}),
    userDataDir,
    extraPrefsFirefox: {
      'media.navigator.streams.fake': true,
      'media.navigator.permission.disabled': !deny,
      'permissions.default.camera': deny ? 2 : 0,
      'permissions.default.microphone': deny ? 2 : 0,
      ...network,
      'media.peerconnection.ice.obfuscate_host_addresses': false,
      'media.autoplay.default': 0,
      'media.autoplay.blocking_policy': 0,
      'intl.accept_languages': locale,
      'network.captive-portal-service.enabled': false,
      'app.update.enabled': false,
      'browser.safebrowsing.malware.enabled': false,
      'browser.safebrowsing.phishing.enabled': false,
    },
  });
  const page = await browser.newPage();
  await page.setViewport({ width: 1280, height: 720 });
  await page.evaluateOnNewDocument(trackPeerConnections);
  await page.evaluateOnNewDocument(lightCamera);
  await page.evaluateOnNewDocument(recordPolicyViolations);
  if (joinedBefore) await page.evaluateOnNewDocument(joinedLinkedRoomBefore);
  const tab = new Tab('firefox', page, async () => {
    await browser.close();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });
  return tab;
}

/** Polls `probe` until it returns a truthy value; fails with `what` after `timeout` ms. */
export async function waitFor(what, probe, { timeout = 20_000, interval = 200 } = {}) {
  const deadline = Date.now() + timeout;
  let last;
  while (Date.now() < deadline) {
    try {
      last = await probe();
      if (last) return last;
    } catch (e) {
      last = e;
    }
    await new Promise((r) => setTimeout(r, interval));
  }
  throw new Error(`timed out after ${timeout} ms waiting for ${what}; last: ${JSON.stringify(last?.message ?? last)}`);
}

/** Prints what a tab's console said about its relay connection (a dropped or replaced
 * signalling connection explains a picture that was rebuilt mid-test). */
export function reportRelayConnection(name, tab) {
  for (const line of tab.console) {
    if (/relay (stopped answering|connection closed|did not answer)/.test(line)) console.log(`${name}: ${line}`);
  }
}
