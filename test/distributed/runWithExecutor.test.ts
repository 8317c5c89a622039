import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { preparePlan } from '../../src/pipeline/preparePlan.js';
import { ArtifactStore } from '../../src/store/artifactStore.js';
import { runPlanWithExecutor } from '../../src/executor/bullmq/runWithExecutor.js';
import { planJobGraph } from '../../src/executor/bullmq/runPlanDistributed.js';
import { topologicalJobOrder } from '../../src/executor/bullmq/jobGraph.js';
import { isSpecpipeError } from '../../src/util/errors.js';
import { TEST_STAGES } from '../pipeline/cliHarness.js';

await import(pathToFileURL(TEST_STAGES).href);

const PIPE = `name: exec-args
stages:
  a:
    uses: test/const
    matrix: { value: [1, 2] }
  b:
    uses: test/sum
    needs: [a]
  r:
    uses: test/sum
    gather: [b, a]
`;

async function setup() {
  const dir = mkdtempSync(join(tmpdir(), 'specpipe-exec-args-'));
  writeFileSync(join(dir, 'p.yaml'), PIPE);
  const { plan } = await preparePlan(join(dir, 'p.yaml'), []);
  return { dir, plan, store: new ArtifactStore(join(dir, 'artifacts')) };
}

test('bad executor flags are rejected naming the flag and the value, before anything runs', async () => {
  const { dir, plan, store } = await setup();
  try {
    const cases: Array<[Parameters<typeof runPlanWithExecutor>[0], string]> = [
      [{ executor: 'spark' }, '--executor must be local or bullmq, received "spark"'],
      [{ executor: 'bullmq' }, '--executor bullmq needs --redis redis://HOST:PORT'],
      [
        { redis: 'redis://127.0.0.1:6379' },
        '--redis redis://127.0.0.1:6379: only the bullmq executor takes it (add --executor bullmq)',
      ],
      [
        { executor: 'bullmq', redis: 'redis://h:1', jobs: '4' },
        '--jobs 4: the bullmq executor runs as many stages at once as its workers take (specpipe worker --concurrency N)',
      ],
      [{ executor: 'bullmq', redis: 'redis://h:1', attempts: '0' }, '--attempts must be a positive integer, received "0"'],
      [{ executor: 'bullmq', redis: 'http://h:1' }, '--redis: expected a redis:// URL, got protocol "http:" in "http://h:1"'],
    ];
    for (const [args, message] of cases) {
      await assert.rejects(
        runPlanWithExecutor(args, plan, store, { progress: 'quiet' }),
        (e) => isSpecpipeError(e) && e.message === message,
        message,
      );
    }
    const local = await runPlanWithExecutor({}, plan, store, { progress: 'quiet' });
    assert.match(local.executor, /^local \(.+:\d+\)$/);
    assert.deepEqual(local.counts, { executed: 5, cached: 0, failed: 0 });
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('planJobGraph: one stage job per instance, deps = the keys of its needs and gather instances', async () => {
  const { dir, plan } = await setup();
  try {
    const jobs = planJobGraph(plan.nodes, { force: ['b'] });
    assert.equal(jobs.length, plan.nodes.length);
    const byName = new Map(plan.nodes.map((n) => [n.name, n]));
    const key = (name: string) => byName.get(name)?.key as string;
    const job = (name: string) => jobs.find((j) => j.name === name);
    assert.deepEqual(job('a[value=1]')?.deps, []);
    assert.deepEqual(job('b[value=2]')?.deps, [key('a[value=2]')]);
    assert.deepEqual(
      new Set(job('r')?.deps),
      new Set([key('b[value=1]'), key('b[value=2]'), key('a[value=1]'), key('a[value=2]')]),
    );
    assert.deepEqual(
      jobs.map((j) => (j.payload as { force: boolean }).force),
      plan.nodes.map((n) => n.stage === 'b'),
    );
    assert.equal(topologicalJobOrder(jobs).length, jobs.length);
    // The payload is plain JSON: it survives the trip through Redis unchanged.
    for (const j of jobs) assert.deepEqual(JSON.parse(JSON.stringify(j.payload)), j.payload);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
