import { test } from 'node:test';
import assert from 'node:assert/strict';
import { countingOperator, diagonalOperator, fromDenseSymmetric, scale, add } from '../../src/linalg/operatorAlgebra.js';
import { slqDensity, smoothedDensity } from '../../src/linalg/slq.js';
import { kpmDensity } from '../../src/linalg/kpm.js';
import { logSpectrumDensity } from '../../src/linalg/logSpectrum.js';
import { empiricalMeasure, ksDistance, ksDistanceToCdf, totalMass, wasserstein1 } from '../../src/linalg/spectralDistance.js';
import { topEigenpairs } from '../../src/linalg/outliers.js';
import { exactEigenvalues, marchenkoPasturQuantiles, paretoGram, slowOnly, spikedWishart } from './fixtures.js';

const width = (ev: Float64Array): number => ev[ev.length - 1]! - ev[0]!;

test('wasserstein1 and ksDistance on measures with known distances', () => {
  const d0 = { nodes: Float64Array.of(0), weights: Float64Array.of(1) };
  const d1 = { nodes: Float64Array.of(1), weights: Float64Array.of(1) };
  assert.equal(wasserstein1(d0, d1), 1);
  assert.equal(ksDistance(d0, d1), 1);
  const u = empiricalMeasure([0, 1, 2, 3]);
  const shifted = empiricalMeasure([0.5, 1.5, 2.5, 3.5]);
  assert.ok(Math.abs(wasserstein1(u, shifted) - 0.5) < 1e-15);
  assert.equal(ksDistance(u, shifted), 0.25);
  const split = { nodes: Float64Array.of(-1, 1), weights: Float64Array.of(0.5, 0.5) };
  assert.ok(Math.abs(wasserstein1(d0, split) - 1) < 1e-15);
  assert.equal(wasserstein1(u, u), 0);
});

// Diagonal operator with Marchenko–Pastur quantiles (c = 1/4) and two outliers; Gaussian start
// vectors give random weights (Rademacher ones would be exactly 1/n on a diagonal).
test('SLQ on a diagonal of known spectrum (n = 8000): W1 ≤ 0.25% of the width at 10 × 128, weights sum to 1', async () => {
  const n = 8000;
  const d = marchenkoPasturQuantiles(n, 0.25);
  d[n - 1] = 6;
  d[n - 2] = 4;
  const spy = countingOperator(diagonalOperator(d));
  const r = await slqDensity(spy, { steps: 128, startVectors: 10, seed: 0, start: 'gaussian' });
  assert.equal(r.matvecs, 1280);
  assert.equal(spy.used, 1280, 'the estimate ran matrix-free through the operator');
  assert.ok(Math.abs(totalMass(r.measure) - 1) < 1e-10);
  for (const run of r.runs) assert.ok(Math.abs(totalMass(run) - 1) < 1e-10);
  const sorted = Float64Array.from(d).sort();
  const w1 = wasserstein1(r.measure, empiricalMeasure(sorted)) / width(sorted);
  assert.ok(w1 <= 0.0025, `W1 = ${(100 * w1).toFixed(3)}% of the width`);
  assert.ok(r.bounds.lower < sorted[0]! && r.bounds.upper > sorted[n - 1]!, 'bounds hold the spectrum');
});

const N = 600;
const A = spikedWishart(0, N, [5, 4, 3]);
const exact = exactEigenvalues(A, N);
// Start-vector variance of W1 scales like 1/√(n · n_v): the 0.25% is for n = 2000 (slow suite);
// at n = 600 the same estimator is held to 0.25% · √(2000/600).
const W1_FAST = 0.0025 * Math.sqrt(2000 / N);

test(`SLQ on diag(5,4,3,0,…) + ZZᵀ/${N}: spectral measure and smoothed density against the dense solver`, async () => {
  const r = await slqDensity(fromDenseSymmetric(A), { steps: 128, startVectors: 10, seed: 0 });
  const w1 = wasserstein1(r.measure, empiricalMeasure(exact)) / width(exact);
  assert.ok(w1 <= W1_FAST, `W1 = ${(100 * w1).toFixed(3)}% of the width (tolerance ${(100 * W1_FAST).toFixed(3)}%)`);
  // Smoothed density: a probability density on the grid, and within 1% of the width (W1) of the
  // exact eigenvalues smoothed by the same kernel.
  const x = r.density.x;
  const dx = x[1]! - x[0]!;
  const mass = r.density.y.reduce((s, y) => s + y * dx, 0);
  assert.ok(Math.abs(mass - 1) < 1e-3, `∫ density = ${mass}`);
  const ref = smoothedDensity(empiricalMeasure(exact), x, r.sigma);
  const asMeasure = (y: Float64Array) => ({ nodes: x, weights: Float64Array.from(y, (v) => v * dx) });
  const w1d = wasserstein1(asMeasure(r.density.y), asMeasure(ref)) / width(exact);
  assert.ok(w1d <= 0.01, `smoothed density W1 = ${(100 * w1d).toFixed(3)}%`);
  // Papyan's kernel width: σ = (2/(m−1))/√(8 ln 3) in [−1, 1] units.
  const sigmaMapped = (2 * r.sigma) / (r.bounds.upper - r.bounds.lower);
  assert.ok(Math.abs(sigmaMapped - 2 / 127 / Math.sqrt(8 * Math.log(3))) < 1e-12);
  // Per-start-vector densities average to the density.
  assert.equal(r.perVectorDensity.length, 10);
  for (let i = 0; i < x.length; i += 97) {
    const mean = r.perVectorDensity.reduce((s, p) => s + p[i]!, 0) / 10;
    assert.ok(Math.abs(mean - r.density.y[i]!) < 1e-12);
  }
});

test('KPM (Chebyshev moments, Jackson damping) agrees with SLQ on the same probes to W1 ≤ 0.25% of the width', async () => {
  const op = fromDenseSymmetric(A);
  const s = await slqDensity(op, { steps: 128, startVectors: 10, seed: 0 });
  const k = await kpmDensity(op, { moments: 257, startVectors: 10, seed: 0, bounds: s.bounds });
  assert.equal(k.matvecs, 1280);
  assert.ok(Math.abs(k.cdf(s.bounds.upper) - 1) < 1e-12 && Math.abs(k.cdf(s.bounds.lower)) < 1e-12);
  const agree = wasserstein1(k.measure, s.measure) / width(exact);
  assert.ok(agree <= 0.0025, `W1(KPM, SLQ) = ${(100 * agree).toFixed(3)}%`);
  const vsExact = wasserstein1(k.measure, empiricalMeasure(exact)) / width(exact);
  assert.ok(vsExact <= W1_FAST, `W1(KPM, exact) = ${(100 * vsExact).toFixed(3)}%`);
  // Jackson-damped density is non-negative (up to rounding) and integrates to 1.
  const dx = k.density.x[1]! - k.density.x[0]!;
  assert.ok(Math.min(...k.density.y) > -1e-6);
  const mass = k.density.y.reduce((t, y) => t + y * dx, 0);
  assert.ok(Math.abs(mass - 1) < 0.02, `∫ KPM density = ${mass}`);
});

test('variance reduction: deflating the 10 converged outliers of a Pareto-tailed ZZᵀ cuts W1 several-fold for the same 1280 products', async () => {
  const n = 600;
  const P = paretoGram(5, n, 2 * n, 1.5);
  const ev = exactEigenvalues(P, n);
  const plain = await slqDensity(fromDenseSymmetric(P), { steps: 128, startVectors: 10, seed: 0 });
  const spy = countingOperator(fromDenseSymmetric(P), 1280);
  const top = await topEigenpairs(spy, 10, { seed: 0, vectors: true, maxMatvecs: 200 });
  const pairs = top.pairs.filter((p) => p.converged).map((p) => ({ value: p.value, vector: p.vector! }));
  assert.equal(pairs.length, 10);
  const steps = Math.floor((1280 - spy.used) / 10);
  const deflated = await slqDensity(spy, { steps, startVectors: 10, seed: 0, deflatedPairs: pairs });
  assert.ok(spy.used <= 1280);
  assert.ok(Math.abs(totalMass(deflated.measure) - 1) < 1e-10);
  const w1Plain = wasserstein1(plain.measure, empiricalMeasure(ev)) / width(ev);
  const w1Deflated = wasserstein1(deflated.measure, empiricalMeasure(ev)) / width(ev);
  assert.ok(w1Deflated < w1Plain / 3, `W1 plain ${(100 * w1Plain).toFixed(4)}%, deflated ${(100 * w1Deflated).toFixed(4)}%`);
  // The mean of the per-vector densities (each with the deflated point masses) is the density.
  const i = deflated.density.y.indexOf(Math.max(...deflated.density.y));
  const mean = deflated.perVectorDensity.reduce((t, d) => t + d[i]!, 0) / deflated.perVectorDensity.length;
  assert.ok(Math.abs(mean - deflated.density.y[i]!) < 1e-9 * deflated.density.y[i]!);
});

test('budgets: SLQ and KPM stop at their product budget and say so', async () => {
  const spy = countingOperator(fromDenseSymmetric(A));
  const s = await slqDensity(spy, { steps: 64, startVectors: 10, seed: 0, maxMatvecs: 150 });
  assert.equal(spy.used, 150);
  assert.equal(s.budgetExhausted, true);
  assert.equal(s.runs.length, 3, 'two full runs and a partial third');
  assert.ok(Math.abs(totalMass(s.measure) - 1) < 1e-10);
  const k = await kpmDensity(fromDenseSymmetric(A), {
    moments: 129,
    startVectors: 10,
    seed: 0,
    bounds: s.bounds,
    maxMatvecs: 200,
  });
  assert.equal(k.startVectorsUsed, 3);
  assert.ok(k.matvecs <= 200);
  assert.equal(k.budgetExhausted, true);
});

test('log-spectrum of a Pareto-tailed spectrum (diagonal, n = 10000, Gaussian probes): KS ≤ 0.02 in log(|λ| + ε)', async () => {
  const n = 10000;
  const d = Float64Array.from({ length: n }, (_, i) => Math.pow(1 - (i + 0.5) / n, -1 / 1.2));
  const s = await slqDensity(diagonalOperator(d), { steps: 128, startVectors: 10, seed: 2, start: 'gaussian' });
  const log = logSpectrumDensity(s.measure, { steps: 128, runs: s.runs });
  const exactLog = { nodes: d.map((v) => Math.log(v + log.epsilon)), weights: new Float64Array(n).fill(1 / n) };
  const ks = ksDistanceToCdf(log.positive.cdf, exactLog);
  assert.ok(ks <= 0.02, `KS = ${ks}`);
  // The raw step CDF of the pooled quadrature is much further off on a heavy tail (nodes of all runs coincide).
  assert.ok(ksDistance(log.positive.logMeasure, exactLog) > ks);
  assert.equal(log.negative.mass, 0);
  assert.ok(Math.abs(log.positive.mass - 1) < 1e-10);
});

test('log-spectrum of a shifted Pareto-tailed ZZᵀ (n = 600): both halves, masses, and densities in λ that integrate to them', async () => {
  const n = 600;
  const P = paretoGram(5, n, 2 * n, 1.5);
  const ev = exactEigenvalues(P, n);
  assert.ok(ev[0]! > 0 && ev[n - 1]! / ev[0]! > 100, `spectrum spans decades: [${ev[0]}, ${ev[n - 1]}]`);
  // P − c I with c between the 20% and the next quantile: 20% of the eigenvalues negative.
  const c = (ev[Math.floor(0.2 * n) - 1]! + ev[Math.floor(0.2 * n)]!) / 2;
  const op = add(fromDenseSymmetric(P), scale(diagonalOperator(new Float64Array(n).fill(1)), -c));
  const shifted = ev.map((v) => v - c);
  const s = await slqDensity(op, { steps: 128, startVectors: 10, seed: 1 });
  const log = logSpectrumDensity(s.measure, { steps: 128, runs: s.runs });
  const eps = log.epsilon;
  const exactHalf = (sign: 1 | -1) => {
    const vals = Array.from(shifted).filter((v) => (sign > 0 ? v >= 0 : v < 0));
    return {
      nodes: Float64Array.from(vals, (v) => Math.log(Math.abs(v) + eps)),
      weights: new Float64Array(vals.length).fill(1 / n),
    };
  };
  // Start-vector variance at n = 600 (KS ∝ 1/√(n·n_v)): held to 0.02·√(2000/600); the slow suite holds
  // a Pareto ZZᵀ of size 2000 to 0.02, and the n = 10000 diagonal above is held to 0.02.
  const tolKs = 0.02 * Math.sqrt(2000 / n);
  for (const [name, half, sign] of [
    ['positive', log.positive, 1],
    ['negative', log.negative, -1],
  ] as const) {
    const ks = ksDistanceToCdf(half.cdf, exactHalf(sign));
    assert.ok(ks <= tolKs, `${name} half: KS = ${ks}`);
    // ∫ y d|λ| over the log-spaced grid (trapezoid) ≈ the half's mass.
    let integral = 0;
    for (let i = 1; i < half.x.length; i++) integral += ((half.y[i]! + half.y[i - 1]!) / 2) * (half.x[i]! - half.x[i - 1]!);
    assert.ok(Math.abs(integral - half.mass) < 0.02 * half.mass, `${name}: ∫ density dλ = ${integral}, mass ${half.mass}`);
  }
  assert.ok(
    Math.abs(log.positive.mass - 0.8) < 0.05 && Math.abs(log.negative.mass - 0.2) < 0.05,
    `masses ${log.positive.mass}, ${log.negative.mass}`,
  );
});

test(
  'slow: SLQ on diag(5,4,3,0,…) + ZZᵀ/2000 (n = 2000): W1 ≤ 0.25% of the width at 10 × 128; KPM agrees',
  { skip: slowOnly },
  async () => {
    const n = 2000;
    const M = spikedWishart(0, n, [5, 4, 3]);
    const ev = exactEigenvalues(M, n);
    const op = fromDenseSymmetric(M);
    const s = await slqDensity(op, { steps: 128, startVectors: 10, seed: 0 });
    const w1 = wasserstein1(s.measure, empiricalMeasure(ev)) / width(ev);
    assert.ok(w1 <= 0.0025, `W1 = ${(100 * w1).toFixed(3)}%`);
    const k = await kpmDensity(op, { moments: 257, startVectors: 10, seed: 0, bounds: s.bounds });
    const agree = wasserstein1(k.measure, s.measure) / width(ev);
    assert.ok(agree <= 0.0025, `W1(KPM, SLQ) = ${(100 * agree).toFixed(3)}%`);
    const P = paretoGram(5, n, 2 * n, 1.5);
    const pe = exactEigenvalues(P, n);
    const ps = await slqDensity(fromDenseSymmetric(P), { steps: 128, startVectors: 10, seed: 0 });
    const log = logSpectrumDensity(ps.measure, { runs: ps.runs });
    const ks = ksDistanceToCdf(log.positive.cdf, {
      nodes: pe.map((v) => Math.log(Math.abs(v) + log.epsilon)),
      weights: new Float64Array(n).fill(1 / n),
    });
    assert.ok(ks <= 0.02, `log-spectrum KS = ${ks}`);
  },
);
