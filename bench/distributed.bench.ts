/**
 * The BullMQ executor on this machine: 1 vs 2 `specpipe worker` processes running a matrix of 8
 * independent CPU-bound stages (demo/hash-chain: iterated SHA-256, calibrated to about STAGE_S
 * seconds each), wall time of the whole run and the ratio, measured side by side in one run.
 *   npm run bench distributed        (SPECPIPE_BENCH_QUICK=1: shorter stages, for a smoke run)
 * Workers are started before timing; the wall time includes queueing, polling and artifact writes.
 * With 2 idle cores the ideal ratio is 2; a shared machine gives less.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { runJobGraph } from '../src/executor/bullmq/scheduler.js';
import { HASH_CHAIN_KIND, hashChainArtifactExists, hashChainValue } from '../src/executor/bullmq/demoHandlers.js';
import type { DistributedJob } from '../src/executor/bullmq/jobGraph.js';
import { redisMissing, startRedisServer } from '../test/distributed/redisServer.js';
import { spawnWorker, type WorkerProcess } from '../test/distributed/workerProcesses.js';

const QUICK = process.env.SPECPIPE_BENCH_QUICK === '1';
const STAGE_S = QUICK ? 0.25 : 1;
const STAGES = 8;

if (redisMissing) {
  console.log(`skipped: ${redisMissing}`);
} else {
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
    workers.push(await spawnWorker(['--redis', redis.url, '--store', store, '--queue', 'bench', '--quiet'], { cli: true }));
  };
  const matrix = (tag: string): DistributedJob[] =>
    Array.from({ length: STAGES }, (_, i) => ({ id: `${tag}-cell${i}`, name: `train[cell=${i}]`, deps: [], kind: HASH_CHAIN_KIND, payload: { seed: `${tag}-${i}`, cpuRounds } }));
  const timeRun = async (tag: string): Promise<{ wall: number; perStage: number; workers: number }> => {
    const jobs = matrix(tag);
    const t = performance.now();
    const r = await runJobGraph(jobs, { redis: redis.endpoint, queueName: 'bench', pollMs: 20, isDone: (j) => hashChainArtifactExists(store, j.id) });
    const wall = (performance.now() - t) / 1000;
    if (r.outcomes.some((o) => o.status !== 'executed')) throw new Error(`bench run ${tag}: ${JSON.stringify(r.outcomes.map((o) => o.status))}`);
    return { wall, perStage: r.outcomes.reduce((s, o) => s + o.seconds, 0) / STAGES, workers: new Set(r.outcomes.map((o) => o.workerId)).size };
  };
  try {
    await addWorker();
    const one = await timeRun('w1');
    await addWorker();
    const two = await timeRun('w2');
    console.log(`matrix of ${STAGES} CPU-bound stages (${cpuRounds} SHA-256 rounds ≈ ${STAGE_S} s each), BullMQ on a private redis-server`);
    console.log(`  1 worker process : ${one.wall.toFixed(2)} s wall (${one.perStage.toFixed(2)} s per stage on its worker)`);
    console.log(`  2 worker processes: ${two.wall.toFixed(2)} s wall (${two.perStage.toFixed(2)} s per stage; ${two.workers} workers took jobs)`);
    console.log(`  speedup 1 → 2 workers: ${(one.wall / two.wall).toFixed(2)}x (ideal 2.00x on 2 idle cores)`);
    // Queueing cost: wall time beyond the stages themselves, per stage, with one worker (stages run back to back).
    console.log(`  executor overhead with 1 worker: ${(((one.wall - STAGES * one.perStage) / STAGES) * 1000).toFixed(0)} ms per stage`);
  } finally {
    await Promise.all(workers.map((w) => w.stop()));
    await redis.stop();
    rmSync(store, { recursive: true, force: true });
  }
}
