import { SpecpipeError } from '../util/errors.js';

/** A discrete spectral measure Σ_j w_j δ(λ − x_j): Ritz values and Gauss-quadrature weights, or exact eigenvalues with 1/n each. */
export interface SpectralMeasure {
  readonly nodes: Float64Array;
  /** Non-negative weights; they sum to 1 for a full spectral measure. */
  readonly weights: Float64Array;
}

/** The empirical spectral measure (1/n) Σ δ(λ − λ_i) of exact eigenvalues. */
export function empiricalMeasure(values: ArrayLike<number>): SpectralMeasure {
  const nodes = Float64Array.from(values);
  return { nodes, weights: new Float64Array(nodes.length).fill(1 / nodes.length) };
}

/** Sorts a measure by node, merging nothing. */
export function sortedMeasure(m: SpectralMeasure): SpectralMeasure {
  if (m.nodes.length !== m.weights.length)
    throw new SpecpipeError('measure-shape', `spectral measure has ${m.nodes.length} nodes but ${m.weights.length} weights`);
  const idx = Array.from({ length: m.nodes.length }, (_, i) => i).sort((a, b) => m.nodes[a]! - m.nodes[b]!);
  return { nodes: Float64Array.from(idx, (i) => m.nodes[i]!), weights: Float64Array.from(idx, (i) => m.weights[i]!) };
}

/** Σ of the weights. */
export function totalMass(m: SpectralMeasure): number {
  let s = 0;
  for (let i = 0; i < m.weights.length; i++) s += m.weights[i]!;
  return s;
}

/** Merged sweep over two measures' cumulative distribution functions F_a, F_b (right-continuous). */
function sweep(a: SpectralMeasure, b: SpectralMeasure, visit: (x: number, nextX: number, fa: number, fb: number) => void): void {
  const A = sortedMeasure(a);
  const B = sortedMeasure(b);
  let i = 0;
  let j = 0;
  let fa = 0;
  let fb = 0;
  while (i < A.nodes.length || j < B.nodes.length) {
    const xa = i < A.nodes.length ? A.nodes[i]! : Infinity;
    const xb = j < B.nodes.length ? B.nodes[j]! : Infinity;
    const x = Math.min(xa, xb);
    while (i < A.nodes.length && A.nodes[i]! === x) fa += A.weights[i++]!;
    while (j < B.nodes.length && B.nodes[j]! === x) fb += B.weights[j++]!;
    const na = i < A.nodes.length ? A.nodes[i]! : Infinity;
    const nb = j < B.nodes.length ? B.nodes[j]! : Infinity;
    visit(x, Math.min(na, nb), fa, fb);
  }
}

/**
 * Wasserstein-1 distance between two spectral measures on the line, W1 = ∫ |F_a(x) − F_b(x)| dx
 * (Vallender 1973). Both should have the same total mass (1 for spectral measures); the yardstick of
 * Chen–Trogdon–Ubaru 2021 is W1 ≤ t·(λmax − λmin).
 */
export function wasserstein1(a: SpectralMeasure, b: SpectralMeasure): number {
  let w = 0;
  sweep(a, b, (x, next, fa, fb) => {
    if (Number.isFinite(next)) w += Math.abs(fa - fb) * (next - x);
  });
  return w;
}

/** Kolmogorov–Smirnov distance sup_x |F_a(x) − F_b(x)| between two measures. */
export function ksDistance(a: SpectralMeasure, b: SpectralMeasure): number {
  let d = 0;
  sweep(a, b, (_x, _next, fa, fb) => {
    d = Math.max(d, Math.abs(fa - fb));
  });
  return d;
}

/** The measure with masses F(x_{i+1}) − F(x_i) at the cell midpoints of a grid: turns a density's CDF into a discrete measure (error ≤ half a cell in W1 per unit mass). */
export function measureFromCdf(cdf: (x: number) => number, lower: number, upper: number, cells: number): SpectralMeasure {
  const nodes = new Float64Array(cells);
  const weights = new Float64Array(cells);
  const h = (upper - lower) / cells;
  let prev = cdf(lower);
  for (let i = 0; i < cells; i++) {
    const next = cdf(lower + (i + 1) * h);
    nodes[i] = lower + (i + 0.5) * h;
    weights[i] = next - prev;
    prev = next;
  }
  return { nodes, weights };
}

/**
 * The CDF of a Gauss-quadrature measure read between its nodes: piecewise linear through the jump
 * midpoints (θ_j, Σ_{i<j} w_i + w_j/2), 0 below the first node, the total mass above the last.
 * By the Chebyshev–Markov–Stieltjes inequalities the true CDF crosses each jump of the quadrature
 * CDF, so the midpoints are the natural continuous reading of a quadrature (Golub & Meurant 2010, §6).
 */
export function interpolatedCdf(m: SpectralMeasure): (x: number) => number {
  const s = sortedMeasure(m);
  const k = s.nodes.length;
  const mid = new Float64Array(k);
  let cum = 0;
  for (let j = 0; j < k; j++) {
    mid[j] = cum + s.weights[j]! / 2;
    cum += s.weights[j]!;
  }
  const total = cum;
  return (x: number): number => {
    if (k === 0 || x < s.nodes[0]!) return 0;
    if (x >= s.nodes[k - 1]!) return x === s.nodes[k - 1]! ? mid[k - 1]! : total;
    let lo = 0;
    let hi = k - 1;
    while (hi - lo > 1) {
      const c = (lo + hi) >> 1;
      if (s.nodes[c]! <= x) lo = c;
      else hi = c;
    }
    const x0 = s.nodes[lo]!;
    const x1 = s.nodes[hi]!;
    return x1 === x0 ? mid[lo]! : mid[lo]! + ((mid[hi]! - mid[lo]!) * (x - x0)) / (x1 - x0);
  };
}

/** The mean of several quadratures' interpolated CDFs (one per start vector: interpolate each run, then average). */
export function meanInterpolatedCdf(runs: readonly SpectralMeasure[]): (x: number) => number {
  const fs = runs.map(interpolatedCdf);
  return (x: number): number => fs.reduce((s, f) => s + f(x), 0) / Math.max(fs.length, 1);
}

/**
 * Kolmogorov–Smirnov distance sup_x |F̂(x) − F(x)| between a continuous CDF estimate F̂ (e.g.
 * meanInterpolatedCdf of the per-start-vector quadratures) and a reference measure with a step CDF
 * (e.g. exact eigenvalues). F̂ is evaluated at the reference's jumps, on both sides.
 */
export function ksDistanceToCdf(estimate: (x: number) => number, reference: SpectralMeasure): number {
  const r = sortedMeasure(reference);
  let d = 0;
  let cum = 0;
  for (let i = 0; i < r.nodes.length; i++) {
    const f = estimate(r.nodes[i]!);
    d = Math.max(d, Math.abs(f - cum));
    cum += r.weights[i]!;
    d = Math.max(d, Math.abs(f - cum));
  }
  return d;
}
