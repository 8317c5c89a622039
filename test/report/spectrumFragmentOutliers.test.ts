// The report's numbers count outliers by one rule (src/linalg/outlierCount.ts) with its evidence,
// instead of calling every top-k eigenvalue an outlier.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { diagonalOperator } from '../../src/linalg/operatorAlgebra.js';
import { measureSpectrum } from '../../src/linalg/spectrumMeasurement.js';
import { spectrumReportFragment } from '../../src/report/spectrumFragment.js';

const options = (deflate: number) => ({
  lanczosSteps: 30,
  startVectors: 2,
  gridSize: 64,
  seed: 1,
  topK: 6,
  topKTol: 1e-8,
  topKMatvecs: 400,
  deflate,
  traceMatvecs: 0,
  logSpectrum: false,
});
const tags = { dataset: 'synthetic', model: 'diag' };

/** Bulk evenly spread over [0.5, 1], with the given spikes on top. */
function spectrum(spikes: number[]): Float64Array {
  const n = 200;
  const d = Float64Array.from({ length: n }, (_, i) => 0.5 + (0.5 * i) / (n - 1));
  spikes.forEach((s, i) => (d[i] = s));
  return d;
}

function ruleRow(spikes: number[], deflate: number) {
  return measureSpectrum(diagonalOperator(spectrum(spikes)), options(deflate)).then((m) => {
    const f = spectrumReportFragment(m, { operator: 'hessian', split: 'train', tags, parameters: 200, piece: false, deflate });
    const rows = f.numbers?.filter((r) => r.name.startsWith('outliers by the rule of hessian (top 6)')) ?? [];
    assert.equal(rows.length, 1);
    return rows[0]!;
  });
}

test('numbers: 3 planted spikes (40, 30, 20) over a flat bulk → "outliers by the rule" 3, with gap and bulk-edge ratios', async () => {
  const row = await ruleRow([40, 30, 20], 0);
  assert.equal(row.value, 3);
  assert.match(row.note ?? '', /gap ratio λ_3\/λ_4 = 20\.\d, bulk-edge ratio 1\.0\d+, accepted when gap ≥ bulk\^2 and ≥ 1\.5/);
});

test('numbers: the same, deflated by all 6 pairs: the deflated bulk edge enters the evidence, still 3', async () => {
  const row = await ruleRow([40, 30, 20], 6);
  assert.equal(row.value, 3);
});

test('numbers: no spikes (a smooth, flat top) → "no clear outliers", with the evidence', async () => {
  const row = await ruleRow([], 0);
  assert.equal(row.value, 'no clear outliers');
  assert.match(row.note ?? '', /gap ratio λ_\d\/λ_\d = 1\.0\d*, bulk-edge ratio/);
});
