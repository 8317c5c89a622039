import type { LinearOperator } from './operator.js';
import { countingOperator, deflate, requireSymmetric } from './operatorAlgebra.js';
import { lanczos, type LanczosResult, type Reorthogonalization } from './lanczos.js';
import { tridiagonalEigen } from './tridiagonalEigen.js';
import { type BasisPrecision, type StartVectorKind, randomVector } from './krylovBasis.js';
import type { SpectralMeasure } from './spectralDistance.js';
import { Rng } from '../util/random.js';
import { SpecpipeError } from '../util/errors.js';

/** A density sampled on a grid. */
export interface GriddedDensity {
  readonly x: Float64Array;
  readonly y: Float64Array;
}

/** Interval holding the spectrum. */
export interface SpectrumBounds {
  readonly lower: number;
  readonly upper: number;
}

export interface SlqOptions {
  /** Lanczos steps per start vector (default 128). */
  readonly steps?: number;
  /** Number of start vectors n_v (default 10). */
  readonly startVectors?: number;
  readonly seed?: number;
  readonly start?: StartVectorKind;
  readonly reorthogonalization?: Reorthogonalization;
  readonly basisPrecision?: BasisPrecision;
  /** Product budget for the whole estimate (default steps × startVectors). */
  readonly maxMatvecs?: number;
  /**
   * Start vectors run at once, in lockstep (default: up to 8 whose float32/float64 bases fit in
   * 1 GiB together; 1 when `maxMatvecs` is set, so a budget ends the later runs, not all of them).
   * The measure does not depend on it: the start vectors and each run's products are the same.
   */
  readonly concurrentStartVectors?: number;
  /** Grid points of the smoothed density (default 1024), spread evenly over the bounds. */
  readonly gridSize?: number;
  /** Explicit grid (overrides gridSize). */
  readonly grid?: Float64Array;
  /** κ of Papyan's kernel width (default 3, Papyan 2020 Sec. D.2). */
  readonly kappa?: number;
  /** Kernel width in λ units (overrides Papyan's). */
  readonly sigma?: number;
  /** Bounds to use instead of those estimated from the Lanczos runs. */
  readonly bounds?: SpectrumBounds;
  /**
   * Converged eigenpairs (unit vectors) to deflate exactly — variance reduction: each enters the
   * measure as a point mass 1/n at its eigenvalue, and the start vectors are projected onto the
   * orthogonal complement, where SLQ runs on A − Σ λ_i v_i v_iᵀ and carries weight (n − k)/n.
   * Pass pairs found by topEigenpairs (their products count in that call, not here).
   */
  readonly deflatedPairs?: readonly { readonly value: number; readonly vector: Float64Array }[];
}

/** One start vector's Gauss quadrature: Ritz values θ_j, weights τ_j² (Σ = 1), and its bound estimates. */
export interface QuadratureRun extends SpectralMeasure {
  readonly steps: number;
  /** θ_1 − |β_m s_m1| (math.md §4). */
  readonly lower: number;
  /** θ_m + |β_m s_mm|. */
  readonly upper: number;
}

export interface SlqResult {
  /** Spectral measure over all start vectors: Ritz values and τ_j²/n_v (weights sum to 1). */
  readonly measure: SpectralMeasure;
  /** Each start vector's quadrature (weights sum to 1 each; with deflation, of the complement only) — the spread across start vectors. */
  readonly runs: readonly QuadratureRun[];
  /** Bounds (widened by 5%) used for the grid and the kernel. */
  readonly bounds: SpectrumBounds;
  /** Kernel width in λ units. */
  readonly sigma: number;
  /** Mean smoothed density Σ_j w_j k_σ(x − θ_j) on the grid. */
  readonly density: GriddedDensity;
  /** Smoothed density of each start vector on the same grid. */
  readonly perVectorDensity: readonly Float64Array[];
  /**
   * Error band of `density` on its grid (densityBand): mean ± t_{0.975, n_v−1} standard errors across
   * the start vectors' densities (≈ 2 SE), lo clipped at 0. Absent with one start vector (undefined).
   */
  readonly band?: DensityBand;
  readonly matvecs: number;
  /** True when the product budget stopped the estimate before n_v × m steps (the measure is then built from what ran). */
  readonly budgetExhausted: boolean;
}

/** How many start vectors run at once (SlqOptions.concurrentStartVectors). */
function slqConcurrency(options: SlqOptions, n: number, steps: number, nv: number): number {
  const c = options.concurrentStartVectors;
  if (c !== undefined) {
    if (!Number.isInteger(c) || c < 1)
      throw new SpecpipeError('slq-concurrency', `slq: concurrentStartVectors must be a positive integer, received ${c}`);
    return Math.min(c, nv);
  }
  if (options.maxMatvecs !== undefined && Number.isFinite(options.maxMatvecs)) return 1;
  const basisBytes = n * (steps + 1) * (options.basisPrecision === 'float64' ? 8 : 4);
  return Math.max(1, Math.min(nv, 8, Math.floor(2 ** 30 / basisBytes)));
}

/** Gauss quadrature (Ritz values, τ²) of one Lanczos run, with Papyan's bound estimates. */
export function quadratureFromLanczos(alpha: Float64Array, beta: Float64Array): QuadratureRun {
  const m = alpha.length;
  if (m === 0) return { nodes: new Float64Array(0), weights: new Float64Array(0), steps: 0, lower: Infinity, upper: -Infinity };
  const eig = tridiagonalEigen(alpha, beta.subarray(0, m - 1));
  const weights = Float64Array.from(eig.first, (s) => s * s);
  const bm = beta[m - 1] ?? 0;
  return {
    nodes: eig.values,
    weights,
    steps: m,
    lower: eig.values[0]! - Math.abs(bm * eig.last[0]!),
    upper: eig.values[m - 1]! + Math.abs(bm * eig.last[m - 1]!),
  };
}

/** Widens [lower, upper] by `fraction` of its width, half on each side (math.md §4: 5%). */
export function widenBounds(lower: number, upper: number, fraction = 0.05): SpectrumBounds {
  let w = upper - lower;
  if (!(w > 0)) w = Math.max(Math.abs(upper), Math.abs(lower), 1) * 1e-3;
  return { lower: lower - (fraction / 2) * w, upper: upper + (fraction / 2) * w };
}

/**
 * Papyan's kernel width (Papyan 2020, Sec. D.2): with [lb, ub] mapped to [−1, 1],
 * σ = (2/(m − 1)) / √(8 ln κ), κ ≈ 3; returned in λ units, σ·(ub − lb)/2.
 */
export function papyanSigma(steps: number, bounds: SpectrumBounds, kappa = 3): number {
  const m = Math.max(steps, 2);
  return (2 / (m - 1) / Math.sqrt(8 * Math.log(kappa))) * ((bounds.upper - bounds.lower) / 2);
}

/** Σ_j w_j N(x; θ_j, σ²) on the grid: the Gaussian-smoothed density of a spectral measure. */
export function smoothedDensity(measure: SpectralMeasure, grid: Float64Array, sigma: number): Float64Array {
  const y = new Float64Array(grid.length);
  const c = 1 / (sigma * Math.sqrt(2 * Math.PI));
  const cut = 8 * sigma;
  for (let j = 0; j < measure.nodes.length; j++) {
    const t = measure.nodes[j]!;
    const w = measure.weights[j]! * c;
    if (w === 0) continue;
    for (let i = 0; i < grid.length; i++) {
      const d = grid[i]! - t;
      if (d > cut || d < -cut) continue;
      y[i] = y[i]! + w * Math.exp((-0.5 * d * d) / (sigma * sigma));
    }
  }
  return y;
}

/** n points evenly spaced over [lower, upper]. */
export function linearGrid(lower: number, upper: number, n: number): Float64Array {
  if (n === 1) return Float64Array.of((lower + upper) / 2);
  return Float64Array.from({ length: n }, (_, i) => lower + ((upper - lower) * i) / (n - 1));
}

/** Pointwise lower and upper edges of a density's error band, on the density's grid. */
export interface DensityBand {
  readonly lo: Float64Array;
  readonly hi: Float64Array;
}

/** Two-sided 95% Student-t quantiles t_{0.975, ν} for ν = 1 … 30 degrees of freedom. */
const T975 = [
  12.706, 4.303, 3.182, 2.776, 2.571, 2.447, 2.365, 2.306, 2.262, 2.228, 2.201, 2.179, 2.16, 2.145, 2.131, 2.12, 2.11, 2.101,
  2.093, 2.086, 2.08, 2.074, 2.069, 2.064, 2.06, 2.056, 2.052, 2.048, 2.045, 2.042,
];

/**
 * t_{0.975, ν}: the table for ν ≤ 30, else the Cornish–Fisher expansion z + (z³ + z)/(4ν) +
 * (5z⁵ + 16z³ + 3z)/(96ν²) about z = 1.95996 (error < 1e-3); tends to 1.96 ≈ 2 as ν grows.
 */
export function studentT975(dof: number): number {
  if (!Number.isInteger(dof) || dof < 1)
    throw new SpecpipeError('band-dof', `studentT975: dof must be a positive integer, received ${dof}`);
  const t = T975[dof - 1];
  if (t !== undefined) return t;
  const z = 1.959964;
  return z + (z ** 3 + z) / (4 * dof) + (5 * z ** 5 + 16 * z ** 3 + 3 * z) / (96 * dof * dof);
}

/**
 * The error band of an SLQ density from its n_v per-start-vector densities φ_v(x). The rule: at
 * each grid point, φ̄(x) ± q·s(x)/√n_v — the mean ± q standard errors, with s² = Σ_v (φ_v(x) −
 * φ̄(x))² / (n_v − 1) the sample variance across start vectors and q = t_{0.975, n_v − 1} the
 * Student-t quantile (2.26 at n_v = 10, → 1.96 ≈ 2 for many start vectors) — lo clipped at 0 (a
 * density is non-negative). The start vectors are i.i.d., so this is a pointwise, approximately 95%
 * interval for E[φ_v(x)] — the exact spectrum smoothed by the same kernel, up to the Gauss-quadrature
 * bias of m Lanczos steps, which the band does not include (φ_v is skewed, so normal theory is only
 * approximate). Why t and not a flat 2: with n_v = 10 and q = 2, the exact smoothed density of a
 * spiked Wishart matrix (n = 500, 80 steps, 40 seeds) lay inside the band over 0.894 of the grid mass
 * on average, below the 0.90 asked for, and raising the steps to 200 did not help (0.891: the
 * shortfall is the t-tail of 9 degrees of freedom, not quadrature bias); with q = t_{0.975, 9} it was
 * 0.925, and 0.939 on a Marchenko–Pastur diagonal (n = 1000) — test/linalg/densityBand.test.ts. With
 * n_v = 1 there is no spread to estimate: returns undefined.
 */
export function densityBand(perVector: readonly Float64Array[]): DensityBand | undefined {
  const nv = perVector.length;
  if (nv < 2) return undefined;
  const len = perVector[0]!.length;
  const q = studentT975(nv - 1);
  const lo = new Float64Array(len);
  const hi = new Float64Array(len);
  for (let i = 0; i < len; i++) {
    let mean = 0;
    for (const d of perVector) mean += d[i]!;
    mean /= nv;
    let ss = 0;
    for (const d of perVector) ss += (d[i]! - mean) ** 2;
    const half = q * Math.sqrt(ss / (nv - 1) / nv);
    lo[i] = Math.max(0, mean - half);
    hi[i] = mean + half;
  }
  return { lo, hi };
}

/** Concatenates per-run quadratures into one measure with weights τ²/n_v. */
export function combineRuns(runs: readonly SpectralMeasure[]): SpectralMeasure {
  const used = runs.filter((r) => r.nodes.length > 0);
  const total = used.reduce((s, r) => s + r.nodes.length, 0);
  const nodes = new Float64Array(total);
  const weights = new Float64Array(total);
  let o = 0;
  for (const r of used) {
    for (let j = 0; j < r.nodes.length; j++) {
      nodes[o] = r.nodes[j]!;
      weights[o++] = r.weights[j]! / used.length;
    }
  }
  return { nodes, weights };
}

/**
 * Stochastic Lanczos quadrature (Golub & Meurant; Lin, Saad & Yang 2016; Papyan 2020):
 * φ(t) ≈ (1/n_v) Σ_v Σ_j τ_{vj}² k_σ(t − θ_{vj}), with m Lanczos steps from each of n_v seeded
 * random start vectors, full reorthogonalisation by default, Papyan's bounds and kernel width.
 */
export async function slqDensity(op: LinearOperator, options: SlqOptions = {}): Promise<SlqResult> {
  requireSymmetric(op, 'slq');
  const steps = options.steps ?? 128;
  const nv = options.startVectors ?? 10;
  if (!Number.isInteger(nv) || nv < 1)
    throw new SpecpipeError('slq-start-vectors', `slq: startVectors must be a positive integer, received ${nv}`);
  const counted = countingOperator(op, options.maxMatvecs ?? Infinity);
  const rng = new Rng(options.seed ?? 0);
  const runs: QuadratureRun[] = [];
  let budgetExhausted = false;
  const pairs = options.deflatedPairs ?? [];
  const n = op.size;
  for (const [i, p] of pairs.entries()) {
    if (p.vector.length !== n)
      throw new SpecpipeError(
        'slq-deflation',
        `slq: deflated pair ${i} has a vector of length ${p.vector.length}, expected ${n}`,
      );
  }
  const target = pairs.length > 0 ? deflate(counted, pairs) : counted;
  const startVector = (): Float64Array => {
    const z = randomVector(n, options.start ?? 'rademacher', rng);
    for (let pass = 0; pass < 2; pass++)
      for (const p of pairs) {
        let c = 0;
        for (let i = 0; i < n; i++) c += p.vector[i]! * z[i]!;
        for (let i = 0; i < n; i++) z[i] = z[i]! - c * p.vector[i]!;
      }
    return z;
  };
  const starts = Array.from({ length: nv }, startVector); // drawn in order: the same vectors at any concurrency
  const lanczosFrom = (start: Float64Array): Promise<LanczosResult> =>
    lanczos(target, {
      steps,
      start,
      ...(options.reorthogonalization !== undefined && { reorthogonalization: options.reorthogonalization }),
      ...(options.basisPrecision !== undefined && { basisPrecision: options.basisPrecision }),
    });
  const concurrency = slqConcurrency(options, n, steps, nv);
  for (let v0 = 0; v0 < nv && !budgetExhausted; v0 += concurrency) {
    // A group of start vectors advances in lockstep: their concurrent products reach the operator
    // together, and a block-capable operator (curvature, coalescedMatvec) answers them as one block.
    const group = await Promise.all(starts.slice(v0, v0 + concurrency).map(lanczosFrom));
    for (const lz of group) {
      if (lz.steps > 0) runs.push(quadratureFromLanczos(lz.alpha, lz.beta));
      if (lz.budgetExhausted) budgetExhausted = true;
    }
  }
  if (runs.length === 0) {
    throw new SpecpipeError(
      'matvec-budget',
      `slq: the product budget (${options.maxMatvecs}) allowed no Lanczos step on ${op.name ?? 'the operator'}`,
    );
  }
  // With deflation: point masses 1/n at the deflated eigenvalues, the complement's measure scaled to (n − k)/n.
  const withDeflated = (m: SpectralMeasure): SpectralMeasure =>
    pairs.length === 0
      ? m
      : {
          nodes: Float64Array.from([...pairs.map((p) => p.value), ...m.nodes]),
          weights: Float64Array.from([...pairs.map(() => 1 / n), ...Array.from(m.weights, (w) => (w * (n - pairs.length)) / n)]),
        };
  const measure = withDeflated(combineRuns(runs));
  const values = pairs.map((p) => p.value);
  const bounds =
    options.bounds ??
    widenBounds(Math.min(...runs.map((r) => r.lower), ...values), Math.max(...runs.map((r) => r.upper), ...values));
  const mMax = Math.max(...runs.map((r) => r.steps));
  const sigma = options.sigma ?? papyanSigma(mMax, bounds, options.kappa ?? 3);
  const grid = options.grid ?? linearGrid(bounds.lower, bounds.upper, options.gridSize ?? 1024);
  const perVectorDensity = runs.map((r) => smoothedDensity(withDeflated(r), grid, sigma));
  const y = new Float64Array(grid.length);
  for (const d of perVectorDensity) for (let i = 0; i < y.length; i++) y[i] = y[i]! + d[i]! / perVectorDensity.length;
  const band = densityBand(perVectorDensity);
  return {
    measure,
    runs,
    bounds,
    sigma,
    density: { x: grid, y },
    perVectorDensity,
    ...(band !== undefined && { band }),
    matvecs: counted.used,
    budgetExhausted,
  };
}
