// Fault tests with real worker processes: kill -9 of a worker mid-stage, kill -9 of Redis mid-run.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { runJobGraph, type SchedulerEvent } from '../../src/executor/bullmq/scheduler.js';
import { hashChainArtifactExists, hashChainReference, readHashChainValue } from '../../src/executor/bullmq/demoHandlers.js';
import type { DistributedJob } from '../../src/executor/bullmq/jobGraph.js';
import { isSpecpipeError } from '../../src/util/errors.js';
import { freePort, redisMissing, startRedisServer, type RedisTestServer } from './redisServer.js';
import { startCli, tempWorkspace, waitForExit, type CliResult } from '../pipeline/cliHarness.js';
import { spawnWorker, type WorkerProcess } from './workerProcesses.js';
import { matrixGraph } from './graphs.js';

// One persistent Redis (append-only file, fsync always) and 3 worker processes for the file: the
// first test kills one worker, the second kills Redis itself.
let redis: RedisTestServer | undefined;
let store = '';
let workers: WorkerProcess[] = [];
before(async () => {
  if (redisMissing) return;
  redis = await startRedisServer({ persistent: true });
  store = mkdtempSync(join(tmpdir(), 'specpipe-dist-store-'));
  // Short locks so a dead worker's job comes back within about 1.5 s.
  const args = [
    '--redis',
    redis.url,
    '--store',
    store,
    '--queue',
    'q-faults',
    '--lock-duration-ms',
    '1000',
    '--stalled-interval-ms',
    '500',
  ];
  workers = await Promise.all([0, 1, 2].map(() => spawnWorker(args)));
});
after(async () => {
  await Promise.all(workers.map((w) => w.kill()));
  await redis?.stop();
  if (store !== '') rmSync(store, { recursive: true, force: true });
});

/** Every artifact equals the local reference and every key directory holds only the complete file. */
function assertArtifactsMatch(store: string, jobs: readonly DistributedJob[]) {
  const ref = hashChainReference(jobs);
  for (const j of jobs) {
    assert.equal(readHashChainValue(store, j.id), ref.get(j.id), j.id);
    assert.deepEqual(readdirSync(join(store, j.id)), ['value.json'], `${j.id} holds no partial file`);
  }
}

test(
  'kill -9 of a worker mid-stage: its job returns to the queue, another worker finishes it, artifacts equal the local run',
  { skip: redisMissing },
  async () => {
    const server = redis as RedisTestServer;
    const jobs = matrixGraph('k', ['a', 'b', 'c'], { sleepMs: 1500 });
    let killed: { workerId: string; jobId: string } | undefined;
    const onEvent = (e: SchedulerEvent) => {
      if (e.type === 'started' && killed === undefined && e.job.name.includes('train')) {
        const victim = workers.find((w) => e.workerId.endsWith(`:${w.pid}`));
        if (victim !== undefined) {
          // Mid-stage: the stage sleeps 1.5 s; 300 ms in, the worker has logged its start.
          killed = { workerId: e.workerId, jobId: e.job.id };
          setTimeout(() => victim.child.kill('SIGKILL'), 300);
        }
      }
    };
    const r = await runJobGraph(jobs, {
      redis: server.endpoint,
      queueName: 'q-faults',
      pollMs: 20,
      isDone: (j) => hashChainArtifactExists(store, j.id),
      onEvent,
    });
    assert.ok(killed !== undefined, 'a worker was killed mid-stage');
    assert.deepEqual(
      r.outcomes.map((o) => o.status),
      jobs.map(() => 'executed'),
    );
    const victimJob = r.outcomes.find((o) => o.id === killed?.jobId);
    assert.equal(victimJob?.workers[0], killed.workerId, 'the killed worker started it');
    assert.notEqual(victimJob?.workerId, killed.workerId, 'another worker finished it');
    assert.equal(victimJob?.failedAttempts, 0, 'a stall is not a failed attempt');
    assertArtifactsMatch(store, jobs);
  },
);

test(
  'kill -9 of Redis mid-run: the run stops with a resumable error; the rerun reuses finished stages and computes each stage once',
  { skip: redisMissing },
  async () => {
    const server = redis as RedisTestServer;
    const alive = workers.filter((w) => w.child.exitCode === null && w.child.signalCode === null);
    assert.equal(alive.length, 2);
    const jobs = matrixGraph('r', ['a', 'b', 'c', 'd'], { sleepMs: 400 });
    let finished = 0;
    let redisKilled: Promise<void> | undefined;
    const first = runJobGraph(jobs, {
      redis: server.endpoint,
      queueName: 'q-faults',
      pollMs: 20,
      redisTimeoutMs: 1000,
      isDone: (j) => hashChainArtifactExists(store, j.id),
      onEvent: (e) => {
        if (e.type === 'finished' && ++finished === 3) redisKilled = server.kill();
      },
    });
    await assert.rejects(first, (e) => isSpecpipeError(e) && e.reason === 'redis-unreachable');
    await redisKilled;
    const doneBefore = jobs.filter((j) => hashChainArtifactExists(store, j.id)).map((j) => j.id);
    assert.ok(doneBefore.length >= 3 && doneBefore.length < jobs.length, `${doneBefore.length} stages done before the crash`);

    await server.restart();
    const rerun = await runJobGraph(jobs, {
      redis: server.endpoint,
      queueName: 'q-faults',
      pollMs: 20,
      isDone: (j) => hashChainArtifactExists(store, j.id),
    });
    for (const o of rerun.outcomes) {
      if (doneBefore.includes(o.id)) assert.equal(o.status, 'cached', `${o.id} reused`);
      else assert.ok(o.status === 'executed' || o.status === 'cached', `${o.id}: ${o.status}`);
    }
    assertArtifactsMatch(store, jobs);
    // Across the crash, every stage was computed exactly once (a job retaken after the restart finds its artifact).
    const log = alive.map((w) => w.output()).join('');
    for (const j of jobs) {
      const executed = log.split('\n').filter((l) => l.startsWith(`${j.name}: executed`)).length;
      assert.equal(executed, 1, `${j.name} computed once\n${log}`);
    }
  },
);

// ---- Redis faults seen from the CLI: bounded retries, one line naming the URL (password masked) ----

const QUICK_PIPE = `name: q
stages:
  a:
    uses: test/const
    with: { value: 1 }
`;

/** Runs the real CLI to its exit; returns its exit code, output and wall time. */
async function cliExit(args: readonly string[], cwd: string): Promise<CliResult & { seconds: number }> {
  const t0 = performance.now();
  const r = await waitForExit(startCli(args, { cwd }));
  return { ...r, seconds: (performance.now() - t0) / 1000 };
}

test(
  'a dead port: worker and run --executor bullmq exit 1 within seconds with the URL named, password masked',
  { skip: redisMissing },
  async () => {
    const ws = tempWorkspace('specpipe-redis-faults-');
    try {
      writeFileSync(join(ws, 'q.yaml'), QUICK_PIPE);
      const url = `redis://:hunter2@127.0.0.1:${await freePort()}`;
      const masked = url.replace(':hunter2@', ':***@');
      const expected = `cannot connect to Redis at ${masked} (--redis) after 5 attempts: connect ECONNREFUSED 127.0.0.1:`;
      const [worker, run] = await Promise.all([
        cliExit(['worker', '--redis', url, '--store', 'artifacts'], ws),
        cliExit(['run', 'q.yaml', '--executor', 'bullmq', '--redis', url], ws),
      ]);
      for (const [name, r] of [
        ['worker', worker],
        ['run', run],
      ] as const) {
        assert.equal(r.code, 1, `${name}: ${r.stderr}`);
        assert.ok(r.seconds < 30, `${name} took ${r.seconds.toFixed(1)} s`);
        assert.ok(r.stderr.includes(`specpipe ${name}: ${expected}`), `${name}: ${r.stderr}`);
        assert.ok(!(r.stdout + r.stderr).includes('hunter2'), `${name} printed the password`);
        assert.ok(!/\n\s+at /.test(r.stderr), `${name}: no stack trace\n${r.stderr}`);
      }
    } finally {
      rmSync(ws, { recursive: true, force: true });
    }
  },
);

test('a wrong or missing password: worker and run exit 1 at once, saying so', { skip: redisMissing }, async () => {
  const locked = await startRedisServer({ password: 's3cret' });
  const ws = tempWorkspace('specpipe-redis-faults-');
  try {
    writeFileSync(join(ws, 'q.yaml'), QUICK_PIPE);
    const wrong = locked.url.replace(':s3cret@', ':nope@');
    const none = locked.url.replace(':s3cret@', '');
    const cases = await Promise.all([
      cliExit(['worker', '--redis', wrong, '--store', 'artifacts'], ws),
      cliExit(['run', 'q.yaml', '--executor', 'bullmq', '--redis', wrong], ws),
      cliExit(['worker', '--redis', none, '--store', 'artifacts'], ws),
    ]);
    const [wWrong, rWrong, wNone] = cases;
    const maskedWrong = wrong.replace(':nope@', ':***@');
    assert.equal(wWrong?.code, 1);
    assert.ok(
      wWrong?.stderr.includes(
        `specpipe worker: cannot use Redis at ${maskedWrong} (--redis): the server refused the user name or password (WRONGPASS)`,
      ),
      wWrong?.stderr,
    );
    assert.equal(rWrong?.code, 1);
    assert.ok(
      rWrong?.stderr.includes(
        `specpipe run: cannot use Redis at ${maskedWrong} (--redis): the server refused the user name or password (WRONGPASS)`,
      ),
      rWrong?.stderr,
    );
    assert.equal(wNone?.code, 1);
    assert.ok(
      wNone?.stderr.includes(
        `specpipe worker: cannot use Redis at ${none} (--redis): the server requires a password (NOAUTH); give it in the URL: redis://:PASSWORD@HOST:PORT`,
      ),
      wNone?.stderr,
    );
    for (const r of cases) {
      assert.ok(!/\n\s+at /.test(r.stderr), `no stack trace\n${r.stderr}`);
      assert.ok(!(r.stdout + r.stderr).includes('nope'), 'the password is masked');
    }
  } finally {
    await locked.stop();
    rmSync(ws, { recursive: true, force: true });
  }
});

test('SIGTERM to a worker whose Redis was killed: it exits within 10 s', { skip: redisMissing }, async () => {
  const doomed = await startRedisServer();
  const ws = tempWorkspace('specpipe-redis-faults-');
  try {
    const w = await spawnWorker(['--redis', doomed.url, '--store', join(ws, 'artifacts'), '--queue', 'q-doomed']);
    await doomed.kill();
    await new Promise((r) => setTimeout(r, 1500));
    const t0 = performance.now();
    await w.stop();
    const seconds = (performance.now() - t0) / 1000;
    assert.ok(seconds < 10, `exited ${seconds.toFixed(1)} s after SIGTERM\n${w.output()}`);
    assert.match(w.output(), /Redis at redis:\/\/127\.0\.0\.1:\d+ is not answering \(connect ECONNREFUSED/);
  } finally {
    await doomed.stop();
    rmSync(ws, { recursive: true, force: true });
  }
});

test(
  'a worker whose Redis stays gone for --redis-timeout-ms exits 1 with one line naming the URL',
  { skip: redisMissing },
  async () => {
    const doomed = await startRedisServer();
    const ws = tempWorkspace('specpipe-redis-faults-');
    try {
      const w = await spawnWorker([
        '--redis',
        doomed.url,
        '--store',
        join(ws, 'artifacts'),
        '--queue',
        'q-gone',
        '--redis-timeout-ms',
        '2000',
      ]);
      const exit = new Promise<number | null>((resolve) => w.child.once('exit', (code) => resolve(code)));
      await doomed.kill();
      const t0 = performance.now();
      const code = await exit;
      assert.equal(code, 1, w.output());
      assert.ok((performance.now() - t0) / 1000 < 15, 'exits within the bound');
      assert.match(
        w.output(),
        new RegExp(
          `worker: lost Redis at ${doomed.url.replace(/[.]/g, '\\.')} \\(--redis\\): no answer for 2 s \\(connect ECONNREFUSED`,
        ),
      );
    } finally {
      await doomed.stop();
      rmSync(ws, { recursive: true, force: true });
    }
  },
);
