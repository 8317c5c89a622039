import { loadSchema } from '../../util/schemaFiles.js';
import { isPieceOperator, type CurvatureKind } from '../../curvature/operatorKind.js';
import type { ExecutionOptions } from '../../curvature/execution.js';
import { SpecpipeError } from '../../util/errors.js';
import type { LinearOperator } from '../../linalg/operator.js';
import type { StageContext, StageKind } from '../registry.js';
import { trainArtifact } from '../train-sgd/trainArtifact.js';
import { decompositionArtifact } from '../decompose-class-gradients/decompositionArtifact.js';
import { SPECTRUM_FILES, writeSpectrumArtifact } from './spectrumArtifact.js';
import type { SpectrumSlqParams } from './params.js';

/** The operator a spectrum/slq instance measures, what it was measured on, and how to release it. */
interface MeasuredOperator {
  readonly op: LinearOperator;
  readonly split: 'train' | 'test';
  readonly epoch: number;
  readonly samples: number;
  /** Classes C of the network (the outlier rule looks for a gap at k ≤ 2C). */
  readonly classes?: number;
  readonly close: () => Promise<void>;
}

/** How a stage's full-data products run: batches, threads, shard processes or Redis shards (its execution params). */
async function execution(ctx: StageContext<SpectrumSlqParams>): Promise<ExecutionOptions> {
  const p = ctx.params;
  let shards: ExecutionOptions['shards'];
  if (p.redis_shards > 0) {
    if (ctx.transports === undefined)
      throw new SpecpipeError(
        'no-redis-transport',
        `${ctx.instance.name}: with.redis_shards needs an executor that provides Redis shards`,
      );
    const url = process.env['SPECPIPE_PRODUCTS_REDIS'] ?? 'redis://127.0.0.1:6379';
    shards = { transport: await ctx.transports.redisShards(url), count: p.redis_shards };
  }
  return {
    batchSize: p.batch_size,
    workers: p.workers,
    recordingBudget: p.recording_budget_mib * 2 ** 20,
    ...(p.processes > 0 && { processes: p.processes }),
    ...(shards !== undefined && { shards }),
    backend: 'auto',
  };
}

/** Hess, G or H of the upstream checkpoint over the selected samples of its split. */
async function curvatureOperator(ctx: StageContext<SpectrumSlqParams>, name: CurvatureKind): Promise<MeasuredOperator> {
  const { Curvature } = await import('../../curvature/curvatureOperators.js');
  const p = ctx.params;
  const t = await trainArtifact(ctx).problem(p.checkpoint, p.split, {
    ...(p.max_samples !== undefined && { maxSamples: p.max_samples }),
  });
  const curvature = await Curvature.open(t.problem, await execution(ctx)).catch((e: unknown) => (t.dispose(), Promise.reject(e)));
  return {
    op: curvature.operator(name),
    split: p.split,
    epoch: t.epoch,
    samples: t.problem.data.shape[0],
    classes: t.problem.network.spec.classes,
    close: async () => (await curvature.close(), t.dispose()),
  };
}

/**
 * One of Papyan's pieces of G from the upstream decomposition: its samples, split and checkpoint are
 * the decomposition's; B2 = G − A1 − A2 − B1 also needs G over exactly those samples.
 */
async function pieceOperator(ctx: StageContext<SpectrumSlqParams>): Promise<MeasuredOperator> {
  const p = ctx.params;
  const d = decompositionArtifact(
    ctx,
    `with.operator is "${p.operator}", a piece of G: add a decompose/class-gradients stage to its needs`,
  );
  const dp = d.params;
  const train = trainArtifact(ctx);
  const epoch = train.epochOf(dp.checkpoint);
  if (p.operator !== 'b2') {
    const op = await d.pieceOperator(p.operator as 'a1', undefined);
    return { op, split: dp.split, epoch, samples: d.samples, close: async () => {} };
  }
  const { Curvature } = await import('../../curvature/curvatureOperators.js');
  const t = await train.problem(dp.checkpoint, dp.split, {
    ...(dp.samples_per_class !== undefined && { samplesPerClass: dp.samples_per_class }),
    ...(dp.classes !== undefined && { classes: dp.classes }),
  });
  const curvature = await Curvature.open(t.problem, await execution(ctx)).catch((e: unknown) => (t.dispose(), Promise.reject(e)));
  return {
    op: await d.pieceOperator('b2', curvature.operator('ggn')),
    split: dp.split,
    epoch,
    samples: t.problem.data.shape[0],
    classes: t.problem.network.spec.classes,
    close: async () => (await curvature.close(), t.dispose()),
  };
}

/**
 * `spectrum/slq`: one spectral measurement (measureSpectrum, src/linalg/spectrumMeasurement.ts:
 * top-k with residuals, SLQ of the operator or of its deflated bulk, log-spectrum, Hutch++ trace)
 * of Hess, G or H = Hess − G of a train/sgd checkpoint over its training or test samples, or of
 * one of Papyan's pieces A1, A2, B1, B2, A1+A2+B1 of G from an upstream decomposition.
 */
export const spectrumSlqStage: StageKind<SpectrumSlqParams> = {
  kind: 'spectrum/slq',
  version: 4,
  description:
    'Stochastic Lanczos quadrature (+ top-k, deflation, Hutch++ trace) of hessian | ggn | residual of a trained checkpoint, or of a piece a1 | a2 | b1 | b2 of G.',
  paramsSchema: loadSchema('stages/spectrum-slq.schema.json'),
  usesBackend: true,
  curvesModel: true,
  // Same products up to float64 summation order (test/curvature/dataParallel.test.ts, processEngine.test.ts).
  executionParams: ['workers', 'processes', 'redis_shards', 'recording_budget_mib'],
  outputs: {
    ...Object.fromEntries(Object.values(SPECTRUM_FILES).map((f) => [f, 'Arrow table'])),
    'report-fragment.json': 'report fragment',
  },
  async run(ctx) {
    const p = ctx.params;
    const { measureSpectrum, knownProducts } = await import('../../linalg/spectrumMeasurement.js');
    const { spectrumReportFragment } = await import('../../report/spectrumFragment.js');
    const piece = isPieceOperator(p.operator);
    const target = piece ? await pieceOperator(ctx) : await curvatureOperator(ctx, p.operator as CurvatureKind);
    try {
      const options = {
        lanczosSteps: p.lanczos_steps,
        startVectors: p.start_vectors,
        gridSize: p.grid_size,
        seed: ctx.seed,
        topK: p.top_k,
        topKTol: p.top_k_tol,
        ...(p.top_k_matvecs !== undefined && { topKMatvecs: p.top_k_matvecs }),
        deflate: p.deflate,
        traceMatvecs: p.trace ? p.trace_matvecs : 0,
        logSpectrum: p.log_spectrum,
      };
      // The products actually needed: SLQ and Hutch++ known in advance, top-k counted as it goes.
      const known = knownProducts(options, target.op.size);
      const note = `(${p.operator}, ${target.split}, epoch ${target.epoch})`;
      const m = await measureSpectrum(target.op, options, (done, counts) =>
        ctx.progress({ done, total: known.slq + known.trace + counts.topK, unit: 'product', note }),
      );
      const P = target.op.size;
      const meta: Record<string, string> = {
        operator: p.deflate > 0 ? `${p.operator}-deflated` : p.operator,
        split: target.split,
        epoch: String(target.epoch),
        parameters: String(P),
        samples: String(target.samples),
        steps: String(p.lanczos_steps),
        ...(m.pairs.length > 0 && { outliers: JSON.stringify(m.pairs.map((x) => x.value)) }),
        ...(p.deflate > 0 && { deflated: String(p.deflate) }),
      };
      const fragment = spectrumReportFragment(m, {
        operator: p.operator,
        split: target.split,
        tags: trainArtifact(ctx).seriesTags(target.epoch),
        parameters: P,
        piece,
        deflate: p.deflate,
        ...(target.classes !== undefined && { classes: target.classes }),
      });
      const roles = await writeSpectrumArtifact(ctx.outDir, m, meta, fragment);
      return { metrics: spectrumMetrics(m, P, target), roles };
    } finally {
      await target.close();
    }
  },
};

/** The scalars `show` and `diff` compare. */
function spectrumMetrics(
  m: import('../../linalg/spectrumMeasurement.js').SpectrumMeasurement,
  P: number,
  t: MeasuredOperator,
): Record<string, number> {
  const ls = m.logSpectrum;
  return {
    top_eigenvalue: m.moments.top,
    bottom_eigenvalue: m.moments.bottom,
    /** tr ≈ P · ∫ λ dμ. */
    trace: P * m.moments.mean,
    second_moment: P * m.moments.second,
    ...(m.moments.meanStderr !== undefined && { trace_slq_stderr: P * m.moments.meanStderr }),
    ...(m.moments.secondStderr !== undefined && { second_moment_stderr: P * m.moments.secondStderr }),
    matvecs: m.matvecs,
    parameters: P,
    samples: t.samples,
    epoch: t.epoch,
    ...(m.pairs[0] !== undefined && { lambda_1: m.pairs[0].value, lambda_1_residual: m.pairs[0].residual }),
    ...(m.pairs.length > 0 && { outliers_converged: m.pairs.filter((x) => x.converged).length }),
    ...(m.trace !== undefined && { trace_hutchpp: m.trace.value, trace_stderr: m.trace.stderr }),
    ...(ls !== undefined && { positive_mass: ls.positive.mass, negative_mass: ls.negative.mass }),
  };
}
