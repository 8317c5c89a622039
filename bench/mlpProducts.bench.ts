/**
 * Plain-MLP curvature products: tfjs autodiff (BatchCurvature, what every other net runs) against the
 * hand-written R-operator passes over sgemm (src/curvature/mlpBatchCurvature.ts, what MLPs run on the cpu
 * backend with native kernels), side by side in one run, on the same batches and vectors: milliseconds
 * per full-data product (per vector for blocks of 8), each batch's recorded pass kept (as in a spectrum
 * stage), and the gradient with a fresh forward and backward pass each time. Models: the default
 * pipeline's MLP 784-64-64-10 over 2,000 samples in batches of 500 (spectrum/slq's default), and the
 * PyTorch bench's 784-128-64-10 over 4,096 in batches of 256.
 *   npm run bench mlpProducts
 * Timing: best of 5 after a warm-up, the two paths taken in turn.
 */
import { initBackend, backendId } from '../src/backend/backend.js';
import { buildNetwork } from '../src/nn/build.js';
import { BatchCurvature } from '../src/curvature/batchCurvature.js';
import { MlpBatchCurvature } from '../src/curvature/mlpBatchCurvature.js';
import { batchProductsFor, type BatchProducts } from '../src/curvature/batchProducts.js';
import { sliceBatch, type Batch } from '../src/data/batches.js';
import { Rng } from '../src/util/random.js';

const info = await initBackend('auto');
const CASES = [
  { hidden: [64, 64], samples: 2000, batch: 500 },
  { hidden: [128, 64], samples: 4096, batch: 256 },
] as const;
const REPEATS = 5;
const BLOCK = 8;

type Job = 'gradient' | 'hessian' | 'ggn' | 'residual';
const JOBS: readonly Job[] = ['gradient', 'hessian', 'ggn', 'residual'];

/** Best wall milliseconds of REPEATS calls of `f` after one warm-up. */
function best(f: () => void): number {
  f();
  let ms = Infinity;
  for (let r = 0; r < REPEATS; r++) {
    const t = performance.now();
    f();
    ms = Math.min(ms, performance.now() - t);
  }
  return ms;
}

/** Milliseconds per full-data product (per vector for a block) of `job` with `k` vectors. */
function time(
  c: BatchProducts<unknown>,
  batches: readonly Batch[],
  job: Job,
  flat: readonly Float32Array[],
  fresh: BatchProducts<unknown>,
): number {
  if (job === 'gradient') return best(() => batches.forEach((b) => fresh.gradientSum(b)));
  const vs = c.vectors(flat);
  const run = { hessian: c.hessianVectorSums, ggn: c.ggnVectorSums, residual: c.residualVectorSums }[job].bind(c);
  const ms = best(() => batches.forEach((b) => run(b, vs)));
  c.disposeVectors(vs);
  return ms / flat.length;
}

console.log(
  `backend ${backendId(info)}; ms per full-data product (per vector in blocks of ${BLOCK}), records kept; best of ${REPEATS}`,
);
for (const m of CASES) {
  const network = buildNetwork({ kind: 'mlp', input: [1, 28, 28], hidden: m.hidden, activation: 'tanh', classes: 10 });
  const { params } = network.init(0);
  const rng = new Rng(1);
  const split = {
    images: Float32Array.from({ length: m.samples * 784 }, () => rng.uniform()),
    shape: [m.samples, 1, 28, 28] as [number, number, number, number],
    labels: Int32Array.from({ length: m.samples }, () => rng.int(10)),
  };
  const batches: Batch[] = [];
  for (let s = 0; s < m.samples; s += m.batch) batches.push(sliceBatch(split, s, Math.min(m.samples, s + m.batch)));
  const vectors = Array.from({ length: BLOCK }, () => Float32Array.from({ length: network.size }, () => rng.normal()));
  const paths = {
    tfjs: () => new BatchCurvature(network, params, [], 'cross-entropy') as BatchProducts<unknown>,
    sgemm: () => batchProductsFor(network, params, [], 'cross-entropy'),
  };
  if (!(paths.sgemm() instanceof MlpBatchCurvature)) {
    console.log(`skipped: no native sgemm on backend ${backendId(info)} (MLPs take the tfjs path here)`);
    break;
  }
  console.log(`\n  mlp 784-${m.hidden.join('-')}-10 (P = ${network.size}), ${m.samples} samples in batches of ${m.batch}`);
  console.log(`    ${'product'.padEnd(14)} ${'tfjs ms'.padStart(9)} ${'sgemm ms'.padStart(9)}  ratio sgemm/tfjs`);
  for (const k of [1, BLOCK]) {
    const made = Object.fromEntries(
      Object.entries(paths).map(([name, make]) => {
        const c = make();
        c.keepRecordings(2 ** 30);
        const fresh = make();
        fresh.keepRecordings(0);
        return [name, { c, fresh }];
      }),
    ) as Record<keyof typeof paths, { c: BatchProducts<unknown>; fresh: BatchProducts<unknown> }>;
    for (const job of JOBS) {
      if (job === 'gradient' && k > 1) continue;
      const [a, b] = (['tfjs', 'sgemm'] as const).map((p) => time(made[p].c, batches, job, vectors.slice(0, k), made[p].fresh));
      const label = job === 'gradient' ? 'gradient' : `${job}${k > 1 ? ` ×${k}` : ''}`;
      console.log(`    ${label.padEnd(14)} ${a!.toFixed(2).padStart(9)} ${b!.toFixed(2).padStart(9)}  ${(b! / a!).toFixed(2)}×`);
    }
  }
}
