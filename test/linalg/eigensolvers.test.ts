import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Rng } from '../../src/util/random.js';
import { symmetricEigen } from '../../src/linalg/symmetricEigen.js';
import { tridiagonalEigen } from '../../src/linalg/tridiagonalEigen.js';

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

for (const n of [1, 2, 3, 17, 80]) {
  test(`symmetricEigen: A V = V Λ and VᵀV = I to 1e-12 on a random ${n} × ${n} matrix`, () => {
    const a = randomSymmetric(new Rng(n), n);
    const { values, vectors } = symmetricEigen(a, n);
    assert.ok(vectors !== undefined);
    let scale = 0;
    for (const x of values) scale = Math.max(scale, Math.abs(x));
    for (let j = 1; j < n; j++) assert.ok(values[j]! >= values[j - 1]!, 'ascending');
    for (let j = 0; j < n; j++) {
      for (let i = 0; i < n; i++) {
        let s = 0;
        for (let k = 0; k < n; k++) s += a[i * n + k]! * vectors[j * n + k]!;
        assert.ok(Math.abs(s - values[j]! * vectors[j * n + i]!) <= 1e-12 * scale, `residual of pair ${j}`);
      }
      for (let l = 0; l < n; l++) {
        let s = 0;
        for (let k = 0; k < n; k++) s += vectors[j * n + k]! * vectors[l * n + k]!;
        assert.ok(Math.abs(s - (j === l ? 1 : 0)) <= 1e-12, `orthonormality ${j},${l}`);
      }
    }
    const valuesOnly = symmetricEigen(a, n, { vectors: false });
    assert.equal(valuesOnly.vectors, undefined);
    for (let j = 0; j < n; j++) assert.ok(Math.abs(valuesOnly.values[j]! - values[j]!) <= 1e-12 * scale);
  });
}

test('symmetricEigen: known spectra (rotated diagonal, 2 × 2 closed form, zero and rank-one matrices)', () => {
  // Q diag(d) Qᵀ with Q a product of Givens rotations.
  const n = 6;
  const d = [3, -1, 0.5, 10, 0.5, -7];
  const a = new Float64Array(n * n);
  for (let i = 0; i < n; i++) a[i * n + i] = d[i]!;
  const rot = (p: number, q: number, th: number): void => {
    const c = Math.cos(th);
    const s = Math.sin(th);
    for (let k = 0; k < n; k++) {
      const x = a[p * n + k]!;
      const y = a[q * n + k]!;
      a[p * n + k] = c * x - s * y;
      a[q * n + k] = s * x + c * y;
    }
    for (let k = 0; k < n; k++) {
      const x = a[k * n + p]!;
      const y = a[k * n + q]!;
      a[k * n + p] = c * x - s * y;
      a[k * n + q] = s * x + c * y;
    }
  };
  rot(0, 3, 0.3);
  rot(1, 5, 1.1);
  rot(2, 4, -0.7);
  rot(0, 5, 2.0);
  const got = Array.from(symmetricEigen(a, n).values);
  const want = [...d].sort((x, y) => x - y);
  got.forEach((v, i) => assert.ok(Math.abs(v - want[i]!) < 1e-13 * 10, `${v} vs ${want[i]}`));
  // [[a, b], [b, c]]: (a + c)/2 ± √(((a − c)/2)² + b²)
  const e2 = symmetricEigen(Float64Array.of(2, 1, 1, -3), 2).values;
  const r = Math.sqrt(2.5 ** 2 + 1);
  assert.ok(Math.abs(e2[0]! - (-0.5 - r)) < 1e-14 && Math.abs(e2[1]! - (-0.5 + r)) < 1e-14);
  assert.deepEqual(Array.from(symmetricEigen(new Float64Array(9), 3).values), [0, 0, 0]);
  // u uᵀ with ‖u‖² = 14: eigenvalues 0, 0, 14
  const u = [1, 2, 3];
  const uu = Float64Array.from({ length: 9 }, (_, k) => u[Math.floor(k / 3)]! * u[k % 3]!);
  const e3 = symmetricEigen(uu, 3).values;
  assert.ok(Math.abs(e3[0]!) < 1e-14 && Math.abs(e3[1]!) < 1e-14 && Math.abs(e3[2]! - 14) < 1e-13);
  assert.throws(() => symmetricEigen(new Float64Array(5), 2), /expected 2 × 2 = 4 entries, received 5/);
});

for (const m of [1, 2, 5, 40, 150]) {
  test(`tridiagonalEigen: Ritz values and first/last components agree with the dense solver (m = ${m})`, () => {
    const rng = new Rng(100 + m);
    const alpha = Float64Array.from({ length: m }, () => rng.normal());
    const beta = Float64Array.from({ length: m - 1 }, () => Math.abs(rng.normal()) + 0.01);
    const T = new Float64Array(m * m);
    for (let i = 0; i < m; i++) {
      T[i * m + i] = alpha[i]!;
      if (i < m - 1) {
        T[i * m + i + 1] = beta[i]!;
        T[(i + 1) * m + i] = beta[i]!;
      }
    }
    const ref = symmetricEigen(T, m);
    const te = tridiagonalEigen(alpha, beta);
    const full = tridiagonalEigen(alpha, beta, { vectors: true });
    let sumW = 0;
    for (let j = 0; j < m; j++) {
      assert.ok(Math.abs(te.values[j]! - ref.values[j]!) <= 1e-12 * (1 + Math.abs(ref.values[j]!)), `value ${j}`);
      assert.ok(Math.abs(Math.abs(te.first[j]!) - Math.abs(ref.vectors![j * m]!)) <= 1e-10, `first component ${j}`);
      assert.ok(Math.abs(Math.abs(te.last[j]!) - Math.abs(ref.vectors![j * m + m - 1]!)) <= 1e-10, `last component ${j}`);
      assert.ok(Math.abs(full.first[j]! - te.first[j]!) <= 1e-12 || Math.abs(full.first[j]! + te.first[j]!) <= 1e-12);
      sumW += te.first[j]! ** 2;
    }
    assert.ok(Math.abs(sumW - 1) < 1e-12, 'quadrature weights τ² sum to 1');
  });
}
