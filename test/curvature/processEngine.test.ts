import { test, before } from 'node:test';
import assert from 'node:assert/strict';
import * as tf from '@tensorflow/tfjs-core';
import { initBackend } from '../../src/backend/backend.js';
import { Curvature, type CurvatureProblem } from '../../src/curvature/curvatureOperators.js';
import { ShardedProductEngine } from '../../src/curvature/shardedProductEngine.js';
import { processTransport } from '../../src/curvature/processTransport.js';
import { defaultNetworkBuilder } from '../../src/curvature/networkBuilder.js';
import { registerSecondOrderGradients } from '../../src/curvature/secondOrderGradients.js';
import { buildNetwork } from '../../src/nn/build.js';
import type { ModelSpec } from '../../src/nn/network.js';
import type { Split } from '../../src/data/dataset.js';
import { Rng } from '../../src/util/random.js';
import { assertProbesAgree, productProbe } from './productProbe.js';

/**
 * Data-parallel products over shard PROCESSES (child_process.fork): the same full-data products
 * as in this thread, to float64 rounding of the regrouped partial sums, for 1, 2 and 3 processes;
 * a shard that dies or hangs fails the product with an error naming it; close() leaves no process.
 */

before(async () => {
  // the same backend (and kernel set) the shard processes start
  await initBackend('cpu');
  registerSecondOrderGradients();
});

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

function randomSplit(spec: ModelSpec, n: number, seed: number): Split {
  const [c, h, w] = spec.input.length === 3 ? spec.input : [spec.input[0]!, 1, 1];
  const rng = new Rng(seed);
  return {
    images: Float32Array.from({ length: n * c! * h! * w! }, () => rng.normal()),
    shape: [n, c!, h!, w!],
    labels: Int32Array.from({ length: n }, () => rng.int(spec.classes)),
  };
}

const NETS: { name: string; spec: ModelSpec; loss: 'cross-entropy' | 'mse'; samples: number; batchSize: number }[] = [
  {
    name: 'tiny MLP (tanh)',
    spec: { kind: 'mlp', input: [1, 3, 3], hidden: [5, 4], activation: 'tanh', classes: 3 },
    loss: 'cross-entropy',
    samples: 23,
    batchSize: 4,
  },
  {
    name: 'lenet',
    spec: { kind: 'lenet', input: [1, 8, 8], channels: [2, 3], hidden: 6, kernel: 3, classes: 4 },
    loss: 'mse',
    samples: 13,
    batchSize: 2,
  },
];

for (const net of NETS) {
  test(`${net.name}: 1, 2 and 3 shard processes give the in-thread Hess·v, G·v, H·v, gradient, logits and Σ Jᵀu (≤ 1e-12)`, async () => {
    const network = buildNetwork(net.spec);
    const { params, buffers } = network.init(3);
    const data = randomSplit(net.spec, net.samples, 9);
    const problem: CurvatureProblem = {
      network,
      params,
      buffers,
      data,
      loss: net.loss,
    };
    const execution = { batchSize: net.batchSize, backend: 'cpu' as const };
    const local = await Curvature.open(problem, execution);
    const all = productProbe(local.size, net.samples, net.spec.classes);
    const expected = await all(local);
    for (const processes of [1, 2, 3]) {
      const par = await Curvature.open(problem, { ...execution, processes });
      const pids = par.processIds;
      try {
        assert.equal(par.workers, processes);
        assert.equal(pids.length, processes);
        assert.ok(pids.every(alive) && !pids.includes(process.pid));
        const got = await all(par);
        assertProbesAgree(got, expected, `${processes} processes`);
        // each product ran every batch exactly once per vector, in some shard process (not in this one)
        const batches = Math.ceil(net.samples / net.batchSize);
        assert.equal(await par.operator('ggn').batchEvaluations(), 7 * batches);
      } finally {
        await par.close();
      }
      for (const pid of pids) assert.equal(alive(pid), false, `shard process ${pid} still alive after close()`);
    }
    tf.dispose([...params, ...buffers]);
  });
}

const MLP = NETS[0]!;

async function openEngine(processes: number, extra: { productTimeoutMs?: number } = {}, samples = 40) {
  const network = buildNetwork(MLP.spec);
  const { params, buffers } = network.init(1);
  const engine = await ShardedProductEngine.open(
    { network, params, buffers, data: randomSplit(MLP.spec, samples, 3), loss: MLP.loss },
    { shards: processes, batchSize: 4, recordingBudget: 0, builder: defaultNetworkBuilder(), backend: 'cpu', ...extra },
    processTransport(),
  );
  tf.dispose([...params, ...buffers]);
  return engine;
}

test('a shard process killed mid-product fails that product and every later one with an error naming the shard; close() ends the rest', async () => {
  // enough samples that the product is still running when the signal lands (tiny MLP products take microseconds)
  const engine = await openEngine(2, {}, 20_000);
  const pids = engine.pids;
  try {
    assert.equal(pids.length, 2);
    assert.ok(pids.every(alive));
    const v = new Float32Array(engine.size).fill(0.5);
    const product = engine.run({ kind: 'hessian', vectors: [v] });
    process.kill(pids[1]!, 'SIGKILL');
    await assert.rejects(
      product,
      /curvature shard 2 of 2 \(samples \[10000, 20000\), pid \d+\) exited \(signal SIGKILL\) during a hessian product/,
    );
    // no hang afterwards: the engine stays failed
    await assert.rejects(engine.run({ kind: 'gradient' }), /curvature shard 2 of 2 .* exited \(signal SIGKILL\)/);
  } finally {
    await engine.close();
  }
  for (const pid of pids) assert.equal(alive(pid), false, `shard process ${pid} still alive after close()`);
});

test('a hung shard process (SIGSTOP) fails the product after productTimeoutMs instead of hanging', async () => {
  const engine = await openEngine(2, { productTimeoutMs: 1500 });
  const pids = engine.pids;
  try {
    process.kill(pids[0]!, 'SIGSTOP');
    await assert.rejects(
      engine.run({ kind: 'gradient' }),
      /curvature shard 1 of 2 \(samples \[0, 20\), pid \d+\) did not answer within 1\.5 s \(stopped\) during a gradient product/,
    );
  } finally {
    await engine.close();
  }
  for (const pid of pids) assert.equal(alive(pid), false, `shard process ${pid} still alive after close()`);
});

test('a shard process that cannot rebuild its network fails the start with the reason', async () => {
  const network = buildNetwork(MLP.spec);
  const { params, buffers } = network.init(1);
  await assert.rejects(
    () =>
      Curvature.open(
        {
          network,
          params,
          buffers,
          data: randomSplit(MLP.spec, 8, 1),
          loss: 'mse',
        },
        {
          batchSize: 2,
          processes: 2,
          backend: 'cpu',
          builder: { ...defaultNetworkBuilder(), exportName: 'noSuchBuilder' },
        },
      ),
    /curvature shard process failed to start: curvature shard \d of 2 .*no function export "noSuchBuilder"/,
  );
  await assert.rejects(
    () =>
      Curvature.open(
        { network, params, buffers, data: randomSplit(MLP.spec, 8, 1), loss: 'mse' },
        { batchSize: 2, processes: 1.5 },
      ),
    /processes\) must be an integer ≥ 1, received 1.5/,
  );
  tf.dispose([...params, ...buffers]);
});
