/**
 * C source of specpipe's own single-precision GEMM (issue 14, item 5: "no silent slow path"), the
 * matrix product the cpu backend uses when OpenBLAS cannot be loaded. Concatenated into the native
 * kernel library (elementwiseSource.ts's NATIVE_C_SOURCE), compiled on first use with the system C
 * compiler and bound in elementwiseLibrary.ts (`NativeKernels.sgemm`).
 *
 * C ← α·op(A)·op(B) + β·C, row-major, op(X) = X or Xᵀ (cblas_sgemm's contract with CBLAS order
 * 101; β = 0 overwrites C without reading it). The structure is the Goto/BLIS one:
 *   for each NC-column block of op(B):  for each KC-deep slice:  pack op(B)[KC × NC] into
 *   NR-column panels;  for each MC-row block of op(A):  pack op(A)[MC × KC] into MR-row panels;
 *   for every NR panel, for every MR panel: an MR × NR micro-kernel holds its C tile in vector
 *   registers across the KC-long sum (per step: two NR/2-wide loads of B, MR broadcasts of A,
 *   2·MR fused multiply-adds).
 * Transposes are absorbed by the packing, so the micro-kernel sees one layout.
 *
 * Micro-kernels, picked at run time (like the direct convolution's sp_cv_isa), written once with
 * GCC/clang vector extensions and instantiated per target:
 *   AVX-512:   MR = 12, NR = 32 (24 zmm accumulators of the 32)
 *   AVX2+FMA:  MR = 6,  NR = 16 (12 ymm accumulators of the 16)
 *   portable:  MR = 4,  NR = 8  (8 accumulators of 4 floats: SSE2 on x86-64, NEON on arm64)
 * SPECPIPE_NATIVE_ISA (0 portable, 1 at most AVX2) and sp_gemm_isa(cap) cap the choice.
 *
 * Threads: "threads" pthreads (the caller plus threads − 1) each compute a contiguous block of
 * C's columns (or rows, when C is taller than wide in tiles), packing their own panels; products
 * under 2^21 multiply-adds run on the calling thread alone (a guess, not tuned: too small to repay a thread start).
 *
 * Blocking KC = 256, MC = 144, NC = 2048: first choices, not tuned.
 *
 * Measured (bench/fallback.bench.ts, 1 thread, 2-core AMD EPYC with AVX-512, load average ≈ 19,
 * against Debian's OpenBLAS 0.3.21), GFLOP/s on the default pipeline's MLP 784-64-64-10 products at
 * batch 256 and 64 (forward, input and weight gradient of each layer): AVX-512 micro-kernel 66–174 vs
 * OpenBLAS 63–100, faster on each of the 14 shapes with outputs ≥ 64 wide; AVX2+FMA 52–98 vs 63–102
 * (0.8–1.0×); the 4 products with a 10-wide output (1% of the flops) slower: 13–32 vs 20–55.
 *
 * Sums are float32, each C entry's k-terms added in order within a KC slice (slices of 256);
 * results differ from tfjs's and OpenBLAS's by float32 rounding only.
 */
export const GEMM_C_SOURCE = String.raw`
/* ---- specpipe sgemm (gemmSource.ts) ---- */
typedef float sp_gm_v4 __attribute__((vector_size(16)));
typedef float sp_gm_v8 __attribute__((vector_size(32)));
typedef float sp_gm_v16 __attribute__((vector_size(64)));
#define SP_GM_KC 256
#define SP_GM_MC 144
#define SP_GM_NC 2048
#define SP_GM_LD(VT, dst, p) __builtin_memcpy(&(dst), (p), sizeof(VT))
#define SP_GM_ST(VT, p, v) do { VT sp_gm_t_ = (v); __builtin_memcpy((p), &sp_gm_t_, sizeof(VT)); } while (0)

typedef struct {
  int transA, transB;
  int64_t m, n, k;
  float alpha;
  const float *a; int64_t lda;
  const float *b; int64_t ldb;
  float beta;
  float *c; int64_t ldc;
} sp_gm_args;

/* pa[panel][p][r] = op(A)[i0 + panel·MR + r][p0 + p], rows past mc zero. */
static void sp_gm_pack_a(const sp_gm_args *g, int64_t i0, int64_t mc, int64_t p0, int64_t kc, int64_t MR, float *pa) {
  for (int64_t ir = 0; ir < mc; ir += MR) {
    const int64_t rows = mc - ir < MR ? mc - ir : MR;
    if (g->transA) {
      /* op(A)[i][p] = a[p·lda + i]: each p reads MR consecutive floats */
      for (int64_t p = 0; p < kc; p++) {
        const float *src = g->a + (p0 + p) * g->lda + i0 + ir;
        float *dst = pa + p * MR;
        int64_t r = 0;
        for (; r < rows; r++) dst[r] = src[r];
        for (; r < MR; r++) dst[r] = 0.0f;
      }
    } else {
      int64_t r = 0;
      for (; r < rows; r++) {
        const float *src = g->a + (i0 + ir + r) * g->lda + p0;
        for (int64_t p = 0; p < kc; p++) pa[p * MR + r] = src[p];
      }
      for (; r < MR; r++) for (int64_t p = 0; p < kc; p++) pa[p * MR + r] = 0.0f;
    }
    pa += MR * kc;
  }
}

/* pb[panel][p][j] = op(B)[p0 + p][j0 + panel·NR + j], columns past nc zero. */
static void sp_gm_pack_b(const sp_gm_args *g, int64_t j0, int64_t nc, int64_t p0, int64_t kc, int64_t NR, float *pb) {
  for (int64_t jr = 0; jr < nc; jr += NR) {
    const int64_t cols = nc - jr < NR ? nc - jr : NR;
    if (g->transB) {
      /* op(B)[p][j] = b[j·ldb + p] */
      int64_t j = 0;
      for (; j < cols; j++) {
        const float *src = g->b + (j0 + jr + j) * g->ldb + p0;
        for (int64_t p = 0; p < kc; p++) pb[p * NR + j] = src[p];
      }
      for (; j < NR; j++) for (int64_t p = 0; p < kc; p++) pb[p * NR + j] = 0.0f;
    } else {
      for (int64_t p = 0; p < kc; p++) {
        const float *src = g->b + (p0 + p) * g->ldb + j0 + jr;
        float *dst = pb + p * NR;
        if (cols == NR) memcpy(dst, src, (size_t)NR * sizeof(float));
        else { memcpy(dst, src, (size_t)cols * sizeof(float)); memset(dst + cols, 0, (size_t)(NR - cols) * sizeof(float)); }
      }
    }
    pb += NR * kc;
  }
}

/* C[mr × nr tile] ← α·(pa panel · pb panel) + β·C (β = 0: C not read). MR × 2 vectors of VL accumulators. */
#define SP_GM_MICRO_BODY(VT, VL, MR) \
  VT acc[MR][2]; \
  for (int i = 0; i < MR; i++) { acc[i][0] = (VT){0}; acc[i][1] = (VT){0}; } \
  for (int64_t p = 0; p < kc; p++) { \
    VT b0, b1; SP_GM_LD(VT, b0, pb); SP_GM_LD(VT, b1, pb + VL); \
    for (int i = 0; i < MR; i++) { const float ai = pa[i]; acc[i][0] += ai * b0; acc[i][1] += ai * b1; } \
    pa += MR; pb += 2 * VL; \
  } \
  if (mr == MR && nr == 2 * VL) { \
    for (int i = 0; i < MR; i++) { \
      float *ci = c + i * ldc; \
      if (beta == 0.0f) { SP_GM_ST(VT, ci, alpha * acc[i][0]); SP_GM_ST(VT, ci + VL, alpha * acc[i][1]); } \
      else { VT c0, c1; SP_GM_LD(VT, c0, ci); SP_GM_LD(VT, c1, ci + VL); \
             SP_GM_ST(VT, ci, alpha * acc[i][0] + beta * c0); SP_GM_ST(VT, ci + VL, alpha * acc[i][1] + beta * c1); } \
    } \
  } else { \
    float tile[MR * 2 * VL]; \
    for (int i = 0; i < MR; i++) { SP_GM_ST(VT, tile + i * 2 * VL, acc[i][0]); SP_GM_ST(VT, tile + i * 2 * VL + VL, acc[i][1]); } \
    for (int64_t i = 0; i < mr; i++) \
      for (int64_t j = 0; j < nr; j++) { \
        const float t = alpha * tile[i * 2 * VL + j]; \
        c[i * ldc + j] = beta == 0.0f ? t : t + beta * c[i * ldc + j]; \
      } \
  }

/* The blocked loops over one job's C block (rows [i0, i1), columns [j0, j1)); pa/pb: packing buffers. */
#define SP_GM_BLOCK_BODY(VAR, MR, NR) \
  for (int64_t jc = j0; jc < j1; jc += SP_GM_NC) { \
    const int64_t nc = j1 - jc < SP_GM_NC ? j1 - jc : SP_GM_NC; \
    for (int64_t pc = 0; pc < g->k; pc += SP_GM_KC) { \
      const int64_t kc = g->k - pc < SP_GM_KC ? g->k - pc : SP_GM_KC; \
      const float beta = pc == 0 ? g->beta : 1.0f; \
      sp_gm_pack_b(g, jc, nc, pc, kc, NR, pb); \
      for (int64_t ic = i0; ic < i1; ic += SP_GM_MC) { \
        const int64_t mc = i1 - ic < SP_GM_MC ? i1 - ic : SP_GM_MC; \
        sp_gm_pack_a(g, ic, mc, pc, kc, MR, pa); \
        for (int64_t jr = 0; jr < nc; jr += NR) \
          for (int64_t ir = 0; ir < mc; ir += MR) \
            sp_gm_micro_##VAR(kc, pa + ir * kc, pb + jr * kc, g->c + (ic + ir) * g->ldc + jc + jr, g->ldc, g->alpha, beta, \
                              mc - ir < MR ? mc - ir : MR, nc - jr < NR ? nc - jr : NR); \
      } \
    } \
  }

#define SP_GM_KERNELS(VAR, ATTR, VT, VL, MR) \
ATTR static void sp_gm_micro_##VAR(int64_t kc, const float *pa, const float *pb, float *c, int64_t ldc, float alpha, float beta, \
                                   int64_t mr, int64_t nr) { SP_GM_MICRO_BODY(VT, VL, MR) } \
ATTR static void sp_gm_block_##VAR(const sp_gm_args *g, int64_t i0, int64_t i1, int64_t j0, int64_t j1, float *pa, float *pb) { \
  SP_GM_BLOCK_BODY(VAR, MR, 2 * VL) }
SP_GM_KERNELS(base, , sp_gm_v4, 4, 4)
#if defined(__x86_64__) && (defined(__GNUC__) || defined(__clang__))
SP_GM_KERNELS(avx2, __attribute__((target("avx2,fma"))), sp_gm_v8, 8, 6)
SP_GM_KERNELS(avx512, __attribute__((target("avx512f,avx2,fma"))), sp_gm_v16, 16, 12)
/* 2 AVX-512, 1 AVX2+FMA, 0 portable; capped by SPECPIPE_NATIVE_ISA (read once) and sp_gemm_isa. */
static int sp_gm_cap = 2;
static int sp_gm_isa(void) {
  static int known = -1;
  if (known < 0) {
    __builtin_cpu_init();
    int isa = __builtin_cpu_supports("avx512f") ? 2 : __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma") ? 1 : 0;
    const char *e = getenv("SPECPIPE_NATIVE_ISA");
    if (e && e[0] >= '0' && e[0] <= '2' && e[0] - '0' < isa) isa = e[0] - '0';
    known = isa;
  }
  return known < sp_gm_cap ? known : sp_gm_cap;
}
int sp_gemm_isa(int32_t cap) { if (cap >= 0) sp_gm_cap = cap; return sp_gm_isa(); }
#else
static int sp_gm_isa(void) { return 0; }
int sp_gemm_isa(int32_t cap) { (void)cap; return 0; }
#endif

static void sp_gm_tile(int isa, int64_t *MR, int64_t *NR) {
  *MR = isa == 2 ? 12 : isa == 1 ? 6 : 4;
  *NR = isa == 2 ? 32 : isa == 1 ? 16 : 8;
}

typedef struct { const sp_gm_args *g; int isa; int64_t i0, i1, j0, j1; int ok; } sp_gm_job;

static void *sp_gm_work(void *arg) {
  sp_gm_job *jb = (sp_gm_job *)arg;
  const sp_gm_args *g = jb->g;
  int64_t MR, NR;
  sp_gm_tile(jb->isa, &MR, &NR);
  const int64_t rows = jb->i1 - jb->i0, cols = jb->j1 - jb->j0;
  if (rows <= 0 || cols <= 0) { jb->ok = 1; return 0; }
  const int64_t kc = g->k < SP_GM_KC ? g->k : SP_GM_KC;
  const int64_t mc = (rows < SP_GM_MC ? rows : SP_GM_MC) + MR;
  const int64_t nc = (cols < SP_GM_NC ? cols : SP_GM_NC) + NR;
  void *pav = 0, *pbv = 0;
  if (posix_memalign(&pav, 64, (size_t)(mc * kc) * sizeof(float)) != 0) pav = 0;
  if (posix_memalign(&pbv, 64, (size_t)(nc * kc) * sizeof(float)) != 0) pbv = 0;
  float *pa = (float *)pav, *pb = (float *)pbv;
  if (!pa || !pb) { free(pa); free(pb); jb->ok = 0; return 0; }
#if defined(__x86_64__) && (defined(__GNUC__) || defined(__clang__))
  if (jb->isa == 2) sp_gm_block_avx512(g, jb->i0, jb->i1, jb->j0, jb->j1, pa, pb);
  else if (jb->isa == 1) sp_gm_block_avx2(g, jb->i0, jb->i1, jb->j0, jb->j1, pa, pb);
  else
#endif
  sp_gm_block_base(g, jb->i0, jb->i1, jb->j0, jb->j1, pa, pb);
  free(pa); free(pb);
  jb->ok = 1;
  return 0;
}

#define SP_GM_MAX_THREADS 16
/* Row-major C ← α·op(A)·op(B) + β·C (cblas_sgemm with order 101). Returns 1, or 0 when memory
   for the packed panels ran out (C then partly written). */
int sp_sgemm(int32_t transA, int32_t transB, int64_t m, int64_t n, int64_t k, float alpha, const float *a, int64_t lda,
             const float *b, int64_t ldb, float beta, float *c, int64_t ldc, int32_t threads) {
  if (m <= 0 || n <= 0) return 1;
  if (k <= 0 || alpha == 0.0f) {
    for (int64_t i = 0; i < m; i++)
      for (int64_t j = 0; j < n; j++) c[i * ldc + j] = beta == 0.0f ? 0.0f : beta * c[i * ldc + j];
    return 1;
  }
  const sp_gm_args g = { transA != 0, transB != 0, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc };
  const int isa = sp_gm_isa();
  int64_t MR, NR;
  sp_gm_tile(isa, &MR, &NR);
  const int64_t rowTiles = (m + MR - 1) / MR, colTiles = (n + NR - 1) / NR;
  const int splitCols = colTiles >= rowTiles;
  const int64_t tiles = splitCols ? colTiles : rowTiles;
  int64_t T = threads < 1 ? 1 : threads > SP_GM_MAX_THREADS ? SP_GM_MAX_THREADS : threads;
  if (T > tiles) T = tiles;
  if (m * n * k < ((int64_t)1 << 21)) T = 1;
  sp_gm_job jobs[SP_GM_MAX_THREADS];
  pthread_t tid[SP_GM_MAX_THREADS];
  int started[SP_GM_MAX_THREADS];
  for (int64_t t = 0; t < T; t++) {
    const int64_t lo = tiles * t / T, hi = tiles * (t + 1) / T;
    sp_gm_job j = { &g, isa, 0, m, 0, n, 0 };
    if (splitCols) { j.j0 = lo * NR; j.j1 = hi * NR < n ? hi * NR : n; }
    else { j.i0 = lo * MR; j.i1 = hi * MR < m ? hi * MR : m; }
    jobs[t] = j;
  }
  for (int64_t t = 1; t < T; t++) started[t] = pthread_create(&tid[t], 0, sp_gm_work, &jobs[t]) == 0;
  sp_gm_work(&jobs[0]);
  for (int64_t t = 1; t < T; t++) { if (started[t]) pthread_join(tid[t], 0); else sp_gm_work(&jobs[t]); }
  int ok = 1;
  for (int64_t t = 0; t < T; t++) ok &= jobs[t].ok;
  return ok;
}
`;
