import { getKernel, registerKernel, unregisterKernel, type KernelConfig, type KernelFunc } from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-backend-cpu';
import { loadOpenBlas, type OpenBlas } from './native/openblasLibrary.js';
import {
  makeBatchMatMul,
  makeConv2D,
  makeConv2DBackpropFilter,
  makeConv2DBackpropInput,
  makeFusedConv2D,
  makeFusedMatMul,
  im2colImpl,
  type Fallback,
  type KernelArgs,
} from './native/gemmKernels.js';
import { nativeElementwiseKernels } from './native/elementwiseKernels.js';

/**
 * The cpu-backend kernels replaced by GEMM-based ones over OpenBLAS. These are every kernel that
 * tf.matMul, tf.conv2d, tf.fused.* and their gradients dispatch in tfjs 4.22: matMul → BatchMatMul
 * (its gradient: two BatchMatMul with transposes), fused.matMul → _FusedMatMul, conv2d → Conv2D
 * (gradient: Conv2DBackpropInput + Conv2DBackpropFilter), fused.conv2d → FusedConv2D.
 */
export const OPENBLAS_KERNEL_NAMES = ['BatchMatMul', '_FusedMatMul', 'Conv2D', 'FusedConv2D', 'Conv2DBackpropInput', 'Conv2DBackpropFilter'] as const;

/** What `registerOpenBlasKernels` installed, for run records and the bench. */
export interface OpenBlasKernelStatus {
  /** The libopenblas file loaded. */
  readonly library: string;
  /** OpenBLAS threads in effect (SPECPIPE_BLAS_THREADS, default 1). */
  readonly threads: number;
  /** Kernel names now served natively (GEMM ones and any native elementwise ones). */
  readonly kernels: readonly string[];
  /** Native elementwise kernels: registered, or why not (they are optional; GEMM kernels work without them). */
  readonly elementwise: { ok: true; library: string } | { ok: false; reason: string };
}

const stockConfigs = new Map<string, KernelConfig>();
let status: OpenBlasKernelStatus | undefined;

/** The stock tfjs-backend-cpu kernel for `name`, kept when it was replaced (tests compare with it). */
export function stockKernel(name: string): KernelConfig | undefined {
  return stockConfigs.get(name) ?? getKernel(name, 'cpu');
}

/** Status of the native kernels, or undefined when they are not registered. */
export function openBlasKernelStatus(): OpenBlasKernelStatus | undefined {
  return status;
}

/**
 * OpenBLAS threads per process: `SPECPIPE_BLAS_THREADS`, default 1. One thread is the default
 * because curvature products run data-parallel over worker_threads (one per core) and
 * OpenBLAS's own threads would then oversubscribe the cores; bench/kernels.bench.ts measures both.
 */
export function blasThreadsFromEnv(): number {
  const raw = process.env.SPECPIPE_BLAS_THREADS;
  if (raw === undefined || raw === '') return 1;
  const n = Number(raw);
  if (!Number.isInteger(n) || n < 1) throw new Error(`SPECPIPE_BLAS_THREADS must be a positive integer, received "${raw}"`);
  return n;
}

function replace(name: string, kernelFunc: (args: KernelArgs) => unknown): void {
  const current = getKernel(name, 'cpu');
  if (current === undefined) throw new Error(`stock cpu kernel ${name} is not registered (is @tensorflow/tfjs-backend-cpu loaded?)`);
  if (!stockConfigs.has(name)) stockConfigs.set(name, current);
  unregisterKernel(name, 'cpu');
  registerKernel({ kernelName: name, backendName: 'cpu', kernelFunc: kernelFunc as unknown as KernelFunc });
}

function stockFallback(name: string): Fallback {
  const cfg = stockConfigs.get(name) ?? getKernel(name, 'cpu');
  if (cfg === undefined) throw new Error(`stock cpu kernel ${name} is not registered`);
  return (args) => cfg.kernelFunc(args as never) as ReturnType<Fallback>;
}

/**
 * Re-registers the cpu backend's matmul and convolution kernels (OPENBLAS_KERNEL_NAMES) over
 * OpenBLAS's sgemm, plus native elementwise kernels when their small C library builds; the stock
 * kernels are kept (`stockKernel`) and restored by `unregisterOpenBlasKernels`. Idempotent.
 * Returns ok:false with the reason, leaving the stock kernels in place, when koffi or
 * libopenblas cannot be loaded or SPECPIPE_NO_NATIVE=1.
 */
export function registerOpenBlasKernels(): { ok: true } | { ok: false; reason: string } {
  if (status !== undefined) return { ok: true };
  let threads: number;
  try {
    threads = blasThreadsFromEnv();
  } catch (e) {
    return { ok: false, reason: e instanceof Error ? e.message : String(e) };
  }
  const loaded = loadOpenBlas();
  if (!loaded.ok) return loaded;
  const blas: OpenBlas = loaded.blas;
  blas.setThreads(threads);
  for (const name of OPENBLAS_KERNEL_NAMES) {
    if (getKernel(name, 'cpu') === undefined) return { ok: false, reason: `stock cpu kernel ${name} is not registered (is @tensorflow/tfjs-backend-cpu loaded?)` };
  }
  // Build every kernel before replacing any, so a failure leaves the stock set untouched.
  const elementwise = nativeElementwiseKernels();
  const ic = im2colImpl(elementwise.ok ? elementwise.native : undefined);
  const batchMatMul = makeBatchMatMul(blas, stockFallback('BatchMatMul'));
  const conv2d = makeConv2D(blas, stockFallback('Conv2D'), ic);
  const kernels: Record<(typeof OPENBLAS_KERNEL_NAMES)[number], (args: KernelArgs) => unknown> = {
    BatchMatMul: batchMatMul,
    _FusedMatMul: makeFusedMatMul(batchMatMul),
    Conv2D: conv2d,
    FusedConv2D: makeFusedConv2D(conv2d, stockFallback('FusedConv2D')),
    Conv2DBackpropInput: makeConv2DBackpropInput(blas, stockFallback('Conv2DBackpropInput'), ic),
    Conv2DBackpropFilter: makeConv2DBackpropFilter(blas, stockFallback('Conv2DBackpropFilter'), ic),
  };
  for (const name of OPENBLAS_KERNEL_NAMES) replace(name, kernels[name]);
  const names: string[] = [...OPENBLAS_KERNEL_NAMES];
  if (elementwise.ok) {
    for (const [name, make] of Object.entries(elementwise.kernels)) {
      if (getKernel(name, 'cpu') === undefined) continue;
      const fallback = stockFallback(name);
      replace(name, make(fallback));
      names.push(name);
    }
  }
  status = {
    library: blas.library,
    threads: blas.getThreads(),
    kernels: names,
    elementwise: elementwise.ok ? { ok: true, library: elementwise.library } : { ok: false, reason: elementwise.reason },
  };
  return { ok: true };
}

/** Restores every stock kernel that `registerOpenBlasKernels` replaced (tests and bench toggle with it). */
export function unregisterOpenBlasKernels(): void {
  for (const [name, cfg] of stockConfigs) {
    if (getKernel(name, 'cpu') !== undefined) unregisterKernel(name, 'cpu');
    registerKernel(cfg);
  }
  stockConfigs.clear();
  status = undefined;
}
