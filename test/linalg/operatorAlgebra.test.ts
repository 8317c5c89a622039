import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Rng } from '../../src/util/random.js';
import {
  add,
  countingOperator,
  deflate,
  diagonalOperator,
  fromDenseSymmetric,
  lowRankUpdate,
  MatvecBudgetExceeded,
  measuredAsymmetry,
  scale,
  sub,
  toDense,
} from '../../src/linalg/operatorAlgebra.js';
import { symmetricEigen } from '../../src/linalg/symmetricEigen.js';
import { SpecpipeError } from '../../src/util/errors.js';

function randomSymmetric(rng: Rng, n: number): Float64Array {
  const a = new Float64Array(n * n);
  for (let i = 0; i < n; i++)
    for (let j = 0; j <= i; j++) {
      const x = rng.normal();
      a[i * n + j] = x;
      a[j * n + i] = x;
    }
  return a;
}

function assertClose(got: Float64Array, want: Float64Array, tol: number, what: string): void {
  assert.equal(got.length, want.length, what);
  for (let i = 0; i < got.length; i++) assert.ok(Math.abs(got[i]! - want[i]!) <= tol, `${what}[${i}]: ${got[i]} vs ${want[i]}`);
}

test('fromDenseSymmetric rejects non-square and asymmetric matrices, naming the measured asymmetry', () => {
  assert.throws(
    () => fromDenseSymmetric(new Float64Array(6), { name: 'M.npy' }),
    (e: Error) =>
      e instanceof SpecpipeError && e.reason === 'matrix-not-square' && /M\.npy: .*received 6 entries/.test(e.message),
  );
  const a = Float64Array.of(1, 2, 2.5, 4);
  assert.equal(measuredAsymmetry(a, 2), 0.5 / 4);
  assert.throws(
    () => fromDenseSymmetric(a, { name: 'A' }),
    (e: Error) => e instanceof SpecpipeError && e.reason === 'matrix-asymmetric' && e.message.includes('1.250e-1'),
  );
  assert.throws(() => fromDenseSymmetric(Float64Array.of(1, NaN, NaN, 1)), /entry \(0, 1\) is NaN/);
  const ok = fromDenseSymmetric(Float64Array.of(1, 2, 2, 4));
  assert.equal(ok.asymmetry, 0);
  assert.equal(ok.size, 2);
});

test('add, sub, scale, lowRankUpdate, deflate and toDense match dense float64 references', async () => {
  const rng = new Rng(3);
  const n = 7;
  const A = randomSymmetric(rng, n);
  const B = randomSymmetric(rng, n);
  const a = fromDenseSymmetric(A);
  const b = fromDenseSymmetric(B);
  assertClose(await toDense(a), A, 0, 'toDense');
  assertClose(
    await toDense(add(a, b)),
    A.map((x, i) => x + B[i]!),
    1e-14,
    'add',
  );
  assertClose(
    await toDense(sub(a, b)),
    A.map((x, i) => x - B[i]!),
    1e-14,
    'sub',
  );
  assertClose(
    await toDense(scale(a, -2.5)),
    A.map((x) => -2.5 * x),
    1e-14,
    'scale',
  );
  const u = [Float64Array.from({ length: n }, () => rng.normal()), Float64Array.from({ length: n }, () => rng.normal())];
  const d = [0.5, -3];
  const ref = Float64Array.from(A);
  for (let k = 0; k < 2; k++)
    for (let i = 0; i < n; i++) for (let j = 0; j < n; j++) ref[i * n + j] = ref[i * n + j]! + d[k]! * u[k]![i]! * u[k]![j]!;
  assertClose(await toDense(lowRankUpdate(a, u, d)), ref, 1e-13, 'lowRankUpdate');
  assert.throws(
    () => add(a, diagonalOperator(new Float64Array(3))),
    /sizes differ, received dense\.size = 7 and diagonal\.size = 3/,
  );
  assert.throws(() => lowRankUpdate(a, u, [1]), /2 columns of U but 1 weights/);

  // Deflating the top two eigenpairs leaves the other eigenvalues and two zeros.
  const { values, vectors } = symmetricEigen(A, n);
  const pairs = [n - 1, n - 2].map((j) => ({ value: values[j]!, vector: vectors!.slice(j * n, j * n + n) }));
  const deflated = symmetricEigen(await toDense(deflate(a, pairs)), n).values;
  const want = [...Array.from(values.slice(0, n - 2)), 0, 0].sort((x, y) => x - y);
  assertClose(deflated, Float64Array.from(want), 1e-12, 'deflated spectrum');
});

test('countingOperator counts products and refuses to exceed its budget', async () => {
  const c = countingOperator(diagonalOperator(Float64Array.of(1, 2, 3)), 2);
  const v = Float64Array.of(1, 1, 1);
  assert.deepEqual(Array.from(await c.matvec(v)), [1, 2, 3]);
  await c.matvec(v);
  assert.equal(c.used, 2);
  assert.equal(c.remaining, 0);
  await assert.rejects(c.matvec(v), (e: Error) => e instanceof MatvecBudgetExceeded && /budget of 2/.test(e.message));
  assert.equal(c.used, 2, 'a refused product is not counted');
});
