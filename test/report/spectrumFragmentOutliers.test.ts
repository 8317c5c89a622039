// The report's numbers count outliers by one rule (src/linalg/outlierCount.ts) with its evidence,
// instead of calling every top-k eigenvalue an outlier.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { diagonalOperator, fromDenseSymmetric } from '../../src/linalg/operatorAlgebra.js';
import { wishartWithOutliers } from '../linalg/fixtures.js';
import { measureSpectrum } from '../../src/linalg/spectrumMeasurement.js';
import { spectrumReportFragment } from '../../src/report/spectrumFragment.js';

const options = (deflate: number) => ({
  lanczosSteps: 30,
  startVectors: 2,
  gridSize: 64,
  seed: 1,
  topK: 6,
  topKTol: 1e-6,
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

test('numbers: SLQ traces tr = P·∫λdμ and Σλ² = P·∫λ²dμ carry their standard error across start vectors, and cover the exact values', async () => {
  // Dense (a diagonal with Rademacher probes would give the trace exactly, with zero spread).
  const P = 150;
  const A = wishartWithOutliers(3, P, 300, [10, 5]);
  const m = await measureSpectrum(fromDenseSymmetric(A), { ...options(0), startVectors: 8, topK: 0 });
  assert.ok(m.moments.meanStderr !== undefined && m.moments.secondStderr !== undefined);
  assert.ok(m.moments.meanStderr > 0 && m.moments.secondStderr > 0);
  let tr = 0;
  let tr2 = 0;
  for (let i = 0; i < P; i++) tr += A[i * P + i]!;
  for (const x of A) tr2 += x * x; // Σλ² = ‖A‖_F²
  // 4 standard errors: a loose, fast check of calibration on one seed.
  assert.ok(Math.abs(P * m.moments.mean - tr) <= 4 * P * m.moments.meanStderr, `tr ${P * m.moments.mean} vs ${tr}`);
  assert.ok(Math.abs(P * m.moments.second - tr2) <= 4 * P * m.moments.secondStderr, `Σλ² ${P * m.moments.second} vs ${tr2}`);
  const f = spectrumReportFragment(m, { operator: 'hessian', split: 'train', tags, parameters: P, piece: false, deflate: 0 });
  for (const what of ['tr = P·∫λdμ (SLQ)', 'Σλ² = P·∫λ²dμ (SLQ)']) {
    const row = f.numbers?.find((r) => r.name.startsWith(what));
    assert.match(row?.note ?? '', /^± \S+ \(standard error across 8 start vectors\)$/, what);
  }
  const one = await measureSpectrum(fromDenseSymmetric(A), { ...options(0), startVectors: 1, topK: 0 });
  assert.equal(one.moments.meanStderr, undefined, 'one start vector: no standard error');
});

test('numbers: only the leading converged pairs enter the outlier rule, and the note says so', async () => {
  const m = await measureSpectrum(diagonalOperator(spectrum([40, 30, 20])), options(0));
  const marked = { ...m, pairs: m.pairs.map((p, i) => (i === 5 ? { ...p, converged: false } : p)) };
  const f = spectrumReportFragment(marked, {
    operator: 'hessian',
    split: 'train',
    tags,
    parameters: 200,
    piece: false,
    deflate: 0,
  });
  const row = f.numbers?.find((r) => r.name.startsWith('outliers by the rule'));
  assert.equal(row?.value, 3);
  assert.match(row?.note ?? '', /; from the 5 leading converged pairs$/);
});
