import type { LinearOperator } from '../linalg/operator.js';
import { hutchPlusPlusTrace } from '../linalg/traces.js';
import { bottomEigenpairs } from '../linalg/outliers.js';
import type { ClassGradients } from './classGradients.js';
import { gaussNewtonPieces, type LowRankPieceName } from './pieces.js';
import { classStructure, type ClassStructure } from './classStructure.js';

/**
 * Summary of Papyan's decomposition G = A1 + A2 + B1 + B2 (math.md §3) from the class gradients:
 * exact spectra and traces of the low-rank pieces, tr B2 by Hutch++ on the matrix-free B2 when G is given,
 * and λ_min(B2) with its residual (B2 is PSD in exact arithmetic: the check λ_min ≥ −tolerance).
 */

/** One low-rank piece's exact spectrum. */
export interface PieceSummary {
  /** Exact nonzero eigenvalues from the Gram matrix, descending (zeros included up to the number of terms). */
  readonly eigenvalues: number[];
  readonly trace: number;
  /** Numerical rank (eigenvalues above 1e-9 × the largest). */
  readonly rank: number;
  readonly rankBound: number;
}

export interface DecompositionSummary {
  readonly classes: readonly number[];
  readonly sampleCount: number;
  readonly paramCount: number;
  /** P_cc', |S| × |S| row-major. */
  readonly pairMass: number[];
  readonly classCounts: number[];
  readonly pieces: Readonly<Record<LowRankPieceName, PieceSummary>>;
  /** tr B2 by Hutch++ on B2 = G − (A1+A2+B1), and tr G = tr(A1+A2+B1) + tr B2; absent without G. */
  readonly traceB2?: { readonly value: number; readonly stderr: number; readonly matvecs: number };
  readonly traceG?: number;
  /** λ_min(B2) by Lanczos on the matrix-free B2, with its residual: the check B2 ⪰ 0. Absent without G or budget. */
  readonly bottomB2?: BottomEigenvalueCheck;
  /** The C − 1 structure of A1: ‖(1/N) Σ_c P_cc g_cc‖ beside ‖∇L‖, and λ_C(A1)/λ_{C−1}(A1) (classStructure.ts). */
  readonly classStructure: ClassStructure;
}

/**
 * The smallest eigenvalue θ of a PSD-in-theory operator, as Lanczos finds it, and the check
 * θ ≥ −tolerance. tolerance = max(‖r‖, 1e-5·‖B2‖est): a Ritz value with residual ‖r‖ = ‖B2 y − θ y‖
 * has an eigenvalue within ‖r‖ of it, and 1e-5·‖B2‖ is the float32 floor of the products (G in
 * float32 per batch minus the float64 low-rank pieces). The check says nothing about eigenvalues
 * Lanczos did not reach when not converged.
 */
export interface BottomEigenvalueCheck {
  readonly value: number;
  readonly residual: number;
  readonly converged: boolean;
  readonly matvecs: number;
  /** ‖B2‖ estimate (largest |Ritz value| seen). */
  readonly normEstimate: number;
  readonly tolerance: number;
  /** value ≥ −tolerance. */
  readonly holds: boolean;
}

/** Float32 floor of B2's products relative to ‖B2‖ (see BottomEigenvalueCheck). */
export const B2_PRODUCT_FLOOR = 1e-5;

export interface DecompositionOptions {
  /** G of the same samples, for tr B2. */
  readonly ggn?: LinearOperator;
  /** Products for Hutch++ on B2 (default 30). */
  readonly traceMatvecs?: number;
  /** Product budget of the λ_min(B2) search (default 60; 0: none). */
  readonly bottomMatvecs?: number;
  readonly seed?: number;
  /** ∇L over the same samples, for the C − 1 structure's comparison (classStructure.ts). */
  readonly gradient?: ArrayLike<number>;
}

export async function summarizeDecomposition(
  cg: ClassGradients,
  options: DecompositionOptions = {},
): Promise<DecompositionSummary> {
  const pieces = gaussNewtonPieces(cg, options.ggn);
  const summary = (p: typeof pieces.a1): PieceSummary => ({
    eigenvalues: Array.from(p.eigenvalues()),
    trace: p.trace(),
    rank: p.rank(),
    rankBound: p.rankBound,
  });
  const base = {
    classes: cg.classes,
    sampleCount: cg.sampleCount,
    paramCount: cg.paramCount,
    pairMass: Array.from(cg.pairMass),
    classCounts: Array.from(cg.classCounts),
    pieces: { a1: summary(pieces.a1), a2: summary(pieces.a2), b1: summary(pieces.b1), 'a1+a2+b1': summary(pieces.lowRank) },
    classStructure: classStructure(cg, Array.from(pieces.a1.eigenvalues()), options.gradient),
  };
  if (pieces.b2 === undefined) return base;
  const t = await hutchPlusPlusTrace(pieces.b2, { matvecs: options.traceMatvecs ?? 30, seed: options.seed ?? 0 });
  const budget = options.bottomMatvecs ?? 60;
  let bottomB2: BottomEigenvalueCheck | undefined;
  if (budget > 0) {
    const b = await bottomEigenpairs(pieces.b2, 1, { maxMatvecs: budget, seed: (options.seed ?? 0) + 1, tol: 1e-4 });
    const pair = b.pairs[0];
    if (pair !== undefined) {
      const tolerance = Math.max(pair.residual, B2_PRODUCT_FLOOR * b.normEstimate);
      bottomB2 = {
        value: pair.value,
        residual: pair.residual,
        converged: pair.converged,
        matvecs: b.matvecs,
        normEstimate: b.normEstimate,
        tolerance,
        holds: pair.value >= -tolerance,
      };
    }
  }
  return {
    ...base,
    traceB2: { value: t.value, stderr: t.stderr, matvecs: t.matvecs },
    traceG: base.pieces['a1+a2+b1'].trace + t.value,
    ...(bottomB2 !== undefined && { bottomB2 }),
  };
}
