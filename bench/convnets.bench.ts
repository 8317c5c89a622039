/**
 * Seconds per 1,000 samples of each curvature product for the paper's conv nets on Fashion-MNIST-sized
 * inputs padded to 1×32×32 (issue 13, item 4: what a paper-scale pipeline can afford), side by side in one
 * run: gradient, and Hess·v, G·v, H·v per vector in blocks of 1 and 8, with the kernels' GFLOP/s.
 *   npm run bench convnets        (SPECPIPE_BENCH_QUICK=1: fewer samples and one repeat, for a smoke run)
 * Timing: best of REPEATS full-data products after an untimed round, on 512 random samples (pixel values
 * do not change the cost), batches of 128. Per-1,000-sample seconds scale linearly with the sample count.
 */
import * as tf from '@tensorflow/tfjs-core';
import { initBackend, backendId } from '../src/backend/backend.js';
import { buildNetwork } from '../src/nn/build.js';
import type { ModelSpec } from '../src/nn/network.js';
import { Curvature } from '../src/curvature/curvatureOperators.js';
import type { Split } from '../src/data/dataset.js';
import { Rng } from '../src/util/random.js';

const QUICK = process.env.SPECPIPE_BENCH_QUICK === '1';
const SAMPLES = QUICK ? 128 : 512;
const BATCH = 128;
const REPEATS = QUICK ? 1 : 2;
const BLOCK = 8;
tf.env().set('IS_TEST', true);

const input: [number, number, number] = [1, 32, 32];
const MODELS: readonly { name: string; spec: ModelSpec }[] = [
  { name: 'vgg11 width 0.125', spec: { kind: 'vgg11', input, width: 0.125, classes: 10 } },
  { name: 'vgg11 width 0.25', spec: { kind: 'vgg11', input, width: 0.25, classes: 10 } },
  { name: 'vgg11 width 0.5', spec: { kind: 'vgg11', input, width: 0.5, classes: 10 } },
  { name: 'resnet18 width 0.125', spec: { kind: 'resnet18', input, width: 0.125, classes: 10 } },
  { name: 'resnet18 width 0.25', spec: { kind: 'resnet18', input, width: 0.25, classes: 10 } },
  { name: 'resnet18 width 0.5', spec: { kind: 'resnet18', input, width: 0.5, classes: 10 } },
  { name: 'densenet40 growth 6', spec: { kind: 'densenet40', input, growth: 6, classes: 10 } },
  { name: 'densenet40 growth 12', spec: { kind: 'densenet40', input, growth: 12, classes: 10 } },
];

function data(n: number): Split {
  const rng = new Rng(1);
  return {
    images: Float32Array.from({ length: n * 1024 }, () => rng.uniform()),
    shape: [n, ...input],
    labels: Int32Array.from({ length: n }, () => rng.int(10)),
  };
}

type Product = 'gradient' | 'hessian' | 'ggn' | 'residual';

async function main(): Promise<void> {
  const info = await initBackend('auto');
  console.log(`backend ${backendId(info)}: ${SAMPLES} samples 1×32×32, batches of ${BATCH}; seconds per 1,000 samples`);
  const split = data(SAMPLES);
  const only = process.env.SPECPIPE_BENCH_MODELS;
  for (const m of MODELS) {
    if (only !== undefined && !only.split(',').some((s) => m.name.startsWith(s))) continue;
    const network = buildNetwork(m.spec);
    const { params, buffers } = network.init(0);
    const curvature = await Curvature.open(
      { network, params, buffers, data: split, loss: 'cross-entropy' },
      { batchSize: BATCH },
    );
    const rng = new Rng(2);
    const vs = Array.from({ length: BLOCK }, () => Float64Array.from({ length: curvature.size }, () => rng.normal()));
    const full = (p: Product, k: number): Promise<unknown> =>
      p === 'gradient' ? curvature.fullGradient() : curvature.operator(p).matmat(vs.slice(0, k));
    const cells: [Product, number][] = [['gradient', 1]];
    for (const p of ['hessian', 'ggn', 'residual'] as const) for (const k of [1, BLOCK]) cells.push([p, k]);
    for (const [p, k] of cells) await full(p, k); // untimed round
    const best = new Map<string, number>();
    for (let r = 0; r < REPEATS; r++)
      for (const [p, k] of cells) {
        const t0 = performance.now();
        await full(p, k);
        const t = (performance.now() - t0) / 1000 / k;
        best.set(`${p}/${k}`, Math.min(best.get(`${p}/${k}`) ?? Infinity, t));
      }
    const per1000 = (key: string): string => ((best.get(key)! * 1000) / SAMPLES).toFixed(2).padStart(7);
    console.log(`  ${m.name.padEnd(22)} P = ${String(curvature.size).padStart(9)}  gradient ${per1000('gradient/1')} s`);
    for (const p of ['hessian', 'ggn', 'residual'] as const)
      console.log(`    ${p.padEnd(9)} ×1 ${per1000(`${p}/1`)} s   ×${BLOCK} ${per1000(`${p}/${BLOCK}`)} s per vector`);
    await curvature.close();
  }
}

await main();
