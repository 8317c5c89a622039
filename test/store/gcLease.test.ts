// `gc` beside a running `run`: the run leases every key it reads or writes, gc skips leased keys.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdirSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { spawn } from 'node:child_process';
import { startCli, tempWorkspace, waitForExit } from '../pipeline/cliHarness.js';
import { ArtifactStore } from '../../src/store/artifactStore.js';
import { collectGarbage } from '../../src/cli/commands/gc.js';
import { leasedKeys, takeLease } from '../../src/store/lease.js';
import '../pipeline/fixtures/testStages.js';
import { loadPipeline } from '../../src/pipeline/loadPipeline.js';
import { buildPlan } from '../../src/pipeline/plan.js';
import { executeStageInstance, type InstanceOutcome } from '../../src/executor/executeStageInstance.js';

const PIPE = `name: gc-beside-run
stages:
  a:
    uses: test/const
    matrix: { value: [1, 2, 3, 4] }
    with: { sleep_ms: 300 }
  b:
    uses: test/sum
    needs: [a]
    with: { sleep_ms: 400 }
  c:
    uses: test/sum
    gather: [b]
    with: { sleep_ms: 200 }
`;

test('gc in a loop beside a run removes nothing the run needs; the run succeeds computing each instance once', async () => {
  const dir = tempWorkspace('specpipe-gc-lease-');
  try {
    writeFileSync(join(dir, 'p.yaml'), PIPE);
    const store = new ArtifactStore(join(dir, 'artifacts'));
    const runsDir = join(dir, 'runs');
    const log = join(dir, 'executions.log');
    const child = startCli(['run', 'p.yaml', '--json', '--jobs', '2'], { cwd: dir, env: { SPECPIPE_TEST_LOG: log } });
    const exited = waitForExit(child);
    let done = false;
    void exited.then(() => (done = true));
    let rounds = 0;
    let skipped = 0;
    while (!done) {
      const plan = collectGarbage(store, runsDir, { keepRuns: 0 });
      skipped = Math.max(skipped, plan.leased);
      rounds++;
      await new Promise((r) => setTimeout(r, 50));
    }
    const r = await exited;
    assert.equal(r.code, 0, r.stderr);
    const out = JSON.parse(r.stdout) as { stages: { name: string; status: string }[] };
    assert.deepEqual(
      out.stages.map((s) => s.status),
      out.stages.map(() => 'executed'),
    );
    // Each of the 9 instances started exactly once: a key gc deleted under the run would be computed again.
    const starts = readFileSync(log, 'utf8')
      .split('\n')
      .filter((l) => l.startsWith('start '))
      .map((l) => l.split(' ')[2]!);
    assert.equal(starts.length, 9, starts.join('\n'));
    assert.equal(new Set(starts).size, 9, 'no instance was computed twice');
    assert.ok(rounds > 3, `gc ran ${rounds} times beside the run`);
    assert.ok(skipped > 0, 'gc reported leased artifacts it skipped');
    // The run released its lease at exit: nothing is leased now, and gc keeping no run removes everything.
    assert.deepEqual([...leasedKeys(store.root)], []);
    const after = collectGarbage(store, runsDir, { keepRuns: 0 });
    assert.equal(after.leased, 0);
    assert.deepEqual(store.keys(), []);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('a lease whose owner died is expired and removed; gc then collects its keys', async () => {
  const dir = tempWorkspace('specpipe-gc-lease-');
  try {
    const key = 'c'.repeat(64);
    mkdirSync(join(dir, 'artifacts', key), { recursive: true });
    const held = takeLease(join(dir, 'artifacts'), [key], 'test');
    assert.deepEqual([...leasedKeys(join(dir, 'artifacts'))], [key]);
    held.release();
    assert.ok(!existsSync(held.path));
    // A lease left by a process that is gone (a child that exited).
    const pid = await new Promise<number>((resolve) => {
      const c = spawn(process.execPath, ['-e', '0']);
      c.once('exit', () => resolve(c.pid as number));
    });
    const leases = join(dir, 'artifacts', '.leases');
    writeFileSync(
      join(leases, `dead.${pid}.json`),
      JSON.stringify({ pid, host: (await import('node:os')).hostname(), token: 't', since: '', what: 'x', keys: [key] }),
    );
    assert.deepEqual([...leasedKeys(join(dir, 'artifacts'))], []);
    assert.deepEqual(readdirSync(leases), []);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('gc about to delete a key just as a run leases and checks it: the run waits for gc, then computes it', async () => {
  const dir = tempWorkspace('specpipe-gc-lease-');
  try {
    const source = 'name: race\nstages:\n  a: { uses: test/const, with: { value: 7 } }\n';
    const node = buildPlan(loadPipeline('p.yaml', { source }), { backendId: 'none' }).nodes[0]!;
    const store = new ArtifactStore(join(dir, 'artifacts'));
    const runsDir = join(dir, 'runs');
    assert.equal((await executeStageInstance(node, store)).status, 'executed');
    // The dangerous point: gc holds the key's lock and found no lease; now a run leases the key and checks it.
    let reading: Promise<InstanceOutcome> | undefined;
    let lease: ReturnType<typeof takeLease> | undefined;
    const gc = collectGarbage(store, runsDir, {
      keepRuns: 0,
      beforeDiscard: (key) => {
        lease = takeLease(store.root, [key], 'run');
        reading = executeStageInstance(node, store);
      },
    });
    try {
      assert.deepEqual(
        gc.removed.map((r) => r.key),
        [node.key],
        'gc decided before the lease existed, so it deletes',
      );
      assert.ok(reading !== undefined);
      const outcome = await reading;
      // Without the lock check the run reported the key cached while gc deleted it underneath.
      assert.equal(outcome.status, 'executed', JSON.stringify(outcome));
      assert.ok(store.verify(node.key).ok, 'the recomputed artifact is in the store');
      // The other order: the lease exists before gc looks, so gc keeps the key.
      const later = collectGarbage(store, runsDir, {
        keepRuns: 0,
        beforeDiscard: () => assert.fail('gc discarded a leased key'),
      });
      assert.equal(later.leased, 1);
      assert.deepEqual(store.keys(), [node.key]);
    } finally {
      lease?.release();
    }
    assert.equal(collectGarbage(store, runsDir, { keepRuns: 0 }).removed.length, 1, 'released: gc collects it');
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
