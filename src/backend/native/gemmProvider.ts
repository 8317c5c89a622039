import type { NativeKernels } from './elementwiseLibrary.js';
import type { OpenBlas, RowMajorSgemm } from './openblasLibrary.js';

/** Which single-precision GEMM serves the cpu backend's matmul and convolution kernels. */
export type GemmProviderName =
  /** OpenBLAS's cblas_sgemm through koffi (openblasLibrary.ts): the fast path when libopenblas loads. */
  | 'openblas'
  /** specpipe's own C sgemm (gemmSource.ts), compiled with the native kernel library: the fallback without OpenBLAS. */
  | 'specpipe';

/**
 * The one interface the GEMM kernels (gemmKernels.ts) call: row-major
 * C ← α·op(A)·op(B) + β·C on typed-array views, op(X) = Xᵀ when `transA`/`transB` (cblas_sgemm with
 * CBLAS order 101; β = 0 overwrites C without reading it).
 */
export interface GemmProvider {
  readonly name: GemmProviderName;
  /** The shared library it runs from: the libopenblas file, or the compiled native library's path. */
  readonly library: string;
  readonly sgemm: RowMajorSgemm;
  /** Threads one sgemm may split over (SPECPIPE_BLAS_THREADS for either provider). */
  getThreads(): number;
}

/** OpenBLAS as a GEMM provider (its thread count is set by the caller through `blas.setThreads`). */
export function openBlasGemm(blas: OpenBlas): GemmProvider {
  return {
    name: 'openblas',
    library: blas.library,
    sgemm: (transA, transB, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc) =>
      blas.sgemm(transA, transB, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc),
    getThreads: () => blas.getThreads(),
  };
}

let specpipeCalls = 0;

/** How many products specpipe's C sgemm has computed in this thread (tests prove the fallback ran). */
export function specpipeGemmCalls(): number {
  return specpipeCalls;
}

/**
 * specpipe's C sgemm as a GEMM provider, splitting each product over `threads` pthreads, or why it
 * is unavailable (a native library without `sp_sgemm`: the JavaScript fallbacks).
 */
export function specpipeGemm(
  native: NativeKernels,
  threads: number,
): { ok: true; gemm: GemmProvider } | { ok: false; reason: string } {
  const sgemm = native.sgemm;
  if (sgemm === undefined) return { ok: false, reason: `${native.library} has no sgemm` };
  return {
    ok: true,
    gemm: {
      name: 'specpipe',
      library: native.library,
      sgemm(transA, transB, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc) {
        if (m === 0 || n === 0) return;
        specpipeCalls++;
        if (!sgemm(transA, transB, m, n, k, alpha, a, Math.max(1, lda), b, Math.max(1, ldb), beta, c, Math.max(1, ldc), threads))
          throw new Error(`specpipe sgemm: out of memory for the packed panels of a ${m}×${k} by ${k}×${n} product`);
      },
      getThreads: () => threads,
    },
  };
}
