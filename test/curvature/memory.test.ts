import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as tf from '@tensorflow/tfjs-core';
import { initBackend } from '../../src/backend/backend.js';
import { buildNetwork } from '../../src/nn/build.js';
import { Curvature } from '../../src/curvature/curvatureOperators.js';
import { Rng } from '../../src/util/random.js';

/**
 * Issue 3 memory goal: peak memory for a 1M-parameter net over 60k samples stays under 2 GiB (one
 * Hess·v, one H·v, and a block of 8 Hess·v as SLQ's start vectors in lockstep request it). Per sample
 * the engine holds the split's batches (one copy of the data) and the recorded passes it keeps, at
 * most ExecutionOptions.recordingBudget (1 GiB by default); everything else streams batch by batch.
 */
test(
  '1M-parameter MLP over 60,000 samples: peak RSS < 2 GiB (single products and a block of 8), no tensors kept',
  { skip: !process.env.SPECPIPE_SLOW && 'set SPECPIPE_SLOW=1' },
  async () => {
    await initBackend('cpu');
    const network = buildNetwork({ kind: 'mlp', input: [1, 28, 28], hidden: [1200, 60], activation: 'relu', classes: 10 });
    assert.ok(network.size > 1_000_000, `P = ${network.size}`);
    const { params, buffers } = network.init(0);
    const n = 60_000;
    const rng = new Rng(1);
    const data = {
      images: Float32Array.from({ length: n * 784 }, () => rng.uniform()),
      shape: [n, 1, 28, 28] as [number, number, number, number],
      labels: Int32Array.from({ length: n }, () => rng.int(10)),
    };
    const cv = await Curvature.open({ network, params, buffers, data, loss: 'cross-entropy' }, { batchSize: 512 });
    const v = Float64Array.from({ length: cv.size }, () => rng.normal());
    let peak = process.memoryUsage().rss;
    const timer = setInterval(() => (peak = Math.max(peak, process.memoryUsage().rss)), 20);
    const tensors = tf.memory().numTensors;
    try {
      await cv.operator('hessian').matvec(v);
      await cv.operator('residual').matvec(v);
      await cv.operator('hessian').matmat(Array.from({ length: 8 }, () => v));
    } finally {
      clearInterval(timer);
    }
    peak = Math.max(peak, process.memoryUsage().rss);
    await cv.close(); // frees the recorded passes the session kept
    console.log(
      `peak RSS ${(peak / 2 ** 20).toFixed(0)} MiB (data ${(data.images.byteLength / 2 ** 20).toFixed(0)} MiB, P = ${cv.size})`,
    );
    assert.equal(tf.memory().numTensors, tensors);
    assert.ok(peak < 2 * 2 ** 30, `peak RSS ${peak} bytes`);
    tf.dispose([...params, ...buffers]);
  },
);
