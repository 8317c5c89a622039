// The MLP products over sgemm (src/curvature/mlpBatchCurvature.ts, what Curvature.open runs for a plain MLP on
// the cpu backend with native kernels) against the float64 references of mlpCurvature64.ts (themselves tested
// against dual numbers), every product kind, both activations and losses, a block of vectors, batches that do
// not divide N, 3-channel inputs (NHWC batches flattened in PyTorch's C, H, W order); and against the tfjs
// autodiff path (BatchCurvature) on the same batch.
import { test, before } from 'node:test';
import assert from 'node:assert/strict';
import * as tf from '@tensorflow/tfjs-core';
import { initBackend } from '../../src/backend/backend.js';
import { buildNetwork } from '../../src/nn/build.js';
import { Curvature } from '../../src/curvature/curvatureOperators.js';
import { BatchCurvature } from '../../src/curvature/batchCurvature.js';
import { MlpBatchCurvature } from '../../src/curvature/mlpBatchCurvature.js';
import { batchProductsFor, productPath } from '../../src/curvature/batchProducts.js';
import { flattenParameters, unflattenParameters } from '../../src/curvature/flatParameters.js';
import { mlp64Products } from '../../src/curvature/mlpCurvature64.js';
import { sliceBatch } from '../../src/data/batches.js';
import type { Split } from '../../src/data/dataset.js';
import { Rng } from '../../src/util/random.js';

let native = false;
before(async () => {
  const info = await initBackend('cpu');
  native = info.kernels !== 'stock';
});

const maxAbsDiff = (a: ArrayLike<number>, b: ArrayLike<number>): number => {
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i]! - b[i]!));
  return m;
};
const maxAbs = (a: ArrayLike<number>): number => {
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i]!));
  return m;
};

/** A 3×2×2-input MLP 12-5-4-3 with θ ~ 0.6·N(0, 1) (curvature well away from zero) and N normal samples. */
function problem(activation: 'tanh' | 'relu', loss: 'cross-entropy' | 'mse', N: number) {
  const network = buildNetwork({ kind: 'mlp', input: [3, 2, 2], hidden: [5, 4], activation, classes: 3 });
  const rng = new Rng(11);
  const theta = Float64Array.from({ length: network.size }, () => 0.6 * rng.normal());
  const data: Split = {
    images: Float32Array.from({ length: N * 12 }, () => rng.normal()),
    shape: [N, 3, 2, 2],
    labels: Int32Array.from({ length: N }, (_, i) => (i * 7) % 3),
  };
  const params = unflattenParameters(theta, network.params);
  return { network, theta: Float64Array.from(flattenParameters(params)), params, data, loss };
}

for (const activation of ['tanh', 'relu'] as const)
  for (const loss of ['cross-entropy', 'mse'] as const)
    test(`MLP products over sgemm = the float64 reference: mlp 12-5-4-3 ${activation} × ${loss}, 3 vectors, batches of 4 over 9`, async (t) => {
      if (!native) return t.skip('no native sgemm here (the tfjs path serves MLPs)');
      const p = problem(activation, loss, 9);
      assert.equal(productPath(p.network), 'mlp-sgemm');
      const curvature = await Curvature.open(
        { network: p.network, params: p.params, buffers: [], data: p.data, loss },
        { batchSize: 4 },
      );
      const rng = new Rng(5);
      const vs = [0, 1, 2].map(() => Float64Array.from({ length: curvature.size }, () => rng.normal()));
      const ref = vs.map((v) => mlp64Products({ sizes: [12, 5, 4, 3], activation, theta: p.theta, data: p.data, loss }, v));
      const close = (name: string, got: ArrayLike<number>, want: ArrayLike<number>): void => {
        const err = maxAbsDiff(got, want) / maxAbs(want);
        assert.ok(err <= 2e-6, `${name}: relative error ${err}`);
      };
      const hess = await curvature.hessianVectors(vs);
      const ggn = await curvature.ggnVectors(vs);
      const residual = await curvature.residualVectors(vs);
      const both = await curvature.hessianAndGgnVectors(vs);
      vs.forEach((_, k) => {
        close(`Hess·v_${k}`, hess[k]!, ref[k]!.hessian);
        close(`G·v_${k}`, ggn[k]!, ref[k]!.ggn);
        close(`H·v_${k}`, residual[k]!, ref[k]!.residual);
        close(`(Hess·v_${k}, ·)`, both.hessian[k]!, ref[k]!.hessian);
        close(`(·, G·v_${k})`, both.ggn[k]!, ref[k]!.ggn);
      });
      assert.ok(maxAbs(ref[0]!.residual) > 1e-3 * maxAbs(ref[0]!.hessian), 'H is not zero here: the test can tell H from G');
      await curvature.close();
    });

test('gradient, logits and cotangent products over sgemm = the tfjs path on the same batches, and a worker shard agrees', async (t) => {
  if (!native) return t.skip('no native sgemm here');
  const p = problem('tanh', 'cross-entropy', 10);
  const tensors = tf.memory().numTensors;
  const fast = batchProductsFor(p.network, p.params, [], p.loss);
  assert.ok(fast instanceof MlpBatchCurvature);
  const slow = new BatchCurvature(p.network, p.params, [], p.loss);
  const rng = new Rng(2);
  for (const [start, end] of [
    [0, 6],
    [6, 10],
  ] as const) {
    const batch = sliceBatch(p.data, start, end);
    const rel = (a: ArrayLike<number>, b: ArrayLike<number>): number => maxAbsDiff(a, b) / maxAbs(b);
    assert.ok(rel(fast.gradientSum(batch), slow.gradientSum(batch)) <= 1e-6, 'gradient');
    assert.ok(rel(fast.logits(batch), slow.logits(batch)) <= 1e-6, 'logits');
    const us = [0, 1].map(() => Float32Array.from({ length: (end - start) * 3 }, () => rng.normal()));
    const [a, b] = [fast.cotangentProductSums(batch, us), slow.cotangentProductSums(batch, us)];
    us.forEach((_, k) => assert.ok(rel(a[k]!, b[k]!) <= 1e-6, `cotangent set ${k}`));
    const v = Float32Array.from({ length: fast.size }, () => rng.normal());
    const tv = slow.vectors([v]);
    assert.ok(rel(fast.hessianVectorSums(batch, [v])[0]!, slow.hessianVectorSums(batch, tv)[0]!) <= 1e-5, 'Hess·v');
    slow.disposeVectors(tv);
  }
  const problemOf = { network: p.network, params: p.params, buffers: [], data: p.data, loss: p.loss } as const;
  const local = await Curvature.open(problemOf, { batchSize: 3 });
  const workers = await Curvature.open(problemOf, { batchSize: 3, workers: 2 });
  const v = Float64Array.from({ length: local.size }, () => rng.normal());
  const [x, y] = [await local.hessianVector(v), await workers.hessianVector(v)];
  assert.ok(maxAbsDiff(x, y) / maxAbs(x) <= 1e-6, 'in-process and two worker threads');
  await local.close();
  await workers.close();
  assert.equal(tf.memory().numTensors, tensors, 'no tensor left');
});
