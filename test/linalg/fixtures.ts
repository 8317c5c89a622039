// Matrices of known spectrum for the spectral-estimator tests, built the slow, obvious way in float64.
import { Rng } from '../../src/util/random.js';
import { symmetricEigen } from '../../src/linalg/symmetricEigen.js';

/** True when the slow, tight suite is asked for. */
export const SLOW =
  process.env.SPECPIPE_SLOW !== undefined && process.env.SPECPIPE_SLOW !== '' && process.env.SPECPIPE_SLOW !== '0';
export const slowOnly = SLOW ? false : 'set SPECPIPE_SLOW=1 to run the slow, tight suite';

/** Z Zᵀ / cols (row-major n × n) for Z with i.i.d. entries z_ik · colScale_k. */
export function gram(rng: Rng, n: number, cols: number, colScale?: (k: number) => number): Float64Array {
  const Z = new Float64Array(n * cols);
  const scales = Float64Array.from({ length: cols }, (_, k) => (colScale === undefined ? 1 : colScale(k)));
  for (let i = 0; i < n; i++) for (let k = 0; k < cols; k++) Z[i * cols + k] = rng.normal() * scales[k]!;
  const A = new Float64Array(n * n);
  for (let i = 0; i < n; i++) {
    for (let j = 0; j <= i; j++) {
      let s = 0;
      const ri = i * cols;
      const rj = j * cols;
      for (let k = 0; k < cols; k++) s += Z[ri + k]! * Z[rj + k]!;
      A[i * n + j] = s / cols;
      A[j * n + i] = s / cols;
    }
  }
  return A;
}

/** diag(spikes, 0, …) + Z Zᵀ / n: the "diag(5,4,3,0,…) + ZZᵀ/2000" family (Wishart bulk, ratio 1). */
export function spikedWishart(seed: number, n: number, spikes: readonly number[]): Float64Array {
  const A = gram(new Rng(seed), n, n);
  spikes.forEach((s, i) => (A[i * n + i] = A[i * n + i]! + s));
  return A;
}

/** ZZᵀ/N (Marchenko–Pastur bulk) + Σ_r s_r u_r u_rᵀ with random orthonormal u_r: outliers separated from the bulk. */
export function wishartWithOutliers(seed: number, n: number, cols: number, outliers: readonly number[]): Float64Array {
  const rng = new Rng(seed);
  const A = gram(rng, n, cols);
  const U: Float64Array[] = [];
  for (const s of outliers) {
    const u = Float64Array.from({ length: n }, () => rng.normal());
    for (let pass = 0; pass < 2; pass++) {
      for (const q of U) {
        let c = 0;
        for (let i = 0; i < n; i++) c += q[i]! * u[i]!;
        for (let i = 0; i < n; i++) u[i] = u[i]! - c * q[i]!;
      }
    }
    let nu = 0;
    for (const x of u) nu += x * x;
    nu = Math.sqrt(nu);
    for (let i = 0; i < n; i++) u[i] = u[i]! / nu;
    U.push(u);
    for (let i = 0; i < n; i++) for (let j = 0; j < n; j++) A[i * n + j] = A[i * n + j]! + s * u[i]! * u[j]!;
  }
  return A;
}

/** Z Zᵀ / N with Pareto(α)-distributed column scales: a heavy-tailed spectrum spanning decades (log-spectrum). */
export function paretoGram(seed: number, n: number, cols: number, alpha = 1.5): Float64Array {
  const rng = new Rng(seed);
  const scales = Float64Array.from({ length: cols }, () => Math.pow(1 - rng.uniform(), -1 / alpha));
  return gram(rng, n, cols, (k) => scales[k]!);
}

/** Exact eigenvalues (ascending) from the dense float64 solver. */
export function exactEigenvalues(A: Float64Array, n: number): Float64Array {
  return symmetricEigen(A, n, { vectors: false }).values;
}

/** Quantiles of the Marchenko–Pastur law with ratio c ≤ 1 (σ² = 1) at (i + ½)/n, by bisection on its CDF. */
export function marchenkoPasturQuantiles(n: number, c: number): Float64Array {
  const a = (1 - Math.sqrt(c)) ** 2;
  const b = (1 + Math.sqrt(c)) ** 2;
  const density = (x: number): number => (x <= a || x >= b ? 0 : Math.sqrt((b - x) * (x - a)) / (2 * Math.PI * c * x));
  const cells = 20000;
  const xs = new Float64Array(cells + 1);
  const F = new Float64Array(cells + 1);
  for (let i = 0; i <= cells; i++) xs[i] = a + ((b - a) * i) / cells;
  for (let i = 1; i <= cells; i++) F[i] = F[i - 1]! + ((density(xs[i - 1]!) + density(xs[i]!)) / 2) * ((b - a) / cells);
  const total = F[cells]!;
  const out = new Float64Array(n);
  let j = 0;
  for (let i = 0; i < n; i++) {
    const p = ((i + 0.5) / n) * total;
    while (j < cells && F[j + 1]! < p) j++;
    const t = (p - F[j]!) / Math.max(F[j + 1]! - F[j]!, 1e-300);
    out[i] = xs[j]! + t * (xs[j + 1]! - xs[j]!);
  }
  return out;
}
