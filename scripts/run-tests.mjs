// Runs the compiled test files (dist/test/**/*.test.js) with node's test runner.
// Helpers and fixtures beside them (no ".test." in the name) are not test files.
import { readdirSync } from 'node:fs';
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';

function testFiles(dir) {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) => {
    const p = join(dir, e.name);
    if (e.isDirectory()) return testFiles(p);
    return e.name.endsWith('.test.js') ? [p] : [];
  });
}

const files = testFiles(join(process.cwd(), 'dist', 'test')).sort();
const r = spawnSync(process.execPath, ['--test', '--test-concurrency=2', ...process.argv.slice(2), ...files], {
  stdio: 'inherit',
});
process.exitCode = r.status ?? 1;
