import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import * as tf from '@tensorflow/tfjs-core';
import { initBackend } from '../../src/backend/backend.js';
import { Curvature, type CurvatureProblem } from '../../src/curvature/curvatureOperators.js';
import { registerSecondOrderGradients } from '../../src/curvature/secondOrderGradients.js';
import { buildNetwork } from '../../src/nn/build.js';
import type { ModelSpec } from '../../src/nn/network.js';
import type { Split } from '../../src/data/dataset.js';
import { Rng } from '../../src/util/random.js';
import { Queue } from 'bullmq';
import { redisOptions } from '../../src/executor/bullmq/redisConnection.js';
import { redisShardTransport } from '../../src/executor/bullmq/productShards.js';
import type { ExecutionOptions } from '../../src/curvature/execution.js';
import { redisMissing, startRedisServer, type RedisTestServer } from './redisServer.js';
import { assertProbesAgree, maxRelativeDifference, productProbe } from '../curvature/productProbe.js';

/**
 * Data-parallel products over Redis + BullMQ (issue 7, item 5): shards served by product-shard
 * worker processes equal the in-thread products to float64 rounding; a worker killed mid-product
 * loses its shard to another worker and the product still completes; with no worker the product
 * fails with an error naming the shards instead of hanging.
 */

const underTsx = import.meta.url.endsWith('.ts');
const SPEC: ModelSpec = { kind: 'mlp', input: [1, 3, 3], hidden: [5, 4], activation: 'tanh', classes: 3 };
const SAMPLES = 23;

let redis: RedisTestServer | undefined;
const workers: ChildProcess[] = [];

async function spawnProductWorker(queue: string, answerDelayMs?: number): Promise<ChildProcess> {
  const script = fileURLToPath(new URL(`./fixtures/productShardWorkerMain${underTsx ? '.ts' : '.js'}`, import.meta.url));
  const child = spawn(
    process.execPath,
    [
      ...(underTsx ? ['--import', 'tsx'] : []),
      script,
      redis!.url,
      queue,
      ...(answerDelayMs !== undefined ? [String(answerDelayMs)] : []),
    ],
    { stdio: ['ignore', 'pipe', 'pipe'] },
  );
  workers.push(child);
  let out = '';
  child.stderr?.on('data', (c: Buffer) => (out += c.toString()));
  await new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`product worker not ready in 60 s:\n${out}`)), 60_000);
    child.stdout?.on('data', (c: Buffer) => {
      out += c.toString();
      if (/ ready/.test(out)) {
        clearTimeout(timer);
        resolve();
      }
    });
    child.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`product worker exited with ${code}:\n${out}`));
    });
  });
  return child;
}

async function stop(child: ChildProcess, signal: NodeJS.Signals): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  child.kill(signal);
  await exited;
}

function problemOf(): CurvatureProblem {
  const network = buildNetwork(SPEC);
  const { params, buffers } = network.init(3);
  const rng = new Rng(9);
  const data: Split = {
    images: Float32Array.from({ length: SAMPLES * 9 }, () => rng.normal()),
    shape: [SAMPLES, 1, 3, 3],
    labels: Int32Array.from({ length: SAMPLES }, () => rng.int(3)),
  };
  return { network, params, buffers, data, loss: 'cross-entropy' };
}

const EXECUTION: ExecutionOptions = { batchSize: 4, backend: 'cpu' };

/** Execution over `count` Redis shards on `queue` (the transport the caller hands to Curvature.open). */
function overRedis(count: number, queue: string, extra: ExecutionOptions = {}): ExecutionOptions {
  return { ...EXECUTION, ...extra, shards: { transport: redisShardTransport({ redis: redis!.url, queueName: queue }), count } };
}

before(async () => {
  await initBackend('cpu');
  registerSecondOrderGradients();
  if (!redisMissing) redis = await startRedisServer();
});

after(async () => {
  await Promise.all(workers.map((w) => stop(w, 'SIGKILL')));
  await redis?.stop();
});

test(
  '2 product-shard workers: 2 and 3 shards give the in-thread Hess·v, G·v, H·v, gradient, logits and Σ Jᵀu (≤ 1e-12)',
  { skip: redisMissing },
  async () => {
    const queue = 'products-a';
    await Promise.all([spawnProductWorker(queue), spawnProductWorker(queue)]);
    const problem = problemOf();
    const local = await Curvature.open(problem, EXECUTION);
    const all = productProbe(local.size, SAMPLES, 3);
    const expected = await all(local);
    for (const shards of [2, 3]) {
      const par = await Curvature.open(problem, overRedis(shards, queue));
      try {
        assert.equal(par.workers, shards);
        const got = await all(par);
        assertProbesAgree(got, expected, `${shards} shards over Redis`);
        assert.equal(await par.operator('ggn').batchEvaluations(), 7 * Math.ceil(SAMPLES / 4));
      } finally {
        await par.close();
      }
    }
    tf.dispose([...problem.params, ...problem.buffers]);
  },
);

test(
  'a product-shard worker killed (kill -9) mid-product loses its shard to another worker; the product completes unchanged',
  { skip: redisMissing },
  async () => {
    const queue = 'products-b';
    const problem = problemOf();
    const local = await Curvature.open(problem, EXECUTION);
    const v = Float64Array.from({ length: local.size }, (_, i) => Math.sin(i));
    const expected = await local.hessianVector(v);
    // the only worker answers each job after 1.5 s: it is surely mid-product when killed
    const slow = await spawnProductWorker(queue, 1500);
    const par = await Curvature.open(problem, overRedis(2, queue));
    const counts = new Queue(queue, { connection: redisOptions(redis!.endpoint) });
    try {
      const product = par.hessianVector(v);
      for (let i = 0; i < 200 && (await counts.getActiveCount()) === 0; i++) await new Promise((r) => setTimeout(r, 20));
      assert.equal(await counts.getActiveCount(), 1, 'the slow worker took a shard job');
      await stop(slow, 'SIGKILL');
      await spawnProductWorker(queue); // finds the stalled job and answers both shards
      const e = maxRelativeDifference(await product, expected);
      assert.ok(e <= 1e-12, `after a worker was killed mid-product: ${e}`);
    } finally {
      await counts.close();
      await par.close();
    }
    tf.dispose([...problem.params, ...problem.buffers]);
  },
);

test('no product-shard worker on the queue: the start fails naming the shards, not a hang', { skip: redisMissing }, async () => {
  const problem = problemOf();
  const t0 = Date.now();
  await assert.rejects(
    () => Curvature.open(problem, overRedis(2, 'nobody-listens', { productTimeoutMs: 500 })),
    /curvature shard 1 of 2 \(samples \[0, 12\), session [0-9a-f]+\), curvature shard 2 of 2 \(samples \[12, 23\), session [0-9a-f]+\) did not answer the logits within/,
  );
  assert.ok(Date.now() - t0 < 30_000);
  tf.dispose([...problem.params, ...problem.buffers]);
});
