// A long session: a council meeting or a school day sees hundreds of people come and go in one
// server-forwarded room. Anna (Chromium) and Bruno (Firefox) stay the whole time while 200
// synthetic participants from the load generator (real VP8 simulcast and Opus over WebRTC) join
// and leave one after another. Their connections must stay as small as what they receive now
// (the relay hands the transceivers of those who left to newcomers), and a newcomer's picture
// must come as quickly at the end as at the start.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { after, before, describe, it } from 'node:test';

import { chromiumTab, firefoxTab, waitFor } from '../lib/browsers.js';
import { reportCpu } from '../lib/cpu.js';
import { mode, playingVideos, remoteNames } from '../lib/meeting.js';
import { reportRelayWarnings } from '../lib/diagnose.js';
import { Relay } from '../lib/relay.js';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');
const LOADGEN = process.env.LOADGEN_BIN ?? path.join(root, 'target', 'release', 'loadgen');
const ROOM = 'verein-0'; // the load generator names its rooms <prefix>-<n>
const CYCLES = Number(process.env.E2E_CHURN ?? 200);

/** Starts `publishers` synthetic participants in the room, `rampMs` apart; each stays `stayMs`
 * from its own start, or all stay until `seconds` after the last one started. */
function loadgen(relay, { publishers, seconds = 1, rampMs, stayMs }) {
  const child = spawn(LOADGEN, [
    '--url', `ws://${relay.address}/ws`, '--bind', process.env.E2E_MEDIA_IP ?? '127.0.0.1',
    '--room-prefix', 'verein', '--rooms', '1', '--publishers', String(publishers), '--listeners', '0',
    '--seconds', String(seconds), '--ramp-ms', String(rampMs), '--warmup', '0',
    ...(stayMs ? ['--stay-ms', String(stayMs)] : []),
  ], { stdio: ['ignore', 'pipe', 'pipe'] });
  let output = '';
  child.stdout.on('data', (chunk) => { output += chunk; });
  child.stderr.on('data', (chunk) => { output += chunk; });
  const done = new Promise((resolve) => child.once('exit', resolve));
  return { child, done, output: () => output };
}

/** The transceivers of the page's open connections (in a server-forwarded room: the relay's). */
function transceivers(tab) {
  return tab.evaluate(() => (window.__pcs ?? [])
    .filter((pc) => pc.connectionState !== 'closed')
    .reduce((n, pc) => n + pc.getTransceivers().length, 0));
}

/** The synthetic participants `tab` shows (everyone but the browsers). */
async function synthetic(tab, names) {
  return (await remoteNames(tab)).filter((n) => !names.includes(n));
}

/** Seconds from a synthetic participant's start until every browser shows its picture playing. */
async function firstPicture(relay, tabs) {
  const names = Object.keys(tabs);
  const started = Date.now();
  const probe = loadgen(relay, { publishers: 1, seconds: 120, rampMs: 0 });
  try {
    for (const [name, tab] of Object.entries(tabs)) {
      await waitFor(`${name} to see the newcomer's picture`, async () => (await playingVideos(tab)).some((n) => !names.includes(n)),
        { timeout: 90_000 });
    }
  } catch (e) {
    probe.child.kill('SIGINT');
    await probe.done;
    e.message += `\nthe newcomer's load generator said:\n${probe.output()}`;
    throw e;
  }
  const seconds = (Date.now() - started) / 1000;
  probe.child.kill('SIGINT');
  await probe.done;
  for (const [name, tab] of Object.entries(tabs)) {
    await waitFor(`${name} to see the newcomer leave`, async () => (await synthetic(tab, names)).length === 0,
      { timeout: 30_000 });
  }
  return seconds;
}

describe(`a long session: ${CYCLES} people come and go`, { timeout: 600_000 }, () => {
  reportCpu();
  let relay;
  const tabs = {};

  before(async () => {
    relay = await Relay.start({ args: ['--sfu-rooms', 'verein-*'] });
    tabs.Anna = await chromiumTab();
    tabs.Bruno = await firefoxTab();
    for (const [name, tab] of Object.entries(tabs)) await tab.enter(relay.url(ROOM, { name }));
    for (const tab of Object.values(tabs)) {
      await waitFor('server forwarding', async () => (await mode(tab)) === 'sfu', { timeout: 30_000 });
    }
  });

  after(async () => {
    reportRelayWarnings(relay);
    for (const tab of Object.values(tabs)) await tab.close().catch(() => {});
    await relay?.stop();
  });

  it('keeps connections small and newcomers as quick at the end as at the start', async () => {
    const before = await firstPicture(relay, tabs);
    const atStart = Object.fromEntries(await Promise.all(
      Object.entries(tabs).map(async ([name, tab]) => [name, await transceivers(tab)])));

    // One after another: a new one comes every half second and stays a second and a half.
    const churn = loadgen(relay, { publishers: CYCLES, rampMs: 500, stayMs: 1500 });
    const code = await churn.done;
    const line = (label) => churn.output().split('\n').find((l) => l.startsWith(`| ${label} |`)) ?? '';
    assert.equal(code, 0, churn.output());
    // Nearly all of them really connected and published (a few may not make it within their
    // stay on two loaded cores).
    const up = Number(line('media connections up').match(/\| (\d+)\//)?.[1] ?? 0);
    assert.ok(up >= CYCLES * 0.9, `only ${up} of ${CYCLES} synthetic participants connected:\n${churn.output()}`);
    for (const [name, tab] of Object.entries(tabs)) {
      await waitFor(`${name} to see everyone gone`, async () => (await synthetic(tab, Object.keys(tabs))).length === 0,
        { timeout: 30_000 });
    }

    const after = await firstPicture(relay, tabs);
    const counts = Object.fromEntries(await Promise.all(
      Object.entries(tabs).map(async ([name, tab]) => [name, await transceivers(tab)])));
    console.log(`after ${CYCLES} came and went (${up} connected): transceivers ${JSON.stringify(counts)} `
      + `(${JSON.stringify(atStart)} at the start); a newcomer's first picture in every browser `
      + `after ${before.toFixed(1)} s at the start, ${after.toFixed(1)} s at the end`);
    for (const [name, count] of Object.entries(counts)) {
      // Now in the room: Anna and Bruno. 3 per participant (audio, camera, screen) plus a few
      // spares kept for the next ones to come.
      assert.ok(count <= 3 * 2 + 8, `${name}'s connection has ${count} transceivers after ${CYCLES} came and went`);
    }
    assert.ok(after <= Math.max(3 * before, before + 10),
      `a newcomer's picture took ${after.toFixed(1)} s at the end, ${before.toFixed(1)} s at the start`);
    for (const [name, tab] of Object.entries(tabs)) assert.equal(await mode(tab), 'sfu', name);
  });
});
