// Exact ground truth (src/curvature/denseCurvature.ts, `specpipe spectrum --exact`): the dense curvature
// of a tiny MLP checkpoint, built column by column from the matrix-free products, against the
// independent float64 dual-number reference (test/reference), and the size guard.
import { test, before } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-backend-cpu';
import { DENSE_CURVATURE_LIMIT, denseSpectrum } from '../../src/curvature/denseCurvature.js';
import { Curvature } from '../../src/curvature/curvatureOperators.js';
import { registerSecondOrderGradients } from '../../src/curvature/secondOrderGradients.js';
import { flattenParameters } from '../../src/curvature/flatParameters.js';
import { countingOperator, diagonalOperator, fromDenseSymmetric } from '../../src/linalg/operatorAlgebra.js';
import { symmetricEigen } from '../../src/linalg/symmetricEigen.js';
import { buildNetwork } from '../../src/nn/build.js';
import { saveCheckpoint } from '../../src/nn/checkpoint.js';
import { writeSafetensors } from '../../src/store/safetensors.js';
import { spectrumCommand } from '../../src/cli/commands/spectrum.js';
import { Rng } from '../../src/util/random.js';
import { SpecpipeError } from '../../src/util/errors.js';
import { referenceProducts, type ReferenceProblem } from '../reference/referenceCurvature.js';
import { topEigenpairs } from '../../src/linalg/outliers.js';
import { loadDataSource } from '../../src/data/sources.js';
import { preprocessSplit } from '../../src/data/preprocess.js';
import type { TinyNetSpec } from '../reference/tinyNetSpec.js';

before(async () => {
  await tf.setBackend('cpu');
  registerSecondOrderGradients();
});

async function run(argv: string[]): Promise<string> {
  const chunks: string[] = [];
  const original = process.stdout.write.bind(process.stdout);
  process.stdout.write = ((chunk: string | Uint8Array, ...rest: unknown[]): boolean =>
    typeof chunk === 'string' ? (chunks.push(chunk), true) : original(chunk, ...(rest as []))) as typeof process.stdout.write;
  try {
    assert.equal(await spectrumCommand(argv), 0);
    return chunks.join('');
  } finally {
    process.stdout.write = original;
  }
}

test('denseSpectrum: every eigenvalue of a dense operator, descending, to 1e-12; products = P, in blocks', async () => {
  const rng = new Rng(2);
  const n = 40;
  const A = new Float64Array(n * n);
  for (let i = 0; i < n; i++)
    for (let j = 0; j <= i; j++) {
      const x = rng.normal();
      A[i * n + j] = x;
      A[j * n + i] = x;
    }
  const spy = countingOperator(fromDenseSymmetric(A));
  const d = await denseSpectrum(spy, { block: 7 });
  assert.equal(spy.used, n, 'one product per column, matrix-free');
  const ref = symmetricEigen(A, n, { vectors: false }).values.reverse();
  for (let i = 0; i < n; i++) assert.ok(Math.abs(d.eigenvalues[i]! - ref[i]!) <= 1e-12 * Math.abs(ref[0]!));
  for (let i = 1; i < n; i++) assert.ok(d.eigenvalues[i - 1]! >= d.eigenvalues[i]!);
  assert.equal(d.asymmetry, 0);
});

test(`denseSpectrum refuses P above the limit, naming P and the limit (default ${DENSE_CURVATURE_LIMIT})`, async () => {
  const big = diagonalOperator(new Float64Array(DENSE_CURVATURE_LIMIT + 1));
  await assert.rejects(denseSpectrum(big), (e: unknown) => {
    assert.ok(e instanceof SpecpipeError);
    assert.match(
      e.message,
      new RegExp(`P = ${DENSE_CURVATURE_LIMIT + 1} parameters, above the dense limit of ${DENSE_CURVATURE_LIMIT}`),
    );
    return true;
  });
  await assert.rejects(
    denseSpectrum(diagonalOperator(new Float64Array(11)), { limit: 10 }),
    /P = 11 parameters, above the dense limit of 10/,
  );
});

// A tiny MLP 16 → 12 (tanh) → 3, P = 16·12 + 12 + 12·3 + 3 = 243, on 30 random samples.
const D = 16;
const HIDDEN = 12;
const C = 3;
const SAMPLES = 30;
const TINY: TinyNetSpec = {
  kind: 'tiny',
  name: 'mlp 16-12-3 tanh',
  input: [4, 4, 1],
  classes: C,
  layers: [{ op: 'flatten' }, { op: 'dense', out: HIDDEN }, { op: 'tanh' }, { op: 'dense', out: C }],
};

/** Dense float64 reference: column j of each operator from the dual-number reference's product with e_j. */
function referenceDense(problem: ReferenceProblem, P: number): Record<'hessian' | 'ggn' | 'residual', Float64Array> {
  const out = { hessian: new Float64Array(P * P), ggn: new Float64Array(P * P), residual: new Float64Array(P * P) };
  for (let j = 0; j < P; j++) {
    const e = new Float64Array(P);
    e[j] = 1;
    const r = referenceProducts(problem, e);
    for (let i = 0; i < P; i++) {
      out.hessian[i * P + j] = r.hessianVector[i]!;
      out.ggn[i * P + j] = r.ggnVector[i]!;
      out.residual[i * P + j] = r.residualVector[i]!;
    }
  }
  for (const m of Object.values(out))
    for (let i = 0; i < P; i++)
      for (let j = 0; j < i; j++) {
        const s = (m[i * P + j]! + m[j * P + i]!) / 2;
        m[i * P + j] = s;
        m[j * P + i] = s;
      }
  return out;
}

/** The tiny MLP checkpoint, its data file, and the dense float64 reference of Hess, G, H (built once). */
const fixture = (() => {
  let made: Promise<ReturnType<typeof make>> | undefined;
  function make() {
    const dir = mkdtempSync(join(tmpdir(), 'specpipe-exact-'));
    const network = buildNetwork({ kind: 'mlp', input: [1, 4, 4], hidden: [HIDDEN], activation: 'tanh', classes: C });
    const { params, buffers } = network.init(7);
    const ckpt = join(dir, 'mlp.safetensors');
    saveCheckpoint(ckpt, network, params, buffers, { mean: [0], std: [1], pad: 0 }); // identity preprocessing
    const rng = new Rng(5);
    const images = Float32Array.from({ length: SAMPLES * D }, () => rng.normal());
    const labels = BigInt64Array.from({ length: SAMPLES }, (_, i) => BigInt(i % C));
    const data = join(dir, 'data.safetensors');
    writeSafetensors(data, {
      images: { dtype: 'F32', shape: [SAMPLES, 1, 4, 4], data: images },
      labels: { dtype: 'I64', shape: [SAMPLES], data: labels },
    });
    const P = D * HIDDEN + HIDDEN + HIDDEN * C + C;
    const reference = referenceDense(
      {
        spec: TINY,
        theta: flattenParameters(params),
        buffers: new Float64Array(0),
        x: images,
        labels: Int32Array.from(labels, Number),
        loss: 'cross-entropy',
      },
      P,
    );
    return { ckpt, data, P, reference, params, buffers, images, labels };
  }
  return () => (made ??= Promise.resolve(make()));
})();

test('spectrum --checkpoint --exact on a tiny MLP (P = 243, float64 products): every eigenvalue of Hess, G, H against the float64 reference, top-5 to 1e-8; --top/--density compared with it', async () => {
  const { ckpt, data, P, reference } = await fixture();
  const base = ['--checkpoint', ckpt, '--data', `tensors:${data}`, '--backend', 'cpu', '--batch-size', '16', '--json'];
  for (const operator of ['hessian', 'ggn', 'residual'] as const) {
    const out = JSON.parse(await run([...base, '--operator', operator, '--exact']));
    const ev: number[] = out.exact.eigenvalues;
    assert.equal(ev.length, P);
    const ref = symmetricEigen(reference[operator], P, { vectors: false }).values.reverse();
    const scale = Math.max(Math.abs(ref[0]!), Math.abs(ref[P - 1]!));
    // An MLP checkpoint: the float64 R-operator products (mlpCurvature64.ts).
    assert.equal(out.exact.products, 'float64 (MLP R-operator)');
    const rel = ev.slice(0, 5).map((v, i) => Math.abs(v - ref[i]!) / Math.abs(ref[i]!));
    const abs = Math.max(...ev.map((v, i) => Math.abs(v - ref[i]!))) / scale;
    process.stdout.write(
      `# ${operator}: top-5 relative errors ${rel.map((e) => e.toExponential(1)).join(', ')}; all, relative to ‖A‖: ${abs.toExponential(1)}\n`,
    );
    assert.ok(Math.max(...rel) <= 1e-8, `${operator} top-5 relative errors ${rel.join(', ')}`);
    assert.ok(abs <= 1e-10, `${operator}: max eigenvalue error / ‖A‖ = ${abs}`);
    for (let i = 1; i < P; i++) assert.ok(ev[i - 1]! >= ev[i]!, 'descending');
  }
  const out = JSON.parse(
    await run([
      ...base,
      '--operator',
      'ggn',
      '--exact',
      '--top',
      '3',
      '--density',
      '--lanczos-steps',
      '40',
      '--start-vectors',
      '6',
      '--grid',
      '128',
    ]),
  );
  const cmp = out.exact.compare;
  assert.equal(cmp.topRelativeErrors.length, 3);
  for (const e of cmp.topRelativeErrors) assert.ok(e <= 1e-6, `top-3 relative error ${e}`);
  assert.ok(cmp.w1OverWidth >= 0 && cmp.w1OverWidth <= 0.02, `W1 / width = ${cmp.w1OverWidth}`);
  assert.ok(cmp.densityL1 >= 0 && cmp.densityL1 <= 0.5, `density L1 = ${cmp.densityL1}`);
  assert.ok(cmp.bandMassFraction >= 0 && cmp.bandMassFraction <= 1, `band mass fraction ${cmp.bandMassFraction}`);
  process.stdout.write(`# ggn compare: ${JSON.stringify(cmp)}\n`);
});

test('denseSpectrum over the float32 curvature engine (any network): the same tiny MLP against the float64 reference, float32-limited', async () => {
  const { P, reference, params, buffers, images, labels } = await fixture();
  const network = buildNetwork({ kind: 'mlp', input: [1, 4, 4], hidden: [HIDDEN], activation: 'tanh', classes: C });
  const curvature = await Curvature.open(
    {
      network,
      params,
      buffers,
      data: { images, shape: [SAMPLES, 1, 4, 4], labels: Int32Array.from(labels, Number) },
      loss: 'cross-entropy',
    },
    { batchSize: 16 },
  );
  try {
    for (const kind of ['hessian', 'ggn', 'residual'] as const) {
      const d = await denseSpectrum(curvature.operator(kind));
      const ref = symmetricEigen(reference[kind], P, { vectors: false }).values.reverse();
      const scale = Math.max(Math.abs(ref[0]!), Math.abs(ref[P - 1]!));
      // float32 products accumulated in float64; measured: top-5 relative errors ≤ 4e-8, all within 7e-8·‖A‖.
      const rel = Array.from(d.eigenvalues.subarray(0, 5), (v, i) => Math.abs(v - ref[i]!) / Math.abs(ref[i]!));
      const abs = Math.max(...Array.from(d.eigenvalues, (v, i) => Math.abs(v - ref[i]!))) / scale;
      process.stdout.write(
        `# float32 engine, ${kind}: top-5 relative errors ≤ ${Math.max(...rel).toExponential(1)}; all ≤ ${abs.toExponential(1)}·‖A‖\n`,
      );
      assert.ok(Math.max(...rel) <= 1e-7, `${kind} top-5 relative errors ${rel.join(', ')}`);
      assert.ok(abs <= 2e-7, `${kind}: max eigenvalue error / ‖A‖ = ${abs}`);
      assert.ok(d.asymmetry > 0 && d.asymmetry < 1e-5, `float32 columns are nearly symmetric: ${d.asymmetry}`);
    }
  } finally {
    await curvature.close();
  }
});

test(
  'slow: spectrum --exact on an MLP 784-6-10 checkpoint (P = 4,780) over 20 MNIST digits: top-5 of Hess against Lanczos on the dual-number reference to 1e-8',
  { skip: !process.env.SPECPIPE_SLOW && 'set SPECPIPE_SLOW=1 (a 4,780 × 4,780 float64 eigendecomposition: minutes)' },
  async () => {
    const dir = mkdtempSync(join(tmpdir(), 'specpipe-exact-5k-'));
    const network = buildNetwork({ kind: 'mlp', input: [1, 28, 28], hidden: [6], activation: 'tanh', classes: 10 });
    const { params, buffers } = network.init(2);
    const preprocess = { mean: [0.13], std: [0.31], pad: 0 };
    const ckpt = join(dir, 'mlp.safetensors');
    saveCheckpoint(ckpt, network, params, buffers, preprocess);
    const started = performance.now();
    const out = JSON.parse(
      await run([
        '--checkpoint',
        ckpt,
        '--data',
        'mnist',
        '--split',
        'train',
        '--samples-per-class',
        '2',
        '--seed',
        '3',
        '--exact',
        '--json',
      ]),
    );
    const seconds = (performance.now() - started) / 1000;
    const P = 784 * 6 + 6 + 6 * 10 + 10;
    assert.equal(out.exact.eigenvalues.length, P);
    assert.equal(out.exact.products, 'float64 (MLP R-operator)');
    const split = preprocessSplit((await loadDataSource({ kind: 'mnist' }, { seed: 3, trainPerClass: 2 })).train, preprocess);
    const spec: TinyNetSpec = {
      kind: 'tiny',
      name: 'mlp 784-6-10',
      input: [28, 28, 1],
      classes: 10,
      layers: [{ op: 'flatten' }, { op: 'dense', out: 6 }, { op: 'tanh' }, { op: 'dense', out: 10 }],
    };
    const problem: ReferenceProblem = {
      spec,
      theta: flattenParameters(params),
      buffers: new Float64Array(0),
      x: split.images, // C = 1: NCHW = NHWC
      labels: split.labels,
      loss: 'cross-entropy',
    };
    const refOp = { size: P, symmetric: true, matvec: async (v: Float64Array) => referenceProducts(problem, v).hessianVector };
    const r = await topEigenpairs(refOp, 5, { tol: 1e-11, maxMatvecs: 600, seed: 1, basisPrecision: 'float64' });
    const rel = r.pairs.map((p, i) => Math.abs(out.exact.eigenvalues[i] - p.value) / Math.abs(p.value));
    process.stdout.write(
      `# P = ${P}: --exact took ${seconds.toFixed(0)} s; top-5 relative differences to the reference's Lanczos ${rel.map((e) => e.toExponential(1)).join(', ')}\n`,
    );
    assert.ok(r.converged, 'the reference Lanczos converged');
    for (const e of rel) assert.ok(e <= 1e-8, `relative difference ${e}`);
    tf.dispose([...params, ...buffers]);
  },
);
