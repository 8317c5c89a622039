import { linearGrid, papyanSigma, smoothedDensity, widenBounds } from '../linalg/slq.js';
import type { SpectrumSeries } from './reportData.js';

/**
 * Curves of one panel smoothed with ONE kernel width in λ units, so their heights compare: each
 * stage smooths its SLQ measure with Papyan's width scaled to its own range (math.md §4.2), so a
 * narrow spectrum gets a narrow kernel and tall peaks. Where every curve carries its measure (Ritz
 * values and weights, spectrum.arrow), all are re-smoothed with the widest of their own widths,
 * σ = max_i σ_i (no curve is drawn sharper than its Lanczos run resolves), on one common grid.
 * Otherwise the curves are drawn as measured and the caption says that heights do not compare.
 */
export interface SharedKernelCurves {
  /** The common width (λ units), when the curves were re-smoothed. */
  readonly sigma?: number;
  readonly curves: readonly {
    readonly series: SpectrumSeries;
    readonly grid: readonly number[];
    readonly density: readonly number[];
    /**
     * For a mean over seeds: the pointwise min–max across its seeds on `grid`, each seed smoothed with
     * the same kernel as `density` (re-smoothed from its own measure when the panel re-smooths).
     */
    readonly seedBand?: { readonly n: number; readonly lo: readonly number[]; readonly hi: readonly number[] };
  }[];
  /** One sentence for the caption. */
  readonly note: string;
}

/** Grid points of the re-smoothed curves (thinned for drawing, keeping peaks). */
export const SHARED_GRID_POINTS = 1024;

/** A series' own kernel width: recorded, else Papyan's for its measure's range and Lanczos steps. */
export function ownSigma(s: SpectrumSeries): number | undefined {
  if (s.sigma !== undefined) return s.sigma;
  const m = s.measure;
  if (m === undefined || m.nodes.length === 0) return undefined;
  return papyanSigma(s.steps ?? 64, widenBounds(Math.min(...m.nodes), Math.max(...m.nodes)));
}

export function fmtSigma(x: number): string {
  return x.toPrecision(2);
}

/** Re-smooths the series at one width when all of them have a measure (see the module comment). */
export function sharedKernel(series: readonly SpectrumSeries[]): SharedKernelCurves {
  const sigmas = series.map(ownSigma);
  if (series.length > 0 && series.every((s) => s.measure !== undefined && s.measure.nodes.length > 0)) {
    const sigma = Math.max(...sigmas.map((x) => x ?? 0));
    if (sigma > 0) {
      let lo = Infinity;
      let hi = -Infinity;
      for (const s of series) {
        for (const x of s.measure!.nodes) ((lo = Math.min(lo, x)), (hi = Math.max(hi, x)));
        if (s.grid.length > 0) ((lo = Math.min(lo, s.grid[0]!)), (hi = Math.max(hi, s.grid[s.grid.length - 1]!)));
      }
      const grid = linearGrid(Math.min(lo, hi - 4 * sigma), Math.max(hi, lo + 4 * sigma), SHARED_GRID_POINTS);
      const gridArr = Array.from(grid);
      const smooth = (m: NonNullable<SpectrumSeries['measure']>): number[] =>
        Array.from(smoothedDensity({ nodes: Float64Array.from(m.nodes), weights: Float64Array.from(m.weights) }, grid, sigma));
      return {
        sigma,
        // a mean over seeds carries the seeds' measures pooled: its re-smoothed density is the mean of
        // the seeds re-smoothed at σ; its band is their min–max, each seed re-smoothed at σ too
        curves: series.map((s) => {
          const seeds = s.seedBand?.measures?.map(smooth);
          return {
            series: s,
            grid: gridArr,
            density: smooth(s.measure!),
            ...(s.seedBand !== undefined &&
              seeds !== undefined && {
                seedBand: {
                  n: s.seedBand.n,
                  lo: gridArr.map((_, i) => Math.min(...seeds.map((d) => d[i]!))),
                  hi: gridArr.map((_, i) => Math.max(...seeds.map((d) => d[i]!))),
                },
              }),
          };
        }),
        note:
          series.length > 1
            ? `All curves smoothed with one Gaussian kernel, σ = ${fmtSigma(sigma)} in λ units (the widest of their own widths), so heights compare.`
            : `Gaussian kernel σ = ${fmtSigma(sigma)} in λ units.`,
      };
    }
  }
  const known = sigmas.every((x) => x !== undefined);
  return {
    curves: series.map(asMeasured),
    note:
      series.length > 1
        ? `Each curve is smoothed with its own kernel${known ? ` (σ = ${sigmas.map((x) => fmtSigma(x!)).join(', ')})` : ''}; without the SLQ measures the heights do not compare.`
        : known && sigmas[0] !== undefined
          ? `Gaussian kernel σ = ${fmtSigma(sigmas[0])} in λ units.`
          : '',
  };
}

/** A series drawn as measured: its own grid and density, and its band across seeds when it is a mean over seeds. */
export function asMeasured(s: SpectrumSeries): SharedKernelCurves['curves'][number] {
  return {
    series: s,
    grid: s.grid,
    density: s.density,
    ...(s.seedBand !== undefined && { seedBand: { n: s.seedBand.n, lo: s.seedBand.lo, hi: s.seedBand.hi } }),
  };
}
