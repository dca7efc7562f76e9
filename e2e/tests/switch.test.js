// A mesh that grows past four switches live to server forwarding, make-before-break: five people
// join one after another (Chromium and Firefox alternating); nobody's picture stops for long.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';

import { chromiumTab, firefoxTab, reportRelayConnection, waitFor } from '../lib/browsers.js';
import { reportConnections, reportRelayWarnings } from '../lib/diagnose.js';
import { reportCpu } from '../lib/cpu.js';
import { mode, playingVideos, remoteNames, videoPlays } from '../lib/meeting.js';
import { Relay } from '../lib/relay.js';

const NAMES = ['Anna', 'Bruno', 'Cleo', 'Dora', 'Emil'];
// The mesh of four mixes both engines; the fifth, whose joining switches the room, uses
// Chromium. Each browser stands for one person's computer, and all share two cores: with six
// (three of them Firefox, the heavier engine) the machine stayed 100 % busy for minutes,
// Chromium's setRemoteDescription took 25 s, a page's negotiation events waited 100 s, and in
// CI rehearsal E one page's relay connection had not started ICE after 180 s. A sixth person
// joining a room that is already forwarded is the SFU suite's subject.
const ENGINES = { Anna: chromiumTab, Bruno: firefoxTab, Cleo: chromiumTab, Dora: firefoxTab, Emil: chromiumTab };
// From everyone being in SFU mode to one connection each and all 20 pictures playing through
// the relay: 20-100 s with six browsers on two cores, a few seconds on a machine with time to
// spare.
const SEE_EVERYONE_MS = 180_000;

// Samples, in the page, how far a tile's video clock advanced; records the longest stall, and
// when the tile's stream was swapped (direct connection -> relay), so a long stall can be told
// apart: before the swap (the direct connection faltered), or after it (the relay's picture was
// not there yet). Time in which the page itself did not run (six browsers on two cores starve it
// now and then) is not counted as a stall of the video.
function startWatching(name) {
  const start = performance.now();
  const w = { last: null, lastChange: start, lastTick: start, longest: 0, longestEnded: 0, swaps: [], stream: null, sfuAt: null };
  window.__watch = w;
  setInterval(() => {
    const tile = [...document.querySelectorAll('[data-participant]')].find((t) => t.dataset.participant === name);
    const video = tile?.querySelector('video');
    const time = video?.currentTime ?? null;
    const now = performance.now();
    if (now - w.lastTick > 400) w.lastChange += now - w.lastTick - 100;
    w.lastTick = now;
    if (w.sfuAt === null && document.querySelector('main.meeting')?.dataset.mode === 'sfu') w.sfuAt = Math.round(now - start);
    if (video && video.srcObject !== w.stream) {
      w.stream = video.srcObject;
      w.swaps.push({ at: Math.round(now - start), videoTracks: w.stream?.getVideoTracks().length ?? 0 });
    }
    if (time !== null && time !== w.last) {
      if (now - w.lastChange > w.longest) {
        w.longest = now - w.lastChange;
        w.longestEnded = Math.round(now - start);
      }
      w.last = time;
      w.lastChange = now;
    }
  }, 100);
}

describe('a mesh that grows past four switches live to the relay', { timeout: 480_000 }, () => {
  reportCpu();
  let relay;
  const tabs = {};

  before(async () => { relay = await Relay.start(); });
  after(async () => {
    for (const [name, tab] of Object.entries(tabs)) reportRelayConnection(name, tab);
    await reportConnections(tabs);
    reportRelayWarnings(relay);
    for (const tab of Object.values(tabs)) await tab.close().catch(() => {});
    await relay?.stop();
  });

  it('stays a mesh for four', async () => {
    for (const name of NAMES.slice(0, 4)) {
      tabs[name] = await ENGINES[name]();
      await tabs[name].enter(relay.url('wachsend', { name }));
    }
    for (const name of NAMES.slice(0, 4)) {
      await waitFor(`${name} sees three`, async () => (await remoteNames(tabs[name])).length === 3);
      assert.equal(await mode(tabs[name]), 'mesh');
    }
    await waitFor("Anna sees Bruno's video", () => videoPlays(tabs.Anna, 'Bruno'), { timeout: 30_000 });
    await tabs.Anna.evaluate(startWatching, 'Bruno');
  });

  it('switches everyone to SFU when the fifth joins, and everyone sees everyone', async () => {
    for (const name of NAMES.slice(4)) {
      tabs[name] = await ENGINES[name]();
      await tabs[name].enter(relay.url('wachsend', { name }));
    }
    for (const name of NAMES) {
      await waitFor(`${name} in SFU mode with four others`, async () =>
        (await mode(tabs[name])) === 'sfu' && (await remoteNames(tabs[name])).length === NAMES.length - 1);
    }
    // Then the direct connections go, each once the relay delivers that participant's picture
    // (and 10 s more, so that the other end can finish its own switch), and every picture that
    // still plays comes through the relay. All 20 are watched together against one deadline:
    // on two busy cores the relay's pictures arrive in any order, and a browser may take half a
    // minute to answer the relay's offer (Chromium's setRemoteDescription and
    // setLocalDescription alone have taken 17 s).
    const started = Date.now();
    const deadline = started + SEE_EVERYONE_MS;
    // A page that is not there yet says what its connections are doing (state/ICE/signalling,
    // transceivers), so that a timeout explains itself in a CI log.
    await Promise.all(NAMES.map((name) => waitFor(`${name} down to one connection`, async () => {
      const open = await tabs[name].evaluate(() => window.__pcs.filter((pc) => pc.connectionState !== 'closed')
        .map((pc) => `${pc.connectionState}/${pc.iceConnectionState}/${pc.signalingState}/${pc.getTransceivers().length}`));
      if (open.length === 1) return true;
      throw new Error(open.join(' '));
    }, { timeout: deadline - Date.now() })));
    const oneEach = Date.now() - started;
    const missing = new Set(NAMES.flatMap((name) => NAMES.filter((o) => o !== name).map((o) => `${name} sees ${o}`)));
    while (missing.size > 0 && Date.now() < deadline) {
      await Promise.all(NAMES.map(async (name) => {
        const playing = await playingVideos(tabs[name]).catch(() => []);
        for (const other of playing) missing.delete(`${name} sees ${other}`);
      }));
    }
    console.log(`one connection each after ${(oneEach / 1000).toFixed(1)} s; all pictures through the relay after ${((Date.now() - started) / 1000).toFixed(1)} s`);
    assert.deepEqual([...missing], [], `pictures not playing through the relay after ${SEE_EVERYONE_MS / 1000} s`);
  });

  it("kept Bruno's picture moving for Anna through the switch (no stall over 5 s)", async () => {
    const watch = await tabs.Anna.evaluate(() => window.__watch);
    const longest = watch.longest;
    console.log(`longest stall of Bruno's video at Anna during the switch: ${Math.round(longest)} ms, `
      + `ending ${watch.longestEnded} ms after watching began; SFU mode at ${watch.sfuAt} ms; stream swaps: ${JSON.stringify(watch.swaps)}`);
    // The target is about 2 s and is measured in docs/benchmarks.md. A switch that broke
    // before it made (dropping the direct connection before the relay delivered) stalled for
    // as long as the relay took: 6.9 and 7.7 s on a fresh machine. Since that was fixed, with
    // six browsers keeping two cores 98 % busy, stalls were 0.4-2.8 s in five runs; 5 s is
    // nearly twice the worst of them.
    assert.ok(longest < 5000, `stalled for ${Math.round(longest)} ms`);
  });
});
