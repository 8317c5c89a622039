/* Memory-safety harness for the native kernel library (src/backend/native/elementwiseSource.ts),
   built by scripts/native-sanitize.mjs with -fsanitize=address,undefined: every kernel on random
   shapes, edge cases included (zero-size, one element, odd sizes, unaligned tails for the vector
   paths, padding wider than the image). Buffers are allocated to their exact size, so a read or
   write one element past the end is reported. Numbers are not checked here (the node tests compare
   each kernel with tfjs); this checks memory. Usage: harness SEED ROUNDS */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void sp_unary(int op, const float *x, float *y, int64_t n, float alpha);
void sp_binary(int op, int mode, const float *a, const float *b, float *y, int64_t n, int64_t inner);
void sp_sum_rows(const float *x, float *y, int64_t rows, int64_t cols);
void sp_sum_cols(const float *x, float *y, int64_t rows, int64_t cols);
void sp_im2col(const float *x, const int32_t *g, int64_t n0, int64_t count, float *cols);
void sp_col2im(const float *cols, const int32_t *g, int64_t n0, int64_t count, float *dx);
void sp_maxpool(const float *x, const int32_t *g, float *y);
void sp_maxpool_grad(const float *x, const float *dy, const int32_t *g, float *dx);
void sp_maxpool_route(const float *x, const float *ddx, const int32_t *g, float *ddy);
void sp_avgpool(const float *x, const int32_t *g, float *y);
void sp_avgpool_grad(const float *dy, const int32_t *g, float *dx);
void sp_transpose(const uint32_t *x, uint32_t *y, int32_t rank, const int32_t *shape, const int32_t *perm);
void sp_basis_dots_f(const float *V, int64_t first, int64_t count, int64_t n, const double *w, double *c, int32_t threads);
void sp_basis_dots_d(const double *V, int64_t first, int64_t count, int64_t n, const double *w, double *c, int32_t threads);
void sp_basis_axpy_f(const float *V, int64_t first, int64_t count, int64_t n, const double *s, double *y, int32_t threads);
void sp_basis_axpy_d(const double *V, int64_t first, int64_t count, int64_t n, const double *s, double *y, int32_t threads);
int sp_conv_direct(int32_t mode, const int32_t *g, const float *x, const float *w, float *out, int32_t threads);
int sp_conv_isa(int32_t cap);
int sp_sgemm(int32_t transA, int32_t transB, int64_t m, int64_t n, int64_t k, float alpha, const float *a, int64_t lda,
             const float *b, int64_t ldb, float beta, float *c, int64_t ldc, int32_t threads);
int sp_gemm_isa(int32_t cap);

static uint64_t rng;
static uint32_t next(void) { rng ^= rng << 13; rng ^= rng >> 7; rng ^= rng << 17; return (uint32_t)(rng >> 16); }
static int64_t pick(int64_t lo, int64_t hi) { return lo + (int64_t)(next() % (uint32_t)(hi - lo + 1)); }
/* Sizes: mostly small, sometimes around the vector widths and the tiling thresholds. */
static int64_t size(void) {
  static const int64_t edge[] = {0, 1, 2, 3, 4, 5, 7, 8, 9, 15, 16, 17, 31, 33, 63, 64, 65, 255, 256, 257, 1023, 1024, 1025, 4097};
  return next() % 3 == 0 ? edge[next() % (sizeof edge / sizeof edge[0])] : pick(0, 300);
}
static float *floats(int64_t n) {
  float *p = (float *)malloc((size_t)(n > 0 ? n : 1) * sizeof(float));
  static const float special[] = {0.0f, -0.0f, 1.0f / 0.0f, -1.0f / 0.0f, 0.0f / 0.0f, 1e-40f, 3.4e38f, -88.0f, 89.0f};
  for (int64_t i = 0; i < n; i++) p[i] = next() % 16 == 0 ? special[next() % 9] : (float)((int32_t)next() % 2000) / 100.0f;
  return p;
}
static double *doubles(int64_t n) {
  double *p = (double *)malloc((size_t)(n > 0 ? n : 1) * sizeof(double));
  for (int64_t i = 0; i < n; i++) p[i] = (double)((int32_t)next() % 2000) / 100.0;
  return p;
}

/* Geometry as tfjs computes it (conv_util computeConv2DInfo): valid, same, or explicit pads. */
static void geometry(int32_t *g, int pool) {
  const int64_t N = pick(1, 3), H = pick(1, 12), W = pick(1, 12), C = next() % 4 == 0 ? pick(1, 40) : pick(1, 6);
  const int64_t FH = pick(1, 6), FW = pick(1, 6), SH = pick(1, 4), SW = pick(1, 4);
  int64_t PT, PB, PL, PR, OH, OW;
  const int how = (int)(next() % 3);
  if (how == 0) { /* valid */
    PT = PB = PL = PR = 0;
  } else if (how == 1) { /* same */
    OH = (H + SH - 1) / SH; OW = (W + SW - 1) / SW;
    const int64_t ph = (OH - 1) * SH + FH - H, pw = (OW - 1) * SW + FW - W;
    PT = (ph > 0 ? ph : 0) / 2; PB = (ph > 0 ? ph : 0) - PT; PL = (pw > 0 ? pw : 0) / 2; PR = (pw > 0 ? pw : 0) - PL;
  } else { /* explicit, possibly wider than the image */
    PT = pick(0, 6); PB = pick(0, 6); PL = pick(0, 6); PR = pick(0, 6);
  }
  OH = (H + PT + PB - FH) / SH + 1;
  OW = (W + PL + PR - FW) / SW + 1;
  if (H + PT + PB < FH) OH = 0;
  if (W + PL + PR < FW) OW = 0;
  (void)pool;
  const int32_t v[12] = {(int32_t)N, (int32_t)H, (int32_t)W, (int32_t)C, (int32_t)OH, (int32_t)OW,
                         (int32_t)FH, (int32_t)FW, (int32_t)SH, (int32_t)SW, (int32_t)PT, (int32_t)PL};
  memcpy(g, v, sizeof v);
}

static void unary_binary(void) {
  const int64_t n = size();
  float *x = floats(n), *y = floats(n);
  sp_unary((int)(next() % 10), x, y, n, 0.5f);
  const int mode = (int)(next() % 7);
  int64_t inner = size();
  if (inner == 0) inner = 1;
  int64_t total = n;
  if (mode >= 3) total = inner * pick(0, next() % 4 == 0 ? 40 : 5); /* whole repeats */
  if (next() % 8 == 0 && mode >= 3) total = inner * 64; /* reaches the tiled path (n ≥ 1024) for inner ≥ 16 */
  const int64_t la = mode == 2 ? 1 : mode == 4 ? inner : mode == 6 ? total / inner : total;
  const int64_t lb = mode == 1 ? 1 : mode == 3 ? inner : mode == 5 ? total / inner : total;
  float *a = floats(la), *b = floats(lb), *out = floats(total);
  sp_binary((int)(next() % 4), mode, a, b, out, total, mode >= 3 ? inner : 1);
  free(x); free(y); free(a); free(b); free(out);
}

static void sums(void) {
  const int64_t rows = next() % 6 == 0 ? pick(1024, 3000) : size(), cols = next() % 2 ? pick(0, 70) : size();
  float *x = floats(rows * cols), *yr = floats(rows), *yc = floats(cols);
  sp_sum_rows(x, yr, rows, cols);
  sp_sum_cols(x, yc, rows, cols);
  free(x); free(yr); free(yc);
}

static void images(void) {
  int32_t g[13];
  geometry(g, 0);
  const int64_t N = g[0], H = g[1], W = g[2], C = g[3], OH = g[4], OW = g[5], FH = g[6], FW = g[7];
  const int64_t n0 = pick(0, N - 1), count = pick(0, N - n0);
  float *x = floats(N * H * W * C), *cols = floats(count * OH * OW * FH * FW * C), *dx = floats(N * H * W * C);
  sp_im2col(x, g, n0, count, cols);
  sp_col2im(cols, g, n0, count, dx);
  free(cols);
  float *y = floats(N * OH * OW * C), *dy = floats(N * OH * OW * C);
  sp_maxpool(x, g, y);
  sp_maxpool_grad(x, dy, g, dx);
  sp_maxpool_route(x, dx, g, y);
  if (OH > 0 && OW > 0) sp_avgpool(x, g, y);
  sp_avgpool_grad(dy, g, dx);
  free(x); free(dx); free(y); free(dy);
}

static void convolution(void) {
  int32_t g[13];
  geometry(g, 0);
  g[9] = 1; /* SW = 1 (directConvolutionApplies) */
  const int mode = (int)(next() % 3);
  if (mode == 2) { g[8] = 1; g[10] = g[10] % g[6]; g[11] = g[11] % g[7]; }
  const int64_t H = g[1], W = g[2], PB = next() % 3;
  g[4] = H + g[10] + PB >= g[6] ? (int32_t)((H + g[10] + PB - g[6]) / g[8] + 1) : 0;
  g[5] = W + g[11] + PB >= g[7] ? (int32_t)(W + g[11] + PB - g[7] + 1) : 0;
  const int64_t N = g[0], C = g[3], OH = g[4], OW = g[5], FH = g[6], FW = g[7];
  int64_t O = pick(1, 12);
  const int64_t patch = FH * FW * C;
  if (mode == 1 && (patch > 32 || O > 8)) return;
  if (mode != 1 && patch > 32 && O > 8) O = 8;
  g[12] = (int32_t)O;
  const int threads = (int)pick(1, 3);
  if (mode == 0) {
    float *x = floats(N * H * W * C), *w = floats(patch * O), *y = floats(N * OH * OW * O);
    sp_conv_direct(0, g, x, w, y, threads);
    free(x); free(w); free(y);
  } else if (mode == 1) {
    float *x = floats(N * H * W * C), *dy = floats(N * OH * OW * O), *dw = floats(patch * O);
    sp_conv_direct(1, g, x, dy, dw, threads);
    free(x); free(dy); free(dw);
  } else {
    float *dy = floats(N * OH * OW * O), *w = floats(patch * O), *dx = floats(N * H * W * C);
    memset(dx, 0, (size_t)(N * H * W * C > 0 ? N * H * W * C : 1) * sizeof(float));
    sp_conv_direct(2, g, dy, w, dx, threads);
    free(dy); free(w); free(dx);
  }
}

/* specpipe's sgemm on operands sized exactly ((rows − 1)·ld + cols floats), padded leading
   dimensions, all transposes, β 0 or not, 1–3 threads; products up to ~2^23 multiply-adds. */
static void gemm(void) {
  const int64_t m = size() % 400, n = size() % 400, k = size() % 600;
  if (m * n * k > ((int64_t)1 << 23)) return;
  const int ta = (int)(next() % 2), tb = (int)(next() % 2), threads = (int)pick(1, 3);
  const int64_t rowsA = ta ? k : m, colsA = ta ? m : k, rowsB = tb ? n : k, colsB = tb ? k : n;
  const int64_t lda = colsA + pick(0, 2) + (colsA == 0), ldb = colsB + pick(0, 2) + (colsB == 0), ldc = n + pick(0, 2) + (n == 0);
  const int64_t sizeA = rowsA > 0 ? (rowsA - 1) * lda + colsA : 0, sizeB = rowsB > 0 ? (rowsB - 1) * ldb + colsB : 0;
  const int64_t sizeC = m > 0 ? (m - 1) * ldc + n : 0;
  float *a = floats(sizeA), *b = floats(sizeB), *c = floats(sizeC);
  const float beta = next() % 2 ? 0.0f : 0.5f;
  sp_sgemm(ta, tb, m, n, k, 1.0f, a, lda, b, ldb, beta, c, ldc, threads);
  free(a); free(b); free(c);
}

static void transpose(void) {
  const int32_t rank = (int32_t)pick(1, 6);
  int32_t shape[8], perm[8];
  int64_t total = 1;
  for (int32_t d = 0; d < rank; d++) { shape[d] = (int32_t)(next() % 5 == 0 ? pick(30, 70) : pick(0, 5)); total *= shape[d]; perm[d] = d; }
  if (total > 200000) return;
  for (int32_t d = rank - 1; d > 0; d--) { const int32_t j = (int32_t)(next() % (uint32_t)(d + 1)), t = perm[d]; perm[d] = perm[j]; perm[j] = t; }
  uint32_t *x = (uint32_t *)floats(total), *y = (uint32_t *)floats(total);
  sp_transpose(x, y, rank, shape, perm);
  free(x); free(y);
}

static void basis(void) {
  const int64_t first = pick(0, 3), count = pick(0, 5), n = next() % 10 == 0 ? pick(16380, 40000) : size();
  const int threads = (int)pick(1, 4);
  float *Vf = floats((first + count) * n);
  double *Vd = doubles((first + count) * n), *w = doubles(n), *c = doubles(count), *y = doubles(n);
  sp_basis_dots_f(Vf, first, count, n, w, c, threads);
  sp_basis_dots_d(Vd, first, count, n, w, c, threads);
  sp_basis_axpy_f(Vf, first, count, n, c, y, threads);
  sp_basis_axpy_d(Vd, first, count, n, c, y, threads);
  free(Vf); free(Vd); free(w); free(c); free(y);
}

int main(int argc, char **argv) {
  const uint64_t seed = argc > 1 ? strtoull(argv[1], 0, 10) : 1;
  const long rounds = argc > 2 ? strtol(argv[2], 0, 10) : 500;
  rng = seed * 2654435761u + 1;
  { /* Regression: left padding wider than the windows reach (W = 1, PL = 6, FW = 1, SW = 4: Wp = 5 < PL). */
    const int32_t g[12] = {1, 1, 1, 3, 1, 2, 1, 1, 1, 4, 0, 6};
    float *x = floats(3), *cols = floats(2 * 3);
    sp_im2col(x, g, 0, 1, cols);
    free(x); free(cols);
  }
  for (int isa = 0; isa <= 2; isa++) {
    const int got = sp_conv_isa(isa);
    sp_gemm_isa(isa);
    for (long r = 0; r < rounds; r++) {
      unary_binary();
      sums();
      images();
      convolution();
      transpose();
      gemm();
      if (r % 10 == 0) basis();
    }
    printf("isa cap %d (got %d): %ld rounds ok\n", isa, got, rounds);
  }
  printf("seed %llu: no sanitizer report\n", (unsigned long long)seed);
  return 0;
}
