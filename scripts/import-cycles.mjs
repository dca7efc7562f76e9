// Fails when the files of a crate import each other in a circle (a.rs uses b.rs, which uses
// a.rs, directly or through others). A module and its own submodules do not count: a folder's
// mod.rs re-exporting its files is not a circle. Tests (`mod tests`) are left out.
//
// Usage: node scripts/import-cycles.mjs relay/src app/src client/src
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';

function files(dir) {
  return readdirSync(dir).flatMap((name) => {
    const path = join(dir, name);
    if (statSync(path).isDirectory()) return files(path);
    return name.endsWith('.rs') ? [path] : [];
  });
}

/// `a/b/mod.rs` -> `a::b`, `a/c.rs` -> `a::c`.
function moduleName(root, path) {
  return relative(root, path).replace(/\.rs$/, '').replace(/\/mod$/, '').replaceAll('/', '::');
}

/// Every `crate::…` path a source names, `use crate::{a::{b, c}, d}` expanded; `super::…`
/// paths are resolved against `parent`, the module above this file's.
function paths(source, parent) {
  const found = [];
  for (const m of source.matchAll(/crate::((?:[a-z_][a-z0-9_]*::)*[a-z_][a-z0-9_]*)/g)) found.push(m[1]);
  const under = parent ? `${parent}::` : '';
  for (const m of source.matchAll(/(?<![a-z_:])super::((?:[a-z_][a-z0-9_]*::)*[a-z_][a-z0-9_]*)/g)) {
    found.push(under + m[1]);
  }
  const expand = (prefix, body) => {
    let depth = 0;
    let part = '';
    const parts = [];
    for (const ch of body) {
      if (ch === '{') depth += 1;
      if (ch === '}') depth -= 1;
      if (ch === ',' && depth === 0) {
        parts.push(part);
        part = '';
      } else {
        part += ch;
      }
    }
    parts.push(part);
    for (const raw of parts) {
      const p = raw.trim();
      if (!p) continue;
      const brace = p.indexOf('::{');
      if (brace >= 0) expand(`${prefix}${p.slice(0, brace)}::`, p.slice(brace + 3, -1));
      else found.push(prefix + p);
    }
  };
  for (const m of source.matchAll(/use crate::\{([\s\S]*?)\};/g)) expand('', m[1]);
  for (const m of source.matchAll(/use super::\{([\s\S]*?)\};/g)) expand(under, m[1]);
  return found;
}

let circles = 0;
for (const root of process.argv.slice(2)) {
  const sources = new Map();
  for (const path of files(root)) {
    const name = moduleName(root, path);
    if (name === 'lib' || name === 'main') continue;
    sources.set(name, readFileSync(path, 'utf8'));
  }
  // Modules only tests compile (`#[cfg(test)] mod testing;`) and test modules inside files
  // are left out.
  const testOnly = new Set();
  for (const [name, source] of sources) {
    for (const m of source.matchAll(/#\[cfg\(test\)\]\s*(?:#\[[^\]]*\]\s*)*mod ([a-z_][a-z0-9_]*);/g)) {
      testOnly.add(name === '' ? m[1] : `${name}::${m[1]}`);
    }
    sources.set(name, source.split(/#\[cfg\(test\)\]\s*(?:#\[[^\]]*\]\s*)*mod tests\b/)[0]);
  }
  for (const name of testOnly) sources.delete(name);
  const graph = new Map();
  for (const [name, source] of sources) {
    const deps = new Set();
    const parent = name.includes('::') ? name.slice(0, name.lastIndexOf('::')) : '';
    for (const path of paths(source, parent)) {
      const segments = path.split('::');
      for (let k = segments.length; k > 0; k -= 1) {
        const candidate = segments.slice(0, k).join('::');
        if (sources.has(candidate)) {
          deps.add(candidate);
          break;
        }
      }
    }
    const related = (other) => other === name || other.startsWith(`${name}::`) || name.startsWith(`${other}::`);
    graph.set(name, [...deps].filter((d) => !related(d)));
  }
  // Tarjan's strongly connected components: each with more than one file is a circle.
  let index = 0;
  const idx = new Map();
  const low = new Map();
  const stack = [];
  const onStack = new Set();
  const connect = (v) => {
    idx.set(v, index);
    low.set(v, index);
    index += 1;
    stack.push(v);
    onStack.add(v);
    for (const w of graph.get(v)) {
      if (!idx.has(w)) {
        connect(w);
        low.set(v, Math.min(low.get(v), low.get(w)));
      } else if (onStack.has(w)) {
        low.set(v, Math.min(low.get(v), idx.get(w)));
      }
    }
    if (low.get(v) === idx.get(v)) {
      const component = [];
      let w;
      do {
        w = stack.pop();
        onStack.delete(w);
        component.push(w);
      } while (w !== v);
      if (component.length > 1) {
        circles += 1;
        console.error(`${root}: files that import each other in a circle: ${component.sort().join(', ')}`);
      }
    }
  };
  for (const v of graph.keys()) if (!idx.has(v)) connect(v);
}
if (circles > 0) process.exit(1);
console.log('no import circles');
