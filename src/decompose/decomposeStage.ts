import { join } from 'node:path';
import type { StageContext, StageKind } from '../stages/registry.js';
import { loadTrainedProblem, trainUpstream } from '../stages/trainedProblem.js';
import { reportSeriesTags } from '../stages/spectrumStage.js';
import { Curvature, type CurvatureProblem } from '../curvature/curvatureOperators.js';
import { selectSamples } from '../data/batches.js';
import { tagsFromCoords } from '../report/reportFragment.js';
import type { SeriesTags, Split } from '../report/reportData.js';
import { SpecpipeError } from '../util/errors.js';
import { loadSchema } from '../pipeline/schemaFiles.js';
import type { DecomposeClassGradientsParams } from '../params/decompose-class-gradients.generated.js';
import { classGradientsFromCurvature } from './curvatureClassGradients.js';
import {
  CLASS_GRADIENTS_FILE,
  DECOMPOSITION_FILE,
  summarizeDecomposition,
  writeDecompositionArtifact,
} from './decomposeArtifact.js';

/**
 * Stage kind `decompose/class-gradients` (math.md §3): P_cc', g_cc', g_c from the samples of one
 * split grouped by true class (|S| VJPs per sample through the curvature engine), the exact
 * spectra and traces of A1, A2, B1, A1+A2+B1 and tr B2 (Hutch++ on the matrix-free B2).
 *
 * How the curvature problem (network, θ, samples) is obtained is a `CurvatureProblemLoader`:
 * `checkpointProblemLoader` reads the upstream 'checkpoint' file and loads the data source
 * named in the params; the pipeline engine can substitute its own.
 */
/**
 * Params of decompose/class-gradients (generated from schemas/stages/decompose-class-gradients.schema.json). Partial: a
 * loader or test may run the stage with params that did not pass through the schema's defaults.
 */
export type DecomposeParams = Partial<DecomposeClassGradientsParams>;

export interface LoadedProblem {
  readonly problem: CurvatureProblem;
  readonly split: Split;
  /** Checkpoint epoch of the net (tags the report's series). */
  readonly epoch?: number;
  /** Frees tensors. */
  dispose(): void;
}

export type CurvatureProblemLoader = (ctx: StageContext<DecomposeParams>) => Promise<LoadedProblem>;

/** Default loader: the upstream train/sgd checkpoint and the very samples it trained (or was tested) on. */
export const checkpointProblemLoader: CurvatureProblemLoader = async (ctx) => {
  const split: Split = ctx.params.split ?? 'train';
  const loaded = await loadTrainedProblem(ctx, {
    checkpoint: ctx.params.checkpoint ?? 'final',
    split,
    ...(ctx.params.samples_per_class !== undefined && { samplesPerClass: ctx.params.samples_per_class }),
    batchSize: ctx.params.batch_size ?? 256,
  });
  return { problem: loaded.problem, split, epoch: loaded.epoch, dispose: loaded.dispose };
};

/** Report tags: those of the analysed train/sgd net when there is one upstream, else from the matrix coordinates. */
function seriesTagsOf(ctx: StageContext<DecomposeParams>, epoch: number | undefined): SeriesTags {
  const hasTrain = Object.values(ctx.needs).some((u) => u.kind === 'train/sgd');
  if (hasTrain && epoch !== undefined) return reportSeriesTags(ctx, trainUpstream(ctx), epoch);
  return tagsFromCoords(ctx.instance.coords, ctx.params as Record<string, unknown>);
}

export function decomposeStageKind(load: CurvatureProblemLoader = checkpointProblemLoader): StageKind<DecomposeParams> {
  return {
    kind: 'decompose/class-gradients',
    version: 2,
    description: "Papyan's class / cross-class decomposition of G: g_c, g_cc', exact spectra of A1, A2, B1; tr B2",
    usesBackend: true,
    outputs: { [CLASS_GRADIENTS_FILE]: 'table', [DECOMPOSITION_FILE]: 'data', 'report-fragment.json': 'data' },
    paramsSchema: loadSchema('stages/decompose-class-gradients.schema.json'),
    async run(ctx) {
      const loaded = await load(ctx);
      try {
        const C = loaded.problem.network.spec.classes;
        const classes = ctx.params.classes;
        const cg = await classGradientsFromCurvature(loaded.problem, {
          ...(classes !== undefined && { classes }),
          onClass: (done, total) => ctx.progress({ done, total, unit: 'class' }),
        });
        const traceMatvecs = ctx.params.trace_matvecs ?? 30;
        let curvature: Curvature | undefined;
        try {
          let ggn;
          if (traceMatvecs > 0) {
            // G over the same samples as the class gradients (the classes of S).
            const keep = new Set(cg.classes);
            const idx: number[] = [];
            loaded.problem.data.labels.forEach((l, i) => {
              if (keep.has(l)) idx.push(i);
            });
            const data =
              idx.length === loaded.problem.data.labels.length ? loaded.problem.data : selectSamples(loaded.problem.data, idx);
            curvature = await Curvature.open({ ...loaded.problem, data });
            ggn = curvature.operator('ggn');
          }
          const summary = await summarizeDecomposition(cg, { ...(ggn !== undefined && { ggn }), traceMatvecs, seed: ctx.seed });
          writeDecompositionArtifact(ctx.outDir, cg, summary, seriesTagsOf(ctx, loaded.epoch), loaded.split);
          return {
            metrics: {
              classes: cg.classes.length,
              of_classes: C,
              samples: cg.sampleCount,
              lambda_max_a1: summary.pieces.a1.eigenvalues[0] ?? 0,
              trace_a1: summary.pieces.a1.trace,
              trace_a2: summary.pieces.a2.trace,
              trace_b1: summary.pieces.b1.trace,
              rank_b1: summary.pieces.b1.rank,
              ...(summary.traceB2 !== undefined && { trace_b2: summary.traceB2.value }),
            },
            roles: { [CLASS_GRADIENTS_FILE]: 'table' },
          };
        } finally {
          await curvature?.close();
        }
      } finally {
        loaded.dispose();
      }
    },
  };
}

/** The kind with the default (checkpoint + data source) loader, for the built-in registry. */
export const decomposeClassGradientsStage = decomposeStageKind();
