import { getKernel, registerKernel, unregisterKernel, type KernelConfig, type KernelFunc } from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-backend-cpu';
import { loadOpenBlas, tuneMallocForLargeArrays } from './native/openblasLibrary.js';
import { openBlasGemm, specpipeGemm, type GemmProvider, type GemmProviderName } from './native/gemmProvider.js';
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
import {
  MAX_POOL_ROUTE_KERNEL,
  TANH_GRAD_KERNEL,
  TANH_GRAD2_KERNEL,
  tanhGradKernels,
  elementwiseKernelMakers,
  maxPoolRouteKernel,
  nativeElementwiseKernels,
  UNARY_OPS,
  type ElementwiseKernelMaker,
} from './native/elementwiseKernels.js';
import { loadNativeKernels } from './native/elementwiseLibrary.js';
import { JS_FALLBACK_KERNEL_NAMES, JS_KERNELS } from './native/jsKernels.js';

/*
 * Native kernels for tfjs's cpu backend (issue 3, item 3).
 *
 * - GEMM kernels (OPENBLAS_KERNEL_NAMES) call one sgemm provider (native/gemmProvider.ts):
 *   OpenBLAS's cblas_sgemm through koffi (prebuilt FFI, no compiler) when libopenblas loads, else
 *   (registerGemmKernels('openblas-else-specpipe'), what `--backend auto` and `cpu` ask for)
 *   specpipe's own C sgemm from the native library (native/gemmSource.ts): matmuls directly,
 *   convolutions as im2col + sgemm (NHWC, dilation 1; other layouts and dilations go to the
 *   stock kernel). Few-channel convolutions, where that GEMM is
 *   skinny (LeNet's conv1: 1 → 6 channels), run a direct C kernel instead when the C library
 *   loaded and the CPU has AVX2+FMA (native/gemmKernels.ts directConvolutionApplies).
 * - Elementwise, reduction, pooling and Transpose kernels (native/elementwiseKernels.ts) run a
 *   small C library compiled on first use with the system C compiler (native/elementwiseLibrary.ts);
 *   the GEMM kernels then also use its im2col/col2im. Without a compiler, plain-JavaScript versions
 *   serve the ones where tfjs's own are slow (JS_FALLBACK_KERNEL_NAMES; Transpose: tfjs's took 54 of
 *   107 ms of a LeNet gradient at batch 256, from Flatten's NHWC → NCHW permutation).
 * - Kernels of specpipe's own that second-order rules use when registered: MAX_POOL_ROUTE_KERNEL
 *   (the max-pool routing adjoint; src/curvature/secondOrderGradients.ts) and, with the C library,
 *   TANH_GRAD_KERNEL / TANH_GRAD2_KERNEL (the fused tanh derivative chains;
 *   src/curvature/tanhDerivatives.ts).
 * - The GEMM kernels return +0s without a GEMM when one operand is all zeros and the other
 *   finite (exactly what the stock kernels compute; G·v's J·v step back-propagates a zero
 *   cotangent), as MaxPoolGrad does for an all-zero dy.
 * Every native kernel delegates inputs it does not cover (non-float32 dtypes, other broadcast
 * patterns or axis sets) to the stock kernel, and agrees with it to float32 rounding
 * (test/backend/openblasKernels.test.ts).
 *
 * Environment:
 *   SPECPIPE_BLAS_THREADS=n        sgemm threads per process, OpenBLAS's or specpipe's (default 1; see blasThreadsFromEnv)
 *   SPECPIPE_NO_NATIVE=1           no native kernels at all (stock tfjs kernels)
 *   SPECPIPE_NO_NATIVE_ELEMENTWISE=1  OpenBLAS GEMM kernels only
 *   SPECPIPE_OPENBLAS_LIB=path     the OpenBLAS shared library to load
 *   CC, SPECPIPE_NATIVE_DIR        compiler and cache directory of the C library
 *   SPECPIPE_MALLOC_TUNE=0         leave glibc's malloc settings alone (tuneMallocForLargeArrays)
 *   SPECPIPE_NATIVE_ISA=0|1        cap the C library's instruction set (0: no direct convolution, so
 *                                  im2col + sgemm everywhere, and the C sgemm's portable micro-kernel;
 *                                  1: AVX2+FMA, not AVX-512)
 */

/**
 * The cpu-backend kernels replaced by GEMM-based ones over OpenBLAS. These are every kernel that
 * tf.matMul, tf.conv2d, tf.fused.* and their gradients dispatch in tfjs 4.22: matMul → BatchMatMul
 * (its gradient: two BatchMatMul with transposes), fused.matMul → _FusedMatMul, conv2d → Conv2D
 * (gradient: Conv2DBackpropInput + Conv2DBackpropFilter), fused.conv2d → FusedConv2D.
 */
export const OPENBLAS_KERNEL_NAMES = [
  'BatchMatMul',
  '_FusedMatMul',
  'Conv2D',
  'FusedConv2D',
  'Conv2DBackpropInput',
  'Conv2DBackpropFilter',
] as const;

/** What `registerGemmKernels` installed, for run records and the bench. */
export interface OpenBlasKernelStatus {
  /** Which sgemm the GEMM kernels call. */
  readonly gemm: GemmProviderName;
  /** The sgemm's shared library: the libopenblas file, or the compiled native library. */
  readonly library: string;
  /** sgemm threads in effect (SPECPIPE_BLAS_THREADS, default 1). */
  readonly threads: number;
  /** Kernel names now served natively (GEMM ones and any native elementwise ones). */
  readonly kernels: readonly string[];
  /** Native elementwise kernels: registered, or why not (they are optional; GEMM kernels work without them). */
  readonly elementwise: { ok: true; library: string } | { ok: false; reason: string };
  /**
   * Kernels served by plain-JavaScript replacements (native/jsKernels.ts) because the C library is
   * unavailable: reductions, broadcasts and pooling, where tfjs's own are 10–100× slower.
   */
  readonly javascript: readonly string[];
  /** Whether glibc's malloc was tuned to reuse large blocks (`tuneMallocForLargeArrays`; SPECPIPE_MALLOC_TUNE=0 turns it off). */
  readonly mallocTuned: boolean;
}

const stockConfigs = new Map<string, KernelConfig>();
let status: OpenBlasKernelStatus | undefined;
let gemmInUse: GemmProvider | undefined;
let tanhInUse: ((x: Float32Array, y: Float32Array) => void) | undefined;

/** The sgemm under the GEMM kernels (OpenBLAS's or specpipe's C one), or undefined when they are not registered. */
export function activeGemm(): GemmProvider | undefined {
  return gemmInUse;
}

/** y = tanh(x) by the native Tanh kernel registered for the cpu backend (its values exactly), or undefined without it. */
export function activeTanh(): ((x: Float32Array, y: Float32Array) => void) | undefined {
  return tanhInUse;
}

/** The stock tfjs-backend-cpu kernel for `name`, kept when it was replaced (tests compare with it). */
export function stockKernel(name: string): KernelConfig | undefined {
  return stockConfigs.get(name) ?? getKernel(name, 'cpu');
}

/** Status of the native kernels, or undefined when they are not registered. */
export function openBlasKernelStatus(): OpenBlasKernelStatus | undefined {
  return status;
}

/**
 * sgemm threads per process (OpenBLAS's or specpipe's C sgemm): `SPECPIPE_BLAS_THREADS`, default 1. One thread is the default
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
  if (current === undefined)
    throw new Error(`stock cpu kernel ${name} is not registered (is @tensorflow/tfjs-backend-cpu loaded?)`);
  if (!stockConfigs.has(name)) stockConfigs.set(name, current);
  unregisterKernel(name, 'cpu');
  registerKernel({ kernelName: name, backendName: 'cpu', kernelFunc: kernelFunc as unknown as KernelFunc });
}

function stockFallback(name: string): Fallback {
  const cfg = stockConfigs.get(name) ?? getKernel(name, 'cpu');
  if (cfg === undefined) throw new Error(`stock cpu kernel ${name} is not registered`);
  return (args) => cfg.kernelFunc(args as never) as ReturnType<Fallback>;
}

/** Which sgemm `registerGemmKernels` may put under the GEMM kernels. */
export type GemmPreference =
  /** OpenBLAS only: ok:false, the stock kernels left in place, when libopenblas is not loadable. */
  | 'openblas'
  /** OpenBLAS when loadable, else specpipe's C sgemm (which needs koffi and a C compiler): `--backend auto`/`cpu`. */
  | 'openblas-else-specpipe'
  /** specpipe's C sgemm even where OpenBLAS loads (tests and the bench compare the two). */
  | 'specpipe';

/** The sgemm provider for `preference`, or why there is none; `openBlasFailure`: why OpenBLAS was not used. */
function chooseGemm(
  preference: GemmPreference,
  threads: number,
): { ok: true; gemm: GemmProvider; openBlasFailure?: string } | { ok: false; reason: string; openBlasFailure?: string } {
  let openBlasFailure: string | undefined;
  if (preference !== 'specpipe') {
    const loaded = loadOpenBlas();
    if (loaded.ok) {
      loaded.blas.setThreads(threads);
      return { ok: true, gemm: openBlasGemm(loaded.blas) };
    }
    if (preference === 'openblas') return { ok: false, reason: loaded.reason, openBlasFailure: loaded.reason };
    openBlasFailure = loaded.reason;
  }
  const native = loadNativeKernels();
  const own = native.ok ? specpipeGemm(native.kernels, threads) : native;
  if (own.ok) return { ok: true, gemm: own.gemm, ...(openBlasFailure !== undefined && { openBlasFailure }) };
  const reason =
    openBlasFailure === undefined ? own.reason : `${openBlasFailure}; specpipe's C sgemm unavailable too (${own.reason})`;
  return { ok: false, reason, ...(openBlasFailure !== undefined && { openBlasFailure }) };
}

/**
 * Re-registers the cpu backend's matmul and convolution kernels (OPENBLAS_KERNEL_NAMES) over the
 * sgemm `preference` allows (OpenBLAS's, else specpipe's C one), plus native elementwise kernels
 * when their small C library builds; the stock kernels are kept (`stockKernel`) and restored by
 * `unregisterOpenBlasKernels`. Idempotent; asking for the other provider while one is registered
 * is ok:false (unregister first). Returns ok:false with the reason, leaving the stock kernels in
 * place, when no allowed sgemm loads (koffi or libopenblas missing, no C compiler for the
 * fallback) or SPECPIPE_NO_NATIVE=1; `openBlasFailure` says why OpenBLAS was not used, when it
 * was not.
 */
export function registerGemmKernels(
  preference: GemmPreference,
): { ok: true; gemm: GemmProviderName; openBlasFailure?: string } | { ok: false; reason: string; openBlasFailure?: string } {
  if (status !== undefined) {
    const wanted = preference === 'openblas' ? 'openblas' : preference === 'specpipe' ? 'specpipe' : status.gemm;
    if (wanted !== status.gemm)
      return { ok: false, reason: `the GEMM kernels already run over ${status.gemm}'s sgemm (unregisterOpenBlasKernels first)` };
    return { ok: true, gemm: status.gemm };
  }
  let threads: number;
  try {
    threads = blasThreadsFromEnv();
  } catch (e) {
    return { ok: false, reason: e instanceof Error ? e.message : String(e) };
  }
  const chosen = chooseGemm(preference, threads);
  if (!chosen.ok) return chosen;
  const gemm = chosen.gemm;
  for (const name of OPENBLAS_KERNEL_NAMES) {
    if (getKernel(name, 'cpu') === undefined)
      return { ok: false, reason: `stock cpu kernel ${name} is not registered (is @tensorflow/tfjs-backend-cpu loaded?)` };
  }
  // Build every kernel before replacing any, so a failure leaves the stock set untouched.
  const elementwise = nativeElementwiseKernels();
  const ic = im2colImpl(elementwise.ok ? elementwise.native : undefined, gemm.getThreads());
  const batchMatMul = makeBatchMatMul(gemm, stockFallback('BatchMatMul'));
  const conv2d = makeConv2D(gemm, stockFallback('Conv2D'), ic);
  const kernels: Record<(typeof OPENBLAS_KERNEL_NAMES)[number], (args: KernelArgs) => unknown> = {
    BatchMatMul: batchMatMul,
    _FusedMatMul: makeFusedMatMul(batchMatMul),
    Conv2D: conv2d,
    FusedConv2D: makeFusedConv2D(conv2d, stockFallback('FusedConv2D')),
    Conv2DBackpropInput: makeConv2DBackpropInput(gemm, stockFallback('Conv2DBackpropInput'), ic),
    Conv2DBackpropFilter: makeConv2DBackpropFilter(gemm, stockFallback('Conv2DBackpropFilter'), ic),
  };
  for (const name of OPENBLAS_KERNEL_NAMES) replace(name, kernels[name]);
  const names: string[] = [...OPENBLAS_KERNEL_NAMES];
  const javascript: string[] = [];
  const install = (makers: Record<string, ElementwiseKernelMaker>, into: string[]): void => {
    for (const [name, make] of Object.entries(makers)) {
      if (getKernel(name, 'cpu') === undefined) continue;
      replace(name, make(stockFallback(name)));
      into.push(name);
    }
  };
  if (elementwise.ok) install(elementwise.kernels, names);
  else if (process.env.SPECPIPE_NO_NATIVE_ELEMENTWISE !== '1')
    install(elementwiseKernelMakers(JS_KERNELS, JS_FALLBACK_KERNEL_NAMES), javascript);
  // specpipe's own kernel (no stock one): max-pool routing adjoint for second-order rules.
  const route = elementwise.ok ? elementwise.native : process.env.SPECPIPE_NO_NATIVE_ELEMENTWISE !== '1' ? JS_KERNELS : undefined;
  if (route !== undefined && getKernel(MAX_POOL_ROUTE_KERNEL, 'cpu') === undefined) {
    registerKernel({
      kernelName: MAX_POOL_ROUTE_KERNEL,
      backendName: 'cpu',
      kernelFunc: maxPoolRouteKernel(route) as unknown as KernelFunc,
    });
  }
  // specpipe's own fused tanh derivative kernels (C library only; without them the rules use tfjs ops).
  const tanh = elementwise.ok ? tanhGradKernels(elementwise.native) : undefined;
  for (const [kernelName, kernelFunc] of Object.entries(tanh ?? {}))
    if (getKernel(kernelName, 'cpu') === undefined)
      registerKernel({ kernelName, backendName: 'cpu', kernelFunc: kernelFunc as unknown as KernelFunc });
  const mallocTuned = tuneMallocForLargeArrays();
  gemmInUse = gemm;
  if (elementwise.ok) {
    const native = elementwise.native;
    tanhInUse = (x, y) => native.unary(UNARY_OPS['Tanh']!, x, y, x.length, 0);
  }
  status = {
    mallocTuned,
    gemm: gemm.name,
    library: gemm.library,
    threads: gemm.getThreads(),
    kernels: names,
    javascript,
    elementwise: elementwise.ok ? { ok: true, library: elementwise.library } : { ok: false, reason: elementwise.reason },
  };
  return { ok: true, gemm: gemm.name, ...(chosen.openBlasFailure !== undefined && { openBlasFailure: chosen.openBlasFailure }) };
}

/** `registerGemmKernels('openblas')`: the kernels over OpenBLAS, or ok:false when libopenblas is not loadable. */
export function registerOpenBlasKernels(): { ok: true } | { ok: false; reason: string } {
  const r = registerGemmKernels('openblas');
  return r.ok ? { ok: true } : { ok: false, reason: r.reason };
}

/** Restores every stock kernel that `registerGemmKernels` replaced (tests and bench toggle with it). */
export function unregisterOpenBlasKernels(): void {
  for (const name of [MAX_POOL_ROUTE_KERNEL, TANH_GRAD_KERNEL, TANH_GRAD2_KERNEL])
    if (getKernel(name, 'cpu') !== undefined) unregisterKernel(name, 'cpu');
  for (const [name, cfg] of stockConfigs) {
    if (getKernel(name, 'cpu') !== undefined) unregisterKernel(name, 'cpu');
    registerKernel(cfg);
  }
  stockConfigs.clear();
  status = undefined;
  gemmInUse = undefined;
  tanhInUse = undefined;
}
