/**
 * The BullMQ executor on this machine: 1 vs 2 `specpipe worker` processes running a matrix of 8
 * independent CPU-bound stages (demo/hash-chain: iterated SHA-256, calibrated to about STAGE_S
 * seconds each), wall time of the whole run and the ratio, measured side by side in one run.
 * Then one large stage spread over processes (issue 7, item 5): a full-data Hess·v of an MLP
 * 784-128-64-10 over 4,096 MNIST digits (batches of 256) in this thread, over 1 and over 2
 * shard processes (ShardedProductEngine over processTransport), best of 3, and the 1 → 2 process speed-up; then over
 * Redis + BullMQ with 1 and 2 shards on 2 product-shard worker processes (redisShardTransport).
 *   npm run bench distributed        (SPECPIPE_BENCH_QUICK=1: shorter stages, 1,024 digits, for a smoke run)
 * Workers are started before timing; the wall time includes queueing, polling and artifact writes.
 * With 2 idle cores the ideal ratio is 2; a shared machine gives less.
 */
import { createHash } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { runJobGraph } from '../src/executor/bullmq/scheduler.js';
import { HASH_CHAIN_KIND, hashChainArtifactExists, hashChainValue } from '../src/executor/bullmq/demoHandlers.js';
import type { DistributedJob } from '../src/executor/bullmq/jobGraph.js';
import { redisMissing, startRedisServer } from '../test/distributed/redisServer.js';
import { spawnWorker, type WorkerProcess } from '../test/distributed/workerProcesses.js';
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import * as tf from '@tensorflow/tfjs-core';
import { initBackend, backendId } from '../src/backend/backend.js';
import { buildNetwork } from '../src/nn/build.js';
import { Curvature } from '../src/curvature/curvatureOperators.js';
import { redisShardTransport } from '../src/executor/bullmq/productShards.js';
import { loadMnist } from '../src/data/mnist.js';
import { selectSamples } from '../src/data/batches.js';
import { Rng } from '../src/util/random.js';

const QUICK = process.env.SPECPIPE_BENCH_QUICK === '1';
const STAGE_S = QUICK ? 0.25 : 1;
const STAGES = 8;

async function matrixBench(): Promise<void> {
  if (redisMissing) {
    console.log(`matrix bench skipped: ${redisMissing}`);
    return;
  }
  // Calibrate: SHA-256 rounds per second in this process.
  const probe = 20_000;
  hashChainValue('warm-up', [], probe);
  const t0 = performance.now();
  hashChainValue('calibrate', [], probe);
  const roundsPerS = probe / ((performance.now() - t0) / 1000);
  const cpuRounds = Math.max(1, Math.round(roundsPerS * STAGE_S));

  const redis = await startRedisServer();
  const store = mkdtempSync(join(tmpdir(), 'specpipe-bench-dist-'));
  const workers: WorkerProcess[] = [];
  const addWorker = async () => {
    // The test worker entry: it registers the demo handler (the CLI's worker does not).
    workers.push(await spawnWorker(['--redis', redis.url, '--store', store, '--queue', 'bench', '--quiet']));
  };
  const matrix = (tag: string): DistributedJob[] =>
    Array.from({ length: STAGES }, (_, i) => ({
      id: createHash('sha256').update(`${tag}-cell${i}`).digest('hex'),
      name: `train[cell=${i}]`,
      deps: [],
      kind: HASH_CHAIN_KIND,
      payload: { seed: `${tag}-${i}`, cpuRounds },
    }));
  const timeRun = async (tag: string): Promise<{ wall: number; perStage: number; workers: number }> => {
    const jobs = matrix(tag);
    const t = performance.now();
    const r = await runJobGraph(jobs, {
      redis: redis.endpoint,
      queueName: 'bench',
      pollMs: 20,
      isDone: (j) => hashChainArtifactExists(store, j.id),
    });
    const wall = (performance.now() - t) / 1000;
    if (r.outcomes.some((o) => o.status !== 'executed'))
      throw new Error(`bench run ${tag}: ${JSON.stringify(r.outcomes.map((o) => o.status))}`);
    return {
      wall,
      perStage: r.outcomes.reduce((s, o) => s + o.seconds, 0) / STAGES,
      workers: new Set(r.outcomes.map((o) => o.workerId)).size,
    };
  };
  try {
    await addWorker();
    const one = await timeRun('w1');
    await addWorker();
    const two = await timeRun('w2');
    console.log(
      `matrix of ${STAGES} CPU-bound stages (${cpuRounds} SHA-256 rounds ≈ ${STAGE_S} s each), BullMQ on a private redis-server`,
    );
    console.log(`  1 worker process : ${one.wall.toFixed(2)} s wall (${one.perStage.toFixed(2)} s per stage on its worker)`);
    console.log(
      `  2 worker processes: ${two.wall.toFixed(2)} s wall (${two.perStage.toFixed(2)} s per stage; ${two.workers} workers took jobs)`,
    );
    console.log(`  speedup 1 → 2 workers: ${(one.wall / two.wall).toFixed(2)}x (ideal 2.00x on 2 idle cores)`);
    // Queueing cost: wall time beyond the stages themselves, per stage, with one worker (stages run back to back).
    console.log(
      `  executor overhead with 1 worker: ${(((one.wall - STAGES * one.perStage) / STAGES) * 1000).toFixed(0)} ms per stage`,
    );
  } finally {
    await Promise.all(workers.map((w) => w.stop()));
    await redis.stop();
    rmSync(store, { recursive: true, force: true });
  }
}

/** Full-data Hess·v of an MLP 784-128-64-10 on MNIST: in this thread, over 1 and over 2 shard processes. */
async function processProductBench(): Promise<void> {
  const samples = QUICK ? 1024 : 4096;
  const info = await initBackend('auto');
  tf.env().set('IS_TEST', true);
  const mnist = loadMnist();
  const data = selectSamples(
    mnist.train,
    Int32Array.from({ length: samples }, (_, i) => i),
  );
  const network = buildNetwork({ kind: 'mlp', input: [1, 28, 28], hidden: [128, 64], activation: 'tanh', classes: 10 });
  const { params, buffers } = network.init(1);
  const problem = { network, params, buffers, data, loss: 'cross-entropy' as const };
  const execution = { batchSize: 256, backend: 'auto' as const };
  const rng = new Rng(7);
  const v = Float64Array.from({ length: network.size }, () => rng.normal());
  const best = async (c: Curvature): Promise<{ s: number; hv: Float64Array }> => {
    let hv = await c.hessianVector(v); // warm-up
    let s = Infinity;
    for (let r = 0; r < 3; r++) {
      const t0 = performance.now();
      hv = await c.hessianVector(v);
      s = Math.min(s, (performance.now() - t0) / 1000);
    }
    return { s, hv };
  };
  const rel = (a: Float64Array, b: Float64Array): number => {
    let d = 0;
    let n = 0;
    for (let i = 0; i < a.length; i++) {
      d = Math.max(d, Math.abs(a[i]! - b[i]!));
      n = Math.max(n, Math.abs(b[i]!));
    }
    return d / n;
  };
  const local = await Curvature.open(problem, execution);
  const inThread = await best(local);
  const timed: { processes: number; s: number; start: number; err: number }[] = [];
  for (const processes of [1, 2]) {
    const t0 = performance.now();
    const c = await Curvature.open(problem, { ...execution, processes });
    const start = (performance.now() - t0) / 1000;
    try {
      const r = await best(c);
      timed.push({ processes, s: r.s, start, err: rel(r.hv, inThread.hv) });
    } finally {
      await c.close();
    }
  }
  // The same product over Redis + BullMQ: 1 and 2 shards on 2 product-shard worker processes.
  const overRedis: { shards: number; s: number; err: number }[] = [];
  if (!redisMissing) {
    const redis = await startRedisServer();
    const script = fileURLToPath(new URL('../test/distributed/fixtures/productShardWorkerMain.js', import.meta.url));
    const children = [0, 1].map(() =>
      spawn(process.execPath, [script, redis.url, 'bench-products'], { stdio: ['ignore', 'pipe', 'inherit'] }),
    );
    try {
      await Promise.all(
        children.map(
          (c) =>
            new Promise<void>((resolve, reject) => {
              c.stdout?.on('data', (d: Buffer) => / ready/.test(d.toString()) && resolve());
              c.once('exit', (code) => reject(new Error(`product-shard worker exited with ${code}`)));
            }),
        ),
      );
      for (const shards of [1, 2]) {
        const transport = redisShardTransport({ redis: redis.url, queueName: 'bench-products' });
        const c = await Curvature.open(problem, { ...execution, shards: { transport, count: shards } });
        try {
          const r = await best(c);
          overRedis.push({ shards, s: r.s, err: rel(r.hv, inThread.hv) });
        } finally {
          await c.close();
        }
      }
    } finally {
      await Promise.all(
        children.map(
          (c) =>
            new Promise<void>((resolve) => {
              if (c.exitCode !== null || c.signalCode !== null) return resolve();
              c.once('exit', () => resolve());
              c.kill('SIGTERM');
            }),
        ),
      );
      await redis.stop();
    }
  }
  tf.dispose([...params, ...buffers]);
  const [one, two] = timed as [(typeof timed)[0], (typeof timed)[0]];
  console.log(
    `\nfull-data Hess·v, mlp 784-128-64-10 (P = ${network.size}), ${samples} MNIST digits in batches of 256, ${backendId(info)}, best of 3`,
  );
  console.log(`  in this thread     : ${(inThread.s * 1000).toFixed(0)} ms`);
  for (const t of timed) {
    console.log(
      `  ${t.processes} shard process${t.processes > 1 ? 'es' : ''}${t.processes > 1 ? '' : '  '}: ${(t.s * 1000).toFixed(0)} ms (start ${t.start.toFixed(1)} s; max relative difference to this thread ${t.err.toExponential(1)})`,
    );
  }
  console.log(
    `  speedup 1 → 2 shard processes: ${(one.s / two.s).toFixed(2)}x (ideal 2.00x on 2 idle cores); 1 process ÷ this thread: ${(one.s / inThread.s).toFixed(2)}x (IPC cost)`,
  );
  for (const r of overRedis) {
    console.log(
      `  Redis, ${r.shards} shard${r.shards > 1 ? 's' : ' '} on 2 product-shard workers: ${(r.s * 1000).toFixed(0)} ms (max relative difference to this thread ${r.err.toExponential(1)})`,
    );
  }
  if (overRedis.length === 2) console.log(`  speedup 1 → 2 Redis shards: ${(overRedis[0]!.s / overRedis[1]!.s).toFixed(2)}x`);
}

await matrixBench();
await processProductBench();
