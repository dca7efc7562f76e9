// Minifies the build's JavaScript with terser and puts each new file's hash into index.html's
// integrity attributes, so the browser still checks it: the glue wasm-bindgen writes (trunk's own
// minifier gives up on its `export default`; about 2 KB less after brotli) and Project Fluent's
// formatter (trunk's minifier turns its "\u2068" isolation marks into visible text, so index.html
// asks trunk not to touch it). The app's budget is 300 KB (docs/benchmarks.md). Run by trunk
// after each release build, before precompress.mjs (Trunk.toml); by hand:
// `node scripts/minify-js.mjs dist`.
import { createHash } from 'node:crypto';
import { readdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';

const dir = process.argv[2] ?? process.env.TRUNK_STAGING_DIR;
if (!dir) {
  console.error('usage: node scripts/minify-js.mjs DIR (or run by trunk, which sets TRUNK_STAGING_DIR)');
  process.exit(2);
}
// Debug builds stay readable.
if (process.env.TRUNK_PROFILE && process.env.TRUNK_PROFILE !== 'release') process.exit(0);

// terser comes with the build's other npm tools (e2e/package.json).
const { minify } = await import(new URL('../e2e/node_modules/terser/main.js', import.meta.url));

const sri = (bytes) => `sha384-${createHash('sha384').update(bytes).digest('base64')}`;
const indexFile = path.join(dir, 'index.html');
let index = readFileSync(indexFile, 'utf8');
for (const name of readdirSync(dir)) {
  // trunk's content-hashed scripts: the glue (an ES module, app-<hash>.js beside
  // app-<hash>_bg.wasm) and the classic scripts index.html names.
  if (!/-[0-9a-f]{12,16}\.js$/.test(name)) continue;
  const module = readdirSync(dir).includes(name.replace(/\.js$/, '_bg.wasm'));
  const file = path.join(dir, name);
  const before = readFileSync(file);
  // ascii_only: characters such as the isolation marks stay escapes, whatever charset a server names.
  const result = await minify(before.toString(), { module, compress: true, mangle: true, format: { ascii_only: true } });
  const after = Buffer.from(result.code);
  if (!index.includes(sri(before))) {
    console.error(`minify-js: index.html has no integrity for ${name}; left as it is`);
    continue;
  }
  writeFileSync(file, after);
  index = index.replaceAll(sri(before), sri(after));
  console.log(`minify-js: ${name} ${before.length} -> ${after.length} bytes`);
}
writeFileSync(indexFile, index);
