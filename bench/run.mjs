// Runs every compiled benchmark (dist/bench/*.bench.js) in turn, or those whose name contains argv[2].
// Benchmarks print ratios measured side by side in one run; they are never tests.
import { readdirSync } from 'node:fs';
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';

const dir = join(process.cwd(), 'dist', 'bench');
const filter = process.argv[2] ?? '';
const files = readdirSync(dir)
  .filter((f) => f.endsWith('.bench.js') && f.includes(filter))
  .sort();
let failed = 0;
for (const f of files) {
  console.log(`\n== ${f.replace(/\.bench\.js$/, '')}`);
  const r = spawnSync(process.execPath, [join(dir, f)], { stdio: 'inherit' });
  if (r.status !== 0) failed++;
}
process.exitCode = failed === 0 ? 0 : 1;
