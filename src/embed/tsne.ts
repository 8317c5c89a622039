import { Rng } from '../util/random.js';
import { SpecpipeError } from '../util/errors.js';

/**
 * Exact t-SNE (van der Maaten & Hinton, "Visualizing Data using t-SNE", JMLR 2008) on a
 * precomputed squared-distance matrix. For the n ≲ C² ≤ a few hundred points of Papyan's
 * Figure 2 the exact O(n²) gradient costs milliseconds, so no Barnes–Hut approximation:
 *
 *     p_j|i ∝ exp(−d²_ij / 2σ_i²), σ_i by bisection so that 2^{H(P_i)} = perplexity
 *     p_ij = (p_j|i + p_i|j) / 2n
 *     q_ij = (1 + ‖y_i − y_j‖²)^{-1} / Σ_{k≠l} (1 + ‖y_k − y_l‖²)^{-1}
 *     ∂KL/∂y_i = 4 Σ_j (p_ij − q_ij)(y_i − y_j)(1 + ‖y_i − y_j‖²)^{-1}
 *
 * Optimiser as in the reference implementation and scikit-learn: gradient descent with momentum
 * 0.5 → 0.8 (after the exaggeration phase), per-coordinate gains (+0.2 / ×0.8, min 0.01),
 * early exaggeration 12 for the first 250 iterations. Initialisation N(0, 1e-4²) from the seeded
 * Rng, so the same seed gives the same embedding bit for bit.
 */
/** Exact t-SNE costs O(n²) per iteration: ≈ 10 s for 2,500 points; C² points for C classes. */
export const MAX_TSNE_POINTS = 2500;

export interface TsneOptions {
  /** Effective number of neighbours (default min(30, (n − 1)/3)). */
  readonly perplexity?: number;
  /** Total gradient iterations (default 1000). */
  readonly iterations?: number;
  /** Learning rate η (default max(n / 12 / 4, 50), scikit-learn's "auto"). */
  readonly learningRate?: number;
  /** Early exaggeration factor (default 12) and its length in iterations (default 250). */
  readonly exaggeration?: number;
  readonly exaggerationIterations?: number;
  readonly seed: number;
}

export interface Embedding2D {
  /** n × 2 row-major coordinates. */
  readonly coordinates: Float64Array;
  /** Final KL(P‖Q) (t-SNE) or null where the method has no such number. */
  readonly kl: number | null;
}

/** Conditional affinities p_j|i with σ_i found by bisection on β = 1/2σ² to match the perplexity. */
function conditionalAffinities(D: Float64Array, n: number, perplexity: number): Float64Array {
  const Pc = new Float64Array(n * n);
  const target = Math.log(perplexity);
  const row = new Float64Array(n);
  for (let i = 0; i < n; i++) {
    let beta = 1;
    let lo = 0;
    let hi = Infinity;
    // scale-free start: β = 1 / median-ish distance
    let mean = 0;
    for (let j = 0; j < n; j++) if (j !== i) mean += D[i * n + j]!;
    mean /= n - 1;
    if (mean > 0) beta = 1 / mean;
    for (let it = 0; it < 200; it++) {
      let minD = Infinity;
      for (let j = 0; j < n; j++) if (j !== i && D[i * n + j]! < minD) minD = D[i * n + j]!;
      let sum = 0;
      let sumDP = 0;
      for (let j = 0; j < n; j++) {
        if (j === i) {
          row[j] = 0;
          continue;
        }
        const e = Math.exp(-(D[i * n + j]! - minD) * beta);
        row[j] = e;
        sum += e;
        sumDP += (D[i * n + j]! - minD) * e;
      }
      // H = log Σ + β Σ d p / Σ (natural log), shifted distances keep it finite
      const H = Math.log(sum) + (beta * sumDP) / sum;
      for (let j = 0; j < n; j++) Pc[i * n + j] = row[j]! / sum;
      const diff = H - target;
      if (Math.abs(diff) < 1e-8) break;
      if (diff > 0) {
        lo = beta;
        beta = hi === Infinity ? beta * 2 : (beta + hi) / 2;
      } else {
        hi = beta;
        beta = (beta + lo) / 2;
      }
    }
  }
  return Pc;
}

/** Exact t-SNE of n points given their squared distances (n × n row-major). Returns n × 2 coordinates. */
export function tsne(squaredDistances: Float64Array, options: TsneOptions): Embedding2D {
  const n = Math.round(Math.sqrt(squaredDistances.length));
  if (n * n !== squaredDistances.length || n < 2) {
    throw new SpecpipeError(
      'tsne-input',
      `t-SNE: expected an n × n squared-distance matrix with n ≥ 2, received ${squaredDistances.length} entries`,
    );
  }
  if (n > MAX_TSNE_POINTS) {
    throw new SpecpipeError(
      'tsne-too-many-points',
      `t-SNE: exact t-SNE takes at most ${MAX_TSNE_POINTS} points, received ${n} (embed a class subset: C classes give C² points)`,
    );
  }
  const perplexity = options.perplexity ?? Math.max(1, Math.min(30, (n - 1) / 3));
  if (!(perplexity > 0 && perplexity < n))
    throw new SpecpipeError('tsne-perplexity', `t-SNE: perplexity must be in (0, n = ${n}), received ${perplexity}`);
  const iterations = options.iterations ?? 1000;
  const eta = options.learningRate ?? Math.max(n / 12 / 4, 50);
  const exaggeration = options.exaggeration ?? 12;
  const exIters = options.exaggerationIterations ?? 250;
  const Pc = conditionalAffinities(squaredDistances, n, perplexity);
  const P = new Float64Array(n * n);
  for (let i = 0; i < n; i++)
    for (let j = 0; j < n; j++) P[i * n + j] = Math.max((Pc[i * n + j]! + Pc[j * n + i]!) / (2 * n), 1e-12);
  for (let i = 0; i < n; i++) P[i * n + i] = 0;

  const rng = new Rng(options.seed);
  const Y = Float64Array.from({ length: 2 * n }, () => 1e-4 * rng.normal());
  const update = new Float64Array(2 * n);
  const gains = new Float64Array(2 * n).fill(1);
  const grad = new Float64Array(2 * n);
  const num = new Float64Array(n * n);
  let kl = 0;
  for (let it = 0; it < iterations; it++) {
    const ex = it < exIters ? exaggeration : 1;
    let Z = 0;
    for (let i = 0; i < n; i++) {
      for (let j = 0; j < i; j++) {
        const dx = Y[2 * i]! - Y[2 * j]!;
        const dy = Y[2 * i + 1]! - Y[2 * j + 1]!;
        const q = 1 / (1 + dx * dx + dy * dy);
        num[i * n + j] = q;
        num[j * n + i] = q;
        Z += 2 * q;
      }
    }
    grad.fill(0);
    for (let i = 0; i < n; i++) {
      let gx = 0;
      let gy = 0;
      for (let j = 0; j < n; j++) {
        if (j === i) continue;
        const q = num[i * n + j]!;
        const m = (ex * P[i * n + j]! - q / Z) * q;
        gx += m * (Y[2 * i]! - Y[2 * j]!);
        gy += m * (Y[2 * i + 1]! - Y[2 * j + 1]!);
      }
      grad[2 * i] = 4 * gx;
      grad[2 * i + 1] = 4 * gy;
    }
    const momentum = it < exIters ? 0.5 : 0.8;
    for (let k = 0; k < 2 * n; k++) {
      const sameSign = Math.sign(grad[k]!) === Math.sign(update[k]!);
      gains[k] = Math.max(0.01, sameSign ? gains[k]! * 0.8 : gains[k]! + 0.2);
      update[k] = momentum * update[k]! - eta * gains[k]! * grad[k]!;
      Y[k] = Y[k]! + update[k]!;
    }
    // re-centre
    let mx = 0;
    let my = 0;
    for (let i = 0; i < n; i++) {
      mx += Y[2 * i]!;
      my += Y[2 * i + 1]!;
    }
    mx /= n;
    my /= n;
    for (let i = 0; i < n; i++) {
      Y[2 * i] = Y[2 * i]! - mx;
      Y[2 * i + 1] = Y[2 * i + 1]! - my;
    }
    if (it === iterations - 1) {
      kl = 0;
      for (let i = 0; i < n; i++)
        for (let j = 0; j < n; j++)
          if (i !== j) kl += P[i * n + j]! * Math.log(P[i * n + j]! / Math.max(num[i * n + j]! / Z, 1e-300));
    }
  }
  return { coordinates: Y, kl };
}
