// What people see when something is wrong: blocked camera, unreachable relay, full room.
import assert from 'node:assert/strict';
import { after, afterEach, before, describe, it } from 'node:test';

import { chromiumTab, firefoxTab, waitFor } from '../lib/browsers.js';
import { reportCpu } from '../lib/cpu.js';
import { errorText, remoteNames, tileNames, videoPlays, videoState } from '../lib/meeting.js';
import { Relay } from '../lib/relay.js';

const ARTIFACTS = new URL('../artifacts/', import.meta.url).pathname;

async function errorKey(tab) {
  return tab.evaluate(() => document.querySelector('[data-testid="error"]')?.dataset.error ?? null);
}

describe('problems a person can run into', { timeout: 240_000 }, () => {
  reportCpu();
  let relay;
  // Each test brings its own people and room; they leave when it ends, so no test runs beside
  // the calls of the tests before it.
  const open = [];
  const track = (tab) => { open.push(tab); return tab; };
  afterEach(async () => {
    while (open.length) await open.pop().close().catch(() => {});
  });

  before(async () => { relay = await Relay.start(); });
  after(async () => {
    for (const tab of open) await tab.close().catch(() => {});
    await relay?.stop();
  });

  for (const engine of ['chromium', 'firefox']) {
    it(`a blocked camera in ${engine} still lets the person join, hear and see the others`, async () => {
      const room = `denied-${engine}`;
      const host = track(await chromiumTab());
      await host.enter(relay.url(room, { name: 'Gastgeberin' }));
      const guest = track(engine === 'chromium' ? await chromiumTab({ deny: true }) : await firefoxTab({ deny: true }));
      await guest.goto(relay.url(room, { name: 'Dora' }));

      await waitFor('the blocked-camera sentence', async () => (await errorKey(guest)) === 'error-media-denied');
      const sentence = await errorText(guest);
      assert.match(sentence, /blocked the camera/);
      await guest.screenshot(`${ARTIFACTS}denied-${engine}.png`);
      await guest.click('[data-testid="join-without-media"]');

      await waitFor('Dora in the room with the host', async () => (await remoteNames(guest)).includes('Gastgeberin'));
      await waitFor('the host to see Dora, muted', async () => (await videoState(host, 'Dora'))?.muted === 'true');
      await waitFor("Dora to see the host's video", () => videoPlays(guest, 'Gastgeberin'), { timeout: 30_000 });
    });
  }

  it('says when the relay cannot be reached, and joins on "Try again" once it is back', async () => {
    const flaky = await Relay.start();
    const address = flaky.address;
    const tab = track(await chromiumTab());
    await tab.goto(flaky.url('retry', { name: 'Emil' }));
    await waitFor('the pre-join screen', () => tab.evaluate(() => document.querySelector('[data-testid="join"]') !== null));
    await flaky.stop();

    await tab.click('[data-testid="join"]');
    await waitFor('the unreachable sentence', async () => (await errorKey(tab)) === 'error-relay-unreachable');
    assert.match(await errorText(tab), /cannot be reached/);

    const back = await Relay.start({ listen: address });
    try {
      await tab.click('[data-testid="retry"]');
      await waitFor('Emil in the room', async () => (await tileNames(tab)).includes('Emil'));
      assert.equal(await errorKey(tab), null);
    } finally {
      await back.stop();
    }
  });

  it('says when the room is full, without disturbing the people in it', async () => {
    const small = await Relay.start({ args: ['--room-capacity', '2'] });
    try {
      const names = ['Fritz', 'Greta', 'Hanna'];
      const tabs = [];
      for (const name of names) {
        const tab = track(await chromiumTab());
        tabs.push(tab);
        await tab.enter(small.url('klein', { name, cam: '0' }));
      }
      await waitFor('the room-full sentence for Hanna', async () => (await errorKey(tabs[2])) === 'error-room-full');
      assert.match(await errorText(tabs[2]), /room is full/);
      await tabs[2].screenshot(`${ARTIFACTS}room-full.png`);
      await waitFor('Fritz and Greta still together', async () =>
        (await remoteNames(tabs[0])).join() === 'Greta' && (await remoteNames(tabs[1])).join() === 'Fritz');
    } finally {
      await small.stop();
    }
  });
});
