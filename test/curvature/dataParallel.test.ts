import { test, before } from 'node:test';
import assert from 'node:assert/strict';
import * as tf from '@tensorflow/tfjs-core';
import { initBackend } from '../../src/backend/backend.js';
import { Curvature } from '../../src/curvature/curvatureOperators.js';
import { registerSecondOrderGradients } from '../../src/curvature/secondOrderGradients.js';
import { Rng } from '../../src/util/random.js';
import type { TinyNetSpec } from '../reference/tinyNetSpec.js';
import { buildTinyNetwork, randomSplit, tinyBuilder } from './tinyNetworks.js';
import { buildNetwork } from '../../src/nn/build.js';
import { assertProbesAgree, maxRelativeDifference, productProbe } from './productProbe.js';

/**
 * Data-parallel products: the same full-data products split over worker threads (one tfjs
 * backend each) agree with one thread up to float64 rounding of the partial sums (every batch
 * is computed identically; only the order of float64 additions changes).
 */

const SPEC: TinyNetSpec = {
  kind: 'tiny',
  name: 'cnn(bn)',
  input: [6, 6, 1],
  classes: 4,
  layers: [
    { op: 'conv', out: 3, k: 3, stride: 1, pad: 'same' },
    { op: 'bn' },
    { op: 'tanh' },
    { op: 'maxpool', k: 2, stride: 2 },
    { op: 'flatten' },
    { op: 'dense', out: 4 },
  ],
};

before(async () => {
  // the same backend (and kernel set) the workers start
  await initBackend('cpu');
  registerSecondOrderGradients();
});

test('1, 2 and 3 workers give the in-thread products (Hess·v, G·v, H·v, gradient, logits, cotangents)', async () => {
  const network = buildTinyNetwork(SPEC);
  const { params, buffers } = network.init(3);
  const data = randomSplit(SPEC, 23, 9);
  const problem = {
    network,
    params,
    buffers,
    data,
    loss: 'cross-entropy' as const,
  };
  const execution = { batchSize: 4, builder: tinyBuilder(SPEC), backend: 'cpu' as const };
  const local = await Curvature.open(problem, execution);
  const all = productProbe(local.size, 23, 4, 1);
  const expected = await all(local);
  for (const workers of [1, 2, 3]) {
    const par = await Curvature.open(problem, { ...execution, workers });
    try {
      assert.equal(par.workers, workers);
      assertProbesAgree(await all(par), expected, `${workers} workers`);
      // every batch ran exactly once per product, somewhere
      const evals = await par.operator('ggn').batchEvaluations();
      assert.equal(evals, 7 * Math.ceil(23 / 4)); // hessian, ggn, residual, a block of 2, gradient, cotangents: each batch once per vector, somewhere
    } finally {
      await par.close();
    }
  }
  tf.dispose([...params, ...buffers]);
});

test('a worker that cannot build its network fails the start with the reason', async () => {
  const network = buildTinyNetwork(SPEC);
  const { params, buffers } = network.init(3);
  await assert.rejects(
    () =>
      Curvature.open(
        {
          network,
          params,
          buffers,
          data: randomSplit(SPEC, 4, 1),
          loss: 'mse',
        },
        {
          batchSize: 2,
          workers: 1,
          backend: 'cpu',
          builder: { ...tinyBuilder(SPEC), exportName: 'noSuchBuilder' },
        },
      ),
    /curvature worker failed to start: .*no function export "noSuchBuilder"/,
  );
  tf.dispose([...params, ...buffers]);
});

test('workers rebuild specpipe models with the default builder (buildNetwork): lenet, 2 workers', async () => {
  const network = buildNetwork({ kind: 'lenet', input: [1, 8, 8], channels: [2, 3], hidden: 6, kernel: 3, classes: 4 });
  const { params, buffers } = network.init(1);
  const rng = new Rng(4);
  const data = {
    images: Float32Array.from({ length: 9 * 64 }, () => rng.uniform()),
    shape: [9, 1, 8, 8] as [number, number, number, number],
    labels: Int32Array.from({ length: 9 }, () => rng.int(4)),
  };
  const problem = { network, params, buffers, data, loss: 'mse' as const };
  const execution = { batchSize: 2, backend: 'cpu' as const };
  const local = await Curvature.open(problem, execution);
  const par = await Curvature.open(problem, { ...execution, workers: 2 });
  try {
    const v = Float64Array.from({ length: local.size }, () => rng.normal());
    const e = maxRelativeDifference(await par.operator('residual').matvec(v), await local.operator('residual').matvec(v));
    assert.ok(e <= 1e-12, `H·v, 2 workers vs in-thread: ${e}`);
  } finally {
    await par.close();
  }
  tf.dispose([...params, ...buffers]);
});
