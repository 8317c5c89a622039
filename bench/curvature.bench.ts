/**
 * Curvature products against a gradient, measured side by side in one run on the same data
 * (issue 3, item 4): Hess·v ÷ gradient, G·v ÷ gradient, H·v ÷ gradient, GFLOP/s achieved
 * (FLOPs of every BatchMatMul / Conv2D / Conv2DBackpropInput / Conv2DBackpropFilter kernel
 * actually run, counted with tf.profile on one batch), and the 1 → 2 worker speed-up, per
 * backend, for an MLP 784-128-64-10 and `lenet` on 4,096 MNIST-sized samples in batches of 256.
 *   npm run bench curvature            (SPECPIPE_BENCH_QUICK=1: 1,024 samples, for a smoke run)
 * Timing: best of 5 (quick: 2) full-data products after a warm-up batch, the products taken in
 * turn (the machine is shared).
 * Also, side by side: each second-order product with plain tf.grads and with the recorded tape
 * (src/curvature/sharedTape.ts: G·v's VJP reuses the J·v forward pass, zero-derivative inputs
 * are skipped), and Hess·v GFLOP/s on 1 and 2 worker threads (the 2-core goal).
 */
import * as tf from '@tensorflow/tfjs-core';
import { initBackend, backendId, type BackendChoice } from '../src/backend/backend.js';
import { buildNetwork } from '../src/nn/build.js';
import type { ModelSpec } from '../src/nn/network.js';
import { Curvature } from '../src/curvature/curvatureOperators.js';
import { BatchCurvature } from '../src/curvature/batchCurvature.js';
import { sliceBatch } from '../src/data/batches.js';
import { unflattenParameters } from '../src/curvature/flatParameters.js';
import type { Split } from '../src/data/dataset.js';
import { Rng } from '../src/util/random.js';

const QUICK = process.env.SPECPIPE_BENCH_QUICK === '1';
const SAMPLES = QUICK ? 1024 : 4096;
const BATCH = 256;
tf.env().set('IS_TEST', true);

const MODELS: readonly { name: string; spec: ModelSpec }[] = [
  { name: 'mlp 784-128-64-10', spec: { kind: 'mlp', input: [1, 28, 28], hidden: [128, 64], activation: 'tanh', classes: 10 } },
  {
    name: 'lenet 1×28×28 6-16-120',
    spec: { kind: 'lenet', input: [1, 28, 28], channels: [6, 16], hidden: 120, kernel: 5, classes: 10 },
  },
];

/** MNIST-sized random data (pixel statistics do not change the cost). */
function data(n: number): Split {
  const rng = new Rng(1);
  return {
    images: Float32Array.from({ length: n * 784 }, () => rng.uniform()),
    shape: [n, 1, 28, 28],
    labels: Int32Array.from({ length: n }, () => rng.int(10)),
  };
}

/** FLOPs of the matmul/conv kernels in a tf.profile record. */
function kernelFlops(k: { name: string; inputShapes: number[][]; outputShapes: number[][] }): number {
  const size = (s: number[] | undefined): number => (s ?? []).reduce((a, b) => a * b, 1);
  const out = k.outputShapes[0] ?? [];
  switch (k.name) {
    case 'BatchMatMul':
    case '_FusedMatMul': {
      const a = k.inputShapes[0] ?? [];
      const rows = size(out) / (out[out.length - 1] ?? 1); // b·m
      const kdim = size(a) / rows;
      return 2 * size(out) * kdim;
    }
    case 'Conv2D':
    case 'FusedConv2D': {
      const f = k.inputShapes[1] ?? [];
      return 2 * size(out) * (f[0] ?? 1) * (f[1] ?? 1) * (f[2] ?? 1);
    }
    case 'Conv2DBackpropInput': {
      const f = k.inputShapes[1] ?? [];
      return 2 * size(k.inputShapes[0]) * (f[0] ?? 1) * (f[1] ?? 1) * (f[2] ?? 1);
    }
    case 'Conv2DBackpropFilter':
      return (2 * size(k.inputShapes[1]) * size(out)) / (out[3] ?? 1);
    default:
      return 0;
  }
}

const REPEATS = QUICK ? 2 : 5;

type Product = 'gradient' | 'hessian' | 'ggn' | 'residual';
const PRODUCTS: readonly Product[] = ['gradient', 'hessian', 'ggn', 'residual'];

async function runBackend(choice: BackendChoice): Promise<void> {
  const info = await initBackend(choice);
  console.log(`\nbackend ${backendId(info)}: ${SAMPLES} samples, batches of ${BATCH}`);
  const split = data(SAMPLES);
  for (const m of MODELS) {
    const network = buildNetwork(m.spec);
    const { params, buffers } = network.init(0);
    const curvature = await Curvature.open({ network, params, buffers, data: split, loss: 'cross-entropy', batchSize: BATCH });
    const rng = new Rng(2);
    const v = Float64Array.from({ length: curvature.size }, () => rng.normal());
    // FLOPs per product, from the kernels one batch runs
    const batch = sliceBatch(split, 0, BATCH);
    const bc = new BatchCurvature(network, params, buffers, 'cross-entropy');
    const vt = unflattenParameters(v, network.params);
    const flops: Record<Product, number> = { gradient: 0, hessian: 0, ggn: 0, residual: 0 };
    const run: Record<Product, () => unknown> = {
      gradient: () => bc.gradientSum(batch),
      hessian: () => bc.hessianVectorSum(batch, vt),
      ggn: () => bc.ggnVectorSum(batch, vt),
      residual: () => bc.hessianAndGgnVectorSum(batch, vt),
    };
    for (const p of PRODUCTS) {
      run[p](); // warm-up
      const prof = await tf.profile(() => {
        run[p]();
      });
      flops[p] = (prof.kernels.reduce((s, k) => s + kernelFlops(k as never), 0) * SAMPLES) / BATCH;
    }
    tf.dispose(vt);
    const time: Record<Product, number> = { gradient: 0, hessian: 0, ggn: 0, residual: 0 };
    const op = {
      hessian: curvature.operator('hessian'),
      ggn: curvature.operator('ggn'),
      residual: curvature.operator('residual'),
    };
    // Round-robin over the products, best of REPEATS each: load spikes on the shared machine then
    // hit every product alike instead of whichever was being timed.
    const full: Record<Product, () => Promise<unknown>> = {
      gradient: () => curvature.fullGradient(),
      hessian: () => op.hessian.matvec(v),
      ggn: () => op.ggn.matvec(v),
      residual: () => op.residual.matvec(v),
    };
    for (const p of PRODUCTS) time[p] = Infinity;
    for (let r = 0; r < REPEATS; r++) {
      for (const p of PRODUCTS) {
        const t0 = performance.now();
        await full[p]();
        time[p] = Math.min(time[p], (performance.now() - t0) / 1000);
      }
    }
    console.log(`  ${m.name} (P = ${curvature.size})`);
    for (const p of PRODUCTS) {
      const ratio = p === 'gradient' ? '' : `  ${(time[p] / time.gradient).toFixed(2)}× gradient`;
      console.log(
        `    ${p.padEnd(9)} ${(time[p] * 1000).toFixed(0).padStart(7)} ms  ${(flops[p] / 1e9).toFixed(2).padStart(6)} GFLOP  ${(flops[p] / 1e9 / time[p]).toFixed(1).padStart(6)} GFLOP/s${ratio}`,
      );
    }
    // The same per-batch products, plain tf.grads (network re-run for G·v's VJP, zero-derivative
    // inputs back-propagated) against the recorded tape (BatchCurvature.shareForward), side by side.
    if (bc.shareForward) {
      const batches = Array.from({ length: SAMPLES / BATCH }, (_, k) => sliceBatch(split, k * BATCH, (k + 1) * BATCH));
      const vt2 = unflattenParameters(v, network.params);
      const allBatches = (p: Product): void => {
        for (const b of batches) {
          if (p === 'hessian') bc.hessianVectorSum(b, vt2);
          else if (p === 'ggn') bc.ggnVectorSum(b, vt2);
          else bc.hessianAndGgnVectorSum(b, vt2);
        }
      };
      const cells: string[] = [];
      for (const p of ['hessian', 'ggn', 'residual'] as const) {
        let plain = Infinity;
        let taped = Infinity;
        for (let r = 0; r < REPEATS; r++) {
          // alternating, best of REPEATS each
          for (const share of [false, true]) {
            bc.shareForward = share;
            const t0 = performance.now();
            allBatches(p);
            const t = (performance.now() - t0) / 1000;
            if (share) taped = Math.min(taped, t);
            else plain = Math.min(plain, t);
          }
        }
        cells.push(`${p} ${(plain * 1000).toFixed(0)} → ${(taped * 1000).toFixed(0)} ms (${(plain / taped).toFixed(2)}×)`);
      }
      bc.shareForward = true;
      tf.dispose(vt2);
      console.log(`    plain tf.grads → recorded tape, in-process over all batches: ${cells.join(', ')}`);
    }
    if (choice === 'cpu') {
      const t = [Infinity, Infinity];
      const pars = [];
      for (const workers of [1, 2]) {
        const par = await Curvature.open({
          network,
          params,
          buffers,
          data: split,
          loss: 'cross-entropy',
          batchSize: BATCH,
          workers,
          backend: choice,
        });
        await par.operator('hessian').matvec(v); // warm-up (JIT, scratch buffers)
        pars.push(par);
      }
      for (let r = 0; r < REPEATS; r++) {
        // alternating 1 and 2 workers, best of REPEATS each
        for (let k = 0; k < 2; k++) {
          const t0 = performance.now();
          await pars[k]!.operator('hessian').matvec(v);
          t[k] = Math.min(t[k]!, (performance.now() - t0) / 1000);
        }
      }
      for (const par of pars) await par.close();
      console.log(
        `    Hess·v over worker threads: 1 worker ${(t[0]! * 1000).toFixed(0)} ms (${(flops.hessian / 1e9 / t[0]!).toFixed(1)} GFLOP/s), ` +
          `2 workers ${(t[1]! * 1000).toFixed(0)} ms (${(flops.hessian / 1e9 / t[1]!).toFixed(1)} GFLOP/s): speed-up ${(t[0]! / t[1]!).toFixed(2)}×`,
      );
    }
    tf.dispose([...params, ...buffers]);
  }
}

for (const choice of ['cpu', 'wasm'] as const) {
  try {
    await runBackend(choice);
  } catch (e) {
    console.log(`backend ${choice}: not measured (${e instanceof Error ? e.message : String(e)})`);
  }
}
