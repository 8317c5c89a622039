import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-backend-cpu';
import { openBlasKernelStatus, registerOpenBlasKernels, unregisterOpenBlasKernels } from '../../src/backend/openblasKernels.js';
import { loadOpenBlas } from '../../src/backend/native/openblasLibrary.js';
import { Rng } from '../../src/util/random.js';

/**
 * specpipe's Softmax kernel (plain per-row loops, src/backend/native/elementwiseKernels.ts) against the
 * stock tfjs-backend-cpu kernel it replaces: bit for bit, on logits shaped as G·v's [batch, C] and
 * higher ranks, with large, tied and non-finite values.
 */
const blasMissing = loadOpenBlas().ok ? false : 'libopenblas not loadable here';
tf.env().set('IS_TEST', true);
await tf.setBackend('cpu');

test('Softmax kernel = the stock cpu kernel, bit for bit', { skip: blasMissing }, () => {
  const rng = new Rng(17);
  const cases: number[][] = [
    [500, 10],
    [7, 3],
    [2, 3, 5],
    [4, 1],
    [1, 13],
  ];
  for (const shape of cases) {
    const n = shape.reduce((p, q) => p * q, 1);
    const v = Float32Array.from({ length: n }, () => 8 * rng.normal());
    if (n > 20) [90, -90, 1e30, -1e30, Infinity, -Infinity, NaN, 0, -0, 3, 3].forEach((s, i) => (v[i * 2] = s));
    const run = (): Float32Array => tf.tidy(() => tf.softmax(tf.tensor(v, shape)).dataSync().slice() as Float32Array);
    unregisterOpenBlasKernels();
    registerOpenBlasKernels();
    assert.ok(openBlasKernelStatus()?.kernels.includes('Softmax') || openBlasKernelStatus()?.javascript.includes('Softmax'));
    const ours = run();
    unregisterOpenBlasKernels();
    const stock = run();
    registerOpenBlasKernels();
    for (let i = 0; i < n; i++)
      if (!(Object.is(ours[i], stock[i]) || (Number.isNaN(ours[i]) && Number.isNaN(stock[i]))))
        assert.fail(`${shape}: entry ${i}: ours ${ours[i]}, stock ${stock[i]}`);
  }
});
