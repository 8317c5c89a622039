/**
 * Where a curvature product's time goes (issue 14, item 2): one block Hess·v (8 vectors) and one gradient
 * over one batch, per kernel, for the MLP and LeNet of the PyTorch bench, VGG11 at width 0.25, and the PyTorch
 * bench's conv nets VGG11 and ResNet18 at width 0.125 (1×32×32) — each kernel's share of the summed kernel
 * time (tf.profile, wall time of every kernel call), its call count and its GFLOP/s where the kernel is a
 * matmul or a convolution.
 *   npm run bench profile          (SPECPIPE_BENCH_MODELS=mlp,lenet,vgg11,vgg11-0.125,densenet40-6,resnet18-0.125 to choose;
 *                                   SPECPIPE_BENCH_BATCH=N for another batch size than 256)
 * A profile, not a timing: the per-kernel wall times include the profiler's own bookkeeping.
 */
import * as tf from '@tensorflow/tfjs-core';
import { initBackend, backendId } from '../src/backend/backend.js';
import { buildNetwork } from '../src/nn/build.js';
import type { ModelSpec } from '../src/nn/network.js';
import { BatchCurvature } from '../src/curvature/batchCurvature.js';
import { unflattenParameters } from '../src/curvature/flatParameters.js';
import type { Split } from '../src/data/dataset.js';
import { sliceBatch } from '../src/data/batches.js';
import { Rng } from '../src/util/random.js';

tf.env().set('IS_TEST', true);
const BATCH = Number(process.env.SPECPIPE_BENCH_BATCH ?? 256);
const BLOCK = 8;

const MODELS: readonly { name: string; spec: ModelSpec; input: [number, number, number] }[] = [
  {
    name: 'mlp',
    spec: { kind: 'mlp', input: [1, 28, 28], hidden: [128, 64], activation: 'tanh', classes: 10 },
    input: [1, 28, 28],
  },
  {
    name: 'lenet',
    spec: { kind: 'lenet', input: [1, 28, 28], channels: [6, 16], hidden: 120, kernel: 5, classes: 10 },
    input: [1, 28, 28],
  },
  { name: 'vgg11', spec: { kind: 'vgg11', input: [1, 32, 32], width: 0.25, classes: 10 }, input: [1, 32, 32] },
  {
    name: 'vgg11-0.125',
    spec: { kind: 'vgg11', input: [1, 32, 32], width: 0.125, classes: 10 },
    input: [1, 32, 32],
  },
  {
    name: 'densenet40-6',
    spec: { kind: 'densenet40', input: [1, 32, 32], growth: 6, classes: 10 },
    input: [1, 32, 32],
  },
  {
    name: 'resnet18-0.125',
    spec: { kind: 'resnet18', input: [1, 32, 32], width: 0.125, classes: 10 },
    input: [1, 32, 32],
  },
];

function batchOf(input: readonly [number, number, number]): Split {
  const rng = new Rng(1);
  const size = input[0] * input[1] * input[2];
  return {
    images: Float32Array.from({ length: BATCH * size }, () => rng.uniform()),
    shape: [BATCH, ...input],
    labels: Int32Array.from({ length: BATCH }, () => rng.int(10)),
  };
}

interface KernelRecord {
  name: string;
  kernelTimeMs: number | { error: string };
  inputShapes: number[][];
  outputShapes: number[][];
}

function flops(k: KernelRecord): number {
  const size = (s: number[] | undefined): number => (s ?? []).reduce((a, b) => a * b, 1);
  const out = k.outputShapes[0] ?? [];
  const f = k.inputShapes[1] ?? [];
  switch (k.name) {
    case 'BatchMatMul':
    case '_FusedMatMul': {
      const rows = size(out) / (out[out.length - 1] ?? 1);
      return 2 * size(out) * (size(k.inputShapes[0]) / rows);
    }
    case 'Conv2D':
    case 'FusedConv2D':
      return 2 * size(out) * (f[0] ?? 1) * (f[1] ?? 1) * (f[2] ?? 1);
    case 'Conv2DBackpropInput':
      return 2 * size(k.inputShapes[0]) * (f[0] ?? 1) * (f[1] ?? 1) * (f[2] ?? 1);
    case 'Conv2DBackpropFilter':
      return (2 * size(k.inputShapes[1]) * size(out)) / (out[3] ?? 1);
    default:
      return 0;
  }
}

async function profileOf(label: string, run: () => unknown): Promise<void> {
  run(); // warm-up
  const prof = await tf.profile(() => {
    run();
  });
  const byName = new Map<string, { ms: number; calls: number; flops: number }>();
  let total = 0;
  for (const k of prof.kernels as unknown as KernelRecord[]) {
    const ms = typeof k.kernelTimeMs === 'number' ? k.kernelTimeMs : 0;
    total += ms;
    const e = byName.get(k.name) ?? { ms: 0, calls: 0, flops: 0 };
    e.ms += ms;
    e.calls += 1;
    e.flops += flops(k);
    byName.set(k.name, e);
  }
  console.log(`  ${label}: ${total.toFixed(0)} ms in kernels`);
  for (const [name, e] of [...byName.entries()]
    .sort((a, b) => b[1].ms - a[1].ms)
    .slice(0, Number(process.env.SPECPIPE_BENCH_TOP ?? 10))) {
    const gflops = e.flops > 0 && e.ms > 0 ? `  ${(e.flops / 1e6 / e.ms).toFixed(1).padStart(6)} GFLOP/s` : '';
    console.log(
      `    ${name.padEnd(22)} ${((100 * e.ms) / total).toFixed(1).padStart(5)}%  ${e.ms.toFixed(1).padStart(8)} ms  ${String(e.calls).padStart(5)} calls${gflops}`,
    );
  }
}

async function main(): Promise<void> {
  const info = await initBackend('auto');
  console.log(`backend ${backendId(info)}: one batch of ${BATCH}, Hess·v on a block of ${BLOCK} vectors`);
  const only = process.env.SPECPIPE_BENCH_MODELS?.split(',');
  for (const m of MODELS) {
    if (only !== undefined && !only.includes(m.name)) continue;
    const network = buildNetwork(m.spec);
    const { params, buffers } = network.init(0);
    const bc = new BatchCurvature(network, params, buffers, 'cross-entropy');
    const batch = sliceBatch(batchOf(m.input), 0, BATCH);
    const size = network.params.reduce((a, p) => a + p.shape.reduce((x, y) => x * y, 1), 0);
    const rng = new Rng(2);
    const vs = Array.from({ length: BLOCK }, () =>
      unflattenParameters(
        Float64Array.from({ length: size }, () => rng.normal()),
        network.params,
      ),
    );
    console.log(`${m.name} (P = ${size})`);
    await profileOf('gradient', () => bc.gradientSum(batch));
    await profileOf(`Hess·v ×${BLOCK}`, () => bc.hessianVectorSums(batch, vs));
    for (const v of vs) tf.dispose(v);
  }
}

await main();
