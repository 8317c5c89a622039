import type { LinearOperator } from './operator.js';
import { MatvecBudgetExceeded, countingOperator, requireSymmetric } from './operatorAlgebra.js';
import { KrylovBasis, type BasisPrecision, type StartVectorKind, norm2, randomVector } from './krylovBasis.js';
import { Rng } from '../util/random.js';
import { SpecpipeError } from '../util/errors.js';

/** How Lanczos keeps its basis orthogonal. */
export type Reorthogonalization =
  /** Gram–Schmidt against every stored vector at each step (twice when needed): no ghosts. Default. */
  | 'full'
  /** Plain three-term recurrence (Papyan's and curvlinops' code): cheap, but converged outliers reappear as ghost copies. */
  | 'none';

export interface LanczosOptions {
  /** Number of steps m (the size of T_m). */
  readonly steps: number;
  /** Default 'full' (math.md §4). */
  readonly reorthogonalization?: Reorthogonalization;
  /** Start vector: a kind of random vector drawn from `rng`/`seed`, or the vector itself. Default 'rademacher'. */
  readonly start?: StartVectorKind | Float64Array;
  /** Seed of the start vector when no `rng` is given (default 0). */
  readonly seed?: number;
  /** Generator for the start vector (takes precedence over `seed`). */
  readonly rng?: Rng;
  /** Basis storage precision; recurrences are always float64. Default 'float32'. */
  readonly basisPrecision?: BasisPrecision;
  /** Most products this call may use (default: steps). Stops early, `budgetExhausted: true`, when reached. */
  readonly maxMatvecs?: number;
  /** Keep the basis in the result (Ritz vectors); default false. With 'none', only then is it stored. */
  readonly keepBasis?: boolean;
  /**
   * β_j ≤ this · max(|α|, β) means an invariant subspace was found (early exit). Default 1e-6 with a
   * float32 basis (rounding keeps β ≈ 1e-7·‖A‖ on an invariant subspace, never 0), 1e-10 with float64.
   */
  readonly invariantTolerance?: number;
}

export interface LanczosResult {
  /** Diagonal α_1..α_k of T_k (k = steps actually taken). */
  readonly alpha: Float64Array;
  /** Off-diagonal: beta[j] = β_{j+1} couples q_{j+1} and q_{j+2}; beta[k−1] = β_k is the residual norm after the last step. */
  readonly beta: Float64Array;
  /** Steps actually taken (≤ options.steps). */
  readonly steps: number;
  /** True when β_k ≈ 0: the Krylov space is invariant and the Ritz values are exact eigenvalues. */
  readonly invariant: boolean;
  /** True when the product budget stopped the run before `steps`. */
  readonly budgetExhausted: boolean;
  /** Products used. */
  readonly matvecs: number;
  /** The basis q_1..q_k (when keepBasis), for Ritz vectors Q s. */
  readonly basis?: KrylovBasis;
  /** Bytes the stored basis occupied at its largest. */
  readonly basisBytes: number;
}

/**
 * Lanczos tridiagonalisation (Lanczos 1950; Golub & Van Loan §10.1) of a symmetric operator from a
 * random unit start vector: A Q_k = Q_k T_k + β_k q_{k+1} e_kᵀ. Recurrence in float64:
 *   w = A q_j − β_{j−1} q_{j−1},  α_j = q_jᵀ w,  w ← w − α_j q_j,
 *   [full] w ← w − Σ_{i≤j} (q_iᵀ w) q_i  (blocked classical Gram–Schmidt, repeated once if ‖w‖ fell below ‖w‖/√2),
 *   β_j = ‖w‖,  q_{j+1} = w / β_j  (stored rounded to float32; products are of the stored vector).
 * Exits early on an invariant subspace (β_j ≈ 0) or when the product budget is spent.
 */
export async function lanczos(op: LinearOperator, options: LanczosOptions): Promise<LanczosResult> {
  requireSymmetric(op, 'lanczos');
  const n = op.size;
  const m = options.steps;
  if (!Number.isInteger(m) || m < 1)
    throw new SpecpipeError('lanczos-steps', `lanczos: steps must be a positive integer, received ${m}`);
  const reorth = options.reorthogonalization ?? 'full';
  if (reorth !== 'full' && reorth !== 'none')
    throw new SpecpipeError(
      'lanczos-reorth',
      `lanczos: reorthogonalization must be 'full' or 'none', received ${String(reorth)}`,
    );
  const counted = countingOperator(op, options.maxMatvecs ?? Infinity);
  const invTol = options.invariantTolerance ?? ((options.basisPrecision ?? 'float32') === 'float32' ? 1e-6 : 1e-10);
  const keep = options.keepBasis === true || reorth === 'full';
  const basis = new KrylovBasis(n, options.basisPrecision ?? 'float32');

  let start: Float64Array;
  const s = options.start ?? 'rademacher';
  if (s instanceof Float64Array) {
    if (s.length !== n)
      throw new SpecpipeError('lanczos-start', `lanczos: start vector has length ${s.length}, expected the operator size ${n}`);
    start = new Float64Array(s);
  } else {
    start = randomVector(n, s, options.rng ?? new Rng(options.seed ?? 0));
  }
  const s0 = norm2(start);
  if (!(s0 > 0) || !Number.isFinite(s0))
    throw new SpecpipeError('lanczos-start', `lanczos: start vector norm is ${s0}, expected a finite positive number`);
  for (let i = 0; i < n; i++) start[i] = start[i]! / s0;

  const alpha: number[] = [];
  const beta: number[] = [];
  let qPrev: Float64Array | undefined;
  let q = keep ? basis.push(start) : roundTo(start, basis.precision);
  let invariant = false;
  let budgetExhausted = false;
  let scale = 0;
  let maxBytes = basis.bytes;
  for (let j = 0; j < m; j++) {
    let w: Float64Array;
    try {
      w = await counted.matvec(q);
    } catch (e) {
      if (e instanceof MatvecBudgetExceeded) {
        budgetExhausted = true;
        break;
      }
      throw e;
    }
    if (w.length !== n)
      throw new SpecpipeError(
        'operator-output',
        `lanczos: ${op.name ?? 'operator'}.matvec returned length ${w.length}, expected ${n}`,
      );
    const bPrev = j > 0 ? beta[j - 1]! : 0;
    // Fused passes over w (same operations, same order as one loop per step): the O(P) loops are
    // a visible share of the bookkeeping once the Gram–Schmidt sweeps run natively.
    let a = 0;
    if (qPrev !== undefined)
      for (let i = 0; i < n; i++) {
        const wi = w[i]! - bPrev * qPrev[i]!;
        w[i] = wi;
        a += q[i]! * wi;
      }
    else for (let i = 0; i < n; i++) a += q[i]! * w[i]!;
    let ww = 0;
    for (let i = 0; i < n; i++) {
      const wi = w[i]! - a * q[i]!;
      w[i] = wi;
      ww += wi * wi;
    }
    let b = Math.sqrt(ww);
    if (reorth === 'full') {
      // Twice is enough (Kahan–Parlett): a second sweep only when the first removed much of w.
      const before = b;
      const c = basis.orthogonalize(w);
      a += c[j]!;
      b = norm2(w);
      if (b < before / Math.SQRT2) {
        const c2 = basis.orthogonalize(w);
        a += c2[j]!;
        b = norm2(w);
      }
    }
    alpha.push(a);
    beta.push(b);
    scale = Math.max(scale, Math.abs(a), b, bPrev);
    if (!Number.isFinite(b))
      throw new SpecpipeError(
        'operator-output',
        `lanczos: ${op.name ?? 'operator'} produced a non-finite vector at step ${j + 1}`,
      );
    if (b <= invTol * scale) {
      invariant = true;
      break;
    }
    if (j === m - 1) break;
    for (let i = 0; i < n; i++) w[i] = w[i]! / b;
    qPrev = q;
    q = keep ? basis.push(w) : roundTo(w, basis.precision);
    maxBytes = Math.max(maxBytes, basis.bytes);
  }
  const result: LanczosResult = {
    alpha: Float64Array.from(alpha),
    beta: Float64Array.from(beta),
    steps: alpha.length,
    invariant,
    budgetExhausted,
    matvecs: counted.used,
    basisBytes: maxBytes,
  };
  return options.keepBasis === true ? { ...result, basis } : result;
}

/** v rounded to the basis precision, as float64 (a Math.fround loop: V8's typed-array conversions are several times slower). */
function roundTo(v: Float64Array, precision: BasisPrecision): Float64Array {
  if (precision !== 'float32') return v;
  const out = new Float64Array(v.length);
  for (let i = 0; i < v.length; i++) out[i] = Math.fround(v[i]!);
  return out;
}
