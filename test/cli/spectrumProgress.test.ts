/**
 * `specpipe spectrum --progress`: the products it announces are the products the estimators call.
 * SLQ (Lanczos steps × start vectors, fewer when the operator is smaller than the steps) and Hutch++
 * are announced before the first product; top-k is counted as it goes; the closing line's count, by
 * phase, equals the product count of the operator itself (the command's `matvecs`, counted outside
 * the estimators).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { runBuiltinCli } from '../pipeline/cliHarness.js';
import { encodeNpyMatrix } from '../../src/linalg/matrixFile.js';

const dir = mkdtempSync(join(tmpdir(), 'specpipe-progress-'));
process.on('exit', () => rmSync(dir, { recursive: true, force: true }));

/** diag(values) as a .npy file. */
function diagonalMatrix(name: string, values: number[]): string {
  const n = values.length;
  const m = new Float64Array(n * n);
  values.forEach((v, i) => (m[i * n + i] = v));
  const path = join(dir, name);
  writeFileSync(path, encodeNpyMatrix(m, n, n));
  return path;
}

const big = diagonalMatrix(
  'big.npy',
  Array.from({ length: 40 }, (_, i) => (i < 2 ? 100 - 10 * i : 1 + i / 10)),
);

async function spectrum(args: string[]): Promise<{ first: string; last: string; matvecs: number }> {
  const r = await runBuiltinCli(['spectrum', ...args, '--progress', '--json'], dir);
  assert.equal(r.code, 0, r.stderr);
  const lines = r.stderr.trimEnd().split('\n');
  return { first: lines[0]!, last: lines.at(-1)!, matvecs: (JSON.parse(r.stdout) as { matvecs: number }).matvecs };
}

test('SLQ and Hutch++: the announced products are exactly the products called', async () => {
  const r = await spectrum([
    '--matrix',
    big,
    '--density',
    '--trace',
    '--trace-matvecs',
    '30',
    '--lanczos-steps',
    '8',
    '--start-vectors',
    '3',
  ]);
  assert.equal(r.first, 'products: 54 known in advance (SLQ 3 start vectors × 8 steps = 24, Hutch++ 30)');
  assert.match(r.last, /^products: 54 called \(SLQ 24, Hutch\+\+ 30, top-k 0\) in \d+\.\d s$/);
  assert.equal(r.matvecs, 54);
});

test('more Lanczos steps than the operator has dimensions: n per start vector are announced and called', async () => {
  const small = diagonalMatrix('small.npy', [6, 5, 4, 3, 2, 1]);
  const r = await spectrum(['--matrix', small, '--density', '--lanczos-steps', '10', '--start-vectors', '2']);
  assert.equal(r.first, 'products: 12 known in advance (SLQ 2 start vectors × 6 steps = 12)');
  assert.match(r.last, /^products: 12 called \(SLQ 12, Hutch\+\+ 0, top-k 0\) in /);
  assert.equal(r.matvecs, 12);
});

test('top-k with deflation: SLQ and Hutch++ as announced, top-k counted as it goes, the sum is every product called', async () => {
  const r = await spectrum([
    '--matrix',
    big,
    '--top',
    '2',
    '--deflate',
    '2',
    '--trace',
    '--trace-matvecs',
    '12',
    '--lanczos-steps',
    '8',
    '--start-vectors',
    '2',
  ]);
  assert.equal(
    r.first,
    'products: 28 known in advance (SLQ 2 start vectors × 8 steps = 16, Hutch++ 12); top-k counted as it goes',
  );
  const m = /^products: (\d+) called \(SLQ 16, Hutch\+\+ 12, top-k (\d+)\) in /.exec(r.last);
  assert.ok(m !== null, r.last);
  const [called, topK] = [Number(m[1]), Number(m[2])];
  assert.ok(topK > 0);
  assert.equal(called, 28 + topK);
  assert.equal(r.matvecs, called);
});
