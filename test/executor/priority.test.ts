/**
 * Stage `priority`: among instances ready to start, the higher priority starts first (equal: in the order
 * they became ready); an instance's upstream instances inherit its priority; priority is in no key.
 * Observed through the test stages' start log with one job, so the order is the scheduler's alone.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import '../pipeline/fixtures/testStages.js';
import { runCli, runJson, statuses, tempWorkspace } from '../pipeline/cliHarness.js';

/** `late` reads `late_input`; both become ready after `source`, `early` too, and `early` comes first in the file. */
const pipeline = (latePriority: string): string => `name: priority-test
stages:
  source: { uses: test/const, with: { value: 1 } }
  early: { uses: test/sum, needs: [source] }
  late_input: { uses: test/sum, needs: [source], with: { scale: 2 } }
  late: { uses: test/sum, needs: [late_input], with: { scale: 3 }${latePriority} }
`;

async function startOrder(dir: string, yaml: string): Promise<string[]> {
  writeFileSync(join(dir, 'p.yaml'), yaml);
  const log = join(dir, 'start.log');
  writeFileSync(log, '');
  const r = await runJson(['p.yaml', '--jobs', '1'], { cwd: dir, env: { SPECPIPE_TEST_LOG: log } });
  assert.ok(
    r.stages.every((s) => s.status === 'executed'),
    JSON.stringify(statuses(r)),
  );
  return readFileSync(log, 'utf8')
    .split('\n')
    .filter((l) => l.startsWith('start '))
    .map((l) => l.split(' ')[1]!);
}

test('ready instances start by priority; the prioritised stage pulls its input forward; equal priorities keep ready order', async () => {
  const plain = tempWorkspace('specpipe-priority-');
  assert.deepEqual(await startOrder(plain, pipeline('')), ['source', 'early', 'late_input', 'late']);

  const prioritised = tempWorkspace('specpipe-priority-');
  assert.deepEqual(await startOrder(prioritised, pipeline(', priority: 5')), ['source', 'late_input', 'late', 'early']);

  // Negative: after everything else that is ready.
  const last = tempWorkspace('specpipe-priority-');
  const yaml = pipeline('').replace(
    'early: { uses: test/sum, needs: [source] }',
    'early: { uses: test/sum, needs: [source], priority: -1 }',
  );
  assert.deepEqual(await startOrder(last, yaml), ['source', 'late_input', 'late', 'early']);
});

test('priority is scheduling only: the same keys, a rerun with another priority is fully cached', async () => {
  const dir = tempWorkspace('specpipe-priority-');
  writeFileSync(join(dir, 'p.yaml'), pipeline(''));
  const first = await runJson(['p.yaml'], { cwd: dir });
  writeFileSync(join(dir, 'p.yaml'), pipeline(', priority: 7'));
  const again = await runJson(['p.yaml'], { cwd: dir });
  assert.deepEqual(statuses(again), { source: 'cached', early: 'cached', late_input: 'cached', late: 'cached' });
  assert.deepEqual(
    again.stages.map((s) => s.key),
    first.stages.map((s) => s.key),
  );
});

test('a priority that is not an integer in [-1000, 1000] is a positioned error', async () => {
  const dir = tempWorkspace('specpipe-priority-');
  writeFileSync(join(dir, 'p.yaml'), pipeline(', priority: 2.5'));
  const r = await runCli(['validate', 'p.yaml'], { cwd: dir });
  assert.equal(r.code, 1, r.stderr);
  assert.match(r.stderr, /p\.yaml:6:\d+: stages\.late\.priority must be an integer, received 2\.5/);
});
