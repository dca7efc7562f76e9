// Measures what a browser downloads to run the app: wasm + js + css in dist/, raw and as the
// compressed copies the build wrote (scripts/precompress.mjs), which is what the relay sends.
// Usage: node bench/size.js [dist-dir]    (after `trunk build --release`)
import { existsSync, readdirSync, statSync } from 'node:fs';
import path from 'node:path';

import { DIST } from '../lib/relay.js';

const dir = process.argv[2] ?? DIST;
const size = (file) => (existsSync(file) ? statSync(file).size : NaN);
const rows = [];
for (const file of readdirSync(dir).sort()) {
  if (!/\.(wasm|js|css)$/.test(file)) continue;
  const full = path.join(dir, file);
  rows.push({ file, raw: size(full), gzip: size(`${full}.gz`), brotli: size(`${full}.br`) });
}
const total = rows.reduce((t, r) => ({ raw: t.raw + r.raw, gzip: t.gzip + r.gzip, brotli: t.brotli + r.brotli }),
  { raw: 0, gzip: 0, brotli: 0 });
const kb = (n) => (Number.isNaN(n) ? 'missing' : `${(n / 1000).toFixed(1)} KB`);
console.log('| file | raw | .gz (gzip -9) | .br (brotli -q 11) |');
console.log('| --- | ---: | ---: | ---: |');
for (const r of rows) console.log(`| ${r.file.replace(/-[0-9a-f]{15,16}/, '')} | ${kb(r.raw)} | ${kb(r.gzip)} | ${kb(r.brotli)} |`);
console.log(`| **total** | ${kb(total.raw)} | ${kb(total.gzip)} | **${kb(total.brotli)}** |`);
if (Number.isNaN(total.brotli)) {
  console.log('\ncompressed copies missing: build with `trunk build --release` (its hook writes them)');
  process.exit(1);
}
console.log(`\nbudget 300 KB brotli: ${total.brotli <= 300_000 ? 'met' : 'MISSED'}`);
