/**
 * The README's library example, run as a user runs it: the code block after `<!-- readme-example -->`
 * saved as example.mjs in a fresh directory whose node_modules/specpipe is this package (so `specpipe/…`
 * resolves through the package's `exports` map), on a pipeline of the test-only stage kinds.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, symlinkSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { TEST_STAGES, tempWorkspace } from '../pipeline/cliHarness.js';

const here = dirname(fileURLToPath(import.meta.url));
const repoRoot = join(here, '..', '..', '..');

/** The code block that follows the marker in README.md. */
export function readmeExample(): string {
  const readme = readFileSync(join(repoRoot, 'README.md'), 'utf8');
  const m = /<!-- readme-example -->\s*```js\n([\s\S]*?)```/.exec(readme);
  assert.ok(m !== null, 'README.md has a ```js block after <!-- readme-example -->');
  return m[1]!;
}

const PIPE = `name: readme-example
seed: 1
stages:
  a:
    uses: test/const
    matrix: { value: [1, 2] }
  b:
    uses: test/sum
    needs: [a]
`;

test("the README's library example runs: top eigenvalues of its operator, a pipeline run with its run record", () => {
  assert.ok(existsSync(join(repoRoot, 'dist', 'src', 'pipeline', 'index.js')), 'compiled package');
  const dir = tempWorkspace('specpipe-readme-');
  mkdirSync(join(dir, 'node_modules'));
  symlinkSync(repoRoot, join(dir, 'node_modules', 'specpipe'), 'dir');
  writeFileSync(join(dir, 'package.json'), '{ "private": true, "type": "module" }\n');
  writeFileSync(join(dir, 'example.mjs'), readmeExample());
  writeFileSync(join(dir, 'pipe.yaml'), PIPE);
  const env = { ...process.env, SPECPIPE_STAGE_MODULES: TEST_STAGES, NO_COLOR: '1' };
  const run = (): { stdout: string; stderr: string; status: number | null } =>
    spawnSync(process.execPath, ['example.mjs', 'pipe.yaml'], { cwd: dir, env, encoding: 'utf8' });

  const first = run();
  assert.equal(first.status, 0, first.stderr);
  const lines = first.stdout.trimEnd().split('\n');
  assert.equal(lines[0], 'top eigenvalues: 12.000000 11.000000 10.000000');
  const m = /^run (\S+): 4 executed, 0 cached, 0 failed; record (\S+)$/.exec(lines[1] ?? '');
  assert.ok(m !== null, `second line: ${lines[1]}`);
  assert.equal(m[2], join(dir, 'runs', `${m[1]}.json`));
  const record = JSON.parse(readFileSync(m[2]!, 'utf8')) as { run: string; pipeline: { name: string }; stages: unknown[] };
  assert.deepEqual([record.run, record.pipeline.name, record.stages.length], [m[1], 'readme-example', 4]);

  const second = run();
  assert.equal(second.status, 0, second.stderr);
  assert.match(second.stdout, /^run \S+: 0 executed, 4 cached, 0 failed; record /m);
});
