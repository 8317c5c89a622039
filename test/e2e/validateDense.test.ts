/**
 * validate/dense through the default pipeline (pipelines/mnist-mlp.yaml) with its small branch scaled
 * down through --set (10 pooled digits per class, an MLP 49-4-10: P = 250, fewer epochs and steps):
 * the artifact read back through its typed reader (validationArtifact), its metrics, its report
 * fragment; the refusal of a net above with.max_parameters (one line naming P and the limit) and of a
 * limit above 8,000 (positioned schema error).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { validationArtifact } from '../../src/stages/validate-dense/validationArtifact.js';
import type { ValidationPanel } from '../../src/report/validationFragment.js';
import { runCli, runJson, tempWorkspace } from '../pipeline/cliHarness.js';
import { storedArtifact } from './storedArtifact.js';

const here = dirname(fileURLToPath(import.meta.url));
const repoRoot = import.meta.url.endsWith('.js') ? join(here, '..', '..', '..') : join(here, '..', '..');
const DEFAULT = join(repoRoot, 'pipelines', 'mnist-mlp.yaml');

const SMALL = [
  'small_data.with.train_per_class=10',
  'small_data.with.test_per_class=5',
  'small_train.with.train_per_class=10',
  'small_train.with.model={ kind: mlp, hidden: [4] }',
  'small_train.with.epochs=5',
  'small_spectra.with.lanczos_steps=24',
  'small_spectra.with.start_vectors=3',
  'small_bulk.with.lanczos_steps=24',
  'small_bulk.with.start_vectors=3',
  'small_decompose.with.trace_matvecs=12',
  'small_pieces.with.lanczos_steps=16',
  'small_pieces.with.start_vectors=2',
].flatMap((s) => ['--set', s]);

test('validate/dense in the default pipeline (small branch scaled down): exact ground truth against every estimate of the small net', async () => {
  const dir = tempWorkspace('specpipe-validate-');
  const run = await runJson([DEFAULT, ...SMALL, '--only', 'validate'], { cwd: dir });
  assert.equal(run.stages.length, 12, 'small_data, small_train, 3 spectra, bulk, decompose, 4 pieces, validate');
  const v = validationArtifact(storedArtifact(run.stages.find((s) => s.name === 'validate')!.artifacts));
  const checks = await v.checks();
  assert.equal(checks['parameters'], 49 * 4 + 4 + 4 * 10 + 10);
  assert.equal(checks['samples'], 100);
  assert.ok(checks['identity_residual']! <= 1e-12, `‖A1+A2+B1+B2 − G‖/‖G‖ = ${checks['identity_residual']}`);
  assert.equal(checks['b2_psd'], 1);
  assert.ok(checks['lambda_min_b2']! >= -1e-12 * checks['lambda_max_b2']!, `λ_min(B2) = ${checks['lambda_min_b2']}`);
  const rows = await v.rows();
  assert.deepEqual(
    rows.map((r) => r.operator),
    ['hessian', 'ggn', 'residual', 'hessian-deflated', 'a1', 'a2', 'b1', 'b2', 'a1 (Gram)', 'a2 (Gram)', 'b1 (Gram)'],
  );
  for (const r of rows) {
    // float32 products (the estimates) against float64 ground truth.
    assert.ok(r.k >= 1 && r.topRelErrMax <= 1e-4, `${r.operator}: top-${r.k} relative error ${r.topRelErrMax}`);
    if (r.source === 'spectrum/slq') {
      assert.ok(r.w1OverWidth > 0 && r.w1OverWidth <= 0.05, `${r.operator}: W1/width ${r.w1OverWidth}`);
      assert.ok(r.densityL1 > 0 && r.densityL1 <= 0.5, `${r.operator}: density L1 ${r.densityL1}`);
      assert.ok(r.bandCoverage >= 0 && r.bandCoverage <= 1, `${r.operator}: band coverage ${r.bandCoverage}`);
      assert.ok(Number.isInteger(r.outliersExact) && Number.isInteger(r.outliersEstimated));
    } else assert.ok(Number.isNaN(r.w1OverWidth), 'no SLQ in a Gram row');
  }
  const ev = await v.eigenvalues();
  assert.deepEqual(Object.keys(ev).sort(), ['a1', 'a2', 'b1', 'b2', 'ggn', 'hessian', 'residual']);
  for (const e of Object.values(ev)) {
    assert.equal(e.length, checks['parameters']);
    for (let i = 1; i < e.length; i++) assert.ok(e[i - 1]! >= e[i]!, 'descending');
  }
  // The decomposition's Gram eigenvalues of A1 against the dense A1 from its definition.
  const a1 = rows.find((r) => r.operator === 'a1 (Gram)')!;
  assert.ok(a1.k >= 9, `A1 has ${a1.k} nonzero eigenvalues`);
  // Metrics for show/diff, and the validation panel's fragment.
  const m = v.upstream.manifest.metrics;
  assert.equal(m['identity_residual'], checks['identity_residual']);
  assert.equal(m['hessian_top_rel_err_max'], rows[0]!.topRelErrMax);
  assert.equal(m['hessian_deflated_w1_over_width'], rows[3]!.w1OverWidth);
  const frag = JSON.parse(readFileSync(join(v.upstream.dir, 'report-fragment.json'), 'utf8')) as {
    validation: ValidationPanel[];
  };
  assert.equal(frag.validation.length, 1);
  assert.equal(frag.validation[0]!.rows.length, rows.length);
  assert.equal(frag.validation[0]!.checks[1]!.value, checks['identity_residual']);
  // `specpipe export` writes the same table.
  const ex = await runCli(['export', run.run, 'validate', '--format', 'csv', '--out', join(dir, 'export')], {
    cwd: dir,
    process: true,
  });
  assert.equal(ex.code, 0, ex.stderr);
  const csv = readFileSync(join(dir, 'export', 'validate', 'validation.csv'), 'utf8')
    .trim()
    .split('\n');
  assert.equal(
    csv[0],
    'estimate,operator,source,deflated,k,top_rel_err_max,w1_over_width,density_l1,band_coverage,outliers_exact,outliers_estimated',
  );
  assert.equal(csv.length, 1 + rows.length);
  assert.match(csv[1]!, /^small_spectra\[operator=hessian\],hessian,spectrum\/slq,0,/);

  // A net above the limit: one line naming the instance, P and the limit (the upstream stays cached).
  const refused = await runCli(['run', DEFAULT, ...SMALL, '--only', 'validate', '--set', 'validate.with.max_parameters=200'], {
    cwd: dir,
  });
  assert.equal(refused.code, 1);
  assert.match(
    refused.stderr,
    /validate: the net of small_train has P = 250 parameters, above with\.max_parameters = 200 \(dense float64 ground truth stores seven P × P matrices\)/,
  );
  // The limit itself is bounded by the schema: a positioned error.
  const bad = await runCli(['validate', DEFAULT, '--set', 'validate.with.max_parameters=9000'], { cwd: dir });
  assert.equal(bad.code, 1);
  assert.match(bad.stderr, /mnist-mlp\.yaml:\d+:\d+: stages\.validate\.with\.max_parameters must be <= 8000, received 9000/);
});
