// The pre-join screen: preview, name rules, remembered name, link parameters, keyboard use.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';

import { chromiumTab, waitFor } from '../lib/browsers.js';
import { reportCpu } from '../lib/cpu.js';
import { tileNames, videoState } from '../lib/meeting.js';
import { Relay } from '../lib/relay.js';

const ARTIFACTS = new URL('../artifacts/', import.meta.url).pathname;

describe('the pre-join screen', { timeout: 120_000 }, () => {
  reportCpu();
  let relay;
  let tab;

  before(async () => {
    relay = await Relay.start();
    // A browser that has been in no room: what it remembers, it remembers by using the app.
    tab = await chromiumTab({ joinedBefore: false });
  });
  after(async () => {
    await tab?.close();
    await relay?.stop();
  });

  it('shows a live camera preview and refuses an empty name', async () => {
    await tab.goto(relay.url('vorraum'));
    await waitFor('the preview to play', () => tab.evaluate(() => {
      const v = document.querySelector('.preview video');
      return v && v.videoWidth > 0 && v.currentTime > 0;
    }));
    await tab.screenshot(`${ARTIFACTS}prejoin.png`);
    await tab.click('[data-testid="join"]');
    const error = await waitFor('a name error', () => tab.evaluate(() => document.querySelector('#name-error')?.textContent));
    assert.match(error, /enter your name/);
    assert.equal(await tab.evaluate(() => document.querySelector('#display-name').getAttribute('aria-invalid')), 'true');
  });

  it('joins by keyboard alone, muted as chosen, and remembers the name', async () => {
    await tab.goto(relay.url('vorraum'));
    await waitFor('the name field', () => tab.evaluate(() => document.querySelector('#display-name') !== null));
    await tab.evaluate(() => document.querySelector('#display-name').focus());
    await tab.page.keyboard.type('Ida Schulz');
    // The microphone toggle follows the name field in tab order; press it, then submit with
    // Enter from the name field.
    await tab.press('Tab');
    assert.equal(await tab.evaluate(() => document.activeElement?.dataset.testid), 'prejoin-mic');
    await tab.press('Space');
    await tab.evaluate(() => document.querySelector('#display-name').focus());
    await tab.press('Enter');
    await waitFor('Ida in the room', async () => (await tileNames(tab)).includes('Ida Schulz'));
    await waitFor('her own tile shows the muted microphone', async () =>
      (await videoState(tab, 'Ida Schulz'))?.muted === 'true');
    await tab.click('[data-testid="leave"]');

    await tab.goto(relay.url('vorraum'));
    const remembered = await waitFor('the remembered name', () =>
      tab.evaluate(() => document.querySelector('#display-name')?.value));
    assert.equal(remembered, 'Ida Schulz');
  });

  it('joins with camera and microphone even when Join is pressed before they have opened', async () => {
    await tab.goto(relay.url('schnell'));
    await waitFor('the name field', () => tab.evaluate(() => document.querySelector('#display-name') !== null));
    await tab.type('#display-name', 'Eilig');
    await tab.click('[data-testid="join"]');
    await waitFor('her own camera in the meeting', () => tab.evaluate(() => {
      const tile = document.querySelector('[data-self]');
      const v = tile?.querySelector('video');
      return tile?.dataset.muted === 'false' && v && v.videoWidth > 0 && v.currentTime > 0;
    }));
    await tab.click('[data-testid="leave"]');
  });

  it('asks first when an autojoin link leads to a room this browser has never joined', async () => {
    const link = relay.url('fremder-raum', { name: 'Eve', autojoin: '1' });
    await tab.goto(link);
    await waitFor('the pre-join screen', () => tab.evaluate(() => document.querySelector('[data-testid="join"]') !== null));
    assert.match(await tab.evaluate(() => document.querySelector('[data-testid="autojoin-hint"]')?.textContent ?? ''), /first time in a room/);
    assert.equal(await tab.evaluate(() => document.querySelector('#display-name').value), 'Eve');
    assert.equal(await tab.evaluate(() => document.querySelector('[data-self]')), null, 'not in the meeting without a click');
    // (The tab's earlier meetings have ended; waiting covers the relay noticing the last leave.)
    await waitFor('no participant on the relay', async () =>
      (await (await fetch(`${relay.origin}/api/status`)).json()).participants === 0);

    await tab.click('[data-testid="join"]');
    await waitFor('Eve in the room', async () => (await tileNames(tab)).includes('Eve'));
    await tab.click('[data-testid="leave"]');
    // Once joined by her own click, the same link takes her straight in.
    await tab.goto(link);
    await waitFor('Eve back in the room without the pre-join screen', async () => (await tileNames(tab)).includes('Eve'));
    await tab.click('[data-testid="leave"]');
  });

  it('honours name=, autojoin=1, mic=0 and cam=0 for a room joined before', async () => {
    await tab.goto(relay.url('vorraum', { name: 'Jan', autojoin: '1', mic: '0', cam: '0' }));
    await waitFor('Jan in the room', async () => (await tileNames(tab)).includes('Jan'));
    const state = await tab.evaluate(() => ({
      mic: document.querySelector('[data-testid="toggle-mic"]').getAttribute('aria-pressed'),
      cam: document.querySelector('[data-testid="toggle-camera"]').getAttribute('aria-pressed'),
      muted: document.querySelector('[data-self]').dataset.muted,
    }));
    assert.deepEqual(state, { mic: 'true', cam: 'true', muted: 'true' });
  });

  it('shows German to German browsers', async () => {
    const de = await chromiumTab({ locale: 'de-DE' });
    try {
      await de.goto(relay.url('vorraum'));
      const label = await waitFor('the join button', () =>
        de.evaluate(() => document.querySelector('[data-testid="join"]')?.textContent));
      assert.equal(label, 'Beitreten');
      assert.equal(await de.evaluate(() => document.documentElement.lang), 'de');
    } finally {
      await de.close();
    }
  });
});
