import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-backend-cpu';
import {
  OPENBLAS_KERNEL_NAMES,
  openBlasKernelStatus,
  registerGemmKernels,
  stockKernel,
  unregisterOpenBlasKernels,
} from '../../src/backend/openblasKernels.js';
import { loadNativeKernels, type NativeKernels } from '../../src/backend/native/elementwiseLibrary.js';
import { specpipeGemmCalls } from '../../src/backend/native/gemmProvider.js';
import { setDirectConvolution } from '../../src/backend/native/gemmKernels.js';
import { Rng } from '../../src/util/random.js';
import { convKernelRuns, type ConvCase } from './convKernelRuns.js';

/*
 * specpipe's own C sgemm (src/backend/native/gemmSource.ts), the GEMM of the cpu backend when
 * OpenBLAS is not loadable: the raw routine against a float64 reference on every micro-kernel the
 * CPU has, then the GEMM kernels routed through it against the stock tfjs-backend-cpu kernels.
 */

const loaded = loadNativeKernels();
const native: NativeKernels | undefined = loaded.ok ? loaded.kernels : undefined;
const noCLibrary = native?.sgemm === undefined ? `the C library did not load: ${loaded.ok ? 'no sgemm' : loaded.reason}` : false;
/** The best micro-kernel this CPU runs (2 AVX-512, 1 AVX2+FMA, 0 portable), before any test caps it. */
const cpuIsa = native?.gemmIsa?.(-1) ?? 0;

tf.env().set('IS_TEST', true);
await tf.setBackend('cpu');
const rng = new Rng(20261205);

function randomMatrix(n: number): Float32Array {
  const v = new Float32Array(n);
  for (let i = 0; i < n; i++) v[i] = rng.normal();
  return v;
}

interface GemmCase {
  m: number;
  n: number;
  k: number;
  transA: boolean;
  transB: boolean;
  alpha: number;
  beta: number;
  /** Extra columns of padding in each leading dimension (strided submatrices). */
  pad: number;
  threads: number;
}

/**
 * Shapes as data: 1×1, vectors, tall/skinny and short/wide, sizes that are no multiple of any
 * tile (MR 12/6/4, NR 32/16/8) or of the KC = 256 depth slice (k = 257, 600), all four transposes,
 * α ≠ 1, β ∈ {0, 1, −0.5}, padded leading dimensions, and products large enough (m·n·k ≥ 2^21) to
 * split over 2 and 3 threads by columns and by rows.
 */
const CASES: GemmCase[] = [];
const SHAPES: [number, number, number][] = [
  [1, 1, 1],
  [1, 37, 5],
  [29, 1, 11],
  [13, 17, 1],
  [7, 5, 3],
  [300, 3, 41],
  [3, 300, 41],
  [1000, 10, 64],
  [12, 32, 256],
  [25, 33, 257],
  [37, 65, 600],
];
for (const [m, n, k] of SHAPES)
  for (const [transA, transB] of [
    [false, false],
    [true, false],
    [false, true],
    [true, true],
  ] as const)
    CASES.push({ m, n, k, transA, transB, alpha: 1, beta: 0, pad: 0, threads: 1 });
CASES.push(
  { m: 19, n: 23, k: 31, transA: false, transB: false, alpha: 0.75, beta: -0.5, pad: 3, threads: 1 },
  { m: 19, n: 23, k: 31, transA: true, transB: true, alpha: -2, beta: 1, pad: 5, threads: 1 },
  { m: 50, n: 70, k: 300, transA: false, transB: true, alpha: 1, beta: 1, pad: 1, threads: 1 },
  { m: 96, n: 700, k: 40, transA: false, transB: false, alpha: 1, beta: 0, pad: 0, threads: 2 },
  { m: 700, n: 40, k: 96, transA: true, transB: false, alpha: 1, beta: 0.5, pad: 0, threads: 3 },
  { m: 130, n: 150, k: 300, transA: false, transB: true, alpha: 1.5, beta: 0, pad: 2, threads: 2 },
);

/**
 * Runs one case through `native.sgemm` and checks every entry against float64
 * α·Σ_p op(A)[i,p]·op(B)[p,j] + β·C[i,j] within Higham's bound for a float32 sum of k products:
 * |err| ≤ 2·(k + 2)·u·(|α|·Σ_p |op(A)[i,p]·op(B)[p,j]| + |β·C[i,j]|), u = 2^−24. Entries of C outside
 * the m × n block (the padding) must be untouched.
 */
function checkCase(kernels: NativeKernels, c: GemmCase): void {
  const rowsA = c.transA ? c.k : c.m;
  const colsA = c.transA ? c.m : c.k;
  const rowsB = c.transB ? c.n : c.k;
  const colsB = c.transB ? c.k : c.n;
  const lda = colsA + c.pad;
  const ldb = colsB + c.pad;
  const ldc = c.n + c.pad;
  const a = randomMatrix(rowsA * lda);
  const b = randomMatrix(rowsB * ldb);
  const c0 = randomMatrix(c.m * ldc);
  // β = 0 must overwrite C without reading it: NaN there must not reach the result.
  if (c.beta === 0) c0.fill(Number.NaN);
  const out = Float32Array.from(c0);
  const ok = kernels.sgemm!(c.transA, c.transB, c.m, c.n, c.k, c.alpha, a, lda, b, ldb, c.beta, out, ldc, c.threads);
  assert.equal(ok, true);
  const u = 2 ** -24;
  const label = `${c.m}×${c.n}×${c.k} ${c.transA ? 'T' : 'N'}${c.transB ? 'T' : 'N'} α=${c.alpha} β=${c.beta} pad=${c.pad} threads=${c.threads}`;
  for (let i = 0; i < c.m; i++) {
    for (let j = 0; j < c.n + c.pad; j++) {
      const got = out[i * ldc + j]!;
      if (j >= c.n) {
        assert.ok(Object.is(got, c0[i * ldc + j]), `${label}: padding entry (${i}, ${j}) changed`);
        continue;
      }
      let sum = 0;
      let magnitude = 0;
      for (let p = 0; p < c.k; p++) {
        const x = c.transA ? a[p * lda + i]! : a[i * lda + p]!;
        const y = c.transB ? b[j * ldb + p]! : b[p * ldb + j]!;
        sum += x * y;
        magnitude += Math.abs(x * y);
      }
      const prior = c.beta === 0 ? 0 : c.beta * c0[i * ldc + j]!;
      const want = c.alpha * sum + prior;
      const bound = 2 * (c.k + 2) * u * (Math.abs(c.alpha) * magnitude + Math.abs(prior)) + 1e-37;
      assert.ok(
        Math.abs(got - want) <= bound,
        `${label}: entry (${i}, ${j}) = ${got}, float64 reference ${want}, |error| ${Math.abs(got - want)} > ${bound}`,
      );
    }
  }
}

const ISA_NAMES = ['portable C', 'AVX2+FMA', 'AVX-512'] as const;

for (const isa of [2, 1, 0] as const) {
  test(
    `sgemm, ${ISA_NAMES[isa]} micro-kernel: ${CASES.length} shapes against a float64 reference`,
    { skip: noCLibrary || (isa > cpuIsa ? `this CPU has no ${ISA_NAMES[isa]}` : false) },
    () => {
      const kernels = native!;
      assert.equal(kernels.gemmIsa!(isa), isa, 'the cap took effect');
      try {
        for (const c of CASES) checkCase(kernels, c);
      } finally {
        kernels.gemmIsa!(2);
      }
      assert.equal(kernels.gemmIsa!(-1), cpuIsa, 'cap lifted');
    },
  );
}

test('sgemm: k = 0 gives β·C, α = 0 skips the product (cblas semantics)', { skip: noCLibrary }, () => {
  const kernels = native!;
  const c = Float32Array.from([1, 2, 3, 4, 5, 6]);
  assert.equal(kernels.sgemm!(false, false, 2, 3, 0, 1, new Float32Array(0), 1, new Float32Array(0), 3, 0.5, c, 3, 1), true);
  assert.deepEqual(Array.from(c), [0.5, 1, 1.5, 2, 2.5, 3]);
  assert.equal(kernels.sgemm!(false, false, 2, 3, 0, 1, new Float32Array(0), 1, new Float32Array(0), 3, 0, c, 3, 1), true);
  assert.deepEqual(Array.from(c), [0, 0, 0, 0, 0, 0]);
});

/*
 * The GEMM kernels routed through specpipe's sgemm (registerGemmKernels('specpipe')) against the
 * stock tfjs-backend-cpu kernels: ‖routed − stock‖ / ‖stock‖ ≤ 1e-5 (float32 rounding of sums
 * of up to a few hundred terms, in another order).
 */
const TOL = 1e-5;

function relativeError(got: Float32Array, want: Float32Array): number {
  assert.equal(got.length, want.length, 'result sizes differ');
  let num = 0;
  let den = 0;
  for (let i = 0; i < want.length; i++) {
    num += (got[i]! - want[i]!) ** 2;
    den += want[i]! ** 2;
  }
  return den === 0 ? Math.sqrt(num) : Math.sqrt(num / den);
}

/** f with the stock kernels, then with the GEMM kernels over specpipe's sgemm, which must have run. */
function agree(label: string, f: () => tf.Tensor): void {
  const run = (): { shape: number[]; values: Float32Array } =>
    tf.tidy(() => {
      const out = f();
      return { shape: out.shape, values: Float32Array.from(out.dataSync() as Float32Array) };
    });
  unregisterOpenBlasKernels();
  const want = run();
  const r = registerGemmKernels('specpipe');
  assert.deepEqual(r, { ok: true, gemm: 'specpipe' });
  const calls = specpipeGemmCalls();
  const got = run();
  assert.ok(specpipeGemmCalls() > calls, `${label}: specpipe's sgemm ran`);
  assert.deepEqual(got.shape, want.shape, `${label}: shape`);
  const e = relativeError(got.values, want.values);
  assert.ok(e <= TOL, `${label}: relative error ${e} > ${TOL}`);
}

function randn(shape: number[]): tf.Tensor {
  return tf.tensor(randomMatrix(shape.reduce((p, q) => p * q, 1)), shape);
}

test('registerGemmKernels("specpipe") puts every GEMM kernel over specpipe\'s sgemm', { skip: noCLibrary }, () => {
  unregisterOpenBlasKernels();
  const before = new Map(OPENBLAS_KERNEL_NAMES.map((n) => [n, tf.getKernel(n, 'cpu')!.kernelFunc]));
  assert.deepEqual(registerGemmKernels('specpipe'), { ok: true, gemm: 'specpipe' });
  const status = openBlasKernelStatus()!;
  assert.equal(status.gemm, 'specpipe');
  assert.equal(status.library, native!.library);
  for (const n of OPENBLAS_KERNEL_NAMES) {
    assert.notEqual(tf.getKernel(n, 'cpu')!.kernelFunc, before.get(n), `${n} replaced`);
    assert.equal(stockKernel(n)!.kernelFunc, before.get(n), `${n} stock kept`);
  }
  assert.deepEqual(registerGemmKernels('specpipe'), { ok: true, gemm: 'specpipe' }, 'idempotent');
  assert.deepEqual(registerGemmKernels('openblas'), {
    ok: false,
    reason: "the GEMM kernels already run over specpipe's sgemm (unregisterOpenBlasKernels first)",
  });
  unregisterOpenBlasKernels();
  for (const n of OPENBLAS_KERNEL_NAMES) assert.equal(tf.getKernel(n, 'cpu')!.kernelFunc, before.get(n), `${n} restored`);
});

test(
  "BatchMatMul and _FusedMatMul over specpipe's sgemm: transposes, batches, broadcast batch, odd sizes",
  { skip: noCLibrary },
  () => {
    const cases: [number[], number[], boolean, boolean][] = [
      [[1, 1], [1, 1], false, false],
      [[7, 5], [5, 9], false, false],
      [[5, 7], [5, 9], true, false],
      [[7, 5], [9, 5], false, true],
      [[5, 7], [9, 5], true, true],
      [[256, 784], [784, 64], false, false],
      [[256, 64], [784, 64], false, true],
      [[256, 784], [256, 64], true, false],
      [[3, 13, 17], [3, 17, 4], false, false],
      [[3, 17, 13], [3, 4, 17], true, true],
      [[4, 6, 5], [5, 3], false, false],
      [[6, 5], [4, 5, 3], false, false],
    ];
    for (const [sa, sb, ta, tb] of cases) {
      const a = randn(sa);
      const b = randn(sb);
      agree(`matMul ${sa}×${sb} tA=${ta} tB=${tb}`, () => tf.matMul(a, b, ta, tb));
    }
    const a = randn([33, 20]);
    const b = randn([20, 10]);
    const bias = randn([10]);
    agree('fused matMul relu', () => tf.fused.matMul({ a, b, bias, activation: 'relu' }));
  },
);

const CONV_CASES: ConvCase[] = [
  { x: [2, 9, 9, 1], w: [5, 5, 1, 3], strides: [1, 1], pad: 'same' },
  { x: [3, 11, 13, 3], w: [3, 4, 3, 5], strides: [2, 2], pad: 'same' },
  { x: [2, 10, 7, 4], w: [3, 3, 4, 6], strides: [1, 2], pad: 'valid' },
  { x: [3, 6, 5, 4], w: [1, 1, 4, 7], strides: [1, 1], pad: 'valid' },
  { x: [4, 14, 14, 6], w: [5, 5, 6, 16], strides: [1, 1], pad: 'valid' },
  { x: [2, 12, 12, 20], w: [3, 3, 20, 40], strides: [1, 1], pad: 'same' },
];

test("Conv2D, Conv2DBackpropInput, Conv2DBackpropFilter as im2col + specpipe's sgemm", { skip: noCLibrary }, () => {
  const was = setDirectConvolution(false);
  try {
    for (const c of CONV_CASES)
      for (const [kernel, run] of convKernelRuns(c, randn)) agree(`${kernel} x=${c.x} w=${c.w} s=${c.strides} pad=${c.pad}`, run);
  } finally {
    setDirectConvolution(was);
    unregisterOpenBlasKernels();
  }
});
