/**
 * `runPipeline()` from code writes the run record `specpipe run` writes: the same fields, the same
 * stage keys, statuses, params and ingredients for the same pipeline (only ids, times, paths differ).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import '../pipeline/fixtures/testStages.js';
import { runJson, tempWorkspace } from '../pipeline/cliHarness.js';
import { runPipeline } from '../../src/pipeline/index.js';
import type { RunRecord } from '../../src/store/runRecord.js';

const PIPE = `name: library-run
seed: 3
stages:
  a:
    uses: test/const
    matrix: { value: [1, 2] }
  b:
    uses: test/sum
    needs: [a]
    with: { scale: 2 }
`;

/** Every key path of a JSON value (array items by index), to compare two records' shapes. */
function shape(v: unknown, prefix = ''): string[] {
  if (Array.isArray(v)) return v.flatMap((x, i) => shape(x, `${prefix}[${i}]`));
  if (typeof v === 'object' && v !== null)
    return Object.entries(v).flatMap(([k, x]) => [`${prefix}.${k}`, ...shape(x, `${prefix}.${k}`)]);
  return [];
}

test('runPipeline() writes the same run record as specpipe run', async () => {
  const cliDir = tempWorkspace('specpipe-cli-record-');
  const libDir = tempWorkspace('specpipe-lib-record-');
  writeFileSync(join(cliDir, 'pipe.yaml'), PIPE);
  writeFileSync(join(libDir, 'pipe.yaml'), PIPE);
  const cli = await runJson(['pipe.yaml', '--set', 'b.with.scale=3'], { cwd: cliDir });
  const cliRecord = JSON.parse(readFileSync(join(cliDir, 'runs', `${cli.run}.json`), 'utf8')) as RunRecord;

  const { record, recordPath } = await runPipeline(join(libDir, 'pipe.yaml'), {
    store: join(libDir, 'artifacts'),
    set: ['b.with.scale=3'],
  });
  assert.equal(recordPath, join(libDir, 'runs', `${record.run}.json`));
  const written = JSON.parse(readFileSync(recordPath, 'utf8')) as RunRecord;
  assert.deepEqual(written, JSON.parse(JSON.stringify(record)), 'the returned record is the one written');

  // The same fields, nested ones included.
  assert.deepEqual(shape(written).sort(), shape(cliRecord).sort());
  assert.deepEqual(
    [written.pipeline.name, written.pipeline.sha256, written.pipeline.overrides, written.backend, written.counts],
    [cliRecord.pipeline.name, cliRecord.pipeline.sha256, cliRecord.pipeline.overrides, cliRecord.backend, cliRecord.counts],
  );
  assert.equal(written.store, join(libDir, 'artifacts'));
  assert.match(written.executor, /^local \(.+:\d+\)$/);
  const essentials = (r: RunRecord): unknown[] =>
    r.stages.map((s) => [s.name, s.stage, s.kind, s.key, s.status, s.params, s.ingredients, s.metrics]);
  assert.deepEqual(essentials(written), essentials(cliRecord));
  assert.deepEqual(
    written.stages.map((s) => s.artifacts),
    written.stages.map((s) => join(libDir, 'artifacts', s.key)),
  );

  // A second call reuses everything, as a CLI rerun does.
  const again = await runPipeline(join(libDir, 'pipe.yaml'), { store: join(libDir, 'artifacts'), set: ['b.with.scale=3'] });
  assert.deepEqual(again.record.counts, { executed: 0, cached: 4, failed: 0 });
});
