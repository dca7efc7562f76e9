// WCAG checks with axe-core in both browsers, a keyboard-only walkthrough, and the phone layout.
import assert from 'node:assert/strict';
import { after, afterEach, before, describe, it } from 'node:test';

import { seriousViolations, tabTo } from '../lib/a11y.js';
import { chromiumTab, firefoxTab, waitFor } from '../lib/browsers.js';
import { reportCpu } from '../lib/cpu.js';
import { remoteNames, shownText, tileNames } from '../lib/meeting.js';
import { Relay } from '../lib/relay.js';

const ARTIFACTS = new URL('../artifacts/', import.meta.url).pathname;

describe('accessibility', { timeout: 300_000 }, () => {
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

  for (const [engine, make] of [['chromium', chromiumTab], ['firefox', firefoxTab]]) {
    it(`axe finds no serious or critical problems in ${engine}: pre-join, and a meeting with chat open`, async () => {
      const room = `axe-${engine}`;
      const other = track(await chromiumTab());
      await other.enter(relay.url(room, { name: 'Gegenüber' }));
      const tab = track(await make());
      await tab.goto(relay.url(room));
      await waitFor('the pre-join screen', () => tab.evaluate(() => !!document.querySelector('[data-testid="join"]')));
      assert.deepEqual(await seriousViolations(tab), [], 'pre-join');

      await tab.type('#display-name', 'Prüferin');
      await tab.click('[data-testid="join"]');
      await waitFor('in the meeting', async () => (await remoteNames(tab)).includes('Gegenüber'));
      await tab.click('[data-testid="toggle-chat"]');
      await tab.type('[data-testid="chat-input"]', 'Guten Tag https://example.org');
      await tab.press('Enter');
      await waitFor('the message', () => tab.evaluate(() => !!document.querySelector('[data-testid="chat-message"]')));
      assert.deepEqual(await seriousViolations(tab), [], 'meeting with chat open');
      await tab.close();
      await other.close();
    });
  }

  it('works by keyboard alone: join, mute, raise hand, chat, leave', async () => {
    const other = track(await chromiumTab());
    await other.enter(relay.url('tastatur', { name: 'Zuhörer', cam: '0' }));
    const tab = track(await chromiumTab());
    await tab.goto(relay.url('tastatur'));
    await waitFor('the pre-join screen', () => tab.evaluate(() => !!document.querySelector('[data-testid="name"]')));

    await tabTo(tab, 'name');
    await tab.page.keyboard.type('Karla Tastatur');
    await tab.press('Enter');
    await waitFor('in the meeting', async () => (await tileNames(tab)).includes('Karla Tastatur'));

    await tabTo(tab, 'toggle-mic');
    const outline = await tab.evaluate(() => getComputedStyle(document.activeElement).outlineStyle);
    assert.notEqual(outline, 'none', 'focus is visible');
    await tab.press('Space');
    await waitFor('muted, seen by the other', async () => other.evaluate(() =>
      document.querySelector('[data-participant="Karla Tastatur"]')?.dataset.muted === 'true'));

    await tabTo(tab, 'toggle-hand');
    await tab.press('Enter');
    await waitFor('the hand, seen by the other', async () => other.evaluate(() =>
      document.querySelector('[data-participant="Karla Tastatur"]')?.dataset.hand === 'true'));

    await tabTo(tab, 'toggle-chat');
    await tab.press('Enter');
    await waitFor('focus in the chat box', () => tab.evaluate(() => document.activeElement?.dataset.testid === 'chat-input'));
    await tab.page.keyboard.type('Hallo, nur mit der Tastatur');
    await tab.press('Enter');
    await other.click('[data-testid="toggle-chat"]');
    await waitFor('the message at the other', () => other.evaluate(() =>
      [...document.querySelectorAll('[data-testid="chat-message"] .text')].some((t) => t.textContent === 'Hallo, nur mit der Tastatur')));

    await tabTo(tab, 'leave');
    await tab.press('Enter');
    await waitFor('left', async () => !(await remoteNames(other)).includes('Karla Tastatur'));
  });

  it('announces joins, hands and chat messages in a polite live region', async () => {
    const tab = track(await chromiumTab());
    await tab.enter(relay.url('ansagen', { name: 'Ohr', cam: '0' }));
    await waitFor('in', async () => (await tileNames(tab)).includes('Ohr'));
    const region = await tab.evaluate(() => {
      const r = document.querySelector('[data-testid="announcer"]');
      return { live: r.getAttribute('aria-live'), role: r.getAttribute('role') };
    });
    assert.deepEqual(region, { live: 'polite', role: 'status' });
    const guest = track(await chromiumTab());
    await guest.enter(relay.url('ansagen', { name: 'Gast', cam: '0' }));
    const announced = () => shownText(tab, '[data-testid="announcer"]');
    await waitFor('the join announced', async () => (await announced()) === 'Gast joined the meeting.');
    await guest.click('[data-testid="toggle-hand"]');
    await waitFor('the hand announced', async () => (await announced()) === 'Gast raised their hand.');
    await guest.click('[data-testid="toggle-chat"]');
    await guest.type('[data-testid="chat-input"]', 'Frage');
    await guest.press('Enter');
    await waitFor('the message announced', async () => (await announced()) === 'Gast writes: Frage');
    await guest.close();
    await waitFor('the leave announced', async () => (await announced()) === 'Gast left the meeting.');
  });

  it('fits a 390 x 844 phone screen without sideways scrolling, chat included', async () => {
    const others = [];
    for (const name of ['Ada', 'Ben']) {
      const t = track(await chromiumTab());
      await t.enter(relay.url('handy', { name }));
      others.push(t);
    }
    const phone = track(await chromiumTab({ viewport: { width: 390, height: 844 } }));
    await phone.enter(relay.url('handy', { name: 'Phone' }));
    await waitFor('three tiles', async () => (await tileNames(phone)).length === 3);
    const fits = () => phone.evaluate(() => {
      const root = document.scrollingElement;
      const controls = document.querySelector('.controls').getBoundingClientRect();
      return {
        sideways: root.scrollWidth > root.clientWidth,
        controlsInside: controls.left >= 0 && controls.right <= window.innerWidth,
      };
    });
    assert.deepEqual(await fits(), { sideways: false, controlsInside: true });
    await phone.screenshot(`${ARTIFACTS}phone-grid.png`);
    await phone.click('[data-testid="toggle-chat"]');
    await phone.type('[data-testid="chat-input"]', 'Vom Handy');
    await phone.press('Enter');
    await waitFor('the message', () => phone.evaluate(() => !!document.querySelector('[data-testid="chat-message"]')));
    assert.deepEqual(await fits(), { sideways: false, controlsInside: true });
    const panel = await phone.evaluate(() => {
      const r = document.querySelector('[data-testid="chat-panel"]').getBoundingClientRect();
      return r.left >= 0 && r.right <= window.innerWidth && r.width > 300;
    });
    assert.ok(panel, 'the chat panel fills the phone screen');
    await phone.screenshot(`${ARTIFACTS}phone-chat.png`);
  });
});
