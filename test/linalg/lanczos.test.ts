import { test } from 'node:test';
import assert from 'node:assert/strict';
import { countingOperator, diagonalOperator, fromDenseSymmetric } from '../../src/linalg/operatorAlgebra.js';
import { lanczos } from '../../src/linalg/lanczos.js';
import { tridiagonalEigen } from '../../src/linalg/tridiagonalEigen.js';
import { exactEigenvalues, wishartWithOutliers } from './fixtures.js';

test('Lanczos on a small matrix: exits on the invariant subspace with the exact eigenvalues and weights summing to 1', async () => {
  const d = Float64Array.of(-2, -1, 0.5, 3, 7, 7.5);
  const spy = countingOperator(diagonalOperator(d));
  const r = await lanczos(spy, { steps: 50, seed: 1, start: 'gaussian' });
  assert.equal(r.invariant, true);
  assert.equal(r.steps, 6);
  assert.equal(r.matvecs, 6);
  assert.equal(spy.used, 6, 'every product went through the operator (matrix-free)');
  const e = tridiagonalEigen(r.alpha, r.beta.subarray(0, r.steps - 1));
  e.values.forEach((v, i) => assert.ok(Math.abs(v - d[i]!) < 1e-6, `${v} vs ${d[i]}`));
  const sum = e.first.reduce((s, x) => s + x * x, 0);
  assert.ok(Math.abs(sum - 1) < 1e-12);
});

test('Lanczos keeps its float32 basis orthonormal to ~1e-6 with full reorthogonalisation, and respects its budget', async () => {
  const n = 300;
  const A = wishartWithOutliers(11, n, 600, [8, 12]);
  const r = await lanczos(fromDenseSymmetric(A), { steps: 120, seed: 2, keepBasis: true });
  assert.ok(r.basis !== undefined);
  assert.equal(r.basisBytes, 120 * n * 4, 'float32 rows');
  let worst = 0;
  for (let i = 0; i < 120; i += 7)
    for (let j = 0; j <= i; j += 3) {
      const a = r.basis.get(i);
      const b = r.basis.get(j);
      let s = 0;
      for (let k = 0; k < n; k++) s += a[k]! * b[k]!;
      worst = Math.max(worst, Math.abs(s - (i === j ? 1 : 0)));
    }
  assert.ok(worst < 1e-6, `max |q_iᵀq_j − δ_ij| = ${worst}`);
  const limited = await lanczos(fromDenseSymmetric(A), { steps: 120, seed: 2, maxMatvecs: 17 });
  assert.equal(limited.matvecs, 17);
  assert.equal(limited.steps, 17);
  assert.equal(limited.budgetExhausted, true);
});

test('no ghosts at 300 steps: with full reorthogonalisation each outlier appears once (the check catches the ghosts of no reorthogonalisation)', async () => {
  const n = 500;
  const A = wishartWithOutliers(5, n, 1000, [10, 14, 20]);
  const exact = exactEigenvalues(A, n);
  const top = exact[n - 1]!;
  const copies = async (reorthogonalization: 'full' | 'none'): Promise<number[]> => {
    const r = await lanczos(fromDenseSymmetric(A), { steps: 300, seed: 9, reorthogonalization });
    assert.equal(r.steps, 300);
    const e = tridiagonalEigen(r.alpha, r.beta.subarray(0, r.steps - 1));
    // Ritz values within 1e-6 relative of each of the three outliers
    return [1, 2, 3].map((k) => Array.from(e.values).filter((x) => Math.abs(x - exact[n - k]!) <= 1e-6 * top).length);
  };
  assert.deepEqual(await copies('full'), [1, 1, 1]);
  const ghosts = await copies('none');
  assert.ok(ghosts[0]! > 1, `without reorthogonalisation the top eigenvalue should have ghost copies, counted ${ghosts[0]}`);
});
