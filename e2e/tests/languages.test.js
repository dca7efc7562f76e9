// The languages beside German and English, in both engines: a browser that prefers Arabic gets
// Arabic, right to left, with the layout mirrored (checked by where things are, by axe, and in
// screenshots); plural forms come from the language's CLDR rules; the top bar's language menu
// switches to Turkish and Ukrainian and back to left to right.
import assert from 'node:assert/strict';
import { after, afterEach, before, describe, it } from 'node:test';

import { seriousViolations } from '../lib/a11y.js';
import { chromiumTab, firefoxTab, waitFor } from '../lib/browsers.js';
import { reportCpu } from '../lib/cpu.js';
import { remoteNames, shownText } from '../lib/meeting.js';
import { Relay } from '../lib/relay.js';

const ARTIFACTS = new URL('../artifacts/', import.meta.url).pathname;

const documentLanguage = (tab) => tab.evaluate(() => ({ lang: document.documentElement.lang, dir: document.documentElement.dir }));

/** Where the toolbar's first button (microphone) and last (leave) are, and whether the own
 * tile's name label sits in the tile's right half. */
function placement(tab) {
  return tab.evaluate(() => {
    const box = (sel) => document.querySelector(sel).getBoundingClientRect();
    const tile = box('[data-participant][data-self]');
    const label = box('[data-participant][data-self] .name');
    return {
      micLeftOfLeave: box('[data-testid="toggle-mic"]').left < box('[data-testid="leave"]').left,
      labelOnTheRight: label.left + label.width / 2 > tile.left + tile.width / 2,
    };
  });
}

/** Picks `tag` in the top bar's language menu, as a person does with a `<select>`. */
function chooseLanguage(tab, tag) {
  return tab.evaluate((t) => {
    const menu = document.querySelector('[data-testid="language"]');
    menu.value = t;
    menu.dispatchEvent(new Event('change', { bubbles: true }));
  }, tag);
}

describe('languages: Arabic right to left, Turkish, Ukrainian', { timeout: 300_000 }, () => {
  reportCpu();
  let relay;
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

  for (const [engine, make] of [['chromium', chromiumTab], ['firefox', firefoxTab]]) {
    it(`speaks Arabic right to left in ${engine}, then Turkish and Ukrainian from the menu`, async () => {
      const room = `sprachen-${engine}`;
      const other = track(await chromiumTab());
      await other.enter(relay.url(room, { name: 'Gegenüber' }));

      const tab = track(await make({ locale: 'ar' }));
      await tab.goto(relay.url(room, { name: 'ليلى' }));
      await waitFor('the pre-join screen', () => tab.evaluate(() => !!document.querySelector('[data-testid="join"]')));
      assert.deepEqual(await documentLanguage(tab), { lang: 'ar', dir: 'rtl' });
      assert.equal(await shownText(tab, '[data-testid="join"]'), 'انضم');
      assert.deepEqual(await seriousViolations(tab), [], 'axe, Arabic pre-join');
      await tab.screenshot(`${ARTIFACTS}arabic-prejoin-${engine}.png`);

      await tab.click('[data-testid="join"]');
      await waitFor('in the meeting', async () => (await remoteNames(tab)).includes('Gegenüber'));
      // Two people: Arabic has a form of its own for two ("مشاركان"), beside one, few, many.
      await waitFor('the count in Arabic', async () => (await shownText(tab, '[data-testid="participant-count"]')) === 'مشاركان');
      assert.equal(await shownText(tab, '[data-participant][data-self] .name'), 'ليلى (أنت)');
      // Mirrored: the toolbar starts at the right, the name label sits at the tile's right; the
      // English-speaking other sees them the other way round.
      assert.deepEqual(await placement(tab), { micLeftOfLeave: false, labelOnTheRight: true }, 'mirrored in Arabic');
      assert.deepEqual(await placement(other), { micLeftOfLeave: true, labelOnTheRight: false }, 'not mirrored in English');
      await tab.click('[data-testid="toggle-chat"]');
      await tab.type('[data-testid="chat-input"]', 'مرحبًا Gegenüber');
      await tab.press('Enter');
      await waitFor('the message', () => tab.evaluate(() => !!document.querySelector('[data-testid="chat-message"]')));
      assert.deepEqual(await seriousViolations(tab), [], 'axe, Arabic meeting with chat open');
      await tab.screenshot(`${ARTIFACTS}arabic-meeting-${engine}.png`);

      await chooseLanguage(tab, 'tr');
      await waitFor('Turkish', async () => (await shownText(tab, '[data-testid="participant-count"]')) === '2 katılımcı');
      assert.deepEqual(await documentLanguage(tab), { lang: 'tr', dir: 'ltr' });
      assert.deepEqual(await placement(tab), { micLeftOfLeave: true, labelOnTheRight: false }, 'left to right again');

      await chooseLanguage(tab, 'uk');
      // Ukrainian: 2 takes the "few" form.
      await waitFor('Ukrainian', async () => (await shownText(tab, '[data-testid="participant-count"]')) === '2 учасники');
      assert.equal(await shownText(tab, '[data-testid="leave"]'), 'Вийти');
      assert.deepEqual(await seriousViolations(tab), [], 'axe, Ukrainian');
      // Remembered for the next visit.
      await tab.goto(relay.url(room));
      await waitFor('Ukrainian remembered', async () => (await documentLanguage(tab)).lang === 'uk');
    });
  }
});
