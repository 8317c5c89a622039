import { test, before } from 'node:test';
import assert from 'node:assert/strict';
import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-backend-cpu';
import { buildNetwork } from '../../src/nn/build.js';
import type { ModelSpec } from '../../src/nn/network.js';
import { Curvature } from '../../src/curvature/curvatureOperators.js';
import { registerSecondOrderGradients } from '../../src/curvature/secondOrderGradients.js';
import { flattenParameters } from '../../src/curvature/flatParameters.js';
import { Rng } from '../../src/util/random.js';
import type { TinyNetSpec } from '../reference/tinyNetSpec.js';
import { referenceProducts } from '../reference/referenceCurvature.js';
import { randomSplit, toNhwc } from './tinyNetworks.js';
import { relativeError } from '../util/relativeError.js';

/**
 * specpipe's own models (src/nn, built by buildNetwork) against the float64 reference, with the
 * same θ: the reference interprets an equivalent layer list (tfjs layouts: dense [in, out],
 * conv [k, k, in, out]; LeNet flattens in PyTorch's (C, H, W) order).
 */
interface RealCase {
  readonly name: string;
  readonly model: ModelSpec;
  readonly mirror: TinyNetSpec;
}

const CASES: readonly RealCase[] = [
  {
    name: 'mlp 16-6-5-3 tanh',
    model: { kind: 'mlp', input: [1, 4, 4], hidden: [6, 5], activation: 'tanh', classes: 3 },
    mirror: {
      kind: 'tiny',
      name: 'mlp',
      input: [4, 4, 1],
      classes: 3,
      layers: [
        { op: 'flatten' },
        { op: 'dense', out: 6 },
        { op: 'tanh' },
        { op: 'dense', out: 5 },
        { op: 'tanh' },
        { op: 'dense', out: 3 },
      ],
    },
  },
  {
    name: 'lenet 2×8×8, channels 2-3, k3',
    model: { kind: 'lenet', input: [2, 8, 8], channels: [2, 3], hidden: 5, kernel: 3, classes: 3 },
    mirror: {
      kind: 'tiny',
      name: 'lenet',
      input: [8, 8, 2],
      classes: 3,
      layers: [
        { op: 'conv', out: 2, k: 3, stride: 1, pad: 'same' },
        { op: 'relu' },
        { op: 'maxpool', k: 2, stride: 2 },
        { op: 'conv', out: 3, k: 3, stride: 1, pad: 'same' },
        { op: 'relu' },
        { op: 'maxpool', k: 2, stride: 2 },
        { op: 'flattenChw' },
        { op: 'dense', out: 5 },
        { op: 'relu' },
        { op: 'dense', out: 3 },
      ],
    },
  },
];

before(async () => {
  await tf.setBackend('cpu');
  registerSecondOrderGradients();
});

for (const c of CASES) {
  for (const loss of ['cross-entropy', 'mse'] as const) {
    test(`${c.name} × ${loss}: Hess·v, G·v, H·v of the real model match the float64 reference`, async () => {
      const network = buildNetwork(c.model);
      const { params, buffers } = network.init(4);
      const data = randomSplit(c.mirror, 5, 6);
      const curvature = await Curvature.open({ network, params, buffers, data, loss }, { batchSize: 2 });
      const rng = new Rng(7);
      const v = Float64Array.from({ length: curvature.size }, () => Math.fround(rng.normal()));
      const ref = referenceProducts(
        {
          spec: c.mirror,
          theta: flattenParameters(params),
          buffers: new Float64Array(0),
          x: toNhwc(data),
          labels: data.labels,
          loss,
        },
        v,
      );
      const hess = await curvature.operator('hessian').matvec(v);
      const { hessian, ggn } = await curvature.hessianAndGgnVector(v);
      const residual = await curvature.operator('residual').matvec(v);
      for (const [what, got, want] of [
        ['Hess·v', hess, ref.hessianVector],
        ['Hess·v (joint pass)', hessian, ref.hessianVector],
        ['G·v', ggn, ref.ggnVector],
        ['H·v', residual, ref.residualVector],
      ] as const) {
        const e = relativeError(got, want);
        assert.ok(e <= 1e-4, `${what}: relative error ${e}`);
      }
      tf.dispose([...params, ...buffers]);
    });
  }
}
