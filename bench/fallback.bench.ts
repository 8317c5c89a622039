/**
 * What the slow path costs: one full-data Hess·v of an MLP 784-128-64-10 (tanh) on 2,048
 * MNIST-sized samples (batches of 256), on cpu+OpenBLAS (what `--backend auto` picks when libopenblas
 * loads) and on the backends auto falls back to without it, each in its own process (a backend is
 * per process):
 *   - cpu with specpipe's C sgemm (OpenBLAS made unloadable: SPECPIPE_OPENBLAS_LIB=/nonexistent/…),
 *   - wasm (no C compiler either: CC=/nonexistent/cc and an empty SPECPIPE_NATIVE_DIR; tfjs-backend-wasm
 *     with SIMD, single-threaded in Node — the child prints tfjs's WASM_HAS_* flags),
 *   - plain cpu (SPECPIPE_NO_NATIVE=1, --backend cpu: what remains when wasm fails too).
 * Best of 3 after a warm-up product. The ratios are the N of initBackend's warning
 * (FALLBACK_SLOWDOWN, src/backend/backend.ts). Then the two sgemms alone (OpenBLAS's and specpipe's,
 * one thread, through koffi as the kernels call them) on the default pipeline's products: MLP
 * 784-64-64-10 at batch 256 (curvature products) and 64 (training), forward (NN), input gradient
 * (NT) and weight gradient (TN) of each layer, GFLOP/s best of 5.
 *   npm run bench fallback            (SPECPIPE_BENCH_QUICK=1: 512 samples)
 */
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { loadavg, tmpdir } from 'node:os';
import { mkdtempSync, rmSync } from 'node:fs';
import { join } from 'node:path';

const QUICK = process.env.SPECPIPE_BENCH_QUICK === '1';
const SAMPLES = QUICK ? 512 : 2048;
const CHILD = process.env.SPECPIPE_FALLBACK_BENCH_CHILD;

if (CHILD !== undefined) {
  const tf = await import('@tensorflow/tfjs-core');
  const { initBackend, backendId } = await import('../src/backend/backend.js');
  const { buildNetwork } = await import('../src/nn/build.js');
  const { Curvature } = await import('../src/curvature/curvatureOperators.js');
  const { Rng } = await import('../src/util/random.js');
  tf.env().set('IS_TEST', true);
  const info = await initBackend(CHILD as 'auto' | 'cpu');
  const rng = new Rng(1);
  const network = buildNetwork({ kind: 'mlp', input: [1, 28, 28], hidden: [128, 64], activation: 'tanh', classes: 10 });
  const { params, buffers } = network.init(0);
  const curvature = await Curvature.open(
    {
      network,
      params,
      buffers,
      loss: 'cross-entropy',
      data: {
        images: Float32Array.from({ length: SAMPLES * 784 }, () => rng.uniform()),
        shape: [SAMPLES, 1, 28, 28],
        labels: Int32Array.from({ length: SAMPLES }, () => rng.int(10)),
      },
    },
    { batchSize: 256 },
  );
  const hess = curvature.operator('hessian');
  const v = Float64Array.from({ length: curvature.size }, () => rng.normal());
  await hess.matvec(v);
  let best = Infinity;
  for (let r = 0; r < 3; r++) {
    const t0 = performance.now();
    await hess.matvec(v);
    best = Math.min(best, (performance.now() - t0) / 1000);
  }
  await curvature.close();
  const wasmFlags =
    info.name === 'wasm'
      ? ` (SIMD ${String(tf.env().getBool('WASM_HAS_SIMD_SUPPORT'))}, threads ${String(tf.env().getBool('WASM_HAS_MULTITHREAD_SUPPORT'))})`
      : '';
  process.stdout.write(JSON.stringify({ backend: backendId(info) + wasmFlags, seconds: best }) + '\n');
} else {
  const self = fileURLToPath(import.meta.url);
  const noCompilerDir = mkdtempSync(join(tmpdir(), 'specpipe-fallback-bench-'));
  const noBlas = { SPECPIPE_OPENBLAS_LIB: '/nonexistent/libopenblas.so.0' };
  const runs = [
    { label: 'auto (OpenBLAS)', choice: 'auto', env: {} },
    { label: 'auto, no OpenBLAS', choice: 'auto', env: noBlas },
    {
      label: 'auto, no OpenBLAS/cc',
      choice: 'auto',
      env: { ...noBlas, CC: '/nonexistent/cc', SPECPIPE_NATIVE_DIR: noCompilerDir },
    },
    { label: 'cpu, no native', choice: 'cpu', env: { SPECPIPE_NO_NATIVE: '1' } },
  ];
  console.log(
    `MLP 784-128-64-10 Hess·v, ${SAMPLES} samples, best of 3; load average ${loadavg()
      .map((x) => x.toFixed(1))
      .join(' ')}`,
  );
  let base: number | undefined;
  for (const r of runs) {
    const out = spawnSync(process.execPath, [self], {
      env: { ...process.env, ...r.env, SPECPIPE_FALLBACK_BENCH_CHILD: r.choice },
      encoding: 'utf8',
    });
    const line = out.stdout.trim().split('\n').pop() ?? '';
    if (out.status !== 0 || !line.startsWith('{')) {
      console.log(`  ${r.label.padEnd(20)} failed: ${out.stderr.trim().split('\n').slice(-3).join(' | ')}`);
      continue;
    }
    const { backend, seconds } = JSON.parse(line) as { backend: string; seconds: number };
    base ??= seconds;
    console.log(
      `  ${r.label.padEnd(20)} ${backend.padEnd(36)} ${(seconds * 1000).toFixed(0).padStart(7)} ms  ${(seconds / base).toFixed(2)}× cpu+openblas`,
    );
  }
  rmSync(noCompilerDir, { recursive: true, force: true });
  await compareSgemms();
}

/** GFLOP/s of OpenBLAS's and specpipe's sgemm, one thread each, on the default pipeline's shapes. */
async function compareSgemms(): Promise<void> {
  const { loadOpenBlas } = await import('../src/backend/native/openblasLibrary.js');
  const { loadNativeKernels } = await import('../src/backend/native/elementwiseLibrary.js');
  const { openBlasGemm, specpipeGemm } = await import('../src/backend/native/gemmProvider.js');
  const blas = loadOpenBlas();
  const native = loadNativeKernels();
  const own = native.ok ? specpipeGemm(native.kernels, 1) : native;
  if (!blas.ok || !own.ok) {
    console.log(`  sgemm comparison skipped: ${blas.ok ? '' : blas.reason} ${own.ok ? '' : own.reason}`);
    return;
  }
  blas.blas.setThreads(1);
  const providers = [openBlasGemm(blas.blas), own.gemm];
  const isa = ['portable', 'AVX2+FMA', 'AVX-512'][native.ok ? (native.kernels.gemmIsa?.(-1) ?? 0) : 0];
  console.log(`\nsgemm GFLOP/s, 1 thread, best of 5 (specpipe's micro-kernel: ${isa}); load average ${loadavg()[0]!.toFixed(1)}`);
  console.log(`  ${'m×n×k op'.padEnd(20)} ${'openblas'.padStart(9)} ${'specpipe'.padStart(9)}`);
  const layers: [number, number][] = [
    [784, 64],
    [64, 64],
    [64, 10],
  ];
  for (const batch of [256, 64]) {
    for (const [fanIn, fanOut] of layers) {
      // forward y = x·W, input gradient dx = dy·Wᵀ, weight gradient dW = xᵀ·dy
      const shapes: [number, number, number, boolean, boolean][] = [
        [batch, fanOut, fanIn, false, false],
        [batch, fanIn, fanOut, false, true],
        [fanIn, fanOut, batch, true, false],
      ];
      for (const [m, n, k, ta, tb] of shapes) {
        const a = Float32Array.from({ length: m * k }, () => Math.random() - 0.5);
        const b = Float32Array.from({ length: k * n }, () => Math.random() - 0.5);
        const c = new Float32Array(m * n);
        const flops = 2 * m * n * k;
        const reps = Math.max(1, Math.ceil(2e8 / flops));
        const rates = providers.map((g) => {
          let best = Infinity;
          for (let r = 0; r < 5; r++) {
            const t0 = performance.now();
            for (let i = 0; i < reps; i++) g.sgemm(ta, tb, m, n, k, 1, a, ta ? m : k, b, tb ? k : n, 0, c, n);
            best = Math.min(best, (performance.now() - t0) / 1000 / reps);
          }
          return flops / best / 1e9;
        });
        const label = `${m}×${n}×${k} ${ta ? 'T' : 'N'}${tb ? 'T' : 'N'}`;
        console.log(`  ${label.padEnd(20)} ${rates.map((r) => r.toFixed(1).padStart(9)).join(' ')}`);
      }
    }
  }
  console.log(`  (load average now ${loadavg()[0]!.toFixed(1)}: a shared, loaded machine; ratios are indicative)`);
}
