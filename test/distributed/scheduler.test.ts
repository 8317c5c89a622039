// The BullMQ scheduler with in-process workers against a private redis-server.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { runJobGraph, type SchedulerEvent } from '../../src/executor/bullmq/scheduler.js';
import { startStageWorker, type StageWorker, type StageWorkerEvent } from '../../src/executor/bullmq/stageWorker.js';
import {
  demoHandlers,
  hashChainArtifactExists,
  hashChainReference,
  readHashChainValue,
} from '../../src/executor/bullmq/demoHandlers.js';
import type { DistributedJob } from '../../src/executor/bullmq/jobGraph.js';
import { redisMissing, startRedisServer, type RedisTestServer } from './redisServer.js';
import { hashJob, keyOf, matrixGraph } from './graphs.js';

let redis: RedisTestServer | undefined;
const stores: string[] = [];
before(async () => {
  if (!redisMissing) redis = await startRedisServer();
});
after(async () => {
  await redis?.stop();
  for (const s of stores) rmSync(s, { recursive: true, force: true });
});

function newStore(): string {
  const s = mkdtempSync(join(tmpdir(), 'specpipe-dist-store-'));
  stores.push(s);
  return s;
}

/** In-process workers on one queue; their events in order, with timestamps. */
async function withWorkers<T>(
  queueName: string,
  store: string,
  n: number,
  body: (events: Array<StageWorkerEvent & { at: number; worker: string }>) => Promise<T>,
): Promise<T> {
  const server = redis as RedisTestServer;
  const events: Array<StageWorkerEvent & { at: number; worker: string }> = [];
  const workers: StageWorker[] = [];
  for (let i = 0; i < n; i++) {
    const workerId = `test-host:w${i}`;
    workers.push(
      startStageWorker({
        redis: server.endpoint,
        store,
        handlers: demoHandlers(),
        queueName,
        workerId,
        concurrency: 2,
        lockDurationMs: 5000,
        stalledIntervalMs: 5000,
        onEvent: (e) => events.push({ ...e, at: performance.now(), worker: workerId }),
      }),
    );
  }
  await Promise.all(workers.map((w) => w.ready()));
  try {
    return await body(events);
  } finally {
    await Promise.all(workers.map((w) => w.close()));
  }
}

const doneIn = (store: string) => (job: DistributedJob) => hashChainArtifactExists(store, job.id);

test(
  'a matrix DAG runs in dependency order on 2 workers; values equal the local reference; a rerun reuses all',
  { skip: redisMissing },
  async () => {
    const store = newStore();
    const jobs = matrixGraph('m', ['a', 'b', 'c', 'd']);
    const queueName = 'q-matrix';
    await withWorkers(queueName, store, 2, async (events) => {
      const seen: SchedulerEvent[] = [];
      const r = await runJobGraph(jobs, {
        redis: (redis as RedisTestServer).endpoint,
        queueName,
        isDone: doneIn(store),
        pollMs: 20,
        onEvent: (e) => seen.push(e),
      });
      assert.deepEqual(
        r.outcomes.map((o) => o.status),
        jobs.map(() => 'executed'),
      );
      const ref = hashChainReference(jobs);
      for (const j of jobs) assert.equal(readHashChainValue(store, j.id), ref.get(j.id), j.id);
      // Each job started exactly once, and only after all its deps had completed.
      const completedAt = new Map<string, number>();
      for (const e of events) if (e.type === 'completed') completedAt.set(e.key, e.at);
      for (const j of jobs) {
        const starts = events.filter((e) => e.type === 'started' && e.key === j.id);
        assert.equal(starts.length, 1, `${j.id} started once`);
        for (const d of j.deps)
          assert.ok((completedAt.get(d) as number) <= (starts[0] as { at: number }).at, `${d} done before ${j.id} started`);
      }
      // Which worker ran what is recorded, and both workers took jobs.
      for (const o of r.outcomes) assert.match(o.workerId ?? '', /^test-host:w[01]$/);
      assert.equal(new Set(r.outcomes.map((o) => o.workerId)).size, 2);
      // The progress display hears of every job: started (with its worker) before finished.
      for (const j of jobs) {
        const mine = seen.filter((e) => e.job.id === j.id).map((e) => e.type);
        assert.deepEqual(
          mine.filter((t) => t !== 'progress'),
          ['queued', 'started', 'finished'],
          j.id,
        );
      }

      const startsBefore = events.filter((e) => e.type === 'started').length;
      const rerun = await runJobGraph(jobs, {
        redis: (redis as RedisTestServer).endpoint,
        queueName,
        isDone: doneIn(store),
        pollMs: 20,
      });
      assert.deepEqual(
        rerun.outcomes.map((o) => o.status),
        jobs.map(() => 'cached'),
      );
      assert.equal(events.filter((e) => e.type === 'started').length, startsBefore, 'a cached rerun queues nothing');
    });
  },
);

test(
  'two concurrent runs of one graph: both succeed, every job runs once (job id = stage key)',
  { skip: redisMissing },
  async () => {
    const store = newStore();
    const jobs = matrixGraph('c', ['a', 'b', 'c'], { sleepMs: 150 });
    const queueName = 'q-concurrent';
    await withWorkers(queueName, store, 2, async (events) => {
      const opts = { redis: (redis as RedisTestServer).endpoint, queueName, isDone: doneIn(store), pollMs: 20 };
      const [r1, r2] = await Promise.all([runJobGraph(jobs, opts), runJobGraph(jobs, opts)]);
      for (const r of [r1, r2])
        for (const o of r.outcomes) assert.ok(o.status === 'executed' || o.status === 'cached', `${o.name}: ${o.status}`);
      for (const j of jobs)
        assert.equal(events.filter((e) => e.type === 'started' && e.key === j.id).length, 1, `${j.id} ran once`);
      const ref = hashChainReference(jobs);
      for (const j of jobs) assert.equal(readHashChainValue(store, j.id), ref.get(j.id));
    });
  },
);

test(
  'retries back off exponentially; a job that always throws is reported with its error, other branches finish',
  { skip: redisMissing },
  async () => {
    const store = newStore();
    const jobs = [
      hashJob('flaky', [], { failAttempts: 2 }),
      hashJob('broken', [], { alwaysFail: true }),
      hashJob('after-broken', ['broken']),
      hashJob('after-after', ['after-broken']),
      hashJob('slow', [], { sleepMs: 300 }),
      hashJob('after-slow', ['slow', 'flaky']),
    ];
    const queueName = 'q-faults';
    await withWorkers(queueName, store, 1, async (events) => {
      const seen: SchedulerEvent[] = [];
      const r = await runJobGraph(jobs, {
        redis: (redis as RedisTestServer).endpoint,
        queueName,
        isDone: doneIn(store),
        pollMs: 20,
        attempts: 3,
        backoffMs: 200,
        onEvent: (e) => seen.push(e),
      });
      const byId = new Map(r.outcomes.map((o) => [o.id, o]));
      assert.equal(byId.get(keyOf('flaky'))?.status, 'executed');
      assert.equal(byId.get(keyOf('flaky'))?.failedAttempts, 2);
      assert.equal(byId.get(keyOf('broken'))?.status, 'failed');
      assert.equal(byId.get(keyOf('broken'))?.error, 'stage broken always fails (attempt 3)');
      assert.equal(byId.get(keyOf('broken'))?.failedAttempts, 3);
      assert.deepEqual(byId.get(keyOf('broken'))?.workers, ['test-host:w0', 'test-host:w0', 'test-host:w0']);
      assert.equal(byId.get(keyOf('after-broken'))?.status, 'skipped');
      assert.equal(byId.get(keyOf('after-after'))?.status, 'skipped');
      assert.equal(byId.get(keyOf('after-after'))?.blockedBy, 'broken');
      assert.equal(byId.get(keyOf('slow'))?.status, 'executed');
      assert.equal(byId.get(keyOf('after-slow'))?.status, 'executed');
      assert.ok(!hashChainArtifactExists(store, keyOf('broken')) && !hashChainArtifactExists(store, keyOf('after-broken')));
      // Attempt k+1 starts at least backoff·2^(k-1) after attempt k failed: 200 ms, then 400 ms.
      const failures = events.filter((e) => e.type === 'failed' && e.key === keyOf('broken')).map((e) => e.at);
      const starts = events.filter((e) => e.type === 'started' && e.key === keyOf('broken')).map((e) => e.at);
      assert.equal(starts.length, 3);
      assert.ok(
        (starts[1] as number) - (failures[0] as number) >= 190,
        `first retry after ${(starts[1] as number) - (failures[0] as number)} ms`,
      );
      assert.ok(
        (starts[2] as number) - (failures[1] as number) >= 390,
        `second retry after ${(starts[2] as number) - (failures[1] as number)} ms`,
      );
      assert.ok(
        seen.some((e) => e.type === 'retrying' && e.job.id === keyOf('broken')),
        'retries reach the progress display',
      );
      // No temporary or partial artifact is left behind by the failures.
      assert.deepEqual(
        readdirSync(store).filter((f) => f.startsWith('.tmp-')),
        [],
      );
    });
  },
);

test('a failed job of an earlier run is queued afresh on the rerun', { skip: redisMissing }, async () => {
  const store = newStore();
  const queueName = 'q-refail';
  await withWorkers(queueName, store, 1, async () => {
    const opts = { redis: (redis as RedisTestServer).endpoint, queueName, isDone: doneIn(store), pollMs: 20, attempts: 1 };
    const first = await runJobGraph([hashJob('x', [], { alwaysFail: true })], opts);
    assert.equal(first.outcomes[0]?.status, 'failed');
    // Same key, now a payload that succeeds (as when a transient cause was fixed).
    const second = await runJobGraph([hashJob('x', [])], opts);
    assert.equal(second.outcomes[0]?.status, 'executed');
  });
});

test('keepGoing: false queues nothing new after a permanent failure', { skip: redisMissing }, async () => {
  const store = newStore();
  const queueName = 'q-stop';
  await withWorkers(queueName, store, 1, async () => {
    const jobs = [hashJob('bad', [], { alwaysFail: true }), hashJob('later', ['ok'], {}), hashJob('ok', [], { sleepMs: 200 })];
    const r = await runJobGraph(jobs, {
      redis: (redis as RedisTestServer).endpoint,
      queueName,
      isDone: doneIn(store),
      pollMs: 20,
      attempts: 1,
      keepGoing: false,
    });
    const byId = new Map(r.outcomes.map((o) => [o.id, o.status]));
    assert.equal(byId.get(keyOf('bad')), 'failed');
    assert.equal(byId.get(keyOf('ok')), 'executed'); // already queued: it finishes
    assert.equal(byId.get(keyOf('later')), 'skipped');
  });
});

test('an unreachable Redis fails fast with the URL named', { skip: redisMissing }, async () => {
  await assert.rejects(
    runJobGraph([hashJob('a', [])], {
      redis: { display: 'redis://127.0.0.1:1', host: '127.0.0.1', port: 1, db: 0 },
      redisTimeoutMs: 500,
    }),
    (e: Error) =>
      e.message === 'cannot connect to Redis at redis://127.0.0.1:1 (--redis) after 1 attempt: connect ECONNREFUSED 127.0.0.1:1',
  );
});
