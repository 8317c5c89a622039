import type { LinearOperator } from '../linalg/operator.js';
import { hutchPlusPlusTrace } from '../linalg/traces.js';
import type { ClassGradients } from './classGradients.js';
import { gaussNewtonPieces, type LowRankPieceName } from './pieces.js';

/**
 * Summary of Papyan's decomposition G = A1 + A2 + B1 + B2 (math.md §3) from the class gradients:
 * exact spectra and traces of the low-rank pieces, tr B2 by Hutch++ on the matrix-free B2 when G is given.
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
}

export interface DecompositionOptions {
  /** G of the same samples, for tr B2. */
  readonly ggn?: LinearOperator;
  /** Products for Hutch++ on B2 (default 30). */
  readonly traceMatvecs?: number;
  readonly seed?: number;
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
  };
  if (pieces.b2 === undefined) return base;
  const t = await hutchPlusPlusTrace(pieces.b2, { matvecs: options.traceMatvecs ?? 30, seed: options.seed ?? 0 });
  return {
    ...base,
    traceB2: { value: t.value, stderr: t.stderr, matvecs: t.matvecs },
    traceG: base.pieces['a1+a2+b1'].trace + t.value,
  };
}
