import type { LinearOperator } from './operator.js';
import { MatvecBudgetExceeded, countingOperator, requireSymmetric } from './operatorAlgebra.js';
import { lanczos } from './lanczos.js';
import { type StartVectorKind, randomVector } from './krylovBasis.js';
import { type GriddedDensity, type SpectrumBounds, linearGrid, quadratureFromLanczos, widenBounds } from './slq.js';
import { type SpectralMeasure, measureFromCdf } from './spectralDistance.js';
import { Rng } from '../util/random.js';
import { SpecpipeError } from '../util/errors.js';

export interface KpmOptions {
  /** Number of Chebyshev moments N (μ_0..μ_{N−1}); default 257 (128 products per start vector with the doubling trick). */
  readonly moments?: number;
  /** Random probe vectors (default 10). */
  readonly startVectors?: number;
  readonly seed?: number;
  readonly start?: StartVectorKind;
  /** Spectrum bounds; default: a 20-step Lanczos run (counted against the budget), widened by 5%. */
  readonly bounds?: SpectrumBounds;
  /** Product budget (default: what the moments need plus the bound estimate). */
  readonly maxMatvecs?: number;
  /** Grid points of the returned density (default 1024). */
  readonly gridSize?: number;
  /** Cells of the discrete measure built from the CDF (default 4096). */
  readonly measureCells?: number;
}

export interface KpmResult {
  /** Damped, averaged moments g_k μ_k of the spectral measure mapped to [−1, 1] (μ_0 = 1). */
  readonly moments: Float64Array;
  readonly bounds: SpectrumBounds;
  /** Density in λ on a grid strictly inside the bounds. */
  readonly density: GriddedDensity;
  /** CDF in λ (closed form in the Chebyshev angle). */
  readonly cdf: (lambda: number) => number;
  /** The density as a discrete measure (masses of fine cells), for Wasserstein comparisons. */
  readonly measure: SpectralMeasure;
  readonly matvecs: number;
  readonly budgetExhausted: boolean;
  /** Probe vectors actually used. */
  readonly startVectorsUsed: number;
}

/**
 * Jackson damping factors (Weiße, Wellein, Alvermann & Fehske 2006, eq. 71) for N moments:
 * g_k = [(N − k + 1) cos(πk/(N+1)) + sin(πk/(N+1)) cot(π/(N+1))] / (N + 1).
 */
export function jacksonDamping(N: number): Float64Array {
  const g = new Float64Array(N);
  const a = Math.PI / (N + 1);
  for (let k = 0; k < N; k++) g[k] = ((N - k + 1) * Math.cos(a * k) + Math.sin(a * k) / Math.tan(a)) / (N + 1);
  return g;
}

/**
 * Kernel polynomial method (Weiße et al. 2006; Lin, Saad & Yang 2016 §3): with Ã = (A − c)/h mapping
 * the bounds to [−1, 1], stochastic Chebyshev moments μ_k = (1/n) E[zᵀ T_k(Ã) z] from the three-term
 * recurrence v_{k+1} = 2Ã v_k − v_{k−1} and the doubling identities
 *   μ_{2k} = 2 v_kᵀv_k − μ_0,   μ_{2k+1} = 2 v_{k+1}ᵀv_k − μ_1,
 * damped by Jackson's kernel; density ρ(x) = [g_0μ_0 + 2 Σ_{k≥1} g_k μ_k T_k(x)] / (π √(1 − x²)),
 * CDF F(x) = [g_0μ_0 (π − φ) − 2 Σ_{k≥1} g_k μ_k sin(kφ)/k] / π with x = cos φ.
 * An estimator independent of Lanczos quadrature, over the same operator.
 */
export async function kpmDensity(op: LinearOperator, options: KpmOptions = {}): Promise<KpmResult> {
  requireSymmetric(op, 'kpm');
  const n = op.size;
  const N = options.moments ?? 257;
  if (!Number.isInteger(N) || N < 2) throw new SpecpipeError('kpm-moments', `kpm: moments must be an integer ≥ 2, received ${N}`);
  const nv = options.startVectors ?? 10;
  const K = Math.ceil((N - 1) / 2); // products per probe: v_1..v_K
  const counted = countingOperator(op, options.maxMatvecs ?? Infinity);
  const rng = new Rng(options.seed ?? 0);
  let bounds = options.bounds;
  if (bounds === undefined) {
    const lz = await lanczos(counted, { steps: Math.min(20, n), rng });
    if (lz.steps === 0)
      throw new SpecpipeError(
        'matvec-budget',
        `kpm: the product budget (${options.maxMatvecs}) allowed no product to estimate the spectrum bounds`,
      );
    const q = quadratureFromLanczos(lz.alpha, lz.beta);
    bounds = widenBounds(q.lower, q.upper, 0.1);
  }
  const c = (bounds.upper + bounds.lower) / 2;
  const h = (bounds.upper - bounds.lower) / 2;
  const sum = new Float64Array(N);
  let used = 0;
  let budgetExhausted = false;
  const scaled = async (v: Float64Array): Promise<Float64Array> => {
    const y = await counted.matvec(v);
    for (let i = 0; i < n; i++) y[i] = (y[i]! - c * v[i]!) / h;
    return y;
  };
  for (let p = 0; p < nv; p++) {
    if (counted.remaining < K) {
      budgetExhausted = true;
      break;
    }
    const z = randomVector(n, options.start ?? 'rademacher', rng);
    const mu = new Float64Array(N);
    let vPrev = z;
    let v: Float64Array;
    try {
      v = await scaled(z);
      mu[0] = dot(z, z);
      mu[1] = dot(z, v);
      if (N > 2) mu[2] = 2 * dot(v, v) - mu[0];
      for (let k = 1; k < K; k++) {
        const a = await scaled(v);
        for (let i = 0; i < n; i++) a[i] = 2 * a[i]! - vPrev[i]!;
        // now a = v_{k+1}, v = v_k
        if (2 * k + 1 < N) mu[2 * k + 1] = 2 * dot(a, v) - mu[1]!;
        if (2 * k + 2 < N) mu[2 * k + 2] = 2 * dot(a, a) - mu[0]!;
        vPrev = v;
        v = a;
      }
    } catch (e) {
      if (e instanceof MatvecBudgetExceeded) {
        budgetExhausted = true;
        break;
      }
      throw e;
    }
    for (let k = 0; k < N; k++) sum[k] = sum[k]! + mu[k]! / n;
    used++;
  }
  if (used === 0)
    throw new SpecpipeError(
      'matvec-budget',
      `kpm: the product budget (${options.maxMatvecs}) allowed no probe vector (${K} products each)`,
    );
  const g = jacksonDamping(N);
  const moments = new Float64Array(N);
  const mu0 = sum[0]! / used;
  for (let k = 0; k < N; k++) moments[k] = (g[k]! * sum[k]!) / used / mu0; // normalised: μ_0 = 1
  const cdfX = (x: number): number => {
    const xc = Math.min(1, Math.max(-1, x));
    const phi = Math.acos(xc);
    let s = moments[0]! * (Math.PI - phi);
    for (let k = 1; k < N; k++) s -= (2 * moments[k]! * Math.sin(k * phi)) / k;
    return s / Math.PI;
  };
  const cdf = (lambda: number): number => cdfX((lambda - c) / h);
  const G = options.gridSize ?? 1024;
  const x = linearGrid(bounds.lower + h / G, bounds.upper - h / G, G);
  const y = new Float64Array(G);
  for (let i = 0; i < G; i++) {
    const t = (x[i]! - c) / h;
    let tPrev = 1;
    let tCur = t;
    let s = moments[0]!;
    for (let k = 1; k < N; k++) {
      s += 2 * moments[k]! * tCur;
      const tNext = 2 * t * tCur - tPrev;
      tPrev = tCur;
      tCur = tNext;
    }
    y[i] = s / (Math.PI * Math.sqrt(Math.max(1e-300, 1 - t * t))) / h;
  }
  const measure = measureFromCdf(cdf, bounds.lower, bounds.upper, options.measureCells ?? 4096);
  return { moments, bounds, density: { x, y }, cdf, measure, matvecs: counted.used, budgetExhausted, startVectorsUsed: used };
}

function dot(a: Float64Array, b: Float64Array): number {
  let s = 0;
  for (let i = 0; i < a.length; i++) s += a[i]! * b[i]!;
  return s;
}
