import type { LinearOperator } from './operator.js';
import { MatvecBudgetExceeded, countingOperator, requireSymmetric } from './operatorAlgebra.js';
import { KrylovBasis, type BasisPrecision, type StartVectorKind, norm2, randomVector } from './krylovBasis.js';
import { symmetricEigen } from './symmetricEigen.js';
import { Rng } from '../util/random.js';
import { SpecpipeError } from '../util/errors.js';
import { blockLanczosEigenpairs } from './blockLanczos.js';

/** Which end of the spectrum. */
export type SpectrumEnd =
  /** The k algebraically largest eigenvalues (top outliers), reported descending. */
  | 'largest'
  /** The k algebraically smallest eigenvalues (bottom), reported ascending. */
  | 'smallest';

/** Which eigensolver finds the extreme pairs. */
export type EigenMethod =
  /** Thick-restart Lanczos, one vector per product (Wu & Simon 2000): fewest products per converged pair. */
  | 'lanczos'
  /** Block Lanczos with thick restart (Zhou & Saad 2008, blockLanczos.ts): products in blocks of `blockSize`. */
  | 'block';

export interface EigenpairOptions {
  readonly k: number;
  /** Solver (default 'lanczos'). */
  readonly method?: EigenMethod;
  /** Vectors per block product of method 'block' (default min(8, max(2, k))); ignored by 'lanczos'. */
  readonly blockSize?: number;
  readonly which?: SpectrumEnd;
  /**
   * Residual tolerance, relative to the largest |Ritz value| seen (an estimate of ‖A‖):
   * a pair is converged only if ‖A y − θ y‖ ≤ tol·‖A‖. Default 1e-6 (float32 basis floor ≈ 1e-7).
   */
  readonly tol?: number;
  /** Product budget (default 50·k + 200). Stops there and reports what converged. */
  readonly maxMatvecs?: number;
  /** Largest basis before a thick restart (default max(2k + 30, 60)). */
  readonly maxBasis?: number;
  readonly seed?: number;
  readonly start?: StartVectorKind;
  readonly basisPrecision?: BasisPrecision;
  /** Measure each reported residual with one extra product per pair (default true); else use the Lanczos estimate β|s_last|. */
  readonly verifyResiduals?: boolean;
  /**
   * After convergence, add one fresh random direction orthogonal to the basis and accept only if the
   * wanted values survive it (costs ≥ 1 product). Finds multiplicities whose eigenspace is a sizeable
   * share of the space (the null space of a rank-deficient GGN for bottom-k); a repeated eigenvalue with
   * a tiny eigenspace can still be reported once. Default true.
   */
  readonly confirmMultiplicity?: boolean;
  /** Return the (unit, float64) eigenvectors. Default false. */
  readonly vectors?: boolean;
}

export interface Eigenpair {
  readonly value: number;
  /** ‖A y − θ y‖ (measured with a product when verifyResiduals, else the Lanczos estimate). */
  readonly residual: number;
  /** residual ≤ tol·‖A‖est. */
  readonly converged: boolean;
  readonly vector?: Float64Array;
}

export interface EigenpairResult {
  /** k pairs (fewer if the operator is smaller or the budget ran out first), ordered from the requested end inwards. */
  readonly pairs: readonly Eigenpair[];
  readonly matvecs: number;
  readonly restarts: number;
  /** True when every reported pair converged and k were found. */
  readonly converged: boolean;
  /** True when the product budget stopped the search. */
  readonly budgetExhausted: boolean;
  /** Estimate of ‖A‖ (largest |Ritz value|) the tolerance was scaled by. */
  readonly normEstimate: number;
}

/**
 * Extreme eigenpairs by thick-restart Lanczos (Wu & Simon 2000; Stathopoulos, Saad & Wu 1998) with
 * full reorthogonalisation: the basis V stays orthonormal, the projected matrix H = Vᵀ A V is
 * built from the Gram–Schmidt coefficients, and A V = V H + w e_dᵀ gives the residual of a Ritz
 * pair (θ, V s) as ‖w‖·|s_d|. When the basis reaches maxBasis, the wanted Ritz vectors are kept
 * and Lanczos continues from w/‖w‖. An invariant subspace (‖w‖ ≈ 0) continues from a fresh random
 * vector orthogonal to V, so exact multiplicities can be found. Because Ritz vectors of an
 * orthonormal basis are orthonormal, a value can never be reported twice as a ghost copy.
 */
export async function extremeEigenpairs(op: LinearOperator, options: EigenpairOptions): Promise<EigenpairResult> {
  if (options.method === 'block') return blockLanczosEigenpairs(op, options);
  if (options.method !== undefined && options.method !== 'lanczos')
    throw new SpecpipeError(
      'eigenpairs-method',
      `eigenpairs: method must be lanczos|block, received "${String(options.method)}"`,
    );
  requireSymmetric(op, 'eigenpairs');
  const n = op.size;
  const k = Math.min(options.k, n);
  if (!Number.isInteger(options.k) || options.k < 1)
    throw new SpecpipeError('eigenpairs-k', `eigenpairs: k must be a positive integer, received ${options.k}`);
  const which = options.which ?? 'largest';
  const tol = options.tol ?? 1e-6;
  const maxBasis = Math.min(n, Math.max(options.maxBasis ?? Math.max(2 * k + 30, 60), k + 2));
  const verify = options.verifyResiduals !== false;
  const counted = countingOperator(op, options.maxMatvecs ?? 50 * k + 200);
  const rng = new Rng(options.seed ?? 0);
  const kind = options.start ?? 'rademacher';
  const V = new KrylovBasis(n, options.basisPrecision ?? 'float32');
  // H = Vᵀ A V, dense, row-major with stride maxBasis + 1.
  const S = maxBasis + 1;
  const H = new Float64Array(S * S);
  let restarts = 0;
  let normEst = 0;
  let budgetExhausted = false;
  let w: Float64Array | undefined; // residual of the last expansion (orthogonal to V)
  let eig: { values: Float64Array; vectors: Float64Array } | undefined;
  let wanted: number[] = [];
  let lastInvariantWanted: number[] | undefined;
  let lastConfirmedWanted: number[] | undefined;
  const confirm = options.confirmMultiplicity !== false;

  const freshVector = (): Float64Array | undefined => {
    for (let attempt = 0; attempt < 3; attempt++) {
      const r = randomVector(n, kind, rng);
      V.orthogonalize(r);
      V.orthogonalize(r);
      const nr = norm2(r);
      if (nr > 1e-8 * Math.sqrt(n)) {
        for (let i = 0; i < n; i++) r[i] = r[i]! / nr;
        return r;
      }
    }
    return undefined;
  };

  let next: Float64Array | undefined = freshVector();
  const rayleighRitz = (): void => {
    const d = V.length;
    const h = new Float64Array(d * d);
    for (let i = 0; i < d; i++) for (let j = 0; j < d; j++) h[i * d + j] = H[i * S + j]!;
    const e = symmetricEigen(h, d);
    eig = { values: e.values, vectors: e.vectors! };
    for (let i = 0; i < d; i++) normEst = Math.max(normEst, Math.abs(e.values[i]!));
    const order = Array.from({ length: d }, (_, i) => (which === 'largest' ? d - 1 - i : i));
    wanted = order.slice(0, Math.min(k, d));
  };
  const residualEstimate = (j: number): number => {
    const d = V.length;
    const wn = w === undefined ? 0 : norm2(w);
    return wn * Math.abs(eig!.vectors[j * d + d - 1]!);
  };

  for (;;) {
    // Expand the basis by one vector.
    if (next === undefined) break;
    // Keep k products in reserve to measure the residuals of what is reported.
    if (verify && counted.remaining <= k) {
      budgetExhausted = true;
      break;
    }
    const q = V.push(next);
    next = undefined;
    let y: Float64Array;
    try {
      y = await counted.matvec(q);
    } catch (e) {
      if (e instanceof MatvecBudgetExceeded) {
        V.rows.pop();
        budgetExhausted = true;
        break;
      }
      throw e;
    }
    const j = V.length - 1;
    const before = norm2(y);
    const c = V.orthogonalize(y);
    if (norm2(y) < before / Math.SQRT2) {
      const c2 = V.orthogonalize(y);
      for (let i = 0; i < c.length; i++) c[i] = c[i]! + c2[i]!;
    }
    for (let i = 0; i <= j; i++) {
      H[i * S + j] = c[i]!;
      H[j * S + i] = c[i]!;
    }
    w = y;
    rayleighRitz();
    const d = V.length;
    const wn = norm2(w);
    const allEstimatedConverged = wanted.length === k && wanted.every((jj) => residualEstimate(jj) <= tol * normEst);
    if (d === n) break;
    // Numerically invariant: ‖w‖ at the level of the tolerance (float32 rounding keeps it ≈ 1e-7·‖A‖, never 0).
    if (wn <= Math.min(tol, V.precision === 'float32' ? 1e-6 : 1e-10) * Math.max(normEst, 1e-300)) {
      // Invariant subspace: its Ritz pairs are exact. A single Krylov sequence sees one copy of a
      // repeated eigenvalue, so continue from a fresh direction orthogonal to it until a whole
      // further invariant cycle leaves the wanted values unchanged.
      const snapshot = wanted.map((jj) => eig!.values[jj]!);
      const unchanged =
        lastInvariantWanted !== undefined &&
        lastInvariantWanted.length === snapshot.length &&
        snapshot.every((v, i) => Math.abs(v - lastInvariantWanted![i]!) <= tol * normEst);
      if (allEstimatedConverged && unchanged) break;
      lastInvariantWanted = snapshot;
      w = undefined;
      next = freshVector();
      if (next === undefined) break;
      continue;
    }
    if (allEstimatedConverged) {
      // Multiplicity check: one Krylov sequence sees one copy of a repeated eigenvalue. Add a fresh
      // random direction orthogonal to V; if its Ritz values enter the wanted set (e.g. the large null
      // space of a rank-deficient GGN for bottom-k), keep iterating; stop when the wanted values survive.
      const snapshot = wanted.map((jj) => eig!.values[jj]!);
      const unchanged =
        lastConfirmedWanted !== undefined &&
        lastConfirmedWanted.length === snapshot.length &&
        snapshot.every((v, i) => Math.abs(v - lastConfirmedWanted![i]!) <= tol * normEst);
      if (!confirm || unchanged || d >= maxBasis || (verify && counted.remaining <= k + 1)) break;
      lastConfirmedWanted = snapshot;
      w = undefined;
      next = freshVector();
      if (next === undefined) break;
      continue;
    }
    if (d < maxBasis) {
      next = scaled(w, 1 / wn);
      continue;
    }
    // Thick restart: keep the p wanted-end Ritz vectors, continue from w/‖w‖.
    if (counted.remaining <= (verify ? k + 1 : 1)) {
      budgetExhausted = true;
      break;
    }
    restarts++;
    const p = Math.min(d - 1, k + Math.max(1, Math.floor((maxBasis - k) / 2)));
    const order = Array.from({ length: d }, (_, i) => (which === 'largest' ? d - 1 - i : i)).slice(0, p);
    const kept = order.map((jj) => V.combine(eig!.vectors.subarray(jj * d, jj * d + d)));
    const keptValues = order.map((jj) => eig!.values[jj]!);
    V.clear();
    H.fill(0);
    for (let i = 0; i < kept.length; i++) {
      V.push(kept[i]!);
      H[i * S + i] = keptValues[i]!;
    }
    next = scaled(w, 1 / wn);
    // Re-orthogonalise the continuation against the rounded kept vectors.
    V.orthogonalize(next);
    const nn = norm2(next);
    for (let i = 0; i < n; i++) next[i] = next[i]! / nn;
    w = undefined;
  }

  if (V.length === 0 || eig === undefined) {
    return { pairs: [], matvecs: counted.used, restarts, converged: false, budgetExhausted, normEstimate: normEst };
  }
  // The basis may hold one row more than H was solved for when the budget stopped an expansion.
  const d = eig.values.length;
  const pairs: Eigenpair[] = [];
  for (const jj of wanted) {
    const s = eig.vectors.subarray(jj * d, jj * d + d);
    const yv = V.combine(s);
    const ny = norm2(yv);
    for (let i = 0; i < n; i++) yv[i] = yv[i]! / ny;
    const value = eig.values[jj]!;
    let residual = residualEstimate(jj);
    if (verify) {
      try {
        const ay = await counted.matvec(yv);
        let r2 = 0;
        for (let i = 0; i < n; i++) {
          const r = ay[i]! - value * yv[i]!;
          r2 += r * r;
        }
        residual = Math.sqrt(r2);
      } catch (e) {
        if (!(e instanceof MatvecBudgetExceeded)) throw e;
        budgetExhausted = true;
        // No product left to measure it: keep the Lanczos estimate, but never call it converged unmeasured.
        pairs.push({ value, residual, converged: false, ...(options.vectors === true && { vector: yv }) });
        continue;
      }
    }
    pairs.push({ value, residual, converged: residual <= tol * normEst, ...(options.vectors === true && { vector: yv }) });
  }
  return {
    pairs,
    matvecs: counted.used,
    restarts,
    converged: pairs.length === k && pairs.every((p) => p.converged),
    budgetExhausted,
    normEstimate: normEst,
  };
}

function scaled(v: Float64Array, c: number): Float64Array {
  const out = new Float64Array(v.length);
  for (let i = 0; i < v.length; i++) out[i] = v[i]! * c;
  return out;
}

/** The k largest eigenpairs (outliers) — see extremeEigenpairs. */
export function topEigenpairs(
  op: LinearOperator,
  k: number,
  options: Omit<EigenpairOptions, 'k' | 'which'> = {},
): Promise<EigenpairResult> {
  return extremeEigenpairs(op, { ...options, k, which: 'largest' });
}

/** The k smallest eigenpairs — see extremeEigenpairs. */
export function bottomEigenpairs(
  op: LinearOperator,
  k: number,
  options: Omit<EigenpairOptions, 'k' | 'which'> = {},
): Promise<EigenpairResult> {
  return extremeEigenpairs(op, { ...options, k, which: 'smallest' });
}
