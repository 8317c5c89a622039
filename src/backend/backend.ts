import * as tf from '@tensorflow/tfjs-core';
// Loading @tensorflow/tfjs-backend-cpu registers the cpu backend. Imported by name, not as `import '…'`: a bare
// import would stay in the emitted backend.d.ts and bring tfjs-core's declarations (which need the DOM lib) into
// every consumer of specpipe's types; the binding is used (below) only to keep the import in the JavaScript.
import { version_cpu } from '@tensorflow/tfjs-backend-cpu';
import { isMainThread } from 'node:worker_threads';
import { registerOpenBlasKernels } from './openblasKernels.js';

/**
 * Which tfjs backend runs the numerics.
 */
export type BackendChoice =
  /** tensorflow if importable, else cpu with OpenBLAS kernels if libopenblas loads, else wasm, else plain cpu. */
  | 'auto'
  /** @tensorflow/tfjs-node-gpu or @tensorflow/tfjs-node (optional dependencies). */
  | 'tensorflow'
  /** @tensorflow/tfjs-backend-wasm (XNNPACK, single-threaded in Node). */
  | 'wasm'
  /** @tensorflow/tfjs-backend-cpu, with matMul/conv kernels re-registered over OpenBLAS when available. */
  | 'cpu';

export const BACKEND_CHOICES: readonly BackendChoice[] = ['auto', 'tensorflow', 'wasm', 'cpu'];

export interface BackendInfo {
  /** The tfjs backend name actually in use. */
  readonly name: 'tensorflow' | 'wasm' | 'cpu';
  /** Native kernels registered over the backend's own ('openblas') or none. */
  readonly kernels: 'openblas' | 'stock';
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

/** The cpu backend, with OpenBLAS kernels when they load; `blasFailure` says why they did not. */
async function startCpu(preferOpenBlas: boolean): Promise<{ info: BackendInfo; blasFailure?: string }> {
  await tf.setBackend('cpu');
  silenceCpuBanner();
  let kernels: BackendInfo['kernels'] = 'stock';
  let note = '';
  let blasFailure: string | undefined;
  if (preferOpenBlas) {
    const blas = registerOpenBlasKernels();
    if (blas.ok) kernels = 'openblas';
    else {
      blasFailure = blas.reason;
      note = ` (OpenBLAS kernels not used: ${blas.reason}; apt-get install libopenblas0 to enable them)`;
    }
  }
  return {
    info: { name: 'cpu', kernels, package: '@tensorflow/tfjs-backend-cpu', reason: note },
    ...(blasFailure !== undefined && { blasFailure }),
  };
}

/**
 * How much slower one full-data Hess·v runs on the backend `--backend auto` falls back to without
 * OpenBLAS than on cpu+OpenBLAS: MLP 784-128-64-10, 2,048 samples, batches of 256, best of 3
 * (bench/fallback.bench.ts, `npm run bench fallback`). Measured 2026-12-05 on the 2-core dev machine
 * while shared (load average ≈ 4): 87 ms on cpu+openblas, 503 ms on wasm (5.8×), 2,359 ms on plain
 * cpu (27×) — load-affected numbers, rounded.
 */
export const FALLBACK_SLOWDOWN: Readonly<Record<'wasm' | 'cpu', number>> = { wasm: 6, cpu: 27 };

let warnedSlowPath = false;

/**
 * The one-line stderr warning of a `--backend auto` that could not use OpenBLAS, e.g.
 * "specpipe: OpenBLAS not found (libopenblas.so.0): products run about 6× slower on the fallback backend
 * (wasm); apt-get install libopenblas0".
 */
export function slowPathWarning(blasFailure: string, fallback: 'wasm' | 'cpu'): string {
  const what = blasFailure.startsWith('libopenblas could not be loaded')
    ? `OpenBLAS not found (${process.env.SPECPIPE_OPENBLAS_LIB || 'libopenblas.so.0'})`
    : `OpenBLAS not used (${blasFailure})`;
  return `specpipe: ${what}: products run about ${FALLBACK_SLOWDOWN[fallback]}× slower on the fallback backend (${fallback}); apt-get install libopenblas0`;
}

/** Says it once per process, and only from the process's main thread (not from curvature workers or shard processes). */
function warnSlowPath(blasFailure: string | undefined, fallback: 'wasm' | 'cpu'): void {
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
    const c = (await startCpu(true)).info;
    info = { ...c, reason: `requested with --backend cpu${c.reason}` };
  } else {
    const tfOk = await startTensorflow();
    if (typeof tfOk !== 'string') {
      info = { ...tfOk, reason: `auto: ${tfOk.reason}` };
    } else {
      const { info: c, blasFailure } = await startCpu(true);
      if (c.kernels === 'openblas') {
        info = {
          ...c,
          reason:
            'auto: tfjs-node not installed; cpu with OpenBLAS kernels is the fastest offline backend (bench/: faster than wasm on every product)',
        };
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
