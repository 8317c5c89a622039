import type { Rng } from '../util/random.js';

/** Precision in which Krylov basis vectors are stored (math.md §4: float32 by default). */
export type BasisPrecision =
  /** 4 bytes per entry: half the memory; vectors are rounded to float32 when stored (residual floor ≈ 1e-7·‖A‖). */
  | 'float32'
  /** 8 bytes per entry. */
  | 'float64';

/**
 * An orthonormal Krylov basis stored row by row in float32 (or float64), with the float64 operations
 * the estimators need: storing a vector (which rounds it — the stored values are then *the* basis
 * vector, so products are taken of exactly what is stored), Gram–Schmidt against the stored rows,
 * and linear combinations V s.
 */
export class KrylovBasis {
  readonly rows: (Float32Array | Float64Array)[] = [];
  constructor(
    readonly n: number,
    readonly precision: BasisPrecision = 'float32',
  ) {}

  get length(): number {
    return this.rows.length;
  }

  /** Bytes held by the stored rows. */
  get bytes(): number {
    return this.rows.length * this.n * (this.precision === 'float32' ? 4 : 8);
  }

  /** Stores v (rounded to the basis precision) and returns the stored values as float64. */
  push(v: Float64Array): Float64Array {
    // Typed-array constructors convert element types in bulk (Float32Array.from iterates: ~20× slower).
    const row = this.precision === 'float32' ? new Float32Array(v) : new Float64Array(v);
    this.rows.push(row);
    return new Float64Array(row);
  }

  /** Row i as float64. */
  get(i: number): Float64Array {
    return new Float64Array(this.rows[i]!);
  }

  /** Drops every row. */
  clear(): void {
    this.rows.length = 0;
  }

  /**
   * One classical Gram–Schmidt sweep of w against rows [from, to): c = V wᵀ, then w ← w − Σ c_i v_i,
   * in place (float64 accumulation). Returns the coefficients c_i = v_iᵀw. Blocked over chunks of w
   * that stay in cache while the rows stream past, so w is read twice per sweep instead of twice per
   * row. Callers repeat the sweep when ‖w‖ drops by more than 1/√2 ("twice is enough", Kahan–Parlett;
   * Giraud et al. 2005), which makes it as stable as modified Gram–Schmidt.
   */
  orthogonalize(w: Float64Array, from = 0, to = this.rows.length): Float64Array {
    const n = this.n;
    const count = Math.max(0, to - from);
    const coeff = new Float64Array(count);
    const CHUNK = 2048;
    for (let lo = 0; lo < n; lo += CHUNK) {
      const hi = Math.min(n, lo + CHUNK);
      for (let i = 0; i < count; i++) {
        const r = this.rows[from + i]!;
        let d0 = 0;
        let d1 = 0;
        let d2 = 0;
        let d3 = 0;
        let k = lo;
        for (; k + 3 < hi; k += 4) {
          d0 += r[k]! * w[k]!;
          d1 += r[k + 1]! * w[k + 1]!;
          d2 += r[k + 2]! * w[k + 2]!;
          d3 += r[k + 3]! * w[k + 3]!;
        }
        for (; k < hi; k++) d0 += r[k]! * w[k]!;
        coeff[i] = coeff[i]! + (d0 + d1) + (d2 + d3);
      }
    }
    for (let lo = 0; lo < n; lo += CHUNK) {
      const hi = Math.min(n, lo + CHUNK);
      for (let i = 0; i < count; i++) {
        const r = this.rows[from + i]!;
        const c = coeff[i]!;
        if (c === 0) continue;
        for (let k = lo; k < hi; k++) w[k] = w[k]! - c * r[k]!;
      }
    }
    return coeff;
  }

  /** y = Σ_i s_i v_i over the first s.length rows (or the rows listed in `rows`), in float64. */
  combine(s: ArrayLike<number>): Float64Array {
    const y = new Float64Array(this.n);
    for (let i = 0; i < s.length; i++) {
      const c = s[i]!;
      if (c === 0) continue;
      const r = this.rows[i]!;
      for (let k = 0; k < this.n; k++) y[k] = y[k]! + c * r[k]!;
    }
    return y;
  }
}

/** Euclidean norm in float64. */
export function norm2(v: Float64Array): number {
  let s = 0;
  for (let i = 0; i < v.length; i++) s += v[i]! * v[i]!;
  return Math.sqrt(s);
}

/** Dot product in float64. */
export function dot(a: Float64Array, b: Float64Array): number {
  let s = 0;
  for (let i = 0; i < a.length; i++) s += a[i]! * b[i]!;
  return s;
}

/** Kind of random start vector. */
export type StartVectorKind =
  /** Entries ±1 with equal probability (lower variance for traces and spectral weights). */
  | 'rademacher'
  /** Entries standard normal. */
  | 'gaussian';

/** A random vector of length n with entries drawn from `rng` (not normalised). */
export function randomVector(n: number, kind: StartVectorKind, rng: Rng): Float64Array {
  const v = new Float64Array(n);
  if (kind === 'rademacher') for (let i = 0; i < n; i++) v[i] = rng.rademacher();
  else for (let i = 0; i < n; i++) v[i] = rng.normal();
  return v;
}
