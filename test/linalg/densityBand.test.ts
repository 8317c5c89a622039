// Calibration of the SLQ density's error band (densityBand, src/linalg/slq.ts): on matrices of known
// spectrum, the exact eigenvalues smoothed by the same kernel should lie inside mean ± 2 SE over most
// of the grid's mass. Coverage is measured as the fraction of the exact smoothed density's mass at
// grid points where it lies inside [lo, hi].
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { diagonalOperator, fromDenseSymmetric } from '../../src/linalg/operatorAlgebra.js';
import { densityBand, slqDensity, studentT975, smoothedDensity, type SlqOptions } from '../../src/linalg/slq.js';
import type { LinearOperator } from '../../src/linalg/operator.js';
import { empiricalMeasure } from '../../src/linalg/spectralDistance.js';
import { exactEigenvalues, marchenkoPasturQuantiles, slowOnly, spikedWishart } from './fixtures.js';

/** Fraction of the exact smoothed density's grid mass lying inside the band. */
async function coverage(op: LinearOperator, exact: Float64Array, o: SlqOptions): Promise<number> {
  const r = await slqDensity(op, o);
  assert.ok(r.band !== undefined, 'a band with several start vectors');
  const truth = smoothedDensity(empiricalMeasure(exact), r.density.x, r.sigma);
  let inside = 0;
  let total = 0;
  for (let i = 0; i < truth.length; i++) {
    total += truth[i]!;
    if (truth[i]! >= r.band.lo[i]! && truth[i]! <= r.band.hi[i]!) inside += truth[i]!;
  }
  return inside / total;
}

test('densityBand: mean ± t_{0.975, n_v−1} standard errors across start vectors, lo clipped at 0; undefined for one vector', async () => {
  const b = densityBand([Float64Array.of(1, 0, 2), Float64Array.of(3, 0, 2)]);
  assert.ok(b !== undefined);
  // mean 2, s = √2, SE = 1, q = t(0.975, 1) = 12.706: [0, 14.706]; zero spread: [0, 0] and [2, 2].
  assert.deepEqual(Array.from(b.lo), [0, 0, 2]);
  assert.deepEqual(Array.from(b.hi), [2 + 12.706, 0, 2]);
  const c = densityBand([Float64Array.of(10, 10), Float64Array.of(11, 11), Float64Array.of(12, 12)]);
  assert.ok(c !== undefined);
  // mean 11, s = 1, SE = 1/√3, q = t(0.975, 2) = 4.303
  const h = 4.303 / Math.sqrt(3);
  assert.ok(Math.abs(c.lo[0]! - (11 - h)) < 1e-12 && Math.abs(c.hi[1]! - (11 + h)) < 1e-12);
  assert.equal(studentT975(9), 2.262);
  assert.ok(Math.abs(studentT975(40) - 2.021) < 1e-3 && Math.abs(studentT975(120) - 1.98) < 1e-3);
  assert.ok(Math.abs(studentT975(100000) - 1.96) < 1e-3);
  assert.equal(densityBand([Float64Array.of(1)]), undefined);
  const one = await slqDensity(diagonalOperator(Float64Array.from({ length: 50 }, (_, i) => i)), { steps: 10, startVectors: 1 });
  assert.equal(one.band, undefined, 'one start vector: no band');
  assert.equal(one.perVectorDensity.length, 1);
});

const MP = ((): Float64Array => {
  const d = marchenkoPasturQuantiles(400, 0.25);
  d[399] = 6;
  return d;
})();

test('band calibration (fast, loose): exact smoothed density inside the band over ≥ 80% of the grid mass on average over 8 seeds', async () => {
  const n = 400;
  const exact = Float64Array.from(MP).sort();
  const cov: number[] = [];
  for (let seed = 0; seed < 8; seed++)
    cov.push(
      await coverage(diagonalOperator(MP), exact, { steps: 40, startVectors: 10, seed, start: 'gaussian', gridSize: 256 }),
    );
  const mean = cov.reduce((s, c) => s + c, 0) / cov.length;
  process.stdout.write(`# mean coverage ${mean.toFixed(3)} (${cov.map((c) => c.toFixed(2)).join(', ')})\n`);
  assert.ok(mean >= 0.8, `mean coverage ${mean.toFixed(3)} (per seed ${cov.map((c) => c.toFixed(2)).join(', ')}), n = ${n}`);
});

test(
  'slow: band calibration: exact smoothed density inside mean ± t·SE over ≥ 90% of the grid mass, averaged over 40 seeds, on two known spectra',
  { skip: slowOnly },
  async () => {
    const n = 1000;
    const d = marchenkoPasturQuantiles(n, 0.25);
    d[n - 1] = 6;
    d[n - 2] = 4;
    const cases: [string, LinearOperator, Float64Array, SlqOptions][] = [
      ['MP diagonal, Gaussian probes', diagonalOperator(d), Float64Array.from(d).sort(), { start: 'gaussian' }],
    ];
    const W = spikedWishart(1, 500, [5, 4, 3]);
    cases.push(['diag(5,4,3,0,…) + ZZᵀ/500, Rademacher probes', fromDenseSymmetric(W), exactEigenvalues(W, 500), {}]);
    for (const [name, op, exact, extra] of cases) {
      const cov: number[] = [];
      for (let seed = 0; seed < 40; seed++)
        cov.push(await coverage(op, exact, { steps: 80, startVectors: 10, seed, gridSize: 512, ...extra }));
      const mean = cov.reduce((s, c) => s + c, 0) / cov.length;
      const worst = Math.min(...cov);
      assert.ok(mean >= 0.9, `${name}: mean coverage ${mean.toFixed(3)}, worst ${worst.toFixed(3)}`);
      process.stdout.write(`# ${name}: mean coverage ${mean.toFixed(3)}, worst ${worst.toFixed(3)}\n`);
    }
  },
);
