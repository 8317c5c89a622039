import { logSpectrumDensity } from '../linalg/logSpectrum.js';
import { studentT975 } from '../linalg/slq.js';
import { Rng } from '../util/random.js';
import { logLine, rSquared, semicircleDensity } from './spectrumFits.js';

/**
 * Power law vs semicircle over the RESOLVED BULK of a log-spectrum (Papyan, arXiv 1811.07062,
 * Sec. 6), replacing a fit across everything above a floor, which ran through the gap between
 * near-null Ritz values (~1e-6) and the bulk.
 *
 * Range: |λ| from λ_lo = 2σ (σ the linear density's kernel width: eigenvalues closer to 0 than that
 * are not resolved from 0 by the measurement) to λ_hi = the largest positive Ritz value that is not
 * a reported outlier; with the measure known, both ends are moved inside the bulk's Ritz values by
 * 2σ_t (σ_t the log-spectrum's kernel width in log λ), where the kernel rolls the density off and
 * would bend the slope. Only log-spectrum points inside [λ_lo, λ_hi] with a density ≥ 10⁻³ × their
 * peak enter either fit.
 *
 * Power law: least squares of log₁₀ ρ = a − α log₁₀ λ. α's 95% interval: with the measure known,
 * α ± 1.96 × the standard deviation of α over a bootstrap over Ritz values (the nodes resampled with
 * replacement, weights renormalised, the log-spectrum rebuilt and refitted over the same range,
 * B = 200; a normal interval, since resampling a discrete measure shifts the bootstrap percentiles
 * with few nodes); otherwise the regression's standard error times t_{0.975, n−2}.
 *
 * Semicircle: fitted to the same range: centre and radius from the first two moments of the
 * density restricted to [λ_lo, λ_hi], scaled to the mass there. Both fits are scored by R² of
 * log₁₀ ρ over the same points.
 */
export interface BulkRange {
  readonly lo: number;
  readonly hi: number;
  /** How the range was set, for captions. */
  readonly rule: string;
}

export interface BulkPowerLaw {
  readonly exponent: number;
  readonly log10Amplitude: number;
  readonly r2: number;
  readonly points: number;
  /** 95% interval of α. */
  readonly interval: readonly [number, number];
  /** How the interval was computed. */
  readonly intervalMethod: string;
}

export interface BulkSemicircle {
  readonly center: number;
  readonly radius: number;
  /** Mass of the density in the range (the semicircle's scale). */
  readonly mass: number;
  readonly r2: number;
}

export interface BulkFits {
  readonly range: BulkRange;
  readonly powerLaw: BulkPowerLaw | null;
  readonly semicircle: BulkSemicircle | null;
}

export interface BulkFitInput {
  /** Positive log-spectrum: |λ| grid (ascending) and density in λ. */
  readonly logGrid: readonly number[];
  readonly logDensity: readonly number[];
  /** Linear-axis kernel width σ (λ units). */
  readonly sigma: number;
  /** The SLQ measure, when known (enables the bootstrap and λ_hi from the Ritz values). */
  readonly measure?: { readonly nodes: readonly number[]; readonly weights: readonly number[] };
  readonly steps?: number;
  /** Reported outliers (excluded from λ_hi). */
  readonly outliers?: readonly number[];
}

export const BOOTSTRAP_SAMPLES = 200;
export const RELATIVE_DENSITY_CUT = 1e-3;

/** The resolved bulk range of an input (see the module comment). */
export function bulkRange(input: BulkFitInput): BulkRange {
  const resolved = 2 * input.sigma;
  const outlierMin = input.outliers !== undefined && input.outliers.length > 0 ? Math.min(...input.outliers) : Infinity;
  let lo = resolved;
  let hi = -Infinity;
  let edge = '';
  const m = input.measure;
  if (m !== undefined) {
    let bottom = Infinity;
    for (const x of m.nodes)
      if (x > resolved && x < outlierMin * (1 - 1e-9)) ((hi = Math.max(hi, x)), (bottom = Math.min(bottom, x)));
    if (Number.isFinite(hi)) {
      const sigmaLog = logSpectrumDensity(
        { nodes: Float64Array.from(m.nodes), weights: Float64Array.from(m.weights) },
        { steps: input.steps ?? 64, gridSize: 2 },
      ).sigmaLog;
      const shrink = Math.exp(2 * sigmaLog);
      if (bottom * shrink < hi / shrink) {
        lo = Math.max(resolved, bottom * shrink);
        hi = hi / shrink;
        edge = `, each end moved 2σ_t = ${(2 * sigmaLog).toPrecision(2)} (log λ) inside the bulk's Ritz values`;
      }
    }
  }
  if (!Number.isFinite(hi)) hi = input.logGrid.length > 0 ? input.logGrid[input.logGrid.length - 1]! : lo;
  return {
    lo,
    hi,
    rule: `|λ| in [${lo.toPrecision(2)}, ${hi.toPrecision(2)}]: above 2σ = ${resolved.toPrecision(2)} (σ the density's kernel width), up to the largest non-outlier Ritz value${edge}`,
  };
}

function inRange(grid: readonly number[], density: readonly number[], r: BulkRange): { x: number[]; y: number[] } {
  let peak = 0;
  for (let i = 0; i < grid.length; i++) if (grid[i]! >= r.lo && grid[i]! <= r.hi && density[i]! > peak) peak = density[i]!;
  const x: number[] = [];
  const y: number[] = [];
  for (let i = 0; i < grid.length; i++) {
    const g = grid[i]!;
    const d = density[i]!;
    if (g >= r.lo && g <= r.hi && Number.isFinite(d) && d > 0 && d >= peak * RELATIVE_DENSITY_CUT) (x.push(g), y.push(d));
  }
  return { x, y };
}

/** Power-law and semicircle fits over the resolved bulk (see the module comment); seed fixes the bootstrap. */
export function fitBulk(input: BulkFitInput, seed = 1): BulkFits {
  const range = bulkRange(input);
  const { x, y } = inRange(input.logGrid, input.logDensity, range);
  let powerLaw: BulkPowerLaw | null = null;
  if (x.length >= 3) {
    const line = logLine(x, y);
    let interval: [number, number];
    let intervalMethod: string;
    const m = input.measure;
    if (m !== undefined && m.nodes.length >= 3) {
      const rng = new Rng(seed);
      const alphas: number[] = [];
      const n = m.nodes.length;
      for (let b = 0; b < BOOTSTRAP_SAMPLES; b++) {
        const nodes = new Float64Array(n);
        const weights = new Float64Array(n);
        let total = 0;
        for (let i = 0; i < n; i++) {
          const j = Math.min(n - 1, Math.floor(rng.uniform() * n));
          nodes[i] = m.nodes[j]!;
          weights[i] = m.weights[j]!;
          total += weights[i]!;
        }
        if (!(total > 0)) continue;
        for (let i = 0; i < n; i++) weights[i] = weights[i]! / total;
        const ls = logSpectrumDensity({ nodes, weights }, { steps: input.steps ?? 64, gridSize: 256 });
        const pts = inRange(Array.from(ls.positive.x), Array.from(ls.positive.y), range);
        if (pts.x.length >= 3) alphas.push(-logLine(pts.x, pts.y).slope);
      }
      const mean = alphas.reduce((x, y) => x + y, 0) / alphas.length;
      const sd = Math.sqrt(alphas.reduce((x, y) => x + (y - mean) ** 2, 0) / Math.max(1, alphas.length - 1));
      interval = alphas.length >= 10 ? [-line.slope - 1.96 * sd, -line.slope + 1.96 * sd] : [Number.NaN, Number.NaN];
      intervalMethod = `α ± 1.96 × the standard deviation of a bootstrap over Ritz values (${alphas.length} resamples)`;
    } else {
      const t = studentT975(x.length - 2);
      interval = [-line.slope - t * line.se, -line.slope + t * line.se];
      intervalMethod = `regression standard error × t(0.975, ${x.length - 2}) over ${x.length} grid points (correlated: too narrow)`;
    }
    powerLaw = { exponent: -line.slope, log10Amplitude: line.intercept, r2: line.r2, points: x.length, interval, intervalMethod };
  }
  let semicircle: BulkSemicircle | null = null;
  if (x.length >= 3) {
    let mass = 0;
    let m1 = 0;
    let m2 = 0;
    for (let i = 0; i + 1 < x.length; i++) {
      const w = ((y[i]! + y[i + 1]!) / 2) * (x[i + 1]! - x[i]!);
      const c = (x[i]! + x[i + 1]!) / 2;
      ((mass += w), (m1 += w * c), (m2 += w * c * c));
    }
    if (mass > 0) {
      const center = m1 / mass;
      const radius = 2 * Math.sqrt(Math.max(0, m2 / mass - center * center));
      if (radius > 0) {
        const floor = Math.min(...y) * 1e-3;
        const pred = x.map((l) => Math.log10(Math.max(mass * semicircleDensity(l, center, radius), floor)));
        semicircle = { center, radius, mass, r2: rSquared(y.map(Math.log10), pred) };
      }
    }
  }
  return { range, powerLaw, semicircle };
}
