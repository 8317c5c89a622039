import type { LinearOperator } from '../linalg/operator.js';
import { symmetricEigen } from '../linalg/symmetricEigen.js';
import { SpecpipeError } from '../util/errors.js';

/**
 * Largest parameter count P whose curvature is materialised: the dense P × P matrix is 8P² bytes
 * (512 MB at 8,000) and its float64 eigendecomposition ≈ 4/3·P³ flops (minutes at 8,000).
 */
export const DENSE_CURVATURE_LIMIT = 8000;

export interface DenseCurvatureOptions {
  /** Refuse operators larger than this (default DENSE_CURVATURE_LIMIT). */
  readonly limit?: number;
  /** Columns requested at once (default 32): concurrent products that a curvature operator answers as one block. */
  readonly block?: number;
  /** Called after each block with the columns done so far. */
  readonly onColumns?: (done: number, total: number) => void;
}

/** An operator materialised column by column, and its exact spectrum. */
export interface DenseSpectrum {
  readonly size: number;
  /** A (row-major P × P), symmetrised as (A + Aᵀ)/2. */
  readonly matrix: Float64Array;
  /** Every eigenvalue of the symmetrised matrix, descending (float64 Householder + QL). */
  readonly eigenvalues: Float64Array;
  /** max|A − Aᵀ| / max|A| of the columns as computed, before symmetrising (float32 products: ~1e-7). */
  readonly asymmetry: number;
  /** Products of the operator spent (= size). */
  readonly matvecs: number;
}

/** Throws a SpecpipeError naming P and the limit when a dense curvature of `size` is refused. */
export function checkDenseSize(size: number, limit = DENSE_CURVATURE_LIMIT): void {
  if (size > limit)
    throw new SpecpipeError(
      'dense-too-large',
      `exact spectrum: the operator has P = ${size} parameters, above the dense limit of ${limit} ` +
        `(a ${size} × ${size} float64 matrix and an O(P³) eigendecomposition); use --top/--density estimates instead`,
    );
}

/**
 * Exact ground truth for a small operator (math.md §2: "agreement with a dense float64 reference on
 * tiny nets"): A e_j for every unit vector e_j — exact products, no finite differences — assembled
 * into a dense matrix, symmetrised, and eigendecomposed in float64 (symmetricEigen). Works for any
 * symmetric operator. Its accuracy is the products': the float64 MLP operator (mlpCurvature64.ts)
 * gives eigenvalues to ~1e-14 relative; the curvature engine (Curvature.open: float32 per batch,
 * float64 accumulation over the split) to ~1e-7 (test/curvature/denseCurvature.test.ts).
 */
export async function denseSpectrum(op: LinearOperator, options: DenseCurvatureOptions = {}): Promise<DenseSpectrum> {
  const n = op.size;
  checkDenseSize(n, options.limit ?? DENSE_CURVATURE_LIMIT);
  if (!op.symmetric)
    throw new SpecpipeError('operator-not-symmetric', `exact spectrum: ${op.name ?? 'the operator'} is not symmetric`);
  const block = Math.max(1, options.block ?? 32);
  const a = new Float64Array(n * n);
  for (let j0 = 0; j0 < n; j0 += block) {
    const js = Array.from({ length: Math.min(block, n - j0) }, (_, k) => j0 + k);
    // Concurrent products: an operator that coalesces them (curvature) answers the block in one pass.
    const cols = await Promise.all(
      js.map((j) => {
        const e = new Float64Array(n);
        e[j] = 1;
        return op.matvec(e);
      }),
    );
    cols.forEach((col, k) => {
      const j = js[k]!;
      for (let i = 0; i < n; i++) a[i * n + j] = col[i]!;
    });
    options.onColumns?.(j0 + js.length, n);
  }
  const { eigenvalues, asymmetry } = symmetrizedSpectrum(a, n);
  return {
    size: n,
    matrix: a,
    eigenvalues,
    asymmetry,
    matvecs: n,
  };
}

/**
 * Symmetrises a dense n × n matrix in place as (A + Aᵀ)/2 and returns every eigenvalue, descending
 * (float64 Householder + QL), with max|A − Aᵀ| / max|A| before symmetrising.
 */
export function symmetrizedSpectrum(a: Float64Array, n: number): { eigenvalues: Float64Array; asymmetry: number } {
  let maxAbs = 0;
  let maxAsym = 0;
  for (let i = 0; i < n; i++)
    for (let j = 0; j <= i; j++) {
      const x = a[i * n + j]!;
      const y = a[j * n + i]!;
      maxAbs = Math.max(maxAbs, Math.abs(x), Math.abs(y));
      maxAsym = Math.max(maxAsym, Math.abs(x - y));
      const m = (x + y) / 2;
      a[i * n + j] = m;
      a[j * n + i] = m;
    }
  const ascending = symmetricEigen(a, n, { vectors: false }).values;
  return { eigenvalues: Float64Array.from(ascending).reverse(), asymmetry: maxAbs === 0 ? 0 : maxAsym / maxAbs };
}
