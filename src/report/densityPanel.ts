import {
  floorLayers,
  floorDensityY,
  MAX_PLOT_POINTS,
  resolvedRows,
  resolutionFloor,
  type ResolutionFloor,
} from './floorRegion.js';
import { asMeasured, fmtSigma, ownSigma, sharedKernel } from './sharedKernel.js';
import { oneEigenvaluePeak } from './floorRegion.js';
import type { SpectrumSeries } from './reportData.js';

/**
 * One density panel on a log density axis: curves (one kernel width when overlaid, sharedKernel.ts),
 * nothing drawn below the resolution floor but a shaded band (floorRegion.ts), optionally the
 * start-vector band of a single curve (one run's), for a curve that is a mean over seeds its band
 * across the seeds (pointwise min–max, each seed smoothed with the curve's kernel: a panel that
 * re-smooths at a shared width re-smooths every seed's measure at it; sharedKernel.ts), the top-k
 * outliers as dashed rules with ▼, and exact
 * eigenvalues of low-rank pieces as stems (lowRankStems in the caption's words: one stem per
 * eigenvalue, as tall as one eigenvalue smoothed with the panel's kernel).
 */
export interface PanelCurve {
  readonly label: string;
  readonly series: SpectrumSeries;
  readonly color: string;
}

export interface PanelStems {
  readonly label: string;
  readonly color: string;
  readonly values: readonly number[];
}

export interface DensityPanelInput {
  readonly title: string | { text: string; subtitle?: string };
  readonly curves: readonly PanelCurve[];
  readonly stems?: readonly PanelStems[];
  /** Outliers (top-k eigenvalues) marked on the panel. */
  readonly outliers?: readonly number[];
  /** Draw the start-vector band of a single curve (when it has one). */
  readonly band?: boolean;
  readonly width: number;
  readonly height: number;
  readonly legendTitle?: string | null;
}

export interface DensityPanelResult {
  readonly spec: Record<string, unknown>;
  readonly floor: ResolutionFloor;
  /** Kernel sentence, floor sentence, stems sentence: for the caption. */
  readonly notes: readonly string[];
  /** The common kernel width when the curves were re-smoothed. */
  readonly sigma?: number;
  /** Rows of each curve above the floor (for tests and exports). */
  readonly rows: readonly Record<string, unknown>[];
}

export function densityPanel(p: DensityPanelInput): DensityPanelResult {
  const single = p.curves.length === 1;
  // one curve: drawn as measured (its band lives on its own grid); several: one shared kernel
  const shared = single
    ? {
        sigma: ownSigma(p.curves[0]!.series),
        curves: [asMeasured(p.curves[0]!.series)],
        note: (() => {
          const s = ownSigma(p.curves[0]!.series);
          return s !== undefined ? `Gaussian kernel σ = ${fmtSigma(s)} in λ units.` : '';
        })(),
      }
    : sharedKernel(p.curves.map((c) => c.series));
  let peak = 0;
  for (const c of shared.curves) for (const d of c.density) if (Number.isFinite(d) && d > peak) peak = d;
  const P = p.curves.map((c) => c.series.parameters).find((x) => x !== undefined);
  const floor = resolutionFloor(peak, P, shared.sigma);
  const rows = shared.curves.flatMap((c, i) =>
    resolvedRows(c.grid, c.density, floor.value, { curve: p.curves[i]!.label }).map((r) => ({ ...r, seg: `${i}-${r.seg}` })),
  );
  let xMin = Infinity;
  let xMax = -Infinity;
  for (const c of shared.curves)
    if (c.grid.length > 0) ((xMin = Math.min(xMin, c.grid[0]!)), (xMax = Math.max(xMax, c.grid[c.grid.length - 1]!)));
  const stemHeight = P !== undefined && shared.sigma !== undefined ? oneEigenvaluePeak(P, shared.sigma) : undefined;
  const stemRows = (p.stems ?? []).flatMap((s) =>
    s.values
      .filter((v) => Number.isFinite(v) && v > 0)
      .map((v) => ({ x: v, y0: floor.value, y1: Math.max(stemHeight ?? peak, floor.value * 10), curve: s.label })),
  );
  for (const r of stemRows) ((xMin = Math.min(xMin, r.x)), (xMax = Math.max(xMax, r.x)));
  const labels = [...p.curves.map((c) => c.label), ...(p.stems ?? []).map((s) => s.label)];
  const colors = [...p.curves.map((c) => c.color), ...(p.stems ?? []).map((s) => s.color)];
  const color = {
    field: 'curve',
    type: 'nominal',
    title: p.legendTitle === undefined ? null : p.legendTitle,
    sort: labels,
    scale: { domain: labels, range: colors },
    ...(labels.length === 1 && { legend: null }),
  };
  const x = { field: 'x', type: 'quantitative', title: 'eigenvalue λ', scale: { domain: [xMin, xMax], nice: false } };
  const layers: Record<string, unknown>[] = [...floorLayers(floor.value, xMin, xMax)];
  const s0 = p.curves[0]?.series;
  if (single && p.band === true && s0?.band !== undefined) {
    const bandRows = s0.grid
      .map((g, i) => ({ x: g, lo: Math.max(s0.band!.lo[i]!, floor.value), hi: s0.band!.hi[i]! }))
      .filter((r) => Number.isFinite(r.hi) && r.hi >= floor.value);
    layers.push({
      data: { values: bandRows },
      mark: { type: 'area', color: p.curves[0]!.color, opacity: 0.22 },
      encoding: { x: { field: 'x', type: 'quantitative' }, y: { field: 'lo', type: 'quantitative' }, y2: { field: 'hi' } },
    });
  }
  // a mean over seeds: its band across the seeds, in its colour, above the floor (never the start-vector band)
  const seedRows = shared.curves.flatMap((c, i) => {
    const b = c.seedBand;
    if (b === undefined) return [];
    const stride = Math.max(1, Math.ceil(c.grid.length / MAX_PLOT_POINTS));
    const out: Record<string, unknown>[] = [];
    for (let k = 0; k < c.grid.length; k += stride)
      if (Number.isFinite(b.hi[k]!) && b.hi[k]! >= floor.value)
        out.push({ x: c.grid[k]!, lo: Math.max(b.lo[k]!, floor.value), hi: b.hi[k]!, curve: p.curves[i]!.label });
    return out;
  });
  const seedN = Math.max(0, ...shared.curves.map((c) => c.seedBand?.n ?? 0));
  if (seedRows.length > 0)
    layers.push({
      data: { values: seedRows },
      mark: { type: 'area', opacity: 0.2 },
      encoding: {
        x: { field: 'x', type: 'quantitative' },
        y: { field: 'lo', type: 'quantitative' },
        y2: { field: 'hi' },
        color,
        detail: { field: 'curve', type: 'nominal' },
      },
    });
  layers.push({
    data: { values: rows },
    mark: { type: 'line', strokeWidth: 1.3 },
    encoding: {
      x,
      y: floorDensityY(floor.value),
      color,
      detail: { field: 'seg', type: 'nominal' },
    },
  });
  if (stemRows.length > 0) {
    layers.push({
      data: { values: stemRows },
      mark: { type: 'rule', strokeWidth: 1.6 },
      encoding: { x: { field: 'x', type: 'quantitative' }, y: { field: 'y0', type: 'quantitative' }, y2: { field: 'y1' }, color },
    });
    layers.push({
      data: { values: stemRows },
      mark: { type: 'point', filled: true, size: 22 },
      encoding: { x: { field: 'x', type: 'quantitative' }, y: { field: 'y1', type: 'quantitative' }, color },
    });
  }
  const outliers = (p.outliers ?? []).map((v, k) => ({ x: v, k: k + 1 }));
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
  const notes = [
    shared.note,
    `Shaded: below resolution, density < ${floor.value.toExponential(1)} (${floor.rule}); no curve is drawn there.`,
    ...(single && p.band === true && s0?.band !== undefined
      ? [`Band: ${s0.band.rule ?? 'mean ± t(0.975) standard errors across start vectors'}.`]
      : []),
    ...(seedRows.length > 0
      ? [
          shared.sigma !== undefined
            ? `Seeds (n = ${seedN}): every seed's SLQ measure smoothed at σ = ${fmtSigma(shared.sigma)} before their mean and min–max band are taken.`
            : `Seeds (n = ${seedN}): each seed smoothed with its own kernel before their mean and min–max band are taken.`,
        ]
      : []),
    ...(stemRows.length > 0
      ? [
          stemHeight !== undefined
            ? `Stems: exact eigenvalues (Gram matrices), each as tall as one eigenvalue smoothed with the panel's kernel, 1/(P σ √(2π)) = ${stemHeight.toExponential(2)}.`
            : 'Stems: exact eigenvalues (Gram matrices), one per eigenvalue (height not a density: no P known).',
        ]
      : []),
  ].filter((n) => n !== '');
  return {
    spec: { title: p.title, width: p.width, height: p.height, layer: layers },
    floor,
    notes,
    ...(shared.sigma !== undefined && { sigma: shared.sigma }),
    rows,
  };
}
