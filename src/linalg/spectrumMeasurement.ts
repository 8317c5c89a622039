import type { LinearOperator } from './operator.js';
import type { LogSpectrum } from './logSpectrum.js';
import type { SlqResult } from './slq.js';

/**
 * One spectral measurement of a symmetric operator A, as the spectrum/slq stage and
 * `specpipe spectrum` both make it (math.md §4): the top-k eigenpairs with residuals (thick-restart
 * Lanczos), SLQ of A or of the deflated A − Σ_{i≤d} λ_i v_i v_iᵀ (the bulk, d = `deflate`), the
 * log-spectrum of that measure, and a Hutch++ trace of the analysed operator with its standard error.
 * Every random vector is drawn from `seed`. Top-k, SLQ and Hutch++ run concurrently, so an operator
 * that coalesces concurrent products (src/linalg/blockMatvec.ts) answers them in blocks; each result
 * is what it would be alone.
 */
export interface SpectrumMeasurementOptions {
  readonly lanczosSteps: number;
  readonly startVectors: number;
  readonly gridSize: number;
  readonly seed: number;
  /** Eigenpairs wanted (0: none). */
  readonly topK: number;
  /** Product budget of the top-k search (default 20·k + 40, k = max(topK, deflate)). */
  readonly topKMatvecs?: number;
  /** Residual tolerance ‖Av − λv‖ ≤ tol·‖A‖ of the top-k pairs. */
  readonly topKTol: number;
  /** Top-k solver: 'lanczos' (default) or 'block' (block Lanczos, products in blocks; outliers.ts EigenMethod). */
  readonly topKMethod?: 'lanczos' | 'block';
  /** Deflate the top `deflate` pairs before SLQ (0: SLQ of A itself). */
  readonly deflate: number;
  /** Hutch++ products (0: no trace). */
  readonly traceMatvecs: number;
  readonly logSpectrum: boolean;
}

export interface MeasuredPair {
  readonly value: number;
  readonly residual: number;
  readonly converged: boolean;
}

export interface TraceMeasurement {
  readonly value: number;
  readonly stderr: number;
  readonly matvecs: number;
}

export interface SpectrumMeasurement {
  /** Top eigenpairs of A, descending (max(topK, deflate) of them). */
  readonly pairs: readonly MeasuredPair[];
  /** Pairs deflated before SLQ (0 when not deflated). */
  readonly deflated: number;
  readonly slq: SlqResult;
  readonly logSpectrum?: LogSpectrum;
  /** tr of the analysed operator (A, or A deflated). */
  readonly trace?: TraceMeasurement;
  /**
   * Moments of the SLQ measure μ: its extreme nodes, ∫λ dμ and ∫λ² dμ, and the standard errors of the
   * two integrals across start vectors (sample standard deviation of each start vector's quadrature
   * moment / √n_v; absent with one start vector). P·∫λ dμ and P·∫λ² dμ estimate tr A and tr A².
   */
  readonly moments: {
    readonly top: number;
    readonly bottom: number;
    readonly mean: number;
    readonly second: number;
    readonly meanStderr?: number;
    readonly secondStderr?: number;
  };
  /** Products of A spent in all. */
  readonly matvecs: number;
}

/** Products of A a measurement has called, by phase. */
export interface ProductCounts {
  /** Top-k (thick-restart Lanczos: restarts, residual checks, the multiplicity probe). */
  readonly topK: number;
  /** SLQ: Lanczos steps from each start vector. */
  readonly slq: number;
  /** Hutch++. */
  readonly trace: number;
}

/**
 * The products a measurement of an operator of size `size` will call in its SLQ and Hutch++ phases,
 * known before it starts: SLQ min(steps, n − d) per start vector (Lanczos stops at an invariant
 * subspace, at the latest after n − d steps on the d-deflated operator; earlier only by an exact
 * breakdown), Hutch++ exactly `traceMatvecs` (its probes fill what the sketch leaves). The top-k
 * phase stops when its pairs converge: it is counted as it goes (ProductCounts.topK), not from its budget.
 */
export function knownProducts(o: SpectrumMeasurementOptions, size: number): { readonly slq: number; readonly trace: number } {
  return { slq: Math.min(o.lanczosSteps, Math.max(1, size - o.deflate)) * o.startVectors, trace: o.traceMatvecs };
}

type TopPair = MeasuredPair & { readonly vector?: Float64Array };

/**
 * The top max(topK, deflate) eigenpairs of A as a measurement finds them (thick-restart Lanczos
 * from `seed`, budget topKMatvecs, tolerance topKTol), with their vectors when `vectors`.
 */
export async function measureTopPairs(
  op: LinearOperator,
  o: Pick<SpectrumMeasurementOptions, 'topK' | 'deflate' | 'topKMatvecs' | 'topKTol' | 'seed' | 'topKMethod'>,
  vectors = false,
): Promise<TopPair[]> {
  const k = Math.max(o.topK, o.deflate);
  if (k === 0) return [];
  const { topEigenpairs } = await import('./outliers.js');
  const options = { maxMatvecs: o.topKMatvecs ?? 20 * k + 40, seed: o.seed, vectors, tol: o.topKTol };
  const r = await topEigenpairs(op, k, { ...options, method: o.topKMethod ?? 'lanczos' });
  return r.pairs.map((x) => ({
    value: x.value,
    residual: x.residual,
    converged: x.converged,
    ...(x.vector !== undefined && { vector: x.vector }),
  }));
}

/**
 * Measures A's spectrum (see SpectrumMeasurementOptions); `onProduct(done, counts)` after every
 * product of A, with the products so far by phase.
 */
export async function measureSpectrum(
  op: LinearOperator,
  o: SpectrumMeasurementOptions,
  onProduct?: (done: number, counts: ProductCounts) => void,
): Promise<SpectrumMeasurement> {
  const { slqDensity } = await import('./slq.js');
  let done = 0;
  const counts = { topK: 0, slq: 0, trace: 0 };
  // One counting view of A per phase: the same products in the same order, attributed to their phase.
  const countedAs = (phase: keyof ProductCounts): LinearOperator => ({
    size: op.size,
    symmetric: true,
    ...(op.name !== undefined && { name: op.name }),
    matvec: async (v) => {
      const r = await op.matvec(v);
      done++;
      counts[phase]++;
      onProduct?.(done, { ...counts });
      return r;
    },
  });
  const topK = () => measureTopPairs(countedAs('topK'), o, o.deflate > 0);
  // Deflation needs the pairs first; otherwise top-k runs beside SLQ and Hutch++.
  const pairsFirst = o.deflate > 0 ? await topK() : undefined;
  let analysed = (phase: 'slq' | 'trace'): LinearOperator => countedAs(phase);
  if (pairsFirst !== undefined) {
    const { deflate } = await import('./operatorAlgebra.js');
    const use = pairsFirst.slice(0, o.deflate).filter((x): x is TopPair & { vector: Float64Array } => x.vector !== undefined);
    analysed = (phase) => deflate(countedAs(phase), use);
  }
  const traceOf = async (): Promise<TraceMeasurement | undefined> => {
    if (o.traceMatvecs === 0) return undefined;
    const { hutchPlusPlusTrace } = await import('./traces.js');
    const t = await hutchPlusPlusTrace(analysed('trace'), { matvecs: o.traceMatvecs, seed: o.seed });
    return { value: t.value, stderr: t.stderr, matvecs: t.matvecs };
  };
  const [pairs, slq, trace] = await Promise.all([
    pairsFirst ?? topK(),
    slqDensity(analysed('slq'), { steps: o.lanczosSteps, startVectors: o.startVectors, seed: o.seed, gridSize: o.gridSize }),
    traceOf(),
  ]);
  let logSpectrum: LogSpectrum | undefined;
  if (o.logSpectrum) {
    const { logSpectrumDensity } = await import('./logSpectrum.js');
    logSpectrum = logSpectrumDensity(slq.measure, { steps: o.lanczosSteps, gridSize: o.gridSize, runs: slq.runs });
  }
  return {
    pairs: pairs.map(({ value, residual, converged }) => ({ value, residual, converged })),
    deflated: pairsFirst === undefined ? 0 : Math.min(o.deflate, pairsFirst.length),
    slq,
    ...(logSpectrum !== undefined && { logSpectrum }),
    ...(trace !== undefined && { trace }),
    moments: measureMoments(slq.measure, slq.runs),
    matvecs: done,
  };
}

/** Standard error of the mean of xs (sample standard deviation / √n); undefined for fewer than 2. */
function standardError(xs: readonly number[]): number | undefined {
  const n = xs.length;
  if (n < 2) return undefined;
  const mean = xs.reduce((a, b) => a + b, 0) / n;
  return Math.sqrt(xs.reduce((a, x) => a + (x - mean) ** 2, 0) / (n - 1) / n);
}

/**
 * Extreme nodes and the first two moments of a discrete measure Σ w_j δ(λ − θ_j), with the standard
 * errors of the moments across the start vectors' quadratures `runs`.
 */
function measureMoments(m: SlqResult['measure'], runs: SlqResult['runs']): SpectrumMeasurement['moments'] {
  const perRun = (p: number): number[] =>
    runs.map((r) => {
      let s = 0;
      for (let j = 0; j < r.nodes.length; j++) s += r.weights[j]! * r.nodes[j]! ** p;
      return s;
    });
  const meanStderr = standardError(perRun(1));
  const secondStderr = standardError(perRun(2));
  let top = -Infinity;
  let bottom = Infinity;
  let mean = 0;
  let second = 0;
  for (let j = 0; j < m.nodes.length; j++) {
    const x = m.nodes[j]!;
    top = Math.max(top, x);
    bottom = Math.min(bottom, x);
    mean += m.weights[j]! * x;
    second += m.weights[j]! * x * x;
  }
  return {
    top,
    bottom,
    mean,
    second,
    ...(meanStderr !== undefined && { meanStderr }),
    ...(secondStderr !== undefined && { secondStderr }),
  };
}
