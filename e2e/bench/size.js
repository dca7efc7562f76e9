// Measures what a browser downloads to run the app: wasm + js + css in dist/, raw, gzip and brotli.
// Usage: node bench/size.js [dist-dir]    (after `trunk build --release`)
import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { brotliCompressSync, constants, gzipSync } from 'node:zlib';

import { DIST } from '../lib/relay.js';

const dir = process.argv[2] ?? DIST;
const rows = [];
for (const file of readdirSync(dir).sort()) {
  if (!/\.(wasm|js|css)$/.test(file)) continue;
  const bytes = readFileSync(path.join(dir, file));
  rows.push({
    file,
    raw: bytes.length,
    gzip: gzipSync(bytes, { level: 9 }).length,
    brotli: brotliCompressSync(bytes, { params: { [constants.BROTLI_PARAM_QUALITY]: 11 } }).length,
  });
}
const total = rows.reduce((t, r) => ({ raw: t.raw + r.raw, gzip: t.gzip + r.gzip, brotli: t.brotli + r.brotli }),
  { raw: 0, gzip: 0, brotli: 0 });
const kb = (n) => `${(n / 1000).toFixed(1)} KB`;
console.log('| file | raw | gzip -9 | brotli -q 11 |');
console.log('| --- | ---: | ---: | ---: |');
for (const r of rows) console.log(`| ${r.file.replace(/-[0-9a-f]{15,16}/, '')} | ${kb(r.raw)} | ${kb(r.gzip)} | ${kb(r.brotli)} |`);
console.log(`| **total** | ${kb(total.raw)} | ${kb(total.gzip)} | **${kb(total.brotli)}** |`);
console.log(`\nbudget 300 KB brotli: ${total.brotli <= 300_000 ? 'met' : 'MISSED'}`);
