// A class whose cameras go to the teacher only: the teacher sees every pupil, each pupil sees
// the teacher and no other pupil (the relay does not forward their pictures), and everyone still
// hears everyone. Turned off, the pupils see each other again; when the teacher leaves, hosting
// passes to the pupil who came first.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';

import { seriousViolations } from '../lib/a11y.js';
import { chromiumTab, firefoxTab, waitFor } from '../lib/browsers.js';
import { reportCpu } from '../lib/cpu.js';
import { allTogether, mode, phase, videoPlays, videoState } from '../lib/meeting.js';
import { Relay } from '../lib/relay.js';

const ARTIFACTS = new URL('../artifacts/', import.meta.url).pathname;

/** Peer connections of the page that are not closed. */
function openConnections(tab) {
  return tab.evaluate(() => (window.__pcs ?? []).filter((pc) => pc.connectionState !== 'closed').length);
}

/** Whether `name`'s tile at `tab` shows their picture (not the initials). */
function showsPicture(tab, name) {
  return tab.evaluate((n) => {
    const tile = [...document.querySelectorAll('[data-participant]')].find((t) => t.dataset.participant === n);
    return !!tile && !tile.querySelector('.avatar');
  }, name);
}

describe('a class: pupils\' cameras to the teacher only', { timeout: 240_000 }, () => {
  reportCpu();
  let relay;
  const tabs = {};
  const url = (name) => relay.url('klasse-kameras', { name });

  before(async () => {
    relay = await Relay.start();
    tabs.Anna = await chromiumTab();
    await tabs.Anna.enter(url('Anna'));
    await waitFor('Anna in the room', async () => (await phase(tabs.Anna)) === 'joined');
    tabs.Bruno = await firefoxTab();
    tabs.Cleo = await chromiumTab();
    // Bruno comes first, and the last test counts on it: a page that has loaded has not yet
    // joined, and a loaded machine can let Cleo's Chromium overtake Bruno's Firefox.
    await tabs.Bruno.enter(url('Bruno'));
    await waitFor('Bruno in the room', async () => (await phase(tabs.Bruno)) === 'joined');
    await tabs.Cleo.enter(url('Cleo'));
    await waitFor('all three together', () => allTogether([tabs.Anna, tabs.Bruno, tabs.Cleo]), { timeout: 30_000 });
  });

  after(async () => {
    await tabs.Bruno?.screenshot(`${ARTIFACTS}class-bruno.png`).catch(() => {});
    for (const tab of Object.values(tabs)) await tab?.close().catch(() => {});
    await relay?.stop();
  });

  it('shows each pupil only the teacher, and the teacher everyone', async () => {
    await tabs.Anna.click('[data-testid="toggle-people"]');
    await tabs.Anna.click('[data-testid="host-cameras-to-hosts"]');
    for (const name of ['Anna', 'Bruno', 'Cleo']) {
      await waitFor(`${name} on the relay`, async () => (await mode(tabs[name])) === 'sfu', { timeout: 30_000 });
    }
    await waitFor('the teacher sees both pupils', async () =>
      (await videoPlays(tabs.Anna, 'Bruno')) && (await videoPlays(tabs.Anna, 'Cleo')), { timeout: 45_000 });
    for (const [pupil, other] of [['Bruno', 'Cleo'], ['Cleo', 'Bruno']]) {
      // The direct connections of the mesh close once the relay delivers.
      await waitFor(`${pupil} only on the relay`, async () => (await openConnections(tabs[pupil])) === 1, { timeout: 45_000 });
      await waitFor(`${pupil} sees the teacher`, async () => videoPlays(tabs[pupil], 'Anna'), { timeout: 45_000 });
      assert.equal(await showsPicture(tabs[pupil], other), false, `${pupil} sees ${other}'s initials`);
      assert.equal(await videoPlays(tabs[pupil], other), false,
        `no picture of ${other} reaches ${pupil}: ${JSON.stringify(await videoState(tabs[pupil], other))}`);
    }
    await tabs.Bruno.click('[data-testid="toggle-people"]');
    assert.match(await tabs.Bruno.evaluate(() => document.querySelector('[data-testid="cameras-note"]')?.textContent ?? ''),
      /only the hosts see/);
    assert.deepEqual(await seriousViolations(tabs.Bruno), [], 'axe at a pupil');
  });

  it('lets the pupils see each other again when the teacher turns it off', async () => {
    await tabs.Anna.click('[data-testid="host-cameras-to-hosts"]');
    await waitFor('Bruno sees Cleo again', async () => (await showsPicture(tabs.Bruno, 'Cleo'))
      && videoPlays(tabs.Bruno, 'Cleo'), { timeout: 45_000 });
    await waitFor('Cleo sees Bruno again', async () => (await showsPicture(tabs.Cleo, 'Bruno'))
      && videoPlays(tabs.Cleo, 'Bruno'), { timeout: 45_000 });
  });

  it('hands hosting to the pupil who came first when the teacher leaves', async () => {
    await tabs.Anna.click('[data-testid="leave"]');
    await waitFor('Bruno hosts now', async () => {
      const { controls, people } = await tabs.Bruno.evaluate(() => ({
        controls: !!document.querySelector('[data-testid="host-mute-all"]'),
        people: [...document.querySelectorAll('[data-testid="person"]')]
          .map((p) => `${p.dataset.name}${p.dataset.host === 'true' ? ' (host)' : ''}`),
      }));
      // Says, if it never comes, whom Bruno sees hosting instead.
      if (!controls) throw new Error(`Bruno's people: ${people.join(', ')}`);
      return true;
    }, { timeout: 30_000 });
    await tabs.Cleo.click('[data-testid="toggle-people"]');
    await waitFor('Cleo sees Bruno as host', async () => tabs.Cleo.evaluate(() =>
      document.querySelector('[data-testid="person"][data-name="Bruno"]')?.dataset.host === 'true'), { timeout: 30_000 });
    assert.equal(await tabs.Cleo.evaluate(() => !!document.querySelector('[data-testid="host-mute-all"]')), false,
      'Cleo is no host');
  });
});
