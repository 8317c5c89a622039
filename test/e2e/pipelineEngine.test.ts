/**
 * End-to-end tests of the pipeline engine through the CLI, on test-only stage kinds
 * (test/pipeline/fixtures/testStages.ts): caching, invalidation, explain, crash safety,
 * concurrent runs, corruption, diff, gc.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readFileSync, readdirSync, statSync, utimesSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import '../pipeline/fixtures/testStages.js';
import { ENGINE_PIPELINE } from '../pipeline/fixtures/enginePipeline.js';
import { runCli, runJson, startCli, statuses, tempWorkspace, waitForExit } from '../pipeline/cliHarness.js';

function workspace(pipeline = ENGINE_PIPELINE): { dir: string; file: string; store: string; log: string } {
  const dir = tempWorkspace();
  writeFileSync(join(dir, 'pipe.yaml'), pipeline);
  return { dir, file: 'pipe.yaml', store: 'artifacts', log: join(dir, 'exec.log') };
}

function logLines(log: string, what: 'start' | 'end'): string[] {
  if (!existsSync(log)) return [];
  return readFileSync(log, 'utf8')
    .split('\n')
    .filter((l) => l.startsWith(`${what} `));
}

const ALL = ['a[value=1]', 'a[value=2]', 'b[value=1]', 'b[value=2]', 'c', 'r'];

test('run, rerun (all cached), change one param (exactly its downstream re-executes)', async () => {
  const w = workspace();
  const env = { SPECPIPE_TEST_LOG: w.log };
  const first = await runJson([w.file], { cwd: w.dir, env });
  assert.deepEqual(
    first.stages.map((s) => s.name),
    ALL,
  );
  assert.deepEqual(
    Object.values(statuses(first)),
    ALL.map(() => 'executed'),
  );
  assert.match(first.stderr, /^6 executed, 0 cached, 0 failed in \d+\.\d\d s \(run /m);
  for (const s of first.stages) {
    assert.match(s.key, /^[0-9a-f]{64}$/);
    assert.equal(s.artifacts, join(w.dir, 'artifacts', s.key));
    assert.ok(existsSync(join(s.artifacts, 'manifest.json')));
  }
  assert.ok(existsSync(join(w.dir, 'runs', `${first.run}.json`)), 'run record next to the store');

  const again = await runJson([w.file], { cwd: w.dir, env });
  assert.deepEqual(
    Object.values(statuses(again)),
    ALL.map(() => 'cached'),
  );
  assert.deepEqual(
    again.stages.map((s) => s.key),
    first.stages.map((s) => s.key),
  );
  assert.match(again.stderr, /^0 executed, 6 cached, 0 failed in /m);

  const changed = await runJson([w.file, '--set', 'b.with.scale=3'], { cwd: w.dir, env });
  assert.deepEqual(statuses(changed), {
    'a[value=1]': 'cached',
    'a[value=2]': 'cached',
    'b[value=1]': 'executed',
    'b[value=2]': 'executed',
    c: 'cached',
    r: 'executed',
  });
  // The results follow the param: r = Σ_v 3·v·1 + 5 over 4 entries.
  const rec = JSON.parse(readFileSync(join(w.dir, 'runs', `${changed.run}.json`), 'utf8')) as {
    stages: { name: string; metrics?: Record<string, number> }[];
  };
  assert.equal(rec.stages.find((s) => s.name === 'r')!.metrics!['sum'], 4 * (3 * 1 + 3 * 2 + 5));
  assert.equal(logLines(w.log, 'end').length, 6 + 3);
});

test('an implementation version bump re-executes its instances and downstream; explain says why', async () => {
  const w = workspace();
  await runJson([w.file], { cwd: w.dir });
  const bumped = await runJson([w.file], { cwd: w.dir, env: { SPECPIPE_TEST_CONST_VERSION: '2' } });
  assert.deepEqual(
    Object.values(statuses(bumped)),
    ALL.map(() => 'executed'),
  );

  const ex = await runCli(['explain', w.file, 'a[value=1]', 'b'], { cwd: w.dir, env: { SPECPIPE_TEST_CONST_VERSION: '3' } });
  assert.equal(ex.code, 0, ex.stderr);
  const out = ex.stdout;
  assert.match(out, /^a\[value=1\]  [0-9a-f]{12}  WOULD EXECUTE: version changed: 2 → 3$/m);
  assert.match(out, /^  version      CHANGED  3\n {26}2 → 3$/m);
  assert.match(out, /^  params       same     \{"size":4,"sleep_ms":0,"value":1\}$/m);
  assert.match(
    out,
    /^b\[value=2\]  [0-9a-f]{12}  WOULD EXECUTE: upstream changed: a: [0-9a-f]{12} → [0-9a-f]{12} \(upstream key changed\)$/m,
  );
  const same = await runCli(['explain', w.file, 'c', '--json'], { cwd: w.dir, env: { SPECPIPE_TEST_CONST_VERSION: '2' } });
  const parsed = JSON.parse(same.stdout) as { verdict: string; ingredients: { state: string }[] }[];
  assert.equal(parsed[0]!.verdict, 'cached');
  assert.ok(parsed[0]!.ingredients.every((i) => i.state === 'same'));
});

test('kill -9 in the middle of a stage: the rerun reuses finished stages, recomputes the interrupted one, never reads the partial file', async () => {
  const w = workspace(`name: crash
stages:
  first:
    uses: test/const
    with: { value: 1 }
  slow:
    uses: test/const
    needs: [first]
    with: { value: 2, sleep_ms: 60000 }
  down:
    uses: test/sum
    needs: [slow]
`);
  const child = startCli(['run', w.file, '--json'], { cwd: w.dir, env: { SPECPIPE_TEST_LOG: w.log } });
  const exited = waitForExit(child);
  const deadline = Date.now() + 60_000;
  while (!logLines(w.log, 'start').some((l) => l.startsWith('start slow '))) {
    assert.ok(Date.now() < deadline, 'slow stage never started');
    await new Promise((r) => setTimeout(r, 50));
  }
  process.kill(-child.pid!, 'SIGKILL');
  const killed = await exited;
  assert.equal(killed.signal, 'SIGKILL');
  const slowKey = logLines(w.log, 'start')
    .find((l) => l.startsWith('start slow '))!
    .split(' ')[2]!;
  assert.ok(!existsSync(join(w.dir, 'artifacts', slowKey)), 'no artifact directory for the interrupted stage');
  const leftovers = readdirSync(join(w.dir, 'artifacts', '.tmp'));
  assert.equal(leftovers.length, 1);
  assert.equal(readFileSync(join(w.dir, 'artifacts', '.tmp', leftovers[0]!, 'values.arrow'), 'utf8'), 'partial');

  const rerun = await runJson([w.file], {
    cwd: w.dir,
    env: { SPECPIPE_TEST_LOG: w.log, SPECPIPE_TEST_NO_SLEEP: '1' },
    process: true,
  });
  assert.deepEqual(statuses(rerun), { first: 'cached', slow: 'executed', down: 'executed' });
  const rec = JSON.parse(readFileSync(join(w.dir, 'runs', `${rerun.run}.json`), 'utf8')) as {
    stages: { name: string; metrics?: Record<string, number> }[];
  };
  assert.equal(rec.stages.find((s) => s.name === 'down')!.metrics!['sum'], 8, 'down read the complete artifact (4 × 2)');

  const gc = await runCli(['gc', '--json'], { cwd: w.dir });
  assert.equal(gc.code, 0, gc.stderr);
  assert.equal((JSON.parse(gc.stdout) as { removed: unknown[] }).removed.length, 0);
  assert.deepEqual(readdirSync(join(w.dir, 'artifacts', '.tmp')), [], "gc removed the dead writer's temp dir");
});

test('two concurrent runs of one pipeline both succeed and compute each stage once', async () => {
  const w = workspace(`name: concurrent
stages:
  a:
    uses: test/const
    matrix: { value: [1, 2, 3] }
    with: { sleep_ms: 300 }
  b:
    uses: test/sum
    needs: [a]
    with: { sleep_ms: 200 }
`);
  const env = { SPECPIPE_TEST_LOG: w.log };
  const [r1, r2] = await Promise.all([
    runJson([w.file], { cwd: w.dir, env, process: true }),
    runJson([w.file, '--jobs', '2'], { cwd: w.dir, env, process: true }),
  ]);
  const started = logLines(w.log, 'start').map((l) => l.split(' ')[2]!);
  assert.equal(started.length, 6, `each of the 6 instances started once:\n${readFileSync(w.log, 'utf8')}`);
  assert.equal(new Set(started).size, 6);
  for (const name of Object.keys(statuses(r1))) {
    const pair = [statuses(r1)[name], statuses(r2)[name]].sort();
    assert.deepEqual(pair, ['cached', 'executed'], `${name}: one run computed it, the other reused it`);
  }
  assert.deepEqual(
    r1.stages.map((s) => s.key),
    r2.stages.map((s) => s.key),
  );
});

test('--jobs 2 computes instances in two stage threads at once; --jobs 1 in the main thread', async () => {
  const pipeline = `name: threads
stages:
  a:
    uses: test/const
    matrix: { value: [1, 2, 3, 4] }
    with: { sleep_ms: 300 }
`;
  const where = async (jobs: string): Promise<{ threads: string[]; mostAtOnce: number }> => {
    const w = workspace(pipeline);
    const r = await runJson([w.file, '--jobs', jobs], { cwd: w.dir, env: { SPECPIPE_TEST_LOG: w.log }, process: true });
    assert.deepEqual(Object.values(statuses(r)), ['executed', 'executed', 'executed', 'executed']);
    let running = 0;
    let mostAtOnce = 0;
    for (const line of readFileSync(w.log, 'utf8').trim().split('\n')) {
      running += line.startsWith('start ') ? 1 : -1;
      mostAtOnce = Math.max(mostAtOnce, running);
    }
    return { threads: logLines(w.log, 'start').map((l) => l.split(' ')[3]!), mostAtOnce };
  };
  const one = await where('1');
  assert.deepEqual(one.threads, ['thread=0', 'thread=0', 'thread=0', 'thread=0']);
  assert.equal(one.mostAtOnce, 1);
  const two = await where('2');
  assert.ok(
    two.threads.every((t) => t !== 'thread=0'),
    `every instance ran in a stage thread: ${two.threads.join(', ')}`,
  );
  assert.equal(new Set(two.threads).size, 2, `two threads: ${two.threads.join(', ')}`);
  assert.equal(two.mostAtOnce, 2);
});

test('a corrupted artifact is detected and recomputed (fast check on mtime change; --verify full on same size+mtime)', async () => {
  const w = workspace();
  const first = await runJson([w.file], { cwd: w.dir });
  const a1 = first.stages.find((s) => s.name === 'a[value=1]')!;
  const file = join(a1.artifacts, 'values.arrow');
  const bytes = readFileSync(file);
  const corrupt = Buffer.from(bytes);
  corrupt[corrupt.length - 20] = corrupt[corrupt.length - 20]! ^ 0xff;
  writeFileSync(file, corrupt);
  const rerun = await runJson([w.file], { cwd: w.dir });
  assert.deepEqual(statuses(rerun), {
    'a[value=1]': 'executed',
    'a[value=2]': 'cached',
    'b[value=1]': 'cached',
    'b[value=2]': 'cached',
    c: 'cached',
    r: 'cached',
  });
  assert.deepEqual(readFileSync(file), bytes, 'recomputed bit for bit');

  // Same size, mtime put back: the fast check trusts it; --verify full rehashes and recomputes.
  const st = statSync(file);
  writeFileSync(file, corrupt);
  utimesSync(file, st.atime, st.mtime);
  const fast = await runJson([w.file, '--only', 'a'], { cwd: w.dir });
  assert.equal(statuses(fast)['a[value=1]'], 'cached');
  const full = await runJson([w.file, '--only', 'a', '--verify', 'full'], { cwd: w.dir });
  assert.deepEqual(statuses(full), { 'a[value=1]': 'executed', 'a[value=2]': 'cached' });
  assert.deepEqual(readFileSync(file), bytes);
});

test('diff of two runs that differ in one param: the param, the changed metrics, the spectral distance; runs, show, gc', async () => {
  const w = workspace();
  const ra = await runJson([w.file], { cwd: w.dir });
  const rb = await runJson([w.file, '--set', 'b.with.scale=3'], { cwd: w.dir });
  const d = await runCli(['diff', ra.run, rb.run, '--json'], { cwd: w.dir });
  assert.equal(d.code, 0, d.stderr);
  const j = JSON.parse(d.stdout) as {
    params: { instance: string; path: string; a: string; b: string }[];
    metrics: { instance: string; metric: string; a: number; b: number; change: number }[];
    spectra: { instance: string; w1: number; topA: number; topB: number }[];
    artifacts: { changed: string[]; unchanged: number };
  };
  assert.deepEqual(j.params, [
    { instance: 'b[value=1]', path: 'scale', a: '2', b: '3' },
    { instance: 'b[value=2]', path: 'scale', a: '2', b: '3' },
  ]);
  assert.deepEqual(j.artifacts.changed, ['b[value=1]', 'b[value=2]', 'r']);
  assert.equal(j.artifacts.unchanged, 3);
  const sumB1 = j.metrics.find((m) => m.instance === 'b[value=1]' && m.metric === 'sum')!;
  assert.deepEqual([sumB1.a, sumB1.b, sumB1.change], [8, 12, 4]);
  // b[value=1]'s spectrum is 4 nodes at 2 (A) and at 3 (B): W1 = 1; r: nodes 2+4+5=11 → 3+6+5=14.
  const sB1 = j.spectra.find((s) => s.instance === 'b[value=1]')!;
  assert.ok(Math.abs(sB1.w1 - 1) < 1e-12, `W1 = ${sB1.w1}`);
  const sR = j.spectra.find((s) => s.instance === 'r')!;
  assert.deepEqual([sR.topA, sR.topB], [11, 14]);
  assert.ok(Math.abs(sR.w1 - 3) < 1e-12);
  const text = await runCli(['diff', 'last~1', 'last'], { cwd: w.dir });
  assert.match(text.stdout, /^  b\[value=1\]  scale: 2 → 3$/m);
  assert.match(text.stdout, /^  b\[value=1\]  sum: 8 → 12  \(\+4\)$/m);
  assert.match(text.stdout, /^  r  spectrum\.arrow: W1 = 3\.000; top 11 → 14 \(\+3\)$/m);

  // runs / show / gc on the same two runs.
  const runs = await runCli(['runs', '--json'], { cwd: w.dir });
  assert.deepEqual(
    (JSON.parse(runs.stdout) as { run: string }[]).map((r) => r.run),
    [ra.run, rb.run],
  );
  const show = await runCli(['show', 'last'], { cwd: w.dir });
  assert.match(show.stdout, /^r +executed +\d+\.\d\d s  [0-9a-f]{12}  sum=56 inputs=3$/m);
  const gc = await runCli(['gc', '--keep-runs', '1', '--json'], { cwd: w.dir });
  const removed = (JSON.parse(gc.stdout) as { removed: { instance: string }[] }).removed.map((r) => r.instance).sort();
  assert.deepEqual(removed, ['b[value=1]', 'b[value=2]', 'r']);
  const keys = readdirSync(join(w.dir, 'artifacts'))
    .filter((n) => /^[0-9a-f]{64}$/.test(n))
    .sort();
  assert.deepEqual(keys, rb.stages.map((s) => s.key).sort());
  const showStage = await runCli(['show', 'c', '--json'], { cwd: w.dir });
  const m = JSON.parse(showStage.stdout) as { instance: string; files: { path: string; role: string }[] }[];
  assert.equal(m[0]!.instance, 'c');
  assert.deepEqual(
    m[0]!.files.map((f) => [f.path, f.role]),
    [['values.arrow', 'table']],
  );
});

test('a failing stage: its downstream is not run, independent branches finish with --keep-going, exit code 1', async () => {
  const w = workspace();
  const r = await runJson([w.file, '--set', 'b.with.fail=true', '--keep-going'], { cwd: w.dir }, 1);
  assert.deepEqual(statuses(r), {
    'a[value=1]': 'executed',
    'a[value=2]': 'executed',
    'b[value=1]': 'failed',
    'b[value=2]': 'failed',
    c: 'executed',
    r: 'failed',
  });
  assert.match(r.stderr, /^b\[value=1\] failed: .*test\/sum told to fail/m);
  assert.match(r.stderr, /^3 executed, 0 cached, 3 failed in /m);
  const rec = JSON.parse(readFileSync(join(w.dir, 'runs', `${r.run}.json`), 'utf8')) as {
    stages: { name: string; error?: string }[];
  };
  assert.match(rec.stages.find((s) => s.name === 'r')!.error!, /^not run: upstream b\[value=1\] failed$/);
});

test('validate prints positioned diagnostics (no stack trace) and exits 1', async () => {
  const w = workspace('name: v\nstages:\n  a:\n    uses: test/const\n    with: { value: 1, sise: 2 }\n');
  const r = await runCli(['validate', w.file], { cwd: w.dir, process: true });
  assert.equal(r.code, 1);
  assert.equal(
    r.stderr,
    'pipe.yaml:5:23: unknown key "sise" in stages.a.with (params of test/const); did you mean "size"?\n      with: { value: 1, sise: 2 }\n                        ^^^^\n',
  );
  const ok = await runCli(['validate', w.file, '--set', 'a.with={value: 3}'], { cwd: w.dir, process: true });
  assert.equal(ok.stdout, 'pipe.yaml: ok (1 stages, 1 instances)\n');
});
