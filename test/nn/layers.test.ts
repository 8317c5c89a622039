import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as tf from '@tensorflow/tfjs-core';
import { initBackend } from '../../src/backend/backend.js';
import { batchNorm } from '../../src/nn/layers/batchNorm.js';
import { flatten } from '../../src/nn/layers/flatten.js';
import { dropout } from '../../src/nn/layers/dropout.js';
import { globalAvgPool } from '../../src/nn/layers/pooling.js';
import { Rng } from '../../src/util/random.js';
import { registerSecondOrderGradients } from '../../src/curvature/secondOrderGradients.js';

await initBackend('auto');
registerSecondOrderGradients(); // tf.grad below: Node's tfjs-core registers no gradient rules

function close(got: ArrayLike<number>, want: ArrayLike<number>, tol: number, what: string): void {
  assert.equal(got.length, want.length, `${what}: length`);
  for (let i = 0; i < want.length; i++)
    assert.ok(Math.abs(got[i]! - want[i]!) <= tol * Math.max(1, Math.abs(want[i]!)), `${what}[${i}]: ${got[i]} vs ${want[i]}`);
}

test('flatten returns PyTorch (C, H, W) order from NHWC activations', () => {
  const [n, h, w, c] = [2, 3, 4, 5];
  const data = Float32Array.from({ length: n * h * w * c }, (_, i) => i);
  const y = flatten(tf.tensor4d(data, [n, h, w, c]));
  assert.deepEqual(y.shape, [n, c * h * w]);
  const want: number[] = [];
  for (let s = 0; s < n; s++)
    for (let ch = 0; ch < c; ch++)
      for (let i = 0; i < h; i++) for (let j = 0; j < w; j++) want.push(data[((s * h + i) * w + j) * c + ch]!);
  assert.deepEqual(Array.from(y.dataSync()), want);
  y.dispose();
});

test('batchNorm train mode: batch statistics, PyTorch running-stat update (momentum 0.1, unbiased var); eval mode: running stats', () => {
  const [n, h, w, c] = [3, 2, 2, 2];
  const rng = new Rng(4);
  const x = Float32Array.from({ length: n * h * w * c }, () => 2 * rng.normal() + 1);
  const gamma = [1.5, 0.5],
    beta = [0.1, -0.2],
    rm = [0.3, -0.1],
    rv = [2, 0.5];
  const res = tf.tidy(() => {
    const st = { runningMean: tf.tensor1d(rm), runningVar: tf.tensor1d(rv), numBatchesTracked: tf.scalar(4) };
    const train = batchNorm(tf.tensor4d(x, [n, h, w, c]), tf.tensor1d(gamma), tf.tensor1d(beta), st, 'train');
    const ev = batchNorm(tf.tensor4d(x, [n, h, w, c]), tf.tensor1d(gamma), tf.tensor1d(beta), st, 'eval');
    return [train.y, train.updated!.runningMean, train.updated!.runningVar, train.updated!.numBatchesTracked, ev.y];
  });
  const m = n * h * w;
  const mean = [0, 0],
    v = [0, 0];
  for (let i = 0; i < m; i++) for (let ch = 0; ch < c; ch++) mean[ch]! += x[i * c + ch]! / m;
  for (let i = 0; i < m; i++) for (let ch = 0; ch < c; ch++) v[ch]! += (x[i * c + ch]! - mean[ch]!) ** 2 / m;
  const yTrain = Array.from(x, (t, i) => ((t - mean[i % c]!) / Math.sqrt(v[i % c]! + 1e-5)) * gamma[i % c]! + beta[i % c]!);
  const yEval = Array.from(x, (t, i) => ((t - rm[i % c]!) / Math.sqrt(rv[i % c]! + 1e-5)) * gamma[i % c]! + beta[i % c]!);
  close(res[0]!.dataSync(), yTrain, 1e-5, 'train y');
  close(
    res[1]!.dataSync(),
    rm.map((r, ch) => 0.9 * r + 0.1 * mean[ch]!),
    1e-6,
    'running_mean',
  );
  close(
    res[2]!.dataSync(),
    rv.map((r, ch) => 0.9 * r + 0.1 * v[ch]! * (m / (m - 1))),
    1e-6,
    'running_var',
  );
  assert.deepEqual(Array.from(res[3]!.dataSync()), [5]);
  close(res[4]!.dataSync(), yEval, 1e-5, 'eval y');
  tf.dispose(res);
});

test('batchNorm on [N, C] (BatchNorm1d form) normalises over the batch axis', () => {
  const y = tf.tidy(() => {
    const st = { runningMean: tf.zeros([2]), runningVar: tf.ones([2]), numBatchesTracked: tf.scalar(0) };
    return batchNorm(
      tf.tensor2d([
        [1, 10],
        [3, 30],
      ]),
      tf.ones([2]),
      tf.zeros([2]),
      st,
      'train',
    ).y;
  });
  close(y.dataSync(), [-1, -1, 1, 1], 1e-4, 'y');
  y.dispose();
});

test('dropout is the identity in eval mode and keeps the mean in train mode (inverted scaling)', () => {
  const x = tf.ones([200, 50]);
  assert.equal(dropout(x, 0.5, 'eval', 1), x);
  const y = dropout(x, 0.25, 'train', 1);
  const v = y.dataSync();
  const values = new Set(Array.from(v, (t) => Math.round(t * 1e5) / 1e5));
  assert.deepEqual([...values].sort(), [0, 1.33333]);
  const kept = Array.from(v).filter((t) => t > 0).length / v.length;
  assert.ok(Math.abs(kept - 0.75) < 0.02, `kept fraction ${kept}`);
  tf.dispose([x, y]);
});

test('globalAvgPool averages over H and W per channel', () => {
  const y = globalAvgPool(tf.tensor4d([1, 10, 2, 20, 3, 30, 6, 60], [1, 2, 2, 2]));
  close(y.dataSync(), [3, 30], 1e-6, 'gap');
  y.dispose();
});

test('batchNorm train mode is differentiable through the batch statistics (gradient agrees with central differences)', () => {
  const out = tf.tidy(() => {
    const x = tf.randomNormal([3, 2, 2, 4], 0, 1, 'float32', 1);
    const r = tf.randomNormal([3, 2, 2, 4], 0, 1, 'float32', 2);
    const v = tf.randomNormal([3, 2, 2, 4], 0, 1, 'float32', 5);
    const st = { runningMean: tf.zeros([4]), runningVar: tf.ones([4]), numBatchesTracked: tf.scalar(0) };
    const w = tf.randomUniform([4], 0.5, 1.5, 'float32', 3);
    const b = tf.randomNormal([4], 0, 1, 'float32', 4);
    // f(x) = Σ r ⊙ BN(x)²: the square makes the gradient depend on μ and σ² through every sample.
    const f = (xx: tf.Tensor): tf.Scalar => tf.sum(tf.mul(tf.square(batchNorm(xx, w, b, st, 'train').y), r));
    const gv = tf.sum(tf.mul(tf.grad(f)(x), v));
    const eps = 1e-2;
    const fd = tf.div(tf.sub(f(tf.add(x, tf.mul(v, eps))), f(tf.sub(x, tf.mul(v, eps)))), 2 * eps);
    return [gv.dataSync()[0]!, fd.dataSync()[0]!];
  });
  assert.ok(Math.abs(out[0]! - out[1]!) <= 1e-3 * Math.abs(out[1]!), `∇f·v = ${out[0]}, central difference ${out[1]}`);
});
