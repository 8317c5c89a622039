// compareWithExact (src/linalg/exactComparison.ts): the yardsticks against an exact spectrum, on cases
// whose answers are known — SLQ with m = n steps and Rademacher probes on a diagonal is exact.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { diagonalOperator } from '../../src/linalg/operatorAlgebra.js';
import { slqDensity } from '../../src/linalg/slq.js';
import { compareWithExact } from '../../src/linalg/exactComparison.js';

const n = 40;
const d = Float64Array.from({ length: n }, (_, i) => 1 + i / 10);

test('top-k relative errors against the i-th largest exact eigenvalue', () => {
  const c = compareWithExact(d, { top: [d[n - 1]! * (1 + 1e-3), d[n - 2]!] });
  assert.ok(c.topRelativeErrors !== undefined);
  assert.ok(Math.abs(c.topRelativeErrors[0]! - 1e-3) < 1e-12);
  assert.equal(c.topRelativeErrors[1], 0);
  assert.equal(c.w1OverWidth, undefined);
});

test('an exact SLQ (m = n, Rademacher on a diagonal, float64 basis) has W1 ≈ 0 and density L1 ≈ 0; a shifted spectrum does not', async () => {
  const s = await slqDensity(diagonalOperator(d), {
    steps: n,
    startVectors: 3,
    seed: 1,
    gridSize: 200,
    basisPrecision: 'float64',
  });
  const c = compareWithExact(d, { slq: s });
  assert.ok(c.w1OverWidth !== undefined && c.w1OverWidth < 1e-10, `W1/width ${c.w1OverWidth}`);
  assert.ok(c.densityL1 !== undefined && c.densityL1 < 1e-8, `L1 ${c.densityL1}`);
  assert.ok(c.bandMassFraction !== undefined && c.bandMassFraction >= 0 && c.bandMassFraction <= 1);
  // every eigenvalue off by 0.35 (3.5 spacings): W1/width = 0.35/3.9
  const shifted = compareWithExact(
    d.map((x) => x + 0.35),
    { slq: s },
  );
  assert.ok(Math.abs(shifted.w1OverWidth! - 0.35 / 3.9) < 1e-9, `shifted W1/width ${shifted.w1OverWidth}`);
  assert.ok(shifted.densityL1! > 0.2, `shifted L1 ${shifted.densityL1}`); // σ = 0.035 against spacing 0.1: the teeth overlap
});

test('deflated SLQ is compared with the exact spectrum whose top d eigenvalues are set to 0', async () => {
  const deflatedDiag = Float64Array.from(d, (x, i) => (i >= n - 2 ? 0 : x));
  const s = await slqDensity(diagonalOperator(deflatedDiag), {
    steps: n,
    startVectors: 2,
    seed: 1,
    gridSize: 200,
    basisPrecision: 'float64',
  });
  const c = compareWithExact(d, { slq: s, deflated: 2 });
  assert.ok(c.w1OverWidth! < 1e-10, `W1/width ${c.w1OverWidth}`);
  const wrong = compareWithExact(d, { slq: s });
  assert.ok(wrong.w1OverWidth! > 1e-3, 'without saying so, the deflation looks like an error');
});
