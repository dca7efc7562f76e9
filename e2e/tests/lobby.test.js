// The waiting room: a teacher turns the lobby on, three pupils knock. Each waits with their own
// camera and nothing of the room (no tiles, no connections); the teacher lets one in, turns one
// away and lets the rest in at once. The teacher uses a phone; one pupil a phone-sized German page.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';

import { seriousViolations } from '../lib/a11y.js';
import { chromiumTab, firefoxTab, waitFor } from '../lib/browsers.js';
import { reportCpu } from '../lib/cpu.js';
import { errorText, phase, remoteNames } from '../lib/meeting.js';
import { Relay } from '../lib/relay.js';

const ARTIFACTS = new URL('../artifacts/', import.meta.url).pathname;

/** What a page shows while waiting: the waiting screen, its own video, and whatever of the room
 * reached it (tiles of others, peer connections). */
function waitingView(tab) {
  return tab.evaluate(() => ({
    waiting: !!document.querySelector('[data-testid="waiting"]'),
    heading: document.querySelector('#waiting-heading')?.textContent ?? '',
    ownVideo: (document.querySelector('[data-testid="waiting"] video')?.videoWidth ?? 0) > 0,
    others: document.querySelectorAll('[data-participant]:not([data-self])').length,
    connections: (window.__pcs ?? []).filter((pc) => pc.connectionState !== 'closed').length,
  }));
}

/** The names the host sees waiting, in order. */
function waiters(tab) {
  return tab.evaluate(() => [...document.querySelectorAll('[data-testid="waiter"]')].map((w) => w.dataset.name));
}

describe('the waiting room: a teacher lets pupils in, or not', { timeout: 240_000 }, () => {
  reportCpu();
  let relay;
  const tabs = {};
  const url = (name) => relay.url('klasse-lobby', { name, cam: name === 'Anna' ? '0' : '1' });

  before(async () => {
    relay = await Relay.start();
    // The teacher runs the lobby from a phone.
    tabs.Anna = await chromiumTab({ viewport: { width: 390, height: 844 } });
    await tabs.Anna.enter(url('Anna'));
    await waitFor('Anna in the room', async () => (await phase(tabs.Anna)) === 'joined');
    await tabs.Anna.click('[data-testid="toggle-people"]');
    await tabs.Anna.click('[data-testid="host-lobby"]');
    await waitFor('the lobby on', async () => (await tabs.Anna.evaluate(() =>
      document.querySelector('[data-testid="host-lobby"]')?.getAttribute('aria-pressed'))) === 'true');
  });

  after(async () => {
    await tabs.Anna?.screenshot(`${ARTIFACTS}lobby-anna.png`).catch(() => {});
    await tabs.Cleo?.screenshot(`${ARTIFACTS}lobby-cleo.png`).catch(() => {});
    for (const tab of Object.values(tabs)) await tab?.close().catch(() => {});
    await relay?.stop();
  });

  it('keeps newcomers waiting with their camera and nothing of the room', async () => {
    tabs.Bruno = await firefoxTab();
    tabs.Cleo = await chromiumTab({ locale: 'de-DE', viewport: { width: 390, height: 844 } });
    tabs.Dana = await firefoxTab();
    for (const name of ['Bruno', 'Cleo', 'Dana']) {
      await tabs[name].enter(url(name));
      await waitFor(`${name} waits, seeing their own camera`, async () => {
        const v = await waitingView(tabs[name]);
        return v.waiting && v.ownVideo;
      }, { timeout: 30_000 });
    }
    // The host hears of each knock, in order.
    await waitFor('Anna sees all three waiting', async () =>
      (await waiters(tabs.Anna)).join() === 'Bruno,Cleo,Dana');
    assert.match(await tabs.Anna.evaluate(() => document.querySelector('[data-testid="lobby-notice"]')?.textContent ?? ''),
      /Bruno, Cleo, Dana/);
    for (const name of ['Bruno', 'Cleo', 'Dana']) {
      const v = await waitingView(tabs[name]);
      assert.equal(v.others, 0, `${name} sees nobody`);
      assert.equal(v.connections, 0, `${name} has no media connection`);
    }
    assert.match((await waitingView(tabs.Bruno)).heading, /Waiting for the host to let you in/);
    assert.match((await waitingView(tabs.Cleo)).heading, /Moderation/, 'German on the German page');
    assert.equal(await tabs.Cleo.evaluate(() => document.documentElement.scrollWidth <= 390), true,
      'the waiting screen fits a phone');
    assert.deepEqual(await seriousViolations(tabs.Cleo), [], 'axe on the waiting screen');
    assert.deepEqual(await seriousViolations(tabs.Anna), [], "axe on the host's lobby list");
  });

  it('lets one in, turns one away, then lets the rest in at once', async () => {
    await tabs.Anna.click('[data-testid="waiter"][data-name="Bruno"] [data-testid="lobby-admit"]');
    await waitFor('Bruno in with Anna', async () => (await remoteNames(tabs.Bruno)).includes('Anna')
      && (await remoteNames(tabs.Anna)).includes('Bruno'), { timeout: 30_000 });
    assert.equal((await waitingView(tabs.Cleo)).others, 0, 'Cleo still waits');

    await tabs.Anna.click('[data-testid="waiter"][data-name="Dana"] [data-testid="lobby-deny"]');
    await waitFor('Dana told she was not let in', async () => /did not let you in/.test(await errorText(tabs.Dana) ?? ''));
    await waitFor('only Cleo waits', async () => (await waiters(tabs.Anna)).join() === 'Cleo');

    await tabs.Anna.click('[data-testid="lobby-admit-all"]');
    await waitFor('Cleo in with Anna and Bruno', async () => {
      const seen = (await remoteNames(tabs.Cleo)).sort().join();
      return seen === 'Anna,Bruno';
    }, { timeout: 30_000 });
    await waitFor('nobody waits', async () => (await tabs.Anna.evaluate(() =>
      !document.querySelector('[data-testid="lobby-notice"]'))));
    assert.deepEqual((await remoteNames(tabs.Anna)).sort(), ['Bruno', 'Cleo'], 'Dana never came in');
  });
});
