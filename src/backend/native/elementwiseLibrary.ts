import { createHash } from 'node:crypto';
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { homedir, tmpdir } from 'node:os';
import { join } from 'node:path';
import { NATIVE_C_SOURCE, NATIVE_SOURCE_VERSION } from './elementwiseSource.js';
import { firstLine, loadKoffi, type RowMajorSgemm } from './openblasLibrary.js';

/** Typed binding to the functions of elementwiseSource.ts's C library. */
export interface NativeKernels {
  /** Path of the shared library loaded. */
  readonly library: string;
  unary(op: number, x: Float32Array, y: Float32Array, n: number, alpha: number): void;
  binary(op: number, mode: number, a: Float32Array, b: Float32Array, y: Float32Array, n: number, inner: number): void;
  sumRows(x: Float32Array, y: Float32Array, rows: number, cols: number): void;
  sumCols(x: Float32Array, y: Float32Array, rows: number, cols: number): void;
  im2col(x: Float32Array, g: Int32Array, n0: number, count: number, cols: Float32Array): void;
  col2im(cols: Float32Array, g: Int32Array, n0: number, count: number, dx: Float32Array): void;
  maxPool(x: Float32Array, g: Int32Array, y: Float32Array): void;
  maxPoolGrad(x: Float32Array, dy: Float32Array, g: Int32Array, dx: Float32Array): void;
  /** ddy[window] = ddx[first argmax of x in the window] (the adjoint of MaxPoolGrad in dy); 0 for a window with no number. */
  maxPoolRoute(x: Float32Array, ddx: Float32Array, g: Int32Array, ddy: Float32Array): void;
  avgPool(x: Float32Array, g: Int32Array, y: Float32Array): void;
  avgPoolGrad(dy: Float32Array, g: Int32Array, dx: Float32Array): void;
  /**
   * dx = dy·(1 − t²), t = tanh(x) (sp_tanh_grad: the Tanh gradient rule in one pass, bit for bit the
   * unfused Multiply(dy, Sub(1, Square(Tanh(x))))). Absent in the JavaScript fallbacks.
   */
  tanhGrad?(dy: Float32Array, x: Float32Array, dx: Float32Array, n: number): void;
  /**
   * out = ((−(g·dy))·(t·2))·(1 − t²), t = tanh(x): ∂/∂x of g·tanhGrad(dy, x) (sp_tanh_grad2, bit for
   * bit the unfused chain of tfjs gradient rules). Absent in the JavaScript fallbacks.
   */
  tanhGrad2?(g: Float32Array, dy: Float32Array, x: Float32Array, out: Float32Array, n: number): void;
  /**
   * Direct few-channel convolution (NHWC, HWIO filter, stride 1 in width, dilation 1), batch split
   * over `threads` pthreads. g: N H W C OH OW FH FW SH SW PT PL O. mode 0: out = conv(x, w);
   * 1: out = ∂/∂filter (x = input, w = dy); 2: out = ∂/∂input (x = dy, w = filter; needs SH = 1,
   * PT < FH, PL < FW). False (out unspecified) when an input holds NaN/±Inf, memory ran out or
   * the CPU lacks AVX2+FMA: the caller then uses im2col + sgemm. Absent in the JavaScript fallbacks.
   */
  convDirect?(mode: 0 | 1 | 2, g: Int32Array, x: Float32Array, w: Float32Array, out: Float32Array, threads: number): boolean;
  /**
   * The direct convolution's instruction set: 2 AVX-512, 1 AVX2+FMA, 0 none (it declines). A
   * `cap` ≥ 0 first limits it for this process (tests run the AVX2 code on AVX-512 machines);
   * −1 only reads it.
   */
  convIsa?(cap: number): number;
  /**
   * specpipe's own sgemm (gemmSource.ts), for when OpenBLAS is not loadable: row-major
   * C ← α·op(A)·op(B) + β·C (cblas_sgemm's contract, β = 0 not reading C), split over `threads`
   * pthreads. False when memory for the packed panels ran out. Absent in the JavaScript fallbacks.
   */
  sgemm?(...args: [...Parameters<RowMajorSgemm>, threads: number]): boolean;
  /**
   * The sgemm's micro-kernel: 2 AVX-512, 1 AVX2+FMA, 0 portable C. A `cap` ≥ 0 first limits it for
   * this process (tests run every variant on one machine); −1 only reads it.
   */
  gemmIsa?(cap: number): number;
  /**
   * y = x transposed by `perm` (32-bit words moved bit-exactly; Float32Array views of int32 data
   * are fine), shape/perm canonical as `transposeCanonical` returns them (rank ≤ 8).
   */
  transpose(x: Float32Array, y: Float32Array, shape: Int32Array, perm: Int32Array): void;
  /**
   * dst[r·dstStride + j] = src[r·srcStride + j] for r < rows, j < width (values moved exactly; the C
   * library moves 32-bit words, NaN payloads included; offsets go in as subarray views): Concat and SplitV
   * along one axis, one row per outer index.
   */
  copyRows(src: Float32Array, srcStride: number, dst: Float32Array, dstStride: number, rows: number, width: number): void;
  /**
   * Krylov basis Gram–Schmidt dots: c[cOffset + i] += Σ_k V[first + i, k]·w[k] for i < count, V
   * row-major with rows of length n (float32 or float64 rows, float64 sums; operation order of
   * KrylovBasis's JavaScript loops). `threads` (default 1) splits the entries of w over that many
   * threads, the result unchanged bit for bit; below 2^20 row entries it runs on one.
   */
  basisDots(
    V: Float32Array | Float64Array,
    first: number,
    count: number,
    n: number,
    w: Float64Array,
    c: Float64Array,
    cOffset: number,
    threads?: number,
  ): void;
  /**
   * c[i] = Σ_k V[i, k]·w[k] for i < count (V float64 row-major, rows of length n), each sum strictly
   * in order of k from +0: bit for bit the plain JavaScript loop (sp_dots_seq_d runs 8 rows at once).
   */
  dotsSequential(V: Float64Array, count: number, n: number, w: Float64Array, c: Float64Array): void;
  /**
   * K = V Vᵀ (m × m, row-major; V float64 m × n row-major), each entry summed strictly in order of k
   * from +0: bit for bit the plain loop (sp_gram_seq_d: tiled, V read once).
   */
  gramSequential(V: Float64Array, m: number, n: number, K: Float64Array): void;
  /** y += Σ_i s[sOffset + i]·V[first + i, :] for i < count, rows in order (float64). */
  basisAxpy(
    V: Float32Array | Float64Array,
    first: number,
    count: number,
    n: number,
    s: Float64Array,
    sOffset: number,
    y: Float64Array,
    threads?: number,
  ): void;
}

/**
 * Where compiled libraries are cached: `SPECPIPE_NATIVE_DIR`, else ~/.cache/specpipe/native,
 * else <tmpdir>/specpipe-native. The file name carries a hash of the source and the compiler,
 * so an edited source or another compiler builds afresh.
 */
export function nativeCacheDir(): string {
  return process.env.SPECPIPE_NATIVE_DIR ?? join(homedir(), '.cache', 'specpipe', 'native');
}

let cached: { ok: true; kernels: NativeKernels } | { ok: false; reason: string } | undefined;
let cachedKey: string | undefined;

function libraryName(cc: string, flags: string[]): string {
  const h = createHash('sha256')
    .update(NATIVE_C_SOURCE)
    .update('\0')
    .update(cc)
    .update('\0')
    .update(flags.join(' '))
    .update(process.arch)
    .digest('hex')
    .slice(0, 16);
  return `specpipe-kernels-v${NATIVE_SOURCE_VERSION}-${h}.so`;
}

/** Deletes builds of other source versions/compilers (safe on POSIX even if one is loaded elsewhere). */
function removeOtherBuilds(dir: string, keep: string): void {
  try {
    for (const f of readdirSync(dir)) {
      const p = join(dir, f);
      if (p !== keep && /^specpipe-kernels-v\d+-[0-9a-f]{16}\.so$/.test(f)) rmSync(p, { force: true });
    }
  } catch {
    // best effort
  }
}

/**
 * Compiles the C library if no cached build exists (`cc -O3 -fPIC -shared -pthread`, compiler from `CC`,
 * default `cc`), atomically (temp file + rename, so concurrent processes and worker threads are
 * safe). Returns the library path or why it could not be built.
 */
export function buildNativeLibrary(): { ok: true; path: string; built: boolean } | { ok: false; reason: string } {
  const cc = process.env.CC ?? 'cc';
  const base = ['-O3', '-fPIC', '-shared', '-pthread', '-std=gnu99', '-fno-math-errno', '-fno-trapping-math'];
  const dirs = [nativeCacheDir(), join(tmpdir(), 'specpipe-native')];
  const failures: string[] = [];
  for (const dir of dirs) {
    {
      const flags = base;
      const path = join(dir, libraryName(cc, flags));
      if (existsSync(path)) return { ok: true, path, built: false };
      const stamp = `${process.pid}-${Math.random().toString(36).slice(2)}`;
      const src = join(dir, `src-${stamp}.c`);
      const tmp = join(dir, `tmp-${stamp}.so`);
      try {
        mkdirSync(dir, { recursive: true });
        writeFileSync(src, NATIVE_C_SOURCE);
        execFileSync(cc, [...flags, '-o', tmp, src, '-lm'], { stdio: ['ignore', 'ignore', 'pipe'], timeout: 120_000 });
        renameSync(tmp, path);
        removeOtherBuilds(dir, path);
        return { ok: true, path, built: true };
      } catch (e) {
        const err = e as { code?: string; stderr?: Buffer };
        if (err.code === 'ENOENT')
          return { ok: false, reason: `no C compiler: "${cc}" not found (set CC, or install gcc/clang)` };
        failures.push(`${dir}: ${err.stderr ? firstLine(err.stderr.toString()) : firstLine(e)}`);
      } finally {
        rmSync(src, { force: true });
        rmSync(tmp, { force: true });
      }
    }
  }
  return { ok: false, reason: `compiling the native kernels failed (${failures.join('; ')})` };
}

/**
 * Builds (on first use) and loads the native elementwise library, once per process/worker.
 * ok:false with the reason when SPECPIPE_NO_NATIVE=1 or SPECPIPE_NO_NATIVE_ELEMENTWISE=1, koffi
 * is missing, no compiler is available, or the library does not load.
 */
export function loadNativeKernels(): { ok: true; kernels: NativeKernels } | { ok: false; reason: string } {
  const key = `${process.env.SPECPIPE_NO_NATIVE ?? ''}|${process.env.SPECPIPE_NO_NATIVE_ELEMENTWISE ?? ''}|${process.env.CC ?? ''}|${process.env.SPECPIPE_NATIVE_DIR ?? ''}`;
  if (cached !== undefined && cachedKey === key) return cached;
  cachedKey = key;
  cached = loadUncached();
  return cached;
}

function loadUncached(): { ok: true; kernels: NativeKernels } | { ok: false; reason: string } {
  if (process.env.SPECPIPE_NO_NATIVE === '1') return { ok: false, reason: 'native kernels disabled by SPECPIPE_NO_NATIVE=1' };
  if (process.env.SPECPIPE_NO_NATIVE_ELEMENTWISE === '1')
    return { ok: false, reason: 'native elementwise kernels disabled by SPECPIPE_NO_NATIVE_ELEMENTWISE=1' };
  const k = loadKoffi();
  if (!k.ok) return k;
  const built = buildNativeLibrary();
  if (!built.ok) return built;
  try {
    const lib = k.koffi.load(built.path);
    const version = (lib.func('int sp_version()') as () => number)();
    if (version !== NATIVE_SOURCE_VERSION)
      return { ok: false, reason: `${built.path}: version ${version}, expected ${NATIVE_SOURCE_VERSION}` };
    const unary = lib.func('void sp_unary(int op, const float *x, float *y, int64_t n, float alpha)') as (
      ...a: unknown[]
    ) => void;
    const binary = lib.func(
      'void sp_binary(int op, int mode, const float *a, const float *b, float *y, int64_t n, int64_t inner)',
    ) as (...a: unknown[]) => void;
    const sumRows = lib.func('void sp_sum_rows(const float *x, float *y, int64_t rows, int64_t cols)') as (
      ...a: unknown[]
    ) => void;
    const sumCols = lib.func('void sp_sum_cols(const float *x, float *y, int64_t rows, int64_t cols)') as (
      ...a: unknown[]
    ) => void;
    const im2col = lib.func('void sp_im2col(const float *x, const int32_t *g, int64_t n0, int64_t count, float *cols)') as (
      ...a: unknown[]
    ) => void;
    const col2im = lib.func('void sp_col2im(const float *cols, const int32_t *g, int64_t n0, int64_t count, float *dx)') as (
      ...a: unknown[]
    ) => void;
    const maxPool = lib.func('void sp_maxpool(const float *x, const int32_t *g, float *y)') as (...a: unknown[]) => void;
    const maxPoolGrad = lib.func('void sp_maxpool_grad(const float *x, const float *dy, const int32_t *g, float *dx)') as (
      ...a: unknown[]
    ) => void;
    const maxPoolRoute = lib.func('void sp_maxpool_route(const float *x, const float *ddx, const int32_t *g, float *ddy)') as (
      ...a: unknown[]
    ) => void;
    const avgPool = lib.func('void sp_avgpool(const float *x, const int32_t *g, float *y)') as (...a: unknown[]) => void;
    const avgPoolGrad = lib.func('void sp_avgpool_grad(const float *dy, const int32_t *g, float *dx)') as (
      ...a: unknown[]
    ) => void;
    const transpose = lib.func(
      'void sp_transpose(const float *x, float *y, int32_t rank, const int32_t *shape, const int32_t *perm)',
    ) as (...a: unknown[]) => void;
    const copyRows = lib.func(
      'void sp_copy_rows(const float *src, int64_t srcStride, float *dst, int64_t dstStride, int64_t rows, int64_t width)',
    ) as (...a: unknown[]) => void;
    const dotsF = lib.func(
      'void sp_basis_dots_f(const float *V, int64_t first, int64_t count, int64_t n, const double *w, double *c, int32_t threads)',
    ) as (...a: unknown[]) => void;
    const dotsD = lib.func(
      'void sp_basis_dots_d(const double *V, int64_t first, int64_t count, int64_t n, const double *w, double *c, int32_t threads)',
    ) as (...a: unknown[]) => void;
    const axpyF = lib.func(
      'void sp_basis_axpy_f(const float *V, int64_t first, int64_t count, int64_t n, const double *s, double *y, int32_t threads)',
    ) as (...a: unknown[]) => void;
    const axpyD = lib.func(
      'void sp_basis_axpy_d(const double *V, int64_t first, int64_t count, int64_t n, const double *s, double *y, int32_t threads)',
    ) as (...a: unknown[]) => void;
    const convDirect = lib.func(
      'int sp_conv_direct(int32_t mode, const int32_t *g, const float *x, const float *w, float *out, int32_t threads)',
    ) as (...a: unknown[]) => number;
    const convIsa = lib.func('int sp_conv_isa(int32_t cap)') as (cap: number) => number;
    const gramSeq = lib.func('void sp_gram_seq_d(const double *V, int64_t m, int64_t n, double *K)') as (...a: unknown[]) => void;
    const dotsSeq = lib.func('void sp_dots_seq_d(const double *V, int64_t count, int64_t n, const double *w, double *c)') as (
      ...a: unknown[]
    ) => void;
    const tanhGrad = lib.func('void sp_tanh_grad(const float *dy, const float *x, float *dx, int64_t n)') as (
      ...a: unknown[]
    ) => void;
    const tanhGrad2 = lib.func('void sp_tanh_grad2(const float *g, const float *dy, const float *x, float *out, int64_t n)') as (
      ...a: unknown[]
    ) => void;
    const sgemm = lib.func(
      'int sp_sgemm(int32_t transA, int32_t transB, int64_t m, int64_t n, int64_t k, float alpha, const float *a, int64_t lda, const float *b, int64_t ldb, float beta, float *c, int64_t ldc, int32_t threads)',
    ) as (...a: unknown[]) => number;
    const gemmIsa = lib.func('int sp_gemm_isa(int32_t cap)') as (cap: number) => number;
    // Offsets into c and s go through subarray views (koffi passes a view's own start).
    const at = (a: Float64Array, offset: number): Float64Array => (offset === 0 ? a : a.subarray(offset));
    return {
      ok: true,
      kernels: {
        basisDots: (V, first, count, n, w, c, cOffset, threads = 1) =>
          (V instanceof Float32Array ? dotsF : dotsD)(V, first, count, n, w, at(c, cOffset), threads),
        basisAxpy: (V, first, count, n, s, sOffset, y, threads = 1) =>
          (V instanceof Float32Array ? axpyF : axpyD)(V, first, count, n, at(s, sOffset), y, threads),
        transpose: (x, y, shape, perm) => transpose(x, y, shape.length, shape, perm),
        copyRows: (src, srcStride, dst, dstStride, rows, width) => copyRows(src, srcStride, dst, dstStride, rows, width),
        convDirect: (mode, g, x, w, out, threads) => convDirect(mode, g, x, w, out, threads) === 1,
        convIsa: (cap) => convIsa(cap),
        sgemm: (transA, transB, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc, threads) =>
          sgemm(transA ? 1 : 0, transB ? 1 : 0, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc, threads) === 1,
        gemmIsa: (cap) => gemmIsa(cap),
        library: built.path,
        unary: (op, x, y, n, alpha) => unary(op, x, y, n, alpha),
        binary: (op, mode, a, b, y, n, inner) => binary(op, mode, a, b, y, n, inner),
        sumRows: (x, y, rows, cols) => sumRows(x, y, rows, cols),
        sumCols: (x, y, rows, cols) => sumCols(x, y, rows, cols),
        im2col: (x, g, n0, count, cols) => im2col(x, g, n0, count, cols),
        col2im: (cols, g, n0, count, dx) => col2im(cols, g, n0, count, dx),
        maxPool: (x, g, y) => maxPool(x, g, y),
        maxPoolGrad: (x, dy, g, dx) => maxPoolGrad(x, dy, g, dx),
        maxPoolRoute: (x, ddx, g, ddy) => maxPoolRoute(x, ddx, g, ddy),
        avgPool: (x, g, y) => avgPool(x, g, y),
        avgPoolGrad: (dy, g, dx) => avgPoolGrad(dy, g, dx),
        dotsSequential: (V, count, n, w, c) => dotsSeq(V, count, n, w, c),
        gramSequential: (V, m, n, K) => gramSeq(V, m, n, K),
        tanhGrad: (dy, x, dx, n) => tanhGrad(dy, x, dx, n),
        tanhGrad2: (g, dy, x, out, n) => tanhGrad2(g, dy, x, out, n),
      },
    };
  } catch (e) {
    return { ok: false, reason: `${built.path} could not be loaded (${firstLine(e)})` };
  }
}
