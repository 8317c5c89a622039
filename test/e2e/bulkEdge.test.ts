/**
 * Issue 12, done means: "each deflated operator's reported λ_max is below the undeflated λ_{k+1} + its
 * residual", for the default pipeline's bulk stages (spectrum/slq with deflate: 10). The default
 * pipeline's own file (pipelines/mnist-mlp.yaml) scaled down through --set — same stages, same
 * deflate: 10 and top_k: 12, fewer samples, epochs and Lanczos steps, a 784-16-10 MLP — and only the
 * instances the check reads (bulk, and the spectra of Hess and G that give λ_11 with its residual),
 * read back through the typed artifact reader (spectrumArtifact).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { spectrumArtifact } from '../../src/stages/spectrum-slq/spectrumArtifact.js';
import { runJson, tempWorkspace } from '../pipeline/cliHarness.js';
import { storedArtifact } from './storedArtifact.js';

const here = dirname(fileURLToPath(import.meta.url));
const repoRoot = import.meta.url.endsWith('.js') ? join(here, '..', '..', '..') : join(here, '..', '..');
const DEFAULT = join(repoRoot, 'pipelines', 'mnist-mlp.yaml');

const SCALED = [
  'data.with.train_per_class=10',
  'data.with.test_per_class=5',
  'train.matrix.train_per_class=[5, 10]',
  'train.with.model={ kind: mlp, hidden: [16] }',
  'train.with.epochs=2',
  'train.with.checkpoints=[0, 2]',
  'spectra.matrix.operator=[hessian, ggn]',
  'spectra.with.lanczos_steps=16',
  'spectra.with.start_vectors=1',
  'spectra.with.log_spectrum=false',
  'spectra.with.trace=false',
  'bulk.with.lanczos_steps=16',
].flatMap((s) => ['--set', s]);

test('default pipeline (scaled down): every deflated bulk operator reports λ_max ≤ the undeflated λ_{k+1} + its residual', async () => {
  const dir = tempWorkspace('specpipe-bulk-edge-');
  const run = await runJson([DEFAULT, ...SCALED, '--only', 'bulk', '--only', 'spectra'], { cwd: dir });
  const artifacts = run.stages.map((s) => storedArtifact(s.artifacts));
  const bulk = artifacts.filter((a) => a.stage === 'bulk');
  assert.equal(bulk.length, 8, '2 sample sizes × Hess, G × train, test');
  for (const b of bulk) {
    const k = Number(b.params['deflate']);
    assert.equal(k, 10, 'the default pipeline deflates the top C = 10');
    const spectra = artifacts.find(
      (a) =>
        a.stage === 'spectra' &&
        (['operator', 'split', 'train_per_class'] as const).every((axis) => a.coords[axis] === b.coords[axis]),
    );
    assert.ok(spectra !== undefined, `the undeflated spectra instance of ${b.name}`);
    const bulkSpectrum = spectrumArtifact(b);
    const measured = await bulkSpectrum.measured();
    assert.equal(measured.operator, `${String(b.coords['operator'])}-deflated`);
    assert.equal(measured.deflated, k);
    // Its reported λ_max: the largest Ritz value of the deflated operator (metric top_eigenvalue).
    const ritz = await bulkSpectrum.ritz();
    const lambdaMax = Math.max(...ritz.nodes);
    assert.equal(b.manifest.metrics['top_eigenvalue'], lambdaMax);
    const top = await spectrumArtifact(spectra).outliers();
    assert.ok(top.length > k, `${spectra.name} has top_k ${top.length} > ${k}`);
    const next = top[k]!;
    assert.ok(
      lambdaMax <= next.value + next.residual,
      `${b.name}: deflated λ_max ${lambdaMax} > λ_${k + 1} ${next.value} + residual ${next.residual} (${spectra.name})`,
    );
    // And it is the bulk edge, not a removed outlier: below λ_k of the same operator.
    assert.ok(lambdaMax < top[k - 1]!.value, `${b.name}: λ_max ${lambdaMax} vs λ_${k} ${top[k - 1]!.value}`);
    process.stdout.write(
      `# ${b.name}: λ_max ${lambdaMax.toPrecision(5)} ≤ λ_${k + 1} ${next.value.toPrecision(5)} + ${next.residual.toExponential(1)}\n`,
    );
  }
});
