import { test } from 'node:test';
import assert from 'node:assert/strict';
import { countingOperator, fromDenseSymmetric } from '../../src/linalg/operatorAlgebra.js';
import { bottomEigenpairs, topEigenpairs, type EigenMethod, type EigenpairResult } from '../../src/linalg/outliers.js';
import { blockLanczosEigenpairs } from '../../src/linalg/blockLanczos.js';
import { coalescedMatvec } from '../../src/linalg/blockMatvec.js';
import { symmetricEigen } from '../../src/linalg/symmetricEigen.js';
import type { LinearOperator } from '../../src/linalg/operator.js';
import { exactEigenvalues, wishartWithOutliers } from './fixtures.js';
import { Rng } from '../../src/util/random.js';

const N = 300;
const TOL = 1e-6;

/** Q diag(λ) Qᵀ (row-major, float64) with Q the eigenvectors of a random symmetric matrix: a matrix of exactly known spectrum. */
function withSpectrum(seed: number, lambda: readonly number[]): Float64Array {
  const n = lambda.length;
  const rng = new Rng(seed);
  const R = new Float64Array(n * n);
  for (let i = 0; i < n; i++)
    for (let j = 0; j <= i; j++) {
      const x = rng.normal();
      R[i * n + j] = x;
      R[j * n + i] = x;
    }
  const Q = symmetricEigen(R, n).vectors!; // column j: Q.subarray(j n, (j + 1) n)
  const A = new Float64Array(n * n);
  for (let c = 0; c < n; c++) {
    const q = Q.subarray(c * n, c * n + n);
    const l = lambda[c]!;
    for (let i = 0; i < n; i++) {
      const li = l * q[i]!;
      for (let j = 0; j < n; j++) A[i * n + j] = A[i * n + j]! + li * q[j]!;
    }
  }
  for (let i = 0; i < n; i++)
    for (let j = 0; j < i; j++) {
      const h = (A[i * n + j]! + A[j * n + i]!) / 2;
      A[i * n + j] = h;
      A[j * n + i] = h;
    }
  return A;
}

/** `top` followed by a bulk spread uniformly over [0, bulkEdge]. */
function spectrum(top: readonly number[], bulkEdge: number): number[] {
  const rest = N - top.length;
  return [...top, ...Array.from({ length: rest }, (_, i) => (bulkEdge * i) / (rest - 1))];
}

interface Case {
  readonly name: string;
  readonly matrix: () => Float64Array;
  readonly k: number;
}

const CASES: readonly Case[] = [
  {
    name: 'well separated (20, 19, …, 11 over a bulk in [0, 1])',
    k: 10,
    matrix: () => withSpectrum(1, spectrum([20, 19, 18, 17, 16, 15, 14, 13, 12, 11], 1)),
  },
  {
    name: 'clustered (10·(1 − 1e-3 j), j < 10, over a bulk in [0, 5])',
    k: 10,
    matrix: () =>
      withSpectrum(
        2,
        spectrum(
          Array.from({ length: 10 }, (_, j) => 10 * (1 - 1e-3 * j)),
          5,
        ),
      ),
  },
  {
    name: 'repeated (10 ×3, 8 ×3, 6, 5, 4, 3 over a bulk in [0, 2])',
    k: 10,
    matrix: () => withSpectrum(3, spectrum([10, 10, 10, 8, 8, 8, 6, 5, 4, 3], 2)),
  },
  {
    name: 'Wishart with outliers 10…19 (n = 300, 600 columns)',
    k: 10,
    matrix: () => wishartWithOutliers(21, N, 600, [10, 11, 12, 13, 14, 15, 16, 17, 18, 19]),
  },
];

/**
 * The checks every result must pass against the dense spectrum `exact` (ascending):
 * converged exactly when the measured residual says so, and — for a converged result — each value
 * within the block residual bound ‖R‖_F = (Σ r_i²)^½ of the matching exact eigenvalue (Kahan–Parlett–Jiang:
 * k orthonormal Ritz pairs lie within ‖R‖₂ ≤ ‖R‖_F of k eigenvalues; equality of index says none was missed).
 */
function checkAgainstDense(r: EigenpairResult, exact: Float64Array, k: number, tol: number): void {
  for (const p of r.pairs)
    assert.equal(p.converged, p.residual <= tol * r.normEstimate, 'converged only when the residual says so');
  assert.equal(r.converged, r.pairs.length === k && r.pairs.every((p) => p.converged));
  if (!r.converged) return;
  const bound = Math.sqrt(r.pairs.reduce((s, p) => s + p.residual ** 2, 0)) + 1e-12 * r.normEstimate;
  r.pairs.forEach((p, i) => {
    const want = exact[exact.length - 1 - i]!;
    assert.ok(Math.abs(p.value - want) <= bound, `λ_${i + 1}: ${p.value} vs ${want} (bound ${bound.toExponential(2)})`);
  });
}

const productsUsed: Record<string, Record<EigenMethod, number>> = {};

for (const c of CASES) {
  for (const method of ['block', 'lanczos'] as const) {
    test(`${method}: top-${c.k} of ${c.name} match the dense solver within their residual bound`, async (t) => {
      const A = c.matrix();
      const exact = exactEigenvalues(A, N);
      const spy = countingOperator(fromDenseSymmetric(A));
      const r = await topEigenpairs(spy, c.k, { method, seed: 1, maxMatvecs: 1500, tol: TOL });
      assert.equal(spy.used, r.matvecs, 'every product went through the operator and was counted');
      assert.ok(r.matvecs <= 1500);
      assert.equal(r.converged, true, `converged in ${r.matvecs} products`);
      checkAgainstDense(r, exact, c.k, TOL);
      (productsUsed[c.name] ??= { block: NaN, lanczos: NaN })[method] = r.matvecs;
      t.diagnostic(`${method}: ${r.matvecs} products, ${r.restarts} restarts`);
    });
  }
  test(`block: a tiny budget on ${c.name} says "not converged" honestly and never exceeds it`, async () => {
    const A = c.matrix();
    const spy = countingOperator(fromDenseSymmetric(A));
    const r = await blockLanczosEigenpairs(spy, { k: c.k, seed: 1, maxMatvecs: 30, tol: TOL });
    assert.ok(spy.used <= 30, `${spy.used} products`);
    assert.equal(r.budgetExhausted, true);
    assert.equal(r.converged, false);
    checkAgainstDense(r, exactEigenvalues(A, N), c.k, TOL);
  });
}

test('products per converged top-10 pair, block vs lanczos (the default stays lanczos unless block never needs more)', (t) => {
  for (const [name, used] of Object.entries(productsUsed)) t.diagnostic(`${name}: block ${used.block}, lanczos ${used.lanczos}`);
  assert.equal(Object.keys(productsUsed).length, CASES.length, 'every case ran with both methods');
});

test('block: bottom-3 of the Wishart case match the dense solver', async () => {
  const A = wishartWithOutliers(21, N, 600, [10, 11, 12]);
  const exact = exactEigenvalues(A, N);
  const r = await bottomEigenpairs(fromDenseSymmetric(A), 3, { method: 'block', seed: 2, maxMatvecs: 2000, tol: TOL });
  assert.equal(r.converged, true);
  const bound = Math.sqrt(r.pairs.reduce((s, p) => s + p.residual ** 2, 0)) + 1e-12 * r.normEstimate;
  r.pairs.forEach((p, i) => assert.ok(Math.abs(p.value - exact[i]!) <= bound, `λ_min+${i}: ${p.value} vs ${exact[i]}`));
});

test('block: products are issued as blocks — through matmat when the operator has one', async () => {
  const A = wishartWithOutliers(21, N, 600, [10, 11, 12, 13, 14]);
  const dense = fromDenseSymmetric(A);
  const blocks: number[] = [];
  let singles = 0;
  const op: LinearOperator & { matmat(vs: readonly Float64Array[]): Promise<Float64Array[]> } = {
    size: N,
    symmetric: true,
    matvec: async (v) => {
      singles++;
      return dense.matvec(v);
    },
    matmat: async (vs) => {
      blocks.push(vs.length);
      return Promise.all(vs.map((v) => dense.matvec(v)));
    },
  };
  const r = await blockLanczosEigenpairs(op, { k: 5, seed: 3, maxMatvecs: 800, blockSize: 8 });
  assert.equal(r.converged, true);
  assert.equal(singles, 0, 'no single products');
  assert.equal(
    blocks.reduce((s, b) => s + b, 0),
    r.matvecs,
  );
  assert.ok(
    blocks.every((b) => b >= 1 && b <= 8) && blocks.filter((b) => b === 8).length >= blocks.length - 2,
    `blocks ${blocks.join(',')}`,
  );
});

test('block: without matmat, concurrent matvecs reach blockMatvec coalesced into blocks', async () => {
  const A = wishartWithOutliers(21, N, 600, [10, 11, 12, 13, 14]);
  const dense = fromDenseSymmetric(A);
  const blocks: number[] = [];
  const matvec = coalescedMatvec(async (vs) => {
    blocks.push(vs.length);
    return Promise.all(vs.map((v) => dense.matvec(v)));
  }, 8);
  const r = await blockLanczosEigenpairs({ size: N, symmetric: true, matvec }, { k: 5, seed: 3, maxMatvecs: 800, blockSize: 8 });
  assert.equal(r.converged, true);
  assert.equal(
    blocks.reduce((s, b) => s + b, 0),
    r.matvecs,
  );
  assert.ok(blocks.filter((b) => b === 8).length >= blocks.length - 2, `blocks ${blocks.join(',')}`);
});

test('method must be lanczos|block', async () => {
  const A = fromDenseSymmetric(withSpectrum(4, [3, 2, 1]));
  await assert.rejects(
    topEigenpairs(A, 1, { method: 'lobpcg' as EigenMethod }),
    /method must be lanczos\|block, received "lobpcg"/,
  );
});
