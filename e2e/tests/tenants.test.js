// Two towns on one relay, as a shared municipal service runs them: each town's people open the
// app under their town's host name (here `*.localhost`, which Chromium resolves to this machine
// and counts as a secure origin), see their town's title and colour, and meet only their own
// town, although both towns hold a meeting called `rat`. The towns come from a settings file
// with two [[tenant]] tables, as docs/treffpunkt.toml shows.
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';

import { chromiumTab, waitFor } from '../lib/browsers.js';
import { reportCpu } from '../lib/cpu.js';
import { remoteNames, videoPlays } from '../lib/meeting.js';
import { Relay } from '../lib/relay.js';

const SETTINGS = `
[[tenant]]
name = "musterhausen"
hosts = ["musterhausen.localhost"]
title = "Musterhausen trifft sich"
accent = "#0a6e4f"

[[tenant]]
name = "beispielstadt"
hosts = ["beispielstadt.localhost"]
title = "Beispielstadt online"
`;

describe('two towns on one relay', { timeout: 180_000 }, () => {
  reportCpu();
  let dir;
  let relay;
  const tabs = {};

  before(async () => {
    dir = mkdtempSync(path.join(tmpdir(), 'tp-tenants-'));
    const settings = path.join(dir, 'treffpunkt.toml');
    writeFileSync(settings, SETTINGS);
    relay = await Relay.start({ args: ['--config', settings] });
    for (const name of ['Anna', 'Bruno', 'Cleo']) tabs[name] = await chromiumTab();
  });
  after(async () => {
    await Promise.all(Object.values(tabs).map((t) => t.close()));
    await relay?.stop();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  const port = () => relay.address.split(':').pop();
  const link = (town, name) =>
    `http://${town}.localhost:${port()}/?${new URLSearchParams({ room: 'rat', name })}`;

  it('shows each town its own look and lets each meet only its own people', async () => {
    await tabs.Anna.enter(link('musterhausen', 'Anna'));
    await tabs.Bruno.enter(link('musterhausen', 'Bruno'));
    await tabs.Cleo.enter(link('beispielstadt', 'Cleo'));

    // Anna and Bruno, both of Musterhausen, see each other's pictures.
    await waitFor("Anna to see Bruno's picture", () => videoPlays(tabs.Anna, 'Bruno'), { timeout: 60_000 });
    await waitFor("Bruno to see Anna's picture", () => videoPlays(tabs.Bruno, 'Anna'), { timeout: 60_000 });
    const look = (tab) => tab.evaluate(() => ({
      brand: document.querySelector('[data-testid="brand"]')?.textContent.trim(),
      title: document.title,
      accent: getComputedStyle(document.documentElement).getPropertyValue('--accent').trim(),
      onAccent: getComputedStyle(document.documentElement).getPropertyValue('--accent-text').trim(),
    }));
    assert.deepEqual(await look(tabs.Anna), {
      brand: 'Musterhausen trifft sich', title: 'Musterhausen trifft sich', accent: '#0a6e4f', onAccent: '#ffffff',
    });
    // Cleo is in Beispielstadt's `rat`, alone, under Beispielstadt's title and the usual colour.
    await waitFor("Cleo's meeting to start", () =>
      tabs.Cleo.evaluate(() => document.querySelector('[data-participant][data-self]') !== null));
    const cleo = await look(tabs.Cleo);
    assert.equal(cleo.brand, 'Beispielstadt online');
    assert.equal(cleo.accent, '#4c8dff');
    // Nobody crosses over: all three are in a room called `rat`, each sees only their town.
    assert.deepEqual(await remoteNames(tabs.Cleo), []);
    assert.deepEqual(await remoteNames(tabs.Anna), ['Bruno']);
    assert.deepEqual(await remoteNames(tabs.Bruno), ['Anna']);

    // The relay counts them apart.
    const metrics = await fetch(`http://${relay.address}/metrics`).then((r) => r.text());
    assert.match(metrics, /treffpunkt_tenant_participants\{tenant="musterhausen",mode="mesh"\} 2/);
    assert.match(metrics, /treffpunkt_tenant_participants\{tenant="beispielstadt",mode="mesh"\} 1/);
  });
});
