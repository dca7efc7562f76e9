// Three people, two browser engines, one mesh: everyone sees and hears everyone, mutes and
// leaves show up for the others.
import assert from 'node:assert/strict';
import { mkdirSync } from 'node:fs';
import { after, before, describe, it } from 'node:test';

import { chromiumTab, firefoxTab, waitFor } from '../lib/browsers.js';
import { reportCpu } from '../lib/cpu.js';
import { errorText, mode, receivesAudioFrom, remoteNames, tileNames, videoPlays, videoState } from '../lib/meeting.js';
import { Relay } from '../lib/relay.js';

const ARTIFACTS = new URL('../artifacts/', import.meta.url).pathname;
mkdirSync(ARTIFACTS, { recursive: true });

describe('a full mesh of four in Chromium and Firefox', { timeout: 240_000 }, () => {
  reportCpu();
  let relay;
  const tabs = {};

  before(async () => {
    relay = await Relay.start();
    tabs.Anna = await chromiumTab();
    tabs.Bruno = await firefoxTab();
    tabs.Cleo = await chromiumTab();
    tabs.Dora = await firefoxTab();
    for (const name of ['Anna', 'Bruno', 'Cleo', 'Dora']) {
      await tabs[name].enter(relay.url('rathaus', { name }));
      await waitFor(`${name} in the room`, async () => (await tileNames(tabs[name])).includes(name));
    }
  });

  after(async () => {
    for (const [name, tab] of Object.entries(tabs)) {
      await tab.screenshot(`${ARTIFACTS}mesh-${name}.png`).catch(() => {});
      await tab.close().catch(() => {});
    }
    await relay?.stop();
  });

  it('shows every participant a tile for everyone, in mesh mode', async () => {
    for (const [name, tab] of Object.entries(tabs)) {
      const others = Object.keys(tabs).filter((n) => n !== name).sort();
      await waitFor(`${name} to see ${others}`, async () =>
        JSON.stringify((await remoteNames(tab)).sort()) === JSON.stringify(others));
      assert.equal(await mode(tab), 'mesh');
      assert.equal(await errorText(tab), null, `${name} sees no error`);
    }
  });

  it("plays everyone's video for everyone", async () => {
    for (const [name, tab] of Object.entries(tabs)) {
      for (const other of Object.keys(tabs).filter((n) => n !== name)) {
        await waitFor(`${name} to see ${other}'s video playing`, () => videoPlays(tab, other), { timeout: 30_000 });
      }
    }
  });

  it('delivers audio (and video frames) from all three others to each participant', async () => {
    for (const [name, tab] of Object.entries(tabs)) {
      await waitFor(`${name} to receive audio from 3 peers`, () => receivesAudioFrom(tab, 3), { timeout: 30_000 });
    }
    await tabs.Anna.screenshot(`${ARTIFACTS}grid-of-four.png`);
  });

  it("lays the tiles out and runs the call within the relay's strict content policy", async () => {
    for (const [name, tab] of Object.entries(tabs)) {
      // The grid's columns are set from code; a style attribute would be refused by the policy.
      const columns = await tab.evaluate(() =>
        document.querySelector('section.grid')?.style.getPropertyValue('grid-template-columns') ?? '');
      assert.match(columns, /^repeat\(\d+, minmax\(0(px)?, \d+(\.\d+)?px\)\)$/, `${name}'s grid: ${columns}`);
      assert.deepEqual(await tab.evaluate(() => window.__policyViolations), [], `${name}'s page broke no rule of the policy`);
    }
  });

  it('shows a mute to the others, and the unmute too', async () => {
    await tabs.Anna.click('[data-testid="toggle-mic"]');
    const started = Date.now();
    for (const name of ['Bruno', 'Cleo', 'Dora']) {
      await waitFor(`${name} to see Anna muted`, async () => (await videoState(tabs[name], 'Anna'))?.muted === 'true',
        { timeout: 5_000, interval: 50 });
    }
    const elapsed = Date.now() - started;
    assert.equal(await tabs.Anna.evaluate(() =>
      document.querySelector('[data-testid="toggle-mic"]').getAttribute('aria-pressed')), 'true');
    console.log(`mute visible to all three others after ${elapsed} ms`);
    await tabs.Anna.click('[data-testid="toggle-mic"]');
    await waitFor('Bruno to see Anna unmuted', async () => (await videoState(tabs.Bruno, 'Anna'))?.muted === 'false',
      { timeout: 5_000, interval: 50 });
  });

  it('removes a participant who leaves from the others\' screens', async () => {
    await tabs.Cleo.click('[data-testid="leave"]');
    for (const name of ['Anna', 'Bruno', 'Dora']) {
      await waitFor(`${name} to no longer see Cleo`, async () => !(await remoteNames(tabs[name])).includes('Cleo'),
        { timeout: 5_000, interval: 50 });
    }
    await waitFor('Cleo to see that she left', () => tabs.Cleo.evaluate(() =>
      document.querySelector('[data-testid="rejoin"]') !== null));
    // The remaining two still see each other.
    await waitFor("Anna still sees Bruno's video", () => videoPlays(tabs.Anna, 'Bruno'));
    await waitFor('Anna keeps exactly two peer connections', () => receivesAudioFrom(tabs.Anna, 2));
  });
});
