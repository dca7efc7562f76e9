// The check that fails every browser test when a page throws: it must really see each kind of
// page error, in both engines. Each kind is provoked here on purpose, then taken out of the check.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';

import { chromiumTab, firefoxTab, waitFor } from '../lib/browsers.js';
import { Relay } from '../lib/relay.js';

describe('page errors are seen', { timeout: 120_000 }, () => {
  let relay;
  const tabs = {};

  before(async () => {
    relay = await Relay.start();
    tabs.chromium = await chromiumTab();
    tabs.firefox = await firefoxTab();
  });
  after(async () => {
    for (const tab of Object.values(tabs)) await tab.close();
    await relay?.stop();
  });

  for (const engine of ['chromium', 'firefox']) {
    it(`in ${engine}: a thrown error, an unhandled rejection and a WebAssembly panic`, async () => {
      const tab = tabs[engine];
      await tab.goto(relay.url('fehler'));
      await waitFor('the pre-join screen', () => tab.evaluate(() => document.querySelector('[data-testid="join"]') !== null));
      assert.deepEqual(tab.expectErrors(), [], 'the pre-join screen itself throws nothing');
      await tab.evaluate(() => {
        setTimeout(() => { throw new Error('thrown on purpose'); }, 0);
        setTimeout(() => { Promise.reject(new Error('rejected on purpose')); }, 10);
        // What the app's panic hook (console_error_panic_hook) writes before the trap.
        setTimeout(() => console.error('panicked at app/src/x.rs:1:1:\non purpose'), 20);
      });
      const seen = await waitFor('all three reported', () => {
        const errors = tab.errors.map((e) => e.what);
        return errors.length >= 3 && errors;
      }, { timeout: 10_000 });
      const taken = tab.expectErrors();
      assert.deepEqual(taken, seen);
      assert.equal(taken.length, 3, taken.join('\n'));
      assert.ok(taken.some((e) => e.includes('thrown on purpose')), taken.join('\n'));
      assert.ok(taken.some((e) => e.includes('rejected on purpose')), taken.join('\n'));
      assert.ok(taken.some((e) => e.startsWith('WebAssembly panic: panicked at')), taken.join('\n'));
    });
  }
});
