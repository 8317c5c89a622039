import type { LinearOperator } from './operator.js';
import { MatvecBudgetExceeded, countingOperator } from './operatorAlgebra.js';
import { type StartVectorKind, dot, norm2, randomVector } from './krylovBasis.js';
import { Rng } from '../util/random.js';
import { SpecpipeError } from '../util/errors.js';

export interface TraceEstimate {
  readonly value: number;
  /** Standard error of the stochastic part (sample standard deviation / √samples); NaN with < 2 samples. */
  readonly stderr: number;
  readonly matvecs: number;
  /** Random probes actually used in the stochastic part. */
  readonly samples: number;
  /** True when the budget stopped the estimate early. */
  readonly budgetExhausted: boolean;
}

export interface TraceOptions {
  /** Total products (default 30). Hutch++ uses a third for the sketch, a third for tr(QᵀAQ), a third for the remainder. */
  readonly matvecs?: number;
  readonly seed?: number;
  readonly start?: StartVectorKind;
  /** Hard product budget (default = matvecs). */
  readonly maxMatvecs?: number;
}

function meanAndStderr(x: readonly number[]): { mean: number; stderr: number } {
  const s = x.length;
  const mean = x.reduce((a, b) => a + b, 0) / Math.max(s, 1);
  if (s < 2) return { mean, stderr: NaN };
  const v = x.reduce((a, b) => a + (b - mean) ** 2, 0) / (s - 1);
  return { mean, stderr: Math.sqrt(v / s) };
}

/** Hutchinson's estimator (Hutchinson 1989): tr(A) ≈ (1/s) Σ z_iᵀ A z_i with Rademacher z_i. */
export async function hutchinsonTrace(op: LinearOperator, options: TraceOptions = {}): Promise<TraceEstimate> {
  const s = options.matvecs ?? 30;
  const counted = countingOperator(op, options.maxMatvecs ?? s);
  const rng = new Rng(options.seed ?? 0);
  const samples: number[] = [];
  let budgetExhausted = false;
  for (let i = 0; i < s; i++) {
    const z = randomVector(op.size, options.start ?? 'rademacher', rng);
    try {
      samples.push(dot(z, await counted.matvec(z)));
    } catch (e) {
      if (!(e instanceof MatvecBudgetExceeded)) throw e;
      budgetExhausted = true;
      break;
    }
  }
  if (samples.length === 0)
    throw new SpecpipeError('matvec-budget', `hutchinson: the product budget (${options.maxMatvecs}) allowed no sample`);
  const { mean, stderr } = meanAndStderr(samples);
  return { value: mean, stderr, matvecs: counted.used, samples: samples.length, budgetExhausted };
}

/**
 * Hutch++ (Meyer, Musco, Musco & Woodruff 2021, Alg. 1) with m products: S with m/3 Rademacher
 * columns, Q = orth(A S), tr(A) ≈ tr(Qᵀ A Q) + (3/m) Σ g_iᵀ (I − QQᵀ) A (I − QQᵀ) g_i.
 * The standard error is that of the second (stochastic) term; the first is exact.
 */
export async function hutchPlusPlusTrace(op: LinearOperator, options: TraceOptions = {}): Promise<TraceEstimate> {
  const n = op.size;
  const budget = Math.min(options.matvecs ?? 30, options.maxMatvecs ?? Infinity);
  const third = Math.floor(budget / 3);
  if (third < 1) {
    // Not enough products for the three phases: plain Hutchinson within the budget.
    return hutchinsonTrace(op, { ...options, matvecs: Math.max(budget, 0), maxMatvecs: budget });
  }
  const counted = countingOperator(op, budget);
  const rng = new Rng(options.seed ?? 0);
  const kind = options.start ?? 'rademacher';
  // Each phase's products are independent: they are requested together, so a block-capable
  // operator (coalescedMatvec) answers them as blocks; vectors are drawn and used in the same order.
  // Sketch Y = A S and orthonormalise (modified Gram–Schmidt twice, dropping dependent columns).
  const sketch = Array.from({ length: third }, () => randomVector(n, kind, rng));
  const Q: Float64Array[] = [];
  let scale = 0;
  for (const y of await Promise.all(sketch.map((s) => counted.matvec(s)))) {
    const before = norm2(y);
    scale = Math.max(scale, before);
    for (let pass = 0; pass < 2; pass++)
      for (const q of Q) {
        const c = dot(q, y);
        for (let k = 0; k < n; k++) y[k] = y[k]! - c * q[k]!;
      }
    const ny = norm2(y);
    if (ny > 1e-10 * scale && ny > 0) Q.push(y.map((x) => x / ny));
  }
  let exact = 0;
  const aq = await Promise.all(Q.map((q) => counted.matvec(q)));
  Q.forEach((q, i) => (exact += dot(q, aq[i]!)));
  const probes = Array.from({ length: counted.remaining }, () => {
    const g = randomVector(n, kind, rng);
    for (const q of Q) {
      const c = dot(q, g);
      for (let k = 0; k < n; k++) g[k] = g[k]! - c * q[k]!;
    }
    return g;
  });
  const samples = (await Promise.all(probes.map((g) => counted.matvec(g)))).map((ag, i) => {
    for (const q of Q) {
      const c = dot(q, ag);
      for (let k = 0; k < n; k++) ag[k] = ag[k]! - c * q[k]!;
    }
    return dot(probes[i]!, ag);
  });
  const { mean, stderr } = samples.length > 0 ? meanAndStderr(samples) : { mean: 0, stderr: Q.length === n ? 0 : NaN };
  const requested = options.matvecs ?? 30;
  return { value: exact + mean, stderr, matvecs: counted.used, samples: samples.length, budgetExhausted: budget < requested };
}
