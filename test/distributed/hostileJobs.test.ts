// Job data is untrusted input: a job whose key climbs out of the store is refused by the real
// `specpipe worker` (the CLI), which leaves the target intact and reports the job failed.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Queue } from 'bullmq';
import { redisOptions } from '../../src/executor/bullmq/redisConnection.js';
import { HASH_CHAIN_KIND } from '../../src/executor/bullmq/demoHandlers.js';
import { redisMissing, startRedisServer, type RedisTestServer } from './redisServer.js';
import { spawnWorker, type WorkerProcess } from './workerProcesses.js';

const QUEUE = 'q-hostile';
let redis: RedisTestServer | undefined;
let root = '';
let worker: WorkerProcess | undefined;

before(async () => {
  if (redisMissing) return;
  redis = await startRedisServer();
  root = mkdtempSync(join(tmpdir(), 'specpipe-hostile-'));
  mkdirSync(join(root, 'victim'));
  writeFileSync(join(root, 'victim', 'keep.txt'), 'precious');
  const store = join(root, 'x', 'y', 'store');
  worker = await spawnWorker(['--redis', redis.url, '--store', store, '--queue', QUEUE], { cli: true });
});
after(async () => {
  await worker?.stop();
  await redis?.stop();
  if (root !== '') rmSync(root, { recursive: true, force: true });
});

async function finalState(queue: Queue, id: string): Promise<string> {
  const deadline = Date.now() + 30_000;
  for (;;) {
    const state = await queue.getJobState(id);
    if (state === 'failed' || state === 'completed') return state;
    if (Date.now() > deadline) throw new Error(`job ${id} still ${state} after 30 s`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

test(
  'a job with key ../../../victim leaves the victim intact and fails with a clear message',
  { skip: redisMissing },
  async () => {
    const queue = new Queue(QUEUE, { connection: redisOptions((redis as RedisTestServer).endpoint) });
    try {
      const stage = await queue.add(
        'evil',
        { key: '../../../victim', name: 'evil', kind: 'stage', deps: [], payload: {} },
        { jobId: 'evil-stage', attempts: 3 },
      );
      const demo = await queue.add(
        'evil-demo',
        { key: '../../../victim', name: 'evil-demo', kind: HASH_CHAIN_KIND, deps: [], payload: { seed: 's' } },
        { jobId: 'evil-demo', attempts: 3 },
      );
      const good = 'a'.repeat(64);
      const demoKind = await queue.add(
        'demo',
        { key: good, name: 'demo', kind: HASH_CHAIN_KIND, deps: [], payload: { seed: 's' } },
        { jobId: 'demo-kind', attempts: 1 },
      );
      for (const job of [stage, demo]) {
        assert.equal(await finalState(queue, job.id as string), 'failed');
        const failed = await queue.getJob(job.id as string);
        assert.equal(
          failed?.failedReason,
          `job ${job.id} refused by worker ${failed?.processedBy ?? ''}: key: expected a stage key (64 lower-case hex digits), received "../../../victim"`,
        );
        assert.equal(failed?.attemptsMade, 1, 'a refused job is not retried');
      }
      // The production worker does not know the demo kind: tests register it explicitly.
      assert.equal(await finalState(queue, demoKind.id as string), 'failed');
      assert.match(
        (await queue.getJob('demo-kind'))?.failedReason ?? '',
        /has no handler for job kind "demo\/hash-chain" \(known: stage\)/,
      );
      assert.deepEqual(readdirSync(join(root, 'victim')), ['keep.txt'], 'the victim directory is intact');
      assert.ok(!existsSync(join(root, 'x', 'y', 'store', good)), 'no demo artifact in the store');
      assert.match(
        (worker as WorkerProcess).output(),
        /evil: attempt 1 failed: job evil-stage refused by worker .*: key: expected a stage key \(64 lower-case hex digits\), received "\.\.\/\.\.\/\.\.\/victim"/,
      );
    } finally {
      await queue.close();
    }
  },
);
