import { join } from 'node:path';
import { loadSchema } from '../pipeline/schemaFiles.js';
import type { LinearOperator } from '../linalg/operator.js';
import type { StageKind } from './registry.js';
import { loadTrainedProblem } from './trainedProblem.js';

export interface SpectrumSlqParams {
  operator: 'hessian' | 'ggn' | 'residual';
  split: 'train' | 'test';
  checkpoint: number | 'final';
  lanczos_steps: number;
  start_vectors: number;
  log_spectrum: boolean;
  max_samples?: number;
  batch_size: number;
  workers: number;
  grid_size: number;
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
} as const;

/**
 * `spectrum/slq`: SLQ density of Hess, G or H = Hess − G of a train/sgd checkpoint, averaged over the
 * training subset or the test subset the net was evaluated on (Papyan 2020, Sec. 3; math.md §4).
 * Which checkpoint: the `checkpoint` param (an epoch the train stage saved, or "final").
 */
export const spectrumSlqStage: StageKind<SpectrumSlqParams> = {
  kind: 'spectrum/slq',
  version: 1,
  description: 'Stochastic Lanczos quadrature of a curvature operator (hessian | ggn | residual) of a trained checkpoint.',
  paramsSchema: loadSchema('stages/spectrum-slq.schema.json'),
  usesBackend: true,
  outputs: Object.fromEntries(Object.values(SPECTRUM_FILES).map((f) => [f, 'Arrow table'])),
  async run(ctx) {
    const p = ctx.params;
    const { Curvature } = await import('../curvature/curvatureOperators.js');
    const { slqDensity } = await import('../linalg/slq.js');
    const { writeArrowFile } = await import('../store/arrowFile.js');

    const loaded = await loadTrainedProblem(ctx, {
      checkpoint: p.checkpoint,
      split: p.split,
      ...(p.max_samples !== undefined && { maxSamples: p.max_samples }),
      batchSize: p.batch_size,
      workers: p.workers,
    });
    const { epoch } = loaded;
    const prepared = loaded.problem.data;
    const curvature = await Curvature.open(loaded.problem);
    try {
      const op = curvature.operator(p.operator);
      const total = p.lanczos_steps * p.start_vectors;
      let done = 0;
      const counted: LinearOperator = {
        size: op.size,
        symmetric: true,
        name: op.name ?? p.operator,
        matvec: async (v) => {
          const r = await op.matvec(v);
          done++;
          ctx.progress({ done, total, unit: 'lanczos', note: `(${p.operator}, ${p.split}, epoch ${epoch})` });
          return r;
        },
      };
      const res = await slqDensity(counted, { steps: p.lanczos_steps, startVectors: p.start_vectors, seed: ctx.seed, gridSize: p.grid_size });
      const m = res.measure;
      const meta = { operator: p.operator, split: p.split, epoch: String(epoch), parameters: String(op.size), samples: String(prepared.shape[0]) };
      writeArrowFile(join(ctx.outDir, SPECTRUM_FILES.measure), { nodes: m.nodes, weights: m.weights }, meta);
      writeArrowFile(join(ctx.outDir, SPECTRUM_FILES.density), { x: res.density.x, y: res.density.y }, { ...meta, sigma: String(res.sigma) });
      const runIdx: number[] = [];
      const runNodes: number[] = [];
      const runWeights: number[] = [];
      res.runs.forEach((r, i) => r.nodes.forEach((x, j) => (runIdx.push(i), runNodes.push(x), runWeights.push(r.weights[j]!))));
      writeArrowFile(join(ctx.outDir, SPECTRUM_FILES.runs), { run: Int32Array.from(runIdx), nodes: Float64Array.from(runNodes), weights: Float64Array.from(runWeights) }, meta);
      const roles: Record<string, 'spectrum' | 'table'> = { [SPECTRUM_FILES.measure]: 'spectrum', [SPECTRUM_FILES.density]: 'table', [SPECTRUM_FILES.runs]: 'table' };
      let logMass: Record<string, number> = {};
      if (p.log_spectrum) {
        const { logSpectrumDensity } = await import('../linalg/logSpectrum.js');
        const ls = logSpectrumDensity(m, { steps: p.lanczos_steps });
        // A half without eigenvalues (G is PSD: no negative half) has no file; its mass is in the metrics.
        for (const [file, half] of [[SPECTRUM_FILES.logPositive, ls.positive], [SPECTRUM_FILES.logNegative, ls.negative]] as const) {
          if (half.x.length === 0) continue;
          writeArrowFile(join(ctx.outDir, file), { x: half.x, y: half.y }, { ...meta, mass: String(half.mass), epsilon: String(ls.epsilon) });
          roles[file] = 'table';
        }
        logMass = { positive_mass: ls.positive.mass, negative_mass: ls.negative.mass };
      }
      let top = -Infinity;
      let bottom = Infinity;
      let mean = 0;
      for (let j = 0; j < m.nodes.length; j++) {
        top = Math.max(top, m.nodes[j]!);
        bottom = Math.min(bottom, m.nodes[j]!);
        mean += m.weights[j]! * m.nodes[j]!;
      }
      return {
        metrics: {
          top_eigenvalue: top,
          bottom_eigenvalue: bottom,
          /** tr ≈ P · ∫ λ dμ. */
          trace: op.size * mean,
          matvecs: res.matvecs,
          parameters: op.size,
          samples: prepared.shape[0],
          epoch,
          ...logMass,
        },
        roles,
      };
    } finally {
      await curvature.close();
      loaded.dispose();
    }
  },
};
