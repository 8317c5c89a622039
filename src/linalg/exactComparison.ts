import type { SlqResult } from './slq.js';
import { smoothedDensity } from './slq.js';
import { empiricalMeasure, wasserstein1 } from './spectralDistance.js';

/**
 * How far a measurement is from the exact spectrum (eigenvalues of the dense operator), in the
 * yardsticks a referee asks for:
 * - top-k: |λ̂_i − λ_i| / |λ_i| for each estimated top eigenvalue against the i-th largest exact one;
 * - SLQ measure: W1(μ̂, μ) / (λ_max − λ_min), Chen–Trogdon–Ubaru 2021's yardstick (math.md §4);
 * - smoothed density: ∫|φ̂ − φ| dx on the SLQ grid, φ the exact eigenvalues smoothed by the same
 *   kernel (Σ_i (1/P) k_σ(x − λ_i)); a Riemann sum over the evenly spaced grid;
 * - band: the fraction of φ's grid mass at points where lo ≤ φ ≤ hi (absent without a band).
 * When the SLQ ran on the deflated A − Σ_{i≤d} λ_i v_i v_iᵀ (`deflated` = d), its measure and density are
 * compared with that operator's exact spectrum: the exact eigenvalues with the d largest replaced by 0
 * (exact when the deflated pairs are exact eigenpairs; converged Lanczos pairs are, to their residuals).
 */
export interface ExactComparison {
  readonly topRelativeErrors?: number[];
  readonly w1OverWidth?: number;
  readonly densityL1?: number;
  readonly bandMassFraction?: number;
}

/** What the comparison reads of an SLQ estimate (an SlqResult, or one read back from a spectrum artifact). */
export type MeasuredSlq = Pick<SlqResult, 'measure' | 'density' | 'sigma' | 'band'>;

/** Compares estimates with the exact eigenvalues `exact` (any order). */
export function compareWithExact(
  exact: Float64Array,
  estimates: { readonly top?: readonly number[]; readonly slq?: MeasuredSlq; readonly deflated?: number },
): ExactComparison {
  const desc = Float64Array.from(exact).sort().reverse();
  const out: { -readonly [K in keyof ExactComparison]: ExactComparison[K] } = {};
  if (estimates.top !== undefined && estimates.top.length > 0)
    out.topRelativeErrors = estimates.top.map((v, i) => {
      const e = desc[i];
      return e === undefined ? NaN : Math.abs(v - e) / Math.abs(e);
    });
  const s = estimates.slq;
  if (s !== undefined) {
    const d = Math.min(estimates.deflated ?? 0, desc.length);
    const target = Float64Array.from(desc, (v, i) => (i < d ? 0 : v));
    let lo = Infinity;
    let hi = -Infinity;
    for (const v of target) ((lo = Math.min(lo, v)), (hi = Math.max(hi, v)));
    const width = hi - lo;
    const mu = empiricalMeasure(target);
    out.w1OverWidth = width > 0 ? wasserstein1(s.measure, mu) / width : wasserstein1(s.measure, mu);
    const x = s.density.x;
    const truth = smoothedDensity(mu, x, s.sigma);
    const dx = x.length > 1 ? (x[x.length - 1]! - x[0]!) / (x.length - 1) : 1;
    let l1 = 0;
    for (let i = 0; i < x.length; i++) l1 += Math.abs(s.density.y[i]! - truth[i]!) * dx;
    out.densityL1 = l1;
    if (s.band !== undefined) {
      let inside = 0;
      let total = 0;
      for (let i = 0; i < x.length; i++) {
        total += truth[i]!;
        if (truth[i]! >= s.band.lo[i]! && truth[i]! <= s.band.hi[i]!) inside += truth[i]!;
      }
      out.bandMassFraction = total > 0 ? inside / total : NaN;
    }
  }
  return out;
}
