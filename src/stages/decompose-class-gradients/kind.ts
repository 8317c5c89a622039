import { loadSchema } from '../../util/schemaFiles.js';
import type { CurvatureProblem } from '../../curvature/curvatureOperators.js';
import type { ExecutionOptions } from '../../curvature/execution.js';
import type { SeriesTags } from '../../report/reportData.js';
import { tagsFromCoords } from '../../report/reportFragment.js';
import type { StageContext, StageKind } from '../registry.js';
import { findArtifact } from '../upstream.js';
import { trainArtifact } from '../train-sgd/trainArtifact.js';
import { CLASS_GRADIENTS_FILE, DECOMPOSITION_FILE, writeDecompositionArtifact } from './decompositionArtifact.js';
import type { DecomposeParams } from './params.js';

export interface LoadedProblem {
  readonly problem: CurvatureProblem;
  /** How its products run (batch size, threads); default: this thread, batches of 256. */
  readonly execution?: ExecutionOptions;
  readonly split: 'train' | 'test';
  /** Checkpoint epoch of the net (tags the report's series). */
  readonly epoch?: number;
  /** Frees tensors. */
  dispose(): void;
}

/** How the stage obtains the net and samples it decomposes G over (tests substitute their own). */
export type CurvatureProblemLoader = (ctx: StageContext<DecomposeParams>) => Promise<LoadedProblem>;

/** Default loader: the upstream train/sgd checkpoint and the very samples it trained (or was tested) on. */
export const checkpointProblemLoader: CurvatureProblemLoader = async (ctx) => {
  const p = ctx.params;
  const t = await trainArtifact(ctx).problem(p.checkpoint, p.split, {
    ...(p.samples_per_class !== undefined && { samplesPerClass: p.samples_per_class }),
  });
  return { problem: t.problem, execution: { batchSize: p.batch_size }, split: p.split, epoch: t.epoch, dispose: t.dispose };
};

/** Report tags: those of the analysed train/sgd net when there is one upstream, else from the matrix coordinates. */
function seriesTagsOf(ctx: StageContext<DecomposeParams>, epoch: number | undefined): SeriesTags {
  if (findArtifact(ctx, 'train/sgd') !== undefined && epoch !== undefined) return trainArtifact(ctx).seriesTags(epoch);
  return tagsFromCoords(ctx.instance.coords, ctx.params as unknown as Record<string, unknown>);
}

/**
 * Stage kind `decompose/class-gradients` (math.md §3): P_cc', g_cc', g_c from the samples of one
 * split grouped by true class, the exact spectra and traces of A1, A2, B1, A1+A2+B1 and tr B2
 * (Hutch++ on the matrix-free B2 = G − A1 − A2 − B1 over the same samples) and λ_min(B2) with its
 * residual, and the C − 1 structure of A1 (‖(1/N) Σ_c P_cc g_cc‖ vs ‖∇L‖, λ_C(A1)/λ_{C−1}(A1)):
 * decomposeGaussNewton.
 */
export function decomposeStageKind(load: CurvatureProblemLoader = checkpointProblemLoader): StageKind<DecomposeParams> {
  return {
    kind: 'decompose/class-gradients',
    version: 4,
    description: "Papyan's class / cross-class decomposition of G: g_c, g_cc', exact spectra of A1, A2, B1; tr B2",
    usesBackend: true,
    curvesModel: true,
    outputs: { [CLASS_GRADIENTS_FILE]: 'table', [DECOMPOSITION_FILE]: 'data', 'report-fragment.json': 'data' },
    paramsSchema: loadSchema('stages/decompose-class-gradients.schema.json'),
    async run(ctx) {
      const { decomposeGaussNewton } = await import('../../decompose/decomposeGaussNewton.js');
      const { decompositionFragment } = await import('../../report/decompositionFragment.js');
      const loaded = await load(ctx);
      try {
        const p = ctx.params;
        const { classGradients: cg, summary } = await decomposeGaussNewton(loaded.problem, loaded.execution ?? {}, {
          ...(p.classes !== undefined && { classes: p.classes }),
          traceMatvecs: p.trace_matvecs,
          bottomMatvecs: p.b2_bottom_matvecs,
          seed: ctx.seed,
          onClass: (done, total) => ctx.progress({ done, total, unit: 'class' }),
        });
        const fragment = decompositionFragment(summary, seriesTagsOf(ctx, loaded.epoch), loaded.split);
        await writeDecompositionArtifact(ctx.outDir, cg, summary, fragment);
        return {
          metrics: {
            classes: cg.classes.length,
            of_classes: loaded.problem.network.spec.classes,
            samples: cg.sampleCount,
            lambda_max_a1: summary.pieces.a1.eigenvalues[0] ?? 0,
            trace_a1: summary.pieces.a1.trace,
            trace_a2: summary.pieces.a2.trace,
            trace_b1: summary.pieces.b1.trace,
            rank_b1: summary.pieces.b1.rank,
            ...(summary.traceB2 !== undefined && { trace_b2: summary.traceB2.value, trace_b2_stderr: summary.traceB2.stderr }),
            ...(summary.bottomB2 !== undefined && {
              lambda_min_b2: summary.bottomB2.value,
              lambda_min_b2_residual: summary.bottomB2.residual,
              lambda_min_b2_tolerance: summary.bottomB2.tolerance,
              b2_psd_holds: summary.bottomB2.holds ? 1 : 0,
            }),
            self_term_sum_norm: summary.classStructure.selfTermSumNorm,
            ...(summary.classStructure.gradientNorm !== undefined && { gradient_norm: summary.classStructure.gradientNorm }),
            a1_last_ratio: summary.classStructure.a1LastRatio,
          },
          roles: { [CLASS_GRADIENTS_FILE]: 'table' },
        };
      } finally {
        loaded.dispose();
      }
    },
  };
}

/** The kind with the default (checkpoint + data source) loader, for the built-in registry. */
export const decomposeClassGradientsStage = decomposeStageKind();
