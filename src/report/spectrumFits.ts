/**
 * The two models of the residual H's spectrum compared in the report (Papyan, "The full spectrum
 * of deepnet Hessians at scale", arXiv 1811.07062, Sec. 6): a power law ρ(λ) = A λ^{−α} (a straight
 * line of slope −α in log–log axes) against Wigner's semicircle
 * ρ(λ) = 2/(πR²) · √(R² − (λ − m)²), the spectrum of a random symmetric (Wigner) matrix.
 *
 * Fit quality is the same number for both: the coefficient of determination R² of log₁₀ ρ over the
 * positive half of the log-spectrum (points where the estimated density is above a floor), with
 * the semicircle's zero density outside its support clipped to that floor.
 */
export interface PowerLawFit {
  /** α in ρ ∝ λ^{−α}. */
  readonly exponent: number;
  /** log₁₀ A. */
  readonly log10Amplitude: number;
  /** R² of log₁₀ ρ over the fitted points. */
  readonly r2: number;
  /** Fitted range [λ_lo, λ_hi]. */
  readonly range: readonly [number, number];
  readonly points: number;
}

export interface SemicircleFit {
  /** Centre m = ∫ λ ρ. */
  readonly center: number;
  /** Radius R = 2σ, σ² = ∫ (λ − m)² ρ (the semicircle with the density's first two moments). */
  readonly radius: number;
  /** R² of log₁₀ ρ over the log-spectrum points (prediction clipped to the floor outside the support). */
  readonly r2: number;
}

/** Positive points (λ, ρ) with ρ above `relFloor` × max ρ. */
function usable(
  grid: readonly number[],
  density: readonly number[],
  relFloor: number,
): { x: number[]; y: number[]; floor: number } {
  let max = 0;
  for (const d of density) if (d > max) max = d;
  const floor = max * relFloor;
  const x: number[] = [];
  const y: number[] = [];
  for (let i = 0; i < grid.length; i++) {
    if (grid[i]! > 0 && density[i]! > floor && Number.isFinite(density[i]!)) {
      x.push(grid[i]!);
      y.push(density[i]!);
    }
  }
  return { x, y, floor };
}

/** Coefficient of determination of `pred` against `obs`. */
export function rSquared(obs: readonly number[], pred: readonly number[]): number {
  const mean = obs.reduce((a, b) => a + b, 0) / obs.length;
  let ssRes = 0;
  let ssTot = 0;
  for (let i = 0; i < obs.length; i++) {
    ssRes += (obs[i]! - pred[i]!) ** 2;
    ssTot += (obs[i]! - mean) ** 2;
  }
  return ssTot === 0 ? (ssRes === 0 ? 1 : 0) : 1 - ssRes / ssTot;
}

/** Least squares of log₁₀ y on log₁₀ x: slope, intercept, R², standard error of the slope. */
export function logLine(
  x: readonly number[],
  y: readonly number[],
): { slope: number; intercept: number; r2: number; se: number } {
  const lx = x.map(Math.log10);
  const ly = y.map(Math.log10);
  const n = lx.length;
  const mx = lx.reduce((a, b) => a + b, 0) / n;
  const my = ly.reduce((a, b) => a + b, 0) / n;
  let sxy = 0;
  let sxx = 0;
  for (let i = 0; i < n; i++) {
    sxy += (lx[i]! - mx) * (ly[i]! - my);
    sxx += (lx[i]! - mx) ** 2;
  }
  const slope = sxx === 0 ? 0 : sxy / sxx;
  const intercept = my - slope * mx;
  const pred = lx.map((v) => intercept + slope * v);
  let ssRes = 0;
  for (let i = 0; i < n; i++) ssRes += (ly[i]! - pred[i]!) ** 2;
  const se = n > 2 && sxx > 0 ? Math.sqrt(ssRes / (n - 2) / sxx) : Number.NaN;
  return { slope, intercept, r2: rSquared(ly, pred), se };
}

/** Least-squares line through (log₁₀ λ, log₁₀ ρ) over the positive log-spectrum; null with < 3 usable points. */
export function fitPowerLaw(grid: readonly number[], density: readonly number[], relFloor = 1e-6): PowerLawFit | null {
  const { x, y } = usable(grid, density, relFloor);
  if (x.length < 3) return null;
  const { slope, intercept, r2 } = logLine(x, y);
  return { exponent: -slope, log10Amplitude: intercept, r2, range: [x[0]!, x[x.length - 1]!], points: x.length };
}

/** Semicircle density at λ. */
export function semicircleDensity(lambda: number, center: number, radius: number): number {
  const u = radius * radius - (lambda - center) ** 2;
  return u <= 0 ? 0 : (2 / (Math.PI * radius * radius)) * Math.sqrt(u);
}

/**
 * Moment-matched semicircle of the (linear-axis) density (grid, density) on a uniform grid, scored on
 * the positive log-spectrum (logGrid, logDensity). Null when the density has no mass.
 */
export function fitSemicircle(
  grid: readonly number[],
  density: readonly number[],
  logGrid: readonly number[],
  logDensity: readonly number[],
  relFloor = 1e-6,
): SemicircleFit | null {
  let mass = 0;
  let m1 = 0;
  let m2 = 0;
  for (let i = 0; i < grid.length; i++) {
    const w = density[i]! * (i + 1 < grid.length ? grid[i + 1]! - grid[i]! : i > 0 ? grid[i]! - grid[i - 1]! : 1);
    mass += w;
    m1 += w * grid[i]!;
    m2 += w * grid[i]! * grid[i]!;
  }
  if (!(mass > 0)) return null;
  const center = m1 / mass;
  const variance = Math.max(0, m2 / mass - center * center);
  const radius = 2 * Math.sqrt(variance);
  if (!(radius > 0)) return null;
  const { x, y, floor } = usable(logGrid, logDensity, relFloor);
  if (x.length < 3) return { center, radius, r2: Number.NaN };
  const obs = y.map(Math.log10);
  const pred = x.map((l) => Math.log10(Math.max(semicircleDensity(l, center, radius), floor)));
  return { center, radius, r2: rSquared(obs, pred) };
}
