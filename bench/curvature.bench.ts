/**
 * Curvature products against a gradient, measured side by side in one run on the same data
 * (issue 3, item 4): Hess·v ÷ gradient, G·v ÷ gradient, H·v ÷ gradient — for a single vector and
 * per vector of a block of 8 (SLQ's start vectors in lockstep share each batch's forward pass) —, GFLOP/s achieved
 * (FLOPs of every BatchMatMul / Conv2D / Conv2DBackpropInput / Conv2DBackpropFilter kernel
 * actually run, counted with tf.profile on one batch), and the 1 → 2 worker speed-up, per
 * backend, for an MLP 784-128-64-10 and `lenet` on 4,096 MNIST-sized samples in batches of 256.
 *   npm run bench curvature            (SPECPIPE_BENCH_QUICK=1: 1,024 samples, for a smoke run)
 * Timing: best of 5 (quick: 2) full-data products after a warm-up batch, the products taken in
 * turn (the machine is shared). GFLOP counts the kernels of one vector (a block's over its size).
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
/** Vectors per block product: 1 (a single product) and BLOCK (SLQ's start vectors in lockstep). */
const BLOCK = 8;
const BLOCKS = [1, BLOCK] as const;

async function runBackend(choice: BackendChoice): Promise<void> {
  const info = await initBackend(choice);
  console.log(
    `\nbackend ${backendId(info)}: ${SAMPLES} samples, batches of ${BATCH}; per-vector times for blocks of 1 and ${BLOCK} vectors`,
  );
  const split = data(SAMPLES);
  for (const m of MODELS) {
    const network = buildNetwork(m.spec);
    const { params, buffers } = network.init(0);
    const curvature = await Curvature.open(
      { network, params, buffers, data: split, loss: 'cross-entropy' },
      { batchSize: BATCH },
    );
    const rng = new Rng(2);
    const vs = Array.from({ length: BLOCK }, () => Float64Array.from({ length: curvature.size }, () => rng.normal()));
    const v = vs[0]!;
    // FLOPs per vector, from the kernels one batch runs
    const batch = sliceBatch(split, 0, BATCH);
    const bc = new BatchCurvature(network, params, buffers, 'cross-entropy');
    const vts = vs.map((x) => unflattenParameters(x, network.params));
    const flops = new Map<string, number>();
    const perBatch = (p: Product, k: number): (() => unknown) =>
      p === 'gradient'
        ? () => bc.gradientSum(batch)
        : p === 'hessian'
          ? () => bc.hessianVectorSums(batch, vts.slice(0, k))
          : p === 'ggn'
            ? () => bc.ggnVectorSums(batch, vts.slice(0, k))
            : () => bc.residualVectorSums(batch, vts.slice(0, k));
    for (const p of PRODUCTS)
      for (const k of p === 'gradient' ? [1] : BLOCKS) {
        const run = perBatch(p, k);
        run(); // warm-up
        const prof = await tf.profile(() => {
          run();
        });
        flops.set(`${p}/${k}`, (prof.kernels.reduce((s, kr) => s + kernelFlops(kr as never), 0) * SAMPLES) / BATCH / k);
      }
    tf.dispose(vts);
    const op = {
      hessian: curvature.operator('hessian'),
      ggn: curvature.operator('ggn'),
      residual: curvature.operator('residual'),
    };
    // Round-robin over the products, best of REPEATS each: load spikes on the shared machine then
    // hit every product alike instead of whichever was being timed.
    const full = (p: Product, k: number): Promise<unknown> =>
      p === 'gradient' ? curvature.fullGradient() : op[p].matmat(vs.slice(0, k));
    const time = new Map<string, number>();
    // An untimed round first: this VM pays ~19 µs per first-touched page, and the heap settles only
    // after a few dozen batches.
    for (const p of PRODUCTS) await full(p, p === 'gradient' ? 1 : BLOCK);
    for (let r = 0; r < REPEATS; r++) {
      for (const p of PRODUCTS)
        for (const k of p === 'gradient' ? [1] : BLOCKS) {
          const t0 = performance.now();
          await full(p, k);
          const t = (performance.now() - t0) / 1000 / k;
          time.set(`${p}/${k}`, Math.min(time.get(`${p}/${k}`) ?? Infinity, t));
        }
    }
    const tg = time.get('gradient/1')!;
    console.log(`  ${m.name} (P = ${curvature.size})`);
    for (const p of PRODUCTS)
      for (const k of p === 'gradient' ? [1] : BLOCKS) {
        const t = time.get(`${p}/${k}`)!;
        const f = flops.get(`${p}/${k}`)!;
        const label = p === 'gradient' ? p : `${p} ×${k}`;
        const ratio = p === 'gradient' ? '' : `  ${(t / tg).toFixed(2)}× gradient`;
        console.log(
          `    ${label.padEnd(12)} ${(t * 1000).toFixed(0).padStart(7)} ms  ${(f / 1e9).toFixed(2).padStart(6)} GFLOP  ${(f / 1e9 / t).toFixed(1).padStart(6)} GFLOP/s${ratio}`,
        );
      }
    const flopsHessian = flops.get(`hessian/${BLOCK}`)!;
    // The same per-batch products, plain tf.grads (network re-run for G·v's VJP, zero-derivative
    // inputs back-propagated) against the recorded tape (BatchCurvature.shareForward), side by side.
    if (bc.shareForward) {
      const batches = Array.from({ length: SAMPLES / BATCH }, (_, k) => sliceBatch(split, k * BATCH, (k + 1) * BATCH));
      const vt2 = unflattenParameters(v, network.params);
      const allBatches = (p: Product): void => {
        for (const b of batches) {
          if (p === 'hessian') bc.hessianVectorSum(b, vt2);
          else if (p === 'ggn') bc.ggnVectorSum(b, vt2);
          else bc.residualVectorSums(b, [vt2]);
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
        const par = await Curvature.open(
          {
            network,
            params,
            buffers,
            data: split,
            loss: 'cross-entropy',
          },
          { batchSize: BATCH, workers, backend: choice },
        );
        await par.operator('hessian').matmat(vs); // warm-up (JIT, scratch buffers)
        pars.push(par);
      }
      for (let r = 0; r < REPEATS; r++) {
        // alternating 1 and 2 workers, best of REPEATS each
        for (let k = 0; k < 2; k++) {
          const t0 = performance.now();
          await pars[k]!.operator('hessian').matmat(vs);
          t[k] = Math.min(t[k]!, (performance.now() - t0) / 1000 / BLOCK);
        }
      }
      for (const par of pars) await par.close();
      console.log(
        `    Hess·v ×${BLOCK} over worker threads, per vector: 1 worker ${(t[0]! * 1000).toFixed(0)} ms (${(flopsHessian / 1e9 / t[0]!).toFixed(1)} GFLOP/s), ` +
          `2 workers ${(t[1]! * 1000).toFixed(0)} ms (${(flopsHessian / 1e9 / t[1]!).toFixed(1)} GFLOP/s): speed-up ${(t[0]! / t[1]!).toFixed(2)}×`,
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
