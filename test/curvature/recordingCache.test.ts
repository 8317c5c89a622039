import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as tf from '@tensorflow/tfjs-core';
import { initBackend } from '../../src/backend/backend.js';
import { Curvature } from '../../src/curvature/curvatureOperators.js';
import { Rng } from '../../src/util/random.js';
import { TINY_NETWORKS, buildTinyNetwork, countingForwards, randomSplit } from './tinyNetworks.js';

/**
 * Kept recordings (src/curvature/recordingCache.ts): each batch's forward and first backward pass
 * is recorded once per curvature session and reused by every later product — the same products bit
 * for bit as recording per product, on every tiny net (BatchNorm, residual, concatenation, pooling
 * included), for every product kind, asked twice so the second answer comes from the kept record.
 */

const SAMPLES = 7;
const BATCH = 3;
const BATCHES = Math.ceil(SAMPLES / BATCH);

async function session(spec: (typeof TINY_NETWORKS)[number], recordingBudget: number, samples = SAMPLES) {
  const counting = countingForwards(buildTinyNetwork(spec));
  const { params, buffers } = counting.network.init(4);
  const data = randomSplit(spec, samples, 9);
  const curvature = await Curvature.open(
    { network: counting.network, params, buffers, data, loss: 'cross-entropy' },
    { batchSize: BATCH, recordingBudget },
  );
  return { curvature, counting, params, buffers };
}

/** Every product kind, each asked twice: [first answers, second answers]. */
async function everyProduct(c: Curvature, vs: Float64Array[], cotangents: Float64Array[]): Promise<Float64Array[][]> {
  const once = async () => [
    ...(await c.products('hessian', vs)),
    ...(await c.products('ggn', vs)),
    ...(await c.products('residual', vs)),
    ...Object.values(await c.hessianAndGgnVectors(vs)).flat(),
    ...(await c.weightedCotangentProduct(cotangents)),
  ];
  return [await once(), await once()];
}

for (const spec of TINY_NETWORKS) {
  test(`kept recordings give the products bit for bit, asked once or again: ${spec.name}`, async () => {
    await initBackend('cpu');
    const tensors = tf.memory().numTensors;
    const kept = await session(spec, 64 * 2 ** 20);
    const fresh = await session(spec, 0);
    const rng = new Rng(3);
    const vs = [0, 1].map(() => Float64Array.from({ length: kept.curvature.size }, () => rng.normal()));
    const cotangents = [0, 1].map(() => Float64Array.from({ length: SAMPLES * spec.classes }, () => rng.normal()));

    kept.counting.forwards = 0;
    const [first, second] = await everyProduct(kept.curvature, vs, cotangents);
    // one recorded forward per batch and kind of record (Hess, H, G, Hess+G, logits); then none
    assert.equal(kept.counting.forwards, 5 * BATCHES, 'forward passes with kept recordings');
    const [reference] = await everyProduct(fresh.curvature, vs, cotangents);
    for (const [k, r] of reference!.entries()) {
      assert.deepEqual(first![k], r, `product ${k}: kept recording, first use`);
      assert.deepEqual(second![k], r, `product ${k}: kept recording, reused`);
    }

    await kept.curvature.close();
    await fresh.curvature.close();
    tf.dispose([...kept.params, ...kept.buffers, ...fresh.params, ...fresh.buffers]);
    assert.equal(tf.memory().numTensors, tensors, 'close() frees every kept recording');
  });
}

test('past the budget, batches are recorded per product; a recording of another kind makes room first', async () => {
  await initBackend('cpu');
  const spec = TINY_NETWORKS[0]!;
  // the bytes one full batch's Hess·v recording keeps: a session over one batch, before and after close()
  const probe = await session(spec, 2 ** 30, BATCH);
  const v = Float64Array.from({ length: probe.curvature.size }, (_, i) => Math.sin(i));
  await probe.curvature.products('hessian', [v]);
  const withRecording = tf.memory().numBytes;
  await probe.curvature.close();
  const oneBatch = withRecording - tf.memory().numBytes;
  assert.ok(oneBatch > 0, `one batch's recording holds ${oneBatch} bytes`);
  tf.dispose([...probe.params, ...probe.buffers]);

  // room for the first batch's recording, not for the second one as well
  const { curvature, counting, params, buffers } = await session(spec, 1.5 * oneBatch);
  const forwardsOf = async (kind: 'hessian' | 'residual') => {
    counting.forwards = 0;
    await curvature.products(kind, [v]);
    return counting.forwards;
  };
  assert.equal(await forwardsOf('hessian'), BATCHES);
  const perProduct = await forwardsOf('hessian');
  assert.ok(perProduct >= 1 && perProduct < BATCHES, `Hess·v recorded ${perProduct} of ${BATCHES} batches again`);
  assert.equal(await forwardsOf('residual'), BATCHES);
  assert.equal(await forwardsOf('residual'), perProduct, 'H·v took the room of the Hess·v recordings');
  assert.equal(await forwardsOf('hessian'), BATCHES, 'the Hess·v recordings were evicted');
  assert.equal(await forwardsOf('hessian'), perProduct, 'and Hess·v takes its room back');
  await curvature.close();
  tf.dispose([...params, ...buffers]);
});

test('recordingBudget is checked, naming the value', async () => {
  const spec = TINY_NETWORKS[0]!;
  const network = buildTinyNetwork(spec);
  const { params, buffers } = network.init(1);
  await assert.rejects(
    Curvature.open({ network, params, buffers, data: randomSplit(spec, 3, 1), loss: 'mse' }, { recordingBudget: -1 }),
    /curvature recordingBudget must be a number of bytes ≥ 0, received -1/,
  );
  tf.dispose([...params, ...buffers]);
});
