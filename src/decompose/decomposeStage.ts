import { join } from 'node:path';
import type * as tf from '@tensorflow/tfjs-core';
import type { StageContext, StageKind, UpstreamArtifact } from '../stages/registry.js';
import { Curvature, type CurvatureProblem } from '../curvature/curvatureOperators.js';
import { registerSecondOrderGradients } from '../curvature/secondOrderGradients.js';
import { loadCheckpoint } from '../nn/checkpoint.js';
import { loadDataSource, parseDataSource } from '../data/sources.js';
import { preprocessSplit } from '../data/preprocess.js';
import { selectSamples } from '../data/batches.js';
import { tagsFromCoords } from '../report/reportFragment.js';
import type { Split } from '../report/reportData.js';
import { SpecpipeError } from '../util/errors.js';
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
export interface DecomposeParams {
  /** Which split's samples (default "train"). */
  split?: Split;
  /** Class subset S (class indices); default all. */
  classes?: number[];
  /** Hutch++ products for tr B2 (default 30; 0 skips it). */
  trace_matvecs?: number;
  /** Samples per batch in the curvature engine (default 256). */
  batch_size?: number;
  /** Data source string (default: the upstream's `data` param, else "mnist"). */
  data?: string;
  /** Samples per class of the split (default: the upstream's train_per_class / test_per_class). */
  samples_per_class?: number;
  /** Which checkpoint (epoch) of the upstream to use when it holds several (default: matrix coordinate `epoch`, else the last). */
  epoch?: number;
}

export interface LoadedProblem {
  readonly problem: CurvatureProblem;
  readonly split: Split;
  /** Frees tensors. */
  dispose(): void;
}

export type CurvatureProblemLoader = (ctx: StageContext<DecomposeParams>) => Promise<LoadedProblem>;

function upstreams(ctx: StageContext<DecomposeParams>): UpstreamArtifact[] {
  return [...Object.values(ctx.needs), ...Object.values(ctx.gathered).flat()];
}

/**
 * The checkpoint file of the upstream artifacts: role 'checkpoint'; with several, the one whose
 * name carries the requested epoch (…epoch-3…, …epoch3…, …-3.safetensors), else the last by name.
 */
export function pickCheckpoint(ctx: StageContext<DecomposeParams>): { path: string; upstream: UpstreamArtifact } {
  const epoch =
    ctx.params.epoch ?? (typeof ctx.instance.coords['epoch'] === 'number' ? (ctx.instance.coords['epoch'] as number) : undefined);
  const found: { path: string; upstream: UpstreamArtifact }[] = [];
  for (const u of upstreams(ctx))
    for (const f of u.manifest.files) if (f.role === 'checkpoint') found.push({ path: join(u.dir, f.path), upstream: u });
  if (found.length === 0) {
    throw new SpecpipeError(
      'decompose-needs-checkpoint',
      `${ctx.instance.name}: no upstream artifact holds a 'checkpoint' file (upstream: ${
        upstreams(ctx)
          .map((u) => u.name)
          .join(', ') || 'none'
      })`,
    );
  }
  found.sort((a, b) => a.path.localeCompare(b.path, 'en', { numeric: true }));
  if (epoch !== undefined) {
    const re = new RegExp(`(epoch[-_]?0*${epoch}(?!\\d))|([-_]0*${epoch}\\.safetensors$)`);
    const hit = found.find((f) => re.test(f.path));
    if (hit !== undefined) return hit;
    throw new SpecpipeError(
      'decompose-no-epoch',
      `${ctx.instance.name}: no checkpoint for epoch ${epoch} among ${found.map((f) => f.path).join(', ')}`,
    );
  }
  return found[found.length - 1]!;
}

/** Default loader: upstream checkpoint + the data source, preprocessed as the checkpoint says. */
export const checkpointProblemLoader: CurvatureProblemLoader = async (ctx) => {
  registerSecondOrderGradients();
  const { path, upstream } = pickCheckpoint(ctx);
  const ck = loadCheckpoint(path);
  const split: Split = ctx.params.split ?? 'train';
  const dataText =
    ctx.params.data ?? (typeof upstream.params['data'] === 'string' ? (upstream.params['data'] as string) : 'mnist');
  const perClass = ctx.params.samples_per_class;
  const up = (k: string): number | undefined =>
    typeof upstream.coords[k] === 'number'
      ? (upstream.coords[k] as number)
      : typeof upstream.params[k] === 'number'
        ? (upstream.params[k] as number)
        : undefined;
  const trainPerClass = split === 'train' ? (perClass ?? up('train_per_class')) : up('train_per_class');
  const testPerClass = split === 'test' ? (perClass ?? up('test_per_class')) : up('test_per_class');
  const data = await loadDataSource(parseDataSource(dataText), {
    seed: ctx.seed,
    ...(trainPerClass !== undefined && { trainPerClass }),
    ...(testPerClass !== undefined && { testPerClass }),
  });
  const raw = split === 'train' ? data.train : data.test;
  const samples = ck.preprocess !== undefined ? preprocessSplit(raw, ck.preprocess) : raw;
  return {
    problem: {
      network: ck.network,
      params: ck.params,
      buffers: ck.buffers,
      data: samples,
      loss: 'cross-entropy',
      batchSize: ctx.params.batch_size ?? 256,
    },
    split,
    dispose: () => {
      for (const t of [...ck.params, ...ck.buffers] as tf.Tensor[]) t.dispose();
    },
  };
};

export function decomposeStageKind(load: CurvatureProblemLoader = checkpointProblemLoader): StageKind<DecomposeParams> {
  return {
    kind: 'decompose/class-gradients',
    version: 1,
    description: "Papyan's class / cross-class decomposition of G: g_c, g_cc', exact spectra of A1, A2, B1; tr B2",
    usesBackend: true,
    outputs: { [CLASS_GRADIENTS_FILE]: 'table', [DECOMPOSITION_FILE]: 'data', 'report-fragment.json': 'data' },
    paramsSchema: {
      type: 'object',
      additionalProperties: false,
      properties: {
        split: { enum: ['train', 'test'], default: 'train' },
        classes: { type: 'array', items: { type: 'integer', minimum: 0 }, minItems: 2, uniqueItems: true },
        trace_matvecs: { type: 'integer', minimum: 0, default: 30 },
        batch_size: { type: 'integer', minimum: 1, default: 256 },
        data: { type: 'string' },
        samples_per_class: { type: 'integer', minimum: 1 },
        epoch: { type: 'integer', minimum: 0 },
      },
    },
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
          writeDecompositionArtifact(
            ctx.outDir,
            cg,
            summary,
            tagsFromCoords(ctx.instance.coords, ctx.params as Record<string, unknown>),
            loaded.split,
          );
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
