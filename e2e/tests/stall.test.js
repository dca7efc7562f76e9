// A laptop that stalls for half a minute (an overloaded school machine, a lid closed and opened):
// its media connection to the relay fails on both sides, and when it runs again the browser's
// ICE restart must bring the meeting back, pictures both ways, without anyone rejoining.
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { after, before, describe, it } from 'node:test';

import { chromiumTab, firefoxTab, reportRelayConnection, waitFor } from '../lib/browsers.js';
import { reportConnections, reportRelayWarnings } from '../lib/diagnose.js';
import { reportCpu } from '../lib/cpu.js';
import { mode, videoPlays } from '../lib/meeting.js';
import { Relay } from '../lib/relay.js';

// Longer than the relay's ICE timeouts (disconnected after 12 s without checks, failed 18 s
// later) and Chromium's own: both sides of Anna's connection end up failed.
const STALL_MS = 40_000;

/** The processes of the suite's Chromium pages (each person's page has a renderer of its own). */
function chromiumRenderers() {
  const out = execFileSync('pgrep', ['-f', 'chromium.*--type=renderer'], { encoding: 'utf8' });
  return out.split('\n').filter(Boolean);
}

describe('a laptop that stalls for half a minute', { timeout: 240_000 }, () => {
  reportCpu();
  let relay;
  const tabs = {};
  let stopped = [];

  before(async () => {
    // The media connection's state changes are logged at debug level: the test checks that the
    // relay's side of Anna's connection really failed.
    relay = await Relay.start({ args: ['--sfu-rooms', 'pause-*'], log: 'relay=warn,relay::sfu::engine::ingest=debug' });
  });
  after(async () => {
    if (stopped.length > 0) execFileSync('kill', ['-CONT', ...stopped]);
    for (const [name, tab] of Object.entries(tabs)) reportRelayConnection(name, tab);
    await reportConnections(tabs);
    reportRelayWarnings(relay);
    for (const tab of Object.values(tabs)) await tab.close().catch(() => {});
    await relay?.stop();
  });

  it('gets its pictures back, both ways, once it runs again', async () => {
    tabs.Anna = await chromiumTab();
    await tabs.Anna.enter(relay.url('pause-1', { name: 'Anna' }));
    tabs.Bruno = await firefoxTab();
    await tabs.Bruno.enter(relay.url('pause-1', { name: 'Bruno' }));
    assert.equal(await mode(tabs.Anna), 'sfu');
    await waitFor('Anna sees Bruno', () => videoPlays(tabs.Anna, 'Bruno'), { timeout: 30_000 });
    await waitFor('Bruno sees Anna', () => videoPlays(tabs.Bruno, 'Anna'), { timeout: 30_000 });

    stopped = chromiumRenderers();
    execFileSync('kill', ['-STOP', ...stopped]);
    await new Promise((r) => setTimeout(r, STALL_MS));
    execFileSync('kill', ['-CONT', ...stopped]);
    stopped = [];
    const woke = Date.now();
    const log = relay.log.replace(/\x1b\[[0-9;]*m/g, '');
    assert.match(log, /media connection failed participant=p1/, 'the stall was too short to fail the relay\'s side');

    // Bruno first: right after waking, Anna's page may still show frames it had received
    // before the stall.
    await waitFor('Bruno sees Anna again', () => videoPlays(tabs.Bruno, 'Anna'), { timeout: 60_000 });
    await waitFor('Anna sees Bruno again', () => videoPlays(tabs.Anna, 'Bruno'), { timeout: 60_000 });
    console.log(`pictures back both ways ${((Date.now() - woke) / 1000).toFixed(1)} s after the laptop ran again`);
    // The same media connection came back: the page never made a second one.
    const made = await tabs.Anna.evaluate(() => window.__pcs.length);
    assert.equal(made, 1, 'Anna\'s page replaced its media connection');
  });
});
