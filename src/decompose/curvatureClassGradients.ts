import { Curvature, type CurvatureProblem } from '../curvature/curvatureOperators.js';
import type { ExecutionOptions } from '../curvature/execution.js';
import { selectSamples } from '../data/batches.js';
import { classGradients, type ClassBatch, type ClassGradients } from './classGradients.js';

/**
 * Class / cross-class gradients (math.md §3) through the curvature engine: for each class c of
 * the subset, a curvature session over the samples of class c gives p_i (perSampleProbabilities)
 * and the |S| products s_cc' = Σ_{i∈c} J_iᵀ p_ic'(p_i − e_c') in one batched
 * `weightedCotangentProduct` call (the engine splits it into batches and VJPs). So the cost is
 * |S| VJPs per sample, C² stored P-vectors.
 *
 * N (the 1/N of G) is the number of samples of the classes in S: with the default S = all
 * classes, that is `problem.data`'s N, matching the G operator of the same problem.
 */
export async function classGradientsFromCurvature(
  problem: CurvatureProblem,
  options: {
    readonly classes?: readonly number[];
    readonly onClass?: (done: number, total: number) => void;
    /** How each class's products run (default: this thread). */
    readonly execution?: ExecutionOptions;
  } = {},
): Promise<ClassGradients> {
  const C = problem.network.spec.classes;
  const classes = options.classes ?? Array.from({ length: C }, (_, c) => c);
  const labels = problem.data.labels;
  async function* batches(): AsyncGenerator<ClassBatch<Curvature>> {
    let done = 0;
    for (const c of classes) {
      const idx: number[] = [];
      labels.forEach((l, i) => {
        if (l === c) idx.push(i);
      });
      if (idx.length === 0) continue;
      const session = await Curvature.open({ ...problem, data: selectSamples(problem.data, idx) }, options.execution);
      try {
        const probabilities = await session.perSampleProbabilities();
        yield { trueClass: c, probabilities, batch: session };
      } finally {
        await session.close();
      }
      options.onClass?.(++done, classes.length);
    }
  }
  return classGradients(batches(), (session, cotangents) => session.weightedCotangentProduct(cotangents), {
    numClasses: C,
    paramCount: problem.network.size,
    ...(options.classes !== undefined && { classes: options.classes }),
  });
}
