import type {
  ReportData,
  SpectrumSeries,
  ExactEigenvalues,
  EmbeddingData,
  TrainingPoint,
  NumberRow,
} from '../../src/report/reportData.js';
import { Rng } from '../../src/util/random.js';

/**
 * Synthetic ReportData with the shapes the paper describes: a bulk near zero plus C outliers for
 * the Hessian and G, a symmetric heavy-tailed H, and pieces A1 (C outliers), A2, B1, B2 (bulk).
 * Densities are Gaussian-kernel mixtures over chosen "eigenvalues", as SLQ would give.
 */
function kernelDensity(
  eigs: readonly number[],
  weights: readonly number[],
  lo: number,
  hi: number,
  points = 240,
  sigma?: number,
): { grid: number[]; density: number[]; measure: { nodes: number[]; weights: number[] }; sigma: number; parameters: number } {
  const s = sigma ?? (hi - lo) / 120;
  const grid = Array.from({ length: points }, (_, i) => lo + ((hi - lo) * i) / (points - 1));
  const density = grid.map((x) =>
    eigs.reduce((acc, e, k) => acc + (weights[k]! * Math.exp(-((x - e) ** 2) / (2 * s * s))) / (s * Math.sqrt(2 * Math.PI)), 0),
  );
  const total = weights.reduce((a, b) => a + b, 0);
  return { grid, density, measure: { nodes: [...eigs], weights: weights.map((w) => w / total) }, sigma: s, parameters: 5000 };
}

function bulkPlusOutliers(rng: Rng, scale: number, outliers: number[], signed = false): ReturnType<typeof kernelDensity> {
  const bulk = Array.from({ length: 400 }, () => {
    const x = scale * Math.abs(rng.normal()) ** 2;
    return signed ? (rng.uniform() < 0.5 ? -x : x) : x;
  });
  const eigs = [...bulk, ...outliers];
  const w = eigs.map((_, k) => (k < bulk.length ? (1 - 1e-3 * outliers.length) / bulk.length : 1e-3));
  const hi = Math.max(scale * 6, ...outliers) * 1.08;
  return kernelDensity(eigs, w, signed ? -hi / 2 : -0.05 * hi, hi);
}

export function syntheticReportData(seed = 1, C = 10): ReportData {
  const rng = new Rng(seed);
  const spectra: SpectrumSeries[] = [];
  const exactEigenvalues: ExactEigenvalues[] = [];
  const tags = { dataset: 'mnist', model: 'mlp' };
  for (const spc of [50, 200]) {
    for (const epoch of [0, 3, 10]) {
      const growth = 1 + epoch / 3;
      const outl = Array.from({ length: C }, (_, k) => growth * (12 - k * 0.8) * (1 + 0.05 * rng.normal()));
      for (const split of ['train', 'test'] as const) {
        const t = { ...tags, epoch, samplesPerClass: spc, axes: { train_per_class: spc }, split };
        const hess = bulkPlusOutliers(rng, 0.3 * growth, outl);
        spectra.push({ ...t, operator: 'hessian', ...hess, outliers: outl, trace: 40 * growth });
        spectra.push({
          ...t,
          operator: 'ggn',
          ...bulkPlusOutliers(rng, 0.2 * growth, outl),
          outliers: outl.map((x) => x * 0.98),
          trace: 35 * growth,
        });
        const h = bulkPlusOutliers(rng, 0.15 * growth * (spc / 100), [], true);
        const pos = h.grid.filter((x) => x > 0);
        const logGrid = Array.from({ length: 80 }, (_, i) => 10 ** (-4 + (4.5 * i) / 79));
        spectra.push({
          ...t,
          operator: 'residual',
          ...h,
          trace: 5 * growth,
          logSpectrum: { grid: logGrid, density: logGrid.map((x) => 0.3 * x ** -0.7 * Math.exp(-x / (2 * growth))) },
        });
        void pos;
        spectra.push({ ...t, operator: 'a1', ...bulkPlusOutliers(rng, 0.001, outl.slice(0, C)) });
        spectra.push({
          ...t,
          operator: 'a2',
          ...bulkPlusOutliers(
            rng,
            0.001,
            outl.slice(0, C).map((x) => x * 0.05),
          ),
        });
        spectra.push({ ...t, operator: 'b1', ...bulkPlusOutliers(rng, 0.12 * growth, []) });
        spectra.push({ ...t, operator: 'b2', ...bulkPlusOutliers(rng, (0.2 * growth) / (epoch + 1), []) });
        exactEigenvalues.push({ ...t, piece: 'a1', values: outl.map((x) => x * 0.97) });
        exactEigenvalues.push({
          ...t,
          piece: 'b1',
          values: Array.from({ length: C * (C - 2) }, (_, k) => 2 * Math.exp(-k / 10)),
        });
      }
    }
  }
  const centres = Array.from(
    { length: C },
    (_, c) => [10 * Math.cos((2 * Math.PI * c) / C), 10 * Math.sin((2 * Math.PI * c) / C)] as const,
  );
  const points: EmbeddingData['points'][number][] = [];
  for (let c = 0; c < C; c++) points.push({ kind: 'class', c, cp: c, label: String(c), x: centres[c]![0], y: centres[c]![1] });
  for (let c = 0; c < C; c++) {
    for (let cp = 0; cp < C; cp++) {
      if (cp === c) continue;
      points.push({
        kind: 'cross',
        c,
        cp,
        label: `${c}–${cp}`,
        x: centres[c]![0] + 2.5 * rng.normal(),
        y: centres[c]![1] + 2.5 * rng.normal(),
      });
    }
  }
  const embeddings: EmbeddingData[] = [
    { ...tags, epoch: 10, samplesPerClass: 200, axes: { train_per_class: 200 }, method: 'tsne', split: 'train', points },
  ];
  const training: TrainingPoint[] = [];
  for (const spc of [50, 200]) {
    for (let epoch = 0; epoch <= 10; epoch++) {
      training.push({
        ...tags,
        samplesPerClass: spc,
        axes: { train_per_class: spc },
        epoch,
        split: 'train',
        loss: 2.3 * Math.exp(-epoch / 3),
        accuracy: 1 - 0.9 * Math.exp(-epoch / 2),
      });
      training.push({
        ...tags,
        samplesPerClass: spc,
        axes: { train_per_class: spc },
        epoch,
        split: 'test',
        loss: 2.3 * Math.exp(-epoch / 4) + 0.1,
        accuracy: 0.95 - 0.85 * Math.exp(-epoch / 2),
      });
    }
  }
  const numbers: NumberRow[] = [
    { claim: 'a', name: 'outliers above the bulk edge, train Hessian', value: C, note: 'synthetic' },
    { claim: 'c', name: 'max relative gap |λ_k(A1) − λ_k(G)| / λ_k(G)', value: 0.0312 },
    { claim: 'b', name: 'tr H / tr Hess', value: 0.125 },
  ];
  // a second case with only a train Hessian: that panel alone, no empty placeholders
  spectra.push({
    dataset: 'fashion-mnist',
    model: 'lenet',
    epoch: 1,
    samplesPerClass: 20,
    operator: 'hessian',
    split: 'train',
    ...bulkPlusOutliers(rng, 0.5, [8, 6, 5]),
    outliers: [8, 6, 5],
  });
  return {
    title: 'specpipe report — synthetic data',
    runId: 'run-synthetic-0001',
    pipeline: 'pipelines/mnist-mlp.yaml',
    createdAt: '2026-11-30T12:00:00Z',
    reproduce: ['npx specpipe run pipelines/mnist-mlp.yaml', 'npx specpipe report run-synthetic-0001'],
    notes: ['Synthetic data shaped like the paper’s findings, for the report test.'],
    spectra,
    exactEigenvalues,
    embeddings,
    training,
    numbers,
  };
}
