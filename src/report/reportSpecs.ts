import type { EmbeddingData, ExactEigenvalues, ScalarPoint, SpectrumSeries, TrainingPoint } from './reportData.js';
import type { VegaLiteSpec } from './vegaSvg.js';
import { semicircleDensity } from './spectrumFits.js';
import { fitBulk, type BulkFits } from './bulkFits.js';
import { densityPanel } from './densityPanel.js';
import { floorLayers, floorDensityY, resolutionFloor, resolvedRows } from './floorRegion.js';
import { ownSigma } from './sharedKernel.js';
import { sequentialColor, variantLabel, variantTitle, variantsOf } from './variants.js';
import { withSeedSpread } from './seedLayers.js';

/**
 * Vega-Lite specifications of the report's panels, one function per figure, from ReportData
 * series. Densities are drawn on a log axis (Papyan's Figure 1) down to a resolution floor, below
 * which a shaded band replaces the curve (floorRegion.ts); curves overlaid in one panel share one
 * kernel width (sharedKernel.ts).
 */
export const PANEL_WIDTH = 330;
export const PANEL_HEIGHT = 200;
const WIDTH = PANEL_WIDTH;
const HEIGHT = PANEL_HEIGHT;

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
export const OPERATOR_COLOR: Record<string, string> = {
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

/** A top-level spec with the report's look. */
export const reportTop = top;

/** Several operators' densities overlaid at one kernel width, on a log density axis above the resolution floor. */
export function overlaySpec(series: readonly SpectrumSeries[], title: string): { spec: VegaLiteSpec; notes: readonly string[] } {
  const p = densityPanel({
    title,
    curves: series.map((s) => ({
      label: operatorLabel(s.operator),
      series: s,
      color: OPERATOR_COLOR[operatorLabel(s.operator)] ?? '#7f7f7f',
    })),
    width: WIDTH + 60,
    height: HEIGHT + 20,
    legendTitle: 'operator',
  });
  return { spec: top(p.spec), notes: p.notes };
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

/** Power law and semicircle over H's resolved bulk (bulkFits.ts). */
export function logSpectrumFits(h: SpectrumSeries): BulkFits {
  const pos = positiveLogSpectrum(h);
  const sigma = ownSigma(h) ?? (h.grid.length > 1 ? (h.grid[h.grid.length - 1]! - h.grid[0]!) / 100 : 0);
  return fitBulk({
    logGrid: pos.grid,
    logDensity: pos.density,
    sigma,
    ...(h.measure !== undefined && { measure: h.measure }),
    ...(h.steps !== undefined && { steps: h.steps }),
    ...(h.outliers !== undefined && { outliers: h.outliers }),
  });
}

function fmt(x: number | undefined | null, digits = 3): string {
  if (x === undefined || x === null || !Number.isFinite(x)) return '—';
  return Math.abs(x) >= 1e4 || (Math.abs(x) < 1e-3 && x !== 0)
    ? x.toExponential(digits - 1)
    : Number(x.toPrecision(digits)).toString();
}

/** Log–log spectrum of H with a power-law fit (left) and a semicircle fit (right) over the same resolved range. */
export function logSpectrumSpec(h: SpectrumSeries, caseTitle: string, fits: BulkFits = logSpectrumFits(h)): VegaLiteSpec {
  const pos = positiveLogSpectrum(h);
  let peak = 0;
  for (const d of pos.density) if (Number.isFinite(d) && d > peak) peak = d;
  const floor = resolutionFloor(peak);
  const rows = resolvedRows(pos.grid, pos.density, floor.value).filter((r) => r.x > 0);
  const xs = rows.map((r) => r.x);
  const xMin = Math.min(...xs);
  const xMax = Math.max(...xs);
  const xEnc = {
    field: 'x',
    type: 'quantitative',
    scale: { type: 'log', domain: [xMin, xMax], nice: false },
    title: 'λ > 0 (log)',
    axis: { format: '.0e', tickCount: 5 },
  };
  const observed = {
    data: { values: rows },
    mark: { type: 'line', color: '#d62728', strokeWidth: 1.3 },
    encoding: {
      x: xEnc,
      y: floorDensityY(floor.value),
      detail: { field: 'seg', type: 'nominal' },
    },
  };
  const r = fits.range;
  const rangeLayer = {
    data: { values: [{ x0: Math.max(r.lo, xMin), x1: Math.min(r.hi, xMax) }] },
    mark: { type: 'rect', color: '#2ca02c', opacity: 0.08 },
    encoding: { x: { field: 'x0', type: 'quantitative' }, x2: { field: 'x1' } },
  };
  const fitLine = (values: { x: number; y: number }[]) => ({
    data: { values },
    mark: { type: 'line', color: '#222', strokeDash: [5, 3], strokeWidth: 1.5 },
    encoding: { x: { field: 'x', type: 'quantitative' }, y: { field: 'y', type: 'quantitative' } },
  });
  const inFit = xs.filter((x) => x >= r.lo && x <= r.hi);
  const pl = fits.powerLaw;
  const plValues = pl === null ? [] : inFit.map((x) => ({ x, y: 10 ** (pl.log10Amplitude - pl.exponent * Math.log10(x)) }));
  const sc = fits.semicircle;
  const scValues =
    sc === null
      ? []
      : inFit.map((x) => ({ x, y: sc.mass * semicircleDensity(x, sc.center, sc.radius) })).filter((v) => v.y > floor.value);
  const src = positiveLogSpectrum(h).fromLinear ? ' (positive half of the linear density)' : '';
  // a mean over seeds: say the fit is of that mean (the table of numbers fits each seed and averages)
  const ofMean = h.seedBand !== undefined ? `; fitted to the mean density of ${h.seedBand.n} seeds` : '';
  const range = `fit range ${r.lo.toPrecision(2)} ≤ |λ| ≤ ${r.hi.toPrecision(2)} (shaded green)${ofMean}`;
  const base = [rangeLayer, ...floorLayers(floor.value, xMin, xMax), observed];
  const left = {
    title: {
      text: `${caseTitle} — log-spectrum of H${src}`,
      subtitle: [
        pl === null
          ? 'power law: too few resolved points to fit'
          : `power law ρ ∝ λ^−α: α = ${fmt(pl.exponent)} [${fmt(pl.interval[0])}, ${fmt(pl.interval[1])}] 95%, R²(log ρ) = ${fmt(pl.r2)}`,
        range,
      ],
    },
    width: WIDTH,
    height: HEIGHT,
    layer: plValues.length > 1 ? [...base, fitLine(plValues)] : base,
  };
  const right = {
    title: {
      text: `${caseTitle} — same range, semicircle fit`,
      subtitle: [
        sc === null
          ? 'semicircle: no mass to fit in the range'
          : `semicircle m = ${fmt(sc.center)}, R = ${fmt(sc.radius)}: R²(log ρ) = ${fmt(sc.r2)}`,
        range,
      ],
    },
    width: WIDTH,
    height: HEIGHT,
    layer: scValues.length > 1 ? [...base, fitLine(scValues)] : base,
  };
  return top({ hconcat: [left, right], resolve: { scale: { x: 'independent', y: 'independent', color: 'independent' } } });
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

/** Epochs present, ascending. */
function epochList(xs: readonly { epoch?: number }[]): number[] {
  return [...new Set(xs.map((s) => s.epoch ?? 0))].sort((a, b) => a - b);
}

export interface DynamicsSpec {
  readonly spec: VegaLiteSpec;
  readonly notes: readonly string[];
  /** Rows of panels (variants). */
  readonly rows: number;
}

/**
 * Dynamics of one operator: small multiples, a panel per epoch (colour dark → light with the epoch,
 * a sequential scale), a row per variant; each panel its own x range and kernel width, so an early,
 * narrow spectrum is not squeezed beside a late, wide one.
 */
export function dynamicsSpectraSpec(series: readonly SpectrumSeries[], title: string): DynamicsSpec {
  const epochs = epochList(series);
  const variants = variantsOf(series);
  const notes = new Set<string>();
  const rows = variants.map((v) => ({
    hconcat: epochs.flatMap((e, i) => {
      const s = series.find((x) => (x.epoch ?? 0) === e && variantLabel(x) === v);
      if (s === undefined) return [];
      const sigma = ownSigma(s);
      const p = densityPanel({
        title: {
          text: `epoch ${e}${v !== '' ? ` · ${v}` : ''}`,
          ...(sigma !== undefined && { subtitle: `σ = ${sigma.toPrecision(2)}` }),
        },
        curves: [{ label: `epoch ${e}`, series: s, color: sequentialColor(i, epochs.length) }],
        width: 190,
        height: 130,
      });
      p.notes.filter((n) => n.startsWith('Shaded')).forEach((n) => notes.add(n.replace(/ \(.*\);/, ';')));
      return [p.spec];
    }),
    resolve: { scale: { x: 'independent', y: 'independent', color: 'independent' } },
  }));
  return {
    spec: top({ title, vconcat: rows, resolve: { scale: { color: 'independent' } } }),
    notes: [
      'Shaded in each panel: below resolution (1/100 of one eigenvalue smoothed with that panel’s kernel, or 10⁻⁶ of its peak); no curve is drawn there.',
    ],
    rows: rows.length,
  };
}

/**
 * Dynamics of two or more operators overlaid (G vs H; B1 vs B2), a panel per epoch and a row per
 * variant; the curves of a panel share one kernel width, exact low-rank eigenvalues (B1) are stems.
 */
export function dynamicsGridSpec(
  series: readonly SpectrumSeries[],
  exact: readonly ExactEigenvalues[],
  title: string,
): DynamicsSpec {
  const epochs = epochList([...series, ...exact]);
  const variants = variantsOf(series);
  const exactPieces = new Set(exact.map((e) => e.piece as string));
  const rows = variants.map((v) => ({
    hconcat: epochs.flatMap((e) => {
      const ss = series.filter((x) => (x.epoch ?? 0) === e && variantLabel(x) === v && !exactPieces.has(x.operator));
      const ex = exact.filter((x) => (x.epoch ?? 0) === e && variantLabel(x) === v);
      if (ss.length === 0) return [];
      const p = densityPanel({
        title: `epoch ${e}${v !== '' ? ` · ${v}` : ''}`,
        curves: ss.map((s) => ({
          label: operatorLabel(s.operator),
          series: s,
          color: OPERATOR_COLOR[operatorLabel(s.operator)] ?? '#7f7f7f',
        })),
        stems: ex.map((x) => ({
          label: `${operatorLabel(x.piece)} exact`,
          color: OPERATOR_COLOR[operatorLabel(x.piece)] ?? '#7f7f7f',
          values: x.values,
        })),
        width: 200,
        height: 130,
        legendTitle: 'operator',
      });
      const sig = p.sigma !== undefined ? ` (σ = ${p.sigma.toPrecision(2)})` : '';
      return [{ ...p.spec, title: `${String(p.spec['title'])}${sig}` }];
    }),
    resolve: { scale: { x: 'independent', y: 'independent', color: 'independent' } },
  }));
  return {
    spec: top({ title, vconcat: rows, resolve: { scale: { color: 'independent' } } }),
    notes: [
      'Shaded in each panel: below resolution; no curve is drawn there.',
      ...(exact.length > 0 ? ["Stems: exact eigenvalues, each as tall as one eigenvalue smoothed with the panel's kernel."] : []),
    ],
    rows: rows.length,
  };
}

/** Dynamics: named scalars against epoch + 1 on a log axis, a line per variant, a panel per scalar. */
export function scalarsSpec(all: readonly ScalarPoint[], title: string): VegaLiteSpec {
  // a scalar measured at one epoch only has no dynamics (it is in the table of numbers)
  const epochsOf = new Map<string, Set<number>>();
  for (const p of all)
    epochsOf.set(p.name + (p.split ?? ''), (epochsOf.get(p.name + (p.split ?? '')) ?? new Set()).add(p.epoch ?? 0));
  const points = all.filter((p) => (epochsOf.get(p.name + (p.split ?? ''))?.size ?? 0) > 1);
  const vt = variantTitle(points);
  const rows = points.map((p) => ({
    name: p.split !== undefined ? `${p.name} [${p.split}]` : p.name,
    epoch1: (p.epoch ?? 0) + 1,
    variant: variantLabel(p),
    value: p.value,
    ...(p.spread !== undefined && { lo: p.value - p.spread.sd, hi: p.value + p.spread.sd }),
  }));
  const names = [...new Set(rows.map((r) => r.name))].sort(
    (a, b) => Number(b.startsWith('λ')) - Number(a.startsWith('λ')) || a.localeCompare(b),
  );
  const epochs = [...new Set(rows.map((r) => r.epoch1))].sort((a, b) => a - b);
  // one panel per scalar: a log value axis where all its values are positive (small late values stay visible)
  const panel = (name: string): Record<string, unknown> => {
    const positive = rows.filter((r) => r.name === name).every((r) => r.value > 0);
    // on a log axis an error bar reaching 0 or below is cut at a tenth of its mean
    const mine = rows
      .filter((r) => r.name === name)
      .map((r) => (positive && r.lo !== undefined && r.lo <= 0 ? { ...r, lo: r.value / 10 } : r));
    return {
      title: { text: name, fontSize: 11 },
      width: 220,
      height: 140,
      data: { values: mine },
      mark: { type: 'line', point: true, strokeWidth: 1.3 },
      encoding: {
        x: {
          field: 'epoch1',
          type: 'quantitative',
          title: 'epoch + 1 (log)',
          scale: { type: 'log', domain: [epochs[0]!, epochs[epochs.length - 1]!], nice: false },
          axis: { values: epochs },
        },
        y: {
          field: 'value',
          type: 'quantitative',
          title: positive ? 'log scale' : null,
          scale: positive ? { type: 'log' } : { zero: false },
          ...(positive && { axis: { format: '.1e', tickCount: 4 } }),
        },
        ...(vt !== null
          ? { color: { field: 'variant', type: 'nominal', title: vt, scale: { scheme: 'dark2' } } }
          : { color: { value: '#1f77b4' } }),
      },
    };
  };
  // each panel with its ±1 sd error bars across seeds where its points are means over seeds (seedLayers.ts)
  return top({ title, concat: names.map((n) => withSeedSpread(panel(n))), columns: 3 });
}

/** Training curves: loss and accuracy against epoch, train vs test, dashes per variant (the pipeline's axes). */
export function trainingSpec(points: readonly TrainingPoint[], title: string): VegaLiteSpec {
  const vt = variantTitle(points);
  const rows: { epoch: number; split: string; metric: string; value: number; variant: string; lo?: number; hi?: number }[] = [];
  // ±1 sd across seeds, for points that are means over seeds (src/report/seedGroups.ts)
  const sd = (mean: number, x: number | undefined) => (x !== undefined ? { lo: mean - x, hi: mean + x } : {});
  for (const p of points) {
    const variant = variantLabel(p);
    if (p.loss !== undefined && Number.isFinite(p.loss))
      rows.push({ epoch: p.epoch, split: p.split, metric: 'loss', value: p.loss, variant, ...sd(p.loss, p.lossSd) });
    if (p.accuracy !== undefined && Number.isFinite(p.accuracy))
      rows.push({
        epoch: p.epoch,
        split: p.split,
        metric: 'accuracy',
        value: p.accuracy,
        variant,
        ...sd(p.accuracy, p.accuracySd),
      });
  }
  return top({
    title,
    data: { values: rows },
    facet: { column: { field: 'metric', type: 'nominal', title: null, sort: ['loss', 'accuracy'] } },
    resolve: { scale: { y: 'independent' } },
    spec: {
      width: 300,
      height: 180,
      mark: { type: 'line', strokeWidth: 1.5, point: { size: 18 } },
      encoding: {
        x: { field: 'epoch', type: 'quantitative', title: 'epoch', axis: { format: 'd', tickMinStep: 1 } },
        y: { field: 'value', type: 'quantitative', title: null, scale: { zero: false } },
        color: {
          field: 'split',
          type: 'nominal',
          title: 'split',
          scale: { domain: ['train', 'test'], range: ['#1f77b4', '#ff7f0e'] },
        },
        ...(vt !== null
          ? { strokeDash: { field: 'variant', type: 'nominal', title: vt } }
          : { detail: { field: 'split', type: 'nominal' } }),
      },
    },
  });
}
