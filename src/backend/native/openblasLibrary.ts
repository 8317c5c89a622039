import { createRequire } from 'node:module';

/**
 * Binding to OpenBLAS's single-precision GEMM through koffi (an npm FFI package with prebuilt
 * binaries, so no compiler is needed): C ← α·op(A)·op(B) + β·C, row-major (CBLAS order 101).
 *
 * The library is found, in order, at `SPECPIPE_OPENBLAS_LIB` (a file name or path), then
 * libopenblas.so.0 (Debian/Ubuntu `libopenblas0`), libopenblas.so, libopenblas.dylib.
 */
/** Row-major C ← α·op(A)·op(B) + β·C on typed-array views (cblas_sgemm's contract; op(X) = Xᵀ when its flag is set). */
export type RowMajorSgemm = (
  transA: boolean,
  transB: boolean,
  m: number,
  n: number,
  k: number,
  alpha: number,
  a: Float32Array,
  lda: number,
  b: Float32Array,
  ldb: number,
  beta: number,
  c: Float32Array,
  ldc: number,
) => void;

export interface OpenBlas {
  /** The file name koffi loaded. */
  readonly library: string;
  /**
   * Row-major sgemm on typed-array views (subarrays are fine: koffi passes the view's own
   * address). `transA`/`transB` select op(X) = Xᵀ.
   */
  readonly sgemm: RowMajorSgemm;
  /** openblas_set_num_threads; returns the count now in effect (openblas_get_num_threads). */
  setThreads(n: number): number;
  getThreads(): number;
}

const CBLAS_ROW_MAJOR = 101;
const CBLAS_NO_TRANS = 111;
const CBLAS_TRANS = 112;

const DEFAULT_NAMES = ['libopenblas.so.0', 'libopenblas.so', 'libopenblas.dylib'];

let cached: { ok: true; blas: OpenBlas } | { ok: false; reason: string } | undefined;
let cachedKey: string | undefined;

type KoffiModule = typeof import('koffi');

/** Loads koffi lazily (it is a native add-on: a missing or broken install must not break import). */
export function loadKoffi(): { ok: true; koffi: KoffiModule } | { ok: false; reason: string } {
  try {
    const require = createRequire(import.meta.url);
    const k = require('koffi') as KoffiModule & { default?: KoffiModule };
    return { ok: true, koffi: (k.default ?? k) as KoffiModule };
  } catch (e) {
    return { ok: false, reason: `the koffi FFI package could not be loaded (${firstLine(e)})` };
  }
}

export function firstLine(e: unknown): string {
  return (e instanceof Error ? e.message : String(e)).split('\n')[0] ?? '';
}

/**
 * Loads OpenBLAS once per process (per worker thread) and returns the binding, or why not.
 * `SPECPIPE_NO_NATIVE=1` disables it (the JavaScript kernels stay).
 */
export function loadOpenBlas(): { ok: true; blas: OpenBlas } | { ok: false; reason: string } {
  const key = `${process.env.SPECPIPE_NO_NATIVE ?? ''}|${process.env.SPECPIPE_OPENBLAS_LIB ?? ''}`;
  if (cached !== undefined && cachedKey === key) return cached;
  cachedKey = key;
  cached = loadUncached();
  return cached;
}

function loadUncached(): { ok: true; blas: OpenBlas } | { ok: false; reason: string } {
  if (process.env.SPECPIPE_NO_NATIVE === '1') {
    return { ok: false, reason: 'native kernels disabled by SPECPIPE_NO_NATIVE=1' };
  }
  const k = loadKoffi();
  if (!k.ok) return k;
  const koffi = k.koffi;
  const names = process.env.SPECPIPE_OPENBLAS_LIB ? [process.env.SPECPIPE_OPENBLAS_LIB] : DEFAULT_NAMES;
  const failures: string[] = [];
  for (const name of names) {
    let lib: ReturnType<KoffiModule['load']>;
    try {
      lib = koffi.load(name);
    } catch (e) {
      failures.push(`${name}: ${firstLine(e)}`);
      continue;
    }
    try {
      const gemm = lib.func(
        'void cblas_sgemm(int order, int transA, int transB, int m, int n, int k, float alpha, const float *a, int lda, const float *b, int ldb, float beta, float *c, int ldc)',
      ) as (...args: unknown[]) => void;
      const setN = lib.func('void openblas_set_num_threads(int n)') as (n: number) => void;
      const getN = lib.func('int openblas_get_num_threads()') as () => number;
      const blas: OpenBlas = {
        library: name,
        sgemm(transA, transB, m, n, kk, alpha, a, lda, b, ldb, beta, c, ldc) {
          if (m === 0 || n === 0) return;
          gemm(
            CBLAS_ROW_MAJOR,
            transA ? CBLAS_TRANS : CBLAS_NO_TRANS,
            transB ? CBLAS_TRANS : CBLAS_NO_TRANS,
            m,
            n,
            kk,
            alpha,
            a,
            Math.max(1, lda),
            b,
            Math.max(1, ldb),
            beta,
            c,
            Math.max(1, ldc),
          );
        },
        setThreads(t: number) {
          setN(t);
          return getN();
        },
        getThreads: () => getN(),
      };
      return { ok: true, blas };
    } catch (e) {
      failures.push(`${name}: ${firstLine(e)}`);
    }
  }
  return { ok: false, reason: `libopenblas could not be loaded (${failures.join('; ')})` };
}

let mallocTuned: boolean | undefined;

/**
 * Keeps large freed blocks in glibc's heap instead of returning them to the OS, so the many
 * short-lived multi-megabyte Float32Arrays of a gradient step reuse already-mapped pages rather
 * than page-faulting fresh ones (mallopt: M_MMAP_THRESHOLD = 32 MiB, its maximum; M_TRIM_THRESHOLD
 * = 1 GiB; M_TOP_PAD = 64 MiB). Measured on a LeNet gradient step at batch 256: CPU time per step
 * 65–70 → 58–62 ms (min), median 87–134 → 74–87 ms; the page-fault (system) time of the
 * elementwise kernels was most of their cost. Process-wide; peak memory is unchanged, but freed
 * memory stays with the process. Off with SPECPIPE_MALLOC_TUNE=0; a no-op where libc is not glibc.
 * Returns whether the settings were applied (once per process).
 */
export function tuneMallocForLargeArrays(): boolean {
  if (mallocTuned !== undefined) return mallocTuned;
  mallocTuned = false;
  if (process.env.SPECPIPE_MALLOC_TUNE === '0' || process.platform !== 'linux') return false;
  const k = loadKoffi();
  if (!k.ok) return false;
  try {
    const libc = k.koffi.load('libc.so.6');
    const mallopt = libc.func('int mallopt(int param, int value)') as (p: number, v: number) => number;
    const M_TRIM_THRESHOLD = -1;
    const M_TOP_PAD = -2;
    const M_MMAP_THRESHOLD = -3;
    mallocTuned =
      mallopt(M_MMAP_THRESHOLD, 32 * 1024 * 1024) === 1 &&
      mallopt(M_TRIM_THRESHOLD, 1024 * 1024 * 1024) === 1 &&
      mallopt(M_TOP_PAD, 64 * 1024 * 1024) === 1;
  } catch {
    mallocTuned = false;
  }
  return mallocTuned;
}
