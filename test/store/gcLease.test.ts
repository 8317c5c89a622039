// `gc` beside a running `run`: the run leases every key it reads or writes, gc skips leased keys.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdirSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { spawn } from 'node:child_process';
import { startCli, tempWorkspace, waitForExit } from '../pipeline/cliHarness.js';
import { ArtifactStore } from '../../src/store/artifactStore.js';
import { collectGarbage } from '../../src/cli/commands/gc.js';
import { leasedKeys, takeLease } from '../../src/store/lease.js';

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

test('gc in a loop beside a run removes nothing the run needs; the run succeeds', async () => {
  const dir = tempWorkspace('specpipe-gc-lease-');
  try {
    writeFileSync(join(dir, 'p.yaml'), PIPE);
    const store = new ArtifactStore(join(dir, 'artifacts'));
    const runsDir = join(dir, 'runs');
    const child = startCli(['run', 'p.yaml', '--json', '--jobs', '2'], { cwd: dir });
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
