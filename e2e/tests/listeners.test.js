// A council meeting with a listener: links made by `relay invite`. The listener's link opens the
// meeting without ever asking for camera or microphone; she sees and hears the council, and only
// the chair sees her in the participant list (the others see how many listen).
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { after, before, describe, it } from 'node:test';

import { seriousViolations } from '../lib/a11y.js';
import { chromiumTab, firefoxTab, waitFor } from '../lib/browsers.js';
import { reportCpu } from '../lib/cpu.js';
import { remoteNames, shownText, videoPlays } from '../lib/meeting.js';
import { Relay, RELAY_BIN } from '../lib/relay.js';

const SECRET = 'the council secret for this test, 32+';
const ROOM = 'gemeinderat';

/** The `link=` token of a link `relay invite` prints for `role`. */
function invite(role) {
  const printed = execFileSync(RELAY_BIN, ['invite', '--link-secret', SECRET, '--room', ROOM, '--role', role,
    '--valid', '1h', '--base-url', 'http://localhost/'], { encoding: 'utf8' });
  const url = new URL(printed.trim().split(/\s+/).find((w) => w.startsWith('http')));
  return url.searchParams.get('link');
}

/** Who `tab`'s participant list shows, and who as listening. */
function listed(tab) {
  return tab.evaluate(() => [...document.querySelectorAll('[data-testid="person"]')]
    .map((p) => `${p.dataset.name}${p.dataset.listener === 'true' ? ' (listening)' : ''}`).sort());
}

describe('a council with a listener', { timeout: 240_000 }, () => {
  reportCpu();
  let relay;
  const tabs = {};
  const url = (name, role, extra = {}) => relay.url(ROOM, { name, link: invite(role), ...extra });

  before(async () => {
    relay = await Relay.start({ args: ['--link-secret', SECRET] });
    tabs.Anna = await chromiumTab();
    await tabs.Anna.enter(url('Anna', 'host', { cam: '1' }));
    tabs.Bruno = await firefoxTab();
    await tabs.Bruno.enter(url('Bruno', 'participant'));
    await waitFor('Anna and Bruno together', async () => (await remoteNames(tabs.Anna)).includes('Bruno')
      && (await remoteNames(tabs.Bruno)).includes('Anna'), { timeout: 30_000 });
  });

  after(async () => {
    for (const tab of Object.values(tabs)) await tab?.close().catch(() => {});
    await relay?.stop();
  });

  it('joins a listener without asking for camera or microphone', async () => {
    // Camera and microphone are denied in Lea's browser, and every request for them is counted:
    // a listener's page must not make one.
    tabs.Lea = await chromiumTab({ deny: true });
    await tabs.Lea.addInitScript(() => {
      window.__mediaRequests = 0;
      const original = navigator.mediaDevices.getUserMedia.bind(navigator.mediaDevices);
      navigator.mediaDevices.getUserMedia = (c) => { window.__mediaRequests += 1; return original(c); };
    });
    // Without autojoin: the pre-join screen says what a listener link means.
    await tabs.Lea.goto(relay.url(ROOM, { name: 'Lea', link: invite('listener') }));
    await waitFor('the listener hint', async () => tabs.Lea.evaluate(() => !!document.querySelector('[data-testid="listener-hint"]')));
    assert.deepEqual(await seriousViolations(tabs.Lea), [], 'axe on the listener pre-join screen');
    await tabs.Lea.click('[data-testid="join"]');
    await waitFor('Lea sees and hears the council', async () => (await videoPlays(tabs.Lea, 'Anna')), { timeout: 45_000 });
    assert.deepEqual((await remoteNames(tabs.Lea)).sort(), ['Anna', 'Bruno']);
    assert.equal(await tabs.Lea.evaluate(() => window.__mediaRequests), 0, 'no camera or microphone request');
    assert.equal(await tabs.Lea.evaluate(() => !!document.querySelector('[data-testid="toggle-mic"]')), false,
      'no microphone button');
    assert.equal(await tabs.Lea.evaluate(() => !!document.querySelector('[data-testid="error"]')), false, 'no error shown');
  });

  it('shows the listener to the chair only, and the count to everyone', async () => {
    await tabs.Anna.click('[data-testid="toggle-people"]');
    await tabs.Bruno.click('[data-testid="toggle-people"]');
    await waitFor('the chair sees Lea listening', async () => (await listed(tabs.Anna)).includes('Lea (listening)'));
    assert.equal((await remoteNames(tabs.Anna)).includes('Lea'), false, 'no tile for a listener');
    await waitFor('Bruno sees the count', async () => (await shownText(tabs.Bruno, '[data-testid="listeners"]')) === '1 listening');
    assert.equal((await listed(tabs.Bruno)).some((p) => p.startsWith('Lea')), false, 'Bruno does not see who');
  });

  it('lets a co-host take hosting from nobody who holds the host link', async () => {
    const button = (name, action) => `[data-testid="person"][data-name="${name}"] [data-testid="host-${action}"]`;
    const has = (tab, selector) => tab.evaluate((s) => !!document.querySelector(s), selector);
    await tabs.Anna.click(button('Bruno', 'make-host'));
    await waitFor("Bruno has a host's controls", () => has(tabs.Bruno, button('Lea', 'remove')));
    // The chair can take Bruno's hosting back; Bruno is offered no such thing for the chair,
    // whose hosting comes from the room's host link (the relay would refuse it).
    await waitFor('Anna can take it back', () => has(tabs.Anna, button('Bruno', 'revoke-host')));
    assert.equal(await has(tabs.Bruno, button('Anna', 'revoke-host')), false, 'no "take back hosting" for the chair');
    // Nor can Bruno put the chair out; other host controls for the chair stay.
    assert.equal(await has(tabs.Bruno, button('Anna', 'remove')), false, 'no "remove" for the chair');
    assert.equal(await has(tabs.Bruno, button('Anna', 'lock-mic')), true, 'keeping the chair muted stays');
    assert.equal(await has(tabs.Anna, button('Bruno', 'remove')), true, 'the chair can remove Bruno');
  });
});
