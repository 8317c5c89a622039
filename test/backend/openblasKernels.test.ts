import { test } from 'node:test';
import { Worker } from 'node:worker_threads';
import { readFileSync, rmSync } from 'node:fs';
import assert from 'node:assert/strict';
import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-backend-cpu';
import {
  OPENBLAS_KERNEL_NAMES,
  blasThreadsFromEnv,
  openBlasKernelStatus,
  registerOpenBlasKernels,
  stockKernel,
  unregisterOpenBlasKernels,
} from '../../src/backend/openblasKernels.js';
import { loadOpenBlas } from '../../src/backend/native/openblasLibrary.js';
import { NATIVE_ELEMENTWISE_KERNEL_NAMES } from '../../src/backend/native/elementwiseKernels.js';
import { JS_FALLBACK_KERNEL_NAMES } from '../../src/backend/native/jsKernels.js';
import { directConvolutionCalls, setDirectConvolution } from '../../src/backend/native/gemmKernels.js';
import { loadNativeKernels } from '../../src/backend/native/elementwiseLibrary.js';
import { Rng } from '../../src/util/random.js';
import { convKernelRuns, type ConvCase } from './convKernelRuns.js';

/**
 * Every re-registered kernel against the stock tfjs-backend-cpu kernel it replaces, on random
 * shapes (transposes, batch, strides, paddings, odd sizes), float32: ‖native − stock‖ / ‖stock‖ ≤ 1e-5.
 */
const TOL = 1e-5;
const blasMissing = loadOpenBlas().ok ? false : `libopenblas not loadable here: ${(loadOpenBlas() as { reason: string }).reason}`;

// IS_TEST makes tfjs check every kernel for leaked tensor data (engine.checkKernelForMemLeak).
tf.env().set('IS_TEST', true);
await tf.setBackend('cpu');
const rng = new Rng(20261130);

function randn(shape: number[]): tf.Tensor {
  const n = shape.reduce((p, q) => p * q, 1);
  const v = new Float32Array(n);
  for (let i = 0; i < n; i++) v[i] = rng.normal();
  return tf.tensor(v, shape);
}

function relativeError(got: ArrayLike<number>, want: ArrayLike<number>): number {
  assert.equal(got.length, want.length, 'result sizes differ');
  let num = 0;
  let den = 0;
  for (let i = 0; i < want.length; i++) {
    const w = want[i]!;
    const g = got[i]!;
    if (Number.isNaN(w) || !Number.isFinite(w)) {
      assert.ok(Object.is(g, w) || (Number.isNaN(g) && Number.isNaN(w)), `entry ${i}: got ${g}, stock ${w}`);
      continue;
    }
    num += (g - w) ** 2;
    den += w * w;
  }
  return den === 0 ? Math.sqrt(num) : Math.sqrt(num / den);
}

/** Largest entrywise |got − want| / |want| (entries with want = 0 must be exactly 0). */
function maxEntryRelativeError(got: ArrayLike<number>, want: ArrayLike<number>): number {
  let m = 0;
  for (let i = 0; i < want.length; i++) {
    const w = want[i]!;
    const g = got[i]!;
    if (!Number.isFinite(w)) continue; // checked exactly by relativeError
    m = Math.max(m, w === 0 ? Math.abs(g) * 1e30 : Math.abs(g - w) / Math.abs(w));
  }
  return m;
}

/**
 * Runs `f` with the stock kernels and with the native ones; asserts same shape and
 * ‖got − want‖/‖want‖ ≤ TOL, or, with `entrywise`, every entry within `entrywise` relatively.
 */
function agree(label: string, f: () => tf.Tensor | tf.Tensor[], entrywise?: number): void {
  const run = (): { shapes: number[][]; values: Float32Array[] } =>
    tf.tidy(() => {
      const out = f();
      const list = Array.isArray(out) ? out : [out];
      return { shapes: list.map((t) => t.shape), values: list.map((t) => Float32Array.from(t.dataSync() as Float32Array)) };
    });
  unregisterOpenBlasKernels();
  const want = run();
  const r = registerOpenBlasKernels();
  assert.ok(r.ok, `registerOpenBlasKernels: ${JSON.stringify(r)}`);
  const got = run();
  assert.deepEqual(got.shapes, want.shapes, `${label}: shapes`);
  want.values.forEach((w, k) => {
    const e = relativeError(got.values[k]!, w);
    assert.ok(e <= TOL, `${label}: output ${k} relative error ${e} > ${TOL}`);
    if (entrywise !== undefined) {
      const m = maxEntryRelativeError(got.values[k]!, w);
      assert.ok(m <= entrywise, `${label}: output ${k} worst entry relative error ${m} > ${entrywise}`);
    }
  });
}

/** tfjs's own Conv2D and BatchMatMul gradient rules (tfjs-core/src/gradients), if none is registered yet. */
function ensureGradients(): void {
  if (tf.getGradient('Conv2D') === undefined) {
    tf.registerGradient({
      kernelName: 'Conv2D',
      inputsToSave: ['x', 'filter'],
      gradFunc: (dy, saved, attrs) => {
        const [x, w] = saved as [tf.Tensor4D, tf.Tensor4D];
        const { strides, pad } = attrs as unknown as { strides: [number, number]; pad: 'same' | 'valid' };
        return {
          x: () => tf.conv2dTranspose(dy as tf.Tensor4D, w, x.shape, strides, pad),
          filter: () =>
            tf.engine().runKernel('Conv2DBackpropFilter', { x, dy: dy as tf.Tensor }, {
              strides,
              pad,
              dataFormat: 'NHWC',
              filterShape: w.shape,
            } as never) as tf.Tensor,
        };
      },
    });
  }
  if (tf.getGradient('BatchMatMul') === undefined) {
    tf.registerGradient({
      kernelName: 'BatchMatMul',
      inputsToSave: ['a', 'b'],
      gradFunc: (dy, saved, attrs) => {
        const [a, b] = saved as [tf.Tensor, tf.Tensor];
        const { transposeA, transposeB } = attrs as unknown as { transposeA: boolean; transposeB: boolean };
        const d = dy as tf.Tensor;
        if (!transposeA && !transposeB) return { a: () => tf.matMul(d, b, false, true), b: () => tf.matMul(a, d, true, false) };
        if (!transposeA && transposeB) return { a: () => tf.matMul(d, b, false, false), b: () => tf.matMul(d, a, true, false) };
        if (transposeA && !transposeB) return { a: () => tf.matMul(b, d, false, true), b: () => tf.matMul(a, d, false, false) };
        return { a: () => tf.matMul(b, d, true, true), b: () => tf.matMul(d, a, true, true) };
      },
    });
  }
}

test('registers every GEMM kernel and keeps the stock ones for comparison', { skip: blasMissing }, () => {
  unregisterOpenBlasKernels();
  const before = new Map(OPENBLAS_KERNEL_NAMES.map((n) => [n, tf.getKernel(n, 'cpu')!.kernelFunc]));
  const r = registerOpenBlasKernels();
  assert.deepEqual(r, { ok: true });
  const status = openBlasKernelStatus();
  assert.ok(status !== undefined);
  assert.equal(status.threads, blasThreadsFromEnv(), 'OpenBLAS threads as SPECPIPE_BLAS_THREADS says (default 1)');
  for (const n of OPENBLAS_KERNEL_NAMES) {
    assert.notEqual(tf.getKernel(n, 'cpu')!.kernelFunc, before.get(n), `${n} replaced`);
    assert.equal(stockKernel(n)!.kernelFunc, before.get(n), `${n} stock kept`);
    assert.ok(status.kernels.includes(n));
  }
  assert.deepEqual(registerOpenBlasKernels(), { ok: true }, 'idempotent');
  unregisterOpenBlasKernels();
  for (const n of OPENBLAS_KERNEL_NAMES) assert.equal(tf.getKernel(n, 'cpu')!.kernelFunc, before.get(n), `${n} restored`);
});

test('BatchMatMul: all transpose combinations, batched, broadcast batch, odd sizes', { skip: blasMissing }, () => {
  const cases: [number[], number[], boolean, boolean][] = [
    [[7, 5], [5, 9], false, false],
    [[5, 7], [5, 9], true, false],
    [[7, 5], [9, 5], false, true],
    [[5, 7], [9, 5], true, true],
    [[1, 1], [1, 1], false, false],
    [[3, 13, 17], [3, 17, 4], false, false],
    [[3, 17, 13], [3, 4, 17], true, true],
    [[2, 3, 6, 5], [2, 3, 6, 4], true, false],
    [[4, 6, 5], [5, 3], false, false],
    [[6, 5], [4, 5, 3], false, false],
    [[4, 5, 6], [5, 3], true, false],
    [[33, 64], [31, 64], false, true],
  ];
  for (const [sa, sb, ta, tb] of cases) {
    const a = randn(sa);
    const b = randn(sb);
    agree(`matMul ${sa}×${sb} tA=${ta} tB=${tb}`, () => tf.matMul(a, b, ta, tb));
  }
  agree('matMul with zero inner size', () => tf.matMul(tf.zeros([3, 0]), tf.zeros([0, 4])));
  agree('int32 matMul falls back to stock', () =>
    tf.cast(tf.matMul(tf.tensor2d([[1, 2]], [1, 2], 'int32'), tf.tensor2d([[3], [4]], [2, 1], 'int32')), 'float32'),
  );
  assert.throws(() => tf.matMul(tf.zeros([2, 3]), tf.zeros([4, 2])), /inner shapes/);
});

test('_FusedMatMul: bias and activations', { skip: blasMissing }, () => {
  const a = randn([9, 6]);
  const b = randn([6, 5]);
  const bias = randn([5]);
  for (const activation of ['linear', 'relu', 'relu6', 'elu', 'sigmoid', 'leakyrelu'] as const) {
    agree(`fused matMul ${activation}`, () => tf.fused.matMul({ a, b, bias, activation, leakyreluAlpha: 0.1 }));
  }
  agree('fused matMul transposed, no bias', () =>
    tf.fused.matMul({ a: tf.transpose(a), b, transposeA: true, activation: 'relu' }),
  );
  const alpha = randn([5]);
  agree('fused matMul prelu', () => tf.fused.matMul({ a, b, bias, activation: 'prelu', preluActivationWeights: alpha }));
});

const CONV_CASES: ConvCase[] = [
  { x: [2, 9, 9, 1], w: [5, 5, 1, 3], strides: [1, 1], pad: 'same' },
  { x: [3, 11, 13, 3], w: [3, 4, 3, 5], strides: [2, 2], pad: 'same' },
  { x: [2, 10, 7, 4], w: [3, 3, 4, 6], strides: [1, 2], pad: 'valid' },
  { x: [1, 8, 8, 2], w: [2, 2, 2, 3], strides: [2, 2], pad: 'valid' },
  {
    x: [2, 7, 9, 3],
    w: [3, 3, 3, 2],
    strides: [2, 1],
    pad: [
      [0, 0],
      [1, 2],
      [2, 0],
      [0, 0],
    ],
  },
  { x: [3, 6, 5, 4], w: [1, 1, 4, 7], strides: [1, 1], pad: 'valid' },
  { x: [2, 6, 5, 4], w: [1, 1, 4, 3], strides: [2, 2], pad: 'same' },
  { x: [1, 5, 5, 2], w: [5, 5, 2, 2], strides: [3, 3], pad: 'same' },
  // Few-channel shapes of the direct convolution (gemmKernels.ts directConvolutionApplies):
  // LeNet's conv1 (C_in = 1, 5×5, pad 2) at batch 3 and 1, odd sizes, height stride 2, valid,
  // asymmetric explicit padding, ≤ 8 output channels over a wide patch (K = 108).
  { x: [3, 28, 28, 1], w: [5, 5, 1, 6], strides: [1, 1], pad: 'same' },
  { x: [1, 13, 9, 1], w: [5, 5, 1, 6], strides: [1, 1], pad: 'same' },
  { x: [3, 11, 17, 1], w: [5, 3, 1, 4], strides: [1, 1], pad: 'valid' },
  { x: [3, 13, 11, 1], w: [5, 5, 1, 6], strides: [2, 1], pad: 'same' },
  { x: [1, 13, 11, 1], w: [3, 3, 1, 5], strides: [2, 2], pad: 'valid' },
  {
    x: [3, 10, 9, 2],
    w: [5, 5, 2, 3],
    strides: [1, 1],
    pad: [
      [0, 0],
      [2, 2],
      [2, 2],
      [0, 0],
    ],
  },
  {
    x: [2, 9, 8, 1],
    w: [5, 4, 1, 7],
    strides: [1, 1],
    pad: [
      [0, 0],
      [4, 0],
      [0, 3],
      [0, 0],
    ],
  },
  { x: [2, 10, 9, 12], w: [3, 3, 12, 5], strides: [1, 1], pad: 'same' },
  { x: [1, 40, 37, 3], w: [3, 3, 3, 8], strides: [1, 1], pad: 'same' },
];

function convCases(label: string): void {
  for (const c of CONV_CASES)
    for (const [kernel, run] of convKernelRuns(c, randn))
      agree(`${kernel} ${label} x=${c.x} w=${c.w} s=${c.strides} pad=${JSON.stringify(c.pad)}`, run);
}

test(
  'Conv2D, Conv2DBackpropInput, Conv2DBackpropFilter: strides, same/valid/explicit padding, 1×1, odd sizes',
  { skip: blasMissing },
  () => {
    const was = setDirectConvolution(false);
    try {
      convCases('im2col + sgemm');
    } finally {
      setDirectConvolution(was);
    }
    const before = directConvolutionCalls();
    convCases('direct where it applies');
    if (openBlasKernelStatus()?.elementwise.ok === true && directConvolutionCallsExpected())
      assert.ok(directConvolutionCalls() > before + 20, 'the direct convolution ran');
    // The AVX2+FMA variant too, where the CPU would pick AVX-512.
    const native = loadNativeKernels();
    if (native.ok && native.kernels.convIsa !== undefined && native.kernels.convIsa(-1) === 2) {
      native.kernels.convIsa(1);
      try {
        assert.equal(native.kernels.convIsa(-1), 1);
        convCases('direct, AVX2 variant');
      } finally {
        native.kernels.convIsa(2);
      }
    }
    const x = randn([2, 7, 7, 3]) as tf.Tensor4D;
    const w = randn([3, 3, 3, 4]) as tf.Tensor4D;
    const bias = randn([4]);
    agree('fused conv2d bias+relu', () => tf.fused.conv2d({ x, filter: w, strides: 1, pad: 'same', bias, activation: 'relu' }));
    agree('dilated conv2d falls back to stock', () => tf.conv2d(x, w, 1, 'same', 'NHWC', 2));
  },
);

test('gradients through conv2d and matMul (tf.grads) agree with stock kernels', { skip: blasMissing }, () => {
  ensureGradients();
  const x = randn([3, 9, 8, 2]) as tf.Tensor4D;
  const w = randn([3, 3, 2, 4]) as tf.Tensor4D;
  for (const [strides, pad] of [
    [[1, 1], 'same'],
    [[2, 2], 'same'],
    [[2, 1], 'valid'],
  ] as [[number, number], 'same' | 'valid'][]) {
    const f = (a: tf.Tensor, b: tf.Tensor): tf.Tensor => tf.conv2d(a as tf.Tensor4D, b as tf.Tensor4D, strides, pad);
    const dy = randn(f(x, w).shape);
    agree(`grad conv2d s=${strides} ${pad}`, () => tf.grads(f)([x, w], dy));
  }
  const a = randn([4, 6, 5]); // M = 6, K = 5
  const b = randn([4, 3, 5]); // N = 3, K = 5
  for (const [ta, tb] of [
    [false, false],
    [true, false],
    [false, true],
    [true, true],
  ] as [boolean, boolean][]) {
    const A = ta ? tf.transpose(a, [0, 2, 1]) : a;
    const B = tb ? b : tf.transpose(b, [0, 2, 1]);
    const f = (p: tf.Tensor, q: tf.Tensor): tf.Tensor => tf.matMul(p, q, ta, tb);
    const dy = randn(f(A, B).shape);
    agree(`grad matMul tA=${ta} tB=${tb}`, () => tf.grads(f)([A, B], dy));
  }
});

/** Whether this CPU runs the direct convolution (it declines without AVX2+FMA): x86-64 with both flags. */
function directConvolutionCallsExpected(): boolean {
  if (process.arch !== 'x64') return false;
  try {
    const flags = readFileSync('/proc/cpuinfo', 'utf8');
    return /\bavx2\b/.test(flags) && /\bfma\b/.test(flags);
  } catch {
    return false;
  }
}

test('im2col convolutions with 2 OpenBLAS threads (transposed GEMM layout) agree with stock', { skip: blasMissing }, () => {
  unregisterOpenBlasKernels();
  process.env.SPECPIPE_BLAS_THREADS = '2';
  const was = setDirectConvolution(false);
  try {
    assert.deepEqual(registerOpenBlasKernels(), { ok: true });
    assert.equal(openBlasKernelStatus()!.threads, 2);
    convCases('2 BLAS threads');
  } finally {
    setDirectConvolution(was);
    delete process.env.SPECPIPE_BLAS_THREADS;
    unregisterOpenBlasKernels();
    registerOpenBlasKernels(); // back to 1 thread and the full kernel set for the tests below
  }
});

test('direct convolution: NaN/±Inf inputs fall back to im2col + sgemm and still match stock', { skip: blasMissing }, () => {
  const x = randn([2, 12, 10, 1]).arraySync() as number[][][][];
  x[0]![3]![4]![0] = NaN;
  x[1]![0]![0]![0] = Infinity;
  x[1]![7]![9]![0] = -Infinity;
  const xt = tf.tensor4d(x);
  const w = randn([5, 5, 1, 6]) as tf.Tensor4D;
  const y = tf.conv2d(xt, w, 1, 'same');
  const dy = randn(y.shape);
  agree('conv2d with NaN/±Inf in x', () => tf.conv2d(xt, w, 1, 'same'));
  agree(
    'Conv2DBackpropFilter with NaN/±Inf in x',
    () =>
      tf.engine().runKernel('Conv2DBackpropFilter', { x: xt, dy }, {
        filterShape: [5, 5, 1, 6],
        strides: 1,
        pad: 'same',
        dataFormat: 'NHWC',
      } as never) as tf.Tensor,
  );
  const dyBad = dy.arraySync() as number[][][][];
  dyBad[1]![2]![3]![4] = NaN;
  const dyt = tf.tensor4d(dyBad);
  agree(
    'Conv2DBackpropInput with NaN in dy',
    () =>
      tf.engine().runKernel('Conv2DBackpropInput', { dy: dyt, filter: w }, {
        inputShape: [2, 12, 10, 1],
        strides: 1,
        pad: 'same',
        dataFormat: 'NHWC',
      } as never) as tf.Tensor,
  );
});

test(
  'SPECPIPE_NO_NATIVE_ELEMENTWISE=1: GEMM kernels only (JavaScript im2col, stock elementwise) agree with stock',
  { skip: blasMissing },
  () => {
    unregisterOpenBlasKernels();
    process.env.SPECPIPE_NO_NATIVE_ELEMENTWISE = '1';
    try {
      assert.deepEqual(registerOpenBlasKernels(), { ok: true });
      const status = openBlasKernelStatus()!;
      assert.deepEqual([...status.kernels], [...OPENBLAS_KERNEL_NAMES]);
      assert.deepEqual([...status.javascript], []);
      assert.equal(tf.getKernel('MaxPoolGrad', 'cpu')!.kernelFunc, stockKernel('MaxPoolGrad')!.kernelFunc);
      const before = directConvolutionCalls();
      convCases('GEMM only');
      assert.equal(directConvolutionCalls(), before, 'no direct convolution without the C library');
    } finally {
      delete process.env.SPECPIPE_NO_NATIVE_ELEMENTWISE;
      unregisterOpenBlasKernels();
      registerOpenBlasKernels(); // the tests below expect the full set
    }
  },
);

/**
 * Native elementwise tests are skipped only where the C library cannot exist here (no compiler,
 * native code disabled); a library that fails to build or load with a compiler present fails them.
 */
function elementwiseSkip(): string | false {
  if (blasMissing) return blasMissing;
  unregisterOpenBlasKernels();
  registerOpenBlasKernels();
  const e = openBlasKernelStatus()?.elementwise;
  if (e === undefined || e.ok) return false;
  return /no C compiler|SPECPIPE_NO_NATIVE|koffi/.test(e.reason) ? `native elementwise library unavailable: ${e.reason}` : false;
}
const elementwiseMissing = elementwiseSkip();

test('native elementwise kernels: unary ops incl. NaN, ±Inf and large arguments', { skip: elementwiseMissing }, () => {
  const status = openBlasKernelStatus()!;
  assert.ok(status.elementwise.ok, `native elementwise library: ${JSON.stringify(status.elementwise)}`);
  for (const n of NATIVE_ELEMENTWISE_KERNEL_NAMES) assert.ok(status.kernels.includes(n), `${n} registered`);
  const special = [
    NaN,
    Infinity,
    -Infinity,
    0,
    -0,
    1e-30,
    -1e-30,
    1e-7,
    0.3,
    -0.62,
    0.63,
    5,
    -9,
    20,
    44,
    -44,
    87,
    88.5,
    89,
    -87,
    -88,
    -104,
    1e30,
    -1e30,
  ];
  const values = new Float32Array(4000 + special.length);
  for (let i = 0; i < 4000; i++) values[i] = rng.normal() * 4;
  values.set(special, 4000);
  const x = tf.tensor1d(values);
  const pos = tf.abs(x);
  agree('relu', () => tf.relu(x), 1e-6);
  agree('step (relu gradient)', () => tf.step(x, 0.25), 1e-6);
  agree('tanh', () => tf.tanh(x), 1e-6);
  agree('exp', () => tf.exp(x), 1e-6);
  agree('sigmoid', () => tf.sigmoid(x), 1e-6);
  agree('log', () => tf.log(pos), 1e-6);
  agree('square', () => tf.square(x), 1e-6);
  agree('neg', () => tf.neg(x), 1e-6);
  agree('sqrt', () => tf.sqrt(pos), 1e-6);
  agree('abs', () => tf.abs(x), 1e-6);
});

function checkBinaryOps(): void {
  const shapes: [number[], number[]][] = [
    [
      [4, 5, 6, 3],
      [4, 5, 6, 3],
    ],
    [[4, 5, 6, 3], [3]],
    [[3], [4, 5, 6, 3]],
    [
      [4, 5, 6, 3],
      [1, 1, 1, 3],
    ],
    [
      [7, 10],
      [7, 1],
    ],
    [
      [7, 1],
      [7, 10],
    ],
    [[7, 10], []],
    [[], [7, 10]],
    [
      [3, 1],
      [1, 4],
    ],
    [
      [2, 3, 4],
      [3, 1],
    ],
    [[5, 6], [6]],
    // Short repeating operands over ≥ 1024 entries (sp_binary tiles them into runs; tails included).
    [[64, 9, 7, 6], [6]],
    [
      [1, 1, 1, 6],
      [64, 9, 7, 6],
    ],
    [[40, 11, 5], [5]],
    [[50, 63], [63]],
  ];
  for (const [sa, sb] of shapes) {
    const a = randn(sa);
    const b = tf.add(tf.abs(randn(sb)), 0.5);
    agree(`add ${sa}+${sb}`, () => tf.add(a, b));
    agree(`sub ${sa}-${sb}`, () => tf.sub(a, b));
    agree(`mul ${sa}*${sb}`, () => tf.mul(a, b));
    agree(`div ${sa}/${sb}`, () => tf.div(a, b));
  }
  agree('int32 add falls back to stock', () =>
    tf.cast(tf.add(tf.tensor1d([1, 2], 'int32'), tf.tensor1d([3, 4], 'int32')), 'float32'),
  );
}

function checkSumsAndMeans(): void {
  const x = randn([6, 5, 4, 3]);
  for (const axis of [[0], [0, 1, 2], [3], [2, 3], [0, 1, 2, 3], [1], [1, 2], -1] as (number | number[])[]) {
    agree(`sum axis=${JSON.stringify(axis)}`, () => tf.sum(x, axis));
    agree(`sum axis=${JSON.stringify(axis)} keepDims`, () => tf.sum(x, axis, true));
    agree(`mean axis=${JSON.stringify(axis)}`, () => tf.mean(x, axis));
    agree(`mean axis=${JSON.stringify(axis)} keepDims`, () => tf.mean(x, axis, true));
  }
  // Few columns over many rows (bias gradients; sp_sum_cols's run-of-rows path, with a tail).
  const bias = randn([64, 9, 7, 6]);
  agree('sum over [0,1,2] of [64,9,7,6]', () => tf.sum(bias, [0, 1, 2]), 1e-6);
  agree('mean over [0,1,2] of [64,9,7,6]', () => tf.mean(bias, [0, 1, 2]), 1e-6);
  const tall = randn([3001, 7]);
  agree('sum over axis 0 of [3001,7]', () => tf.sum(tall, 0), 1e-6);
  const big = randn([300, 700]);
  agree('sum of all, large', () => tf.sum(big));
  agree('mean of all, large', () => tf.mean(big));
  agree('mean over batch, large', () => tf.mean(big, 0));
}

function checkMaxPools(): void {
  ensureGradients();
  const cases: [number[], number, number, 'same' | 'valid'][] = [
    [[2, 8, 8, 3], 2, 2, 'valid'],
    [[2, 9, 7, 4], 3, 2, 'same'],
    [[1, 7, 7, 2], 3, 1, 'same'],
    [[3, 5, 6, 1], 2, 3, 'valid'],
    // 2×2/2 tilings (the C library's tiled loops): LeNet's shapes at batch 3, odd sizes (last
    // row/column in no window), 3×3/3, and stride > window (gaps).
    [[3, 28, 28, 6], 2, 2, 'valid'],
    [[3, 14, 14, 16], 2, 2, 'valid'],
    [[2, 9, 7, 5], 2, 2, 'valid'],
    [[2, 9, 9, 3], 3, 3, 'valid'],
    [[1, 8, 8, 2], 2, 3, 'valid'],
    [[1, 7, 8, 3], 2, 2, 'same'],
  ];
  for (const [shape, size, stride, pad] of cases) {
    const x = randn(shape) as tf.Tensor4D;
    const tied = tf.round(tf.mul(x, 2)) as tf.Tensor4D;
    // NaN (never a maximum), −∞ and whole windows of them: every third entry NaN, every fifth −∞.
    const odd = Float32Array.from(x.dataSync(), (v, i) => (i % 3 === 0 ? NaN : i % 5 === 0 ? -Infinity : v));
    const nonfinite = tf.tensor4d(odd, x.shape as [number, number, number, number]);
    for (const [label, input] of [
      ['random', x],
      ['ties', tied],
      ['NaN/−∞', nonfinite],
    ] as [string, tf.Tensor4D][]) {
      agree(`maxPool ${label} ${shape} k${size} s${stride} ${pad}`, () => tf.maxPool(input, size, stride, pad));
      const y = tf.maxPool(input, size, stride, pad);
      const dy = randn(y.shape);
      agree(
        `MaxPoolGrad ${label} ${shape} k${size} s${stride} ${pad}`,
        () =>
          tf
            .engine()
            .runKernel('MaxPoolGrad', { dy, input, output: y }, { filterSize: size, strides: stride, pad } as never) as tf.Tensor,
      );
    }
  }
}

function checkAvgPools(): void {
  const cases: [number[], number | [number, number], number, 'same' | 'valid'][] = [
    [[2, 8, 8, 3], 2, 2, 'valid'],
    [[2, 9, 7, 4], 3, 2, 'same'],
    [[1, 7, 7, 2], 3, 1, 'same'],
    [[3, 4, 4, 5], [4, 4], 1, 'valid'],
  ];
  for (const [shape, size, stride, pad] of cases) {
    const x = randn(shape) as tf.Tensor4D;
    agree(`avgPool ${shape} k${size} s${stride} ${pad}`, () => tf.avgPool(x, size, stride, pad));
    const dy = randn(tf.avgPool(x, size, stride, pad).shape);
    agree(
      `AvgPoolGrad ${shape} k${size} s${stride} ${pad}`,
      () =>
        tf.engine().runKernel('AvgPoolGrad', { dy, input: x }, { filterSize: size, strides: stride, pad } as never) as tf.Tensor,
    );
  }
}

test(
  'native binary ops with broadcasting: same shape, scalar, bias (suffix), per-row (prefix), other',
  { skip: elementwiseMissing },
  checkBinaryOps,
);

test(
  'native Sum and Mean: leading axes (bias gradients), trailing axes, all, keepDims, middle axes',
  { skip: elementwiseMissing },
  checkSumsAndMeans,
);

test('native MaxPool and MaxPoolGrad: strides, overlap, same/valid padding, ties', { skip: elementwiseMissing }, checkMaxPools);

test(
  'native AvgPool and AvgPoolGrad: strides, overlap, same/valid padding, global average',
  { skip: elementwiseMissing },
  checkAvgPools,
);

test('SPECPIPE_NO_NATIVE=1: ok:false with the reason, stock kernels stay', { skip: blasMissing }, () => {
  unregisterOpenBlasKernels();
  const before = OPENBLAS_KERNEL_NAMES.map((n) => tf.getKernel(n, 'cpu')!.kernelFunc);
  process.env.SPECPIPE_NO_NATIVE = '1';
  try {
    const r = registerOpenBlasKernels();
    assert.deepEqual(r, { ok: false, reason: 'native kernels disabled by SPECPIPE_NO_NATIVE=1' });
    assert.equal(openBlasKernelStatus(), undefined);
    OPENBLAS_KERNEL_NAMES.forEach((n, i) => assert.equal(tf.getKernel(n, 'cpu')!.kernelFunc, before[i], `${n} still stock`));
  } finally {
    delete process.env.SPECPIPE_NO_NATIVE;
  }
});

test('a missing OpenBLAS library: ok:false naming the file, stock kernels stay', () => {
  unregisterOpenBlasKernels();
  const before = tf.getKernel('BatchMatMul', 'cpu')!.kernelFunc;
  process.env.SPECPIPE_OPENBLAS_LIB = 'libopenblas-does-not-exist.so.9';
  try {
    const r = registerOpenBlasKernels();
    assert.equal(r.ok, false);
    assert.match((r as { reason: string }).reason, /libopenblas could not be loaded \(libopenblas-does-not-exist\.so\.9: /);
    assert.equal(tf.getKernel('BatchMatMul', 'cpu')!.kernelFunc, before);
    const y = tf.matMul(tf.tensor2d([[1, 2]]), tf.tensor2d([[3], [4]]));
    assert.deepEqual(Array.from(y.dataSync()), [11]);
  } finally {
    delete process.env.SPECPIPE_OPENBLAS_LIB;
  }
});

test('a bad SPECPIPE_BLAS_THREADS is refused with the value received', () => {
  unregisterOpenBlasKernels();
  process.env.SPECPIPE_BLAS_THREADS = 'two';
  try {
    assert.deepEqual(registerOpenBlasKernels(), {
      ok: false,
      reason: 'SPECPIPE_BLAS_THREADS must be a positive integer, received "two"',
    });
  } finally {
    delete process.env.SPECPIPE_BLAS_THREADS;
  }
});

test(
  'without a C compiler: GEMM kernels register, JavaScript im2col and fallback kernels agree with stock',
  { skip: blasMissing },
  () => {
    unregisterOpenBlasKernels();
    process.env.CC = '/nonexistent/cc';
    process.env.SPECPIPE_NATIVE_DIR = `/tmp/specpipe-native-test-${process.pid}`;
    try {
      assert.deepEqual(registerOpenBlasKernels(), { ok: true });
      const status = openBlasKernelStatus()!;
      assert.deepEqual(status.elementwise, {
        ok: false,
        reason: 'no C compiler: "/nonexistent/cc" not found (set CC, or install gcc/clang)',
      });
      assert.deepEqual([...status.kernels], [...OPENBLAS_KERNEL_NAMES]);
      assert.deepEqual([...status.javascript], [...JS_FALLBACK_KERNEL_NAMES]);
      for (const n of JS_FALLBACK_KERNEL_NAMES)
        assert.notEqual(
          tf.getKernel(n, 'cpu')!.kernelFunc,
          stockKernel(n)!.kernelFunc,
          `${n} replaced by the JavaScript fallback`,
        );
      assert.equal(tf.getKernel('Relu', 'cpu')!.kernelFunc, stockKernel('Relu')!.kernelFunc);
      convCases('JavaScript im2col');
      checkBinaryOps();
      checkSumsAndMeans();
      checkMaxPools();
      checkAvgPools();
    } finally {
      delete process.env.CC;
      rmSync(process.env.SPECPIPE_NATIVE_DIR!, { recursive: true, force: true });
      delete process.env.SPECPIPE_NATIVE_DIR;
      unregisterOpenBlasKernels();
    }
  },
);

test('registers and computes inside a worker thread (data-parallel curvature workers)', { skip: blasMissing }, async () => {
  // Under tsx (running the .ts sources) the worker needs tsx's loader and the .ts path; compiled, neither.
  const underTsx = import.meta.url.endsWith('.ts');
  const kernels = new URL(`../../src/backend/openblasKernels.${underTsx ? 'ts' : 'js'}`, import.meta.url).href;
  const code = `
    const { parentPort } = require('node:worker_threads');
    (async () => {
      ${underTsx ? "(await import('tsx/esm/api')).register();" : ''}
      const tf = await import('@tensorflow/tfjs-core');
      await import('@tensorflow/tfjs-backend-cpu');
      const k = await import(${JSON.stringify(kernels)});
      await tf.setBackend('cpu');
      const r = k.registerOpenBlasKernels();
      const y = tf.matMul(tf.tensor2d([[1, 2], [3, 4]]), tf.tensor2d([[5], [6]]));
      parentPort.postMessage({ r, y: Array.from(y.dataSync()), kernels: k.openBlasKernelStatus().kernels.length });
    })().catch((e) => parentPort.postMessage({ error: String(e && e.stack || e) }));`;
  const w = new Worker(code, { eval: true });
  const msg = await new Promise<{ r?: unknown; y?: number[]; kernels?: number; error?: string }>((resolve, reject) => {
    w.once('message', resolve);
    w.once('error', reject);
  });
  await w.terminate();
  assert.equal(msg.error, undefined, msg.error);
  assert.deepEqual(msg.r, { ok: true });
  assert.deepEqual(msg.y, [17, 39]);
  assert.ok(msg.kernels! >= OPENBLAS_KERNEL_NAMES.length);
});
