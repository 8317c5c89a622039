// Lanczos bookkeeping (everything but the products: recurrence, full reorthogonalisation against the
// float32 basis, storing the basis) at 128 steps, measured with a diagonal operator whose products are
// nearly free, next to a REAL curvature product timed in the same run: Hess·v of an MLP 784-64-64-10
// (P = 55,050, the default pipeline's model) over N = 2,000 MNIST-sized samples (random pixels: the
// cost does not depend on them) through Curvature.open, in this thread. The share at P = 55,050 is
// measured outright; at P = 1e5 and 1e6 the product is scaled by P/55,050 (an HVP of a dense net costs
// ∝ P at fixed N). Bookkeeping runs with the native basis kernels (C library) and, side by side, with
// the JavaScript fallback (SPECPIPE_NO_NATIVE=1), which by default only at P ≤ 1e5 (it takes minutes at
// 1e6; SPECPIPE_BENCH_JS=all runs it everywhere, =none nowhere). Also reports the basis memory.
// Usage: npm run bench lanczos  (SPECPIPE_BENCH_P=1e5 to run one size).
import * as tf from '@tensorflow/tfjs-core';
import { initBackend, backendId } from '../src/backend/backend.js';
import { buildNetwork } from '../src/nn/build.js';
import { Curvature } from '../src/curvature/curvatureOperators.js';
import { lanczos } from '../src/linalg/lanczos.js';
import { basisThreadsFromEnv, krylovBasisKernels } from '../src/linalg/krylovBasis.js';
import type { LinearOperator } from '../src/linalg/operator.js';
import { Rng } from '../src/util/random.js';

const STEPS = 128;
const SAMPLES = 2000;
const BATCH = 500;
tf.env().set('IS_TEST', true);

function timedDiagonal(P: number): { op: LinearOperator; seconds: () => number } {
  const d = Float64Array.from({ length: P }, (_, i) => 1 + (i % 997) / 997);
  let spent = 0;
  return {
    seconds: () => spent,
    op: {
      size: P,
      symmetric: true,
      name: `diag[${P}]`,
      async matvec(v) {
        const t = performance.now();
        const y = new Float64Array(P);
        for (let i = 0; i < P; i++) y[i] = d[i]! * v[i]!;
        spent += (performance.now() - t) / 1000;
        return y;
      },
    },
  };
}

/** Seconds of Lanczos bookkeeping (total minus products) at P, and the peak basis bytes. */
async function bookkeeping(P: number, noNative: boolean): Promise<{ seconds: number; basisBytes: number; steps: number }> {
  const saved = process.env.SPECPIPE_NO_NATIVE;
  if (noNative) process.env.SPECPIPE_NO_NATIVE = '1';
  else delete process.env.SPECPIPE_NO_NATIVE;
  try {
    const { op, seconds } = timedDiagonal(P);
    const t0 = performance.now();
    const r = await lanczos(op, { steps: STEPS, seed: 0 });
    return { seconds: (performance.now() - t0) / 1000 - seconds(), basisBytes: r.basisBytes, steps: r.steps };
  } finally {
    if (saved === undefined) delete process.env.SPECPIPE_NO_NATIVE;
    else process.env.SPECPIPE_NO_NATIVE = saved;
  }
}

/** Seconds per full-data Hess·v of an MLP 784-64-64-10 over SAMPLES samples (best of 3 after a warm-up). */
async function realProductSeconds(): Promise<{ P: number; seconds: number; backend: string }> {
  const info = await initBackend('auto');
  const network = buildNetwork({ kind: 'mlp', input: [1, 28, 28], hidden: [64, 64], activation: 'relu', classes: 10 });
  const { params, buffers } = network.init(0);
  const rng = new Rng(1);
  const data = {
    images: Float32Array.from({ length: SAMPLES * 784 }, () => rng.uniform()),
    shape: [SAMPLES, 1, 28, 28] as [number, number, number, number],
    labels: Int32Array.from({ length: SAMPLES }, () => rng.int(10)),
  };
  const curvature = await Curvature.open({ network, params, buffers, data, loss: 'cross-entropy' }, { batchSize: BATCH });
  try {
    const v = Float64Array.from({ length: curvature.size }, () => rng.normal());
    await curvature.hessianVector(v);
    let best = Infinity;
    for (let i = 0; i < 3; i++) {
      const t = performance.now();
      await curvature.hessianVector(v);
      best = Math.min(best, (performance.now() - t) / 1000);
    }
    return { P: curvature.size, seconds: best, backend: backendId(info) };
  } finally {
    await curvature.close();
  }
}

const product = await realProductSeconds();
const kernels = krylovBasisKernels();
console.log(`Lanczos, ${STEPS} steps, full reorthogonalisation, float32 basis (float64 recurrences)`);
console.log(
  `real product: Hess·v, MLP 784-64-64-10 (P = ${product.P}), N = ${SAMPLES}, batches of ${BATCH}, ${product.backend}: ${(1000 * product.seconds).toFixed(0)} ms`,
);
console.log(
  `basis kernels: ${kernels.native ? `native, ${basisThreadsFromEnv()} thread(s) (${kernels.library})` : `JavaScript (${kernels.reason})`}`,
);
const jsMode = process.env.SPECPIPE_BENCH_JS ?? 'small';
const sizes = process.env.SPECPIPE_BENCH_P !== undefined ? [Number(process.env.SPECPIPE_BENCH_P)] : [product.P, 1e5, 1e6];
console.log(
  'P          basis MiB  product s  bookkeeping/step ms: native   JS   speed-up  bookkeeping share of 128 steps: native   JS',
);
for (const P of sizes) {
  const productSeconds = (product.seconds * P) / product.P;
  const native = await bookkeeping(P, false);
  const runJs = jsMode === 'all' || (jsMode === 'small' && P <= 1e5);
  const js = runJs ? await bookkeeping(P, true) : undefined;
  const share = (b: number): string => `${((100 * b) / (b + STEPS * productSeconds)).toFixed(1)}%`;
  console.log(
    [
      `${P.toExponential(2)}${P === product.P ? '*' : ' '}`.padEnd(10),
      (native.basisBytes / 2 ** 20).toFixed(1).padStart(9),
      productSeconds.toFixed(3).padStart(9),
      ((1000 * native.seconds) / native.steps).toFixed(1).padStart(28),
      (js === undefined ? '—' : ((1000 * js.seconds) / js.steps).toFixed(1)).padStart(6),
      (js === undefined ? '—' : `${(js.seconds / native.seconds).toFixed(1)}×`).padStart(9),
      share(native.seconds).padStart(40),
      (js === undefined ? '—' : share(js.seconds)).padStart(6),
    ].join(' '),
  );
}
console.log(`* measured product; other sizes scale it by P/${product.P}`);
