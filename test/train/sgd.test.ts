import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as tf from '@tensorflow/tfjs-core';
import { initBackend } from '../../src/backend/backend.js';
import { buildNetwork } from '../../src/nn/build.js';
import type { Split } from '../../src/data/dataset.js';
import { trainModel, type StateSnapshot } from '../../src/train/sgd.js';
import { learningRate, parseSchedule } from '../../src/train/schedule.js';
import { Rng } from '../../src/util/random.js';

await initBackend('auto');

function syntheticSplit(n: number, shape: [number, number, number], classes: number, seed: number): Split {
  const rng = new Rng(seed);
  const d = shape[0] * shape[1] * shape[2];
  const labels = Int32Array.from({ length: n }, (_, i) => i % classes);
  const images = new Float32Array(n * d);
  for (let i = 0; i < n; i++) for (let j = 0; j < d; j++) images[i * d + j] = rng.normal() + (j % classes === labels[i] ? 1 : 0);
  return { images, shape: [n, ...shape], labels };
}

test('SGD follows PyTorch semantics: d = g + λθ, b ← μb + d (b = d at first), θ ← θ − η_e b; per-epoch step schedule', async () => {
  const spec = { kind: 'mlp', input: [4], hidden: [], activation: 'relu', classes: 3 } as const;
  const network = buildNetwork(spec);
  const train = syntheticSplit(6, [4, 1, 1], 3, 2);
  const opts = {
    network,
    train,
    epochs: 3,
    lr: 0.3,
    momentum: 0.9,
    weightDecay: 0.01,
    batchSize: 6,
    seed: 5,
    schedule: { kind: 'step', stepSize: 1, gamma: 0.5 } as const,
    checkpoints: [0],
  };
  const result = await trainModel(opts);
  const init = result.checkpoints[0]!;
  // float64 reference in PyTorch layout: W [3, 4] from tfjs [4, 3].
  const W = Array.from({ length: 3 }, (_, o) => Array.from({ length: 4 }, (_, i) => init.params[0]![i * 3 + o]!));
  const b = Array.from(init.params[1]!);
  let bufW: number[][] | undefined;
  let bufB: number[] | undefined;
  const losses: number[] = [];
  for (let epoch = 0; epoch < 3; epoch++) {
    const lr = 0.3 * 0.5 ** epoch;
    const gW = W.map((r) => r.map(() => 0));
    const gB = [0, 0, 0];
    let loss = 0;
    for (let n = 0; n < 6; n++) {
      const x = Array.from(train.images.subarray(n * 4, n * 4 + 4));
      const z = W.map((r, o) => r.reduce((s, w, i) => s + w * x[i]!, b[o]!));
      const m = Math.max(...z);
      const e = z.map((t) => Math.exp(t - m));
      const sum = e.reduce((s, t) => s + t, 0);
      const y = train.labels[n]!;
      loss += (Math.log(sum) + m - z[y]!) / 6;
      e.forEach((t, o) => {
        const dz = (t / sum - (o === y ? 1 : 0)) / 6;
        gB[o]! += dz;
        x.forEach((xi, i) => (gW[o]![i]! += dz * xi));
      });
    }
    losses.push(loss);
    const dW = gW.map((r, o) => r.map((g, i) => g + 0.01 * W[o]![i]!));
    const dB = gB.map((g, o) => g + 0.01 * b[o]!);
    bufW = bufW === undefined ? dW : bufW.map((r, o) => r.map((v, i) => 0.9 * v + dW[o]![i]!));
    bufB = bufB === undefined ? dB : bufB.map((v, o) => 0.9 * v + dB[o]!);
    W.forEach((r, o) => r.forEach((_, i) => (r[i] = r[i]! - lr * bufW![o]![i]!)));
    b.forEach((_, o) => (b[o] = b[o]! - lr * bufB![o]!));
  }
  const gotW = result.params[0]!.dataSync();
  const gotB = result.params[1]!.dataSync();
  for (let o = 0; o < 3; o++) {
    for (let i = 0; i < 4; i++)
      assert.ok(Math.abs(gotW[i * 3 + o]! - W[o]![i]!) < 1e-5, `W[${o},${i}] ${gotW[i * 3 + o]} vs ${W[o]![i]}`);
    assert.ok(Math.abs(gotB[o]! - b[o]!) < 1e-5, `b[${o}] ${gotB[o]} vs ${b[o]}`);
  }
  result.history.forEach((h, e) => {
    assert.ok(Math.abs(h.trainLoss - losses[e]!) < 1e-5, `epoch ${e + 1} loss ${h.trainLoss} vs ${losses[e]}`);
    assert.equal(h.lr, 0.3 * 0.5 ** e);
    assert.ok(Number.isNaN(h.testAcc));
  });
  tf.dispose(result.params);
});

test('schedules: StepLR and CosineAnnealingLR values', () => {
  const step = parseSchedule('step', 9);
  assert.deepEqual(step, { kind: 'step', stepSize: 3, gamma: 0.1 });
  assert.deepEqual(
    [0, 2, 3, 6, 8].map((e) => learningRate(1, step, e, 9)),
    [1, 1, 0.1, 0.1 ** 2, 0.1 ** 2],
  );
  const cos = parseSchedule('cosine', 4);
  // η_e = η (1 + cos(π e / E)) / 2 with η = 2, E = 4.
  const want = [2, 1 + Math.SQRT1_2, 1, 1 - Math.SQRT1_2];
  [0, 1, 2, 3].forEach((e) => assert.ok(Math.abs(learningRate(2, cos, e, 4) - want[e]!) < 1e-15, `epoch ${e}`));
  assert.throws(() => parseSchedule('linear', 4), /--schedule must be one of constant\|step\|cosine, received "linear"/);
});

test('same seed ⇒ identical weights and running statistics (BatchNorm net); other seed differs; no tensor leaks; checkpoints', async () => {
  const spec = { kind: 'resnet18', input: [2, 6, 6], width: 1 / 32, classes: 3 } as const;
  const network = buildNetwork(spec);
  const train = syntheticSplit(10, [2, 6, 6], 3, 1);
  const test = syntheticSplit(6, [2, 6, 6], 3, 2);
  const run = async (
    seed: number,
  ): Promise<{ params: Float32Array[]; buffers: Float32Array[]; checkpoints: StateSnapshot[]; testAcc: number }> => {
    const r = await trainModel({
      network,
      train,
      test,
      epochs: 2,
      lr: 0.05,
      momentum: 0.9,
      weightDecay: 5e-4,
      batchSize: 4,
      seed,
      checkpoints: [0, 2],
    });
    const out = {
      params: r.params.map((t) => t.dataSync() as Float32Array),
      buffers: r.buffers.map((t) => t.dataSync() as Float32Array),
      checkpoints: r.checkpoints,
      testAcc: r.history[1]!.testAcc,
    };
    tf.dispose([...r.params, ...r.buffers]);
    return out;
  };
  const before = tf.memory().numTensors;
  const a = await run(3);
  assert.equal(tf.memory().numTensors, before, 'trainModel leaves no tensors behind');
  const b = await run(3);
  const c = await run(4);
  a.params.forEach((p, i) => assert.deepEqual(Array.from(b.params[i]!), Array.from(p), network.params[i]!.name));
  a.buffers.forEach((p, i) => assert.deepEqual(Array.from(b.buffers[i]!), Array.from(p), network.buffers[i]!.name));
  assert.notDeepEqual(Array.from(c.params[0]!), Array.from(a.params[0]!));
  // 2 epochs × ⌈10/4⌉ batches = 6 BatchNorm updates.
  const nbt = network.buffers.findIndex((e) => e.name === 'bn1.num_batches_tracked');
  assert.deepEqual(Array.from(a.buffers[nbt]!), [6]);
  assert.deepEqual(
    a.checkpoints.map((s) => s.epoch),
    [0, 2],
  );
  const init = network.init(3);
  init.params.forEach((p, i) => assert.deepEqual(Array.from(a.checkpoints[0]!.params[i]!), Array.from(p.dataSync())));
  a.checkpoints[1]!.params.forEach((p, i) => assert.deepEqual(Array.from(p), Array.from(a.params[i]!)));
  tf.dispose([...init.params, ...init.buffers]);
  assert.ok(a.testAcc >= 0 && a.testAcc <= 1);
});

test('invalid training options are errors naming the value', async () => {
  const network = buildNetwork({ kind: 'mlp', input: [4], hidden: [], activation: 'relu', classes: 3 });
  const train = syntheticSplit(6, [4, 1, 1], 3, 2);
  const base = { network, train, epochs: 2, lr: 0.1, momentum: 0.9, weightDecay: 0, batchSize: 2, seed: 0 };
  await assert.rejects(
    () => trainModel({ ...base, checkpoints: [0, 3] }),
    /checkpoint epochs must be integers in \[0, 2\], received 3/,
  );
  await assert.rejects(() => trainModel({ ...base, batchSize: 0 }), /batch size must be a positive integer, received 0/);
  await assert.rejects(() => trainModel({ ...base, momentum: 1 }), /momentum must be in \[0, 1\), received 1/);
});
