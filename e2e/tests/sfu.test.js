// A room pinned to server forwarding: everyone sends once to the relay (webrtc-rs, ICE-lite, one
// UDP port), which forwards to the others. Chromium and Firefox mixed.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';

import { chromiumTab, firefoxTab, reportRelayConnection, waitFor } from '../lib/browsers.js';
import { reportCpu } from '../lib/cpu.js';
import { mode, remoteNames, videoPlays, videoState } from '../lib/meeting.js';
import { reportConnections, reportRelayWarnings } from '../lib/diagnose.js';
import { Relay } from '../lib/relay.js';

const ARTIFACTS = new URL('../artifacts/', import.meta.url).pathname;
const NAMES = ['Anna', 'Bruno', 'Cleo', 'Dora', 'Emil'];

/** Inbound audio bytes and video frames summed per page, over its single relay connection. */
function inbound(tab) {
  return tab.evaluate(async () => {
    const open = (window.__pcs ?? []).filter((pc) => pc.connectionState !== 'closed');
    let audioBytes = 0;
    let frames = 0;
    let audioStreams = 0;
    for (const pc of open) {
      (await pc.getStats()).forEach((s) => {
        if (s.type !== 'inbound-rtp') return;
        if (s.kind === 'audio' && s.bytesReceived > 0) { audioBytes += s.bytesReceived; audioStreams += 1; }
        if (s.kind === 'video') frames += s.framesDecoded ?? 0;
      });
    }
    return { connections: open.length, audioBytes, audioStreams, frames };
  });
}

/**
 * What the browser learnt from the relay's sender reports (RTCP SR), per forwarded stream: the
 * packets the relay says it sent. Browsers map RTP time to wall-clock time with these reports to
 * play a person's audio and video in sync.
 */
function senderReports(tab) {
  return tab.evaluate(async () => {
    const open = (window.__pcs ?? []).filter((pc) => pc.connectionState !== 'closed');
    const sent = { audio: [], video: [] };
    for (const pc of open) {
      (await pc.getStats()).forEach((s) => {
        if (s.type === 'remote-outbound-rtp' && s.packetsSent > 0) sent[s.kind]?.push(s.packetsSent);
      });
    }
    return sent;
  });
}

describe('a room pinned to server forwarding (SFU), Chromium and Firefox', { timeout: 300_000 }, () => {
  reportCpu();
  let relay;
  const tabs = {};

  before(async () => {
    relay = await Relay.start({ args: ['--sfu-rooms', 'klasse-*'] });
    const engines = [chromiumTab, firefoxTab, chromiumTab, firefoxTab, chromiumTab];
    for (const [i, name] of NAMES.entries()) {
      tabs[name] = await engines[i]();
      await tabs[name].enter(relay.url('klasse-7b', { name }));
    }
  });

  after(async () => {
    for (const [name, tab] of Object.entries(tabs)) reportRelayConnection(name, tab);
    await reportConnections(tabs);
    reportRelayWarnings(relay);
    for (const [name, tab] of Object.entries(tabs)) {
      if (name === 'Anna') await tab.screenshot(`${ARTIFACTS}sfu-five.png`).catch(() => {});
      await tab.close().catch(() => {});
    }
    await relay?.stop();
  });

  it('puts everyone in SFU mode with one connection each, to the relay', async () => {
    for (const [name, tab] of Object.entries(tabs)) {
      await waitFor(`${name} to see the four others`, async () => (await remoteNames(tab)).length === 4);
      assert.equal(await mode(tab), 'sfu');
      await waitFor(`${name}'s relay connection`, async () => (await inbound(tab)).connections === 1);
    }
  });

  it("plays everyone's video and sound for everyone, through the relay", async () => {
    for (const [name, tab] of Object.entries(tabs)) {
      for (const other of NAMES.filter((n) => n !== name)) {
        await waitFor(`${name} to see ${other}'s video`, () => videoPlays(tab, other), { timeout: 40_000 });
      }
      await waitFor(`${name} to receive four audio streams`, async () => {
        const a = await inbound(tab);
        await new Promise((r) => setTimeout(r, 800));
        const b = await inbound(tab);
        return b.audioStreams === 4 && b.audioBytes > a.audioBytes && b.frames > a.frames;
      }, { timeout: 30_000 });
    }
  });

  it("reports each forwarded stream's timing to every browser (for lip sync)", async () => {
    const total = (list) => list.reduce((a, b) => a + b, 0);
    for (const [name, tab] of Object.entries(tabs)) {
      const first = await waitFor(`${name} to get sender reports for four audio and four video streams`, async () => {
        const s = await senderReports(tab);
        return s.audio.length === 4 && s.video.length === 4 && s;
      }, { timeout: 20_000 });
      // The reports keep coming and count what was sent since.
      await waitFor(`${name}'s sender reports to move on`, async () => {
        const s = await senderReports(tab);
        return total(s.audio) > total(first.audio) && total(s.video) > total(first.video);
      }, { timeout: 10_000 });
    }
  });

  it('shows a screen shared from Chromium to everyone, through the relay', async () => {
    const screens = (tab) => tab.evaluate(() => [...document.querySelectorAll('[data-screen]')].map((f) => {
      const v = f.querySelector('video');
      return { name: f.dataset.screen, width: v.videoWidth, time: v.currentTime };
    }));
    await tabs.Anna.click('[data-testid="toggle-share"]');
    for (const name of ['Bruno', 'Cleo', 'Dora', 'Emil']) {
      const first = await waitFor(`${name} to see Anna's screen`, async () => {
        const s = await screens(tabs[name]);
        return s.length === 1 && s[0].name === 'Anna' && s[0].width > 0 && s;
      }, { timeout: 30_000 });
      await waitFor(`Anna's screen playing for ${name}`, async () => {
        const [now] = await screens(tabs[name]);
        return now && now.time > first[0].time;
      });
      // Her camera is still there beside the screen. Each browser answers the relay's offer
      // that brings the screen; on a loaded machine that can hold a picture for a moment
      // (Emil's answer took 2.6 s in one CI rehearsal), so one 0.7 s sample is not the test.
      await waitFor(`${name} to see Anna's camera beside the screen`, () => videoPlays(tabs[name], 'Anna'),
        { timeout: 15_000 });
    }
    await tabs.Anna.click('[data-testid="toggle-share"]');
    for (const name of ['Bruno', 'Dora']) {
      await waitFor(`${name} no longer shows a screen`, async () => (await screens(tabs[name])).length === 0);
    }
  });

  it('shows mutes and removes someone who leaves, without disturbing the others', async () => {
    await tabs.Cleo.click('[data-testid="toggle-mic"]');
    await waitFor('Anna sees Cleo muted', async () => (await videoState(tabs.Anna, 'Cleo'))?.muted === 'true');
    await tabs.Emil.click('[data-testid="leave"]');
    for (const name of ['Anna', 'Bruno', 'Cleo', 'Dora']) {
      await waitFor(`${name} no longer sees Emil`, async () => !(await remoteNames(tabs[name])).includes('Emil'));
    }
    await waitFor("Bruno still sees Dora's video", () => videoPlays(tabs.Bruno, 'Dora'));
  });

  it('features whoever speaks in speaker view, from the forwarded audio levels', async () => {
    // Cleo muted above and Emil left; with Dora muted too, Bruno (Firefox) is the only sound.
    await tabs.Dora.click('[data-testid="toggle-mic"]');
    await tabs.Anna.click('[data-testid="more"]');
    await tabs.Anna.click('[data-testid="toggle-layout"]');
    await waitFor('Bruno featured as the speaker', () => tabs.Anna.evaluate(() =>
      document.querySelector('.tile.featured')?.dataset.participant === 'Bruno'
      && document.querySelector('[data-participant="Bruno"]').dataset.speaking === 'true'), { timeout: 20_000 });
  });
});
