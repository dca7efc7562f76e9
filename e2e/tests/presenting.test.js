// Screen sharing between Chromium and Firefox, speaker view and pinning, the settings and
// connection-details dialogs.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';

import { chromiumTab, firefoxTab, waitFor } from '../lib/browsers.js';
import { reportCpu } from '../lib/cpu.js';
import { remoteNames } from '../lib/meeting.js';
import { Relay } from '../lib/relay.js';

const ARTIFACTS = new URL('../artifacts/', import.meta.url).pathname;

function screens(tab) {
  return tab.evaluate(() => [...document.querySelectorAll('[data-screen]')].map((f) => {
    const v = f.querySelector('video');
    return { name: f.dataset.screen, self: f.hasAttribute('data-self'), width: v.videoWidth, time: v.currentTime };
  }));
}

const layout = (tab) => tab.evaluate(() => document.querySelector('main.meeting').dataset.layout);
const featured = (tab) => tab.evaluate(() => document.querySelector('.tile.featured')?.dataset.participant ?? null);

describe('presenting: screen share, speaker view, dialogs', { timeout: 240_000 }, () => {
  reportCpu();
  let relay;
  let anna;
  let bruno;
  let cleo;

  before(async () => {
    relay = await Relay.start();
    anna = await chromiumTab({ clipboard: true });
    bruno = await firefoxTab();
    cleo = await chromiumTab();
    await anna.enter(relay.url('praesentation', { name: 'Anna' }));
    await bruno.enter(relay.url('praesentation', { name: 'Bruno' }));
    await cleo.enter(relay.url('praesentation', { name: 'Cleo', mic: '0' }));
    for (const tab of [anna, bruno, cleo]) {
      await waitFor('everyone together', async () => (await remoteNames(tab)).length === 2);
    }
  });

  after(async () => {
    for (const tab of [anna, bruno, cleo]) await tab?.close().catch(() => {});
    await relay?.stop();
  });

  it('shows a screen shared from Chromium large to everyone, the presenter\'s camera still visible', async () => {
    // Anna's camera plays for the others, and must keep playing: a screen arriving must not
    // reload the camera's element (a reload shows black until the next frame).
    for (const tab of [bruno, cleo]) {
      await waitFor('Anna\'s camera playing', () => tab.evaluate(() => {
        const v = document.querySelector('[data-participant="Anna"] video');
        if (!v || v.videoWidth === 0) return false;
        if (!v.dataset.watched) {
          v.dataset.watched = '1';
          window.cameraReloads = 0;
          v.addEventListener('emptied', () => { window.cameraReloads += 1; });
        }
        return true;
      }), { timeout: 30_000 });
    }
    await anna.click('[data-testid="toggle-share"]');
    for (const tab of [bruno, cleo]) {
      const [screen] = await waitFor('Anna\'s screen playing', async () => {
        const s = await screens(tab);
        return s.length === 1 && s[0].width > 0 && s[0].time > 0 && s;
      }, { timeout: 30_000 });
      assert.equal(screen.name, 'Anna');
      assert.equal(await layout(tab), 'speaker');
      const camera = await tab.evaluate(() => {
        const v = document.querySelector('[data-participant="Anna"] video');
        return v && v.videoWidth > 0;
      });
      assert.ok(camera, 'Anna\'s camera tile is still there');
      assert.equal(await tab.evaluate(() =>
        document.querySelector('[data-participant="Anna"] video').dataset.watched && window.cameraReloads), 0,
      'Anna\'s camera was not reloaded when her screen came');
      assert.match(await tab.evaluate(() => document.querySelector('[data-testid="announcer"]').textContent),
        /sharing their screen/);
    }
    assert.equal(await anna.evaluate(() =>
      document.querySelector('[data-testid="toggle-share"]').getAttribute('aria-pressed')), 'true');
    await bruno.screenshot(`${ARTIFACTS}speaker-view-screen-share.png`);
  });

  it('ends the share when the browser\'s own "stop sharing" ends the track', async () => {
    // What Chromium's "Stop sharing" bar does: the capture track ends.
    await anna.evaluate(() => {
      const track = document.querySelector('[data-screen][data-self] video').srcObject.getVideoTracks()[0];
      track.stop();
      track.dispatchEvent(new Event('ended'));
    });
    for (const tab of [anna, bruno, cleo]) {
      await waitFor('the screen gone', async () => (await screens(tab)).length === 0);
    }
    assert.equal(await anna.evaluate(() =>
      document.querySelector('[data-testid="toggle-share"]').getAttribute('aria-pressed')), 'false');
    assert.equal(await layout(bruno), 'grid');
  });

  it('pins a participant large in speaker view, and unpins', async () => {
    await bruno.evaluate(() => {
      const tile = document.querySelector('[data-participant="Cleo"]');
      tile.querySelector('[data-testid="pin"]').click();
    });
    await waitFor('Cleo featured for Bruno', async () => (await featured(bruno)) === 'Cleo');
    assert.equal(await layout(bruno), 'speaker');
    assert.equal(await layout(anna), 'grid', 'pinning is personal');
    await bruno.evaluate(() => document.querySelector('[data-participant="Cleo"] [data-testid="pin"]').click());
    await bruno.click('[data-testid="more"]');
    await bruno.click('[data-testid="toggle-layout"]');
    await waitFor('back to the grid', async () => (await layout(bruno)) === 'grid');
  });

  it('features whoever speaks in speaker view', async () => {
    await anna.click('[data-testid="more"]');
    await anna.click('[data-testid="toggle-layout"]');
    // Cleo joined muted, so the fake microphones of Bruno (Firefox) and Anna make the only sound
    // Anna hears: Bruno's.
    await waitFor('Bruno featured as the speaker', async () => (await featured(anna)) === 'Bruno', { timeout: 20_000 });
    const speaking = await anna.evaluate(() => document.querySelector('[data-participant="Bruno"]').dataset.speaking);
    assert.equal(speaking, 'true');
  });

  it('switches the language in the settings dialog, and closes with Escape', async () => {
    await cleo.click('[data-testid="more"]');
    await cleo.click('[data-testid="open-settings"]');
    await waitFor('the settings dialog', () => cleo.evaluate(() => document.querySelector('[data-testid="settings"]')?.open));
    await cleo.page.selectOption('[data-testid="settings-language"]', 'de');
    await waitFor('German labels', () => cleo.evaluate(() =>
      document.querySelector('[data-testid="leave"]').textContent.includes('Verlassen')));
    await cleo.press('Escape');
    await waitFor('the dialog closed', () => cleo.evaluate(() => !document.querySelector('[data-testid="settings"]')));
    await cleo.enter(relay.url('praesentation', { name: 'Cleo', mic: '0' }));
    await waitFor('German remembered', () => cleo.evaluate(() => document.documentElement.lang === 'de'));
  });

  it('switches the camera during the call without renegotiating, and the others keep seeing it', async () => {
    const trackId = () => anna.evaluate(() => document.querySelector('[data-self] video')?.srcObject?.getVideoTracks()[0]?.id);
    const before = await trackId();
    // Anna's open connections and their session descriptions. Cleo rejoined in the test above,
    // so wait until the new connection to her has finished its own negotiation first.
    const descriptions = () => anna.evaluate(() => window.__pcs.filter((pc) => pc.connectionState !== 'closed')
      .map((pc) => ({ signaling: pc.signalingState, connection: pc.connectionState, sdp: pc.localDescription?.sdp ?? null })));
    const settled = await waitFor("Anna's two connections settled", async () => {
      const d = await descriptions();
      return d.length === 2 && d.every((c) => c.signaling === 'stable' && c.connection === 'connected' && c.sdp) && d;
    }, { timeout: 30_000 });
    const sdpBefore = settled.map((c) => c.sdp);
    await anna.click('[data-testid="more"]');
    await anna.click('[data-testid="open-settings"]');
    const cameras = await waitFor('the camera list', () => anna.evaluate(() =>
      [...document.querySelectorAll('#settings-camera option')].map((o) => o.value).filter(Boolean)));
    await anna.page.selectOption('#settings-camera', cameras[cameras.length - 1]);
    await waitFor('a new camera track', async () => { const now = await trackId(); return now && now !== before; });
    await anna.press('Escape');
    // Connections that existed before kept their session descriptions: nothing was renegotiated.
    assert.deepEqual((await descriptions()).map((c) => c.sdp), sdpBefore, 'no renegotiation');
    await waitFor("Bruno still sees Anna's video", async () => {
      const a = await bruno.evaluate(() => document.querySelector('[data-participant="Anna"] video').currentTime);
      await new Promise((r) => setTimeout(r, 600));
      const b = await bruno.evaluate(() => document.querySelector('[data-participant="Anna"] video').currentTime);
      return b > a;
    });
  });

  it('shows connection details without names, ready to copy', async () => {
    await waitFor('quality measured', () => anna.evaluate(() =>
      [...document.querySelectorAll('.tile[data-quality]')].some((t) => t.dataset.quality === 'good')), { timeout: 20_000 });
    await anna.click('[data-testid="more"]');
    await anna.click('[data-testid="open-details"]');
    const text = await waitFor('the details', () => anna.evaluate(() =>
      document.querySelector('[data-testid="details-text"]')?.textContent));
    assert.match(text, /connection 1: Connected, quality Good, route direct, round trip \d+ ms/);
    assert.doesNotMatch(text, /Bruno|Cleo|Anna/);
    await anna.evaluate(() => [...document.querySelectorAll('[data-testid="details"] button')]
      .find((b) => /Copy/.test(b.textContent)).click());
    const copied = await waitFor('the clipboard', () => anna.evaluate(() => navigator.clipboard.readText()));
    assert.match(copied, /Treffpunkt connection details/);
  });
});
