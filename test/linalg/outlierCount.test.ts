// One rule for counting outliers (src/linalg/outlierCount.ts) on synthetic spectra: a clear gap gives
// its position, smooth decays give "no clear outliers", and the bulk edge and the class cap are used.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { countOutliers } from '../../src/linalg/outlierCount.js';
import { diagonalOperator, fromDenseSymmetric } from '../../src/linalg/operatorAlgebra.js';
import { topEigenpairs } from '../../src/linalg/outliers.js';
import { exactEigenvalues, wishartWithOutliers } from './fixtures.js';

test('clear gap: [10, 9, 8 | 1, 0.95, 0.9, 0.85] has 3 outliers, with the evidence', () => {
  const c = countOutliers([10, 9, 8, 1, 0.95, 0.9, 0.85]);
  assert.equal(c.count, 3);
  assert.equal(c.gapRatio, 8);
  assert.ok(Math.abs(c.bulkRatio - 0.9 / 0.85) < 1e-12, `bulk ratio ${c.bulkRatio}`);
  assert.equal(c.margin, 2);
  assert.match(c.reason, /λ_3\/λ_4 = 8\.00/);
});

test('smooth decays have no clear outliers: geometric, power law 1/k and 1/k², linear', () => {
  const geometric = Array.from({ length: 20 }, (_, k) => 0.8 ** k);
  const power1 = Array.from({ length: 20 }, (_, k) => 1 / (k + 1));
  const power2 = Array.from({ length: 20 }, (_, k) => 1 / (k + 1) ** 2);
  const linear = Array.from({ length: 20 }, (_, k) => 20 - k);
  for (const [name, s] of [
    ['geometric', geometric],
    ['1/k', power1],
    ['1/k²', power2],
    ['linear', linear],
  ] as const) {
    const c = countOutliers(s);
    assert.equal(c.count, 0, `${name}: ${c.reason}`);
    assert.ok(c.candidate >= 1 && Number.isFinite(c.gapRatio) && Number.isFinite(c.bulkRatio), `${name}: evidence reported`);
  }
});

test('a gap that is not well above the ratios inside the bulk is rejected; one that is, accepted', () => {
  // r_3 = 3.33, but the bulk's r_4 = 2.4: 3.33 < 2.4² → none.
  assert.equal(countOutliers([10, 5, 4, 1.2, 0.5, 0.25]).count, 0);
  // same gap, flat bulk → 3.
  assert.equal(countOutliers([10, 5, 4, 1.2, 1.1, 1.0]).count, 3);
});

test('the bulk edge enters the bulk ratio; the class cap limits the candidates; too few eigenvalues say so', () => {
  // K = 5: k ≤ 3; bulk ratios r_4 = 1.05 and λ_5 / edge.
  assert.equal(countOutliers([10, 9, 8, 1, 0.95], { bulkEdge: 0.9 }).count, 3);
  const low = countOutliers([10, 9, 8, 1, 0.95], { bulkEdge: 0.1 });
  assert.equal(low.count, 0, 'an edge far below the last pair: the "bulk" still has a large gap');
  assert.ok(Math.abs(low.bulkRatio - 9.5) < 1e-12);
  // C = 1: candidates k ≤ 2 only, the gap at 3 is out of reach.
  assert.equal(countOutliers([10, 9, 8, 1, 0.95, 0.9, 0.85], { classes: 1 }).count, 0);
  const few = countOutliers([3, 1]);
  assert.equal(few.count, 0);
  assert.match(few.reason, /too few positive eigenvalues \(2\)/);
  assert.throws(() => countOutliers([1, 2, 0.5]), /descending/);
});

test('known spectra through Lanczos: ZZᵀ/N + 3 planted outliers (20, 30, 40) → 3; diag(1/k) → none', async () => {
  const n = 300;
  const A = wishartWithOutliers(4, n, 600, [20, 30, 40]);
  const exact = Array.from(exactEigenvalues(A, n)).reverse();
  const r = await topEigenpairs(fromDenseSymmetric(A), 8, { seed: 1, maxMatvecs: 400, tol: 1e-8 });
  const top = r.pairs.map((p) => p.value);
  for (let i = 0; i < 8; i++) assert.ok(Math.abs(top[i]! - exact[i]!) <= 1e-6 * exact[0]!, `pair ${i}`);
  const c = countOutliers(top);
  assert.equal(c.count, 3, c.reason);
  const smooth = await topEigenpairs(diagonalOperator(Float64Array.from({ length: n }, (_, k) => 1 / (k + 1))), 8, {
    seed: 1,
    maxMatvecs: 600,
    tol: 1e-8,
  });
  assert.equal(countOutliers(smooth.pairs.map((p) => p.value)).count, 0);
});
