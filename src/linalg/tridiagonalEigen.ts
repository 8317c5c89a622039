import { SpecpipeError } from '../util/errors.js';

/**
 * Implicit QL iteration with Wilkinson-type shifts on a symmetric tridiagonal matrix
 * (EISPACK tql2, as in JAMA; Bowdler, Martin, Reinsch & Wilkinson 1968). Works in place:
 * `d` (length n) holds the diagonal, `e` (length n) the subdiagonal in e[1..n−1] (e[0] ignored).
 * The plane rotations are applied to the r × n matrix `z` (column-major: z[i·r + k] is row k of
 * column i), so z = I gives all eigenvectors and z = [e₁ᵀ; e_nᵀ] gives only their first and last
 * components (Golub–Welsch), in O(r·n) per sweep. On return `d` holds the eigenvalues, unsorted.
 */
export function implicitQL(d: Float64Array, e: Float64Array, z: Float64Array | undefined, r: number): void {
  const n = d.length;
  if (n === 0) return;
  for (let i = 1; i < n; i++) e[i - 1] = e[i]!;
  e[n - 1] = 0;
  let f = 0;
  let tst1 = 0;
  const eps = 2 ** -52;
  const maxIter = 60;
  for (let l = 0; l < n; l++) {
    tst1 = Math.max(tst1, Math.abs(d[l]!) + Math.abs(e[l]!));
    let m = l;
    while (m < n) {
      if (Math.abs(e[m]!) <= eps * tst1) break;
      m++;
    }
    if (m > l) {
      let iter = 0;
      do {
        if (++iter > maxIter)
          throw new SpecpipeError(
            'eigen-no-convergence',
            `implicit QL: eigenvalue ${l} of a ${n} × ${n} tridiagonal matrix did not converge in ${maxIter} iterations`,
          );
        let g = d[l]!;
        let p = (d[l + 1]! - g) / (2 * e[l]!);
        let r0 = Math.hypot(p, 1);
        if (p < 0) r0 = -r0;
        d[l] = e[l]! / (p + r0);
        d[l + 1] = e[l]! * (p + r0);
        const dl1 = d[l + 1]!;
        let h = g - d[l]!;
        for (let i = l + 2; i < n; i++) d[i] = d[i]! - h;
        f += h;
        p = d[m]!;
        let c = 1;
        let c2 = c;
        let c3 = c;
        const el1 = e[l + 1]!;
        let s = 0;
        let s2 = 0;
        for (let i = m - 1; i >= l; i--) {
          c3 = c2;
          c2 = c;
          s2 = s;
          g = c * e[i]!;
          h = c * p;
          r0 = Math.hypot(p, e[i]!);
          e[i + 1] = s * r0;
          s = e[i]! / r0;
          c = p / r0;
          p = c * d[i]! - s * g;
          d[i + 1] = h + s * (c * g + s * d[i]!);
          if (z !== undefined) {
            const ci = i * r;
            const ci1 = (i + 1) * r;
            for (let k = 0; k < r; k++) {
              const zh = z[ci1 + k]!;
              const zi = z[ci + k]!;
              z[ci1 + k] = s * zi + c * zh;
              z[ci + k] = c * zi - s * zh;
            }
          }
        }
        p = (-s * s2 * c3 * el1 * e[l]!) / dl1;
        e[l] = s * p;
        d[l] = c * p;
      } while (Math.abs(e[l]!) > eps * tst1);
    }
    d[l] = d[l]! + f;
    e[l] = 0;
  }
}

/** Ascending order of `values` as an index permutation. */
export function ascendingOrder(values: Float64Array): Int32Array {
  const idx = Int32Array.from({ length: values.length }, (_, i) => i);
  idx.sort((a, b) => values[a]! - values[b]!);
  return idx;
}

/** Eigen-decomposition of the Lanczos tridiagonal T_m (Ritz values and Gauss-quadrature weights). */
export interface TridiagonalEigen {
  /** Ritz values θ_1 ≤ … ≤ θ_m. */
  readonly values: Float64Array;
  /** First components s_1j of the unit eigenvectors (so τ_j² = first[j]² are the quadrature weights, Σ = 1). */
  readonly first: Float64Array;
  /** Last components s_mj (Lanczos residual estimate of Ritz pair j: |β_m s_mj|). */
  readonly last: Float64Array;
  /** All eigenvectors, column-major m × m (column j belongs to values[j]), when asked for. */
  readonly vectors?: Float64Array;
}

/**
 * Eigenvalues and first/last eigenvector components of the symmetric tridiagonal matrix with
 * diagonal `alpha` (length m) and off-diagonal `beta` (length m − 1): implicit QL (tql2) with the
 * rotations applied to two rows only (Golub & Welsch 1969), or to the full identity when
 * `vectors` is true. Sorted ascending.
 */
export function tridiagonalEigen(
  alpha: ArrayLike<number>,
  beta: ArrayLike<number>,
  options: { vectors?: boolean } = {},
): TridiagonalEigen {
  const m = alpha.length;
  if (beta.length < m - 1)
    throw new SpecpipeError(
      'tridiagonal-shape',
      `tridiagonalEigen: ${m} diagonal entries need ${m - 1} off-diagonal entries, received ${beta.length}`,
    );
  const d = Float64Array.from(alpha);
  const e = new Float64Array(m);
  for (let i = 1; i < m; i++) e[i] = beta[i - 1]!;
  const full = options.vectors === true;
  const r = full ? m : 2;
  const z = new Float64Array(r * m);
  if (full) for (let i = 0; i < m; i++) z[i * m + i] = 1;
  else if (m > 0) {
    z[0] = 1; // row 0 of column 0: e₁
    z[(m - 1) * 2 + 1] = 1; // row 1 of column m−1: e_m
  }
  implicitQL(d, e, z, r);
  const order = ascendingOrder(d);
  const values = new Float64Array(m);
  const first = new Float64Array(m);
  const last = new Float64Array(m);
  const vectors = full ? new Float64Array(m * m) : undefined;
  for (let j = 0; j < m; j++) {
    const o = order[j]!;
    values[j] = d[o]!;
    if (full) {
      first[j] = z[o * m]!;
      last[j] = z[o * m + m - 1]!;
      vectors!.set(z.subarray(o * m, o * m + m), j * m);
    } else {
      first[j] = z[o * 2]!;
      last[j] = z[o * 2 + 1]!;
    }
  }
  return vectors === undefined ? { values, first, last } : { values, first, last, vectors };
}
