// Calls across the NAT lab (lib/natlab.js): the relay on a public address with the settings
// docs/deploy.md gives a town, and each person behind a router of their own. Each suite builds
// its own lab, relay and people, and tears them down. Needs root.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { after, before, describe, it } from 'node:test';

import { chromiumTab, firefoxTab, waitFor } from '../lib/browsers.js';
import { reportCpu } from '../lib/cpu.js';
import { reportConnections } from '../lib/diagnose.js';
import { errorText, mode, receivesAudioFrom, remoteNames, videoPlays } from '../lib/meeting.js';
import { mediaPaths, NatLab, RELAY_IP, TURN_TLS_IP, TURN_TLS_NAME } from '../lib/natlab.js';
import { Relay } from '../lib/relay.js';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');
const LOADGEN = process.env.LOADGEN_BIN ?? path.join(root, 'target', 'release', 'loadgen');

// The relay as docs/deploy.md runs it on a server with two public addresses: the web app and
// signalling on port 443 of the first (plain HTTP here: the lab has no web certificate, and the
// browsers treat the origin as secure), the media port (forwarding), STUN and TURN over UDP and
// TCP on that address too, and TURN over TLS on port 443 of the second (turn.treffpunkt.test), with
// a certificate from the lab's own certificate authority. Nothing else.
function startRelay(lab, args = []) {
  const { cert, key } = lab.certificate();
  return Relay.start({
    netns: lab.internet,
    listen: `${RELAY_IP}:443`,
    args: ['--media-listen', `${RELAY_IP}:0`, '--tls-cert', cert, '--tls-key', key,
      '--turn-tls-listen', `${TURN_TLS_IP}:443`, '--turn-tls-name', TURN_TLS_NAME, ...args],
  });
}

/** A browser of `engine` on the computer of `site`, which trusts the lab's certificate
 * authority (as a town's computers trust the town's). */
function browserAt(site, engine, relay, lab) {
  const trust = lab.certificate().ca;
  return engine === 'firefox'
    ? firefoxTab({ netns: site.pc, trust })
    : chromiumTab({ netns: site.pc, secureOrigin: relay.origin, trust });
}

/** Two people at two sites meet in a mesh room (or, with `sfu`, a room the relay forwards).
 * `kinds`: name -> [site kind, browser engine]. Returns the people, the lab and the relay (as
 * `{ current }` handles, filled in `before`). */
function meshBetween(kinds, room, { sfu = false } = {}) {
  const lab = { current: null };
  const people = {};
  const relayRef = { current: null };
  const opened = {};
  let relay;
  const names = Object.keys(kinds);

  before(async () => {
    lab.current = new NatLab();
    for (const [name, [kind]] of Object.entries(kinds)) lab.current.site(name, kind);
    relay = await startRelay(lab.current, sfu ? ['--sfu-rooms', room] : []);
    relayRef.current = relay;
    for (const name of names) {
      people[name] = await browserAt(lab.current.sites.get(name), kinds[name][1], relay, lab.current);
    }
    // Both open the link at the same moment, as two people starting a call would.
    await Promise.all(names.map(async (name) => {
      opened[name] = Date.now();
      await people[name].enter(relay.url(room, { name }));
    }));
  });

  after(async () => {
    for (const tab of Object.values(people)) await tab.close().catch(() => {});
    await relayRef.current?.stop();
    lab.current?.destroy();
  });

  it('shows each the other, video playing and sound arriving', async () => {
    // The first picture, timed from opening the link (page load, join and ICE included).
    const firstPicture = {};
    await Promise.all(names.map(async (name) => {
      const other = names.find((n) => n !== name);
      await waitFor(`${name} to see ${other}'s picture`, () => people[name].evaluate((n) =>
        ([...document.querySelectorAll('[data-participant]')].find((t) => t.dataset.participant === n)
          ?.querySelector('video')?.videoWidth ?? 0) > 0, other), { timeout: 45_000, interval: 50 });
      firstPicture[name] = Date.now() - opened[name];
    }));
    console.log(`first picture after opening the link: ${JSON.stringify(firstPicture)} ms`);
    for (const name of names) {
      const other = names.find((n) => n !== name);
      const tab = people[name];
      await waitFor(`${name} to see ${other}`, async () => (await remoteNames(tab)).includes(other));
      assert.equal(await mode(tab), sfu ? 'sfu' : 'mesh');
      await waitFor(`${name} to see ${other}'s video playing`, () => videoPlays(tab, other), { timeout: 45_000 });
      await waitFor(`${name} to hear ${other}`, () => receivesAudioFrom(tab, 1), { timeout: 30_000 });
      assert.equal(await errorText(tab), null);
    }
  });

  return { people, lab, relay: relayRef };
}

/** Whether `tab` shows `name`'s tile as reconnecting. */
function shownAway(tab, name) {
  return tab.evaluate((n) => [...document.querySelectorAll('[data-participant]')]
    .find((t) => t.dataset.participant === n)?.dataset.away === 'true', name);
}

function sleep(ms) {
  return new Promise((r) => setTimeout(r, ms));
}

describe('two homes, each behind its own router, in a mesh room (Chromium, Firefox)', { timeout: 180_000 }, () => {
  reportCpu();
  const { people } = meshBetween({ Anna: ['home', 'chromium'], Bruno: ['home', 'firefox'] }, 'zwei-haushalte');

  it('runs over the addresses and relays the relay told them, one connection each', async () => {
    // Measured here: the direct pair (both routers' public addresses) never works between two
    // Linux routers: each side's first check creates a conntrack entry at the other router,
    // whose masquerade then picks another port for the answer. So the pair through one side's
    // TURN allocation carries the call. Either way it needs the relay's STUN or TURN.
    const paths = { Anna: await mediaPaths(people.Anna), Bruno: await mediaPaths(people.Bruno) };
    console.log(`media paths: ${JSON.stringify(paths)}`);
    for (const [name, list] of Object.entries(paths)) {
      assert.equal(list.length, 1, `${name} has one connection`);
      assert.equal(list[0].state, 'connected');
      assert.match(list[0].local, /^(srflx|prflx|relay\/udp)$/, `${name}: ${JSON.stringify(list)}`);
    }
  });
});

for (const [phone, home] of [['chromium', 'firefox'], ['firefox', 'chromium']]) {
  describe(`a phone behind symmetric NAT (${phone}) and a home (${home}), in a mesh room`, { timeout: 180_000 }, () => {
    reportCpu();
    const { people } = meshBetween({ Anna: ['symmetric', phone], Bruno: ['home', home] }, 'unterwegs');

    it("relays the phone's media through the relay's TURN, where no direct path exists", async () => {
      const paths = { Anna: await mediaPaths(people.Anna), Bruno: await mediaPaths(people.Bruno) };
      console.log(`media paths: ${JSON.stringify(paths)}`);
      const relayed = [paths.Anna[0].local, paths.Anna[0].remote, paths.Bruno[0].local, paths.Bruno[0].remote]
        .filter((type) => type?.startsWith('relay'));
      assert.ok(relayed.length > 0, `one side sends through TURN: ${JSON.stringify(paths)}`);
    });
  });
}

// Pupils behind the two kinds of school firewall: where UDP is blocked but TCP gets out, TURN on
// TCP or on TLS (both pass; which one the browser picks varies from run to run: Firefox took TLS
// in one CI rehearsal of many); where only HTTPS gets out, TURN on TLS (port 443 of the relay's
// second address).
const FIREWALLS = [
  { kind: 'school', what: 'lets no UDP out', room: 'schule-daheim', route: /^relay\/(tcp|tls)$/, via: 'TURN over (?:TCP|TLS)' },
  { kind: 'https', what: 'lets only HTTPS out', room: 'nur-https', route: /^relay\/tls$/, via: 'TURN over TLS' },
];

for (const { kind, what, room, route, via } of FIREWALLS) {
  for (const [pupil, home] of [['chromium', 'firefox'], ['firefox', 'chromium']]) {
    describe(`a school that ${what} (${pupil}) and a home (${home}), in a mesh room`, { timeout: 180_000 }, () => {
      reportCpu();
      const { people, lab } = meshBetween({ Anna: [kind, pupil], Bruno: ['home', home] }, room);

      it(`carries the pupil's media over ${via.replace('(?:TCP|TLS)', 'TCP or TLS')}, past the firewall`, async () => {
        const paths = await mediaPaths(people.Anna);
        console.log(`media paths: ${JSON.stringify({ Anna: paths, Bruno: await mediaPaths(people.Bruno) })}`);
        assert.match(paths[0].local ?? '', route);
        const dropped = lab.current.dropped('Anna');
        console.log(`the school's firewall dropped ${dropped} packets`);
        assert.ok(dropped > 0, 'the firewall was in the way');
      });

      it('tells the helpdesk so in the connection details', async () => {
        const anna = people.Anna;
        await waitFor('quality measured', () => anna.evaluate(() =>
          [...document.querySelectorAll('.tile[data-quality]')].some((t) => t.dataset.quality !== 'unknown')),
        { timeout: 20_000 });
        await anna.click('[data-testid="more"]');
        await anna.click('[data-testid="open-details"]');
        const text = await waitFor('the details', () => anna.evaluate(() =>
          document.querySelector('[data-testid="details-text"]')?.textContent));
        assert.match(text, new RegExp(`connection 1: Connected, quality \\w+, route via ${via},`));
      });
    });
  }
}

for (const [school, route, what] of [['school', /^relay\/(tcp|tls)$/, 'TURN on TCP or TLS'], ['https', /^relay\/tls$/, 'TURN on TLS, port 443']]) {
  describe(`a pupil behind a ${school === 'https' ? 'firewall that lets only HTTPS out' : 'school firewall without UDP'} (Firefox) in a server-forwarded room of five`, { timeout: 240_000 }, () => {
    reportCpu();
    const lab = { current: null };
    const people = {};
    let relay;
    let loadgen;
    let loadgenOutput = '';
    let loadgenDone;

    before(async () => {
      lab.current = new NatLab();
      lab.current.site('Anna', school);
      lab.current.site('Bruno', 'home');
      relay = await startRelay(lab.current, ['--sfu-rooms', 'klasse-*']);
      for (const [name, engine] of [['Anna', 'firefox'], ['Bruno', 'chromium']]) {
        people[name] = await browserAt(lab.current.sites.get(name), engine, relay, lab.current);
        // The load generator's room: <prefix>-0.
        await people[name].enter(relay.url('klasse-0', { name }));
      }
      // Three synthetic participants (camera and microphone each) on the public side.
      const command = ['ip', 'netns', 'exec', lab.current.internet, LOADGEN,
        '--url', `ws://${relay.address}/ws`, '--bind', RELAY_IP,
        '--room-prefix', 'klasse', '--rooms', '1', '--publishers', '3', '--listeners', '0',
        '--seconds', '200', '--ramp-ms', '300'];
      loadgen = spawn(command[0], command.slice(1), { stdio: ['ignore', 'pipe', 'pipe'] });
      loadgen.stdout.on('data', (chunk) => { loadgenOutput += chunk; });
      loadgen.stderr.on('data', (chunk) => { loadgenOutput += chunk; });
      loadgenDone = new Promise((resolve) => loadgen.once('exit', resolve));
    });

    after(async () => {
      for (const tab of Object.values(people)) await tab.close().catch(() => {});
      loadgen?.kill();
      await relay?.stop();
      lab.current?.destroy();
    });

    it(`shows the pupil all four others and them the pupil, over ${what}`, async () => {
      for (const [name, tab] of Object.entries(people)) {
        await waitFor(`${name} to see four others`, async () => (await remoteNames(tab)).length === 4, { timeout: 60_000 });
        assert.equal(await mode(tab), 'sfu');
        for (const other of await remoteNames(tab)) {
          await waitFor(`${name} to see ${other}'s video playing`, () => videoPlays(tab, other), { timeout: 45_000 });
        }
      }
      const paths = await mediaPaths(people.Anna);
      console.log(`pupil's media paths: ${JSON.stringify(paths)}`);
      assert.ok(paths.some((p) => route.test(p.local ?? '') && p.state === 'connected'),
        `the pupil reaches the relay over ${what}: ${JSON.stringify(paths)}`);
    });

    it('gets every synthetic participant the pupil\'s picture and sound', async () => {
      loadgen.kill('SIGINT');
      await loadgenDone;
      const line = (label) => loadgenOutput.split('\n').find((l) => l.startsWith(`| ${label} |`)) ?? '';
      assert.match(line('media connections up'), /\| 3\/3 \|/, loadgenOutput);
      assert.match(line('fewest tracks received by one participant'), /video 4, audio 4/, loadgenOutput);
    });
  });
}

for (const sfu of [false, true]) {
describe(`a home whose internet drops for 10 s, in a ${sfu ? 'server-forwarded' : 'mesh'} room (Chromium, Firefox)`, { timeout: 240_000 }, () => {
  reportCpu();
  const { people, lab } = meshBetween({ Anna: ['home', 'chromium'], Bruno: ['home', 'firefox'] },
    sfu ? 'funkloch-sfu' : 'funkloch', { sfu });

  it('shows Anna as reconnecting, then brings her back as herself, without a reload', async () => {
    const { Anna: anna, Bruno: bruno } = people;
    // Things that must survive: a chat message, Anna's raised hand, the page itself.
    await anna.click('[data-testid="toggle-chat"]');
    await anna.type('[data-testid="chat-input"]', 'vor dem Funkloch');
    await anna.press('Enter');
    await anna.click('[data-testid="toggle-hand"]');
    await waitFor("Bruno to see Anna's hand", () => bruno.evaluate(() =>
      document.querySelector('[data-participant="Anna"]')?.dataset.hand === 'true'));
    await anna.evaluate(() => { window.__sameDocument = true; });
    const connections = (tab) => tab.evaluate(() => (window.__pcs ?? []).length);
    const built = { anna: await connections(anna), bruno: await connections(bruno) };

    lab.current.link('Anna', false);
    const down = Date.now();
    await waitFor('Bruno to see Anna reconnecting', () => shownAway(bruno, 'Anna'), { timeout: 20_000 });
    const noticed = Date.now() - down;
    assert.deepEqual(await remoteNames(bruno), ['Anna'], 'her tile stays');
    await sleep(Math.max(0, 10_000 - (Date.now() - down)));

    lab.current.link('Anna', true);
    const up = Date.now();
    let bruno_sees;
    let anna_sees;
    try {
      // Both sides watched at once, each timed on its own.
      [bruno_sees, anna_sees] = await Promise.all([
        waitFor("Bruno to see Anna's video playing again", async () =>
          !(await shownAway(bruno, 'Anna')) && videoPlays(bruno, 'Anna'), { timeout: 30_000, interval: 100 })
          .then(() => Date.now() - up),
        waitFor("Anna to see Bruno's video playing again", () => videoPlays(anna, 'Bruno'),
          { timeout: 30_000, interval: 100 }).then(() => Date.now() - up),
      ]);
      await waitFor('both to hear each other', async () =>
        (await receivesAudioFrom(anna, 1)) && receivesAudioFrom(bruno, 1), { timeout: 20_000 });
    } catch (e) {
      await reportConnections(people);
      throw e;
    }
    console.log(`outage noticed by Bruno after ${noticed} ms; media back ${bruno_sees} ms (at Bruno) and ${anna_sees} ms (at Anna) after the link (${sfu ? 'SFU' : 'mesh'})`);

    const rebuilt = { anna: await connections(anna) - built.anna, bruno: await connections(bruno) - built.bruno };
    console.log(`media connections built anew: ${JSON.stringify(rebuilt)}`);
    assert.deepEqual(await remoteNames(bruno), ['Anna'], 'no second tile');
    if (sfu) {
      // The connection to the relay came through the outage (ICE found the old path again).
      // In a mesh a browser whose ICE failed meanwhile gets its connection replaced instead.
      assert.deepEqual(rebuilt, { anna: 0, bruno: 0 });
    }
    assert.deepEqual(await remoteNames(anna), ['Bruno']);
    assert.equal(await bruno.evaluate(() =>
      document.querySelector('[data-participant="Anna"]')?.dataset.hand), 'true', 'her hand is still up');
    assert.equal(await anna.evaluate(() => window.__sameDocument), true, 'no reload');
    const chat = await anna.evaluate(() =>
      [...document.querySelectorAll('[data-testid="chat-message"]')].map((m) => m.textContent));
    assert.ok(chat.some((t) => t.includes('vor dem Funkloch')), `chat kept: ${JSON.stringify(chat)}`);
    assert.equal(await errorText(anna), null);
  });
});
}

describe('the relay restarts during a call (Chromium, Firefox)', { timeout: 240_000 }, () => {
  reportCpu();
  const { people, lab, relay } = meshBetween({ Anna: ['home', 'chromium'], Bruno: ['home', 'firefox'] }, 'neustart');

  it('reconnects everyone and rebuilds the room by itself', async () => {
    const { Anna: anna, Bruno: bruno } = people;
    for (const tab of [anna, bruno]) await tab.evaluate(() => { window.__sameDocument = true; });
    await relay.current.stop();
    const stopped = Date.now();
    // Started again as before, on the same address and port.
    relay.current = await startRelay(lab.current);
    for (const [name, tab, other] of [['Anna', anna, 'Bruno'], ['Bruno', bruno, 'Anna']]) {
      await waitFor(`${name} to see ${other}'s video again`, async () =>
        (await remoteNames(tab)).length === 1 && videoPlays(tab, other), { timeout: 45_000, interval: 200 });
    }
    console.log(`the room was back ${Date.now() - stopped} ms after the relay stopped`);
    for (const [tab, other] of [[anna, 'Bruno'], [bruno, 'Anna']]) {
      assert.deepEqual(await remoteNames(tab), [other]);
      assert.equal(await tab.evaluate(() => window.__sameDocument), true, 'no reload');
    }
  });
});

/** The longest round trip (seconds) the page's open connections measure on their chosen
 * candidate pairs, or 0. */
function roundTrip(tab) {
  return tab.evaluate(async () => {
    let longest = 0;
    for (const pc of window.__pcs ?? []) {
      if (pc.connectionState === 'closed') continue;
      (await pc.getStats()).forEach((s) => {
        if (s.type === 'candidate-pair' && s.nominated && s.state === 'succeeded') {
          longest = Math.max(longest, s.currentRoundTripTime ?? 0);
        }
      });
    }
    return longest;
  });
}

/** Decoded video frames and received/concealed audio samples of each inbound stream of the
 * page (what a person sees and hears, as counters), keyed by connection and SSRC. */
function mediaCounters(tab) {
  return tab.evaluate(async () => {
    const out = {};
    for (const [i, pc] of (window.__pcs ?? []).entries()) {
      if (pc.connectionState === 'closed') continue;
      (await pc.getStats()).forEach((s) => {
        if (s.type !== 'inbound-rtp') return;
        out[`${i}/${s.ssrc}`] = s.kind === 'video'
          ? { frames: s.framesDecoded ?? 0 }
          : { samples: s.totalSamplesReceived ?? 0, concealed: s.concealedSamples ?? 0 };
      });
    }
    return out;
  });
}

/** Watches `tab` for `ms`: the longest time without a new decoded frame, and the share of audio
 * samples the browser had to make up (loss not repaired by FEC or retransmission).
 *
 * Counts each stream's progress poll by poll. Firefox sometimes starts a stream's counters
 * again from 0 under loss (same connection, same SSRC: framesDecoded 398, then 0, then on
 * upwards), and a stream can miss from one report; a counter that went back counts from 0, and
 * a missing one keeps its last value, so neither reads as lost media. */
async function watchMedia(tab, ms) {
  const totals = { frames: 0, samples: 0, concealed: 0 };
  let last = await mediaCounters(tab);
  let restarts = 0;
  let lastNewFrame = Date.now();
  let longestStall = 0;
  const end = Date.now() + ms;
  while (Date.now() < end) {
    await sleep(250);
    const now = await mediaCounters(tab);
    let newFrames = 0;
    for (const [key, counters] of Object.entries(now)) {
      const before = last[key] ?? {};
      for (const [name, value] of Object.entries(counters)) {
        const previous = before[name] ?? 0;
        if (value < previous) restarts += 1;
        const grown = value >= previous ? value - previous : value;
        totals[name] += grown;
        if (name === 'frames') newFrames += grown;
      }
    }
    if (newFrames > 0) lastNewFrame = Date.now();
    longestStall = Math.max(longestStall, Date.now() - lastNewFrame);
    last = { ...last, ...now };
  }
  const concealed = totals.concealed / Math.max(1, totals.samples);
  return { longestStall, concealed, frames: totals.frames, samples: totals.samples, counterRestarts: restarts };
}

for (const sfu of [false, true]) {
  describe(`a lossy, slow home link: 5 % of UDP packets lost both ways, 150 ms round trip, in a ${sfu ? 'server-forwarded' : 'mesh'} room (Chromium, Firefox)`, { timeout: 240_000 }, () => {
    reportCpu();
    const { people, lab } = meshBetween({ Anna: ['home', 'chromium'], Bruno: ['home', 'firefox'] },
      sfu ? 'wackelig-sfu' : 'wackelig', { sfu });

    it('keeps speech coming and the picture moving', async () => {
      lab.current.lossy('Anna', 5);
      await lab.current.delayed('Anna', 150);
      // The media path now takes 150 ms more, as Anna's browser measures it.
      const rtt = await waitFor('Anna to measure the slower round trip', async () => {
        const measured = await roundTrip(people.Anna);
        return measured >= 0.14 ? measured : null;
      }, { timeout: 30_000, interval: 500 });
      const watched = {};
      for (const [name, tab] of Object.entries(people)) watched[name] = await watchMedia(tab, 20_000);
      console.log(`over 20 s with 5 % loss and ${Math.round(rtt * 1000)} ms round trip (${sfu ? 'SFU' : 'mesh'}): ${JSON.stringify(watched)}`);
      for (const [name, w] of Object.entries(watched)) {
        assert.ok(w.frames > 0 && w.samples > 0, `${name} still receives`);
        // Targets (docs/benchmarks.md): no picture stops for more than 2 s, little concealed
        // speech. Asserted only far beyond what a loaded machine produces.
        assert.ok(w.longestStall < 6_000, `${name}'s picture stopped for ${w.longestStall} ms`);
        assert.ok(w.concealed < 0.3, `${name} heard ${(w.concealed * 100).toFixed(1)} % made-up sound`);
      }
    });
  });
}

describe("a laptop that changes its address mid-call (Chromium, Firefox)", { timeout: 240_000 }, () => {
  reportCpu();
  const { people, lab } = meshBetween({ Anna: ['home', 'chromium'], Bruno: ['home', 'firefox'] }, 'umzug');

  it('carries on as the same participant over its new address', async () => {
    const { Anna: anna, Bruno: bruno } = people;
    await anna.evaluate(() => { window.__sameDocument = true; });
    lab.current.readdress('Anna', '192.168.1.77');
    const moved = Date.now();
    // Her old address is gone, so the frames on her old path stop at once, until the
    // connection finds her new address. (Firefox's <video> clock runs on without frames, so
    // the break is measured in frames decoded, sampled every 250 ms.) A move without a visible
    // break would be better still; the test asks for the call to come back, not for the break.
    const decoded = () => bruno.evaluate(async () => {
      let frames = 0;
      for (const pc of window.__pcs ?? []) {
        if (pc.connectionState === 'closed') continue;
        (await pc.getStats()).forEach((s) => {
          if (s.type === 'inbound-rtp' && s.kind === 'video') frames += s.framesDecoded ?? 0;
        });
      }
      return frames;
    });
    let broke = null;
    let longest = 0;
    let last = { frames: await decoded(), at: Date.now() };
    while (Date.now() - moved < 30_000) {
      await new Promise((r) => setTimeout(r, 250));
      const frames = await decoded();
      longest = Math.max(longest, Date.now() - last.at);
      if (frames > last.frames) {
        if (broke !== null) break;
        last = { frames, at: Date.now() };
      } else if (broke === null && Date.now() - last.at > 1_000) {
        broke = last.at - moved;
      }
      if (broke === null && Date.now() - moved > 15_000) break;
    }
    const before = last.frames;
    await waitFor("Bruno to decode new frames of Anna", async () => (await decoded()) > before,
      { timeout: 45_000, interval: 250 });
    await waitFor("Bruno to see Anna's video playing over the new address", async () => {
      const paths = await mediaPaths(anna);
      return paths.length === 1 && paths[0].state === 'connected' && (await videoPlays(bruno, 'Anna'))
        && (await anna.evaluate(() => document.querySelector('main.meeting')?.dataset.phase !== 'reconnecting'));
    }, { timeout: 45_000, interval: 250 });
    await waitFor("Anna to see Bruno's video", () => videoPlays(anna, 'Bruno'), { timeout: 20_000 });
    console.log(broke === null
      ? `no break longer than 1 s (longest ${longest} ms) when the address changed`
      : `frames stopped ${broke} ms after the address changed, for ${longest} ms; all checks passed ${Date.now() - moved} ms after it`);
    assert.deepEqual(await remoteNames(bruno), ['Anna'], 'the same tile, no second one');
    assert.equal(await anna.evaluate(() => window.__sameDocument), true, 'no reload');
  });
});
