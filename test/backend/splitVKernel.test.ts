import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-backend-cpu';
import { openBlasKernelStatus, registerOpenBlasKernels, unregisterOpenBlasKernels } from '../../src/backend/openblasKernels.js';
import { loadOpenBlas } from '../../src/backend/native/openblasLibrary.js';
import { Rng } from '../../src/util/random.js';
import { registerSecondOrderGradients } from '../../src/curvature/secondOrderGradients.js';

/**
 * specpipe's SplitV kernel (one contiguous copy per outer index and piece, src/backend/native/
 * elementwiseKernels.ts) against the stock tfjs-backend-cpu kernel: bit for bit, on every axis of NHWC
 * tensors (DenseNet's Concat gradient splits the channel axis), equal and sized splits with a −1, and
 * through Concat's gradient.
 */
const blasMissing = loadOpenBlas().ok ? false : 'libopenblas not loadable here';
tf.env().set('IS_TEST', true);
await tf.setBackend('cpu');
registerSecondOrderGradients();

function both(run: () => Float32Array[]): { ours: Float32Array[]; stock: Float32Array[] } {
  unregisterOpenBlasKernels();
  registerOpenBlasKernels();
  const s = openBlasKernelStatus();
  assert.ok(s?.kernels.includes('SplitV') || s?.javascript.includes('SplitV'), 'SplitV is registered');
  const ours = run();
  unregisterOpenBlasKernels();
  const stock = run();
  registerOpenBlasKernels();
  return { ours, stock };
}

function assertSame(what: string, ours: Float32Array[], stock: Float32Array[]): void {
  assert.equal(ours.length, stock.length, `${what}: pieces`);
  ours.forEach((o, p) => {
    const s = stock[p]!;
    assert.equal(o.length, s.length, `${what}: piece ${p} length`);
    for (let i = 0; i < o.length; i++)
      if (!(Object.is(o[i], s[i]) || (Number.isNaN(o[i]) && Number.isNaN(s[i]))))
        assert.fail(`${what}: piece ${p} entry ${i}: ours ${o[i]}, stock ${s[i]}`);
  });
}

test('SplitV kernel = the stock cpu kernel, bit for bit, on every axis and split form', { skip: blasMissing }, () => {
  const rng = new Rng(5);
  const shape = [3, 4, 5, 7];
  const n = shape.reduce((p, q) => p * q, 1);
  const v = Float32Array.from({ length: n }, () => rng.normal());
  [NaN, Infinity, -Infinity, -0].forEach((x, i) => (v[i * 11] = x));
  const splits: [number, number | number[]][] = [
    [3, [2, 5]],
    [3, [1, -1, 3]],
    [-1, 7],
    [2, 5],
    [1, [0, 4]],
    [0, [1, 1, 1]],
    [0, 1],
  ];
  for (const [axis, spec] of splits) {
    const { ours, stock } = both(() =>
      tf.tidy(() => tf.split(tf.tensor(v, shape), spec, axis).map((t) => t.dataSync().slice() as Float32Array)),
    );
    assertSame(`axis ${axis}, ${JSON.stringify(spec)}`, ours, stock);
  }
});

test("Concat's gradient through the SplitV kernel = stock (DenseNet's channel concatenations)", { skip: blasMissing }, () => {
  const rng = new Rng(6);
  const a = Float32Array.from({ length: 2 * 4 * 4 * 6 }, () => rng.normal());
  const b = Float32Array.from({ length: 2 * 4 * 4 * 3 }, () => rng.normal());
  const w = Float32Array.from({ length: 2 * 4 * 4 * 9 }, () => rng.normal());
  const { ours, stock } = both(() =>
    tf.tidy(() => {
      const f = (x: tf.Tensor, y: tf.Tensor): tf.Scalar => tf.sum(tf.mul(tf.concat([x, y], 3), tf.tensor(w, [2, 4, 4, 9])));
      const [ga, gb] = tf.grads(f)([tf.tensor(a, [2, 4, 4, 6]), tf.tensor(b, [2, 4, 4, 3])]);
      return [ga!.dataSync().slice() as Float32Array, gb!.dataSync().slice() as Float32Array];
    }),
  );
  assertSame('concat gradient', ours, stock);
});
