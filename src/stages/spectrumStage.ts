import { join } from 'node:path';
import { readFileSync } from 'node:fs';
import { loadSchema } from '../pipeline/schemaFiles.js';
import type { LinearOperator } from '../linalg/operator.js';
import { SpecpipeError } from '../util/errors.js';
import type { NumberRow, ScalarPoint, SeriesTags } from '../report/reportData.js';
import type { ReportFragment } from '../report/reportFragment.js';
import type { StageContext, StageKind, UpstreamArtifact } from './registry.js';
import { loadTrainedProblem, trainUpstream, type ProblemSelection } from './trainedProblem.js';
import { findDatasetArtifact } from './stageFiles.js';
import { checkpointEpochs, type TrainSgdParams } from './trainStage.js';

/** Curvature operators of the net itself (src/curvature). */
export const CURVATURE_OPERATORS = ['hessian', 'ggn', 'residual'] as const;
/** Papyan's pieces of G (math.md §3), read from an upstream `decompose/class-gradients` artifact. */
export const PIECE_OPERATORS = ['a1', 'a2', 'b1', 'b2', 'a1+a2+b1'] as const;
export type SpectrumOperator = (typeof CURVATURE_OPERATORS)[number] | (typeof PIECE_OPERATORS)[number];

export interface SpectrumSlqParams {
  operator: SpectrumOperator;
  split: 'train' | 'test';
  checkpoint: number | 'final';
  lanczos_steps: number;
  start_vectors: number;
  log_spectrum: boolean;
  max_samples?: number;
  batch_size: number;
  workers: number;
  /** Shard processes per product on this machine (0: none); results equal in-thread to float64 rounding. */
  processes: number;
  /** Shards per product served by `specpipe worker --products` over Redis (0: none); URL from SPECPIPE_PRODUCTS_REDIS. */
  redis_shards: number;
  grid_size: number;
  /** The k largest eigenpairs by thick-restart Lanczos, with their residuals ‖Av − λv‖ (0: none). */
  top_k: number;
  /** Product budget of the top-k search (default 20·k + 40). */
  top_k_matvecs?: number;
  /** SLQ of A − Σ_{i≤k} λ_i v_i v_iᵀ over the top-k pairs (the bulk); 0: A itself. */
  deflate: number;
  /** Hutch++ estimate of tr A with its standard error. */
  trace: boolean;
  trace_matvecs: number;
}

/** Spectrum artifact files (Arrow). */
export const SPECTRUM_FILES = {
  /** nodes, weights: the SLQ measure Σ_j w_j δ(λ − θ_j) over all start vectors (weights sum to 1). */
  measure: 'spectrum.arrow',
  /** x, y: the smoothed density on a grid (Papyan's Gaussian kernel). */
  density: 'density.arrow',
  /** run, nodes, weights: each start vector's quadrature. */
  runs: 'runs.arrow',
  /** x, y per sign of λ: density of |λ| from the log-spectrum. */
  logPositive: 'log_density_positive.arrow',
  logNegative: 'log_density_negative.arrow',
  /** value, residual, converged: the top-k eigenpairs (when top_k > 0). */
  outliers: 'outliers.arrow',
} as const;

const CLAIM_OF: Record<string, string> = {
  hessian: 'a',
  residual: 'b',
  ggn: 'c',
  a1: 'c',
  a2: 'c',
  b1: 'f',
  b2: 'f',
  'a1+a2+b1': 'c',
};

/** The decompose/class-gradients artifact among the needs, if any. */
function decomposeUpstream(ctx: StageContext<unknown>): UpstreamArtifact | undefined {
  return Object.values(ctx.needs).find((u) => u.kind === 'decompose/class-gradients');
}

/** The report's dataset tag of a stage: its upstream data stage's kind without "data/" ("mnist", "fashion-mnist", "cifar10"…). */
export function datasetTag(ctx: StageContext<unknown>): string | undefined {
  try {
    const m = JSON.parse(readFileSync(join(findDatasetArtifact(ctx).dir, 'manifest.json'), 'utf8')) as { kind?: string };
    return m.kind?.replace(/^data\//, '');
  } catch {
    return undefined;
  }
}

/** Report tags of an analysed net: dataset (its data stage's kind without "data/"), model kind, checkpoint epoch, training samples per class. */
export function reportSeriesTags(ctx: StageContext<unknown>, train: UpstreamArtifact, epoch: number): SeriesTags {
  const dataset = datasetTag(ctx);
  const tp = train.params as unknown as TrainSgdParams;
  const raw = tp.model as unknown;
  const model =
    typeof raw === 'string'
      ? raw.split(/[\s:(]/)[0]
      : typeof raw === 'object' && raw !== null && typeof (raw as { kind?: unknown }).kind === 'string'
        ? (raw as { kind: string }).kind
        : undefined;
  return {
    ...(dataset !== undefined && { dataset }),
    ...(model !== undefined && model !== '' && { model }),
    epoch,
    ...(tp.train_per_class !== undefined && { samplesPerClass: tp.train_per_class }),
  };
}

/**
 * `spectrum/slq`: SLQ density (Papyan 2020, Sec. 3; math.md §4) of one operator of a train/sgd
 * checkpoint: Hess, G or H = Hess − G averaged over the training subset or the test subset the net
 * was evaluated on; or one of Papyan's pieces A1, A2, B1, B2 = G − A1 − A2 − B1, A1+A2+B1 of G
 * (math.md §3) read from the `decompose/class-gradients` instance it needs (then the samples,
 * split and checkpoint are that instance's, and its own `split`/`checkpoint` are not used).
 * Optional: the top-k eigenpairs with residuals (`top_k`), SLQ of the deflated operator
 * A − Σ_{i≤k} λ_i v_i v_iᵀ (`deflate: k`, the bulk), a Hutch++ trace with standard error
 * (`trace`), the log-spectrum (`log_spectrum`). Writes report-fragment.json for the report.
 */
export const spectrumSlqStage: StageKind<SpectrumSlqParams> = {
  kind: 'spectrum/slq',
  version: 3,
  description:
    'Stochastic Lanczos quadrature (+ top-k, deflation, Hutch++ trace) of hessian | ggn | residual of a trained checkpoint, or of a piece a1 | a2 | b1 | b2 of G.',
  paramsSchema: loadSchema('stages/spectrum-slq.schema.json'),
  usesBackend: true,
  // Same products up to float64 summation order (test/curvature/dataParallel.test.ts, processEngine.test.ts).
  executionParams: ['workers', 'processes', 'redis_shards'],
  outputs: {
    ...Object.fromEntries(Object.values(SPECTRUM_FILES).map((f) => [f, 'Arrow table'])),
    'report-fragment.json': 'report fragment',
  },
  async run(ctx) {
    const p = ctx.params;
    const { Curvature } = await import('../curvature/curvatureOperators.js');
    const { slqDensity } = await import('../linalg/slq.js');
    const { writeArrowFile } = await import('../store/arrowFile.js');
    const { spectrumSeriesFromSlq } = await import('../report/spectrumSeries.js');
    const { REPORT_FRAGMENT_FILE } = await import('../report/reportFragment.js');

    const isPiece = (PIECE_OPERATORS as readonly string[]).includes(p.operator);
    const train = trainUpstream(ctx);
    const tp = train.params as unknown as TrainSgdParams;
    const cleanup: (() => Promise<void> | void)[] = [];
    try {
      let op: LinearOperator;
      let epoch: number;
      let split: 'train' | 'test' = p.split;
      let samples: number;
      if (isPiece) {
        const dec = decomposeUpstream(ctx);
        if (dec === undefined)
          throw new SpecpipeError(
            'piece-needs-decompose',
            `${ctx.instance.name}: with.operator is "${p.operator}", a piece of G read from a decompose/class-gradients artifact; add that stage to its needs`,
          );
        const dp = dec.params as {
          split?: 'train' | 'test';
          checkpoint?: number | 'final';
          samples_per_class?: number;
          batch_size?: number;
          classes?: number[];
        };
        split = dp.split ?? 'train';
        const saved = checkpointEpochs(tp);
        const ck = dp.checkpoint ?? 'final';
        epoch = ck === 'final' ? saved[saved.length - 1]! : ck;
        const { pieceOperatorFromFile } = await import('../decompose/pieceOperators.js');
        const { CLASS_GRADIENTS_FILE } = await import('../decompose/decomposeArtifact.js');
        const cgPath = join(dec.dir, CLASS_GRADIENTS_FILE);
        samples = Number(dec.manifest.metrics['samples'] ?? NaN);
        let ggn: LinearOperator | undefined;
        if (p.operator === 'b2') {
          // G over exactly the decomposition's samples (its split, checkpoint, samples per class, classes).
          const loaded = await loadTrainedProblem(ctx, {
            checkpoint: ck,
            split,
            ...(dp.samples_per_class !== undefined && { samplesPerClass: dp.samples_per_class }),
            batchSize: p.batch_size,
            workers: p.workers,
            ...productSharding(p),
          });
          cleanup.push(() => loaded.dispose());
          let data = loaded.problem.data;
          if (dp.classes !== undefined) {
            const { selectSamples } = await import('../data/batches.js');
            const keep = new Set(dp.classes);
            const idx: number[] = [];
            data.labels.forEach((l, i) => keep.has(l) && idx.push(i));
            data = selectSamples(data, idx);
          }
          samples = data.shape[0];
          const curvature = await Curvature.open({ ...loaded.problem, data });
          cleanup.push(() => curvature.close());
          ggn = curvature.operator('ggn');
        }
        op = pieceOperatorFromFile(cgPath, p.operator as (typeof PIECE_OPERATORS)[number], ggn);
      } else {
        const loaded = await loadTrainedProblem(ctx, {
          checkpoint: p.checkpoint,
          split: p.split,
          ...(p.max_samples !== undefined && { maxSamples: p.max_samples }),
          batchSize: p.batch_size,
          workers: p.workers,
          ...productSharding(p),
        });
        cleanup.push(() => loaded.dispose());
        epoch = loaded.epoch;
        samples = loaded.problem.data.shape[0];
        const curvature = await Curvature.open(loaded.problem);
        cleanup.push(() => curvature.close());
        op = curvature.operator(p.operator as (typeof CURVATURE_OPERATORS)[number]);
      }
      const tags = reportSeriesTags(ctx, train, epoch);
      const k = Math.max(p.top_k, p.deflate);
      const kBudget = k > 0 ? (p.top_k_matvecs ?? 20 * k + 40) : 0;
      const total = p.lanczos_steps * p.start_vectors + kBudget + 2 * k + (p.trace ? p.trace_matvecs : 0);
      let done = 0;
      const note = `(${p.operator}, ${split}, epoch ${epoch})`;
      const counted: LinearOperator = {
        size: op.size,
        symmetric: true,
        name: op.name ?? p.operator,
        matvec: async (v) => {
          const r = await op.matvec(v);
          done++;
          ctx.progress({ done: Math.min(done, total), total, unit: 'product', note });
          return r;
        },
      };

      // Top-k eigenpairs (outliers) with residuals, SLQ and the Hutch++ trace run concurrently (SLQ of
      // the deflated operator after the top-k it needs): the operator answers their products that
      // arrive together as one block (src/linalg/blockMatvec.ts). Each result is what it would be alone.
      type Pair = { value: number; residual: number; converged: boolean; vector?: Float64Array };
      const topK = async (): Promise<Pair[]> => {
        if (k === 0) return [];
        const { topEigenpairs } = await import('../linalg/outliers.js');
        const r = await topEigenpairs(counted, k, { maxMatvecs: kBudget, seed: ctx.seed, vectors: p.deflate > 0, tol: 1e-4 });
        return r.pairs.map((x) => ({
          value: x.value,
          residual: x.residual,
          converged: x.converged,
          ...(x.vector !== undefined && { vector: x.vector }),
        }));
      };
      const deflated = p.deflate > 0;
      const pairsFirst = deflated ? await topK() : undefined;
      let analysed: LinearOperator = counted;
      if (pairsFirst !== undefined) {
        const { deflate } = await import('../linalg/operatorAlgebra.js');
        const use = pairsFirst.slice(0, p.deflate).filter((x) => x.vector !== undefined) as {
          value: number;
          vector: Float64Array;
        }[];
        analysed = deflate(counted, use);
      }
      const opName = deflated ? `${p.operator}-deflated` : p.operator;
      const traceOf = async (): Promise<{ value: number; stderr: number; matvecs: number } | undefined> => {
        if (!p.trace) return undefined;
        const { hutchPlusPlusTrace } = await import('../linalg/traces.js');
        const t = await hutchPlusPlusTrace(analysed, { matvecs: p.trace_matvecs, seed: ctx.seed });
        return { value: t.value, stderr: t.stderr, matvecs: t.matvecs };
      };
      const [pairs, res, trace] = await Promise.all([
        pairsFirst ?? topK(),
        slqDensity(analysed, {
          steps: p.lanczos_steps,
          startVectors: p.start_vectors,
          seed: ctx.seed,
          gridSize: p.grid_size,
        }),
        traceOf(),
      ]);
      const m = res.measure;
      const meta: Record<string, string> = {
        operator: opName,
        split,
        epoch: String(epoch),
        parameters: String(op.size),
        samples: String(samples),
        steps: String(p.lanczos_steps),
        ...(pairs.length > 0 && { outliers: JSON.stringify(pairs.map((x) => x.value)) }),
        ...(deflated && { deflated: String(p.deflate) }),
      };
      writeArrowFile(join(ctx.outDir, SPECTRUM_FILES.measure), { nodes: m.nodes, weights: m.weights }, meta);
      writeArrowFile(
        join(ctx.outDir, SPECTRUM_FILES.density),
        { x: res.density.x, y: res.density.y },
        { ...meta, sigma: String(res.sigma) },
      );
      const runIdx: number[] = [];
      const runNodes: number[] = [];
      const runWeights: number[] = [];
      res.runs.forEach((r, i) => r.nodes.forEach((x, j) => (runIdx.push(i), runNodes.push(x), runWeights.push(r.weights[j]!))));
      writeArrowFile(
        join(ctx.outDir, SPECTRUM_FILES.runs),
        { run: Int32Array.from(runIdx), nodes: Float64Array.from(runNodes), weights: Float64Array.from(runWeights) },
        meta,
      );
      const roles: Record<string, 'spectrum' | 'table' | 'data'> = {
        [SPECTRUM_FILES.measure]: 'spectrum',
        [SPECTRUM_FILES.density]: 'table',
        [SPECTRUM_FILES.runs]: 'table',
      };
      if (pairs.length > 0) {
        writeArrowFile(
          join(ctx.outDir, SPECTRUM_FILES.outliers),
          {
            value: Float64Array.from(pairs, (x) => x.value),
            residual: Float64Array.from(pairs, (x) => x.residual),
            converged: Int32Array.from(pairs, (x) => (x.converged ? 1 : 0)),
          },
          meta,
        );
        roles[SPECTRUM_FILES.outliers] = 'table';
      }

      let logMass: Record<string, number> = {};
      let logSpectrum: import('../linalg/logSpectrum.js').LogSpectrum | undefined;
      if (p.log_spectrum) {
        const { logSpectrumDensity } = await import('../linalg/logSpectrum.js');
        const ls = logSpectrumDensity(m, { steps: p.lanczos_steps });
        logSpectrum = ls;
        // A half without eigenvalues (G is PSD: no negative half) has no file; its mass is in the metrics.
        for (const [file, half] of [
          [SPECTRUM_FILES.logPositive, ls.positive],
          [SPECTRUM_FILES.logNegative, ls.negative],
        ] as const) {
          if (half.x.length === 0) continue;
          writeArrowFile(
            join(ctx.outDir, file),
            { x: half.x, y: half.y },
            { ...meta, mass: String(half.mass), epsilon: String(ls.epsilon) },
          );
          roles[file] = 'table';
        }
        logMass = { positive_mass: ls.positive.mass, negative_mass: ls.negative.mass };
      }

      let top = -Infinity;
      let bottom = Infinity;
      let mean = 0;
      let second = 0;
      for (let j = 0; j < m.nodes.length; j++) {
        const x = m.nodes[j]!;
        top = Math.max(top, x);
        bottom = Math.min(bottom, x);
        mean += m.weights[j]! * x;
        second += m.weights[j]! * x * x;
      }
      const P = op.size;

      // The report's view: the density (+ outliers, log-spectrum, trace), the numbers behind the claims.
      const where = [
        tags.dataset,
        tags.model,
        `epoch ${epoch}`,
        tags.samplesPerClass !== undefined ? `${tags.samplesPerClass}/class` : undefined,
        split,
      ]
        .filter((x) => x !== undefined)
        .join(', ');
      const label = deflated ? `${p.operator} deflated by top ${p.deflate}` : p.operator;
      const numbers: NumberRow[] = [];
      const claim = CLAIM_OF[p.operator];
      const num = (name: string, value: number | string, note?: string): void => {
        numbers.push({
          ...(claim !== undefined && { claim }),
          name: `${name} [${where}]`,
          value,
          ...(note !== undefined && { note }),
        });
      };
      if (pairs.length > 0) {
        num(
          `top-${pairs.length} eigenvalues of ${label}`,
          pairs.map((x) => x.value.toPrecision(4)).join(', '),
          `max residual ${Math.max(...pairs.map((x) => x.residual)).toPrecision(2)}`,
        );
      }
      num(`λ_max (SLQ) of ${label}`, top);
      num(`Σλ² = P·∫λ²dμ (SLQ) of ${label}`, P * second);
      if (trace !== undefined)
        num(`tr ${label} (Hutch++, ${trace.matvecs} products)`, trace.value, `± ${trace.stderr.toPrecision(2)}`);
      const scalars: ScalarPoint[] = [];
      if (isPiece || deflated) {
        const base = { ...tags, split };
        scalars.push({ ...base, name: `λ_max(${opName})`, value: pairs[0]?.value ?? top });
        if (trace !== undefined) scalars.push({ ...base, name: `tr(${opName})`, value: trace.value });
      }
      const fragment: ReportFragment = {
        spectra: [
          spectrumSeriesFromSlq(res, {
            operator: opName,
            split,
            tags,
            ...(pairs.length > 0 && !deflated && { outliers: pairs.map((x) => x.value) }),
            ...(logSpectrum !== undefined && { logSpectrum }),
            ...(trace !== undefined && { trace: trace.value }),
          }),
        ],
        numbers,
        ...(scalars.length > 0 && { scalars }),
      };
      const { writeFileSync } = await import('node:fs');
      writeFileSync(join(ctx.outDir, REPORT_FRAGMENT_FILE), JSON.stringify(fragment) + '\n');
      roles[REPORT_FRAGMENT_FILE] = 'data';

      return {
        metrics: {
          top_eigenvalue: top,
          bottom_eigenvalue: bottom,
          /** tr ≈ P · ∫ λ dμ. */
          trace: P * mean,
          second_moment: P * second,
          matvecs: done,
          parameters: P,
          samples,
          epoch,
          ...(pairs[0] !== undefined && { lambda_1: pairs[0].value, lambda_1_residual: pairs[0].residual }),
          ...(pairs.length > 0 && { outliers_converged: pairs.filter((x) => x.converged).length }),
          ...(trace !== undefined && { trace_hutchpp: trace.value, trace_stderr: trace.stderr }),
          ...logMass,
        },
        roles,
      };
    } finally {
      for (const c of cleanup.reverse()) await c();
    }
  },
};

/** Where a stage's full-data products run besides this thread and its workers (issue 7, item 5). */
function productSharding(p: SpectrumSlqParams): Pick<ProblemSelection, 'processes' | 'redis'> {
  return {
    processes: p.processes,
    ...(p.redis_shards > 0 && {
      redis: { url: process.env['SPECPIPE_PRODUCTS_REDIS'] ?? 'redis://127.0.0.1:6379', shards: p.redis_shards },
    }),
  };
}
