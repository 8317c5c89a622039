/**
 * specpipe against PyTorch, side by side in one run (issue "Faster than PyTorch…", item 1): the same
 * weights (a checkpoint written with saveCheckpoint, loaded in PyTorch with load_state_dict(strict=True))
 * and the same 4,096 MNIST digits (a raw float32 file), MLP 784-128-64-10 (tanh) and LeNet 6-16-120
 * (k5), batches of 256, one thread on each side (SPECPIPE_BLAS_THREADS default 1, torch.set_num_threads(1)):
 * seconds per full-data gradient, Hess·v (PyTorch: double backward), G·v (PyTorch: J v by the
 * double-vjp trick, then a VJP) and an SLQ job of 8 start vectors × 32 Lanczos steps of Hess (specpipe:
 * slqDensity, start vectors in lockstep so their products go in blocks; PyTorch: one start vector
 * after another). Single products: best of 3 after a warm-up; SLQ: once.
 *   npm run bench torch      (SPECPIPE_BENCH_QUICK=1: 1,024 digits, 8 × 8 steps, best of 2)
 * PyTorch runs under /usr/bin/python3 (Debian's python3-torch; SPECPIPE_TORCH_PYTHON overrides);
 * without `import torch` the bench says so and is skipped. The checks (loss, ‖g‖, ĝᵀHess ĝ, ĝᵀG ĝ
 * with ĝ = g/‖g‖) are layout-independent and must agree to float32 accuracy; the largest SLQ node only
 * roughly (each side draws its own start vectors).
 */
import * as tf from '@tensorflow/tfjs-core';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { initBackend, backendId } from '../src/backend/backend.js';
import { buildNetwork } from '../src/nn/build.js';
import type { ModelSpec } from '../src/nn/network.js';
import { saveCheckpoint } from '../src/nn/checkpoint.js';
import { Curvature } from '../src/curvature/curvatureOperators.js';
import { loadMnist } from '../src/data/mnist.js';
import { prepareData } from '../src/train/prepare.js';
import { slqDensity } from '../src/linalg/slq.js';
import type { Split } from '../src/data/dataset.js';

const QUICK = process.env.SPECPIPE_BENCH_QUICK === '1';
const SAMPLES = QUICK ? 1024 : 4096;
const BATCH = 256;
const SLQ_VECTORS = 8;
const SLQ_STEPS = QUICK ? 8 : 32;
const REPEATS = QUICK ? 2 : 3;
const PYTHON = process.env.SPECPIPE_TORCH_PYTHON ?? '/usr/bin/python3';
const SCRIPT = fileURLToPath(new URL('../../bench/torch_products.py', import.meta.url));
tf.env().set('IS_TEST', true);

const MODELS: readonly { name: string; spec: ModelSpec }[] = [
  { name: 'mlp 784-128-64-10', spec: { kind: 'mlp', input: [1, 28, 28], hidden: [128, 64], activation: 'tanh', classes: 10 } },
  {
    name: 'lenet 6-16-120 k5',
    spec: { kind: 'lenet', input: [1, 28, 28], channels: [6, 16], hidden: 120, kernel: 5, classes: 10 },
  },
];

type Job = 'gradient' | 'hessian' | 'ggn' | 'slq';
const JOBS: readonly Job[] = ['gradient', 'hessian', 'ggn', 'slq'];
interface Side {
  readonly seconds: Record<Job, number>;
  readonly checks: Record<string, number>;
}

const probe = spawnSync(PYTHON, ['-c', 'import torch, numpy; print(torch.__version__)'], { encoding: 'utf8' });
if (probe.status !== 0) {
  console.log(
    `skipped: ${PYTHON} cannot import torch (${(probe.stderr || String(probe.error ?? '')).trim().split('\n').pop()}); ` +
      `install Debian's python3-torch or set SPECPIPE_TORCH_PYTHON to a Python with torch and numpy`,
  );
  process.exit(0);
}

const info = await initBackend('auto');
const digits = prepareData(loadMnist({ seed: 0, testPerClass: 10, trainPerClass: Math.ceil(SAMPLES / 10) + 1 })).train;
const per = digits.shape.slice(1).reduce((a, b) => a * b, 1);
const [, channels, height, width] = digits.shape;
const data: Split = {
  images: digits.images.slice(0, SAMPLES * per),
  shape: [SAMPLES, channels, height, width],
  labels: digits.labels.slice(0, SAMPLES),
};
const dir = mkdtempSync(join(tmpdir(), 'specpipe-torch-bench-'));
process.on('exit', () => rmSync(dir, { recursive: true, force: true }));
writeFileSync(join(dir, 'images.f32'), new Uint8Array(data.images.buffer, data.images.byteOffset, data.images.byteLength));
writeFileSync(join(dir, 'labels.i32'), new Uint8Array(data.labels.buffer, data.labels.byteOffset, data.labels.byteLength));

console.log(
  `specpipe ${backendId(info)} vs PyTorch ${probe.stdout.trim()} (${PYTHON}), one thread each; ${SAMPLES} MNIST digits, batches of ${BATCH}; ` +
    `SLQ ${SLQ_VECTORS} × ${SLQ_STEPS} steps; load average ${loadavg()
      .map((x) => x.toFixed(1))
      .join(' ')}`,
);

async function specpipeSide(spec: ModelSpec, path: string): Promise<Side> {
  const network = buildNetwork(spec);
  const { params, buffers } = network.init(0);
  saveCheckpoint(path, network, params, buffers, { mean: [0], std: [1], pad: 0 });
  const curvature = await Curvature.open({ network, params, buffers, data, loss: 'cross-entropy' }, { batchSize: BATCH });
  const hess = curvature.operator('hessian');
  const ggn = curvature.operator('ggn');
  const g = await curvature.fullGradient();
  let gn = 0;
  for (const x of g) gn += x * x;
  gn = Math.sqrt(gn);
  const u = g.map((x) => x / gn);
  const quad = (y: Float64Array): number => y.reduce((s, x, i) => s + x * u[i]!, 0);
  const checks = { gradNorm: gn, gHg: quad(await hess.matvec(u)), gGg: quad(await ggn.matvec(u)) };
  const best = async (f: () => Promise<unknown>): Promise<number> => {
    await f();
    let t = Infinity;
    for (let r = 0; r < REPEATS; r++) {
      const t0 = performance.now();
      await f();
      t = Math.min(t, (performance.now() - t0) / 1000);
    }
    return t;
  };
  const seconds = {
    gradient: await best(() => curvature.fullGradient()),
    hessian: await best(() => hess.matvec(u)),
    ggn: await best(() => ggn.matvec(u)),
    slq: NaN,
  };
  const t0 = performance.now();
  const slq = await slqDensity(hess, { steps: SLQ_STEPS, startVectors: SLQ_VECTORS, seed: 0, gridSize: 64 });
  seconds.slq = (performance.now() - t0) / 1000;
  let top = -Infinity;
  for (const x of slq.measure.nodes) top = Math.max(top, x);
  tf.dispose([...params, ...buffers]);
  await curvature.close();
  return { seconds, checks: { ...checks, slqTop: top } };
}

function torchSide(spec: ModelSpec): Side {
  writeFileSync(
    join(dir, 'config.json'),
    JSON.stringify({
      spec,
      samples: SAMPLES,
      shape: data.shape.slice(1),
      batch: BATCH,
      repeats: REPEATS,
      threads: 1,
      slqSteps: SLQ_STEPS,
      slqVectors: SLQ_VECTORS,
    }),
  );
  const r = spawnSync(PYTHON, [SCRIPT, dir], { encoding: 'utf8', maxBuffer: 1 << 24 });
  if (r.status !== 0) throw new Error(`${PYTHON} ${SCRIPT} failed (exit ${r.status}): ${r.stderr.trim()}`);
  return JSON.parse(r.stdout.trim().split('\n').pop()!) as Side;
}

const fmt = (s: number): string => (s < 10 ? s.toFixed(3) : s.toFixed(1)).padStart(9);
for (const m of MODELS) {
  const sp = await specpipeSide(m.spec, join(dir, 'model.safetensors'));
  const pt = torchSide(m.spec);
  console.log(`\n  ${m.name}`);
  console.log(`    ${'job'.padEnd(26)} ${'specpipe s'.padStart(10)} ${'PyTorch s'.padStart(10)}  specpipe/PyTorch`);
  const label: Record<Job, string> = {
    gradient: 'full-data gradient',
    hessian: 'Hess·v',
    ggn: 'G·v',
    slq: `SLQ ${SLQ_VECTORS} × ${SLQ_STEPS} steps`,
  };
  for (const j of JOBS)
    console.log(
      `    ${label[j].padEnd(26)} ${fmt(sp.seconds[j])}  ${fmt(pt.seconds[j])}  ${(sp.seconds[j] / pt.seconds[j]).toFixed(2).padStart(8)}×`,
    );
  const c = (k: string): string =>
    `${k} ${sp.checks[k]!.toPrecision(6)} / ${pt.checks[k]!.toPrecision(6)} (rel. diff ${(Math.abs(sp.checks[k]! - pt.checks[k]!) / Math.abs(pt.checks[k]!)).toExponential(1)})`;
  console.log(`    checks specpipe / PyTorch: ${['gradNorm', 'gHg', 'gGg', 'slqTop'].map(c).join('; ')}`);
}
console.log(`\n  (load average now ${loadavg()[0]!.toFixed(1)}; a shared machine: rerun when idle for final numbers)`);
