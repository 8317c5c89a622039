import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { LinearOperator } from '../linalg/operator.js';
import { hutchPlusPlusTrace } from '../linalg/traces.js';
import { writeFileAtomic } from '../util/atomicWrite.js';
import type { ReportFragment } from '../report/reportFragment.js';
import { REPORT_FRAGMENT_FILE } from '../report/reportFragment.js';
import type { NumberRow, SeriesTags, Split } from '../report/reportData.js';
import type { ClassGradients } from './classGradients.js';
import { encodeClassGradients } from './classGradientsArrow.js';
import { gaussNewtonPieces, type LowRankPieceName } from './pieces.js';

/**
 * The `decompose/class-gradients` artifact: class-gradients.arrow (the C² sums s_cc' and P_cc'),
 * decomposition.json (exact spectra and traces of the low-rank pieces, tr B2 by Hutch++ when G
 * is given) and report-fragment.json (the exact eigenvalues and the numbers, for the report).
 */
export const CLASS_GRADIENTS_FILE = 'class-gradients.arrow';
export const DECOMPOSITION_FILE = 'decomposition.json';

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

/** The report's view of a decomposition: exact eigenvalues of every low-rank piece and the numbers behind claims (c), (f). */
export function decompositionFragment(s: DecompositionSummary, tags: SeriesTags, split: Split): ReportFragment {
  const where = [
    tags.dataset,
    tags.model,
    tags.epoch !== undefined ? `epoch ${tags.epoch}` : undefined,
    tags.samplesPerClass !== undefined ? `${tags.samplesPerClass}/class` : undefined,
    split,
  ]
    .filter((x) => x !== undefined)
    .join(', ');
  const pieces = ['a1', 'a2', 'b1', 'a1+a2+b1'] as const;
  const numbers: NumberRow[] = [
    ...pieces.map((p) => ({
      claim: p === 'b1' ? 'f' : 'c',
      name: `tr ${p.toUpperCase()} (exact) [${where}]`,
      value: s.pieces[p].trace,
    })),
    { claim: 'f', name: `rank B1 (bound C(C−2) = ${s.pieces.b1.rankBound}) [${where}]`, value: s.pieces.b1.rank },
    { claim: 'c', name: `λ_max(A1) (exact) [${where}]`, value: s.pieces.a1.eigenvalues[0] ?? Number.NaN },
  ];
  if (s.traceB2 !== undefined)
    numbers.push({
      claim: 'f',
      name: `tr B2 (Hutch++, ${s.traceB2.matvecs} products) [${where}]`,
      value: s.traceB2.value,
      note: `± ${s.traceB2.stderr.toPrecision(2)}`,
    });
  return {
    exactEigenvalues: pieces.map((piece) => ({ ...tags, piece, split, values: s.pieces[piece].eigenvalues })),
    numbers,
  };
}

/** Writes the three files of the artifact into `dir`. */
export function writeDecompositionArtifact(
  dir: string,
  cg: ClassGradients,
  s: DecompositionSummary,
  tags: SeriesTags,
  split: Split,
): void {
  writeFileAtomic(join(dir, CLASS_GRADIENTS_FILE), encodeClassGradients(cg));
  writeFileSync(join(dir, DECOMPOSITION_FILE), JSON.stringify(s, null, 1) + '\n');
  writeFileSync(join(dir, REPORT_FRAGMENT_FILE), JSON.stringify(decompositionFragment(s, tags, split)) + '\n');
}
