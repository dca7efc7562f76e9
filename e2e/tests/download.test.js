// What travels when someone opens Treffpunkt: the app's files compressed (brotli) within the
// 300 KB budget in Chromium and Firefox, the same bytes uncompressed for a client that asks for
// none, and caching rules on each (docs/benchmarks.md, "App download size").
import assert from 'node:assert/strict';
import http from 'node:http';
import { after, before, describe, it } from 'node:test';
import { brotliDecompressSync, gunzipSync } from 'node:zlib';

import { chromiumTab, firefoxTab, waitFor } from '../lib/browsers.js';
import { Relay } from '../lib/relay.js';

/** The app's own budget for wasm + JS + CSS as they travel (BRIEF: <= 300 KB brotli). */
const BUDGET_BYTES = 300_000;

/** `GET path` with these request headers: status, headers and the body exactly as sent. */
function rawGet(origin, path, headers = {}) {
  return new Promise((resolve, reject) => {
    http.get(`${origin}${path}`, { headers }, (response) => {
      const chunks = [];
      response.on('data', (chunk) => chunks.push(chunk));
      response.on('end', () => resolve({ status: response.statusCode, headers: response.headers, body: Buffer.concat(chunks) }));
    }).on('error', reject);
  });
}

describe('the app download', { timeout: 120_000 }, () => {
  let relay;
  let assets;

  before(async () => {
    relay = await Relay.start();
    const page = await rawGet(relay.origin, '/');
    assets = [...new Set([...page.body.toString().matchAll(/\.\/([\w.-]+\.(?:js|wasm|css))/g)].map((m) => m[1]))];
  });
  after(async () => {
    await relay?.stop();
  });

  it('sends each file brotli- or gzip-compressed by Accept-Encoding, and whole without it', async () => {
    // The app's glue and Project Fluent's formatter (index.js), the wasm, the style sheet.
    assert.deepEqual(assets.map((a) => a.split('.').pop()).sort(), ['css', 'js', 'js', 'wasm'], `assets in index.html: ${assets}`);
    let brotliTotal = 0;
    for (const asset of assets) {
      const plain = await rawGet(relay.origin, `/${asset}`);
      const br = await rawGet(relay.origin, `/${asset}`, { 'accept-encoding': 'gzip, deflate, br' });
      const gz = await rawGet(relay.origin, `/${asset}`, { 'accept-encoding': 'gzip' });
      for (const answer of [plain, br, gz]) {
        assert.equal(answer.status, 200, asset);
        assert.equal(answer.headers['cache-control'], 'public, max-age=31536000, immutable', asset);
        assert.equal(answer.headers.vary, 'accept-encoding', asset);
      }
      assert.equal(plain.headers['content-encoding'], undefined, asset);
      assert.equal(br.headers['content-encoding'], 'br', asset);
      assert.equal(gz.headers['content-encoding'], 'gzip', asset);
      assert.ok(brotliDecompressSync(br.body).equals(plain.body), `${asset}: the brotli copy is the file`);
      assert.ok(gunzipSync(gz.body).equals(plain.body), `${asset}: the gzip copy is the file`);
      assert.ok(br.body.length < plain.body.length / 2, `${asset}: ${br.body.length} of ${plain.body.length} bytes`);
      brotliTotal += br.body.length;
    }
    assert.ok(brotliTotal <= BUDGET_BYTES, `the app travels as ${brotliTotal} bytes, over the ${BUDGET_BYTES} budget`);
    for (const path of ['/', '/config.json']) {
      const answer = await rawGet(relay.origin, path, { 'accept-encoding': 'br' });
      assert.equal(answer.headers['cache-control'], 'no-cache', path);
    }
  });

  for (const [name, open] of [['Chromium', chromiumTab], ['Firefox', firefoxTab]]) {
    it(`${name} downloads the app compressed, within the budget`, async () => {
      const tab = await open();
      try {
        await tab.goto(relay.url('herunterladen'));
        const entries = await waitFor('the app to load', () => tab.evaluate(() => {
          const loaded = performance.getEntriesByType('resource')
            .filter((e) => /\.(js|wasm|css)$/.test(new URL(e.name).pathname))
            .map((e) => ({ name: new URL(e.name).pathname, encoded: e.encodedBodySize, decoded: e.decodedBodySize }));
          return loaded.length === 4 && loaded.every((e) => e.decoded > 0) ? loaded : null;
        }));
        const travelled = entries.reduce((sum, e) => sum + e.encoded, 0);
        for (const e of entries) assert.ok(e.encoded < e.decoded / 2, `${e.name}: ${e.encoded} of ${e.decoded} bytes travelled`);
        assert.ok(travelled <= BUDGET_BYTES, `${name} downloaded ${travelled} bytes`);
        console.log(`${name}: the app travelled as ${(travelled / 1000).toFixed(1)} KB (${entries.map((e) => `${e.name.replace(/-[0-9a-f]{12,16}/, '')} ${(e.encoded / 1000).toFixed(1)}`).join(', ')})`);
      } finally {
        await tab.close();
      }
    });
  }
});
