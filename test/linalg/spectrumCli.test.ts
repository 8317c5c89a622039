import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { SPECTRUM_DEFAULTS, spectrumCommand } from '../../src/cli/commands/spectrum.js';
import { encodeNpyMatrix, parseNpyMatrix, readMatrixFile } from '../../src/linalg/matrixFile.js';
import { writeArrowFile } from '../../src/store/arrowFile.js';
import { SpecpipeError } from '../../src/util/errors.js';
import { exactEigenvalues, wishartWithOutliers } from './fixtures.js';

/** Runs the command in-process, returning its exit code and what it printed. */
async function run(argv: string[]): Promise<{ code: number; stdout: string }> {
  const chunks: string[] = [];
  const original = process.stdout.write.bind(process.stdout);
  // Buffers are the test runner's own reports (node --test's serializer): pass them through.
  process.stdout.write = ((chunk: string | Uint8Array, ...rest: unknown[]): boolean =>
    typeof chunk === 'string' ? (chunks.push(chunk), true) : original(chunk, ...(rest as []))) as typeof process.stdout.write;
  try {
    const code = await spectrumCommand(argv);
    return { code, stdout: chunks.join('') };
  } finally {
    process.stdout.write = original;
  }
}

const dir = mkdtempSync(join(tmpdir(), 'spectrum-cli-'));
const n = 120;
const A = wishartWithOutliers(13, n, 240, [20, 30]);
const exact = exactEigenvalues(A, n);

test('.npy parsing: C and Fortran order, <f8 and <f4, with errors naming the file and the problem', () => {
  const M = Float64Array.of(1, 2, 3, 4, 5, 6); // 2 × 3
  for (const fortran of [false, true]) {
    for (const float32 of [false, true]) {
      const parsed = parseNpyMatrix(encodeNpyMatrix(M, 2, 3, { fortran, float32 }), 'm.npy');
      assert.equal(parsed.rows, 2);
      assert.equal(parsed.cols, 3);
      assert.deepEqual(Array.from(parsed.data), Array.from(M));
    }
  }
  assert.throws(
    () => parseNpyMatrix(new TextEncoder().encode('hello world!'), 'bad.npy'),
    /^SpecpipeError: bad\.npy: not a \.npy file/,
  );
  const v1 = encodeNpyMatrix(M, 2, 3);
  const headerText = new TextDecoder('latin1').decode(v1.subarray(10, 10 + new DataView(v1.buffer).getUint16(8, true)));
  const withDtype = (descr: string): Uint8Array => {
    const out = Uint8Array.from(v1);
    const h = headerText.replace("'<f8'", `'${descr}'`);
    for (let i = 0; i < h.length; i++) out[10 + i] = h.charCodeAt(i);
    return out;
  };
  assert.throws(() => parseNpyMatrix(withDtype('<i8'), 'ints.npy'), /ints\.npy: unsupported dtype '<i8'/);
  assert.throws(() => parseNpyMatrix(v1.subarray(0, v1.length - 8), 'short.npy'), /short\.npy: data truncated: shape \(2, 3\)/);
  const oneD = Uint8Array.from(v1);
  const h1 = headerText.replace('(2, 3)', '(6,)   ');
  for (let i = 0; i < h1.length; i++) oneD[10 + i] = h1.charCodeAt(i);
  assert.throws(() => parseNpyMatrix(oneD, 'vec.npy'), /vec\.npy: expected a 2-D array, received shape \(6,\)/);
});

test('spectrum --matrix M.npy --top 3 --bottom 2 --json: values with residuals match the dense solver', async () => {
  const p = join(dir, 'A.npy');
  writeFileSync(p, encodeNpyMatrix(A, n, n));
  const { code, stdout } = await run(['--matrix', p, '--top', '3', '--bottom', '2', '--json', '--seed', '1', '--tol', '1e-6']);
  assert.equal(code, 0);
  const out = JSON.parse(stdout) as Record<string, unknown> & {
    top: { value: number; residual: number; converged: boolean }[];
    bottom: { value: number; converged: boolean }[];
  };
  assert.equal(out.operator, 'matrix');
  assert.equal(out.size, n);
  assert.ok(typeof out.matvecs === 'number' && out.matvecs > 0);
  assert.ok(typeof out.seconds === 'number');
  assert.equal(out.top.length, 3);
  out.top.forEach((t, i) => {
    assert.ok(t.converged);
    assert.ok(Math.abs(t.value - exact[n - 1 - i]!) < 1e-6 * 30, `${t.value} vs ${exact[n - 1 - i]}`);
    assert.ok(t.residual >= 0);
  });
  out.bottom.forEach((b, i) => assert.ok(Math.abs(b.value - exact[i]!) < 1e-5 * 30, `${b.value} vs ${exact[i]}`));
  assert.equal(out.density, undefined, 'fields only when asked for');
  assert.equal(out.quadrature, undefined);
});

test('spectrum --matrix M.arrow --density --log-density --kpm --trace --json: the documented object shape', async () => {
  const p = join(dir, 'A.arrow');
  const columns: Record<string, Float64Array> = {};
  for (let j = 0; j < n; j++) columns[`c${j}`] = Float64Array.from({ length: n }, (_, i) => A[i * n + j]!);
  writeArrowFile(p, columns);
  const read = readMatrixFile(p);
  assert.deepEqual(Array.from(read.data), Array.from(A));
  const { code, stdout } = await run([
    '--matrix',
    p,
    '--density',
    '--log-density',
    '--kpm',
    '--trace',
    '--lanczos-steps',
    '40',
    '--start-vectors',
    '3',
    '--grid',
    '64',
    '--json',
  ]);
  assert.equal(code, 0);
  const out = JSON.parse(stdout);
  assert.deepEqual(
    Object.keys(out).sort(),
    ['density', 'kpm', 'logDensity', 'matvecs', 'operator', 'quadrature', 'seconds', 'size', 'trace'].sort(),
  );
  const wsum = (out.quadrature.weights as number[]).reduce((s, w) => s + w, 0);
  assert.ok(Math.abs(wsum - 1) < 1e-9, `quadrature weights sum to ${wsum}`);
  assert.equal(out.quadrature.nodes.length, out.quadrature.weights.length);
  assert.equal(out.density.x.length, 64);
  assert.equal(out.density.y.length, 64);
  // The band: mean ± 2 SE across the 3 start vectors, on the density's grid, around the mean density.
  assert.equal(out.density.band.lo.length, 64);
  assert.equal(out.density.band.hi.length, 64);
  for (let i = 0; i < 64; i++) {
    assert.ok(out.density.band.lo[i] >= 0 && out.density.band.lo[i] <= out.density.y[i] + 1e-15);
    assert.ok(out.density.band.hi[i] >= out.density.y[i] - 1e-15);
  }
  assert.ok(
    out.density.band.hi.some((h: number, i: number) => h > out.density.y[i]),
    'a band of nonzero width',
  );
  assert.equal(out.kpm.x.length, 64);
  assert.ok(Array.isArray(out.logDensity.positive.x) && Array.isArray(out.logDensity.negative.y));
  let tr = 0;
  for (let i = 0; i < n; i++) tr += A[i * n + i]!;
  assert.ok(
    Math.abs(out.trace.value - tr) <= 5 * out.trace.stderr + 1e-9,
    `trace ${out.trace.value} ± ${out.trace.stderr} vs ${tr}`,
  );
  // 3 × 40 SLQ + 3 × 40 KPM (same probes, SLQ bounds) + the default trace products (spectrum/slq's trace_matvecs, 30)
  assert.equal(SPECTRUM_DEFAULTS.trace_matvecs, 30);
  assert.equal(out.matvecs, 120 + 120 + SPECTRUM_DEFAULTS.trace_matvecs);
});

test('spectrum rejects asymmetric and non-square matrices with the measured asymmetry, and bad flags by name', async () => {
  const asym = Float64Array.from(A);
  asym[1] = asym[1]! + 0.5;
  const p = join(dir, 'asym.npy');
  writeFileSync(p, encodeNpyMatrix(asym, n, n));
  await assert.rejects(
    run(['--matrix', p, '--top', '1']),
    (e: Error) =>
      e instanceof SpecpipeError &&
      e.message.includes(p) &&
      /measured asymmetry max\|A − Aᵀ\|\/max\|A\| = \d\.\d+e-\d/.test(e.message),
  );
  const q = join(dir, 'rect.npy');
  writeFileSync(q, encodeNpyMatrix(new Float64Array(6), 2, 3));
  await assert.rejects(run(['--matrix', q]), /rect\.npy: matrix must be square, received shape 2 × 3/);
  await assert.rejects(run(['--matrix', q, '--top', 'x']), /--top: expected an integer ≥ 1, received "x"/);
  await assert.rejects(run([]), /give exactly one of --matrix or --checkpoint/);
  await assert.rejects(
    run(['--checkpoint', 'c.safetensors', '--split', 'val', '--data', 'mnist']),
    /--split: expected train or test, received "val"/,
  );
  await assert.rejects(
    run(['--checkpoint', 'c.safetensors', '--operator', 'fisher', '--data', 'mnist']),
    /--operator: expected hessian, ggn or residual, received "fisher"/,
  );
  // --data is optional (the checkpoint's recorded samples, test/cli/trainedSamples.test.ts): a missing file is named.
  await assert.rejects(
    run(['--checkpoint', 'c.safetensors']),
    /^SpecpipeError: c\.safetensors: cannot read safetensors file \(ENOENT\)/,
  );
  await assert.rejects(
    run(['--checkpoint', 'c.safetensors', '--samples', 'some']),
    /--samples: expected trained or all, received "some"/,
  );
});

test('spectrum --matrix --exact --top 6 --density --json: exact eigenvalues, the errors of the estimates against them, and the outlier rule', async () => {
  const p = join(dir, 'exact.npy');
  writeFileSync(p, encodeNpyMatrix(A, n, n));
  const { code, stdout } = await run([
    '--matrix',
    p,
    '--exact',
    '--top',
    '6',
    '--density',
    '--lanczos-steps',
    '40',
    '--start-vectors',
    '4',
    '--grid',
    '128',
    '--json',
  ]);
  assert.equal(code, 0);
  const out = JSON.parse(stdout);
  const desc = Array.from(exact).reverse();
  assert.equal(out.exact.eigenvalues.length, n);
  for (let i = 0; i < n; i++) assert.ok(Math.abs(out.exact.eigenvalues[i] - desc[i]!) <= 1e-12 * desc[0]!, `eigenvalue ${i}`);
  const c = out.exact.compare;
  assert.equal(c.topRelativeErrors.length, 6);
  // each Ritz value lies within its residual of an eigenvalue
  c.topRelativeErrors.forEach((e: number, i: number) =>
    assert.ok(
      e * Math.abs(desc[i]!) <= out.top[i].residual + 1e-12,
      `top ${i}: relative error ${e}, residual ${out.top[i].residual}`,
    ),
  );
  assert.ok(c.w1OverWidth > 0 && c.w1OverWidth <= 0.02, `W1/width ${c.w1OverWidth}`);
  assert.ok(c.densityL1 > 0 && c.densityL1 <= 0.5, `L1 ${c.densityL1}`);
  assert.ok(c.bandMassFraction >= 0.5 && c.bandMassFraction <= 1, `band mass fraction ${c.bandMassFraction}`);
  // two planted outliers (20, 30) above a Marchenko–Pastur bulk
  assert.equal(out.outlierRule.count, 2, out.outlierRule.reason);
  assert.ok(out.outlierRule.gapRatio > out.outlierRule.bulkRatio ** 2);
  // --exact alone measures nothing else
  const only = JSON.parse((await run(['--matrix', p, '--exact', '--json'])).stdout);
  assert.equal(only.density, undefined);
  assert.equal(only.exact.compare, undefined);
  assert.equal(only.matvecs, n, 'one product per column');
});
