/**
 * Ctrl-C during `specpipe run`: the running stage stops (its thread, or the process), no temp dir,
 * lock or lease is left, the run record says `interrupted` with the finished stages, stderr says what
 * finished and how to resume, the exit code is 130; the same command then computes only the rest.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import '../pipeline/fixtures/testStages.js';
import { runCli, runJson, startCli, statuses, tempWorkspace, waitForExit } from '../pipeline/cliHarness.js';

const PIPE = `name: interrupt-test
stages:
  a:
    uses: test/const
    with: { value: 1 }
  b:
    uses: test/sum
    needs: [a]
    with: { sleep_ms: 120000 }
  c:
    uses: test/sum
    needs: [b]
`;

const entries = (d: string): string[] => (existsSync(d) ? readdirSync(d) : []);

async function until(what: string, ok: () => boolean, ms = 60_000): Promise<void> {
  const t0 = Date.now();
  while (!ok()) {
    if (Date.now() - t0 > ms) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

for (const jobs of ['1', '2']) {
  test(`Ctrl-C during run --jobs ${jobs} (stage ${jobs === '1' ? 'in the main thread' : 'in a stage thread'}): record interrupted, exit 130, the rerun computes only the rest`, async () => {
    const dir = tempWorkspace('specpipe-interrupt-');
    writeFileSync(join(dir, 'pipe.yaml'), PIPE);
    const log = join(dir, 'exec.log');
    const child = startCli(['run', 'pipe.yaml', '--jobs', jobs], { cwd: dir, env: { SPECPIPE_TEST_LOG: log } });
    const exited = waitForExit(child);
    const started = (name: string) => existsSync(log) && readFileSync(log, 'utf8').includes(`start ${name} `);
    await until('stage b to start', () => started('b'));
    const bLine = readFileSync(log, 'utf8')
      .split('\n')
      .find((l) => l.startsWith('start b '))!;
    assert.equal(bLine.endsWith(' thread=0'), jobs === '1', bLine);
    child.kill('SIGINT');
    const r = await exited;
    assert.equal(r.code, 130, r.stderr);
    assert.equal(r.stdout, '');

    const runs = entries(join(dir, 'runs')).filter((n) => n.endsWith('.json'));
    assert.equal(runs.length, 1, 'one run record');
    const id = runs[0]!.slice(0, -5);
    const rec = JSON.parse(readFileSync(join(dir, 'runs', runs[0]!), 'utf8')) as {
      status: string;
      stages: { name: string; status: string; error?: string }[];
    };
    assert.equal(rec.status, 'interrupted');
    assert.deepEqual(
      rec.stages.map((s) => [s.name, s.status, s.error]),
      [
        ['a', 'executed', undefined],
        ['b', 'failed', 'interrupted (Ctrl-C) while computing'],
        ['c', 'failed', 'not run: the run was interrupted (Ctrl-C)'],
      ],
    );
    assert.match(r.stderr, /\nCtrl-C: stopping the running stages \(Ctrl-C again to exit at once\)\n/);
    assert.ok(
      r.stderr.endsWith(
        `interrupted: 1 of 3 instances finished (a); stopped while computing: b; not started: c (run ${id}, status interrupted)\n` +
          `resume with the same command (finished stages are reused): specpipe run pipe.yaml --jobs ${jobs}\n`,
      ),
      r.stderr,
    );
    // Nothing half-done is left: no temp dir, no lock, no lease.
    const store = join(dir, 'artifacts');
    assert.deepEqual(entries(join(store, '.tmp')), []);
    assert.deepEqual(entries(join(store, '.locks')), []);
    assert.deepEqual(entries(join(store, '.leases')), []);
    const keys = entries(store).filter((n) => /^[0-9a-f]{64}$/.test(n));
    assert.equal(keys.length, 1, 'only a was committed');
    // A dry run says why b and c would execute: they did not finish, not "removed from the store".
    const dry = await runCli(['run', 'pipe.yaml', '--dry-run'], { cwd: dir });
    assert.match(
      dry.stdout,
      new RegExp(
        `^  b +[0-9a-f]{12}  WOULD EXECUTE: not finished in run ${id} \\(interrupted \\(Ctrl-C\\) while computing\\)$`,
        'm',
      ),
    );
    assert.match(
      dry.stdout,
      new RegExp(
        `^  c +[0-9a-f]{12}  WOULD EXECUTE: not finished in run ${id} \\(not run: the run was interrupted \\(Ctrl-C\\)\\)$`,
        'm',
      ),
    );

    // The same command (without the sleep, which never changes a result) reuses a, computes b and c.
    writeFileSync(log, '');
    const again = await runJson(['pipe.yaml', '--jobs', jobs], {
      cwd: dir,
      env: { SPECPIPE_TEST_LOG: log, SPECPIPE_TEST_NO_SLEEP: '1' },
      process: true,
    });
    assert.deepEqual(statuses(again), { a: 'cached', b: 'executed', c: 'executed' });
    const startedNow = readFileSync(log, 'utf8')
      .split('\n')
      .filter((l) => l.startsWith('start '))
      .map((l) => l.split(' ')[1]);
    assert.deepEqual(startedNow, ['b', 'c']);
  });
}
