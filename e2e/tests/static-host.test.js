// The app from a plain static web server, the relay on another origin, as docs/deploy.md ("Static
// files elsewhere") tells a town to set it up: Debian's nginx serves a copy of dist/ over HTTPS
// with the headers the guide gives (its Content-Security-Policy included) and no rewrite rules or
// proxy; config.json names the relay, which runs with its own certificate and
// --allowed-origins naming the static host. Both certificates come from a CA made here, which
// the browsers trust. A Chromium and a Firefox meet there in a mesh room and in a room the relay
// forwards; a copy of the same page on a third origin is refused by the relay.
import assert from 'node:assert/strict';
import { cpSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import https from 'node:https';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';

import { chromiumTab, firefoxTab, waitFor } from '../lib/browsers.js';
import { reportCpu } from '../lib/cpu.js';
import { allTogether, mode, phase, videoPlays } from '../lib/meeting.js';
import { Nginx } from '../lib/nginx.js';
import { DIST, Relay } from '../lib/relay.js';
import { TestCa } from '../lib/testca.js';

// Three hosts of the suite's own network namespace: the town's web server, its relay, and
// someone else's web site with a copy of the app.
const STATIC_IP = '127.0.0.2';
const RELAY_IP = '127.0.0.3';
const FOREIGN_IP = '127.0.0.4';
const STATIC = `https://${STATIC_IP}`;
const FOREIGN = `https://${FOREIGN_IP}`;
const RELAY_WS = `wss://${RELAY_IP}/ws`;

const DEPLOY = new URL('../../docs/deploy.md', import.meta.url).pathname;

/** The nginx lines docs/deploy.md gives under "Static files elsewhere", for this relay: its
 * address in connect-src and the loader hashes from the relay's own Content-Security-Policy in
 * place of `'sha256-…'`. `brotli_static` is left out: it needs a module Debian's nginx lacks,
 * as the guide says. */
function documentedDirectives(relayPolicy) {
  const text = readFileSync(DEPLOY, 'utf8');
  const section = text.slice(text.indexOf('## Static files elsewhere'));
  const blocks = [...section.slice(0, section.indexOf('\n## ')).matchAll(/```nginx\n([\s\S]*?)```/g)].map((m) => m[1]);
  assert.ok(blocks.length >= 2, 'deploy.md has the nginx header and compression blocks');
  const hashes = relayPolicy.match(/'sha256-[^']+'/g);
  assert.ok(hashes, `the relay's policy names the loader's hash: ${relayPolicy}`);
  return blocks.join('').split('\n')
    .map((line) => line.replace(/#.*$/, '').trim())
    .filter((line) => line && !line.startsWith('brotli_static'))
    .map((line) => line.replace("'sha256-…'", hashes.join(' ')).replace('wss://meet.example.org', RELAY_WS));
}

/** GET `url` trusting only `ca`; resolves `{ status, headers, body }`. */
function get(url, ca, headers = {}) {
  return new Promise((resolve, reject) => {
    https.get(url, { ca: readFileSync(ca), headers }, (res) => {
      let body = '';
      res.on('data', (c) => { body += c; });
      res.on('end', () => resolve({ status: res.statusCode, headers: res.headers, body }));
    }).on('error', reject);
  });
}

/** The HTTP status the relay answers a WebSocket upgrade from a page of `origin` with. */
function upgradeStatus(origin, ca) {
  return new Promise((resolve, reject) => {
    const req = https.request(`https://${RELAY_IP}/ws`, {
      ca: readFileSync(ca),
      headers: {
        Origin: origin, Connection: 'Upgrade', Upgrade: 'websocket',
        'Sec-WebSocket-Version': '13', 'Sec-WebSocket-Key': 'dGhlIHNhbXBsZSBub25jZQ==',
      },
    });
    req.on('upgrade', (res, socket) => { socket.destroy(); resolve(res.statusCode); });
    req.on('response', (res) => { res.resume(); resolve(res.statusCode); });
    req.on('error', reject);
    req.end();
  });
}

describe('the app on a static host, the relay on another origin', { timeout: 240_000 }, () => {
  reportCpu();
  let ca;
  let relay;
  let nginx;
  let site;
  const tabs = [];
  const link = (origin, room, name) => `${origin}/?${new URLSearchParams({ room, name })}`;

  before(async () => {
    ca = new TestCa();
    const relayCert = ca.issue('relay', [RELAY_IP]);
    const siteCert = ca.issue('site', [STATIC_IP, FOREIGN_IP]);
    relay = await Relay.start({
      listen: `${RELAY_IP}:443`,
      args: ['--https', '--tls-cert', relayCert.cert, '--tls-key', relayCert.key,
        '--allowed-origins', STATIC, '--sfu-rooms', 'rat-*'],
    });
    const policy = (await get(`${relay.origin}/`, ca.ca)).headers['content-security-policy'] ?? '';
    site = mkdtempSync(path.join(tmpdir(), 'tp-site-'));
    cpSync(DIST, site, { recursive: true });
    writeFileSync(path.join(site, 'config.json'), JSON.stringify({ relay: RELAY_WS }));
    const directives = documentedDirectives(policy);
    nginx = await Nginx.start([
      { listen: `${STATIC_IP}:443`, root: site, ...siteCert, directives },
      { listen: `${FOREIGN_IP}:443`, root: site, ...siteCert, directives },
    ]);
  });

  after(async () => {
    for (const tab of tabs) await tab.close().catch(() => {});
    await nginx?.stop();
    await relay?.stop();
    if (site) rmSync(site, { recursive: true, force: true });
    ca?.remove();
  });

  it('serves the app with the documented headers and compressed files', async () => {
    const page = await get(`${STATIC}/`, ca.ca);
    assert.equal(page.status, 200);
    assert.match(page.headers['content-security-policy'], /connect-src 'self' wss:\/\/127\.0\.0\.3\/ws/);
    assert.equal(page.headers['x-content-type-options'], 'nosniff');
    // (The release build's minified index.html may leave the attribute unquoted.)
    const wasm = page.body.match(/href="?\.?\/?([^"\s>]+_bg\.wasm)/)?.[1];
    assert.ok(wasm, 'index.html names the app\'s wasm');
    const packed = await get(`${STATIC}/${wasm}`, ca.ca, { 'Accept-Encoding': 'gzip' });
    assert.equal(packed.headers['content-encoding'], 'gzip', 'nginx sends the precompressed copy');
    assert.equal(await get(`${STATIC}/.git/config`, ca.ca).then((r) => r.status), 404);
  });

  for (const [room, expected] of [['treff-statisch', 'mesh'], ['rat-statisch', 'sfu']]) {
    it(`lets a Chromium and a Firefox meet there (${expected})`, async () => {
      const anna = await chromiumTab({ trust: ca.ca });
      const bruno = await firefoxTab({ trust: ca.ca });
      tabs.push(anna, bruno);
      await anna.enter(link(STATIC, room, 'Anna'));
      await waitFor('Anna in the room', async () => (await phase(anna)) === 'joined', { timeout: 30_000 });
      await bruno.enter(link(STATIC, room, 'Bruno'));
      await waitFor('both together', () => allTogether([anna, bruno]), { timeout: 30_000 });
      for (const tab of [anna, bruno]) assert.equal(await mode(tab), expected);
      await waitFor('Anna sees Bruno', () => videoPlays(anna, 'Bruno'), { timeout: 45_000 });
      await waitFor('Bruno sees Anna', () => videoPlays(bruno, 'Anna'), { timeout: 45_000 });
      for (const tab of [anna, bruno]) {
        assert.deepEqual(await tab.evaluate(() => window.__policyViolations), [],
          `the documented policy blocks nothing at ${tab.kind}`);
      }
      await anna.click('[data-testid="leave"]');
      await bruno.click('[data-testid="leave"]');
    });
  }

  it('refuses the same page from a web site it was not told about', async () => {
    assert.equal(await upgradeStatus(STATIC, ca.ca), 101, 'the static host may connect');
    assert.equal(await upgradeStatus(FOREIGN, ca.ca), 403, 'another site may not');
    const cleo = await chromiumTab({ trust: ca.ca });
    tabs.push(cleo);
    await cleo.enter(link(FOREIGN, 'treff-statisch', 'Cleo'));
    await waitFor('Cleo told the meeting server cannot be reached', () => cleo.evaluate(() =>
      document.querySelector('[data-testid="error"]')?.dataset.error === 'error-relay-unreachable'), { timeout: 30_000 });
    assert.notEqual(await phase(cleo), 'joined');
    assert.match(relay.log, /refused a WebSocket from a page of another origin.*127\.0\.0\.4/);
  });
});
