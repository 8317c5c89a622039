import { type SpectralMeasure, meanInterpolatedCdf } from './spectralDistance.js';
import { type GriddedDensity, linearGrid, papyanSigma, smoothedDensity } from './slq.js';

/** One half (positive or negative eigenvalues) of the log-spectrum. */
export interface LogSpectrumHalf {
  /** Grid of magnitudes |λ| (log-spaced, ascending): plot x against y on log-log axes. */
  readonly x: Float64Array;
  /** Density in λ of this half: y(|λ|) = p_t(log(|λ| + ε)) / (|λ| + ε); ∫ y d|λ| ≈ mass. */
  readonly y: Float64Array;
  /** Share of the spectral measure in this half (positive + negative = 1). */
  readonly mass: number;
  /** The half as a measure over t = log(|λ| + ε) (weights not renormalised). */
  readonly logMeasure: SpectralMeasure;
  /**
   * Estimated CDF of this half over t = log(|λ| + ε) (mass below t, not renormalised): with the
   * per-start-vector runs given, the mean of each run's quadrature CDF read linearly between its
   * jump midpoints (see interpolatedCdf); otherwise the step CDF of logMeasure. For the negative half
   * t grows with |λ|, i.e. it runs from λ = 0⁻ towards −∞.
   */
  readonly cdf: (t: number) => number;
}

export interface LogSpectrum {
  readonly positive: LogSpectrumHalf;
  readonly negative: LogSpectrumHalf;
  readonly epsilon: number;
  /** Kernel width in t = log(|λ| + ε) units. */
  readonly sigmaLog: number;
}

export interface LogSpectrumOptions {
  /** Lanczos steps m behind the measure (sets Papyan's width in log units; default 128). */
  readonly steps?: number;
  /** ε in log(|λ| + ε); default 1e-8·max|θ| (never below 1e-300). */
  readonly epsilon?: number;
  /** Grid points per half (default 512). */
  readonly gridSize?: number;
  readonly kappa?: number;
  /** The per-start-vector quadratures behind `measure` (SlqResult.runs): gives each half a continuous CDF estimate. */
  readonly runs?: readonly SpectralMeasure[];
}

/**
 * Log-spectrum (math.md §4; Papyan 2020 Fig. 3 style): the same Ritz values and weights, with the
 * Gaussian kernel applied to t_j = log(|θ_j| + ε), positive (θ ≥ 0) and negative (θ < 0) halves
 * separately; the kernel width is Papyan's, computed on the range of t. The density in t is turned
 * back into a density in λ by the change of variables p_λ(λ) = p_t(log(|λ| + ε)) / (|λ| + ε).
 */
export function logSpectrumDensity(measure: SpectralMeasure, options: LogSpectrumOptions = {}): LogSpectrum {
  let maxAbs = 0;
  for (const t of measure.nodes) maxAbs = Math.max(maxAbs, Math.abs(t));
  const epsilon = options.epsilon ?? Math.max(1e-8 * maxAbs, 1e-300);
  const halves = { positive: [] as number[], negative: [] as number[] };
  for (let j = 0; j < measure.nodes.length; j++) (measure.nodes[j]! >= 0 ? halves.positive : halves.negative).push(j);
  const toMeasure = (idx: number[]): SpectralMeasure => ({
    nodes: Float64Array.from(idx, (j) => Math.log(Math.abs(measure.nodes[j]!) + epsilon)),
    weights: Float64Array.from(idx, (j) => measure.weights[j]!),
  });
  const pos = toMeasure(halves.positive);
  const neg = toMeasure(halves.negative);
  const halfOf = (m: SpectralMeasure, positive: boolean): SpectralMeasure => {
    const idx: number[] = [];
    for (let j = 0; j < m.nodes.length; j++) if (m.nodes[j]! >= 0 === positive) idx.push(j);
    return {
      nodes: Float64Array.from(idx, (j) => Math.log(Math.abs(m.nodes[j]!) + epsilon)),
      weights: Float64Array.from(idx, (j) => m.weights[j]!),
    };
  };
  const cdfOf = (positive: boolean, whole: SpectralMeasure): ((t: number) => number) => {
    if (options.runs !== undefined && options.runs.length > 0)
      return meanInterpolatedCdf(options.runs.map((r) => halfOf(r, positive)));
    const sorted = Array.from(whole.nodes.keys()).sort((a, b) => whole.nodes[a]! - whole.nodes[b]!);
    return (t: number): number => {
      let c = 0;
      for (const j of sorted) {
        if (whole.nodes[j]! > t) break;
        c += whole.weights[j]!;
      }
      return c;
    };
  };
  const tLo = Math.log(epsilon);
  const tHi = Math.log(maxAbs + epsilon);
  const sigmaLog = papyanSigma(options.steps ?? 128, { lower: tLo, upper: Math.max(tHi, tLo + 1e-12) }, options.kappa ?? 3);
  const G = options.gridSize ?? 512;
  const half = (m: SpectralMeasure, positive: boolean): LogSpectrumHalf => {
    let mass = 0;
    for (const w of m.weights) mass += w;
    const cdf = cdfOf(positive, m);
    if (m.nodes.length === 0) return { x: new Float64Array(0), y: new Float64Array(0), mass: 0, logMeasure: m, cdf };
    const lo = Math.max(tLo, Math.min(...m.nodes) - 4 * sigmaLog);
    const hi = Math.max(...m.nodes) + 4 * sigmaLog;
    const tGrid = linearGrid(lo, hi, G);
    const pt = smoothedDensity(m, tGrid, sigmaLog);
    const x = new Float64Array(G);
    const y = new Float64Array(G);
    for (let i = 0; i < G; i++) {
      const a = Math.exp(tGrid[i]!); // |λ| + ε
      x[i] = Math.max(a - epsilon, 0);
      y[i] = pt[i]! / a;
    }
    return { x, y, mass, logMeasure: m, cdf };
  };
  return { positive: half(pos, true), negative: half(neg, false), epsilon, sigmaLog };
}

/** Just the gridded halves, for reports. */
export function logDensityCurves(s: LogSpectrum): { positive: GriddedDensity; negative: GriddedDensity } {
  return { positive: { x: s.positive.x, y: s.positive.y }, negative: { x: s.negative.x, y: s.negative.y } };
}
