import { checkDenseSize, DENSE_CURVATURE_LIMIT, symmetrizedSpectrum } from '../curvature/denseCurvature.js';
import { layersOf, type Mlp64Problem } from '../curvature/mlpCurvature64.js';
import { mlp64DenseCurvature } from '../curvature/mlpDense64.js';
import { mlp64SampleJacobian } from '../curvature/mlpJacobian64.js';
import { compareWithExact, type ExactComparison, type MeasuredSlq } from '../linalg/exactComparison.js';
import { countOutliers, type OutlierCount } from '../linalg/outlierCount.js';
import { SpecpipeError } from '../util/errors.js';
import { densePiecesFromDefinition } from './densePieces.js';

/**
 * Exact ground truth for a small real net (issue 12, item 3): every operator the estimates measured
 * built densely in float64 — Hess, G and H column by column from exact float64 products
 * (mlp64DenseCurvature: Hess e_j, G e_j and H e_j, H from its own definition), A1, A2, B1 and B2 each from
 * its own definition (densePieces.ts) — eigendecomposed in float64 (Householder + QL), and the
 * estimates compared with it (compareWithExact: top-k relative errors, SLQ measure W1 / spectral
 * width, smoothed-density L1 and band coverage; outlier counts by the one rule of outlierCount.ts on
 * both sides). Two checks no estimate enters: λ_min(B2) ≥ −tolerance and ‖A1+A2+B1+B2 − G‖_F/‖G‖_F.
 */

/** Operators a validation compares (curvature kinds and Papyan's pieces). */
export type ValidatedOperator = 'hessian' | 'ggn' | 'residual' | 'a1' | 'a2' | 'b1' | 'b2';
export const VALIDATED_OPERATORS: readonly ValidatedOperator[] = ['hessian', 'ggn', 'residual', 'a1', 'a2', 'b1', 'b2'];

/** A spectrum/slq estimate of one operator over the same samples. */
export interface SpectrumEstimate {
  /** Where it comes from (a stage instance's name). */
  readonly label: string;
  readonly operator: ValidatedOperator;
  /** Top pairs deflated before SLQ (0: none). */
  readonly deflated: number;
  readonly top: readonly { readonly value: number; readonly residual: number; readonly converged: boolean }[];
  readonly slq?: MeasuredSlq;
}

/** A decompose/class-gradients estimate: the Gram eigenvalues of A1, A2, B1 and λ_min(B2) by Lanczos. */
export interface DecompositionEstimate {
  readonly label: string;
  readonly eigenvalues: Readonly<Record<'a1' | 'a2' | 'b1', readonly number[]>>;
  readonly lambdaMinB2?: { readonly value: number; readonly residual: number; readonly tolerance: number };
}

export interface ValidationRow {
  readonly label: string;
  readonly operator: ValidatedOperator;
  readonly source: 'spectrum/slq' | 'decompose/class-gradients';
  readonly deflated: number;
  /** The estimated top eigenvalues compared and the exact ones at the same ranks. */
  readonly estimatedTop: number[];
  readonly exactTop: number[];
  readonly comparison: ExactComparison;
  /** The rule's count on the estimate's leading converged pairs and on as many exact eigenvalues. */
  readonly outliers?: { readonly exact: OutlierCount; readonly estimated: OutlierCount };
}

export interface DenseValidation {
  readonly parameters: number;
  readonly samples: number;
  readonly classes: number;
  /** Every eigenvalue of each operator built, descending. */
  readonly eigenvalues: Readonly<Partial<Record<ValidatedOperator, Float64Array>>>;
  /** max|A − Aᵀ|/max|A| of the Hess, G, H columns before symmetrising (float64 products: ~1e-16). */
  readonly asymmetry: number;
  readonly rows: readonly ValidationRow[];
  /** λ_min(B2) of B2 from its definition, λ_max(B2), and the decomposition's Lanczos estimate beside it. */
  readonly b2: {
    readonly lambdaMin: number;
    readonly lambdaMax: number;
    /** λ_min ≥ −1e-10·λ_max (B2 is a sum of outer products: only float64 rounding can make it negative). */
    readonly psd: boolean;
    readonly estimated?: { readonly value: number; readonly residual: number; readonly tolerance: number };
  };
  /** ‖A1 + A2 + B1 + B2 − G‖_F / ‖G‖_F with each piece from its definition and G from products. */
  readonly identityResidual: number;
  /** Wall seconds: Hess/G/H columns, the pieces, the eigendecompositions. */
  readonly seconds: { readonly products: number; readonly pieces: number; readonly eigen: number };
}

export interface DenseValidationOptions {
  /** Refuse P above this (default DENSE_CURVATURE_LIMIT). */
  readonly limit?: number;
  readonly progress?: (done: number, total: number, unit: string) => void;
}

/**
 * How many leading eigenvalues (descending) are nonzero, |λ| > 1e-9·max|λ|: past the rank of a
 * low-rank piece the exact eigenvalues are rounding (~1e-17) and a relative error against them says nothing.
 */
function nonzeroLeading(desc: Float64Array): number {
  const scale = Math.max(Math.abs(desc[0] ?? 0), Math.abs(desc[desc.length - 1] ?? 0));
  let k = 0;
  while (k < desc.length && Math.abs(desc[k]!) > 1e-9 * scale) k++;
  return k;
}

/** Leading converged pairs: an unconverged Ritz value may stand for a missed eigenvalue. */
function leadingConverged(top: SpectrumEstimate['top']): number[] {
  const stop = top.findIndex((x) => !x.converged);
  return (stop === -1 ? top : top.slice(0, stop)).map((x) => x.value);
}

/** Builds the dense operators of a float64 MLP problem and compares the estimates with them. */
export async function validateDense(
  problem: Mlp64Problem,
  estimates: { readonly spectra: readonly SpectrumEstimate[]; readonly decomposition?: DecompositionEstimate },
  options: DenseValidationOptions = {},
): Promise<DenseValidation> {
  layersOf(problem);
  const P = problem.theta.length;
  checkDenseSize(P, options.limit ?? DENSE_CURVATURE_LIMIT);
  if (problem.loss !== 'cross-entropy')
    throw new SpecpipeError(
      'validate-loss',
      `dense validation: Papyan's decomposition of G assumes softmax cross-entropy, the net was trained with ${problem.loss}`,
    );
  const N = problem.data.shape[0];
  const C = problem.sizes[problem.sizes.length - 1]!;
  const progress = options.progress ?? (() => {});

  // Hess, G, H column by column: A e_j by the float64 R-operator rules (mlpDense64.ts).
  let t = performance.now();
  const hgh = mlp64DenseCurvature(problem, (done, total) => progress(done, total, 'column'));
  const dense: Partial<Record<ValidatedOperator, Float64Array>> = {
    hessian: hgh.hessian,
    ggn: hgh.ggn,
    residual: hgh.residual,
  };
  const products = (performance.now() - t) / 1000;

  t = performance.now();
  const pieces = densePiecesFromDefinition(
    N,
    C,
    P,
    (i) => mlp64SampleJacobian(problem, i),
    (done, total) => done % 64 === 0 && progress(done, total, 'sample'),
  );
  Object.assign(dense, { a1: pieces.a1, a2: pieces.a2, b1: pieces.b1, b2: pieces.b2 });
  const piecesSeconds = (performance.now() - t) / 1000;

  // Symmetrise Hess, G, H (the pieces are symmetric by construction), then the identity check.
  t = performance.now();
  const eigenvalues: Partial<Record<ValidatedOperator, Float64Array>> = {};
  let asymmetry = 0;
  const needed = new Set<ValidatedOperator>(['b2', ...estimates.spectra.map((s) => s.operator)]);
  if (estimates.decomposition !== undefined) for (const p of ['a1', 'a2', 'b1'] as const) needed.add(p);
  for (const op of ['hessian', 'ggn', 'residual'] as const) {
    const a = dense[op]!;
    if (needed.has(op)) {
      const s = symmetrizedSpectrum(a, P);
      eigenvalues[op] = s.eigenvalues;
      asymmetry = Math.max(asymmetry, s.asymmetry);
    }
    if (op !== 'ggn') delete dense[op]; // 8P² bytes each
  }
  const g = dense.ggn!;
  let diff2 = 0;
  let g2 = 0;
  for (let i = 0; i < P; i++)
    for (let j = 0; j < P; j++) {
      const k = i * P + j;
      const gk = (g[k]! + g[j * P + i]!) / 2;
      const r = pieces.a1[k]! + pieces.a2[k]! + pieces.b1[k]! + pieces.b2[k]! - gk;
      diff2 += r * r;
      g2 += gk * gk;
    }
  const identityResidual = Math.sqrt(diff2 / g2);
  for (const op of ['a1', 'a2', 'b1', 'b2'] as const)
    if (needed.has(op)) eigenvalues[op] = symmetrizedSpectrum(dense[op]!, P).eigenvalues;
  const eigenSeconds = (performance.now() - t) / 1000;

  const rows: ValidationRow[] = estimates.spectra.map((s) => {
    const exact = eigenvalues[s.operator]!;
    const estimatedTop = s.top.map((x) => x.value).slice(0, nonzeroLeading(exact));
    const used = leadingConverged(s.top);
    return {
      label: s.label,
      operator: s.operator,
      source: 'spectrum/slq',
      deflated: s.deflated,
      estimatedTop,
      exactTop: Array.from(exact.subarray(0, estimatedTop.length)),
      comparison: compareWithExact(exact, {
        ...(estimatedTop.length > 0 && { top: estimatedTop }),
        ...(s.slq !== undefined && { slq: s.slq, deflated: s.deflated }),
      }),
      ...(used.length > 0 && {
        outliers: {
          exact: countOutliers(Array.from(exact.subarray(0, used.length)), { classes: C }),
          estimated: countOutliers(used, { classes: C }),
        },
      }),
    };
  });
  const d = estimates.decomposition;
  if (d !== undefined)
    for (const op of ['a1', 'a2', 'b1'] as const) {
      const est = d.eigenvalues[op];
      const largest = est[0] ?? 0;
      // The nonzero ones: a relative error of a zero eigenvalue says nothing.
      const top = est.filter((x) => x > 1e-9 * largest);
      const exact = eigenvalues[op]!;
      rows.push({
        label: d.label,
        operator: op,
        source: 'decompose/class-gradients',
        deflated: 0,
        estimatedTop: top,
        exactTop: Array.from(exact.subarray(0, top.length)),
        comparison: compareWithExact(exact, { top }),
      });
    }
  const b2 = eigenvalues.b2!;
  const lambdaMax = b2[0]!;
  const lambdaMin = b2[b2.length - 1]!;
  return {
    parameters: P,
    samples: N,
    classes: C,
    eigenvalues,
    asymmetry,
    rows,
    b2: {
      lambdaMin,
      lambdaMax,
      psd: lambdaMin >= -1e-10 * Math.abs(lambdaMax),
      ...(d?.lambdaMinB2 !== undefined && { estimated: d.lambdaMinB2 }),
    },
    identityResidual,
    seconds: { products, pieces: piecesSeconds, eigen: eigenSeconds },
  };
}
