// Hosts and participants in an open room: whoever opens it hosts it; a host mutes, hands hosting
// on, removes someone for the rest of the meeting and ends it for everyone. Participants get no
// such controls (and the relay refuses them anyway: relay/tests/moderation.rs).
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';

import { seriousViolations } from '../lib/a11y.js';
import { chromiumTab, firefoxTab, waitFor } from '../lib/browsers.js';
import { reportCpu } from '../lib/cpu.js';
import { allTogether, errorText, phase, remoteNames } from '../lib/meeting.js';
import { Relay } from '../lib/relay.js';

const ARTIFACTS = new URL('../artifacts/', import.meta.url).pathname;

/** What `tab`'s participant list says about each person: host, microphone, and which host
 * buttons it offers for them. */
function people(tab) {
  return tab.evaluate(() => Object.fromEntries([...document.querySelectorAll('[data-testid="person"]')].map((p) => [
    p.dataset.name,
    {
      host: p.dataset.host === 'true',
      mic: p.dataset.mic === 'true',
      buttons: [...p.querySelectorAll('.host-actions button')].map((b) => b.dataset.testid),
    },
  ])));
}

function hostButton(name, action) {
  return `[data-testid="person"][data-name="${name}"] [data-testid="host-${action}"]`;
}

function micMuted(tab) {
  return tab.evaluate(() => document.querySelector('[data-testid="toggle-mic"]')?.getAttribute('aria-pressed'));
}

function cameraOff(tab) {
  return tab.evaluate(() => document.querySelector('[data-testid="toggle-camera"]')?.getAttribute('aria-pressed'));
}

describe('hosting an open room: mute, co-host, remove, end', { timeout: 240_000 }, () => {
  reportCpu();
  let relay;
  const tabs = {};
  // Bruno alone has his camera on: the host turns it off.
  const url = (name) => relay.url('klasse-7b', { name, ...(name === 'Bruno' ? {} : { cam: '0' }) });

  before(async () => {
    relay = await Relay.start();
    tabs.Anna = await chromiumTab();
    tabs.Anna.acceptDialogs();
    await tabs.Anna.enter(url('Anna'));
    await waitFor('Anna in the room', async () => (await phase(tabs.Anna)) === 'joined');
    tabs.Bruno = await firefoxTab();
    tabs.Cleo = await chromiumTab();
    await tabs.Bruno.enter(url('Bruno'));
    await tabs.Cleo.enter(url('Cleo'));
    await waitFor('all three together', () => allTogether([tabs.Anna, tabs.Bruno, tabs.Cleo]), { timeout: 30_000 });
    for (const tab of Object.values(tabs)) await tab.click('[data-testid="toggle-people"]');
  });

  after(async () => {
    await tabs.Anna?.screenshot(`${ARTIFACTS}moderation-anna.png`).catch(() => {});
    for (const tab of Object.values(tabs)) await tab?.close().catch(() => {});
    await relay?.stop();
  });

  it('makes whoever opened the room its host, and gives only hosts the controls', async () => {
    const atAnna = await waitFor('host controls at Anna', async () => {
      const p = await people(tabs.Anna);
      return p.Bruno?.buttons.includes('host-remove') && p.Cleo?.buttons.includes('host-remove') && p;
    });
    assert.equal(atAnna.Anna.host, true, 'Anna hosts');
    assert.deepEqual(atAnna.Anna.buttons, [], 'no buttons for herself');
    for (const name of ['Bruno', 'Cleo']) {
      const seen = await people(tabs[name]);
      assert.equal(seen.Anna.host, true, `${name} sees Anna as host`);
      assert.equal(seen[name].host, false);
      assert.deepEqual(Object.values(seen).flatMap((p) => p.buttons), [], `${name} has no host controls`);
      assert.equal(await tabs[name].evaluate(() => document.querySelector('[data-testid="end-meeting"]')), null);
    }
    assert.deepEqual(await seriousViolations(tabs.Anna), [], "axe on the host's participant list");
  });

  it("turns off a participant's camera, which they can turn on again", async () => {
    await waitFor("Bruno's camera on", async () => (await cameraOff(tabs.Bruno)) === 'false');
    await tabs.Anna.click(hostButton('Bruno', 'camera-off'));
    await waitFor("Bruno's camera off at Bruno", async () => (await cameraOff(tabs.Bruno)) === 'true');
    await waitFor('and at Cleo', async () => (await tabs.Cleo.evaluate(() =>
      document.querySelector('[data-testid="person"][data-name="Bruno"]')?.dataset.cam)) === 'false');
    await tabs.Bruno.click('[data-testid="toggle-camera"]');
    await waitFor("Bruno's camera on again at Anna", async () => (await tabs.Anna.evaluate(() =>
      document.querySelector('[data-testid="person"][data-name="Bruno"]')?.dataset.cam)) === 'true');
  });

  it("turns off a participant's microphone, which they can turn on again", async () => {
    assert.equal(await micMuted(tabs.Bruno), 'false', 'Bruno starts with his microphone on');
    await tabs.Anna.click(hostButton('Bruno', 'mute'));
    await waitFor('Bruno muted at Bruno', async () => (await micMuted(tabs.Bruno)) === 'true');
    await waitFor('Bruno muted at Cleo', async () => (await people(tabs.Cleo)).Bruno?.mic === false);
    await tabs.Bruno.click('[data-testid="toggle-mic"]');
    await waitFor('Bruno unmuted at Anna', async () => (await people(tabs.Anna)).Bruno?.mic === true);
  });

  it('keeps a microphone off until the host allows it again', async () => {
    await tabs.Anna.click(hostButton('Bruno', 'lock-mic'));
    await waitFor('Bruno muted and held', async () => (await micMuted(tabs.Bruno)) === 'true'
      && (await tabs.Bruno.evaluate(() =>
        document.querySelector('[data-testid="toggle-mic"]').getAttribute('aria-disabled'))) === 'true');
    await tabs.Bruno.click('[data-testid="toggle-mic"]');
    await waitFor('the others see the room on the relay', async () =>
      (await tabs.Cleo.evaluate(() => document.querySelector('main.meeting')?.dataset.mode)) === 'sfu');
    assert.equal(await micMuted(tabs.Bruno), 'true', 'Bruno cannot turn it on');
    assert.equal((await people(tabs.Anna)).Bruno.mic, false);
    await tabs.Anna.click(hostButton('Bruno', 'lock-mic'));
    await waitFor('Bruno allowed again', async () => (await tabs.Bruno.evaluate(() =>
      document.querySelector('[data-testid="toggle-mic"]').getAttribute('aria-disabled'))) === 'false');
    await tabs.Bruno.click('[data-testid="toggle-mic"]');
    await waitFor('Bruno unmuted at Anna', async () => (await people(tabs.Anna)).Bruno?.mic === true);
  });

  it('mutes everyone but the hosts at once', async () => {
    await tabs.Anna.click('[data-testid="host-mute-all"]');
    for (const name of ['Bruno', 'Cleo']) {
      await waitFor(`${name}'s microphone off at ${name}`, async () => (await micMuted(tabs[name])) === 'true');
    }
    assert.equal(await micMuted(tabs.Anna), 'false', "the host's own microphone stays on");
    await tabs.Bruno.click('[data-testid="toggle-mic"]');
    await waitFor('Bruno unmuted at Anna again', async () => (await people(tabs.Anna)).Bruno?.mic === true);
  });

  it('locks the room against newcomers, and unlocks it', async () => {
    await tabs.Anna.click('[data-testid="host-lock"]');
    await waitFor('the lock shown to Bruno', async () =>
      await tabs.Bruno.evaluate(() => !!document.querySelector('[data-testid="locked-note"]')));
    const dora = await chromiumTab();
    tabs.Dora = dora;
    await dora.enter(url('Dora'));
    await waitFor('Dora refused', async () => /locked/.test((await errorText(dora)) ?? ''));
    assert.equal((await remoteNames(tabs.Anna)).includes('Dora'), false);
    await tabs.Anna.click('[data-testid="host-lock"]');
    await waitFor('unlocked at Anna', async () =>
      (await tabs.Anna.evaluate(() => document.querySelector('[data-testid="host-lock"]').getAttribute('aria-pressed'))) === 'false');
    await dora.enter(url('Dora'));
    await waitFor('Dora in after the unlock', async () => (await remoteNames(tabs.Anna)).includes('Dora'));
    await dora.close();
    delete tabs.Dora;
    await waitFor('Dora gone', async () => !(await remoteNames(tabs.Anna)).includes('Dora'));
  });

  it('asks newcomers for the password a host set, and counts wrong ones', async () => {
    await tabs.Anna.type('[data-testid="host-password"]', 'Kastanie 12');
    await tabs.Anna.click('[data-testid="host-password-form"] button[type="submit"]');
    await waitFor('the password shown to the host', async () => /Kastanie 12/.test(await tabs.Anna.evaluate(() =>
      document.querySelector('[data-testid="host-password-current"]')?.textContent ?? '')));
    const erik = await firefoxTab();
    tabs.Erik = erik;
    await erik.enter(url('Erik'));
    await waitFor('Erik asked for the password', async () => /has a password/.test((await errorText(erik)) ?? ''));
    await erik.type('[data-testid="password"]', 'kastanie');
    await erik.click('[data-testid="password-join"]');
    await waitFor('a wrong one refused', async () => /not right/.test((await errorText(erik)) ?? ''));
    assert.equal((await remoteNames(tabs.Anna)).includes('Erik'), false);
    await erik.type('[data-testid="password"]', 'Kastanie 12');
    await erik.click('[data-testid="password-join"]');
    await waitFor('Erik in with the right one', async () => (await remoteNames(tabs.Anna)).includes('Erik'));
    await erik.close();
    delete tabs.Erik;
    await tabs.Anna.click('[data-testid="host-password-remove"]');
    await waitFor('the password gone', async () => tabs.Anna.evaluate(() => !!document.querySelector('[data-testid="host-password-form"]')));
    await waitFor('Erik gone', async () => !(await remoteNames(tabs.Anna)).includes('Erik'));
  });

  it('makes Cleo a co-host, who then has the controls too', async () => {
    await tabs.Anna.click(hostButton('Cleo', 'make-host'));
    await waitFor('Cleo a host at Bruno', async () => (await people(tabs.Bruno)).Cleo?.host === true);
    await waitFor('host controls at Cleo', async () => (await people(tabs.Cleo)).Bruno?.buttons.includes('host-remove'));
    assert.equal((await people(tabs.Anna)).Cleo.buttons.includes('host-make-host'), false, 'Cleo hosts already');
  });

  it("takes Cleo's hosting back, and her controls go", async () => {
    await tabs.Anna.click(hostButton('Cleo', 'revoke-host'));
    await waitFor('Cleo no host at Bruno', async () => (await people(tabs.Bruno)).Cleo?.host === false);
    await waitFor('no host controls at Cleo', async () => (await people(tabs.Cleo)).Bruno?.buttons.length === 0);
    assert.equal((await people(tabs.Anna)).Cleo.buttons.includes('host-make-host'), true, 'Cleo may be made host again');
  });

  it('removes Bruno, who cannot come back by reloading', async () => {
    await tabs.Anna.click(hostButton('Bruno', 'remove'));
    await waitFor('Bruno told he was removed', async () => /removed you/.test((await errorText(tabs.Bruno)) ?? ''));
    assert.equal(await tabs.Bruno.evaluate(() => !!document.querySelector('[data-testid="to-start"]')), true,
      'a removed person is offered the start page, not a way back in');
    await waitFor('Bruno gone at Anna and Cleo', async () =>
      !(await remoteNames(tabs.Anna)).includes('Bruno') && !(await remoteNames(tabs.Cleo)).includes('Bruno'));
    await tabs.Bruno.enter(url('Bruno'));
    await waitFor('Bruno refused after a reload', async () => /cannot join it again/.test((await errorText(tabs.Bruno)) ?? ''));
    assert.deepEqual((await remoteNames(tabs.Anna)).sort(), ['Cleo'], 'Bruno never reappeared');
  });

  it('ends the meeting for everyone', async () => {
    await tabs.Anna.click('[data-testid="end-meeting"]');
    for (const name of ['Anna', 'Cleo']) {
      await waitFor(`${name} told the meeting ended`, async () => /ended/.test((await errorText(tabs[name])) ?? ''));
      assert.equal(await tabs[name].evaluate(() => !!document.querySelector('[data-testid="to-start"]')), true);
    }
  });
});
