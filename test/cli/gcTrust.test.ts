/**
 * Garbage collection users can trust, driven through the CLI: retention per pipeline
 * (`gc --keep-runs K` counts the successful runs of each pipeline; failed runs don't push them out),
 * `pin` / `unpin` (a pinned run's artifacts are never collected; `runs` marks it), and `show` /
 * `report` on a run whose artifacts were collected say so and exit 1 instead of printing an empty result.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import '../pipeline/fixtures/testStages.js';
import { runBuiltinCli, runCli, runJson, tempWorkspace } from '../pipeline/cliHarness.js';

const ONE = `name: p-one
stages:
  a:
    uses: test/const
    with: { value: 1 }
  b:
    uses: test/sum
    needs: [a]
`;
const TWO = `name: p-two
stages:
  c:
    uses: test/const
    with: { value: 9 }
`;

interface GcJson {
  removed: { instance: string; key: string }[];
  keptRuns: Record<string, string>;
}

test('gc keeps the last K successful runs of each pipeline and pinned runs; show/report on collected runs exit 1', async () => {
  const dir = tempWorkspace('specpipe-gc-');
  writeFileSync(join(dir, 'one.yaml'), ONE);
  writeFileSync(join(dir, 'two.yaml'), TWO);
  const o = { cwd: dir };
  const runA = await runJson(['one.yaml'], o);
  const runB = await runJson(['one.yaml', '--set', 'a.with.value=2'], o);
  const runC = await runJson(['two.yaml'], o);
  const runD = await runJson(['one.yaml', '--set', 'a.with.value=4', '--set', 'b.with.fail=true'], o, 1);

  // K = 1: p-one's last successful run (B), its failed run after it (D), and p-two's (C). A goes.
  const dry = await runCli(['gc', '--keep-runs', '1', '--dry-run', '--json'], o);
  assert.equal(dry.code, 0, dry.stderr);
  const plan = JSON.parse(dry.stdout) as GcJson;
  assert.deepEqual(plan.keptRuns, { [runB.run]: 'recent', [runC.run]: 'recent', [runD.run]: 'recent-failed' });
  assert.deepEqual(plan.removed.map((r) => r.key).sort(), runA.stages.map((s) => s.key).sort());

  // Pinned: A is kept, and runs marks it.
  const pin = await runCli(['pin', runA.run], { ...o, process: true });
  assert.deepEqual(pin, {
    code: 0,
    signal: null,
    stdout: `pinned run ${runA.run} (pipeline p-one, 2 stage artifacts): gc keeps them until specpipe unpin ${runA.run}\n`,
    stderr: '',
  });
  const pinnedGc = await runCli(['gc', '--keep-runs', '1', '--json'], o);
  const pinnedPlan = JSON.parse(pinnedGc.stdout) as GcJson;
  assert.deepEqual(pinnedPlan.removed, []);
  assert.equal(pinnedPlan.keptRuns[runA.run], 'pinned');
  const listed = await runCli(['runs'], o);
  const rowOf = (id: string) => listed.stdout.split('\n').find((l) => l.startsWith(id)) ?? '';
  assert.match(rowOf(runA.run), / {2}PINNED; local /);
  assert.doesNotMatch(rowOf(runB.run), /PINNED/);
  const listedJson = JSON.parse((await runCli(['runs', '--json'], o)).stdout) as {
    run: string;
    pinned: boolean;
    status: string;
  }[];
  assert.deepEqual(
    listedJson.map((r) => [r.run, r.pinned, r.status]),
    [
      [runA.run, true, 'succeeded'],
      [runB.run, false, 'succeeded'],
      [runC.run, false, 'succeeded'],
      [runD.run, false, 'failed'],
    ],
  );

  // Unpinned: the next gc collects A's artifacts, and only those.
  const unpin = await runCli(['unpin', runA.run], { ...o, process: true });
  assert.equal(unpin.code, 0, unpin.stderr);
  assert.equal(
    unpin.stdout,
    `unpinned run ${runA.run}: gc may remove its artifacts once it is outside --keep-runs of its pipeline\n`,
  );
  const again = await runCli(['unpin', runA.run], { ...o, process: true });
  assert.deepEqual(again, {
    code: 1,
    signal: null,
    stdout: '',
    stderr: `specpipe unpin: run ${runA.run} is not pinned (specpipe runs marks pinned runs)\n`,
  });
  const gc = await runCli(['gc', '--keep-runs', '1', '--json'], o);
  assert.deepEqual((JSON.parse(gc.stdout) as GcJson).removed.map((r) => r.instance).sort(), ['a', 'b']);
  for (const s of runA.stages) assert.ok(!existsSync(s.artifacts), `${s.name}'s artifacts removed`);
  for (const s of runB.stages) assert.ok(existsSync(s.artifacts), `${s.name} of the kept run stays`);

  // show and report of the collected run say so, exit 1, and write no report.
  const store = join(dir, 'artifacts');
  const gone = `run ${runA.run}: the artifacts of all of its 2 stage instances were collected by gc (a, b; store ${store}); run specpipe run one.yaml again to recompute them, and specpipe pin ${runA.run} to keep a run's artifacts`;
  const show = await runCli(['show', runA.run], o);
  assert.equal(show.code, 1);
  assert.equal(show.stderr, `specpipe show: ${gone}\n`);
  assert.match(show.stdout, new RegExp(`^run ${runA.run} {2}pipeline p-one`), 'the record is still shown');
  const shown = await runCli(['show', runB.run], o);
  assert.equal(shown.code, 0, shown.stderr);
  const report = await runBuiltinCli(['report', runA.run, '--out', 'a.html'], dir);
  assert.deepEqual(report, { code: 1, stdout: '', stderr: `specpipe report: ${gone}; no report written\n` });
  assert.ok(!existsSync(join(dir, 'a.html')));
  // two runs compared (report RUN_A RUN_B): a collected run is refused in either place
  for (const runs of [
    [runB.run, runA.run],
    [runA.run, runB.run],
  ]) {
    const both = await runBuiltinCli(['report', ...runs, '--out', 'ab.html'], dir);
    assert.deepEqual(both, { code: 1, stdout: '', stderr: `specpipe report: ${gone}; no report written\n` });
    assert.ok(!existsSync(join(dir, 'ab.html')));
  }
  const kept = await runBuiltinCli(['report', runB.run, runC.run, '--out', 'bc.html'], dir);
  assert.equal(kept.code, 0, kept.stderr);
});

test('gc --keep-runs counts successful runs: failed runs after them never push them out', async () => {
  const dir = tempWorkspace('specpipe-gc-');
  writeFileSync(join(dir, 'one.yaml'), ONE);
  const o = { cwd: dir };
  const good = await runJson(['one.yaml'], o);
  for (const v of [5, 6, 7]) await runJson(['one.yaml', '--set', `a.with.value=${v}`, '--set', 'b.with.fail=true'], o, 1);
  const gc = await runCli(['gc', '--keep-runs', '2', '--json'], o);
  const plan = JSON.parse(gc.stdout) as GcJson;
  assert.equal(plan.keptRuns[good.run], 'recent');
  for (const s of good.stages) assert.ok(existsSync(s.artifacts), `${s.name} of the successful run stays`);
  // The two newest failed runs ride along; the oldest failed run's executed stage (a, value 5) goes.
  assert.equal(Object.values(plan.keptRuns).filter((r) => r === 'recent-failed').length, 2);
  assert.deepEqual(
    plan.removed.map((r) => r.instance),
    ['a'],
  );
});
