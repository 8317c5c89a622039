/**
 * `specpipe run --json` prints one JSON document on stdout, failures included: the failed stage's
 * error (stage, instance, message) is in it, not only in the stderr log.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import '../pipeline/fixtures/testStages.js';
import { runCli, tempWorkspace } from '../pipeline/cliHarness.js';

const PIPE = `name: json-errors
stages:
  a:
    uses: test/const
    matrix: { value: [1, 2] }
  b:
    uses: test/sum
    needs: [a]
  c:
    uses: test/sum
    needs: [b]
`;

test('run --json with a failing stage: one JSON document with the error of each failed instance, exit 1', async () => {
  const dir = tempWorkspace();
  writeFileSync(join(dir, 'pipe.yaml'), PIPE);
  const r = await runCli(['run', 'pipe.yaml', '--set', 'b.with.fail=true', '--keep-going', '--json'], { cwd: dir });
  assert.equal(r.code, 1, r.stderr);
  assert.equal(r.stdout.trimEnd().split('\n').at(-1), '}', 'stdout is the JSON document and nothing else');
  const doc = JSON.parse(r.stdout) as {
    run: string;
    status: string;
    stages: { name: string; status: string; error?: string }[];
    errors: { stage: string; instance: string; message: string }[];
  };
  assert.equal(doc.status, 'failed');
  assert.deepEqual(
    doc.stages.map((s) => [s.name, s.status, s.error?.split('\n')[0]]),
    [
      ['a[value=1]', 'executed', undefined],
      ['a[value=2]', 'executed', undefined],
      ['b[value=1]', 'failed', 'Error: test/sum told to fail'],
      ['b[value=2]', 'failed', 'Error: test/sum told to fail'],
      ['c[value=1]', 'failed', 'not run: upstream b[value=1] failed'],
      ['c[value=2]', 'failed', 'not run: upstream b[value=2] failed'],
    ],
  );
  assert.deepEqual(doc.errors, [
    { stage: 'b', instance: 'b[value=1]', message: 'Error: test/sum told to fail' },
    { stage: 'b', instance: 'b[value=2]', message: 'Error: test/sum told to fail' },
  ]);
  // The log stays on stderr.
  assert.match(r.stderr, /^b\[value=1\] failed: Error: test\/sum told to fail$/m);
  assert.match(r.stderr, new RegExp(`^2 executed, 0 cached, 4 failed in \\d+\\.\\d\\d s \\(run ${doc.run}\\)$`, 'm'));
});

test('run --json when everything succeeds: status succeeded, no errors', async () => {
  const dir = tempWorkspace();
  writeFileSync(join(dir, 'pipe.yaml'), PIPE);
  const r = await runCli(['run', 'pipe.yaml', '--json'], { cwd: dir });
  assert.equal(r.code, 0, r.stderr);
  const doc = JSON.parse(r.stdout) as { status: string; errors: unknown[]; stages: { error?: string }[] };
  assert.equal(doc.status, 'succeeded');
  assert.deepEqual(doc.errors, []);
  assert.ok(doc.stages.every((s) => s.error === undefined));
});
