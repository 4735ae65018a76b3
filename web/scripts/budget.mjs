// Budget: the JavaScript the browser must load before the first render (the
// scripts and modulepreloads index.html names, plus their static imports)
// must stay ≤ 350 KB gzipped. Lazy chunks (the editor) are not counted.
import { readFileSync, existsSync } from 'node:fs';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';

const dist = new URL('../../webui/dist/', import.meta.url).pathname;
const limit = Number(process.env.BUDGET_KB ?? 350) * 1024;
const html = readFileSync(join(dist, 'index.html'), 'utf8');
const refs = [...html.matchAll(/<(?:script[^>]*\ssrc|link[^>]*rel="modulepreload"[^>]*\shref)="([^"]+\.js)"/g)].map((m) => m[1]);
if (refs.length === 0) {
  console.error('budget: index.html names no script');
  process.exit(1);
}
// Follow static imports (import … from "./x.js" / import "./x.js"), not import().
const seen = new Set();
const queue = refs.map((r) => r.replace(/^\//, ''));
while (queue.length) {
  const f = queue.shift();
  if (seen.has(f)) continue;
  const p = join(dist, f);
  if (!existsSync(p)) {
    console.error(`budget: ${f} named but missing`);
    process.exit(1);
  }
  seen.add(f);
  const src = readFileSync(p, 'utf8');
  for (const m of src.matchAll(/(?:^|[;\n}])\s*import\s*(?:[\w${},*\s]+from\s*)?["']\.\/([^"']+\.js)["']/g)) {
    queue.push('assets/' + m[1]);
  }
}
let total = 0;
for (const f of seen) {
  const gz = gzipSync(readFileSync(join(dist, f)), { level: 9 }).length;
  total += gz;
  console.log(`${(gz / 1024).toFixed(1).padStart(8)} KB  ${f}`);
}
console.log(`${(total / 1024).toFixed(1).padStart(8)} KB  initial JS (gzip), limit ${limit / 1024} KB`);
if (total > limit) {
  console.error('budget: over the limit');
  process.exit(1);
}
