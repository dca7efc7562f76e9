// Chat, raised hands, the participant list and invitations, between Chromium and Firefox.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';

import { chromiumTab, firefoxTab, waitFor } from '../lib/browsers.js';
import { reportCpu } from '../lib/cpu.js';
import { remoteNames, tileNames } from '../lib/meeting.js';
import { Relay } from '../lib/relay.js';

const ARTIFACTS = new URL('../artifacts/', import.meta.url).pathname;
const HOSTILE = '<img src=x onerror="window.__pwned=1">Hallo <b>fett</b> https://example.org/agenda.';

function messages(tab) {
  return tab.evaluate(() => [...document.querySelectorAll('[data-testid="chat-message"]')].map((m) => ({
    from: m.dataset.from,
    text: m.querySelector('.text').textContent,
    links: [...m.querySelectorAll('a')].map((a) => [a.getAttribute('href'), a.getAttribute('rel')]),
    elements: [...m.querySelector('.text').querySelectorAll('*')].map((e) => e.tagName),
  })));
}

async function sendChat(tab, text) {
  await tab.type('[data-testid="chat-input"]', text);
  await tab.press('Enter');
}

function attr(tab, selector, name) {
  return tab.evaluate(([s, n]) => document.querySelector(s)?.getAttribute(n) ?? null, [selector, name]);
}

describe('being together: chat, hands, participant list, invitations', { timeout: 240_000 }, () => {
  reportCpu();
  let relay;
  let anna;
  let bruno;
  const extra = [];

  before(async () => {
    relay = await Relay.start();
    anna = await chromiumTab({ clipboard: true });
    bruno = await firefoxTab();
    await anna.enter(relay.url('treff', { name: 'Anna' }));
    await bruno.enter(relay.url('treff', { name: 'Bruno', cam: '0' }));
    await waitFor('Anna and Bruno together', async () =>
      (await remoteNames(anna)).includes('Bruno') && (await remoteNames(bruno)).includes('Anna'));
  });

  after(async () => {
    await anna?.screenshot(`${ARTIFACTS}together-anna.png`).catch(() => {});
    await bruno?.screenshot(`${ARTIFACTS}together-bruno.png`).catch(() => {});
    for (const tab of [anna, bruno, ...extra]) await tab?.close().catch(() => {});
    await relay?.stop();
  });

  it('chat shows hostile text as plain text, makes links clickable, and counts unread', async () => {
    await anna.click('[data-testid="toggle-chat"]');
    await sendChat(anna, HOSTILE);

    await waitFor('an unread badge for Bruno', async () =>
      (await bruno.evaluate(() => document.querySelector('[data-testid="unread"]')?.textContent ?? '')).startsWith('1'));
    await bruno.click('[data-testid="toggle-chat"]');
    const [message] = await waitFor('the message at Bruno', async () => {
      const m = await messages(bruno);
      return m.length === 1 && m;
    });
    assert.equal(message.from, 'Anna');
    assert.equal(message.text, HOSTILE, 'shown exactly as typed');
    assert.deepEqual(message.links, [['https://example.org/agenda', 'noopener noreferrer nofollow']]);
    assert.deepEqual(message.elements, ['A'], 'no HTML from the message was interpreted');
    assert.equal(await bruno.evaluate(() => window.__pwned ?? null), null);
    assert.equal(await bruno.evaluate(() => document.querySelector('[data-testid="unread"]')), null, 'read once opened');

    await sendChat(bruno, 'Servus aus Firefox');
    await waitFor("Bruno's reply at Anna", async () => (await messages(anna)).some((m) => m.from === 'Bruno'));
    await anna.screenshot(`${ARTIFACTS}chat.png`);
  });

  it('gives people who join late the recent chat', async () => {
    const cleo = await chromiumTab();
    extra.push(cleo);
    await cleo.enter(relay.url('treff', { name: 'Cleo', cam: '0', mic: '0' }));
    await waitFor('Cleo in the room', async () => (await tileNames(cleo)).includes('Cleo'));
    await cleo.click('[data-testid="toggle-chat"]');
    const history = await waitFor('the history', async () => {
      const m = await messages(cleo);
      return m.length === 2 && m;
    });
    assert.deepEqual(history.map((m) => m.from), ['Anna', 'Bruno']);
    await cleo.click('[data-testid="leave"]');
    await waitFor('Cleo gone', async () => !(await remoteNames(anna)).includes('Cleo'));
  });

  it('refuses a chat flood with a sentence and gives the refused text back', async () => {
    for (let i = 0; i < 6; i++) await sendChat(anna, `Nachricht ${i}`);
    const error = await waitFor('the rate-limit sentence', () =>
      anna.evaluate(() => document.querySelector('[data-testid="chat-panel"] [data-testid="error"]')?.textContent));
    assert.match(error, /too quickly/);
    assert.equal(await anna.evaluate(() => document.querySelector('[data-testid="chat-input"]').value), 'Nachricht 5');
  });

  it('shows raised hands to everyone, in the order they went up', async () => {
    await bruno.click('[data-testid="toggle-hand"]');
    await waitFor("Bruno's hand on his tile at Anna", async () =>
      (await attr(anna, '[data-participant="Bruno"]', 'data-hand')) === 'true');
    await anna.click('[data-testid="toggle-hand"]');
    await anna.click('[data-testid="toggle-people"]');
    await bruno.click('[data-testid="toggle-people"]');
    for (const tab of [anna, bruno]) {
      const order = await waitFor('two hands listed', async () => {
        const hands = await tab.evaluate(() =>
          [...document.querySelectorAll('[data-testid="hands"] li')].map((li) => li.textContent));
        return hands.length === 2 && hands;
      });
      assert.deepEqual(order, ['Bruno', 'Anna']);
    }
    assert.equal(await attr(anna, '[data-testid="toggle-hand"]', 'aria-pressed'), 'true');
    await bruno.click('[data-testid="toggle-hand"]');
    await waitFor('Bruno lowered his hand', async () =>
      (await attr(anna, '[data-participant="Bruno"]', 'data-hand')) === 'false');
    await anna.click('[data-testid="toggle-hand"]');
  });

  it('lists everyone with microphone and camera state', async () => {
    await anna.click('[data-testid="toggle-mic"]');
    const row = (tab, name) => tab.evaluate((n) => {
      const li = [...document.querySelectorAll('[data-testid="person"]')].find((p) => p.dataset.name === n);
      return li && { mic: li.dataset.mic, cam: li.dataset.cam };
    }, name);
    await waitFor('Anna muted in Bruno\'s list', async () => (await row(bruno, 'Anna'))?.mic === 'false');
    assert.deepEqual(await row(bruno, 'Anna'), { mic: 'false', cam: 'true' });
    assert.deepEqual(await row(anna, 'Bruno'), { mic: 'true', cam: 'false' }, 'Bruno joined with cam=0');
    await anna.click('[data-testid="toggle-mic"]');
  });

  it('copies an invitation link that opens this room', async () => {
    await anna.click('[data-testid="more"]');
    await anna.click('[data-testid="invite"]');
    const copied = await waitFor('the clipboard', () => anna.evaluate(() => navigator.clipboard.readText()));
    assert.equal(copied, `${relay.origin}/?room=treff`);
    const announced = await anna.evaluate(() => document.querySelector('[data-testid="announcer"]').textContent);
    assert.match(announced, /copied/);
  });

  it('shows a hostile display name as plain text to everyone', async () => {
    const evil = await chromiumTab();
    extra.push(evil);
    const name = '<img src=x onerror=alert(1)>';
    await evil.enter(relay.url('treff', { name, cam: '0', mic: '0' }));
    await waitFor('the hostile name on a tile at Bruno', async () => (await remoteNames(bruno)).includes(name));
    for (const tab of [anna, bruno]) {
      const images = await tab.evaluate(() => document.querySelectorAll('.tile img, .panel img').length);
      assert.equal(images, 0);
      const shown = await tab.evaluate((n) =>
        [...document.querySelectorAll('.tile .name')].some((e) => e.textContent === n), name);
      assert.ok(shown);
    }
    await evil.close();
  });
});
