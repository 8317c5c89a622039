import { SpecpipeError } from '../util/errors.js';

/**
 * One rule for counting outliers — how many of the largest eigenvalues stand apart from the bulk.
 *
 * The rule (eigenvalue-ratio estimator of Ahn & Horenstein, "Eigenvalue ratio test for the number of
 * factors", Econometrica 81(3), 2013, with an acceptance test against the bulk's own ratios). Papyan's
 * papers count outliers by eye against the C (or C(C − 1)) the class structure predicts; we found no
 * stated numerical criterion there, so this one is ours:
 *
 * 1. From the positive top eigenvalues λ_1 ≥ λ_2 ≥ … ≥ λ_K (descending), form r_k = λ_k / λ_{k+1}.
 * 2. Candidates: k ≤ k_max = min(2C, K − 2) (2C when the class count C is known; K − 2 leaves at least
 *    one ratio past every candidate). k* = argmax r_k (the smallest k on ties); the gap ratio is r_{k*}.
 * 3. The bulk ratio ρ is the largest ratio between consecutive eigenvalues past the gap —
 *    max_{k* < j < K} r_j — together with λ_K / e when the bulk edge e (the top of the spectrum that
 *    remains after deflating all K pairs) is given, 0 < e ≤ λ_K.
 * 4. Accept k* outliers iff log r_{k*} ≥ margin · log ρ (default margin 2: the gap is at least the
 *    square of the largest ratio inside the bulk's top) and r_{k*} ≥ minRatio (default 1.5).
 *    Otherwise: "no clear outliers" (count 0), with the same evidence.
 *
 * Smooth decays are rejected: geometric λ_k = q^k has all ratios equal; a power law λ_k = k^{−a} has
 * r_1 = 2^a against ρ = 1.5^a, and log 2 / log 1.5 = 1.71 < 2.
 */
export interface OutlierCountOptions {
  /** Classes C: candidates k ≤ 2C (default: every k ≤ K − 2). */
  readonly classes?: number;
  /** Top of the deflated bulk (λ_max of A − Σ_{i≤K} λ_i v_i v_iᵀ), if measured. */
  readonly bulkEdge?: number;
  /** log r_{k*} ≥ margin · log ρ (default 2). */
  readonly margin?: number;
  /** Smallest gap ratio ever accepted (default 1.5). */
  readonly minRatio?: number;
}

export interface OutlierCount {
  /** Outliers by the rule (0: no clear outliers). */
  readonly count: number;
  /** The candidate k* (the position of the largest ratio), accepted or not; 0 when too few eigenvalues. */
  readonly candidate: number;
  /** r_{k*} = λ_{k*} / λ_{k*+1}. */
  readonly gapRatio: number;
  /** ρ: the largest consecutive ratio past the gap (bulk-edge ratio included when given). */
  readonly bulkRatio: number;
  readonly margin: number;
  readonly minRatio: number;
  /** Why the count is what it is, in words. */
  readonly reason: string;
}

export const OUTLIER_MARGIN = 2;
export const OUTLIER_MIN_RATIO = 1.5;

/** Counts the outliers among `top` (descending eigenvalues) by the rule above. */
export function countOutliers(top: readonly number[], o: OutlierCountOptions = {}): OutlierCount {
  const margin = o.margin ?? OUTLIER_MARGIN;
  const minRatio = o.minRatio ?? OUTLIER_MIN_RATIO;
  if (!(margin >= 1)) throw new SpecpipeError('outlier-margin', `countOutliers: margin must be ≥ 1, received ${margin}`);
  for (let i = 1; i < top.length; i++)
    if (top[i]! > top[i - 1]!)
      throw new SpecpipeError(
        'outlier-order',
        `countOutliers: eigenvalues must be descending, received ${top[i - 1]} before ${top[i]}`,
      );
  const pos: number[] = [];
  for (const v of top) {
    if (!(v > 0)) break;
    pos.push(v);
  }
  const K = pos.length;
  const kMax = Math.min(o.classes !== undefined ? 2 * o.classes : Infinity, K - 2);
  const none = (reason: string, candidate = 0, gapRatio = NaN, bulkRatio = NaN): OutlierCount => ({
    count: 0,
    candidate,
    gapRatio,
    bulkRatio,
    margin,
    minRatio,
    reason,
  });
  if (kMax < 1) return none(`too few positive eigenvalues (${K}) to compare a gap with the bulk: need at least 3`);
  const r = (k: number): number => pos[k - 1]! / pos[k]!; // r_k, 1-based k < K
  let kStar = 1;
  for (let k = 2; k <= kMax; k++) if (r(k) > r(kStar)) kStar = k;
  const gap = r(kStar);
  const bulk: number[] = [];
  for (let j = kStar + 1; j < K; j++) bulk.push(r(j));
  const e = o.bulkEdge;
  if (e !== undefined && e > 0 && e <= pos[K - 1]!) bulk.push(pos[K - 1]! / e);
  const rho = Math.max(...bulk);
  if (gap < minRatio) return none(`largest ratio ${gap.toPrecision(3)} (k = ${kStar}) is below ${minRatio}`, kStar, gap, rho);
  if (Math.log(gap) < margin * Math.log(rho))
    return none(
      `largest ratio ${gap.toPrecision(3)} (k = ${kStar}) is not above the bulk's ${rho.toPrecision(3)} to the power ${margin}`,
      kStar,
      gap,
      rho,
    );
  return {
    count: kStar,
    candidate: kStar,
    gapRatio: gap,
    bulkRatio: rho,
    margin,
    minRatio,
    reason: `λ_${kStar}/λ_${kStar + 1} = ${gap.toPrecision(3)} ≥ ${rho.toPrecision(3)}^${margin}`,
  };
}
