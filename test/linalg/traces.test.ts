import { test } from 'node:test';
import assert from 'node:assert/strict';
import { countingOperator, diagonalOperator, fromDenseSymmetric, lowRankUpdate } from '../../src/linalg/operatorAlgebra.js';
import { hutchinsonTrace, hutchPlusPlusTrace } from '../../src/linalg/traces.js';
import { coalescedMatvec } from '../../src/linalg/blockMatvec.js';
import { Rng } from '../../src/util/random.js';
import { wishartWithOutliers } from './fixtures.js';

const n = 300;
const A = wishartWithOutliers(4, n, 600, [40, 60, 80, 100]);
let exactTrace = 0;
for (let i = 0; i < n; i++) exactTrace += A[i * n + i]!;

test('Hutchinson and Hutch++ are within 4 standard errors of the exact trace, Hutch++ with the smaller error on a spectrum with outliers', async () => {
  const spy = countingOperator(fromDenseSymmetric(A));
  const h = await hutchinsonTrace(spy, { matvecs: 90, seed: 1 });
  assert.equal(h.matvecs, 90);
  assert.equal(spy.used, 90, 'matrix-free: every sample is a product');
  assert.ok(Math.abs(h.value - exactTrace) <= 4 * h.stderr, `Hutchinson ${h.value} ± ${h.stderr} vs ${exactTrace}`);
  const hpp = await hutchPlusPlusTrace(fromDenseSymmetric(A), { matvecs: 90, seed: 1 });
  assert.equal(hpp.matvecs, 90);
  assert.ok(Math.abs(hpp.value - exactTrace) <= 4 * hpp.stderr, `Hutch++ ${hpp.value} ± ${hpp.stderr} vs ${exactTrace}`);
  assert.ok(hpp.stderr < h.stderr / 2, `Hutch++ stderr ${hpp.stderr} vs Hutchinson ${h.stderr}`);
});

test('Hutch++ is exact (stderr 0) on a low-rank operator whose rank the sketch captures', async () => {
  const rng = new Rng(2);
  const m = 200;
  const u = [0, 1, 2].map(() => Float64Array.from({ length: m }, () => rng.normal()));
  const d = [3, -2, 0.5];
  const op = lowRankUpdate(diagonalOperator(new Float64Array(m)), u, d);
  let exact = 0;
  for (let k = 0; k < 3; k++) exact += d[k]! * u[k]!.reduce((s, x) => s + x * x, 0);
  const r = await hutchPlusPlusTrace(op, { matvecs: 30, seed: 3 });
  assert.ok(Math.abs(r.value - exact) < 1e-9 * Math.abs(exact) + 1e-9, `${r.value} vs ${exact}`);
  assert.ok(r.stderr < 1e-9, `stderr ${r.stderr}`);
});

test('trace estimators respect a product budget', async () => {
  const spy = countingOperator(fromDenseSymmetric(A), 7);
  const h = await hutchinsonTrace(spy, { matvecs: 90, seed: 1 });
  assert.equal(h.samples, 7);
  assert.equal(h.budgetExhausted, true);
  const spy2 = countingOperator(fromDenseSymmetric(A));
  const hpp = await hutchPlusPlusTrace(spy2, { matvecs: 90, maxMatvecs: 31, seed: 1 });
  assert.ok(spy2.used <= 31);
  assert.equal(hpp.matvecs, spy2.used);
  assert.equal(hpp.budgetExhausted, true);
});

test('Hutch++ requests each phase’s products together (blocks for a block-capable operator), with the same estimate', async () => {
  const dense = fromDenseSymmetric(A);
  const blocks: number[] = [];
  const blocked = {
    ...dense,
    matvec: coalescedMatvec(async (vs) => {
      blocks.push(vs.length);
      return Promise.all(vs.map((v) => dense.matvec(v)));
    }, 8),
  };
  const plain = await hutchPlusPlusTrace(dense, { matvecs: 30, seed: 3 });
  const together = await hutchPlusPlusTrace(blocked, { matvecs: 30, seed: 3 });
  assert.deepEqual(blocks, [8, 2, 8, 2, 8, 2], 'sketch, exact part and probes: 10 products each, in blocks of ≤ 8');
  assert.equal(together.value, plain.value);
  assert.equal(together.stderr, plain.stderr);
});
