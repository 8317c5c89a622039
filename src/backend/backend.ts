import * as tf from '@tensorflow/tfjs-core';
// Loading @tensorflow/tfjs-backend-cpu registers the cpu backend. Imported by name, not as `import '…'`: a bare
// import would stay in the emitted backend.d.ts and bring tfjs-core's declarations (which need the DOM lib) into
// every consumer of specpipe's types; the binding is used (below) only to keep the import in the JavaScript.
import { version_cpu } from '@tensorflow/tfjs-backend-cpu';
import { isMainThread } from 'node:worker_threads';
import { registerGemmKernels } from './openblasKernels.js';

/**
 * Which tfjs backend runs the numerics.
 */
export type BackendChoice =
  /**
   * tensorflow if importable, else cpu with OpenBLAS kernels if libopenblas loads, else cpu with
   * specpipe's C sgemm if the C library compiles, else wasm, else plain cpu.
   */
  | 'auto'
  /** @tensorflow/tfjs-node-gpu or @tensorflow/tfjs-node (optional dependencies). */
  | 'tensorflow'
  /** @tensorflow/tfjs-backend-wasm (XNNPACK, single-threaded in Node). */
  | 'wasm'
  /**
   * @tensorflow/tfjs-backend-cpu, with matMul/conv kernels re-registered over OpenBLAS when
   * available, else over specpipe's C sgemm when the C library compiles.
   */
  | 'cpu';

export const BACKEND_CHOICES: readonly BackendChoice[] = ['auto', 'tensorflow', 'wasm', 'cpu'];

export interface BackendInfo {
  /** The tfjs backend name actually in use. */
  readonly name: 'tensorflow' | 'wasm' | 'cpu';
  /**
   * Native kernels registered over the backend's own: the GEMM kernels over OpenBLAS ('openblas')
   * or over specpipe's own C sgemm ('specpipe-sgemm'; both with the C elementwise kernels), or none.
   */
  readonly kernels: 'openblas' | 'specpipe-sgemm' | 'stock';
  /** The npm package that provides the backend. */
  readonly package: string;
  /** Why this backend was chosen, in words (printed by the CLI, recorded in runs). */
  readonly reason: string;
}

/** Identifier recorded in stage keys and run records: backend plus kernel set, e.g. "cpu+openblas". */
export function backendId(info: BackendInfo): string {
  return info.kernels === 'stock' ? info.name : `${info.name}+${info.kernels}`;
}

export class BackendError extends Error {
  constructor(
    readonly choice: string,
    message: string,
  ) {
    super(message);
    this.name = 'BackendError';
  }
}

void version_cpu; // keeps the import that registers the cpu backend

let active: BackendInfo | undefined;

/** The backend chosen by `initBackend`, or undefined before it ran. */
export function activeBackend(): BackendInfo | undefined {
  return active;
}

async function tryImport(pkg: string): Promise<string | undefined> {
  try {
    await import(pkg);
    return undefined;
  } catch (e) {
    return e instanceof Error ? e.message.split('\n')[0] : String(e);
  }
}

async function startTensorflow(): Promise<BackendInfo | string> {
  const failures: string[] = [];
  for (const pkg of ['@tensorflow/tfjs-node-gpu', '@tensorflow/tfjs-node']) {
    const err = await tryImport(pkg);
    if (err === undefined && (await tf.setBackend('tensorflow'))) {
      return { name: 'tensorflow', kernels: 'stock', package: pkg, reason: `${pkg} is installed` };
    }
    failures.push(`${pkg}: ${err ?? 'setBackend failed'}`);
  }
  return failures.join('; ');
}

async function startWasm(): Promise<BackendInfo | string> {
  try {
    await import('@tensorflow/tfjs-backend-wasm');
    if (await tf.setBackend('wasm')) {
      return { name: 'wasm', kernels: 'stock', package: '@tensorflow/tfjs-backend-wasm', reason: '' };
    }
    return 'setBackend("wasm") failed';
  } catch (e) {
    return e instanceof Error ? e.message : String(e);
  }
}

/**
 * tfjs-backend-cpu prints "Hi, looks like you are running TensorFlow.js in Node.js…" (console.warn) on the
 * first tensor it stores, unless tfjs's PROD or IS_TEST flag is set; specpipe says which backend it chose
 * and why itself. The banner is skipped by marking the backend as used; PROD would also mute tfjs's
 * other warnings, IS_TEST turns on per-kernel memory-leak checks.
 */
function silenceCpuBanner(): void {
  const cpu = tf.findBackend('cpu') as { firstUse?: boolean } | null;
  if (cpu !== null && typeof cpu.firstUse === 'boolean') cpu.firstUse = false;
}

/**
 * The cpu backend with the GEMM kernels over OpenBLAS when it loads, else over specpipe's C sgemm
 * when the C library compiles, else stock; `blasFailure` says why OpenBLAS was not used.
 */
async function startCpu(): Promise<{ info: BackendInfo; blasFailure?: string }> {
  await tf.setBackend('cpu');
  silenceCpuBanner();
  const gemm = registerGemmKernels('openblas-else-specpipe');
  const blasFailure = gemm.openBlasFailure ?? (gemm.ok ? undefined : gemm.reason);
  let kernels: BackendInfo['kernels'] = 'stock';
  let note = '';
  if (gemm.ok && gemm.gemm === 'openblas') kernels = 'openblas';
  else if (gemm.ok) {
    kernels = 'specpipe-sgemm';
    note = ` with specpipe's C sgemm (OpenBLAS not loadable: ${blasFailure}); apt-get install libopenblas0 for the fast path`;
  } else note = ` (native kernels not used: ${gemm.reason}; apt-get install libopenblas0 to enable them)`;
  return {
    info: { name: 'cpu', kernels, package: '@tensorflow/tfjs-backend-cpu', reason: note },
    ...(blasFailure !== undefined && { blasFailure }),
  };
}

/** The backends `--backend auto` falls back to without OpenBLAS, fastest first. */
export type FallbackPath =
  /** cpu with specpipe's own C sgemm under the GEMM kernels (needs a C compiler). */
  | 'specpipe-sgemm'
  /** @tensorflow/tfjs-backend-wasm (no C compiler or koffi). */
  | 'wasm'
  /** tfjs-backend-cpu's stock kernels (wasm failed too). */
  | 'cpu';

/** How each fallback is named in the warning. */
const FALLBACK_WORDS: Readonly<Record<FallbackPath, string>> = {
  'specpipe-sgemm': "cpu with specpipe's C sgemm",
  wasm: 'wasm',
  cpu: 'plain cpu',
};

/**
 * How much slower one full-data Hess·v runs on each backend `--backend auto` falls back to without
 * OpenBLAS than on cpu+OpenBLAS: MLP 784-128-64-10, 2,048 samples, batches of 256, best of 3
 * (bench/fallback.bench.ts, `npm run bench fallback`). Measured 2026-12-05 on the 2-core
 * AVX-512 dev machine while other engineers' jobs shared it, so each ratio is from one run with all
 * backends side by side:
 *   - specpipe-sgemm: 1.13× at load average 11 (109 vs 123 ms), 0.76× at load 17–20 (356 vs 271 ms);
 *     1.27× with the AVX2+FMA micro-kernel (SPECPIPE_NATIVE_ISA=1; load 19, 386 vs 491 ms). The
 *     default pipeline end to end (`specpipe run pipelines/mnist-mlp.yaml`, cold, load 17–21; engine
 *     seconds swing with the others' load, CPU seconds less): cpu+openblas then cpu+specpipe-sgemm
 *     1,069 s (343 s CPU) and 886 s (336 s CPU); in the other order 675 s (298 s CPU) on
 *     cpu+specpipe-sgemm then 482 s (306 s CPU) on cpu+openblas; once more (load 17 → 7) 466 s
 *     (313 s CPU) on cpu+openblas, 364 s (291 s CPU) on cpu+specpipe-sgemm.
 *   - wasm (SIMD, single-threaded in Node): 8.8× at load 11, 4.0× and 4.7× at load 17–20 (5.8× at
 *     load 4 before); plain cpu: 31× at load 11, 10–14× at load 17–20 (27× at load 4 before).
 * The factors: specpipe-sgemm 1.2, between its AVX-512 (0.76–1.13×) and AVX2 (1.27×) runs; wasm
 * and plain cpu keep the values of the least loaded runs (load 4), which the new runs bracket.
 */
export const FALLBACK_SLOWDOWN: Readonly<Record<FallbackPath, number>> = { 'specpipe-sgemm': 1.2, wasm: 6, cpu: 27 };

let warnedSlowPath = false;

/**
 * The one-line stderr warning of a `--backend auto` that could not use OpenBLAS, e.g.
 * "specpipe: OpenBLAS not found (libopenblas.so.0): products run about 1.2× slower on the fallback
 * (cpu with specpipe's C sgemm); apt-get install libopenblas0".
 */
export function slowPathWarning(blasFailure: string, fallback: FallbackPath): string {
  const what = blasFailure.startsWith('libopenblas could not be loaded')
    ? `OpenBLAS not found (${process.env.SPECPIPE_OPENBLAS_LIB || 'libopenblas.so.0'})`
    : `OpenBLAS not used (${blasFailure})`;
  return `specpipe: ${what}: products run about ${FALLBACK_SLOWDOWN[fallback]}× slower on the fallback (${FALLBACK_WORDS[fallback]}); apt-get install libopenblas0`;
}

/** Says it once per process, and only from the process's main thread (not from curvature workers or shard processes). */
function warnSlowPath(blasFailure: string | undefined, fallback: FallbackPath): void {
  if (warnedSlowPath || blasFailure === undefined || !isMainThread || process.send !== undefined) return;
  warnedSlowPath = true;
  process.stderr.write(slowPathWarning(blasFailure, fallback) + '\n');
}

/**
 * Selects and starts a tfjs backend. Idempotent for the same choice. Gradient rules are not
 * this layer's: whoever differentiates registers them (`registerSecondOrderGradients`,
 * src/curvature/secondOrderGradients.ts: BatchCurvature and trainModel do).
 */
export async function initBackend(choice: BackendChoice = 'auto'): Promise<BackendInfo> {
  if (!BACKEND_CHOICES.includes(choice)) {
    throw new BackendError(String(choice), `--backend must be one of ${BACKEND_CHOICES.join('|')}, received "${String(choice)}"`);
  }
  if (active !== undefined && (choice === 'auto' || choice === active.name)) return active;
  let info: BackendInfo;
  if (choice === 'tensorflow') {
    const tfOk = await startTensorflow();
    if (typeof tfOk === 'string') {
      throw new BackendError(
        choice,
        `--backend tensorflow: neither @tensorflow/tfjs-node-gpu nor @tensorflow/tfjs-node could be loaded (${tfOk}); install one of them or use --backend auto`,
      );
    }
    info = tfOk;
  } else if (choice === 'wasm') {
    const w = await startWasm();
    if (typeof w === 'string') throw new BackendError(choice, `--backend wasm: ${w}`);
    info = { ...w, reason: 'requested with --backend wasm' };
  } else if (choice === 'cpu') {
    const c = (await startCpu()).info;
    info = { ...c, reason: `requested with --backend cpu${c.reason}` };
  } else {
    const tfOk = await startTensorflow();
    if (typeof tfOk !== 'string') {
      info = { ...tfOk, reason: `auto: ${tfOk.reason}` };
    } else {
      const { info: c, blasFailure } = await startCpu();
      if (c.kernels === 'openblas') {
        info = {
          ...c,
          reason:
            'auto: tfjs-node not installed; cpu with OpenBLAS kernels is the fastest offline backend (bench/: faster than wasm on every product)',
        };
      } else if (c.kernels === 'specpipe-sgemm') {
        info = { ...c, reason: `auto: tfjs-node not installed; cpu${c.reason}` };
        warnSlowPath(blasFailure, 'specpipe-sgemm');
      } else {
        const w = await startWasm();
        if (typeof w !== 'string')
          info = { ...w, reason: `auto: tfjs-node not installed and libopenblas not loadable${c.reason}; using wasm` };
        else {
          await tf.setBackend('cpu');
          silenceCpuBanner();
          info = { ...c, reason: `auto: tfjs-node, OpenBLAS and wasm unavailable (${w}); using plain cpu` };
        }
        warnSlowPath(blasFailure, info.name === 'wasm' ? 'wasm' : 'cpu');
      }
    }
  }
  await tf.ready();
  active = info;
  return info;
}
