import type { EmbeddingData, ExactEigenvalues, ScalarPoint, SpectrumSeries, TrainingPoint } from './reportData.js';
import type { VegaLiteSpec } from './vegaSvg.js';
import { fitPowerLaw, fitSemicircle, semicircleDensity, type PowerLawFit, type SemicircleFit } from './spectrumFits.js';
import { seedBandRows, withSeedSpread } from './seedLayers.js';

/**
 * Vega-Lite specifications of the report's panels, one function per figure, from ReportData
 * series. Densities are drawn on a log axis (Papyan's Figure 1): values below `DENSITY_FLOOR` ×
 * the series' maximum are clamped to that floor so that the curve stays continuous.
 */
export const DENSITY_FLOOR = 1e-10;
const WIDTH = 330;
const HEIGHT = 200;

const SCHEMA = 'https://vega.github.io/schema/vega-lite/v6.json';

/** Shared look: sans-serif, no view border, readable axis labels. */
const CONFIG = {
  font: 'Helvetica, Arial, sans-serif',
  view: { stroke: null },
  axis: { labelFontSize: 10, titleFontSize: 11, grid: true, gridOpacity: 0.4 },
  legend: { labelFontSize: 10, titleFontSize: 11, labelLimit: 260 },
  title: { fontSize: 12, anchor: 'start', fontWeight: 'normal' },
};

export const OPERATOR_LABEL: Record<string, string> = {
  hessian: 'Hess',
  ggn: 'G',
  residual: 'H',
  a1: 'A1',
  a2: 'A2',
  b1: 'B1',
  b2: 'B2',
};
const OPERATOR_COLOR: Record<string, string> = {
  Hess: '#222222',
  G: '#1f77b4',
  H: '#d62728',
  A1: '#2ca02c',
  A2: '#9467bd',
  B1: '#ff7f0e',
  B2: '#17becf',
};

export function operatorLabel(op: string): string {
  return OPERATOR_LABEL[op] ?? op;
}

/** The whole figure; rows with `lo`/`hi` in its data (means over seeds) add their band or error bars (src/report/seedLayers.ts). */
function top(spec: Record<string, unknown>): VegaLiteSpec {
  return { $schema: SCHEMA, config: CONFIG, background: 'white', ...withSeedSpread(spec) };
}

interface DensityRow {
  x: number;
  y: number;
  [k: string]: unknown;
}

/** (λ, max(ρ, floor)) rows of a density, floor = DENSITY_FLOOR × max ρ. */
export function densityRows(
  grid: readonly number[],
  density: readonly number[],
  extra: Record<string, unknown> = {},
): DensityRow[] {
  let max = 0;
  for (const d of density) if (Number.isFinite(d) && d > max) max = d;
  const floor = max > 0 ? max * DENSITY_FLOOR : DENSITY_FLOOR;
  const rows: DensityRow[] = [];
  // Long grids (SLQ's default is 1024 points) are thinned to ≤ MAX_PLOT_POINTS by keeping the
  // largest density of each run of consecutive points, so outlier bumps survive.
  const stride = Math.max(1, Math.ceil(grid.length / MAX_PLOT_POINTS));
  for (let start = 0; start < grid.length; start += stride) {
    let best = -1;
    for (let i = start; i < Math.min(grid.length, start + stride); i++) {
      if (!Number.isFinite(grid[i]!) || !Number.isFinite(density[i]!)) continue;
      if (best < 0 || density[i]! > density[best]!) best = i;
    }
    if (best >= 0) rows.push({ x: grid[best]!, y: Math.max(density[best]!, floor), ...extra });
  }
  return rows;
}

/** Most points drawn per density curve. */
export const MAX_PLOT_POINTS = 400;

/** A series' band across seeds as rows (src/report/seedLayers.ts), thinned and floored like its curve. */
const bandRows = (s: SpectrumSeries, extra: Record<string, unknown> = {}) =>
  seedBandRows(s, extra, { floor: DENSITY_FLOOR, maxPoints: MAX_PLOT_POINTS });

const logDensityAxis = { type: 'log', title: 'density (log)', axis: { format: '.0e', tickCount: 5 } } as const;

/** One spectrum on a log density axis, outliers marked by dashed rules and dots (Figure 1). */
function spectrumLayer(series: SpectrumSeries, title: string, color: string): Record<string, unknown> {
  const rows = [...densityRows(series.grid, series.density), ...bandRows(series)];
  const outliers = (series.outliers ?? []).map((v, k) => ({ x: v, k: k + 1 }));
  const layers: Record<string, unknown>[] = [
    {
      data: { values: rows },
      mark: { type: 'line', color, strokeWidth: 1.3, interpolate: 'linear' },
      encoding: {
        x: { field: 'x', type: 'quantitative', title: 'eigenvalue λ' },
        y: {
          field: 'y',
          type: 'quantitative',
          scale: { type: 'log' },
          ...{ title: logDensityAxis.title, axis: logDensityAxis.axis },
        },
      },
    },
  ];
  layers[0] = withSeedSpread(layers[0]!);
  if (outliers.length > 0) {
    layers.push({
      data: { values: outliers },
      mark: { type: 'rule', color: '#d62728', strokeDash: [4, 3], strokeWidth: 1, opacity: 0.8 },
      encoding: { x: { field: 'x', type: 'quantitative' } },
    });
    layers.push({
      data: { values: outliers },
      mark: { type: 'point', shape: 'triangle-down', filled: true, color: '#d62728', size: 40, yOffset: 4 },
      encoding: { x: { field: 'x', type: 'quantitative' }, y: { value: 0 } },
    });
  }
  return { title, width: WIDTH, height: HEIGHT, layer: layers };
}

/** Figure 1: train and test Hessian spectra side by side. */
export function figure1Spec(
  train: SpectrumSeries | undefined,
  test: SpectrumSeries | undefined,
  caseTitle: string,
): VegaLiteSpec {
  const panels: Record<string, unknown>[] = [];
  for (const [s, split] of [
    [train, 'train'],
    [test, 'test'],
  ] as const) {
    if (s === undefined) continue;
    const n = s.outliers?.length ?? 0;
    panels.push(
      spectrumLayer(
        s,
        `${caseTitle} — ${split} Hessian${n > 0 ? ` (${n} outliers marked ▼)` : ''}`,
        split === 'train' ? '#1f77b4' : '#ff7f0e',
      ),
    );
  }
  return top({ hconcat: panels, resolve: { scale: { x: 'independent', y: 'independent' } } });
}

/** Several operators' densities overlaid on a log density axis (Hess vs G vs H; A1, A2, B1, B2). */
export function overlaySpec(series: readonly SpectrumSeries[], title: string): VegaLiteSpec {
  const rows = series.flatMap((s) => [
    ...densityRows(s.grid, s.density, { operator: operatorLabel(s.operator) }),
    ...bandRows(s, { operator: operatorLabel(s.operator) }),
  ]);
  const names = series.map((s) => operatorLabel(s.operator));
  return top({
    title,
    width: WIDTH + 60,
    height: HEIGHT + 20,
    data: { values: rows },
    mark: { type: 'line', strokeWidth: 1.3 },
    encoding: {
      x: { field: 'x', type: 'quantitative', title: 'eigenvalue λ' },
      y: { field: 'y', type: 'quantitative', scale: { type: 'log' }, title: logDensityAxis.title, axis: logDensityAxis.axis },
      color: {
        field: 'operator',
        type: 'nominal',
        title: 'operator',
        sort: names,
        scale: { domain: names, range: names.map((n) => OPERATOR_COLOR[n] ?? '#7f7f7f') },
      },
      strokeDash: { field: 'operator', type: 'nominal', sort: names, title: 'operator' },
    },
  });
}

/** Positive log-spectrum points of H: its logSpectrum, or the positive half of its linear density. */
export function positiveLogSpectrum(h: SpectrumSeries): { grid: number[]; density: number[]; fromLinear: boolean } {
  if (h.logSpectrum !== undefined && h.logSpectrum.grid.length > 0)
    return { grid: [...h.logSpectrum.grid], density: [...h.logSpectrum.density], fromLinear: false };
  const grid: number[] = [];
  const density: number[] = [];
  h.grid.forEach((x, i) => {
    if (x > 0) {
      grid.push(x);
      density.push(h.density[i]!);
    }
  });
  return { grid, density, fromLinear: true };
}

export interface LogSpectrumFits {
  readonly powerLaw: PowerLawFit | null;
  readonly semicircle: SemicircleFit | null;
  readonly fromLinear: boolean;
}

export function logSpectrumFits(h: SpectrumSeries): LogSpectrumFits {
  const pos = positiveLogSpectrum(h);
  return {
    powerLaw: fitPowerLaw(pos.grid, pos.density),
    semicircle: fitSemicircle(h.grid, h.density, pos.grid, pos.density),
    fromLinear: pos.fromLinear,
  };
}

function fmt(x: number | undefined | null, digits = 3): string {
  if (x === undefined || x === null || !Number.isFinite(x)) return '—';
  return Math.abs(x) >= 1e4 || (Math.abs(x) < 1e-3 && x !== 0)
    ? x.toExponential(digits - 1)
    : Number(x.toPrecision(digits)).toString();
}

/** Log–log spectrum of H with a power-law fit (left) and a semicircle fit (right), fit quality in the titles. */
export function logSpectrumSpec(h: SpectrumSeries, caseTitle: string): VegaLiteSpec {
  const pos = positiveLogSpectrum(h);
  const fits = logSpectrumFits(h);
  const rows = densityRows(pos.grid, pos.density).filter((r) => r.x > 0);
  const floor = rows.reduce((m, r) => Math.min(m, r.y), Infinity);
  const xs = rows.map((r) => r.x);
  const observed = {
    data: { values: rows },
    mark: { type: 'line', color: '#d62728', strokeWidth: 1.3 },
    encoding: {
      x: {
        field: 'x',
        type: 'quantitative',
        scale: { type: 'log' },
        title: 'λ > 0 (log)',
        axis: { format: '.0e', tickCount: 5 },
      },
      y: { field: 'y', type: 'quantitative', scale: { type: 'log' }, title: logDensityAxis.title, axis: logDensityAxis.axis },
    },
  };
  const fitLine = (values: { x: number; y: number }[]) => ({
    data: { values },
    mark: { type: 'line', color: '#222', strokeDash: [5, 3], strokeWidth: 1.5 },
    encoding: { x: { field: 'x', type: 'quantitative' }, y: { field: 'y', type: 'quantitative' } },
  });
  const pl = fits.powerLaw;
  const plValues =
    pl === null
      ? []
      : xs
          .filter((x) => x >= pl.range[0] && x <= pl.range[1])
          .map((x) => ({ x, y: 10 ** (pl.log10Amplitude - pl.exponent * Math.log10(x)) }));
  const sc = fits.semicircle;
  const scValues =
    sc === null ? [] : xs.map((x) => ({ x, y: semicircleDensity(x, sc.center, sc.radius) })).filter((r) => r.y > floor);
  const src = fits.fromLinear ? ' (positive half of the linear density)' : '';
  const left = {
    title: {
      text: `${caseTitle} — log-spectrum of H${src}`,
      subtitle:
        pl === null
          ? 'power law: too few points to fit'
          : `power law ρ ∝ λ^−α: α = ${fmt(pl.exponent)}, R²(log ρ) = ${fmt(pl.r2)}`,
    },
    width: WIDTH,
    height: HEIGHT,
    layer: plValues.length > 1 ? [observed, fitLine(plValues)] : [observed],
  };
  const right = {
    title: {
      text: `${caseTitle} — same, semicircle fit`,
      subtitle:
        sc === null
          ? 'semicircle: no mass to fit'
          : `semicircle m = ${fmt(sc.center)}, R = ${fmt(sc.radius)}: R²(log ρ) = ${fmt(sc.r2)}`,
    },
    width: WIDTH,
    height: HEIGHT,
    layer: scValues.length > 1 ? [observed, fitLine(scValues)] : [observed],
  };
  return top({ hconcat: [left, right], resolve: { scale: { x: 'independent', y: 'independent' } } });
}

/** A1's exact eigenvalues (Gram) against G's outliers (Lanczos top-k), by rank, on a log axis. */
export function eigenvalueComparisonSpec(
  exact: readonly ExactEigenvalues[],
  gOutliers: readonly number[] | undefined,
  title: string,
): VegaLiteSpec {
  const rows: { k: number; value: number; series: string }[] = [];
  for (const e of exact) {
    const name = `${e.piece.toUpperCase()} exact (Gram)`;
    e.values.forEach((v, i) => {
      if (v > 0) rows.push({ k: i + 1, value: v, series: name });
    });
  }
  (gOutliers ?? []).forEach((v, i) => {
    if (v > 0) rows.push({ k: i + 1, value: v, series: 'G outliers (Lanczos)' });
  });
  const series = [...new Set(rows.map((r) => r.series))];
  const palette = ['#2ca02c', '#9467bd', '#ff7f0e', '#8c564b', '#1f77b4'];
  const range = series.map((s, i) => (s.startsWith('G outliers') ? '#1f77b4' : palette[i % palette.length]!));
  const enc = {
    x: { field: 'k', type: 'quantitative', title: 'rank k', axis: { tickMinStep: 1 } },
    y: {
      field: 'value',
      type: 'quantitative',
      scale: { type: 'log' },
      title: 'eigenvalue (log)',
      axis: { format: '.1e', tickCount: 5 },
    },
    color: { field: 'series', type: 'nominal', title: null, scale: { domain: series, range } },
  };
  return top({
    title,
    width: WIDTH,
    height: HEIGHT + 20,
    data: { values: rows },
    encoding: enc,
    // G's outliers: large open squares; the exact eigenvalues: small filled dots inside them when they match
    layer: [
      ...(rows.some((r) => r.series.startsWith('G outliers'))
        ? [
            {
              transform: [{ filter: "indexof(datum.series, 'G outliers') === 0" }],
              mark: { type: 'point', shape: 'square', filled: false, size: 150, strokeWidth: 1.5 },
            },
          ]
        : []),
      ...(rows.some((r) => !r.series.startsWith('G outliers'))
        ? [
            {
              transform: [{ filter: "indexof(datum.series, 'G outliers') !== 0" }],
              mark: { type: 'point', shape: 'circle', filled: true, size: 35 },
            },
          ]
        : []),
    ],
  });
}

/** Figure 2: {g_c} large and labelled, {g_cc'} small, coloured by true class c. */
export function embeddingSpec(e: EmbeddingData, title: string): VegaLiteSpec {
  const classes = [...new Set(e.points.map((p) => p.c))].sort((a, b) => a - b);
  const rows = e.points.map((p) => ({ ...p, cls: String(p.c) }));
  const color = {
    field: 'cls',
    type: 'nominal',
    title: 'class c',
    sort: classes.map(String),
    scale: { scheme: classes.length <= 10 ? 'category10' : 'tableau20' },
  };
  const axis = { title: null, labels: false, ticks: false, grid: false, domain: false };
  const enc = {
    x: { field: 'x', type: 'quantitative', axis, scale: { zero: false } },
    y: { field: 'y', type: 'quantitative', axis, scale: { zero: false } },
  };
  return top({
    title: {
      text: title,
      subtitle: `${e.method === 'tsne' ? 't-SNE' : 'UMAP'}: large labelled dots g_c, small dots g_cc′ (labelled c–c′)`,
    },
    width: WIDTH + 80,
    height: WIDTH,
    data: { values: rows },
    encoding: enc,
    layer: [
      {
        transform: [{ filter: "datum.kind !== 'class'" }],
        mark: { type: 'circle', size: 28, opacity: 0.75 },
        encoding: { color },
      },
      {
        transform: [{ filter: "datum.kind !== 'class'" }],
        mark: { type: 'text', fontSize: 7, dy: -7, color: '#666' },
        encoding: { text: { field: 'label' } },
      },
      {
        transform: [{ filter: "datum.kind === 'class'" }],
        mark: { type: 'circle', size: 260, opacity: 1, stroke: '#000', strokeWidth: 1.2 },
        encoding: { color },
      },
      {
        transform: [{ filter: "datum.kind === 'class'" }],
        mark: { type: 'text', fontSize: 13, fontWeight: 'bold', dy: -15 },
        encoding: { text: { field: 'label' } },
      },
    ],
  });
}

/** Dynamics: one operator's density, a line per checkpoint (colour = epoch), a column per sample size. */
export function dynamicsSpectraSpec(series: readonly SpectrumSeries[], title: string): VegaLiteSpec {
  const rows = series.flatMap((s) => [
    ...densityRows(s.grid, s.density, { epoch: s.epoch ?? 0, spc: s.samplesPerClass ?? 0 }),
    ...bandRows(s, { epoch: s.epoch ?? 0, spc: s.samplesPerClass ?? 0 }),
  ]);
  return top({
    title,
    data: { values: rows },
    facet: { column: { field: 'spc', type: 'ordinal', title: 'samples per class' } },
    resolve: { scale: { x: 'independent', y: 'independent' } },
    spec: {
      width: 260,
      height: 180,
      mark: { type: 'line', strokeWidth: 1.2 },
      encoding: {
        x: { field: 'x', type: 'quantitative', title: 'eigenvalue λ' },
        y: { field: 'y', type: 'quantitative', scale: { type: 'log' }, title: logDensityAxis.title, axis: logDensityAxis.axis },
        color: { field: 'epoch', type: 'ordinal', title: 'epoch', scale: { scheme: 'viridis' } },
      },
    },
  });
}

/** Dynamics: two (or more) operators overlaid, a cell per (epoch, sample size): G vs H, B1 vs B2. */
export function dynamicsGridSpec(series: readonly SpectrumSeries[], title: string): VegaLiteSpec {
  const rows = series.flatMap((s) => {
    const tags = { epoch: s.epoch ?? 0, spc: s.samplesPerClass ?? 0, operator: operatorLabel(s.operator) };
    return [...densityRows(s.grid, s.density, tags), ...bandRows(s, tags)];
  });
  const names = [...new Set(series.map((s) => operatorLabel(s.operator)))];
  return top({
    title,
    data: { values: rows },
    facet: {
      row: { field: 'epoch', type: 'ordinal', title: 'epoch' },
      column: { field: 'spc', type: 'ordinal', title: 'samples per class' },
    },
    resolve: { scale: { x: 'independent', y: 'independent' } },
    spec: {
      width: 220,
      height: 130,
      mark: { type: 'line', strokeWidth: 1.1 },
      encoding: {
        x: { field: 'x', type: 'quantitative', title: 'λ' },
        y: { field: 'y', type: 'quantitative', scale: { type: 'log' }, title: 'density', axis: { format: '.0e', tickCount: 4 } },
        color: {
          field: 'operator',
          type: 'nominal',
          title: 'operator',
          scale: { domain: names, range: names.map((n) => OPERATOR_COLOR[n] ?? '#7f7f7f') },
        },
      },
    },
  });
}

/** Dynamics: named scalars against epoch, a line per sample size, a row per scalar. */
export function scalarsSpec(points: readonly ScalarPoint[], title: string): VegaLiteSpec {
  const rows = points.map((p) => ({
    name: p.split !== undefined ? `${p.name} [${p.split}]` : p.name,
    epoch: p.epoch ?? 0,
    spc: p.samplesPerClass ?? 0,
    value: p.value,
    ...(p.spread !== undefined && { lo: p.value - p.spread.sd, hi: p.value + p.spread.sd }),
  }));
  const names = [...new Set(rows.map((r) => r.name))].sort(
    (a, b) => Number(b.startsWith('λ')) - Number(a.startsWith('λ')) || a.localeCompare(b),
  );
  return top({
    title,
    data: { values: rows },
    facet: { field: 'name', type: 'nominal', title: null, sort: names },
    columns: 3,
    resolve: { scale: { y: 'independent' } },
    spec: {
      width: 220,
      height: 140,
      mark: { type: 'line', point: true, strokeWidth: 1.3 },
      encoding: {
        x: { field: 'epoch', type: 'quantitative', title: 'epoch' },
        y: { field: 'value', type: 'quantitative', title: null, scale: { zero: false } },
        color: { field: 'spc', type: 'ordinal', title: 'samples/class', scale: { scheme: 'dark2' } },
      },
    },
  });
}

/** Training curves: loss and accuracy against epoch, train vs test, dashes per sample size. */
export function trainingSpec(points: readonly TrainingPoint[], title: string): VegaLiteSpec {
  const rows: { epoch: number; split: string; metric: string; value: number; spc: number }[] = [];
  // ±1 sd across seeds, for points that are means over seeds (src/report/seedGroups.ts)
  const sd = (mean: number, x: number | undefined) => (x !== undefined ? { lo: mean - x, hi: mean + x } : {});
  for (const p of points) {
    const spc = p.samplesPerClass ?? 0;
    if (p.loss !== undefined && Number.isFinite(p.loss))
      rows.push({ epoch: p.epoch, split: p.split, metric: 'loss', value: p.loss, spc, ...sd(p.loss, p.lossSd) });
    if (p.accuracy !== undefined && Number.isFinite(p.accuracy))
      rows.push({ epoch: p.epoch, split: p.split, metric: 'accuracy', value: p.accuracy, spc, ...sd(p.accuracy, p.accuracySd) });
  }
  return top({
    title,
    data: { values: rows },
    facet: { column: { field: 'metric', type: 'nominal', title: null, sort: ['loss', 'accuracy'] } },
    resolve: { scale: { y: 'independent' } },
    spec: {
      width: 300,
      height: 180,
      mark: { type: 'line', strokeWidth: 1.5 },
      encoding: {
        x: { field: 'epoch', type: 'quantitative', title: 'epoch' },
        y: { field: 'value', type: 'quantitative', title: null, scale: { zero: false } },
        color: {
          field: 'split',
          type: 'nominal',
          title: 'split',
          scale: { domain: ['train', 'test'], range: ['#1f77b4', '#ff7f0e'] },
        },
        strokeDash: { field: 'spc', type: 'ordinal', title: 'samples/class' },
      },
    },
  });
}
