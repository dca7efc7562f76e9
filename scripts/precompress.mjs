// Writes brotli (.br) and gzip (.gz) copies next to the build's content-hashed files, so the
// relay (or nginx with `gzip_static`/`brotli_static`) sends them compressed without compressing
// on every request. Run by trunk after each build (Trunk.toml); by hand: `node
// scripts/precompress.mjs dist`.
//
// Only files whose names carry trunk's content hash are compressed: they never change. Files an
// operator edits after deploying (`config.json`, `index.html`) stay uncompressed, so a stale
// compressed copy can never hide an edit.
import { readdirSync, readFileSync, writeFileSync, statSync } from 'node:fs';
import path from 'node:path';
import zlib from 'node:zlib';

const dir = process.argv[2] ?? process.env.TRUNK_STAGING_DIR;
if (!dir) {
  console.error('usage: node scripts/precompress.mjs DIR (or run by trunk, which sets TRUNK_STAGING_DIR)');
  process.exit(2);
}

// `name-<hex digits>` before the first extension, as in relay/src/web/headers.rs: trunk writes its
// 64-bit hash without leading zeros (15 digits in one build of 16).
const hashed = /^[^.]*-[0-9a-f]{12,16}(_bg)?\./;
const compressible = /\.(js|wasm|css|svg)$/;

let written = 0;
for (const name of readdirSync(dir)) {
  const file = path.join(dir, name);
  if (!hashed.test(name) || !compressible.test(name) || !statSync(file).isFile()) continue;
  const raw = readFileSync(file);
  const variants = {
    br: zlib.brotliCompressSync(raw, {
      params: {
        [zlib.constants.BROTLI_PARAM_QUALITY]: zlib.constants.BROTLI_MAX_QUALITY,
        [zlib.constants.BROTLI_PARAM_SIZE_HINT]: raw.length,
      },
    }),
    gz: zlib.gzipSync(raw, { level: 9 }),
  };
  for (const [ext, bytes] of Object.entries(variants)) {
    // A copy that is not smaller is not worth a second request path.
    if (bytes.length < raw.length) {
      writeFileSync(`${file}.${ext}`, bytes);
      written += 1;
    }
  }
}
console.log(`precompress: ${written} compressed copies in ${dir}`);
