import { test } from 'node:test';
import assert from 'node:assert/strict';
import { countingOperator, deflate, diagonalOperator, fromDenseSymmetric } from '../../src/linalg/operatorAlgebra.js';
import { bottomEigenpairs, topEigenpairs } from '../../src/linalg/outliers.js';
import { exactEigenvalues, slowOnly, spikedWishart, wishartWithOutliers } from './fixtures.js';
import { Rng } from '../../src/util/random.js';

const N = 600;
const OUTLIERS = [10, 11, 12, 13, 14, 15, 16, 17, 18, 19];
const A = wishartWithOutliers(21, N, 1200, OUTLIERS);
const exact = exactEigenvalues(A, N);

test('top-10 separated outliers to ≤ 1e-6 relative in ≤ 100 products, each with a measured residual', async () => {
  const spy = countingOperator(fromDenseSymmetric(A));
  const r = await topEigenpairs(spy, 10, { seed: 1, maxMatvecs: 100 });
  assert.ok(r.matvecs <= 100, `${r.matvecs} products`);
  assert.equal(spy.used, r.matvecs, 'every product went through the operator (matrix-free)');
  assert.equal(r.converged, true);
  assert.equal(r.pairs.length, 10);
  r.pairs.forEach((p, i) => {
    const want = exact[N - 1 - i]!;
    assert.ok(Math.abs(p.value - want) <= 1e-6 * Math.abs(want), `λ_${i + 1}: ${p.value} vs ${want}`);
    assert.ok(p.converged && p.residual <= 1e-6 * r.normEstimate, `residual ${p.residual}`);
  });
});

test('bottom-k of the bulk edge converge (with restarts) and match the dense solver', async () => {
  const r = await bottomEigenpairs(fromDenseSymmetric(A), 2, { seed: 2, maxMatvecs: 600, maxBasis: 60 });
  assert.equal(r.converged, true);
  r.pairs.forEach((p, i) =>
    assert.ok(Math.abs(p.value - exact[i]!) <= 1e-6 * r.normEstimate, `λ_min+${i}: ${p.value} vs ${exact[i]}`),
  );
  assert.ok(r.restarts >= 1, 'this needs a thick restart at maxBasis = 60');
});

test('a budget too small stops with an honest "not converged" and never exceeds the budget', async () => {
  const spy = countingOperator(fromDenseSymmetric(A));
  const r = await topEigenpairs(spy, 10, { seed: 1, maxMatvecs: 25 });
  assert.ok(spy.used <= 25);
  assert.equal(r.budgetExhausted, true);
  assert.equal(r.converged, false);
  const unconverged = r.pairs.filter((p) => !p.converged);
  assert.ok(unconverged.length > 0);
  for (const p of r.pairs)
    assert.equal(p.converged, p.residual <= 1e-6 * r.normEstimate, 'converged only when the residual says so');
});

test('no ghost duplicates: top-6 past three outliers gives distinct values matching the exact 6 largest', async () => {
  const n = 400;
  const B = wishartWithOutliers(8, n, 800, [30, 40, 50]);
  const ex = exactEigenvalues(B, n);
  const r = await topEigenpairs(fromDenseSymmetric(B), 6, { seed: 3, maxMatvecs: 1500, vectors: true });
  assert.equal(r.converged, true);
  r.pairs.forEach((p, i) => assert.ok(Math.abs(p.value - ex[n - 1 - i]!) <= 1e-5 * 50, `#${i}: ${p.value} vs ${ex[n - 1 - i]}`));
  for (let i = 0; i < r.pairs.length; i++)
    for (let j = 0; j < i; j++) {
      let s = 0;
      const a = r.pairs[i]!.vector!;
      const b = r.pairs[j]!.vector!;
      for (let k = 0; k < n; k++) s += a[k]! * b[k]!;
      assert.ok(Math.abs(s) < 1e-4, `eigenvectors ${i}, ${j} overlap ${s}`);
    }
});

test('an invariant subspace continues from a fresh vector, so multiplicities are found; deflation then removes them', async () => {
  // 50 entries: 9 twice, 3 three times, the rest 1 and 2 — the Krylov space of one vector is invariant after 4 steps.
  const d = Float64Array.from({ length: 50 }, (_, i) => (i < 2 ? 9 : i < 5 ? 3 : 1 + (i % 2)));
  const spy = countingOperator(diagonalOperator(d), 200);
  const r = await topEigenpairs(spy, 4, { seed: 4, maxMatvecs: 200, vectors: true, start: 'gaussian' });
  assert.equal(r.converged, true);
  assert.deepEqual(
    r.pairs.map((p) => Math.round(p.value * 1e6) / 1e6),
    [9, 9, 3, 3],
    'the second 9 is a genuine multiplicity (orthogonal eigenvector), found after the invariant subspace',
  );
  assert.ok(spy.used < 60, `${spy.used} products`);
  // Deflating the two 9s leaves 3 as the largest eigenvalue.
  const defl = deflate(
    diagonalOperator(d),
    r.pairs.slice(0, 2).map((p) => ({ value: p.value, vector: p.vector! })),
  );
  const r2 = await topEigenpairs(defl, 1, { seed: 5, maxMatvecs: 100 });
  assert.ok(Math.abs(r2.pairs[0]!.value - 3) < 1e-5, `${r2.pairs[0]!.value}`);
});

test('bottom-k of a rank-deficient PSD Gram matrix (null space of dimension 200) finds the repeated zero quickly, or says it did not', async () => {
  const n = 300;
  const rng = new Rng(6);
  const r = 100;
  const Z = Float64Array.from({ length: n * r }, () => rng.normal());
  const G = new Float64Array(n * n);
  for (let i = 0; i < n; i++)
    for (let j = 0; j <= i; j++) {
      let s = 0;
      for (let k = 0; k < r; k++) s += Z[i * r + k]! * Z[j * r + k]!;
      G[i * n + j] = s / r;
      G[j * n + i] = s / r;
    }
  const spy = countingOperator(fromDenseSymmetric(G));
  const res = await bottomEigenpairs(spy, 3, { seed: 7, maxMatvecs: 300 });
  assert.ok(spy.used <= 300);
  assert.equal(res.converged, true);
  for (const p of res.pairs) assert.ok(Math.abs(p.value) <= 1e-6 * res.normEstimate, `${p.value} should be 0`);
  const tiny = await bottomEigenpairs(fromDenseSymmetric(G), 3, { seed: 7, maxMatvecs: 6 });
  assert.equal(tiny.converged, false, 'a budget of 6 products cannot confirm three zeros');
});

test('slow: top-10 of diag(5,4,3,0,…) + ZZᵀ/2000 (n = 2000) against the dense solver', { skip: slowOnly }, async () => {
  const n = 2000;
  const M = spikedWishart(0, n, [5, 4, 3]);
  const ex = exactEigenvalues(M, n);
  const r = await topEigenpairs(fromDenseSymmetric(M), 10, { seed: 1, maxMatvecs: 2000 });
  assert.equal(r.converged, true);
  r.pairs.forEach((p, i) =>
    assert.ok(
      Math.abs(p.value - ex[n - 1 - i]!) <= 1e-6 * Math.abs(ex[n - 1 - i]!) + 1e-6 * r.normEstimate,
      `#${i}: ${p.value} vs ${ex[n - 1 - i]}`,
    ),
  );
});
