import { Curvature, type CurvatureProblem } from '../curvature/curvatureOperators.js';
import type { ExecutionOptions } from '../curvature/execution.js';
import { selectAnalysedSamples } from '../curvature/checkpointProblem.js';
import type { ClassGradients } from './classGradients.js';
import { classGradientsFromCurvature } from './curvatureClassGradients.js';
import { summarizeDecomposition, type DecompositionSummary } from './decomposition.js';

export interface DecomposeOptions {
  /** Class subset S (class indices); default all. */
  readonly classes?: readonly number[];
  /** Hutch++ products for tr B2 (0: none, and no λ_min(B2) either: G is not opened). */
  readonly traceMatvecs: number;
  /** Product budget of λ_min(B2) (default 60; 0: none). */
  readonly bottomMatvecs?: number;
  readonly seed: number;
  readonly onClass?: (done: number, total: number) => void;
}

/**
 * Papyan's decomposition of G over a problem's samples (math.md §3): the class gradients
 * (P_cc', g_cc'; |S| VJPs per sample through the curvature engine), the exact spectra of the
 * low-rank pieces, tr B2 by Hutch++ on B2 = G − (A1 + A2 + B1) with G over the samples of S,
 * λ_min(B2) with its residual, and the C − 1 structure of A1 against ∇L over the same samples.
 */
export async function decomposeGaussNewton(
  problem: CurvatureProblem,
  execution: ExecutionOptions,
  o: DecomposeOptions,
): Promise<{ classGradients: ClassGradients; summary: DecompositionSummary }> {
  const cg = await classGradientsFromCurvature(problem, {
    ...(o.classes !== undefined && { classes: o.classes }),
    ...(o.onClass !== undefined && { onClass: o.onClass }),
    execution,
  });
  if (o.traceMatvecs === 0)
    return { classGradients: cg, summary: await summarizeDecomposition(cg, { traceMatvecs: 0, seed: o.seed }) };
  const curvature = await Curvature.open(
    { ...problem, data: selectAnalysedSamples(problem.data, { classes: cg.classes }) },
    execution,
  );
  try {
    const summary = await summarizeDecomposition(cg, {
      ggn: curvature.operator('ggn'),
      traceMatvecs: o.traceMatvecs,
      ...(o.bottomMatvecs !== undefined && { bottomMatvecs: o.bottomMatvecs }),
      seed: o.seed,
      gradient: await curvature.fullGradient(),
    });
    return { classGradients: cg, summary };
  } finally {
    await curvature.close();
  }
}
