/**
 * The resolution floor of a density panel on a log axis. An SLQ density is a sum of Gaussian bumps;
 * far from every Ritz value it is a kernel tail (or exactly 0 past the 8σ cut-off), which a log
 * axis would show as a curve falling through ten decades. Below the floor the report draws no
 * curve, only a shaded "below resolution" band, and the caption states the floor.
 *
 * The floor is a hundredth of the peak one eigenvalue makes: an eigenvalue carries mass 1/P of the
 * measure, smoothed by the kernel k_σ its peak is 1/(P σ √(2π)); a density below 1/100 of that is
 * less than a hundredth of one eigenvalue. Without P and σ the floor is 10⁻⁶ × the panel's peak.
 */
export const EIGENVALUE_FRACTION = 0.01;
export const RELATIVE_FLOOR = 1e-6;

export interface ResolutionFloor {
  /** Density below which nothing is drawn. */
  readonly value: number;
  /** How it was set, for captions. */
  readonly rule: string;
}

/** Peak density of one eigenvalue (mass 1/P) smoothed by a Gaussian of width σ. */
export function oneEigenvaluePeak(parameters: number, sigma: number): number {
  return 1 / (parameters * sigma * Math.sqrt(2 * Math.PI));
}

/** The floor of a panel whose curves peak at `peak`, smoothed with σ, of an operator of size P (when known). */
export function resolutionFloor(peak: number, parameters?: number, sigma?: number): ResolutionFloor {
  if (parameters !== undefined && sigma !== undefined && parameters > 0 && sigma > 0) {
    const value = EIGENVALUE_FRACTION * oneEigenvaluePeak(parameters, sigma);
    if (value < peak)
      return {
        value,
        rule: `1/100 of one eigenvalue's peak, 0.01/(P σ √(2π)) with P = ${parameters}, σ = ${sigma.toPrecision(3)}`,
      };
  }
  const value = peak > 0 ? peak * RELATIVE_FLOOR : RELATIVE_FLOOR;
  return { value, rule: '10⁻⁶ × the panel’s peak density' };
}

/** Most points drawn per density curve. */
export const MAX_PLOT_POINTS = 400;

export interface FloorRow {
  x: number;
  y: number;
  /** Index of the run of consecutive points above the floor: a line is drawn per segment, never across the floor. */
  seg: number;
  [k: string]: unknown;
}

/**
 * The points of a density above `floor` (long grids thinned to ≤ MAX_PLOT_POINTS, keeping the
 * largest density of each run of consecutive points, so narrow outlier bumps survive), each tagged
 * with its segment: points separated by a stretch below the floor belong to different segments.
 */
export function resolvedRows(
  grid: readonly number[],
  density: readonly number[],
  floor: number,
  extra: Record<string, unknown> = {},
): FloorRow[] {
  const rows: FloorRow[] = [];
  const stride = Math.max(1, Math.ceil(grid.length / MAX_PLOT_POINTS));
  let seg = 0;
  let open = false;
  for (let start = 0; start < grid.length; start += stride) {
    let best = -1;
    for (let i = start; i < Math.min(grid.length, start + stride); i++) {
      if (!Number.isFinite(grid[i]!) || !Number.isFinite(density[i]!)) continue;
      if (best < 0 || density[i]! > density[best]!) best = i;
    }
    if (best >= 0 && density[best]! >= floor) {
      if (!open) (seg++, (open = true));
      rows.push({ ...extra, x: grid[best]!, y: density[best]!, seg });
    } else open = false;
  }
  return rows;
}

/** Vega-Lite layers of the shaded "below resolution" band from the axis bottom to the floor over [xMin, xMax]. */
export function floorLayers(floor: number, xMin: number, xMax: number): Record<string, unknown>[] {
  const band = [{ x0: xMin, x1: xMax, y0: floor / 100, y1: floor }];
  return [
    {
      data: { values: band },
      mark: { type: 'rect', color: '#9e9e9e', opacity: 0.28 },
      encoding: {
        x: { field: 'x0', type: 'quantitative' },
        x2: { field: 'x1' },
        y: { field: 'y0', type: 'quantitative' },
        y2: { field: 'y1' },
      },
    },
    {
      data: { values: [{ x: xMin, y: floor / 10, text: 'below resolution' }] },
      mark: { type: 'text', align: 'left', baseline: 'middle', dx: 4, fontSize: 9, color: '#555', fontStyle: 'italic' },
      encoding: {
        x: { field: 'x', type: 'quantitative' },
        y: { field: 'y', type: 'quantitative' },
        text: { field: 'text' },
      },
    },
  ];
}

/** The log density axis of a panel with this floor: from 1/100 of the floor (the band's bottom) up. */
export function floorScale(floor: number): Record<string, unknown> {
  return { type: 'log', domainMin: floor / 100 };
}

/** The y encoding of a density curve drawn above this floor: field `y` on the log axis of {@link floorScale}. */
export function floorDensityY(floor: number): Record<string, unknown> {
  return {
    field: 'y',
    type: 'quantitative',
    scale: floorScale(floor),
    title: 'density (log)',
    axis: { format: '.0e', tickCount: 5 },
  };
}
