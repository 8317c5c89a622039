/**
 * Hostile pipeline files and arguments (the reliability issue): names of Object.prototype members,
 * matrices that would expand past memory, files too large or not files at all, a 20,000-stage
 * chain. Each drives the CLI as a user would and expects a one-line or positioned error with exit
 * 1 or 2: never a crash (exit 70), an abort or a hang.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import './fixtures/testStages.js';
import { runCli, tempWorkspace, type CliResult } from './cliHarness.js';

function workspace(files: Record<string, string>): string {
  const dir = tempWorkspace('specpipe-hostile-');
  for (const [name, text] of Object.entries(files)) writeFileSync(join(dir, name), text);
  return dir;
}

async function validate(source: string, args: string[] = [], env?: Record<string, string>): Promise<CliResult> {
  const dir = workspace({ 'p.yaml': source });
  return runCli(['validate', 'p.yaml', ...args], { cwd: dir, process: true, ...(env !== undefined ? { env } : {}) });
}

const CONST = 'name: t\nstages:\n  a:\n    uses: test/const\n';

test('a param named "constructor" is an unknown key at its position, not a crash', async () => {
  const r = await validate(`${CONST}    with: { value: 1, constructor: 1 }\n`);
  assert.equal(r.code, 1, r.stderr);
  assert.equal(
    r.stderr,
    [
      'p.yaml:5:23: unknown key "constructor" in stages.a.with (params of test/const) (expected one of: value, size, sleep_ms)',
      '      with: { value: 1, constructor: 1 }',
      '                        ^^^^^^^^^^^',
      '',
    ].join('\n'),
  );
});

test('"__proto__" keys are ordinary keys: in with, nested, in a matrix include', async () => {
  const top = await validate(`${CONST}    with: { value: 1, __proto__: { size: 3 } }\n`);
  assert.equal(top.code, 1, top.stderr);
  assert.match(top.stderr, /^p\.yaml:5:23: unknown key "__proto__" in stages\.a\.with \(params of test\/const\)/);
  const nested = await validate(`${CONST}    with: { value: { __proto__: 1 } }\n`);
  assert.equal(nested.code, 1, nested.stderr);
  assert.match(nested.stderr, /^p\.yaml:5:20: stages\.a\.with\.value must be a number, received \{"__proto__":1\}/);
  const include = await validate(`${CONST}    matrix: { value: [1], include: [{ value: 1, __proto__: 1 }] }\n`);
  assert.equal(include.code, 1, include.stderr);
  assert.match(include.stderr, /^p\.yaml:5:49: unknown key "__proto__" in stages\.a\.with/);
  const exclude = await validate(`${CONST}    matrix: { value: [1], exclude: [{ constructor: 1 }] }\n`);
  assert.equal(exclude.code, 1, exclude.stderr);
  assert.match(
    exclude.stderr,
    /^p\.yaml:5:39: stages\.a\.matrix\.exclude\[0\] names "constructor", which is not a matrix axis\n/,
  );
});

test('--set of a prototype member name is an ordinary (positioned) unknown key', async () => {
  const r = await validate(`${CONST}    with: { value: 1 }\n`, ['--set', 'a.with.toString=1']);
  assert.equal(r.code, 1, r.stderr);
  assert.match(
    r.stderr,
    /^p\.yaml:5:11: unknown key "toString" in stages\.a\.with \(params of test\/const\) \(expected one of: value, size, sleep_ms\) \(from --set a\.with\.toString=1\)\n/,
  );
  const stage = await validate(`${CONST}    with: { value: 1 }\n`, ['--set', '__proto__.with.value=1']);
  assert.equal(stage.code, 1, stage.stderr);
  assert.equal(stage.stderr, 'specpipe validate: --set __proto__.with.value=1: no stage "__proto__" in p.yaml\n');
  const into = await validate(`${CONST}    with: { value: 1 }\n`, ['--set', 'a.with.value.x=1']);
  assert.equal(into.code, 1, into.stderr);
  assert.match(into.stderr, /^specpipe validate: --set a\.with\.value\.x=1: cannot set it in p\.yaml \(/);
});

test('stages named constructor, hasOwnProperty and toString plan like any others', async () => {
  const r = await validate(
    [
      'name: t',
      'stages:',
      '  constructor: { uses: test/const, matrix: { value: [1, 2] } }',
      '  hasOwnProperty: { uses: test/sum, needs: [constructor] }',
      '  toString: { uses: test/sum, needs: [constructor, hasOwnProperty] }',
      '',
    ].join('\n'),
  );
  assert.equal(r.code, 0, r.stderr);
  assert.equal(r.stdout, 'p.yaml: ok (3 stages, 6 instances)\n');
  const proto = await validate('name: t\nstages:\n  __proto__: { uses: test/const, with: { value: 1 } }\n');
  assert.equal(proto.code, 1, proto.stderr);
  assert.match(proto.stderr, /^p\.yaml:3:3: invalid name "__proto__" in stages: names start with a letter/);
});

test('a matrix of 10^12 cells is refused before expanding, naming the matrix and the count', async () => {
  const axis = `[${Array.from({ length: 100 }, (_, i) => i).join(', ')}]`;
  const axes = ['p', 'q', 'r', 's', 't', 'u'].map((a) => `${a}: ${axis}`).join(', ');
  const r = await validate(`${CONST}    matrix: { ${axes} }\n`);
  assert.equal(r.code, 1, r.stderr);
  assert.equal(
    r.stderr.split('\n')[0],
    'p.yaml:5:5: stages.a.matrix expands to 1000000000000 instances (100 × 100 × 100 × 100 × 100 × 100), more than the limit of 10000 per stage (SPECPIPE_MAX_INSTANCES)',
  );
});

test('SPECPIPE_MAX_INSTANCES sets the limits per stage and per plan; a bad value is a usage error', async () => {
  const two =
    'name: t\nstages:\n  a: { uses: test/const, matrix: { value: [1, 2, 3] } }\n  b: { uses: test/sum, matrix: { scale: [1, 2, 3] } }\n';
  const crossed = `${two}  c: { uses: test/sum, needs: [a, b] }\n`;
  assert.equal((await validate(crossed)).stdout, 'p.yaml: ok (3 stages, 15 instances)\n');
  const perStage = await validate(crossed, [], { SPECPIPE_MAX_INSTANCES: '8' });
  assert.equal(perStage.code, 1, perStage.stderr);
  assert.equal(
    perStage.stderr.split('\n')[0],
    'p.yaml:5:24: stages.c runs once per compatible combination of its needs (× 1 matrix cells): more than 8 instances, the limit per stage (SPECPIPE_MAX_INSTANCES)',
  );
  const perPlan = await validate(crossed, [], { SPECPIPE_MAX_INSTANCES: '9,14' });
  assert.equal(perPlan.code, 1, perPlan.stderr);
  assert.equal(
    perPlan.stderr.split('\n')[0],
    'p.yaml:5:3: the plan would hold more than 14 instances with stages.c (SPECPIPE_MAX_INSTANCES)',
  );
  const bad = await validate(two, [], { SPECPIPE_MAX_INSTANCES: 'lots' });
  assert.equal(bad.code, 2, bad.stderr);
  assert.equal(
    bad.stderr,
    'specpipe validate: SPECPIPE_MAX_INSTANCES: expected N or N,M (instances per stage, per plan; positive integers), received "lots"\n',
  );
});

test('a pipeline file over 1 MiB is refused before parsing, naming the file and its size', async () => {
  const head = `${CONST}    with: { value: 1 }\n#`;
  const big = head + 'x'.repeat(2 * 1024 * 1024 - head.length); // exactly 2 MiB, as if a data file were named
  const dir = workspace({ 'big.yaml': big });
  const r = await runCli(['run', 'big.yaml'], { cwd: dir, process: true });
  assert.equal(r.code, 1, r.stderr);
  assert.equal(
    r.stderr,
    'specpipe run: big.yaml: pipeline file is 2.0 MiB (2097152 bytes), over the 1.0 MiB limit for pipeline files\n',
  );
});

test('run /dev/zero, a directory, a named pipe: one line naming the path, no hang, no abort', async () => {
  const dir = workspace({});
  const zero = await runCli(['run', '/dev/zero'], { cwd: dir, process: true });
  assert.equal(zero.code, 1, zero.stderr);
  assert.equal(zero.stderr, 'specpipe run: /dev/zero: cannot read pipeline file: a character device, not a regular file\n');
  const folder = await runCli(['validate', '.'], { cwd: dir, process: true });
  assert.equal(folder.code, 1, folder.stderr);
  assert.equal(folder.stderr, 'specpipe validate: .: cannot read pipeline file (EISDIR)\n');
  const fifo = spawnSync('mkfifo', [join(dir, 'pipe.yaml')]);
  if (fifo.status !== 0) return; // no mkfifo: the character device above covers the case
  const r = await runCli(['run', 'pipe.yaml'], { cwd: dir, process: true });
  assert.equal(r.code, 1, r.stderr);
  assert.equal(r.stderr, 'specpipe run: pipe.yaml: cannot read pipeline file: a named pipe, not a regular file\n');
});

test('a chain of 20,000 stages plans in linear time', async (t) => {
  const lines = ['name: chain', 'stages:', '  s0: { uses: test/const, matrix: { value: [1, 2] } }'];
  for (let i = 1; i < 20_000; i++) lines.push(`  s${i}: { uses: test/sum, needs: [s${i - 1}] }`);
  const dir = workspace({ 'chain.yaml': lines.join('\n') + '\n' });
  const t0 = performance.now();
  const cpu0 = process.cpuUsage();
  const r = await runCli(['validate', 'chain.yaml'], { cwd: dir });
  const cpu = process.cpuUsage(cpu0);
  const seconds = (performance.now() - t0) / 1000;
  const cpuSeconds = (cpu.user + cpu.system) / 1e6;
  assert.equal(r.code, 0, r.stderr);
  assert.equal(r.stdout, 'chain.yaml: ok (20000 stages, 40000 instances)\n');
  t.diagnostic(`20,000-stage chain (40,000 instances) validated in ${seconds.toFixed(1)} s (${cpuSeconds.toFixed(1)} s of CPU)`);
  // Quadratic planning took minutes; linear takes seconds. CPU time, so a loaded machine does not fail it.
  assert.ok(cpuSeconds < 20, `planning took ${cpuSeconds.toFixed(1)} s of CPU`);
});
