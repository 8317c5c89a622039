import { SpecpipeError } from '../util/errors.js';
import { ascendingOrder, implicitQL } from './tridiagonalEigen.js';

/** Eigen-decomposition of a dense symmetric matrix A = V diag(values) Vᵀ. */
export interface SymmetricEigen {
  /** Eigenvalues, ascending. */
  readonly values: Float64Array;
  /**
   * Unit eigenvectors, column-major n × n: vector j (for values[j]) is
   * vectors.subarray(j·n, (j+1)·n). Absent when only values were asked for.
   */
  readonly vectors?: Float64Array;
}

/**
 * Dense symmetric eigensolver in float64: Householder reduction to tridiagonal form (EISPACK tred2)
 * followed by implicit QL (tql2), as in JAMA. O(n³); with `vectors: false` the transformations are
 * not accumulated (≈ 4/3·n³ flops plus O(n²)). `a` is n × n, row- or column-major (only the lower
 * triangle, read as column-major, is used; for a symmetric matrix both layouts agree). Not modified.
 * This is the float64 reference of the tests and the solver of small Gram matrices.
 */
export function symmetricEigen(a: Float64Array, n: number, options: { vectors?: boolean } = {}): SymmetricEigen {
  if (!Number.isInteger(n) || n < 0 || a.length !== n * n) {
    throw new SpecpipeError('matrix-not-square', `symmetricEigen: expected ${n} × ${n} = ${n * n} entries, received ${a.length}`);
  }
  const wantVectors = options.vectors !== false;
  if (n === 0)
    return wantVectors ? { values: new Float64Array(0), vectors: new Float64Array(0) } : { values: new Float64Array(0) };
  // V column-major: at(k, j) = V[j*n + k].
  const V = new Float64Array(a);
  const d = new Float64Array(n);
  const e = new Float64Array(n);
  for (let j = 0; j < n; j++) d[j] = V[j * n + n - 1]!; // row n−1
  for (let i = n - 1; i > 0; i--) {
    let scale = 0;
    let h = 0;
    for (let k = 0; k < i; k++) scale += Math.abs(d[k]!);
    if (scale === 0) {
      e[i] = d[i - 1]!;
      for (let j = 0; j < i; j++) {
        d[j] = V[j * n + i - 1]!; // V[i-1][j]
        V[j * n + i] = 0; // V[i][j]
        V[i * n + j] = 0; // V[j][i]
      }
    } else {
      for (let k = 0; k < i; k++) {
        d[k] = d[k]! / scale;
        h += d[k]! * d[k]!;
      }
      let f = d[i - 1]!;
      let g = Math.sqrt(h);
      if (f > 0) g = -g;
      e[i] = scale * g;
      h -= f * g;
      d[i - 1] = f - g;
      for (let j = 0; j < i; j++) e[j] = 0;
      for (let j = 0; j < i; j++) {
        f = d[j]!;
        V[i * n + j] = f; // V[j][i]
        const cj = j * n;
        g = e[j]! + V[cj + j]! * f;
        for (let k = j + 1; k <= i - 1; k++) {
          const vkj = V[cj + k]!;
          g += vkj * d[k]!;
          e[k] = e[k]! + vkj * f;
        }
        e[j] = g;
      }
      f = 0;
      for (let j = 0; j < i; j++) {
        e[j] = e[j]! / h;
        f += e[j]! * d[j]!;
      }
      const hh = f / (h + h);
      for (let j = 0; j < i; j++) e[j] = e[j]! - hh * d[j]!;
      for (let j = 0; j < i; j++) {
        f = d[j]!;
        g = e[j]!;
        const cj = j * n;
        for (let k = j; k <= i - 1; k++) V[cj + k] = V[cj + k]! - (f * e[k]! + g * d[k]!);
        d[j] = V[cj + i - 1]!; // V[i-1][j]
        V[cj + i] = 0; // V[i][j]
      }
    }
    d[i] = h;
  }
  if (wantVectors) {
    for (let i = 0; i < n - 1; i++) {
      V[i * n + n - 1] = V[i * n + i]!; // V[n-1][i] = V[i][i]
      V[i * n + i] = 1;
      const h = d[i + 1]!;
      const ci1 = (i + 1) * n;
      if (h !== 0) {
        for (let k = 0; k <= i; k++) d[k] = V[ci1 + k]! / h;
        for (let j = 0; j <= i; j++) {
          const cj = j * n;
          let g = 0;
          for (let k = 0; k <= i; k++) g += V[ci1 + k]! * V[cj + k]!;
          for (let k = 0; k <= i; k++) V[cj + k] = V[cj + k]! - g * d[k]!;
        }
      }
      for (let k = 0; k <= i; k++) V[ci1 + k] = 0;
    }
    for (let j = 0; j < n; j++) {
      d[j] = V[j * n + n - 1]!;
      V[j * n + n - 1] = 0;
    }
    V[n * n - 1] = 1;
  } else {
    for (let j = 0; j < n; j++) d[j] = V[j * n + j]!;
  }
  e[0] = 0;
  implicitQL(d, e, wantVectors ? V : undefined, n);
  const order = ascendingOrder(d);
  const values = new Float64Array(n);
  for (let j = 0; j < n; j++) values[j] = d[order[j]!]!;
  if (!wantVectors) return { values };
  const vectors = new Float64Array(n * n);
  for (let j = 0; j < n; j++) {
    const o = order[j]!;
    vectors.set(V.subarray(o * n, o * n + n), j * n);
  }
  return { values, vectors };
}
