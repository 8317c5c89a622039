/**
 * specpipe against PyTorch, side by side in one run (issue 14, items 1, 2 and 4): the same weights (a checkpoint written
 * with saveCheckpoint, loaded in PyTorch with load_state_dict(strict=True)) and the same images (a raw float32 file),
 * seconds per full-data gradient, Hess·v (PyTorch: double backward), G·v (PyTorch: J v by the double-vjp trick, then a
 * VJP) and an SLQ job of 8 start vectors × m Lanczos steps of Hess (specpipe: slqDensity, start vectors in lockstep so
 * their products go in blocks, each batch's recorded pass kept for the session; PyTorch: one start vector after another,
 * every product a fresh double backward, as PyHessian's full-data products). Hess·v and G·v twice: each product
 * recording every batch's forward and first backward pass again (specpipe with recordingBudget 0; PyTorch's double
 * backward), and "kept record": that pass kept from a first call (specpipe's default, src/curvature/recordingCache.ts;
 * PyTorch: create_graph once per batch, retain_graph after). Single products: best of 3 after a warm-up;
 * SLQ: once. Batches of 256. Models, each with its own sample count and m (header of its table):
 *   MLP 784-128-64-10 (tanh), LeNet 6-16-120 (k5): 4,096 MNIST digits, m = 32;
 *   VGG11 (BN) width 0.125, ResNet18 width 0.125, DenseNet40 growth 6: 512 Fashion-MNIST images padded to 1×32×32
 *   (the paper-scale conv-net pipeline's inputs and widths), m = 16.
 * BatchNorm: curvature runs the network in eval mode (running statistics, src/curvature/batchCurvature.ts) and
 * PyTorch's module is in model.eval(); the running statistics are first calibrated by forward passes in train mode
 * over the bench's images, and BN's weight and bias perturbed, so the checks see a non-trivial BN.
 * Threads, the same choice on both sides: specpipe runs each single product in this thread (SPECPIPE_BLAS_THREADS
 * OpenBLAS threads, default 1) and over w worker threads, the samples split between them (Curvature.open's `workers`,
 * the spectrum stages' `workers` param), for each w of SPECPIPE_BENCH_WORKERS (default "2"); PyTorch runs each at
 * torch.set_num_threads(t) for each t of SPECPIPE_BENCH_TORCH_THREADS (default "1,2"). Each side's time is its best
 * setting's, and its SLQ job runs once, at the setting of its best Hess·v ("kept record" for specpipe, whose SLQ keeps
 * records); the table gives every setting's time (specpipe: 0w = this thread, 2w = two workers).
 * Wall and CPU seconds: each job's time is also taken as the CPU time of its process, all threads (Node
 * process.cpuUsage, Python time.process_time): on a loaded shared machine the CPU-seconds ratio of one-thread work
 * is the steadier one, the wall-seconds ratio what a user waits for.
 *   npm run bench torch      (SPECPIPE_BENCH_QUICK=1: 1,024 digits and m = 8, 128 images and m = 4, best of 2;
 *                             SPECPIPE_BENCH_MODELS=mlp,lenet,vgg11,resnet18,densenet40 chooses models)
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
import { blasThreadsFromEnv } from '../src/backend/openblasKernels.js';
import { buildNetwork } from '../src/nn/build.js';
import type { ModelSpec, Network } from '../src/nn/network.js';
import { saveCheckpoint } from '../src/nn/checkpoint.js';
import { Curvature, type CurvatureProblem } from '../src/curvature/curvatureOperators.js';
import { loadMnist } from '../src/data/mnist.js';
import { loadFashionMnist } from '../src/data/fashionMnist.js';
import { balancedSubset } from '../src/data/balancedSubset.js';
import { sliceBatch } from '../src/data/batches.js';
import { prepareData } from '../src/train/prepare.js';
import { slqDensity } from '../src/linalg/slq.js';
import type { Split } from '../src/data/dataset.js';
import { Rng } from '../src/util/random.js';

const QUICK = process.env.SPECPIPE_BENCH_QUICK === '1';
const BATCH = 256;
const SLQ_VECTORS = 8;
const REPEATS = QUICK ? 2 : 3;
const PYTHON = process.env.SPECPIPE_TORCH_PYTHON ?? '/usr/bin/python3';
const TORCH_THREADS = (process.env.SPECPIPE_BENCH_TORCH_THREADS ?? '1,2').split(',').map(Number);
/** specpipe's settings: 0 = this thread, w > 0 = w worker threads. */
const WORKERS = [
  0,
  ...(process.env.SPECPIPE_BENCH_WORKERS ?? '2')
    .split(',')
    .filter((w) => w !== '')
    .map(Number),
];
const SCRIPT = fileURLToPath(new URL('../../bench/torch_products.py', import.meta.url));
tf.env().set('IS_TEST', true);

/** The images a model sees: MNIST digits 1×28×28, or Fashion-MNIST padded to 1×32×32 (2 zeros each side). */
type Images = 'mnist' | 'fashion-mnist-32';
interface BenchModel {
  readonly name: string;
  readonly spec: ModelSpec;
  readonly images: Images;
  readonly samples: number;
  readonly slqSteps: number;
}
const small = { samples: QUICK ? 1024 : 4096, slqSteps: QUICK ? 8 : 32 };
const conv = { images: 'fashion-mnist-32', samples: QUICK ? 128 : 512, slqSteps: QUICK ? 4 : 16 } as const;
const in32: [number, number, number] = [1, 32, 32];
const MODELS: readonly BenchModel[] = [
  {
    name: 'mlp 784-128-64-10',
    spec: { kind: 'mlp', input: [1, 28, 28], hidden: [128, 64], activation: 'tanh', classes: 10 },
    images: 'mnist',
    ...small,
  },
  {
    name: 'lenet 6-16-120 k5',
    spec: { kind: 'lenet', input: [1, 28, 28], channels: [6, 16], hidden: 120, kernel: 5, classes: 10 },
    images: 'mnist',
    ...small,
  },
  { name: 'vgg11 width 0.125', spec: { kind: 'vgg11', input: in32, width: 0.125, classes: 10 }, ...conv },
  { name: 'resnet18 width 0.125', spec: { kind: 'resnet18', input: in32, width: 0.125, classes: 10 }, ...conv },
  { name: 'densenet40 growth 6', spec: { kind: 'densenet40', input: in32, growth: 6, classes: 10 }, ...conv },
];

type Job = 'gradient' | 'hessian' | 'ggn' | 'hessianKept' | 'ggnKept' | 'slq';
const JOBS: readonly Job[] = ['gradient', 'hessian', 'ggn', 'hessianKept', 'ggnKept', 'slq'];
interface Side {
  /** Wall seconds (PyTorch: the best over its thread settings). */
  readonly seconds: Record<Job, number>;
  /** CPU seconds of the process, all threads (PyTorch: the least over its thread settings). */
  readonly cpuSeconds: Record<Job, number>;
  readonly checks: Record<string, number>;
  /** Every thread setting's wall seconds (PyTorch: `${t}t`, specpipe: `${w}w`). */
  readonly secondsByThreads?: Record<string, Partial<Record<Job, number>>>;
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
const dir = mkdtempSync(join(tmpdir(), 'specpipe-torch-bench-'));
process.on('exit', () => rmSync(dir, { recursive: true, force: true }));

/** The first `n` train images of `kind`, preprocessed as a training run would (per-channel standardisation, padding). */
function imagesOf(kind: Images, n: number): Split {
  const perClass = Math.ceil(n / 10) + 1;
  const prepared =
    kind === 'mnist'
      ? prepareData(loadMnist({ seed: 0, testPerClass: 10, trainPerClass: perClass })).train
      : (() => {
          const fashion = loadFashionMnist();
          const train = balancedSubset(fashion.train, perClass, 0);
          return prepareData({ ...fashion, train, test: balancedSubset(fashion.test, 1, 0) }, 2).train;
        })();
  const per = prepared.shape.slice(1).reduce((a, b) => a * b, 1);
  const [, channels, height, width] = prepared.shape;
  return {
    images: prepared.images.slice(0, n * per),
    shape: [n, channels, height, width],
    labels: prepared.labels.slice(0, n),
  };
}

/**
 * Weights with a non-trivial BatchNorm (bench only): BN weight and bias perturbed (1 + 0.2·N(0,1), 0.2·N(0,1)) and the
 * running statistics calibrated by 30 train-mode forward passes over the data (momentum 0.1: within 5% of the batch
 * statistics), so that eval mode is not the identity map the fresh running_mean 0, running_var 1 would give.
 */
function calibrated(network: Network, data: Split): { params: tf.Tensor[]; buffers: tf.Tensor[] } {
  const { params, buffers } = network.init(0);
  if (buffers.length === 0) return { params, buffers };
  const rng = new Rng(7);
  const bnPrefixes = new Set(
    network.buffers.map((b) => b.name.replace(/\.running_mean$|\.running_var$|\.num_batches_tracked$/, '')),
  );
  const perturbed = params.map((p, i) => {
    const name = network.params[i]!.name;
    const prefix = name.replace(/\.(weight|bias)$/, '');
    if (!bnPrefixes.has(prefix)) return p;
    const noise = Float32Array.from({ length: p.size }, () => 0.2 * rng.normal() + (name.endsWith('.weight') ? 1 : 0));
    p.dispose();
    return tf.tensor(noise, p.shape);
  });
  const batch = sliceBatch(data, 0, Math.min(data.shape[0], BATCH));
  let state = buffers;
  for (let pass = 0; pass < 30; pass++) {
    const next = tf.tidy(() => network.forward(perturbed, state, tf.tensor4d(batch.x, batch.shape), 'train').updatedBuffers!);
    tf.dispose(state);
    state = next;
  }
  return { params: perturbed, buffers: state };
}

/** One setting's single-product times and checks (`workers` 0: this thread), and its SLQ job when `withSlq`. */
async function specpipeSetting(
  m: BenchModel,
  problem: CurvatureProblem,
  workers: number,
  withSlq: boolean,
): Promise<{ wall: Partial<Record<Job, number>>; cpu: Partial<Record<Job, number>>; checks: Record<string, number> }> {
  const { data } = problem;
  const curvature = await Curvature.open(problem, { batchSize: BATCH, workers });
  // every product records its batches' forward and first backward pass again, as PyTorch's double backward does
  const recording = await Curvature.open(problem, { batchSize: BATCH, workers, recordingBudget: 0 });
  const hess = curvature.operator('hessian');
  const ggn = curvature.operator('ggn');
  const logits = await curvature.perSampleLogits();
  const classes = logits.length / data.shape[0];
  let loss = 0;
  for (let i = 0; i < data.shape[0]; i++) {
    const z = logits.subarray(i * classes, (i + 1) * classes);
    const top = Math.max(...z);
    loss += top + Math.log(z.reduce((s, x) => s + Math.exp(x - top), 0)) - z[data.labels[i]!]!;
  }
  const g = await curvature.fullGradient();
  let gn = 0;
  for (const x of g) gn += x * x;
  gn = Math.sqrt(gn);
  const u = g.map((x) => x / gn);
  const quad = (y: Float64Array): number => y.reduce((s, x, i) => s + x * u[i]!, 0);
  const checks: Record<string, number> = {
    loss: loss / data.shape[0],
    gradNorm: gn,
    gHg: quad(await hess.matvec(u)),
    gGg: quad(await ggn.matvec(u)),
  };
  const cpuNow = (): number => {
    const c = process.cpuUsage();
    return (c.user + c.system) / 1e6;
  };
  /** Best wall and best CPU seconds (this process, all its threads) of REPEATS runs after a warm-up. */
  const best = async (f: () => Promise<unknown>): Promise<[number, number]> => {
    await f();
    let [wall, cpu] = [Infinity, Infinity];
    for (let r = 0; r < REPEATS; r++) {
      const [t0, c0] = [performance.now(), cpuNow()];
      await f();
      wall = Math.min(wall, (performance.now() - t0) / 1000);
      cpu = Math.min(cpu, cpuNow() - c0);
    }
    return [wall, cpu];
  };
  const times: Partial<Record<Job, [number, number]>> = {
    gradient: await best(() => recording.fullGradient()), // a forward and backward pass each time, as PyTorch's
    hessian: await best(() => recording.operator('hessian').matvec(u)),
    ggn: await best(() => recording.operator('ggn').matvec(u)),
    hessianKept: await best(() => hess.matvec(u)),
    ggnKept: await best(() => ggn.matvec(u)),
  };
  if (withSlq) {
    const [t0, c0] = [performance.now(), cpuNow()];
    const slq = await slqDensity(hess, { steps: m.slqSteps, startVectors: SLQ_VECTORS, seed: 0, gridSize: 64 });
    times.slq = [(performance.now() - t0) / 1000, cpuNow() - c0];
    checks.slqTop = Math.max(...slq.measure.nodes);
  }
  await curvature.close();
  await recording.close();
  const pick = (k: 0 | 1): Partial<Record<Job, number>> =>
    Object.fromEntries(Object.entries(times).map(([j, t]) => [j, t[k]])) as Partial<Record<Job, number>>;
  return { wall: pick(0), cpu: pick(1), checks };
}

/** specpipe at each of WORKERS, best per job; the SLQ job once, at the setting of the best kept-record Hess·v. */
async function specpipeSide(m: BenchModel, data: Split, path: string): Promise<Side> {
  const network = buildNetwork(m.spec);
  const { params, buffers } = calibrated(network, data);
  saveCheckpoint(path, network, params, buffers, { mean: [0], std: [1], pad: 0 });
  const problem: CurvatureProblem = { network, params, buffers, data, loss: 'cross-entropy' };
  const wall: Record<string, Partial<Record<Job, number>>> = {};
  const cpu: Record<string, Partial<Record<Job, number>>> = {};
  let checks: Record<string, number> = {};
  for (const w of WORKERS) {
    const r = await specpipeSetting(m, problem, w, false);
    [wall[`${w}w`], cpu[`${w}w`], checks] = [r.wall, r.cpu, r.checks];
  }
  const slqSetting = Object.keys(wall).reduce((a, b) => (wall[b]!.hessianKept! < wall[a]!.hessianKept! ? b : a));
  const slq = await specpipeSetting(m, problem, parseInt(slqSetting), true);
  wall[slqSetting]!.slq = slq.wall.slq;
  cpu[slqSetting]!.slq = slq.cpu.slq;
  checks.slqTop = slq.checks.slqTop!;
  tf.dispose([...params, ...buffers]);
  const least = (by: Record<string, Partial<Record<Job, number>>>): Record<Job, number> =>
    Object.fromEntries(JOBS.map((j) => [j, Math.min(...Object.values(by).map((s) => s[j] ?? Infinity))])) as Record<Job, number>;
  return { seconds: least(wall), cpuSeconds: least(cpu), checks, secondsByThreads: wall };
}

function torchSide(m: BenchModel, data: Split): Side {
  writeFileSync(join(dir, 'images.f32'), new Uint8Array(data.images.buffer, data.images.byteOffset, data.images.byteLength));
  writeFileSync(join(dir, 'labels.i32'), new Uint8Array(data.labels.buffer, data.labels.byteOffset, data.labels.byteLength));
  writeFileSync(
    join(dir, 'config.json'),
    JSON.stringify({
      spec: m.spec,
      samples: m.samples,
      shape: data.shape.slice(1),
      batch: BATCH,
      repeats: REPEATS,
      threads: TORCH_THREADS,
      slqSteps: m.slqSteps,
      slqVectors: SLQ_VECTORS,
    }),
  );
  const r = spawnSync(PYTHON, [SCRIPT, dir], { encoding: 'utf8', maxBuffer: 1 << 24 });
  if (r.status !== 0) throw new Error(`${PYTHON} ${SCRIPT} failed (exit ${r.status}): ${r.stderr.trim()}`);
  return JSON.parse(r.stdout.trim().split('\n').pop()!) as Side;
}

const load = (): string =>
  loadavg()
    .map((x) => x.toFixed(2))
    .join(' ');
console.log(
  `specpipe ${backendId(info)}, best of this thread and ${WORKERS.filter((w) => w > 0).join(' | ')} worker threads, ` +
    `SPECPIPE_BLAS_THREADS=${blasThreadsFromEnv()} vs PyTorch ${probe.stdout.trim()} ` +
    `(${PYTHON}), best of torch.set_num_threads(${TORCH_THREADS.join(' | ')}); batches of ${BATCH}, best of ${REPEATS}; ` +
    `load average ${load()}`,
);
const fmt = (s: number): string => (s < 10 ? s.toFixed(3) : s.toFixed(1)).padStart(9);
const only = process.env.SPECPIPE_BENCH_MODELS?.split(',');
for (const m of MODELS) {
  if (only !== undefined && !only.some((o) => m.spec.kind === o || m.name.startsWith(o))) continue;
  const data = imagesOf(m.images, m.samples);
  const sp = await specpipeSide(m, data, join(dir, 'model.safetensors'));
  const pt = torchSide(m, data);
  const [, c, h, w] = data.shape;
  console.log(
    `\n  ${m.name}: ${m.samples} ${m.images === 'mnist' ? 'MNIST digits' : 'Fashion-MNIST images padded to'} ${c}×${h}×${w}, ` +
      `SLQ ${SLQ_VECTORS} × ${m.slqSteps} steps (load average ${load()})`,
  );
  console.log(
    `    ${'job'.padEnd(22)} ${'specpipe s'.padStart(10)} ${'PyTorch s'.padStart(10)}  ${'ratio'.padStart(6)}` +
      `   ${'CPU s: specpipe'.padStart(15)} ${'PyTorch'.padStart(9)}  ${'ratio'.padStart(6)}   wall s per setting: specpipe | PyTorch`,
  );
  const label: Record<Job, string> = {
    gradient: 'full-data gradient',
    hessian: 'Hess·v',
    ggn: 'G·v',
    hessianKept: 'Hess·v, kept record',
    ggnKept: 'G·v, kept record',
    slq: `SLQ ${SLQ_VECTORS} × ${m.slqSteps} steps`,
  };
  const ratio = (a: number, b: number): string => `${(a / b).toFixed(2).padStart(5)}×`;
  for (const j of JOBS) {
    const settings = (by: Side['secondsByThreads'], unit: string): string =>
      Object.entries(by ?? {})
        .filter(([, s]) => s[j] !== undefined)
        .map(([t, s]) => `${t}${unit} ${s[j]!.toFixed(3)}`)
        .join(', ');
    const perThreads = `${settings(sp.secondsByThreads, '')} | ${settings(pt.secondsByThreads, 't')}`;
    console.log(
      `    ${label[j].padEnd(22)} ${fmt(sp.seconds[j])}  ${fmt(pt.seconds[j])}  ${ratio(sp.seconds[j], pt.seconds[j])}` +
        `   ${fmt(sp.cpuSeconds[j]).padStart(15)} ${fmt(pt.cpuSeconds[j])}  ${ratio(sp.cpuSeconds[j], pt.cpuSeconds[j])}   ${perThreads}`,
    );
  }
  const check = (k: string): string =>
    `${k} ${sp.checks[k]!.toPrecision(6)} / ${pt.checks[k]!.toPrecision(6)} (rel. diff ${(Math.abs(sp.checks[k]! - pt.checks[k]!) / Math.abs(pt.checks[k]!)).toExponential(1)})`;
  console.log(`    checks specpipe / PyTorch: ${['loss', 'gradNorm', 'gHg', 'gGg', 'slqTop'].map(check).join('; ')}`);
}
console.log(`\n  (load average now ${load()}; a shared machine: rerun when idle for final numbers)`);
