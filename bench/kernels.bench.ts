/**
 * Stock tfjs-backend-cpu kernels vs specpipe's native ones (OpenBLAS sgemm + the small C library),
 * measured side by side in one run on the same data: GFLOP/s (or M elements/s) and the ratio.
 *   npm run bench kernels          (SPECPIPE_BENCH_QUICK=1: fewer cases, for a smoke run)
 * Timing: best of repeated runs within a time budget per case (the machine is shared).
 */
import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-backend-cpu';
import { openBlasKernelStatus, registerOpenBlasKernels, unregisterOpenBlasKernels } from '../src/backend/openblasKernels.js';
import { loadOpenBlas } from '../src/backend/native/openblasLibrary.js';
import { directConvolutionCalls, setDirectConvolution } from '../src/backend/native/gemmKernels.js';

const QUICK = process.env.SPECPIPE_BENCH_QUICK === '1';
const BUDGET_MS = QUICK ? 150 : 600;

tf.env().set('PROD', true); // silences tfjs's "install tfjs-node" banner
await tf.setBackend('cpu');

function bestMs(f: () => void, budgetMs = BUDGET_MS, maxReps = 50): number {
  if (budgetMs > 1) f(); // warm-up (scratch buffers, JIT); skipped for the seconds-long stock runs
  let best = Infinity;
  const start = performance.now();
  for (let r = 0; r < maxReps; r++) {
    const t0 = performance.now();
    f();
    best = Math.min(best, performance.now() - t0);
    if (performance.now() - start > budgetMs) break;
  }
  return best;
}

function run(f: () => tf.Tensor | tf.Tensor[]): () => void {
  return () =>
    tf.tidy(() => {
      const out = f();
      for (const t of Array.isArray(out) ? out : [out]) t.dataSync();
    });
}

interface Row {
  name: string;
  /** Work per call: floating-point operations (GEMM-like) or elements (elementwise). */
  work: number;
  unit: 'GFLOP/s' | 'Melem/s';
  f: () => tf.Tensor | tf.Tensor[];
}

function pad(s: string, n: number): string {
  return s.length >= n ? s : s + ' '.repeat(n - s.length);
}

function rate(work: number, ms: number, unit: Row['unit']): number {
  return unit === 'GFLOP/s' ? work / ms / 1e6 : work / ms / 1e3;
}

/**
 * Times every row with the stock kernels, then with the native ones, and prints them side by
 * side. With `gemmOnly`, also times what a machine without a C compiler gets (OpenBLAS GEMM
 * kernels, JavaScript im2col and the JavaScript fallbacks of native/jsKernels.ts), to show what
 * the C library adds.
 */
function compare(title: string, rows: Row[], stockBudget = BUDGET_MS, gemmOnly = false): void {
  console.log(`\n-- ${title}`);
  console.log(
    `${pad('case', 44)} ${pad('stock', 18)} ${gemmOnly ? pad('no C compiler', 18) + ' ' : ''}${pad('native', 18)} speed-up`,
  );
  const timed = (r: Row, budget: number): number | string => {
    try {
      return bestMs(run(r.f), budget, budget > 1 ? 50 : 1);
    } catch (e) {
      return (e instanceof Error ? e.message : String(e)).split('\n')[0]!;
    }
  };
  const register = (): void => {
    const ok = registerOpenBlasKernels();
    if (!ok.ok) throw new Error(`native kernels unavailable: ${ok.reason}`);
  };
  unregisterOpenBlasKernels();
  const stock = rows.map((r) => timed(r, stockBudget));
  let gemm: (number | string)[] = [];
  if (gemmOnly) {
    const cc = process.env.CC;
    process.env.CC = '/nonexistent/cc'; // what a machine without a C compiler gets
    register();
    gemm = rows.map((r) => timed(r, BUDGET_MS));
    unregisterOpenBlasKernels();
    if (cc === undefined) delete process.env.CC;
    else process.env.CC = cc;
  }
  register();
  const native = rows.map((r) => timed(r, BUDGET_MS));
  rows.forEach((r, i) => {
    const s = stock[i]!;
    const n = native[i]!;
    const g = gemm[i];
    const failed = [s, n, ...(gemmOnly ? [g] : [])].find((t) => typeof t === 'string');
    if (failed !== undefined) {
      console.log(`${pad(r.name, 44)} failed: ${String(failed)}`);
      return;
    }
    const cell = (ms: number): string => pad(`${rate(r.work, ms, r.unit).toFixed(2)} ${r.unit}`, 18);
    const mid = gemmOnly ? `${cell(g as number)} ` : '';
    const ratios = gemmOnly
      ? `${((s as number) / (g as number)).toFixed(1)}× / ${((s as number) / (n as number)).toFixed(1)}×`
      : `${((s as number) / (n as number)).toFixed(1)}×`;
    const times = gemmOnly
      ? `${(s as number).toFixed(1)} → ${(g as number).toFixed(2)} → ${(n as number).toFixed(2)} ms`
      : `${(s as number).toFixed(1)} → ${(n as number).toFixed(2)} ms`;
    console.log(`${pad(r.name, 44)} ${cell(s as number)} ${mid}${cell(n as number)} ${ratios}  (${times})`);
  });
}

/**
 * Native kernels with the direct few-channel convolution off (im2col + sgemm) and on, timed in
 * alternating rounds in this one process (so load from other processes hits both alike).
 */
function compareDirect(title: string, rows: Row[]): void {
  console.log(`\n-- ${title}`);
  console.log(`${pad('case', 44)} ${pad('im2col + sgemm', 18)} ${pad('direct', 18)} speed-up`);
  for (const r of rows) {
    const best = [Infinity, Infinity];
    let calls = 0;
    for (let round = 0; round < 2; round++) {
      for (const on of [false, true]) {
        setDirectConvolution(on);
        const c0 = directConvolutionCalls();
        best[on ? 1 : 0] = Math.min(best[on ? 1 : 0]!, bestMs(run(r.f), BUDGET_MS / 2));
        if (on) calls += directConvolutionCalls() - c0;
      }
    }
    setDirectConvolution(true);
    const [a, b] = best as [number, number];
    const cell = (ms: number): string => pad(`${rate(r.work, ms, r.unit).toFixed(2)} ${r.unit}`, 18);
    const note = calls === 0 ? '  (direct kernel not used for this shape)' : '';
    console.log(`${pad(r.name, 44)} ${cell(a)} ${cell(b)} ${(a / b).toFixed(2)}×  (${a.toFixed(2)} → ${b.toFixed(2)} ms)${note}`);
  }
}

function randn(shape: number[], scale = 1): tf.Tensor {
  return tf.keep(tf.mul(tf.randomNormal(shape, 0, 1, 'float32', 7), scale));
}

const status0 = registerOpenBlasKernels();
if (!status0.ok) {
  console.log(`native kernels unavailable: ${status0.reason}`);
  process.exit(0);
}
const st = openBlasKernelStatus()!;
console.log(
  `OpenBLAS: ${st.library}, ${st.threads} thread(s); native elementwise: ${st.elementwise.ok ? st.elementwise.library : `no (${st.elementwise.reason})`}`,
);

// ---- matMul: MLP 784-128 layer at batch 256, its two gradient products, and a batched matmul.
{
  const x = randn([256, 784]);
  const w = randn([784, 128]);
  const dy = randn([256, 128]);
  const a = randn([32, 64, 64]);
  const b = randn([32, 64, 64]);
  compare('matMul (BatchMatMul kernel), batch 256', [
    { name: 'x·W        [256,784]·[784,128]', work: 2 * 256 * 784 * 128, unit: 'GFLOP/s', f: () => tf.matMul(x, w) },
    {
      name: 'dy·Wᵀ      [256,128]·[784,128]ᵀ',
      work: 2 * 256 * 784 * 128,
      unit: 'GFLOP/s',
      f: () => tf.matMul(dy, w, false, true),
    },
    {
      name: 'xᵀ·dy      [256,784]ᵀ·[256,128]',
      work: 2 * 256 * 784 * 128,
      unit: 'GFLOP/s',
      f: () => tf.matMul(x, dy, true, false),
    },
    {
      name: 'batched    32×[64,64]·[64,64]ᵀ',
      work: 2 * 32 * 64 * 64 * 64,
      unit: 'GFLOP/s',
      f: () => tf.matMul(a, b, false, true),
    },
  ]);
}

// ---- LeNet convolutions at MNIST size, batch 256 (conv1 5×5 1→6 same; conv2 5×5 6→16 valid).
{
  const convs: { name: string; x: number[]; w: number[]; pad: 'same' | 'valid' }[] = [
    { name: 'conv1 [256,28,28,1]*[5,5,1,6] same', x: [256, 28, 28, 1], w: [5, 5, 1, 6], pad: 'same' },
    { name: 'conv2 [256,14,14,6]*[5,5,6,16] valid', x: [256, 14, 14, 6], w: [5, 5, 6, 16], pad: 'valid' },
  ];
  const rows: Row[] = [];
  for (const c of convs) {
    const x = randn(c.x) as tf.Tensor4D;
    const w = randn(c.w, 0.1) as tf.Tensor4D;
    const y = tf.keep(tf.conv2d(x, w, 1, c.pad));
    const dy = randn(y.shape);
    const flops = 2 * y.size * c.w[0]! * c.w[1]! * c.w[2]!;
    rows.push({ name: `Conv2D ${c.name}`, work: flops, unit: 'GFLOP/s', f: () => tf.conv2d(x, w, 1, c.pad) });
    rows.push({
      name: `BackpropInput ${c.name.split(' ')[0]}`,
      work: flops,
      unit: 'GFLOP/s',
      f: () =>
        tf.engine().runKernel('Conv2DBackpropInput', { dy, filter: w }, {
          inputShape: c.x,
          strides: 1,
          pad: c.pad,
          dataFormat: 'NHWC',
        } as never) as tf.Tensor,
    });
    rows.push({
      name: `BackpropFilter ${c.name.split(' ')[0]}`,
      work: flops,
      unit: 'GFLOP/s',
      f: () =>
        tf.engine().runKernel('Conv2DBackpropFilter', { x, dy }, {
          filterShape: c.w,
          strides: 1,
          pad: c.pad,
          dataFormat: 'NHWC',
        } as never) as tf.Tensor,
    });
  }
  compare('LeNet convolutions, batch 256 (stock: one timed run each)', rows, 1);
}

// ---- Direct few-channel convolution vs im2col + sgemm (both native), batch 256.
{
  const convs: { name: string; x: number[]; w: number[]; pad: 'same' | 'valid' }[] = [
    { name: 'LeNet conv1 [256,28,28,1]*[5,5,1,6] same', x: [256, 28, 28, 1], w: [5, 5, 1, 6], pad: 'same' },
    { name: 'CIFAR conv [256,32,32,3]*[3,3,3,16] same', x: [256, 32, 32, 3], w: [3, 3, 3, 16], pad: 'same' },
    { name: 'wide-in [256,14,14,32]*[3,3,32,8] same', x: [256, 14, 14, 32], w: [3, 3, 32, 8], pad: 'same' },
    { name: 'LeNet conv2 [256,14,14,6]*[5,5,6,16] same', x: [256, 14, 14, 6], w: [5, 5, 6, 16], pad: 'same' },
  ];
  const rows: Row[] = [];
  for (const c of convs) {
    const x = randn(c.x) as tf.Tensor4D;
    const w = randn(c.w, 0.1) as tf.Tensor4D;
    const y = tf.keep(tf.conv2d(x, w, 1, c.pad));
    const dy = randn(y.shape);
    const flops = 2 * y.size * c.w[0]! * c.w[1]! * c.w[2]!;
    const attrs = { strides: 1, pad: c.pad, dataFormat: 'NHWC' };
    rows.push({ name: `Conv2D ${c.name}`, work: flops, unit: 'GFLOP/s', f: () => tf.conv2d(x, w, 1, c.pad) });
    rows.push({
      name: `  BackpropFilter`,
      work: flops,
      unit: 'GFLOP/s',
      f: () => tf.engine().runKernel('Conv2DBackpropFilter', { x, dy }, { ...attrs, filterShape: c.w } as never) as tf.Tensor,
    });
    rows.push({
      name: `  BackpropInput`,
      work: flops,
      unit: 'GFLOP/s',
      f: () =>
        tf.engine().runKernel('Conv2DBackpropInput', { dy, filter: w }, { ...attrs, inputShape: c.x } as never) as tf.Tensor,
    });
  }
  compareDirect('direct few-channel convolution (C library) vs im2col + sgemm, batch 256', rows);
}

// ---- Elementwise, reductions, pooling on conv1's activation [256,28,28,6] (1.2 M elements).
{
  const x = randn([256, 28, 28, 6]) as tf.Tensor4D;
  const bias = randn([6]);
  const n = x.size;
  const y = tf.keep(tf.maxPool(x, 2, 2, 'valid'));
  const dy = randn(y.shape);
  const y3 = tf.keep(tf.maxPool(x, 3, 2, 'valid'));
  const dy3 = randn(y3.shape);
  compare('elementwise / reduction / pooling on [256,28,28,6]', [
    { name: 'Relu', work: n, unit: 'Melem/s', f: () => tf.relu(x) },
    { name: 'Step (ReLU gradient mask)', work: n, unit: 'Melem/s', f: () => tf.step(x) },
    { name: 'Tanh', work: n, unit: 'Melem/s', f: () => tf.tanh(x) },
    { name: 'Exp', work: n, unit: 'Melem/s', f: () => tf.exp(x) },
    { name: 'Add bias [6] (broadcast)', work: n, unit: 'Melem/s', f: () => tf.add(x, bias) },
    { name: 'Multiply same shape', work: n, unit: 'Melem/s', f: () => tf.mul(x, x) },
    { name: 'Sum over [0,1,2] (bias gradient)', work: n, unit: 'Melem/s', f: () => tf.sum(x, [0, 1, 2]) },
    { name: 'MaxPool 2×2/2', work: n, unit: 'Melem/s', f: () => tf.maxPool(x, 2, 2, 'valid') },
    {
      name: 'MaxPoolGrad 2×2/2',
      work: n,
      unit: 'Melem/s',
      f: () =>
        tf.engine().runKernel('MaxPoolGrad', { dy, input: x, output: y }, {
          filterSize: 2,
          strides: 2,
          pad: 'valid',
        } as never) as tf.Tensor,
    },
    {
      name: 'MaxPoolGrad 3×3/2 (overlapping)',
      work: n,
      unit: 'Melem/s',
      f: () =>
        tf.engine().runKernel('MaxPoolGrad', { dy: dy3, input: x, output: y3 }, {
          filterSize: 3,
          strides: 2,
          pad: 'valid',
        } as never) as tf.Tensor,
    },
  ]);
  // specpipe's own routing kernel (no stock one): native only.
  const route = (): tf.Tensor =>
    tf
      .engine()
      .runKernel('SpecpipeMaxPoolRoute', { ddx: x, x }, { filterSize: 2, strides: 2, pad: 'valid' } as never) as tf.Tensor;
  const ms = bestMs(run(route));
  console.log(
    `${pad('SpecpipeMaxPoolRoute 2×2/2 (native only)', 44)} ${(n / ms / 1e3).toFixed(2)} Melem/s  (${ms.toFixed(2)} ms)`,
  );
}

// ---- OpenBLAS threads: 1 vs 2 on the MLP layer GEMM and conv2's filter-gradient GEMM.
{
  const blas = loadOpenBlas();
  if (blas.ok) {
    console.log('\n-- OpenBLAS threads (sgemm alone, row-major)');
    const shapes: [string, number, number, number][] = [
      ['[256,784]·[784,128]', 256, 128, 784],
      ['[150,25600]·[25600,16] (conv2 dW)', 150, 16, 25600],
      ['[1024,1024]·[1024,1024]', 1024, 1024, 1024],
    ];
    const was = blas.blas.getThreads();
    for (const [name, m, nn, k] of shapes) {
      const A = new Float32Array(m * k).fill(0.5);
      const B = new Float32Array(k * nn).fill(0.25);
      const C = new Float32Array(m * nn);
      const r: number[] = [];
      for (const t of [1, 2]) {
        blas.blas.setThreads(t);
        r.push(bestMs(() => blas.blas.sgemm(false, false, m, nn, k, 1, A, k, B, nn, 0, C, nn)));
      }
      const g = (ms: number): string => `${((2 * m * nn * k) / ms / 1e6).toFixed(1)} GFLOP/s`;
      console.log(`${pad(name, 44)} 1 thread ${pad(g(r[0]!), 16)} 2 threads ${pad(g(r[1]!), 16)} ${(r[0]! / r[1]!).toFixed(2)}×`);
    }
    blas.blas.setThreads(was);
  }
}

// ---- Whole gradient steps (forward + backward), MLP 784-128-64-10 and LeNet, batch 256.
{
  let gradientsReady = true;
  try {
    const { registerSecondOrderGradients } = await import('../src/curvature/secondOrderGradients.js');
    registerSecondOrderGradients();
  } catch (e) {
    gradientsReady = false;
    console.log(`\n(gradient steps skipped: registering gradients failed: ${e instanceof Error ? e.message : String(e)})`);
  }
  if (gradientsReady) {
    const B = 256;
    const labels = tf.keep(tf.oneHot(tf.randomUniform([B], 0, 10, 'int32', 3) as tf.Tensor1D, 10));
    const xFlat = randn([B, 784]);
    const xImg = tf.keep(tf.reshape(xFlat, [B, 28, 28, 1])) as tf.Tensor4D;
    // Cross-entropy through a plain log-softmax z − log Σ exp z (tf.logSoftmax's customGrad cannot be
    // differentiated twice; logits stay small here, so no max-shift is needed).
    const ce = (z: tf.Tensor): tf.Scalar =>
      tf.neg(tf.mean(tf.sum(tf.mul(labels, tf.sub(z, tf.log(tf.sum(tf.exp(z), 1, true)))), 1))) as tf.Scalar;
    const mlp = [randn([784, 128], 0.05), randn([128]), randn([128, 64], 0.1), randn([64]), randn([64, 10], 0.1), randn([10])];
    const mlpLoss = (...p: tf.Tensor[]): tf.Scalar => {
      let h = tf.relu(tf.add(tf.matMul(xFlat, p[0]!), p[1]!));
      h = tf.relu(tf.add(tf.matMul(h, p[2]!), p[3]!));
      return ce(tf.add(tf.matMul(h, p[4]!), p[5]!));
    };
    const lenet = [
      randn([5, 5, 1, 6], 0.2),
      randn([6]),
      randn([5, 5, 6, 16], 0.1),
      randn([16]),
      randn([400, 120], 0.05),
      randn([120]),
      randn([120, 84], 0.1),
      randn([84]),
      randn([84, 10], 0.1),
      randn([10]),
    ];
    const lenetLoss = (...p: tf.Tensor[]): tf.Scalar => {
      let h: tf.Tensor = tf.relu(tf.add(tf.conv2d(xImg, p[0] as tf.Tensor4D, 1, 'same'), p[1]!));
      h = tf.maxPool(h as tf.Tensor4D, 2, 2, 'valid');
      h = tf.relu(tf.add(tf.conv2d(h as tf.Tensor4D, p[2] as tf.Tensor4D, 1, 'valid'), p[3]!));
      h = tf.reshape(tf.maxPool(h as tf.Tensor4D, 2, 2, 'valid'), [B, 400]);
      h = tf.relu(tf.add(tf.matMul(h, p[4]!), p[5]!));
      h = tf.relu(tf.add(tf.matMul(h, p[6]!), p[7]!));
      return ce(tf.add(tf.matMul(h, p[8]!), p[9]!));
    };
    // Hess·v by reverse-over-reverse: ∇_θ ⟨∇_θ L, v⟩ (Pearlmutter 1994).
    const hvp = (loss: (...p: tf.Tensor[]) => tf.Scalar, params: tf.Tensor[]) => {
      const v = params.map((p) => tf.keep(tf.randomNormal(p.shape, 0, 1, 'float32', 11)));
      return () =>
        tf.grads((...p: tf.Tensor[]) => {
          const g = tf.grads(loss)(p);
          return tf.addN(g.map((gi, i) => tf.sum(tf.mul(gi, v[i]!)))) as tf.Scalar;
        })(params);
    };
    const lenetFlops = 2 * B * (784 * 25 * 6 + 100 * 150 * 16 + 400 * 120 + 120 * 84 + 84 * 10);
    const mlpFlops = 2 * B * (784 * 128 + 128 * 64 + 64 * 10);
    compare(
      'whole gradient steps, batch 256 (GFLOP/s counts forward GEMM work × 3 for a gradient)',
      [
        { name: 'MLP 784-128-64-10 gradient', work: 3 * mlpFlops, unit: 'GFLOP/s', f: () => tf.grads(mlpLoss)(mlp) },
        { name: 'MLP 784-128-64-10 Hess·v (grad of grad)', work: 8 * mlpFlops, unit: 'GFLOP/s', f: hvp(mlpLoss, mlp) },
        {
          name: 'LeNet (5×5 convs, max-pool) gradient',
          work: 3 * lenetFlops,
          unit: 'GFLOP/s',
          f: () => tf.grads(lenetLoss)(lenet),
        },
      ],
      1,
      true,
    );
    // Native only (stock LeNet Hess·v takes minutes): Hess·v ÷ gradient with the native kernels.
    console.log('\n-- native kernels: Hess·v (grad of grad) ÷ gradient, batch 256');
    for (const [name, loss, params] of [
      ['MLP 784-128-64-10', mlpLoss, mlp],
      ['LeNet', lenetLoss, lenet],
    ] as const) {
      const g = bestMs(run(() => tf.grads(loss)(params)));
      let h: number | string;
      try {
        h = bestMs(run(hvp(loss, params)));
      } catch (e) {
        h = (e instanceof Error ? e.message : String(e)).split('\n')[0]!;
      }
      console.log(
        `${pad(name, 44)} gradient ${g.toFixed(1)} ms, Hess·v ${typeof h === 'number' ? `${h.toFixed(1)} ms: ${(h / g).toFixed(2)}×` : `failed: ${h}`}`,
      );
    }
    compareDirect('LeNet whole steps, native kernels: direct few-channel convolution off vs on, batch 256', [
      { name: 'LeNet gradient', work: 3 * lenetFlops, unit: 'GFLOP/s', f: () => tf.grads(lenetLoss)(lenet) },
      { name: 'LeNet Hess·v (grad of grad)', work: 8 * lenetFlops, unit: 'GFLOP/s', f: hvp(lenetLoss, lenet) },
    ]);
  }
}
