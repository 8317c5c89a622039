import { test, before } from 'node:test';
import assert from 'node:assert/strict';
import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-backend-cpu';
import { registerSecondOrderGradients } from '../../src/curvature/secondOrderGradients.js';
import { BatchCurvature } from '../../src/curvature/batchCurvature.js';
import { RecordedTape, canRecordTape, sharedTapeAvailable } from '../../src/curvature/sharedTape.js';
import { unflattenParameters } from '../../src/curvature/flatParameters.js';
import { sliceBatch } from '../../src/data/batches.js';
import { Rng } from '../../src/util/random.js';
import { TINY_NETWORKS, buildTinyNetwork, countingForwards, randomSplit } from './tinyNetworks.js';
import { relativeError } from '../util/relativeError.js';

/**
 * The recorded-tape products (src/curvature/sharedTape.ts: G·v's VJP reuses the J·v forward pass;
 * second backwards skip zero-derivative inputs) against plain tf.grads, on tiny nets with every
 * supported layer and both losses: same Hess·v, G·v and (Hess·v, G·v) to float32 rounding, no
 * tensor kept. (Both paths are checked against the float64 reference in curvatureOperators.test.ts;
 * the default is the recorded tape.)
 */

before(async () => {
  await tf.setBackend('cpu');
  registerSecondOrderGradients();
});

test('the tape internals are available in this tfjs-core', () => {
  assert.ok(sharedTapeAvailable());
  assert.ok(canRecordTape());
});

for (const spec of TINY_NETWORKS) {
  for (const loss of ['cross-entropy', 'mse'] as const) {
    test(`${spec.name} × ${loss}: recorded tape = plain tf.grads, no tensor kept`, () => {
      const network = buildTinyNetwork(spec);
      const { params, buffers } = network.init(3);
      const batch = sliceBatch(randomSplit(spec, 5, 9), 0, 5);
      const bc = new BatchCurvature(network, params, buffers, loss);
      assert.equal(bc.shareForward, true, 'recorded tape is the default');
      const rng = new Rng(4);
      const v = unflattenParameters(
        Float64Array.from({ length: bc.size }, () => rng.normal()),
        network.params,
      );
      const tensors = tf.memory().numTensors;
      const run = (share: boolean) => {
        bc.shareForward = share;
        return {
          hessian: bc.hessianVectorSum(batch, v),
          ggn: bc.ggnVectorSum(batch, v),
          both: bc.hessianAndGgnVectorSum(batch, v),
          residual: bc.residualVectorSums(batch, [v])[0]!,
        };
      };
      const taped = run(true);
      const plain = run(false);
      assert.equal(tf.memory().numTensors, tensors, 'no tensor kept');
      for (const [name, a, b] of [
        ['Hess·v', taped.hessian, plain.hessian],
        ['G·v', taped.ggn, plain.ggn],
        ['(Hess·v, G·v).hessian', taped.both.hessian, plain.both.hessian],
        ['(Hess·v, G·v).ggn', taped.both.ggn, plain.both.ggn],
        ['G·v alone vs with Hess·v', taped.ggn, taped.both.ggn],
      ] as const) {
        const e = relativeError(a, b);
        assert.ok(e <= 1e-6, `${name}: relative difference ${e}`);
      }
      // H·v directly (frozen r) against Hess·v − G·v (plain tf.grads), up to the subtraction's float32 rounding
      const e = relativeError(taped.residual, plain.residual);
      assert.ok(e <= 1e-4, `H·v: relative difference ${e}`);
      tf.dispose([...v, ...params, ...buffers]);
    });
  }
}

for (const spec of TINY_NETWORKS) {
  test(`${spec.name}: a block of 3 vectors = 3 single products, with ONE forward pass for the block`, () => {
    const network = buildTinyNetwork(spec);
    const counting = countingForwards(network);
    const { params, buffers } = network.init(5);
    const batch = sliceBatch(randomSplit(spec, 6, 2), 0, 6);
    const bc = new BatchCurvature(counting.network, params, buffers, 'cross-entropy');
    const rng = new Rng(8);
    const vs = [0, 1, 2].map(() =>
      unflattenParameters(
        Float64Array.from({ length: bc.size }, () => rng.normal()),
        network.params,
      ),
    );
    const tensors = tf.memory().numTensors;
    for (const share of [true, false]) {
      bc.shareForward = share;
      counting.forwards = 0;
      const block = {
        hessian: bc.hessianVectorSums(batch, vs),
        ggn: bc.ggnVectorSums(batch, vs),
        both: bc.hessianAndGgnVectorSums(batch, vs),
        residual: bc.residualVectorSums(batch, vs),
      };
      // recorded tape: one forward per block and product kind; plain tf.grads: one (or two) per vector
      assert.equal(counting.forwards, share ? 4 : 3 + 2 * 3 + 2 * 3 + 2 * 3, `forward passes with shareForward = ${share}`);
      vs.forEach((v, k) => {
        const both = bc.hessianAndGgnVectorSum(batch, v);
        for (const [name, a, b] of [
          ['Hess·v', block.hessian[k]!, bc.hessianVectorSum(batch, v)],
          ['G·v', block.ggn[k]!, bc.ggnVectorSum(batch, v)],
          ['(Hess·v, G·v).hessian', block.both.hessian[k]!, both.hessian],
          ['(Hess·v, G·v).ggn', block.both.ggn[k]!, both.ggn],
          ['H·v', block.residual[k]!, bc.residualVectorSums(batch, [v])[0]!],
        ] as const) {
          assert.equal(a.length, bc.size);
          assert.ok(relativeError(a, b) <= 1e-6, `${name}, vector ${k}, shareForward = ${share}: ${relativeError(a, b)}`);
        }
      });
    }
    assert.equal(tf.memory().numTensors, tensors, 'no tensor kept');
    tf.dispose([...vs.flat(), ...params, ...buffers]);
  });
}

for (const spec of TINY_NETWORKS) {
  test(`${spec.name}: C cotangent sets Σ_i J_iᵀ u_ik share ONE forward pass, = plain tf.grads VJPs`, () => {
    const network = buildTinyNetwork(spec);
    const counting = countingForwards(network);
    const { params, buffers } = network.init(6);
    const n = 6;
    const batch = sliceBatch(randomSplit(spec, n, 3), 0, n);
    const bc = new BatchCurvature(counting.network, params, buffers, 'cross-entropy');
    const rng = new Rng(10);
    const classes = network.spec.classes;
    const cotangents = [0, 1, 2, 3].map(() => Float32Array.from({ length: n * classes }, () => rng.normal()));
    const tensors = tf.memory().numTensors;
    const run = (share: boolean): Float32Array[] => {
      bc.shareForward = share;
      counting.forwards = 0;
      const out = bc.cotangentProductSums(batch, cotangents);
      assert.equal(counting.forwards, share ? 1 : cotangents.length, `forward passes with shareForward = ${share}`);
      return out;
    };
    const taped = run(true);
    const plain = run(false);
    assert.equal(tf.memory().numTensors, tensors, 'no tensor kept');
    taped.forEach((a, k) => {
      assert.equal(a.length, bc.size);
      assert.ok(relativeError(a, plain[k]!) <= 1e-6, `set ${k}: ${relativeError(a, plain[k]!)}`);
    });
    tf.dispose([...params, ...buffers]);
  });
}

test('RecordedTape: several back-propagations through one forward pass; released tapes refuse; nesting refused', () => {
  const x = tf.tensor1d([0.5, -1, 2]);
  const w = tf.scalar(1.5);
  let y: tf.Tensor | undefined;
  const { tape, result } = RecordedTape.record(() => {
    y = tf.keep(tf.mul(tf.tanh(tf.mul(x, w)), w)); // y = w·tanh(w x)
    return tf.sum(y);
  });
  const xs = x.arraySync();
  const [dw1] = tape.gradients([w], result); // d/dw Σ w·tanh(w x)
  const [dw2] = tape.gradients([w], y!, tf.tensor1d([1, 0, 0])); // d/dw of y_0 only
  const want1 = xs.reduce((s, xi) => s + Math.tanh(1.5 * xi) + 1.5 * xi * (1 - Math.tanh(1.5 * xi) ** 2), 0);
  const want2 = Math.tanh(1.5 * xs[0]!) + 1.5 * xs[0]! * (1 - Math.tanh(1.5 * xs[0]!) ** 2);
  assert.ok(Math.abs((dw1!.arraySync() as number) - want1) < 1e-5, `${dw1!.arraySync()} vs ${want1}`);
  assert.ok(Math.abs((dw2!.arraySync() as number) - want2) < 1e-5, `${dw2!.arraySync()} vs ${want2}`);
  tape.release();
  assert.throws(() => tape.gradients([w], result), /already released/);
  assert.throws(
    () => tf.grads((a: tf.Tensor) => RecordedTape.record(() => tf.sum(a)).result)([x]),
    /inside another gradient computation/,
  );
  tf.dispose([x, w, y!, result, dw1!, dw2!]);
});
