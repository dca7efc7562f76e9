// Pressing "Join" at every moment a person might: before the browser has answered for camera
// and microphone, while it is still opening them, after the preview plays, twice in a row, with
// the camera denied, and with no camera at all. Each ends in the meeting, with the media that
// could be had (seen by someone already there) or a sentence saying what is missing, and no page
// error (lib/browsers.js fails the test on any), in Chromium and in Firefox.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';

import { chromiumTab, firefoxTab, waitFor } from '../lib/browsers.js';
import { reportCpu } from '../lib/cpu.js';
import { errorText, inboundStats, remoteNames, videoPlays } from '../lib/meeting.js';
import { Relay } from '../lib/relay.js';

const ROOM = 'jetzt-beitreten';

// Holds every getUserMedia answer until the test calls `window.__openDevices()`: the pre-join
// screen has asked, and the browser has not answered yet.
function holdDevices() {
  const devices = navigator.mediaDevices;
  if (!devices?.getUserMedia) return;
  const original = devices.getUserMedia.bind(devices);
  let open;
  const gate = new Promise((resolve) => { open = resolve; });
  window.__openDevices = () => open();
  window.__deviceRequests = 0;
  devices.getUserMedia = async (constraints) => {
    window.__deviceRequests += 1;
    await gate;
    return original(constraints);
  };
}

// A computer without a camera: asking for video fails as browsers fail it then.
function noCamera() {
  const devices = navigator.mediaDevices;
  if (!devices?.getUserMedia) return;
  const original = devices.getUserMedia.bind(devices);
  devices.getUserMedia = (constraints = {}) => (constraints.video
    ? Promise.reject(new DOMException('Requested device not found', 'NotFoundError'))
    : original(constraints));
}

const joinButton = (tab) => tab.evaluate(() => document.querySelector('[data-testid="join"]') !== null);

// Own tile in the meeting, its camera showing (or, with `camera: false`, no camera).
async function inMeeting(tab, name, { camera = true } = {}) {
  await waitFor(`${name}'s own tile`, () => tab.evaluate(() => !!document.querySelector('[data-self]')));
  if (camera) {
    await waitFor(`${name}'s own camera in the meeting`, () => tab.evaluate(() => {
      const v = document.querySelector('[data-self] video');
      return v && v.videoWidth > 0 && v.currentTime > 0;
    }));
  }
  assert.equal(await tab.evaluate(() => document.querySelectorAll('[data-self]').length), 1, 'one own tile');
}

describe('pressing Join at every moment', { timeout: 360_000 }, () => {
  reportCpu();
  let relay;
  let host;
  const people = [];
  const person = async (open) => {
    const tab = await open();
    people.push(tab);
    return tab;
  };

  // Someone already in the room, who sees and hears each newcomer.
  before(async () => {
    relay = await Relay.start();
    host = await chromiumTab();
    await host.enter(relay.url(ROOM, { name: 'Gastgeberin', cam: '0' }));
    await waitFor('the host in the room', () => host.evaluate(() => !!document.querySelector('[data-self]')));
  });
  after(async () => {
    for (const tab of people) await tab.close().catch(() => {});
    await host?.close();
    await relay?.stop();
  });

  // The newcomer leaves again and closes the browser, and the host sees it, so the next case
  // starts in the same room.
  async function leaves(tab, name) {
    await tab.click('[data-testid="leave"]');
    await waitFor(`${name} gone at the host`, async () => !(await remoteNames(host)).includes(name));
    await tab.close();
  }

  async function seenByHost(name) {
    await waitFor(`the host sees ${name}'s camera`, () => videoPlays(host, name), { timeout: 30_000 });
  }

  for (const [engine, open] of [['chromium', chromiumTab], ['firefox', firefoxTab]]) {
    it(`${engine}: Join as soon as the button is there, before the devices have answered`, async () => {
      const name = `Sofort ${engine}`;
      const tab = await person(() => open());
      await tab.goto(relay.url(ROOM, { name }));
      await waitFor('the join button', () => joinButton(tab), { interval: 20 });
      await tab.click('[data-testid="join"]');
      await inMeeting(tab, name);
      await seenByHost(name);
      assert.equal(await errorText(tab), null, 'nothing missing');
      await leaves(tab, name);
    });

    it(`${engine}: Join while the browser is still opening camera and microphone`, async () => {
      const name = `Während ${engine}`;
      const tab = await person(() => open());
      await tab.addInitScript(holdDevices);
      await tab.goto(relay.url(ROOM, { name }));
      await waitFor('the pre-join screen asking for the devices', () => tab.evaluate(() => window.__deviceRequests > 0));
      await tab.click('[data-testid="join"]');
      await waitFor('the meeting', () => tab.evaluate(() => !!document.querySelector('main.meeting')));
      await tab.evaluate(() => window.__openDevices());
      await inMeeting(tab, name);
      await seenByHost(name);
      assert.equal(await tab.evaluate(() => window.__deviceRequests), 1, 'the devices opened once, for pre-join and meeting');
      await leaves(tab, name);
    });

    it(`${engine}: Join after the preview plays, with a double click`, async () => {
      const name = `Doppelt ${engine}`;
      const tab = await person(() => open());
      await tab.goto(relay.url(ROOM, { name }));
      await waitFor('the preview to play', () => tab.evaluate(() => {
        const v = document.querySelector('.preview video');
        return v && v.videoWidth > 0 && v.currentTime > 0;
      }));
      // Two clicks in one task, faster than any person: the second lands on a screen that the
      // first has already replaced.
      await tab.evaluate(() => {
        const button = document.querySelector('[data-testid="join"]');
        button.click();
        button.click();
      });
      await inMeeting(tab, name);
      await seenByHost(name);
      const status = await (await fetch(`${relay.origin}/api/status`)).json();
      assert.equal(status.participants, 2, 'joined once');
      await leaves(tab, name);
    });

    it(`${engine}: Join with camera and microphone denied`, async () => {
      const name = `Verweigert ${engine}`;
      const tab = await person(() => open({ deny: true }));
      await tab.goto(relay.url(ROOM, { name }));
      await waitFor('the pre-join screen saying the devices are blocked', async () =>
        /blocked the camera and microphone/.test((await errorText(tab)) ?? ''));
      await tab.click('[data-testid="join"]');
      await inMeeting(tab, name, { camera: false });
      await waitFor('the host sees the newcomer', async () => (await remoteNames(host)).includes(name));
      await waitFor('the meeting saying why', async () => /blocked the camera and microphone/.test((await errorText(tab)) ?? ''));
      await leaves(tab, name);
    });

    it(`${engine}: Join on a computer without a camera`, async () => {
      const name = `Ohne Kamera ${engine}`;
      const tab = await person(() => open());
      await tab.addInitScript(noCamera);
      await tab.goto(relay.url(ROOM, { name }));
      await waitFor('the pre-join screen saying the camera is missing', async () =>
        /No camera was found/.test((await errorText(tab)) ?? ''));
      await tab.click('[data-testid="join"]');
      await inMeeting(tab, name, { camera: false });
      await waitFor('the meeting saying what is missing', async () => /No camera was found.*microphone only/.test((await errorText(tab)) ?? ''));
      await waitFor('the host hears the newcomer', async () => {
        const audio = async () => (await inboundStats(host)).reduce((sum, s) => sum + s.audioBytes, 0);
        const before = await audio();
        await new Promise((r) => setTimeout(r, 1000));
        return (await audio()) > before;
      });
      await leaves(tab, name);
    });
  }
});
