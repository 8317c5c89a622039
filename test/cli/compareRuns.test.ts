/**
 * Comparing runs as a user does, through the CLI on the test-only stage kinds: `runs --table`
 * (--pipeline, --csv, --json, blocks at the terminal width), `diff` with no arguments and `--all`,
 * `explain` against the same pipeline only, and `run --dry-run` leaving the store untouched.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readdirSync, statSync, writeFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import '../pipeline/fixtures/testStages.js';
import { ENGINE_PIPELINE } from '../pipeline/fixtures/enginePipeline.js';
import { runBuiltinCli, runCli, runJson, tempWorkspace } from '../pipeline/cliHarness.js';

/** Another pipeline with a stage `c` of the same kind and instance name but another value. */
const OTHER = `name: other
seed: 7
stages:
  c:
    uses: test/const
    with: { value: 9 }
`;

function workspace(): string {
  const dir = tempWorkspace('specpipe-compare-');
  writeFileSync(join(dir, 'pipe.yaml'), ENGINE_PIPELINE);
  writeFileSync(join(dir, 'other.yaml'), OTHER);
  return dir;
}

/** Every file under `dir` with its size and mtime: what "unchanged" means for the store and the runs. */
function snapshot(dir: string): Record<string, string> {
  const out: Record<string, string> = {};
  const walk = (d: string): void => {
    for (const name of readdirSync(d)) {
      const p = join(d, name);
      const s = statSync(p);
      if (s.isDirectory()) walk(p);
      out[relative(dir, p)] = `${s.size} ${s.mtimeMs}`;
    }
  };
  walk(dir);
  return out;
}

test('runs --table: one row per run, the params that differ, key metrics; --pipeline, --csv, --json, blocks at the width', async () => {
  const dir = workspace();
  const r1 = await runJson(['pipe.yaml'], { cwd: dir });
  const r2 = await runJson(['pipe.yaml', '--set', 'b.with.scale=3'], { cwd: dir });
  const o1 = await runJson(['other.yaml'], { cwd: dir });
  const r3 = await runJson(['pipe.yaml', '--set', 'seed=8', '--set', 'c.with.value=6'], { cwd: dir });

  const csv = await runCli(['runs', '--table', '--pipeline', 'engine-test', '--csv', '--metrics', 'sum'], { cwd: dir });
  assert.equal(csv.code, 0, csv.stderr);
  // b's scale is one value per run for both matrix instances: one column "b.scale"; a's matrix value never changes.
  assert.equal(
    csv.stdout,
    [
      'run,pipeline,status,seed,b.scale,c.value,b[value=1] sum,b[value=2] sum,r sum',
      `${r1.run},engine-test,ok,7,2,5,8,16,44`,
      `${r2.run},engine-test,ok,7,3,5,12,24,56`,
      `${r3.run},engine-test,ok,8,2,6,8,16,48`,
      '',
    ].join('\n'),
  );

  const json = await runCli(['runs', '--table', '--json', '--metrics', 'value'], { cwd: dir });
  const rows = JSON.parse(json.stdout) as Record<string, unknown>[];
  assert.deepEqual(
    rows.map((r) => [r['run'], r['pipeline'], r['c value']]),
    [
      [r1.run, 'engine-test', 5],
      [r2.run, 'engine-test', 5],
      [o1.run, 'other', 9],
      [r3.run, 'engine-test', 6],
    ],
  );

  // 60 columns: the table continues in a second block that repeats the run column.
  const text = await runCli(['runs', '--table', '--pipeline', 'engine-test', '--metrics', 'sum'], {
    cwd: dir,
    env: { COLUMNS: '60' },
  });
  const lines = text.stdout.trimEnd().split('\n');
  for (const line of lines) assert.ok(line.length <= 60, `wider than 60: "${line}"`);
  assert.match(lines[0]!, /^run +pipeline +status +seed$/);
  assert.match(lines[2]!, new RegExp(`^${r2.run} +engine-test +ok +7$`));
  assert.equal(lines[4], '');
  assert.match(lines[5]!, /^run +b\.scale +c\.value +b\[value=1\] sum$/);
  assert.match(lines[7]!, new RegExp(`^${r2.run} +3 +5 +12$`));
  assert.match(lines[10]!, /^run +b\[value=2\] sum +r sum$/);

  const unknown = await runCli(['runs', '--table', '--pipeline', 'nope'], { cwd: dir });
  assert.equal(unknown.code, 1);
  assert.match(
    unknown.stderr,
    /^specpipe runs: runs --pipeline nope: no run of that pipeline in .*runs \(pipelines: engine-test, other\)\n$/,
  );
});

test("diff with no arguments compares the last two runs of the latest run's pipeline; unchanged metrics only with --all", async () => {
  const dir = workspace();
  const r1 = await runJson(['pipe.yaml'], { cwd: dir });
  await runJson(['other.yaml'], { cwd: dir });
  const r2 = await runJson(['pipe.yaml', '--set', 'b.with.scale=3'], { cwd: dir });
  const d = await runCli(['diff'], { cwd: dir });
  assert.equal(d.code, 0, d.stderr);
  assert.equal(d.stdout.split('\n')[0], `diff ${r1.run} → ${r2.run}`);
  assert.match(d.stdout, /^  b\[value=1\]  sum: 8 → 12  \(\+4\)$/m);
  // a[value=1] value=1, a[value=2] value=2, c value=5 and b's and r's inputs counts are the same in both runs.
  assert.doesNotMatch(d.stdout, /^  c  value:/m);
  assert.match(d.stdout, /^  \(6 unchanged metrics not shown; --all shows them\)$/m);
  const all = await runCli(['diff', '--all'], { cwd: dir });
  assert.match(all.stdout, /^  c  value: 5 → 5  \(\+0\)$/m);
  assert.doesNotMatch(all.stdout, /unchanged metrics not shown/);
  // One RUN: against the run of its pipeline before it.
  const one = await runCli(['diff', r2.run, '--json'], { cwd: dir });
  const j = JSON.parse(one.stdout) as { a: string; b: string; unchangedMetrics: number };
  assert.deepEqual([j.a, j.b, j.unchangedMetrics], [r1.run, r2.run, 6]);
  // The latest run is the other pipeline's: its two runs are compared.
  const lonely = await runCli(['run', 'other.yaml', '--quiet'], { cwd: dir });
  assert.equal(lonely.code, 0, lonely.stderr);
  const o = await runCli(['diff'], { cwd: dir });
  assert.equal(o.code, 0, o.stderr);
  const ids = readdirSync(join(dir, 'runs')).sort();
  assert.equal(o.stdout.split('\n')[0], `diff ${ids[1]!.slice(0, -5)} → ${ids[3]!.slice(0, -5)}`);
  // A pipeline's only run has nothing to compare with.
  const fresh = workspace();
  await runJson(['other.yaml'], { cwd: fresh });
  const none = await runCli(['diff'], { cwd: fresh });
  assert.equal(none.code, 2);
  assert.match(
    none.stderr,
    /^specpipe diff: diff: run \S+ is the only recorded run of pipeline "other" in \S+runs; name two runs: specpipe diff RUN_A RUN_B\n$/,
  );
});

test("explain compares with the last run of the same pipeline, never another pipeline's stage of the same name", async () => {
  const dir = workspace();
  const r1 = await runJson(['pipe.yaml'], { cwd: dir });
  const o1 = await runJson(['other.yaml'], { cwd: dir }); // newer, with an instance "c" of value 9
  const ex = await runCli(['explain', 'pipe.yaml', 'c', '--json'], { cwd: dir });
  assert.equal(ex.code, 0, ex.stderr);
  const [e] = JSON.parse(ex.stdout) as {
    comparedWith: string;
    verdict: string;
    ingredients: { ingredient: string; state: string }[];
  }[];
  assert.equal(e!.comparedWith, r1.run);
  assert.equal(e!.verdict, 'cached');
  assert.deepEqual(
    e!.ingredients.filter((i) => i.state !== 'same').map((i) => i.ingredient),
    [],
  );
  const other = await runCli(['explain', 'other.yaml', 'c'], { cwd: dir });
  assert.match(other.stdout, new RegExp(`^  compared with run ${o1.run}; store: valid artifact$`, 'm'));
  assert.match(other.stdout, /^  params +same +\{"size":4,"sleep_ms":0,"value":9\}$/m);
});

test('run --dry-run prints what would execute and why, executes nothing and leaves the store and the runs unchanged', async () => {
  const dir = workspace();
  const fresh = await runCli(['run', 'pipe.yaml', '--dry-run'], { cwd: dir });
  assert.equal(fresh.code, 0, fresh.stderr);
  assert.match(fresh.stdout, /^dry run of pipe\.yaml \(pipeline engine-test\), compared with no earlier run of this pipeline:$/m);
  assert.match(fresh.stdout, /^  c           [0-9a-f]{12}  WOULD EXECUTE: no earlier run of this instance$/m);
  assert.match(fresh.stdout, /^6 would execute, 0 cached; nothing was executed and no run record was written$/m);
  assert.ok(!existsSync(join(dir, 'artifacts')) && !existsSync(join(dir, 'runs')), 'a dry run creates no store and no runs');

  const r1 = await runJson(['pipe.yaml'], { cwd: dir });
  await runJson(['other.yaml', '--set', 'c.with.value=1'], { cwd: dir });
  const before = snapshot(dir);
  const d = await runCli(['run', 'pipe.yaml', '--dry-run', '--set', 'b.with.scale=5', '--force', 'c'], { cwd: dir });
  assert.equal(d.code, 0, d.stderr);
  const key = (name: string): string => r1.stages.find((s) => s.name === name)!.key.slice(0, 12);
  assert.equal(d.stdout.split('\n')[0], `dry run of pipe.yaml (pipeline engine-test), compared with its last run ${r1.run}:`);
  assert.match(d.stdout, new RegExp(`^  a\\[value=1\\]  ${key('a[value=1]')}  cached$`, 'm'));
  assert.match(d.stdout, /^  b\[value=1\]  [0-9a-f]{12}  WOULD EXECUTE: params changed: scale: 2 → 5$/m);
  assert.match(d.stdout, new RegExp(`^  c           ${key('c')}  WOULD EXECUTE: forced \\(--force c\\)$`, 'm'));
  assert.match(
    d.stdout,
    /^  r           [0-9a-f]{12}  WOULD EXECUTE: upstream changed: b b\[value=1\]: [0-9a-f]{12} → [0-9a-f]{12}; b b\[value=2\]: /m,
  );
  assert.match(d.stdout, /^4 would execute, 2 cached; nothing was executed and no run record was written$/m);
  assert.deepEqual(snapshot(dir), before, 'the store, the runs and the fingerprint cache are unchanged');
});

test('run --dry-run and explain after a gathered or needed stage was removed or added: "removed"/"added", no crash', async () => {
  const dir = workspace();
  await runJson(['pipe.yaml'], { cwd: dir });
  writeFileSync(join(dir, 'pipe.yaml'), ENGINE_PIPELINE.replace('gather: [b, c]', 'gather: [b]'));
  const d = await runCli(['run', 'pipe.yaml', '--dry-run'], { cwd: dir });
  assert.equal(d.code, 0, d.stderr);
  assert.match(d.stdout, /^ {2}r {11}[0-9a-f]{12} {2}WOULD EXECUTE: upstream changed: c: removed$/m);
  const ex = await runCli(['explain', 'pipe.yaml', 'r'], { cwd: dir });
  assert.equal(ex.code, 0, ex.stderr);
  assert.match(ex.stdout, /^ {2}upstream +CHANGED +b=\[2 instances\]$/m);
  await runJson(['pipe.yaml'], { cwd: dir });
  writeFileSync(join(dir, 'pipe.yaml'), ENGINE_PIPELINE);
  const back = await runCli(['run', 'pipe.yaml', '--dry-run'], { cwd: dir });
  assert.equal(back.code, 0, back.stderr);
  assert.match(back.stdout, /^ {2}r {11}[0-9a-f]{12} {2}cached$/m, "the first run's artifact of r is still in the store");
});

test('specpipe --help lists the comparison commands; runs --help and diff --help give their options', async () => {
  const dir = workspace();
  const help = await runBuiltinCli(['--help'], dir);
  assert.equal(help.code, 0);
  assert.match(
    help.stdout,
    /^ {2}run {8}run a pipeline YAML \(cached stages are reused; --dry-run: what would execute and why\)$/m,
  );
  assert.match(help.stdout, /^ {2}runs {7}list recorded runs; --table compares them \(changed params, key metrics\)$/m);
  assert.match(help.stdout, /^ {2}diff {7}compare two runs: params, changed metrics, spectra$/m);
  const runs = await runBuiltinCli(['runs', '--help'], dir);
  assert.match(runs.stdout, /^usage: specpipe runs \[--table\] \[--pipeline NAME\] \[--json \| --csv\] \[--metrics M,…\]/);
  const diff = await runBuiltinCli(['diff', '--help'], dir);
  assert.match(diff.stdout, /^ {2}--all {3}also list the metrics that did not change \(hidden by default\)$/m);
});
