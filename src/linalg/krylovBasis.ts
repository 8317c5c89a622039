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
 * vector, so products are taken of exactly what is stored), modified Gram–Schmidt against the stored
 * rows, and linear combinations V s.
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
    const row = this.precision === 'float32' ? Float32Array.from(v) : Float64Array.from(v);
    this.rows.push(row);
    return Float64Array.from(row);
  }

  /** Row i as float64. */
  get(i: number): Float64Array {
    return Float64Array.from(this.rows[i]!);
  }

  /** Drops every row. */
  clear(): void {
    this.rows.length = 0;
  }

  /**
   * One modified Gram–Schmidt sweep of w against rows [from, to): w ← w − Σ (v_iᵀw) v_i in place.
   * Returns the coefficients v_iᵀw (float64 accumulation).
   */
  orthogonalize(w: Float64Array, from = 0, to = this.rows.length): Float64Array {
    const n = this.n;
    const coeff = new Float64Array(Math.max(0, to - from));
    for (let i = from; i < to; i++) {
      const r = this.rows[i]!;
      let d0 = 0;
      let d1 = 0;
      let k = 0;
      for (; k + 1 < n; k += 2) {
        d0 += r[k]! * w[k]!;
        d1 += r[k + 1]! * w[k + 1]!;
      }
      if (k < n) d0 += r[k]! * w[k]!;
      const d = d0 + d1;
      coeff[i - from] = d;
      for (let q = 0; q < n; q++) w[q] = w[q]! - d * r[q]!;
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
