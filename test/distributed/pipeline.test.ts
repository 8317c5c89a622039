// End to end: a matrix pipeline of the engine's test stage kinds on Redis + 3 `specpipe worker`
// processes (the real CLI), compared with a local run of the same plan.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { delimiter, join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { preparePlan } from '../../src/pipeline/preparePlan.js';
import type { Plan } from '../../src/pipeline/plan.js';
import { ArtifactStore } from '../../src/store/artifactStore.js';
import { runPlanLocally } from '../../src/executor/localExecutor.js';
import { runPlanDistributed } from '../../src/executor/bullmq/runPlanDistributed.js';
import { isSpecpipeError } from '../../src/util/errors.js';
import { TEST_STAGES, runCli } from '../pipeline/cliHarness.js';
import { runCommand } from '../../src/cli/commands/run.js';
import { listRunIds, readRunRecord, type RunRecord } from '../../src/store/runRecord.js';
import { redisMissing, startRedisServer, type RedisTestServer } from './redisServer.js';
import { spawnWorker, type WorkerProcess } from './workerProcesses.js';

const QUEUE = 'q-pipeline';
const BLOCKING_STAGE = fileURLToPath(
  new URL(`./fixtures/blockingStage.${import.meta.url.endsWith('.ts') ? 'ts' : 'js'}`, import.meta.url),
);
/** Whether src/cli/commands/run.ts has been wired to runPlanWithExecutor (it takes --redis). */
const runWired = readFileSync(
  fileURLToPath(new URL(`../../src/cli/commands/run.${import.meta.url.endsWith('.ts') ? 'ts' : 'js'}`, import.meta.url)),
  'utf8',
).includes('runPlanWithExecutor');
const notWired =
  !runWired && 'specpipe run does not take --executor bullmq yet (wire runPlanWithExecutor into src/cli/commands/run.ts)';
let redis: RedisTestServer | undefined;
let dir = '';
let shared = ''; // the store the workers share
let execLog = '';
let workers: WorkerProcess[] = [];

async function addWorker(): Promise<WorkerProcess> {
  const w = await spawnWorker(
    [
      '--redis',
      (redis as RedisTestServer).url,
      '--store',
      shared,
      '--queue',
      QUEUE,
      '--lock-duration-ms',
      '1000',
      '--stalled-interval-ms',
      '500',
    ],
    { cli: true, env: { SPECPIPE_STAGE_MODULES: [TEST_STAGES, BLOCKING_STAGE].join(delimiter), SPECPIPE_TEST_LOG: execLog } },
  );
  workers.push(w);
  return w;
}

before(async () => {
  if (redisMissing) return;
  await import(pathToFileURL(TEST_STAGES).href); // registers test/const, test/sum in this process too
  await import(pathToFileURL(BLOCKING_STAGE).href);
  dir = mkdtempSync(join(tmpdir(), 'specpipe-dist-e2e-'));
  shared = join(dir, 'shared-artifacts');
  execLog = join(dir, 'exec.log');
  redis = await startRedisServer({ persistent: true });
  await Promise.all([addWorker(), addWorker(), addWorker()]);
});

after(async () => {
  await Promise.all(workers.map((w) => w.kill()));
  await redis?.stop();
  if (dir !== '') rmSync(dir, { recursive: true, force: true });
});

/** A matrix pipeline: a[value] (3) → b[value,scale] (6) → r gathers every b. Seeds keep tests' keys apart. */
function pipeline(seed: number, opts: { sleepA?: number; sleepB?: number; broken?: boolean } = {}): string {
  return `name: dist-e2e
seed: ${seed}
stages:
  a:
    uses: test/const
    matrix: { value: [1, 2, 3] }
    with: { sleep_ms: ${opts.sleepA ?? 0} }
  b:
    uses: test/sum
    needs: [a]
    matrix: { scale: [1, 2] }
    with: { sleep_ms: ${opts.sleepB ?? 0} }
  r:
    uses: test/sum
    gather: [b]
${
  opts.broken === true
    ? `  broken:
    uses: test/sum
    with: { fail: true }
  downstream:
    uses: test/sum
    needs: [broken]
`
    : ''
}`;
}

async function plan(text: string, name: string): Promise<Plan> {
  const file = join(dir, `${name}.yaml`);
  writeFileSync(file, text);
  return (await preparePlan(file, [])).plan;
}

/** key → { file → sha256 } from the manifests. */
function contentHashes(store: ArtifactStore, keys: readonly string[]): Record<string, Record<string, string>> {
  const out: Record<string, Record<string, string>> = {};
  for (const k of keys) {
    const m = store.readManifest(k);
    assert.ok(m !== undefined, `manifest of ${k}`);
    out[k] = Object.fromEntries(m.files.map((f) => [f.path, f.sha256]));
  }
  return out;
}

async function localReference(p: Plan, name: string): Promise<Record<string, Record<string, string>>> {
  const store = new ArtifactStore(join(dir, `local-${name}`));
  const r = await runPlanLocally(p, store, { progress: 'quiet' });
  assert.equal(r.counts.failed, 0);
  return contentHashes(
    store,
    p.nodes.map((n) => n.key),
  );
}

function executions(key: string): number {
  if (!existsSync(execLog)) return 0;
  return readFileSync(execLog, 'utf8')
    .split('\n')
    .filter((l) => l.startsWith('end ') && l.split(' ')[2] === key).length;
}

test(
  '3 workers run a matrix pipeline: same keys and content hashes as a local run; records name the workers',
  { skip: redisMissing },
  async () => {
    const p = await plan(pipeline(1, { sleepB: 100 }), 'basic');
    const reference = await localReference(p, 'basic');
    const store = new ArtifactStore(shared);
    const r = await runPlanDistributed(p, store, {
      redis: (redis as RedisTestServer).endpoint,
      queueName: QUEUE,
      progress: 'quiet',
      pollMs: 20,
    });
    assert.equal(r.stages.length, 10);
    assert.deepEqual(r.counts, { executed: 10, cached: 0, failed: 0 });
    assert.deepEqual(
      contentHashes(
        store,
        p.nodes.map((n) => n.key),
      ),
      reference,
    );
    const workerIds = new Set(workers.map((w) => `:${w.pid}`));
    for (const s of r.stages)
      assert.ok(s.worker !== undefined && [...workerIds].some((id) => s.worker?.endsWith(id)), `${s.name} ran on ${s.worker}`);
    assert.ok(new Set(r.stages.map((s) => s.worker)).size >= 2, 'the work was spread');
    const rSum = r.stages.find((s) => s.name === 'r')?.metrics?.['sum'];
    assert.equal(rSum, 4 * (1 + 2 + 3) * (1 + 2)); // Σ_scale Σ_value scale·value over size-4 vectors
    for (const n of p.nodes) assert.equal(executions(n.key), 1, `${n.name} computed once`);

    const again = await runPlanDistributed(p, store, {
      redis: (redis as RedisTestServer).endpoint,
      queueName: QUEUE,
      progress: 'quiet',
      pollMs: 20,
    });
    assert.deepEqual(again.counts, { executed: 0, cached: 10, failed: 0 });
  },
);

test('a stage that always throws is reported after its retries; the other branches finish', { skip: redisMissing }, async () => {
  const p = await plan(pipeline(2, { broken: true }), 'broken');
  const r = await runPlanDistributed(p, new ArtifactStore(shared), {
    redis: (redis as RedisTestServer).endpoint,
    queueName: QUEUE,
    progress: 'quiet',
    pollMs: 20,
    attempts: 2,
    backoffMs: 100,
    keepGoing: true,
  });
  const by = new Map(r.stages.map((s) => [s.name, s]));
  assert.deepEqual(
    [...by.keys()].filter((n) => !/^[ab]\[/.test(n)),
    ['r', 'broken', 'downstream'],
  );
  assert.equal(by.get('broken')?.status, 'failed');
  assert.match(by.get('broken')?.error ?? '', /test\/sum told to fail.*\(after 2 attempts on .+:\d+/s);
  assert.equal(by.get('downstream')?.status, 'failed');
  assert.equal(by.get('downstream')?.error, 'not run: upstream broken failed');
  assert.deepEqual(r.counts, { executed: 10, cached: 0, failed: 2 });
});

test(
  'a stage that blocks its thread past the lock duration is not taken as stalled (it runs in a stage thread)',
  { skip: redisMissing },
  async () => {
    // Workers hold 1 s locks; this stage holds its thread for 2.5 s without yielding.
    const p = await plan(
      `name: dist-block
stages:
  hog:
    uses: test/block
    with: { block_ms: 2500 }
`,
      'block',
    );
    const r = await runPlanDistributed(p, new ArtifactStore(shared), {
      redis: (redis as RedisTestServer).endpoint,
      queueName: QUEUE,
      progress: 'quiet',
      pollMs: 20,
    });
    assert.deepEqual(r.counts, { executed: 1, cached: 0, failed: 0 });
    const hog = p.nodes[0]?.key as string;
    assert.equal(executions(hog), 1, 'computed once: no second worker took it as stalled');
    const output = workers.map((w) => w.output()).join('');
    assert.equal(output.split('\n').filter((l) => l.startsWith('hog: started')).length, 1, output);
  },
);

test(
  "a run whose --store is not the workers' store is refused by the workers before they compute",
  { skip: redisMissing },
  async () => {
    const p = await plan(
      `name: dist-elsewhere
stages:
  one:
    uses: test/const
    with: { value: 7 }
`,
      'elsewhere',
    );
    const elsewhere = new ArtifactStore(join(dir, 'not-shared'));
    const before = existsSync(execLog) ? readFileSync(execLog, 'utf8') : '';
    const r = await runPlanDistributed(p, elsewhere, {
      redis: (redis as RedisTestServer).endpoint,
      queueName: QUEUE,
      progress: 'quiet',
      pollMs: 20,
    });
    assert.equal(r.stages[0]?.status, 'failed');
    const ids = [shared, join(dir, 'not-shared')].map((d) => readFileSync(join(d, '.store-id'), 'utf8').trim().slice(0, 12));
    assert.match(
      r.stages[0]?.error ?? '',
      new RegExp(
        `^worker \\S+ refused one: its --store ${shared} \\(store id ${ids[0]}\\) is not the run's store ${join(dir, 'not-shared')} ` +
          `\\(store id ${ids[1]}\\); start workers with the run's --store, a directory the run and every worker share \\(after 1 attempt on \\S+\\)$`,
      ),
    );
    // Refused before computing: the stage never started, nothing was written to either store.
    const log = existsSync(execLog) ? readFileSync(execLog, 'utf8') : '';
    assert.doesNotMatch(log.slice(before.length), / one /);
    assert.ok(!existsSync(join(shared, p.nodes[0]!.key)) && !existsSync(join(dir, 'not-shared', p.nodes[0]!.key)));
  },
);

test("kill -9 of a worker mid-stage: the run completes with the local run's artifacts", { skip: redisMissing }, async () => {
  const p = await plan(pipeline(3, { sleepA: 1200 }), 'kill');
  const reference = await localReference(p, 'kill');
  const store = new ArtifactStore(shared);
  let victim: WorkerProcess | undefined;
  const watch = setInterval(() => {
    // Kill the first worker seen inside a stage (its "start" line is in the log, its "end" not yet).
    if (victim !== undefined || !existsSync(execLog)) return;
    const lines = readFileSync(execLog, 'utf8').split('\n');
    const started = p.nodes.filter(
      (n) => n.stage === 'a' && lines.some((l) => l.startsWith(`start ${n.name} ${n.key} `)) && executions(n.key) === 0,
    );
    if (started.length > 0) {
      victim = workers[0];
      victim?.child.kill('SIGKILL');
    }
  }, 20);
  try {
    const r = await runPlanDistributed(p, store, {
      redis: (redis as RedisTestServer).endpoint,
      queueName: QUEUE,
      progress: 'quiet',
      pollMs: 20,
    });
    assert.ok(victim !== undefined, 'a worker was killed');
    assert.deepEqual(r.counts, { executed: 10, cached: 0, failed: 0 });
    assert.ok(
      r.stages.every((s) => !s.worker?.endsWith(`:${victim?.pid}`) || s.stage !== 'a'),
      'no stage is credited to the dead worker',
    );
    assert.deepEqual(
      contentHashes(
        store,
        p.nodes.map((n) => n.key),
      ),
      reference,
    );
  } finally {
    clearInterval(watch);
    workers = workers.filter((w) => w !== victim);
    await victim?.kill();
  }
});

test('kill -9 of Redis mid-run, restart: the rerun completes, reusing what finished', { skip: redisMissing }, async () => {
  const server = redis as RedisTestServer;
  const p = await plan(pipeline(4, { sleepB: 300 }), 'restart');
  const reference = await localReference(p, 'restart');
  const store = new ArtifactStore(shared);
  let killed: Promise<void> | undefined;
  const watch = setInterval(() => {
    const done = p.nodes.filter((n) => store.verify(n.key).ok).length;
    if (killed === undefined && done >= 5) killed = server.kill();
  }, 20);
  try {
    await assert.rejects(
      runPlanDistributed(p, store, {
        redis: server.endpoint,
        queueName: QUEUE,
        progress: 'quiet',
        pollMs: 20,
        redisTimeoutMs: 1000,
      }),
      (e) => isSpecpipeError(e) && e.reason === 'redis-unreachable',
    );
  } finally {
    clearInterval(watch);
  }
  await killed;
  const before = p.nodes.filter((n) => store.verify(n.key).ok).map((n) => n.name);
  assert.ok(before.length >= 5 && before.length < 10, `${before.length} finished before the crash`);
  await server.restart();
  const r = await runPlanDistributed(p, store, { redis: server.endpoint, queueName: QUEUE, progress: 'quiet', pollMs: 20 });
  assert.equal(r.counts.failed, 0);
  for (const s of r.stages) if (before.includes(s.name)) assert.equal(s.status, 'cached', `${s.name} reused`);
  assert.deepEqual(
    contentHashes(
      store,
      p.nodes.map((n) => n.key),
    ),
    reference,
  );
  for (const n of p.nodes) assert.equal(executions(n.key), 1, `${n.name} computed once across the crash`);
  assert.deepEqual(
    readdirSync(join(shared)).filter((f) => /^[0-9a-f]{64}\./.test(f)),
    [],
    'no half-written artifact directory',
  );
});

test(
  'specpipe run --executor bullmq: same keys and content as a local `specpipe run`; run record and `specpipe runs` name the workers',
  { skip: redisMissing || notWired },
  async () => {
    // runCommand is called in this process without capturing stdout (under `node --test` stdout also
    // carries the runner's reports); results are read from the run records instead of --json.
    const server = redis as RedisTestServer;
    const ws = mkdtempSync(join(dir, 'cli-'));
    const file = join(ws, 'pipe.yaml');
    writeFileSync(file, pipeline(5));
    const distRuns = join(ws, 'runs-dist');
    const args = [
      file,
      '--executor',
      'bullmq',
      '--redis',
      server.url,
      '--queue',
      QUEUE,
      '--store',
      shared,
      '--runs',
      distRuns,
      '--quiet',
    ];
    assert.equal(await runCommand(args), 0);
    const localRuns = join(ws, 'runs-local');
    assert.equal(await runCommand([file, '--store', join(ws, 'local'), '--runs', localRuns, '--quiet']), 0);
    const lastRecord = (runsDir: string): RunRecord => readRunRecord(runsDir, listRunIds(runsDir).at(-1) as string);
    const dist = lastRecord(distRuns);
    const local = lastRecord(localRuns);
    assert.deepEqual(dist.counts, { executed: 10, cached: 0, failed: 0 });
    assert.deepEqual(
      dist.stages.map((s) => [s.name, s.key]),
      local.stages.map((s) => [s.name, s.key]),
    );
    const keys = dist.stages.map((s) => s.key);
    assert.deepEqual(contentHashes(new ArtifactStore(shared), keys), contentHashes(new ArtifactStore(join(ws, 'local')), keys));
    assert.deepEqual(
      dist.stages.map((s) => s.metrics),
      local.stages.map((s) => s.metrics),
    );
    assert.match(dist.executor, /^bullmq \(queue q-pipeline on redis:\/\/127\.0\.0\.1:\d+\)$/);
    const pids = workers.map((w) => `:${w.pid}`);
    for (const s of dist.stages)
      assert.ok(
        pids.some((pid) => s.worker?.endsWith(pid)),
        `${s.name} ran on ${s.worker}`,
      );
    const listed = await runCli(['runs', '--runs', distRuns], { cwd: ws, process: true });
    assert.equal(listed.code, 0, listed.stderr);
    for (const w of new Set(dist.stages.map((s) => s.worker)))
      assert.ok(listed.stdout.includes(w as string), `runs shows ${w}:\n${listed.stdout}`);

    assert.equal(await runCommand(args), 0);
    assert.deepEqual(lastRecord(distRuns).counts, { executed: 0, cached: 10, failed: 0 });
  },
);
