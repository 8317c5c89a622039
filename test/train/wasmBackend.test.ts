import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as tf from '@tensorflow/tfjs-core';
import { initBackend } from '../../src/backend/backend.js';
import { buildNetwork } from '../../src/nn/build.js';
import { trainModel } from '../../src/train/sgd.js';
import { withKernelHint } from '../../src/cli/commands/train.js';
import type { Split } from '../../src/data/dataset.js';

// Own file: node --test runs each file in its own process, so switching to wasm here changes no other test.
const info = await initBackend('wasm');

function tiny(n: number, c: number, h: number, w: number): Split {
  return {
    images: Float32Array.from({ length: n * c * h * w }, (_, i) => Math.sin(i)),
    shape: [n, c, h, w],
    labels: Int32Array.from({ length: n }, (_, i) => i % 2),
  };
}

const wasmHasFilterGrad = tf.getKernel('Conv2DBackpropFilter', 'wasm') !== undefined;

test(
  'wasm trains an MLP (finite losses); conv nets fail with an error that names the missing kernel and the fix',
  { skip: wasmHasFilterGrad && 'Conv2DBackpropFilter is registered for wasm now' },
  async () => {
    assert.equal(tf.getBackend(), 'wasm');
    const mlp = buildNetwork({ kind: 'mlp', input: [1, 4, 4], hidden: [5], activation: 'tanh', classes: 2 });
    const r = await trainModel({
      network: mlp,
      train: tiny(8, 1, 4, 4),
      epochs: 2,
      lr: 0.1,
      momentum: 0.9,
      weightDecay: 0,
      batchSize: 4,
      seed: 0,
    });
    assert.ok(r.history.every((h) => Number.isFinite(h.trainLoss)));
    tf.dispose(r.params);
    const lenet = buildNetwork({ kind: 'lenet', input: [1, 8, 8], channels: [2, 2], hidden: 3, kernel: 3, classes: 2 });
    await assert.rejects(
      () =>
        withKernelHint(info, 'lenet', () =>
          trainModel({
            network: lenet,
            train: tiny(4, 1, 8, 8),
            epochs: 1,
            lr: 0.1,
            momentum: 0,
            weightDecay: 0,
            batchSize: 4,
            seed: 0,
          }),
        ),
      /model lenet needs the tfjs kernel Conv2DBackpropFilter, which the wasm backend does not provide; use --backend cpu \(or auto\)/,
    );
  },
);
