/**
 * CLI conventions, driven as a user types them: --version, help CMD, one-line unknown-option errors
 * for every command, --help listing every command, no tfjs banner, and train --json printing one
 * JSON document on stdout.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { runBuiltinCli } from '../pipeline/cliHarness.js';
import { encodeNpyMatrix } from '../../src/linalg/matrixFile.js';

const here = dirname(fileURLToPath(import.meta.url));
const repoRoot = import.meta.url.endsWith('.js') ? join(here, '..', '..', '..') : join(here, '..', '..');
const dir = mkdtempSync(join(tmpdir(), 'specpipe-conventions-'));
process.on('exit', () => rmSync(dir, { recursive: true, force: true }));

const COMMANDS = [
  'run',
  'validate',
  'explain',
  'diff',
  'show',
  'runs',
  'gc',
  'pin',
  'unpin',
  'report',
  'worker',
  'train',
  'eval',
  'spectrum',
  'export',
  'kinds',
  'init',
];

const BANNER = 'looks like you are running TensorFlow.js in Node.js';

const cli = (args: string[]) => runBuiltinCli(args, dir);

test('specpipe --version prints the version of package.json', async () => {
  const pkg = JSON.parse(readFileSync(join(repoRoot, 'package.json'), 'utf8')) as { version: string };
  const r = await cli(['--version']);
  assert.deepEqual(r, { code: 0, stdout: `${pkg.version}\n`, stderr: '' });
});

test('specpipe --help lists every command, the new ones included', async () => {
  const r = await cli(['--help']);
  assert.equal(r.code, 0);
  const listed = [...r.stdout.matchAll(/^ {2}(\S+) +\S/gm)].map((m) => m[1]);
  assert.deepEqual(listed, COMMANDS);
  assert.match(r.stdout, /\nspecpipe <command> --help \(or specpipe help <command>\) for the options of a command;\n/);
});

test('specpipe help CMD prints what CMD --help prints, for every command', async () => {
  for (const name of COMMANDS) {
    const [viaHelp, viaFlag] = await Promise.all([cli(['help', name]), cli([name, '--help'])]);
    assert.equal(viaFlag.code, 0, `${name} --help: ${viaFlag.stderr}`);
    assert.match(viaFlag.stdout, new RegExp(`^usage: specpipe ${name}`), name);
    assert.deepEqual(viaHelp, viaFlag, `specpipe help ${name}`);
  }
  const r = await cli(['help', 'spectra']);
  assert.equal(r.code, 2);
  assert.match(r.stderr, /^specpipe: unknown command "spectra"\n/);
});

test('an unknown option is one line naming it and where the options are, exit 2, for every command', async () => {
  for (const name of COMMANDS) {
    const r = await cli([name, '--bogus']);
    assert.deepEqual(
      r,
      { code: 2, stdout: '', stderr: `specpipe ${name}: Unknown option '--bogus' (see specpipe ${name} --help)\n` },
      name,
    );
  }
  const missing = await cli(['train', '--out']);
  assert.deepEqual(missing, {
    code: 2,
    stdout: '',
    stderr: "specpipe train: Option '--out <value>' argument missing (see specpipe train --help)\n",
  });
});

test('no tfjs banner: spectrum --matrix on a tiny .npy', async () => {
  const npy = join(dir, 'tiny.npy');
  writeFileSync(npy, encodeNpyMatrix(Float64Array.of(2, 1, 0, 0, 1, 2, 0, 0, 0, 0, 3, 0, 0, 0, 0, 4), 4, 4));
  const r = await cli(['spectrum', '--matrix', npy, '--top', '2', '--lanczos-steps', '4']);
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stdout, /^operator matrix \(.*tiny\.npy\), size 4\ntop 2 \(all converged\):\n {2}3\.99999/);
  assert.ok(!(r.stdout + r.stderr).includes(BANNER), r.stderr);
  assert.equal(r.stderr, '');
});

test('train --json: exactly one JSON document on stdout, progress on stderr, no tfjs banner', async () => {
  const out = join(dir, 'train');
  const train = [
    'train',
    '--data',
    'mnist',
    '--model',
    'mlp:784-8-10:relu',
    '--epochs',
    '1',
    '--train-per-class',
    '5',
    '--test-per-class',
    '2',
    '--out',
    out,
  ];
  const r = await cli([...train, '--json']);
  assert.equal(r.code, 0, r.stderr);
  assert.ok(!(r.stdout + r.stderr).includes(BANNER), r.stderr);
  assert.equal(r.stdout.endsWith('}\n') && r.stdout.indexOf('\n') === r.stdout.length - 1, true, r.stdout);
  const doc = JSON.parse(r.stdout) as { checkpoints: string[]; history: { epoch: number }[]; model: { kind: string } };
  assert.deepEqual(
    doc.history.map((h) => h.epoch),
    [1],
  );
  assert.deepEqual(doc.checkpoints, [join(out, 'checkpoint-epoch-0.safetensors'), join(out, 'checkpoint-epoch-1.safetensors')]);
  assert.match(r.stderr, /^backend: \S+ \(.*\) — .*\ndata: mnist — 50 train \/ 20 test samples of \[1, 28, 28\], 10 classes\n/);
  assert.match(r.stderr, /\nepoch 1\/1 {2}lr 0\.0500 {2}train loss/);

  const human = await cli(train);
  assert.equal(human.code, 0, human.stderr);
  assert.equal(human.stderr, '', 'without --json nothing goes to stderr, the banner included');
  assert.match(human.stdout, /^backend: .*\ndata: mnist/);
});
