// Lanczos bookkeeping (everything but the products: recurrence, full reorthogonalisation against the
// float32 basis, storing the basis) at 128 steps for P = 1e5 and 1e6, measured with a diagonal operator
// whose products are nearly free; then, side by side in the same run, the share it takes next to a
// Hessian–vector product over N samples, modelled as 2 network passes per sample (an HVP costs ≥ 2
// gradients), one pass being forward + backward of a dense P-parameter layer (2·P multiply–adds each
// way), timed here on the same machine. Also reports the basis memory.
// Usage: npm run bench lanczos  (SPECPIPE_BENCH_P=1e5 to run one size).
import { lanczos } from '../src/linalg/lanczos.js';
import type { LinearOperator } from '../src/linalg/operator.js';

const STEPS = 128;
const PROXY_BATCH = 48;
const SAMPLES = [128, 500, 2000];

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

/** One "network pass" proxy: y = W x for B inputs, then Wᵀ g for B cotangents, W a (P/k) × k float32 matrix. */
function productProxySeconds(P: number, B: number): number {
  const k = 1000;
  const rows = Math.floor(P / k);
  const W = new Float32Array(rows * k).map((_, i) => ((i * 2654435761) % 1000) / 1000 - 0.5);
  const x = new Float32Array(k).fill(0.01);
  const g = new Float32Array(rows).fill(0.01);
  const y = new Float32Array(rows);
  const gx = new Float32Array(k);
  const t = performance.now();
  for (let b = 0; b < B; b++) {
    for (let r = 0; r < rows; r++) {
      let s = 0;
      const o = r * k;
      for (let c = 0; c < k; c++) s += W[o + c]! * x[c]!;
      y[r] = s;
    }
    for (let r = 0; r < rows; r++) {
      const gr = g[r]!;
      const o = r * k;
      for (let c = 0; c < k; c++) gx[c] = gx[c]! + W[o + c]! * gr;
    }
  }
  return (performance.now() - t) / 1000 + (y[0]! + gx[0]!) * 0;
}

const sizes = process.env.SPECPIPE_BENCH_P !== undefined ? [Number(process.env.SPECPIPE_BENCH_P)] : [1e5, 1e6];
console.log(`Lanczos, ${STEPS} steps, full reorthogonalisation, float32 basis (float64 recurrences)`);
console.log(
  `P        total s  products s  bookkeeping s  bookkeeping/step ms  basis MiB (float64 would be)  pass/sample ms  bookkeeping share next to an HVP over N = ${SAMPLES.join(', ')} samples`,
);
for (const P of sizes) {
  const { op, seconds } = timedDiagonal(P);
  const t0 = performance.now();
  const r = await lanczos(op, { steps: STEPS, seed: 0 });
  const total = (performance.now() - t0) / 1000;
  const products = seconds();
  const bookkeeping = total - products;
  productProxySeconds(P, 4); // warm-up (JIT)
  const perSample = productProxySeconds(P, PROXY_BATCH) / PROXY_BATCH;
  const shares = SAMPLES.map((N) => bookkeeping / (bookkeeping + STEPS * 2 * N * perSample));
  console.log(
    [
      P.toExponential(0).padEnd(8),
      total.toFixed(2).padStart(7),
      products.toFixed(3).padStart(10),
      bookkeeping.toFixed(2).padStart(13),
      ((1000 * bookkeeping) / r.steps).toFixed(1).padStart(19),
      `${(r.basisBytes / 2 ** 20).toFixed(1)} (${((2 * r.basisBytes) / 2 ** 20).toFixed(1)})`.padStart(29),
      (1000 * perSample).toFixed(2).padStart(14),
      shares.map((x) => `${(100 * x).toFixed(1)}%`).join(' / '),
    ].join('  '),
  );
}
