// Twelve in one council room: three Chromium participants and one Firefox plus eight synthetic
// ones from the load generator (real VP8 simulcast and Opus over WebRTC, no browser). Everyone
// must see and hear everyone: the browsers check their tiles and inbound audio, the synthetic
// participants report what they received.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { after, before, describe, it } from 'node:test';

import { chromiumTab, firefoxTab, reportRelayConnection, waitFor } from '../lib/browsers.js';
import { reportCpu } from '../lib/cpu.js';
import { mode, playingVideos, remoteNames } from '../lib/meeting.js';
import { reportConnections, reportRelayWarnings } from '../lib/diagnose.js';
import { Relay } from '../lib/relay.js';
import { udpCounters, udpDropsByProgram, udpSummary } from '../lib/udp.js';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');
const LOADGEN = process.env.LOADGEN_BIN ?? path.join(root, 'target', 'release', 'loadgen');
const ARTIFACTS = new URL('../artifacts/', import.meta.url).pathname;
const BROWSERS = ['Anna', 'Bruno', 'Cleo', 'Dora'];
const SYNTHETIC = 8;
const ROOM = 'rat-0'; // the load generator names its rooms <prefix>-<n>

/** Audio streams whose received bytes keep rising, over the page's relay connection. */
function liveAudioStreams(tab) {
  return tab.evaluate(async () => {
    const count = async () => {
      const bytes = new Map();
      for (const pc of (window.__pcs ?? []).filter((p) => p.connectionState !== 'closed')) {
        (await pc.getStats()).forEach((s) => {
          if (s.type === 'inbound-rtp' && s.kind === 'audio') bytes.set(s.id, s.bytesReceived ?? 0);
        });
      }
      return bytes;
    };
    const a = await count();
    await new Promise((r) => setTimeout(r, 1000));
    const b = await count();
    return [...b].filter(([id, n]) => n > (a.get(id) ?? 0)).length;
  });
}

describe('twelve participants in one room: browsers and synthetic participants', { timeout: 420_000 }, () => {
  reportCpu();
  let relay;
  let loadgen;
  let loadgenOutput = '';
  let loadgenDone;
  const tabs = {};
  let udpBefore;

  before(async () => {
    udpBefore = udpCounters();
    relay = await Relay.start({ args: ['--sfu-rooms', 'rat-*'] });
    // Three Chromium participants share one browser process; one Firefox (a process of its own,
    // and the heavier of the two) is enough to have both engines in the room. With two Firefox
    // processes the browsers alone kept both cores 98 % busy (docs/benchmarks.md).
    const engines = [chromiumTab, firefoxTab, chromiumTab, chromiumTab];
    for (const [i, name] of BROWSERS.entries()) {
      tabs[name] = await engines[i]();
      await tabs[name].enter(relay.url(ROOM, { name }));
    }
    loadgen = spawn(LOADGEN, [
      '--url', `ws://${relay.address}/ws`, '--bind', process.env.E2E_MEDIA_IP ?? '127.0.0.1',
      '--room-prefix', 'rat', '--rooms', '1', '--publishers', String(SYNTHETIC), '--listeners', '0',
      // Longer than the test needs: it interrupts them once the browsers are done.
      '--seconds', '240', '--ramp-ms', '300',
    ], { stdio: ['ignore', 'pipe', 'pipe'] });
    loadgen.stdout.on('data', (chunk) => { loadgenOutput += chunk; });
    loadgen.stderr.on('data', (chunk) => { loadgenOutput += chunk; });
    loadgenDone = new Promise((resolve) => loadgen.once('exit', resolve));
  });

  after(async () => {
    for (const [name, tab] of Object.entries(tabs)) reportRelayConnection(name, tab);
    console.log(udpSummary(udpBefore, udpCounters()));
    reportRelayWarnings(relay);
    for (const [name, tab] of Object.entries(tabs)) {
      if (name === 'Anna') await tab.screenshot(`${ARTIFACTS}twelve.png`).catch(() => {});
      await tab.close().catch(() => {});
    }
    loadgen?.kill();
    await relay?.stop();
  });

  it('shows every browser all eleven others, their video playing and their sound arriving', async () => {
    for (const [name, tab] of Object.entries(tabs)) {
      await waitFor(`${name} to see eleven others`, async () => (await remoteNames(tab)).length === 11,
        { timeout: 60_000 });
      assert.equal(await mode(tab), 'sfu');
    }
    // All tiles of a browser are sampled at once, until each has shown new frames at least
    // once: on two loaded cores a picture may freeze for a moment, and checking the eleven one
    // after the other would wait out each freeze in turn.
    for (const [name, tab] of Object.entries(tabs)) {
      const others = await remoteNames(tab);
      const seen = new Set();
      const deadline = Date.now() + 90_000;
      while (others.some((o) => !seen.has(o)) && Date.now() < deadline) {
        for (const other of await playingVideos(tab)) seen.add(other);
      }
      assert.deepEqual(others.filter((o) => !seen.has(o)), [], `${name} sees no new frames from them in 90 s`);
      await waitFor(`${name} to hear eleven others`, async () => (await liveAudioStreams(tab)) === 11,
        { timeout: 30_000 });
    }
  });

  it('gets every synthetic participant everyone else\'s picture and sound', async () => {
    await reportConnections(tabs);
    console.log(`udp datagrams dropped at open sockets, by program: ${JSON.stringify(udpDropsByProgram())}`);
    // The synthetic participants leave when interrupted, then report what they received.
    loadgen.kill('SIGINT');
    await loadgenDone;
    const line = (label) => loadgenOutput.split('\n').find((l) => l.startsWith(`| ${label} |`)) ?? '';
    for (const label of ['loss (all streams)', 'first frame median / p95', 'freezes > 500 ms']) console.log(line(label));
    assert.match(line('media connections up'), new RegExp(`\\| ${SYNTHETIC}/${SYNTHETIC} \\|`), loadgenOutput);
    assert.match(line('participant errors'), /\| 0 \|/, loadgenOutput);
    // Each of them decoded pictures from, and heard, all eleven others.
    assert.match(line('fewest tracks received by one participant'), /video 11, audio 11/, loadgenOutput);
  });
});
