import { GEMM_C_SOURCE } from './gemmSource.js';

/**
 * C source of specpipe's small native kernel library (elementwise ops, reductions, pooling,
 * im2col), compiled on first use by elementwiseLibrary.ts with the system C compiler and loaded
 * through koffi. Kept as a string so it ships inside dist/ with no extra build step.
 *
 * Portability: plain C99 + libm, built with -O3 and no -march, so the library runs on any CPU of
 * the architecture (baseline SSE2 vectors on x86-64). The loops are written branch-free so GCC
 * vectorises them (exp/tanh are Cephes-style polynomials, not libm calls; rare special values
 * are fixed in a second pass). GCC's target_clones (AVX2/AVX-512 dispatch) was measured slower
 * here for tanh (22 ms vs 8.4 ms on 1.2 M floats), so it is not used.
 *
 * Numerics follow tfjs-backend-cpu: float32 storage; reductions accumulate in double (tfjs sums
 * in JS numbers); max-pool routes each window's gradient to its first maximum in row-major window
 * order under strict `>` (tfjs's maxPoolPositions), NaN never being a maximum.
 */
export const NATIVE_SOURCE_VERSION = 21;

export const NATIVE_C_SOURCE = String.raw`
#include <math.h>
#include <pthread.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>


int sp_version(void) { return ${NATIVE_SOURCE_VERSION}; }

/* exp(x) in float32, vectorisable (Cephes expf: x = n·ln2 + r, degree-6 polynomial for e^r,
   2^n through the exponent bits); relative error ~1e-7; inf/0/NaN as libm. */
static inline float sp_exp(float x) {
  const float hi = 88.3762626647949f, lo = -87.3365447504f;
  float xc = x > hi ? hi : x;
  xc = xc < lo ? lo : xc;
  float t = xc * 1.44269504088896341f + 0.5f;
  int32_t k = (int32_t)t;
  k = k - (t < (float)k ? 1 : 0);
  float fn = (float)k;
  float r = xc - fn * 0.693359375f + fn * 2.12194440e-4f;
  float z = r * r;
  float p = (((((1.9875691500E-4f * r + 1.3981999507E-3f) * r + 8.3334519073E-3f) * r + 4.1665795894E-2f) * r + 1.6666665459E-1f) * r + 5.0000001201E-1f) * z + r + 1.0f;
  union { int32_t i; float f; } u;
  u.i = (int32_t)((uint32_t)(k + 127) << 23); /* unsigned: for NaN input k is INT32_MIN, and a signed shift of a negative is undefined */
  return p * u.f;
}

/* Outside [lo, hi] the fast path clamps; there (overflow, underflow to subnormals, NaN — rare)
   recompute in double with libm and round, as tfjs does (Math.exp, then a Float32Array store).
   A separate pass, so that the main loops stay branch-free and vectorise. */
static void sp_fix_exp(const float *x, float *y, int64_t n, int sigmoid) {
  for (int64_t i = 0; i < n; i++) {
    float v = sigmoid ? -x[i] : x[i];
    if (!(v >= -87.3365447504f && v <= 88.3762626647949f)) {
      double e = exp((double)v);
      y[i] = sigmoid ? (float)(1.0 / (1.0 + e)) : (float)e;
    }
  }
}

/* tanh(x) in float32, vectorisable (Cephes tanhf): odd polynomial for |x| < 0.625, else
   sign(x)·(1 − 2/(e^{2|x|} + 1)); relative error ~1e-7. */
static inline float sp_tanh(float x) {
  float ax = fabsf(x);
  float s = x * x;
  float small = ((((-5.70498872745E-3f * s + 2.06390887954E-2f) * s - 5.37397155531E-2f) * s + 1.33314422036E-1f) * s - 3.33332819422E-1f) * s * x + x;
  float big = copysignf(1.0f - 2.0f / (sp_exp(2.0f * ax) + 1.0f), x);
  return ax < 0.625f ? small : big;
}

/* op: 0 relu, 1 step(alpha), 2 tanh, 3 exp, 4 sigmoid, 5 log, 6 square, 7 neg, 8 sqrt, 9 abs */
void sp_unary(int op, const float *x, float *y, int64_t n, float alpha) {
  int64_t i;
  switch (op) {
    case 0: for (i = 0; i < n; i++) { float v = x[i]; y[i] = v < 0.0f ? 0.0f : v; } break;
    case 1: for (i = 0; i < n; i++) { float v = x[i]; y[i] = v != v ? v : (v > 0.0f ? 1.0f : alpha); } break;
    case 2: for (i = 0; i < n; i++) y[i] = sp_tanh(x[i]);
      for (i = 0; i < n; i++) if (x[i] != x[i]) y[i] = x[i];
      break;
    case 3: for (i = 0; i < n; i++) y[i] = sp_exp(x[i]);
      sp_fix_exp(x, y, n, 0);
      break;
    case 4: for (i = 0; i < n; i++) y[i] = 1.0f / (1.0f + sp_exp(-x[i]));
      sp_fix_exp(x, y, n, 1);
      break;
    case 5: for (i = 0; i < n; i++) y[i] = logf(x[i]); break;
    case 6: for (i = 0; i < n; i++) { float v = x[i]; y[i] = v * v; } break;
    case 7: for (i = 0; i < n; i++) y[i] = -x[i]; break;
    case 8: for (i = 0; i < n; i++) y[i] = sqrtf(x[i]); break;
    case 9: for (i = 0; i < n; i++) y[i] = fabsf(x[i]); break;
  }
}

#define SP_BIN(EXPR)                                                              \
  switch (mode) {                                                                 \
    case 0: for (i = 0; i < n; i++) { float p = a[i], q = b[i]; y[i] = EXPR; } break; \
    case 1: { float q = b[0]; for (i = 0; i < n; i++) { float p = a[i]; y[i] = EXPR; } } break; \
    case 2: { float p = a[0]; for (i = 0; i < n; i++) { float q = b[i]; y[i] = EXPR; } } break; \
    case 3: for (o = 0; o < n; o += inner) for (i = 0; i < inner; i++) { float p = a[o + i], q = b[i]; y[o + i] = EXPR; } break; \
    case 4: for (o = 0; o < n; o += inner) for (i = 0; i < inner; i++) { float p = a[i], q = b[o + i]; y[o + i] = EXPR; } break; \
    case 5: for (o = 0, r = 0; o < n; o += inner, r++) { float q = b[r]; for (i = 0; i < inner; i++) { float p = a[o + i]; y[o + i] = EXPR; } } break; \
    case 6: for (o = 0, r = 0; o < n; o += inner, r++) { float p = a[r]; for (i = 0; i < inner; i++) { float q = b[o + i]; y[o + i] = EXPR; } } break; \
  }

/* op: 0 add, 1 sub, 2 mul, 3 div.  mode: 0 same shape; 1 b scalar; 2 a scalar;
   3 b repeats every "inner" (b's shape is a suffix of a's); 4 a repeats every "inner";
   5 b holds one value per block of "inner" (b's shape is a prefix of a's, then 1s); 6 the same for a. */
void sp_binary(int op, int mode, const float *a, const float *b, float *y, int64_t n, int64_t inner) {
  int64_t i, o, r;
  if (inner <= 0) inner = 1;
  /* A short repeating operand (a bias of 6 channels: inner loops of 6 do not vectorise, 0.6–0.9 ms
     on [256,28,28,6]) is first tiled to a run of whole repeats ≥ 256 floats; same values, same ops. */
  if ((mode == 3 || mode == 4) && inner < 64 && n % inner == 0 && n >= 4 * 256) {
    float rep[512];
    const int64_t T = inner * ((256 + inner - 1) / inner);
    const float *src = mode == 3 ? b : a;
    for (i = 0; i < T; i++) rep[i] = src[i % inner];
    o = 0;
    for (; o + T <= n; o += T) {
      if (mode == 3) sp_binary(op, 0, a + o, rep, y + o, T, 1);
      else sp_binary(op, 0, rep, b + o, y + o, T, 1);
    }
    if (o < n) {
      if (mode == 3) sp_binary(op, 0, a + o, rep, y + o, n - o, 1);
      else sp_binary(op, 0, rep, b + o, y + o, n - o, 1);
    }
    return;
  }
  switch (op) {
    case 0: SP_BIN(p + q) break;
    case 1: SP_BIN(p - q) break;
    case 2: SP_BIN(p * q) break;
    case 3: SP_BIN(p / q) break;
  }
}

/* Fused tanh derivative chains of an MLP layer (issue 14). t = tanh(x) is sp_unary's tanh
   (sp_tanh; a NaN x gives t = x), and every float32 operation of the unfused tfjs chain is kept,
   in its order, so the results are bit for bit those of the chain (no FMA: the library is built
   without -march, and each product is rounded to float before the next operation).
   sp_tanh_grad:  dx  = dy·(1 − t²)                the Tanh rule, Multiply(dy, Sub(1, Square(t)))
   sp_tanh_grad2: out = ((−(g·dy))·(t·2))·(1 − t²) ∂/∂x of g·sp_tanh_grad(dy, x): the rules of
                  Multiply (g·dy), Sub (neg), Square (·2t) and Tanh (·(1 − t²)) in turn.
   One pass each instead of 4 and 10 tfjs kernels (and as many temporary arrays). */
/* c[i] = Σ_k V[i·n + k]·w[k] for i < count (float64), each sum accumulated strictly in order of k
   from +0: bit for bit the plain loop "s = 0; for (k) s += V[i][k]·w[k]" (products of doubles
   rounded, then added; no FMA: no -march). Eight rows at a time so that eight independent add
   chains hide the add latency (the JavaScript loop runs one). Papyan's low-rank pieces
   (src/decompose/pieces.ts): Sᵀv and the Gram matrix SᵀS of the C² class/cross-class vectors. */
void sp_dots_seq_d(const double *V, int64_t count, int64_t n, const double *w, double *c) {
  int64_t i = 0;
  for (; i + 8 <= count; i += 8) {
    const double *r = V + i * n;
    double a0 = 0, a1 = 0, a2 = 0, a3 = 0, a4 = 0, a5 = 0, a6 = 0, a7 = 0;
    for (int64_t k = 0; k < n; k++) {
      const double x = w[k];
      a0 += r[k] * x; a1 += r[n + k] * x; a2 += r[2 * n + k] * x; a3 += r[3 * n + k] * x;
      a4 += r[4 * n + k] * x; a5 += r[5 * n + k] * x; a6 += r[6 * n + k] * x; a7 += r[7 * n + k] * x;
    }
    c[i] = a0; c[i + 1] = a1; c[i + 2] = a2; c[i + 3] = a3; c[i + 4] = a4; c[i + 5] = a5; c[i + 6] = a6; c[i + 7] = a7;
  }
  for (; i < count; i++) {
    const double *r = V + i * n;
    double a = 0;
    for (int64_t k = 0; k < n; k++) a += r[k] * w[k];
    c[i] = a;
  }
}

/* K[i·m + j] = Σ_k V[i·n + k]·V[j·n + k] for all i, j < m (float64), every sum accumulated strictly in
   order of k from +0 — bit for bit the plain loop, as sp_dots_seq_d. Tiled so that V is read from
   memory once instead of m/2 times: chunks of SP_GRAM_CHUNK entries of every row (m rows × 8 KiB
   stay in cache) and 4 × 4 tiles of K held in 16 independent accumulators, each continuing its own
   ordered sum from the previous chunk. Upper-triangle tiles are mirrored (K_ji = K_ij: same products). */
#define SP_GRAM_CHUNK 1024
void sp_gram_seq_d(const double *V, int64_t m, int64_t n, double *K) {
  for (int64_t i = 0; i < m * m; i++) K[i] = 0;
  for (int64_t lo = 0; lo < n; lo += SP_GRAM_CHUNK) {
    const int64_t hi = lo + SP_GRAM_CHUNK < n ? lo + SP_GRAM_CHUNK : n;
    for (int64_t i = 0; i < m; i += 4) {
      for (int64_t j = 0; j <= i; j += 4) {
        if (i + 4 <= m && j + 4 <= m) {
          const double *a0 = V + i * n, *a1 = a0 + n, *a2 = a1 + n, *a3 = a2 + n;
          const double *b0 = V + j * n, *b1 = b0 + n, *b2 = b1 + n, *b3 = b2 + n;
          double *k0 = K + i * m + j, *k1 = k0 + m, *k2 = k1 + m, *k3 = k2 + m;
          double c00 = k0[0], c01 = k0[1], c02 = k0[2], c03 = k0[3];
          double c10 = k1[0], c11 = k1[1], c12 = k1[2], c13 = k1[3];
          double c20 = k2[0], c21 = k2[1], c22 = k2[2], c23 = k2[3];
          double c30 = k3[0], c31 = k3[1], c32 = k3[2], c33 = k3[3];
          for (int64_t k = lo; k < hi; k++) {
            const double x0 = a0[k], x1 = a1[k], x2 = a2[k], x3 = a3[k];
            const double y0 = b0[k], y1 = b1[k], y2 = b2[k], y3 = b3[k];
            c00 += x0 * y0; c01 += x0 * y1; c02 += x0 * y2; c03 += x0 * y3;
            c10 += x1 * y0; c11 += x1 * y1; c12 += x1 * y2; c13 += x1 * y3;
            c20 += x2 * y0; c21 += x2 * y1; c22 += x2 * y2; c23 += x2 * y3;
            c30 += x3 * y0; c31 += x3 * y1; c32 += x3 * y2; c33 += x3 * y3;
          }
          k0[0] = c00; k0[1] = c01; k0[2] = c02; k0[3] = c03;
          k1[0] = c10; k1[1] = c11; k1[2] = c12; k1[3] = c13;
          k2[0] = c20; k2[1] = c21; k2[2] = c22; k2[3] = c23;
          k3[0] = c30; k3[1] = c31; k3[2] = c32; k3[3] = c33;
        } else {
          for (int64_t p = i; p < i + 4 && p < m; p++)
            for (int64_t q = j; q < j + 4 && q < m; q++) {
              const double *a = V + p * n, *b = V + q * n;
              double c = K[p * m + q];
              for (int64_t k = lo; k < hi; k++) c += a[k] * b[k];
              K[p * m + q] = c;
            }
        }
      }
    }
  }
  for (int64_t i = 0; i < m; i++)
    for (int64_t j = i + 1; j < m; j++) K[i * m + j] = K[j * m + i];
}

void sp_tanh_grad(const float *dy, const float *x, float *dx, int64_t n) {
  for (int64_t i = 0; i < n; i++) {
    const float v = x[i];
    float t = sp_tanh(v);
    t = v != v ? v : t;
    const float sq = t * t;
    const float s = 1.0f - sq;
    dx[i] = dy[i] * s;
  }
}
void sp_tanh_grad2(const float *g, const float *dy, const float *x, float *out, int64_t n) {
  for (int64_t i = 0; i < n; i++) {
    const float v = x[i];
    float t = sp_tanh(v);
    t = v != v ? v : t;
    const float a = g[i] * dy[i];
    const float b = -a;
    const float t2 = t * 2.0f;
    const float c = b * t2;
    const float sq = t * t;
    const float s = 1.0f - sq;
    out[i] = c * s;
  }
}

/* y[r] = sum_c x[r*cols + c], accumulated in double. */
void sp_sum_rows(const float *x, float *y, int64_t rows, int64_t cols) {
  for (int64_t r = 0; r < rows; r++) {
    const float *p = x + r * cols;
    double s0 = 0, s1 = 0, s2 = 0, s3 = 0;
    int64_t c = 0;
    for (; c + 4 <= cols; c += 4) { s0 += p[c]; s1 += p[c + 1]; s2 += p[c + 2]; s3 += p[c + 3]; }
    for (; c < cols; c++) s0 += p[c];
    y[r] = (float)((s0 + s1) + (s2 + s3));
  }
}

/* y[c] = sum_r x[r*cols + c], accumulated in double. Few columns (a bias gradient over 6
   channels) go through runs of whole rows ≥ 256 entries so the adds vectorise; each column's
   terms are then summed per lane position and the lanes added in order — a different order of
   the same double additions (float inputs: the double sums differ only in rounding far below
   float32). */
void sp_sum_cols(const float *x, float *y, int64_t rows, int64_t cols) {
  if (cols > 0 && cols < 64 && rows >= 1024) {
    const int64_t per = (256 + cols - 1) / cols, T = per * cols;
    double acc[512];
    for (int64_t t = 0; t < T; t++) acc[t] = 0;
    int64_t r = 0;
    for (; r + per <= rows; r += per) {
      const float *p = x + r * cols;
      for (int64_t t = 0; t < T; t++) acc[t] += p[t];
    }
    for (int64_t c = 0; c < cols; c++) {
      double s = 0;
      for (int64_t k = 0; k < per; k++) s += acc[k * cols + c];
      for (int64_t q = r; q < rows; q++) s += x[q * cols + c];
      y[c] = (float)s;
    }
    return;
  }
  double *acc = (double *)calloc((size_t)(cols > 0 ? cols : 1), sizeof(double));
  if (!acc) return;
  for (int64_t r = 0; r < rows; r++) {
    const float *p = x + r * cols;
    for (int64_t c = 0; c < cols; c++) acc[c] += p[c];
  }
  for (int64_t c = 0; c < cols; c++) y[c] = (float)acc[c];
  free(acc);
}

/* geometry g: N H W C OH OW FH FW SH SW PT PL (NHWC, dilation 1) */
#define SP_GEOM \
  const int64_t H = g[1], W = g[2], C = g[3], OH = g[4], OW = g[5], FH = g[6], FW = g[7]; \
  const int64_t SH = g[8], SW = g[9], PT = g[10], PL = g[11];

/* Each (image, output row, filter row) first copies its input row into a zero-padded buffer,
   then writes every output column's FW·C entries as one fixed-length inline copy: no bounds
   tests or libc memcpy calls per 30-float piece (LeNet conv2: 250 k of them per batch). */
void sp_im2col(const float *x, const int32_t *g, int64_t n0, int64_t count, float *cols) {
  SP_GEOM
  const int64_t rowLen = FW * C, K = FH * rowLen;
  if (OH <= 0 || OW <= 0 || count <= 0 || K <= 0) return; /* no patches (Wp below would be ≤ 0) */
  const int64_t Wp = (OW - 1) * SW + FW; /* padded columns the windows read, from −PL */
  float *prow = (float *)malloc((size_t)(Wp * C + 1) * sizeof(float));
  if (!prow) return;
  for (int64_t n = 0; n < count; n++) {
    const float *img = x + (n0 + n) * H * W * C;
    for (int64_t oh = 0; oh < OH; oh++) {
      float *dst0 = cols + (n * OH + oh) * OW * K;
      for (int64_t kh = 0; kh < FH; kh++) {
        const int64_t ih = oh * SH - PT + kh;
        float *d = dst0 + kh * rowLen;
        if (ih < 0 || ih >= H) {
          for (int64_t ow = 0; ow < OW; ow++, d += K) memset(d, 0, (size_t)rowLen * sizeof(float));
          continue;
        }
        /* prow[q·C + c] = x[ih, q − PL, c], 0 outside the image */
        /* in-image columns; qLo ≤ Wp: a left padding wider than the windows reach (explicit pads, W = 1,
           PL = 6, FW = 1, SW = 4: Wp = 5) zeroed past prow's end (found by scripts/native-sanitize.mjs) */
        const int64_t qLo = PL <= 0 ? 0 : PL < Wp ? PL : Wp, qHi = W + PL < Wp ? W + PL : Wp;
        if (qLo > 0) memset(prow, 0, (size_t)(qLo * C) * sizeof(float));
        if (qHi > qLo) memcpy(prow + qLo * C, img + (ih * W + (qLo - PL)) * C, (size_t)((qHi - qLo) * C) * sizeof(float));
        if (qHi < Wp) memset(prow + (qHi > qLo ? qHi : qLo) * C, 0, (size_t)((Wp - (qHi > qLo ? qHi : qLo)) * C) * sizeof(float));
        const float *src = prow;
        for (int64_t ow = 0; ow < OW; ow++, d += K, src += SW * C)
          for (int64_t t = 0; t < rowLen; t++) d[t] = src[t];
      }
    }
  }
  free(prow);
}

void sp_col2im(const float *cols, const int32_t *g, int64_t n0, int64_t count, float *dx) {
  SP_GEOM
  const int64_t rowLen = FW * C, K = FH * rowLen;
  const float *src = cols;
  for (int64_t n = 0; n < count; n++) {
    float *img = dx + (n0 + n) * H * W * C;
    for (int64_t oh = 0; oh < OH; oh++) {
      const int64_t ih0 = oh * SH - PT;
      for (int64_t ow = 0; ow < OW; ow++) {
        const int64_t iw0 = ow * SW - PL;
        const int64_t kwLo = iw0 < 0 ? -iw0 : 0;
        const int64_t kwHi = FW < W - iw0 ? FW : W - iw0;
        if (kwHi > kwLo) {
          for (int64_t kh = 0; kh < FH; kh++) {
            const int64_t ih = ih0 + kh;
            if (ih < 0 || ih >= H) continue;
            const float *s = src + kh * rowLen + kwLo * C;
            float *d = img + (ih * W + iw0 + kwLo) * C;
            const int64_t len = (kwHi - kwLo) * C;
            for (int64_t t = 0; t < len; t++) d[t] += s[t];
          }
        }
        src += K;
      }
    }
  }
}

/* Max pooling (NHWC). With dy != NULL: the gradient, dx[argmax of window] += dy[window]
   (dx zeroed by the caller); else y[window] = max (−inf for a window with no number).
   Branch-free selects over the channel vector (argmax = first strict maximum in row-major
   window order, NaN never one), so the inner loops vectorise. */
/* Non-overlapping windows that lie inside the image (SH ≥ FH, SW ≥ FW, no padding; the usual
   2×2/2 pooling): one pass per output with the window's argmax in a register, no scratch arrays
   (the general loop below measured 2.9 ms for MaxPoolGrad on [256,28,28,6], this 0.6 ms). The
   gradient SETS every covered dx entry (dy, made +0 from −0 as a sum from +0 would, at the
   argmax; +0 elsewhere); entries outside every window are left alone (zeroed by the caller). */
#define SP_MAXPOOL_TILED_BODY(FHc, FWc) \
  const int64_t N = g[0]; \
  SP_GEOM \
  (void)FH; (void)FW; (void)PT; (void)PL; \
  for (int64_t n = 0; n < N; n++) { \
    const float *img = x + n * H * W * C; \
    float *dimg = dx ? dx + n * H * W * C : 0; \
    const float *rimg = ddx ? ddx + n * H * W * C : 0; \
    for (int64_t oh = 0; oh < OH; oh++) \
      for (int64_t ow = 0; ow < OW; ow++) { \
        const int64_t base = (oh * SH * W + ow * SW) * C; \
        const int64_t o = ((n * OH + oh) * OW + ow) * C; \
        for (int64_t c = 0; c < C; c++) { \
          float b = -INFINITY; \
          int64_t pos = -1; \
          for (int64_t r = 0; r < (FHc); r++) \
            for (int64_t q = 0; q < (FWc); q++) { \
              const int64_t off = base + (r * W + q) * C + c; \
              const float v = img[off]; \
              const int gt = v > b; /* selects, not a branch: the comparison is unpredictable */ \
              pos = gt ? off : pos; \
              b = gt ? v : b; \
            } \
          if (dy) { \
            const float d = 0.0f + dy[o + c]; \
            for (int64_t r = 0; r < (FHc); r++) \
              for (int64_t q = 0; q < (FWc); q++) { \
                const int64_t off = base + (r * W + q) * C + c; \
                dimg[off] = off == pos ? d : 0.0f; \
              } \
          } else if (ddx) { \
            y[o + c] = pos >= 0 ? rimg[pos] : 0.0f; \
          } else { \
            y[o + c] = b; \
          } \
        } \
      } \
  }
/* 2×2 windows: branch-free over the channel vector (k = first strict argmax, −1 when none; the
   outputs picked with integer bit masks, exact), so GCC vectorises the channel loop — written as
   ?: selects it emitted unpredictable branches (4.5 ms for MaxPoolGrad on [256,28,28,6]). */
static inline int32_t sp_bits(float f) { union { float f; int32_t i; } u; u.f = f; return u.i; }
static inline float sp_float(int32_t i) { union { float f; int32_t i; } u; u.i = i; return u.f; }
#define SP_MAXPOOL2_ARGMAX \
  const float v0 = p0[c], v1 = p0[C + c], v2 = p1[c], v3 = p1[C + c]; \
  float b = -INFINITY; int32_t k = -1, m; \
  m = -(int32_t)(v0 > b); k = (k & ~m) | (0 & m); b = v0 > b ? v0 : b; \
  m = -(int32_t)(v1 > b); k = (k & ~m) | (1 & m); b = v1 > b ? v1 : b; \
  m = -(int32_t)(v2 > b); k = (k & ~m) | (2 & m); b = v2 > b ? v2 : b; \
  m = -(int32_t)(v3 > b); k = (k & ~m) | (3 & m); b = v3 > b ? v3 : b;
static void sp_maxpool_tiled2(const float *restrict x, const int32_t *g, float *restrict y, const float *restrict dy,
                              float *restrict dx, const float *restrict ddx) {
  const int64_t N = g[0];
  SP_GEOM
  (void)FH; (void)FW; (void)PT; (void)PL;
  for (int64_t n = 0; n < N; n++)
    for (int64_t oh = 0; oh < OH; oh++)
      for (int64_t ow = 0; ow < OW; ow++) {
        const int64_t base = n * H * W * C + (oh * SH * W + ow * SW) * C;
        const float *p0 = x + base, *p1 = p0 + W * C;
        const int64_t o = ((n * OH + oh) * OW + ow) * C;
        if (dy) {
          float *q0 = dx + base, *q1 = q0 + W * C;
          for (int64_t c = 0; c < C; c++) {
            SP_MAXPOOL2_ARGMAX
            const int32_t d = sp_bits(0.0f + dy[o + c]);
            q0[c] = sp_float(d & -(int32_t)(k == 0)); q0[C + c] = sp_float(d & -(int32_t)(k == 1));
            q1[c] = sp_float(d & -(int32_t)(k == 2)); q1[C + c] = sp_float(d & -(int32_t)(k == 3));
          }
        } else if (ddx) {
          const float *r0 = ddx + base, *r1 = r0 + W * C;
          for (int64_t c = 0; c < C; c++) {
            SP_MAXPOOL2_ARGMAX
            y[o + c] = sp_float((sp_bits(r0[c]) & -(int32_t)(k == 0)) | (sp_bits(r0[C + c]) & -(int32_t)(k == 1)) |
                                (sp_bits(r1[c]) & -(int32_t)(k == 2)) | (sp_bits(r1[C + c]) & -(int32_t)(k == 3)));
          }
        } else {
          for (int64_t c = 0; c < C; c++) {
            SP_MAXPOOL2_ARGMAX
            (void)k;
            y[o + c] = b;
          }
        }
      }
}
static void sp_maxpool_tiled(const float *x, const int32_t *g, float *y, const float *dy, float *dx, const float *ddx) { SP_MAXPOOL_TILED_BODY(FH, FW) }

/* Whether sp_maxpool_tiled applies (mirrored by poolTilesExactly/poolIsTiled in elementwiseKernels.ts). */
static int sp_pool_tiled(const int32_t *g) {
  return g[8] >= g[6] && g[9] >= g[7] && g[10] == 0 && g[11] == 0 &&
         (int64_t)(g[4] - 1) * g[8] + g[6] <= g[1] && (int64_t)(g[5] - 1) * g[9] + g[7] <= g[2];
}

static void sp_maxpool_impl(const float *x, const int32_t *g, float *y, const float *dy, float *dx, const float *ddx) {
  if (sp_pool_tiled(g)) {
    if (g[6] == 2 && g[7] == 2) sp_maxpool_tiled2(x, g, y, dy, dx, ddx);
    else sp_maxpool_tiled(x, g, y, dy, dx, ddx);
    return;
  }
  const int64_t N = g[0];
  SP_GEOM
  float *best = (float *)malloc((size_t)(C > 0 ? C : 1) * sizeof(float));
  int32_t *pos = (int32_t *)malloc((size_t)(C > 0 ? C : 1) * sizeof(int32_t));
  if (!best || !pos) { free(best); free(pos); return; }
  for (int64_t n = 0; n < N; n++) {
    const float *img = x + n * H * W * C;
    for (int64_t oh = 0; oh < OH; oh++) {
      const int64_t r0 = oh * SH - PT;
      const int64_t rLo = r0 < 0 ? 0 : r0, rHi = r0 + FH < H ? r0 + FH : H;
      for (int64_t ow = 0; ow < OW; ow++) {
        const int64_t c0 = ow * SW - PL;
        const int64_t cLo = c0 < 0 ? 0 : c0, cHi = c0 + FW < W ? c0 + FW : W;
        for (int64_t c = 0; c < C; c++) { best[c] = -INFINITY; pos[c] = -1; }
        for (int64_t r = rLo; r < rHi; r++) {
          for (int64_t q = cLo; q < cHi; q++) {
            const int32_t base = (int32_t)((r * W + q) * C);
            const float *p = img + base;
            if (dy || ddx) {
              for (int64_t c = 0; c < C; c++) {
                const float v = p[c], b = best[c];
                const int32_t m = -(int32_t)(v > b); /* all ones where v is a new maximum */
                best[c] = v > b ? v : b;
                pos[c] = (pos[c] & ~m) | ((base + (int32_t)c) & m);
              }
            } else {
              for (int64_t c = 0; c < C; c++) best[c] = p[c] > best[c] ? p[c] : best[c];
            }
          }
        }
        const int64_t o = ((n * OH + oh) * OW + ow) * C;
        if (dy) {
          float *d = dx + n * H * W * C;
          for (int64_t c = 0; c < C; c++) if (pos[c] >= 0) d[pos[c]] += dy[o + c];
        } else if (ddx) {
          const float *d = ddx + n * H * W * C;
          for (int64_t c = 0; c < C; c++) y[o + c] = pos[c] >= 0 ? d[pos[c]] : 0.0f;
        } else {
          for (int64_t c = 0; c < C; c++) y[o + c] = best[c];
        }
      }
    }
  }
  free(best);
  free(pos);
}

void sp_maxpool(const float *x, const int32_t *g, float *y) { sp_maxpool_impl(x, g, y, 0, 0, 0); }
void sp_maxpool_grad(const float *x, const float *dy, const int32_t *g, float *dx) { sp_maxpool_impl(x, g, 0, dy, dx, 0); }
/* Adjoint of MaxPoolGrad's routing in dy: ddy[window] = ddx[the window's first argmax of x] (0 when none). */
void sp_maxpool_route(const float *x, const float *ddx, const int32_t *g, float *ddy) { sp_maxpool_impl(x, g, ddy, 0, 0, ddx); }

/* Average pooling (NHWC): y = mean of the window's in-bounds pixels (tfjs's pool(): padding not
   counted), accumulated in double. */
void sp_avgpool(const float *x, const int32_t *g, float *y) {
  const int64_t N = g[0];
  SP_GEOM
  double *acc = (double *)malloc((size_t)(C > 0 ? C : 1) * sizeof(double));
  if (!acc) return;
  for (int64_t n = 0; n < N; n++) {
    const float *img = x + n * H * W * C;
    for (int64_t oh = 0; oh < OH; oh++) {
      const int64_t r0 = oh * SH - PT;
      const int64_t rLo = r0 < 0 ? 0 : r0, rHi = r0 + FH < H ? r0 + FH : H;
      for (int64_t ow = 0; ow < OW; ow++) {
        const int64_t c0 = ow * SW - PL;
        const int64_t cLo = c0 < 0 ? 0 : c0, cHi = c0 + FW < W ? c0 + FW : W;
        for (int64_t c = 0; c < C; c++) acc[c] = 0;
        for (int64_t r = rLo; r < rHi; r++)
          for (int64_t q = cLo; q < cHi; q++) {
            const float *p = img + (r * W + q) * C;
            for (int64_t c = 0; c < C; c++) acc[c] += p[c];
          }
        const double count = (double)((rHi - rLo) * (cHi - cLo));
        float *o = y + ((n * OH + oh) * OW + ow) * C;
        for (int64_t c = 0; c < C; c++) o[c] = (float)(acc[c] / count);
      }
    }
  }
  free(acc);
}

/* AvgPoolGrad as tfjs computes it: every in-bounds pixel of a window receives dy/(FH·FW)
   (the full window size, also at padded borders). dx zeroed by the caller. */
void sp_avgpool_grad(const float *dy, const int32_t *g, float *dx) {
  const int64_t N = g[0];
  SP_GEOM
  const float scale = (float)(1.0 / (double)(FH * FW));
  for (int64_t n = 0; n < N; n++) {
    float *img = dx + n * H * W * C;
    for (int64_t oh = 0; oh < OH; oh++) {
      const int64_t r0 = oh * SH - PT;
      const int64_t rLo = r0 < 0 ? 0 : r0, rHi = r0 + FH < H ? r0 + FH : H;
      for (int64_t ow = 0; ow < OW; ow++) {
        const int64_t c0 = ow * SW - PL;
        const int64_t cLo = c0 < 0 ? 0 : c0, cHi = c0 + FW < W ? c0 + FW : W;
        const float *d = dy + ((n * OH + oh) * OW + ow) * C;
        for (int64_t r = rLo; r < rHi; r++)
          for (int64_t q = cLo; q < cHi; q++) {
            float *p = img + (r * W + q) * C;
            for (int64_t c = 0; c < C; c++) p[c] += d[c] * scale;
          }
      }
    }
  }
}
/* Strided row copy: dst[r·dstStride + j] = src[r·srcStride + j] for r < rows, j < width (Concat and
   SplitV along one axis: each outer index's slab is one row). Pure data movement: bit-exact. */
void sp_copy_rows(const uint32_t *src, int64_t srcStride, uint32_t *dst, int64_t dstStride, int64_t rows, int64_t width) {
  if (width <= 0) return;
  if (srcStride == width && dstStride == width) { memcpy(dst, src, (size_t)(rows * width) * 4); return; }
  for (int64_t r = 0; r < rows; r++) memcpy(dst + r * dstStride, src + r * srcStride, (size_t)width * 4);
}

/* Transpose of 32-bit words: y = x permuted, rank ≤ 8, shape/perm already canonical (adjacent
   dims that stay adjacent merged, size-1 dims dropped: transposeCanonical in elementwiseKernels.ts).
   Batched 2-D transposes ([B, R, C] → [B, C, R], B may be 1) run in 32×32 tiles (cache-friendly
   in both directions); other permutations walk the output in order with an odometer over the
   input strides. Pure data movement: bit-exact. */
static void sp_transpose2d(const uint32_t *x, uint32_t *y, int64_t R, int64_t C) {
  const int64_t T = 32;
  for (int64_t r0 = 0; r0 < R; r0 += T) {
    const int64_t r1 = r0 + T < R ? r0 + T : R;
    for (int64_t c0 = 0; c0 < C; c0 += T) {
      const int64_t c1 = c0 + T < C ? c0 + T : C;
      for (int64_t c = c0; c < c1; c++)
        for (int64_t r = r0; r < r1; r++) y[c * R + r] = x[r * C + c];
    }
  }
}

void sp_transpose(const uint32_t *x, uint32_t *y, int32_t rank, const int32_t *shape, const int32_t *perm) {
  int64_t total = 1;
  for (int32_t d = 0; d < rank; d++) total *= shape[d];
  if (total == 0) return;
  if (rank <= 1) { memcpy(y, x, (size_t)total * 4); return; }
  if (rank == 2 && perm[0] == 1 && perm[1] == 0) { sp_transpose2d(x, y, shape[0], shape[1]); return; }
  if (rank == 3 && perm[0] == 0 && perm[1] == 2 && perm[2] == 1) {
    const int64_t R = shape[1], C = shape[2];
    for (int64_t b = 0; b < shape[0]; b++) sp_transpose2d(x + b * R * C, y + b * R * C, R, C);
    return;
  }
  int64_t inStride[8], os[8], ostr[8], idx[8];
  inStride[rank - 1] = 1;
  for (int32_t d = rank - 2; d >= 0; d--) inStride[d] = inStride[d + 1] * shape[d + 1];
  for (int32_t d = 0; d < rank; d++) { os[d] = shape[perm[d]]; ostr[d] = inStride[perm[d]]; idx[d] = 0; }
  const int64_t inner = os[rank - 1], s = ostr[rank - 1];
  int64_t off = 0;
  for (int64_t o = 0; o < total; o += inner) {
    const uint32_t *p = x + off;
    uint32_t *q = y + o;
    for (int64_t i = 0; i < inner; i++) q[i] = p[i * s];
    for (int32_t d = rank - 2; d >= 0; d--) {
      idx[d]++;
      off += ostr[d];
      if (idx[d] < os[d]) break;
      off -= ostr[d] * os[d];
      idx[d] = 0;
    }
  }
}
/* Krylov basis kernels (src/linalg/krylovBasis.ts): V holds rows [first, first + count) of a
   basis block, row-major with row length n, float32 (_f) or float64 (_d); w, c, s, y are float64.
   The operation order is that of the JavaScript fallback (jsKernels.ts basisDots/basisAxpy), so
   the two agree bit for bit (no fma contraction: the AVX2 variant is compiled without FMA):
   sp_basis_dots:  c[i] += Σ_k V[i,k]·w[k] over chunks of 16384 entries of w (128 KiB, kept in
     L2 while 4 rows at a time stream past, each w load feeding 4 rows); per row and chunk 4
     interleaved partial sums d0..d3 (one 4-lane vector: lane j sums entries k ≡ j mod 4 of the
     chunk), added to c[i] as c[i] + ((d0 + d1) + (d2 + d3)), chunk after chunk.
   sp_basis_axpy:  y[k] ← ((y[k] + s_0·V[0,k]) + s_1·V[1,k]) + …, rows in order (chunked the
     same way; each entry still sees the rows in order).
   Chunks of 2048 entries measured half the bandwidth (12 vs 24 GB/s at P = 1e6): the hardware
   prefetchers restart on every 8 KiB run of a row. 4-lane double vectors (GCC/clang vector
   extensions): two SSE2 registers on baseline x86-64, one AVX2 register in the variant picked
   at run time where the CPU has AVX2. */
typedef double sp_v4d __attribute__((vector_size(32)));
typedef float sp_v4f __attribute__((vector_size(16)));
#define SP_BASIS_CHUNK 16384
/* Loads are defined per variant (with its target attribute) so that AVX2 converts 4 floats at once. */
#define SP_BASIS_KERNELS(T, SUF, VAR, ATTR) \
ATTR static inline sp_v4d sp_load4_f_##SUF##_##VAR(const float *p) { sp_v4f x; memcpy(&x, p, 16); return __builtin_convertvector(x, sp_v4d); } \
ATTR static inline sp_v4d sp_load4_d_##SUF##_##VAR(const double *p) { sp_v4d x; memcpy(&x, p, 32); return x; } \
ATTR static void sp_basis_dots_##SUF##_##VAR(const T *V, int64_t count, int64_t n, int64_t kLo, int64_t kHi, const double *w, double *c) { \
  for (int64_t lo = kLo; lo < kHi; lo += SP_BASIS_CHUNK) { \
    const int64_t hi = lo + SP_BASIS_CHUNK < kHi ? lo + SP_BASIS_CHUNK : kHi; \
    int64_t i = 0; \
    for (; i + 4 <= count; i += 4) { \
      const T *r0 = V + i * n, *r1 = r0 + n, *r2 = r1 + n, *r3 = r2 + n; \
      sp_v4d a = {0, 0, 0, 0}, b = a, e = a, f = a; \
      int64_t k = lo; \
      for (; k + 3 < hi; k += 4) { \
        const sp_v4d wk = sp_load4_d_##SUF##_##VAR(w + k); \
        a += sp_load4_##SUF##_##SUF##_##VAR(r0 + k) * wk; b += sp_load4_##SUF##_##SUF##_##VAR(r1 + k) * wk; \
        e += sp_load4_##SUF##_##SUF##_##VAR(r2 + k) * wk; f += sp_load4_##SUF##_##SUF##_##VAR(r3 + k) * wk; \
      } \
      for (; k < hi; k++) { \
        a[0] += (double)r0[k] * w[k]; b[0] += (double)r1[k] * w[k]; e[0] += (double)r2[k] * w[k]; f[0] += (double)r3[k] * w[k]; \
      } \
      c[i] += (a[0] + a[1]) + (a[2] + a[3]); c[i + 1] += (b[0] + b[1]) + (b[2] + b[3]); \
      c[i + 2] += (e[0] + e[1]) + (e[2] + e[3]); c[i + 3] += (f[0] + f[1]) + (f[2] + f[3]); \
    } \
    for (; i < count; i++) { \
      const T *r = V + i * n; \
      sp_v4d d = {0, 0, 0, 0}; \
      int64_t k = lo; \
      for (; k + 3 < hi; k += 4) d += sp_load4_##SUF##_##SUF##_##VAR(r + k) * sp_load4_d_##SUF##_##VAR(w + k); \
      for (; k < hi; k++) d[0] += (double)r[k] * w[k]; \
      c[i] += (d[0] + d[1]) + (d[2] + d[3]); \
    } \
  } \
} \
ATTR static void sp_basis_axpy_##SUF##_##VAR(const T *V, int64_t count, int64_t n, int64_t kLo, int64_t kHi, const double *s, double *y) { \
  for (int64_t lo = kLo; lo < kHi; lo += SP_BASIS_CHUNK) { \
    const int64_t hi = lo + SP_BASIS_CHUNK < kHi ? lo + SP_BASIS_CHUNK : kHi; \
    int64_t i = 0; \
    for (; i + 4 <= count; i += 4) { \
      const T *r0 = V + i * n, *r1 = r0 + n, *r2 = r1 + n, *r3 = r2 + n; \
      const double s0 = s[i], s1 = s[i + 1], s2 = s[i + 2], s3 = s[i + 3]; \
      const sp_v4d s0v = {s0, s0, s0, s0}, s1v = {s1, s1, s1, s1}, s2v = {s2, s2, s2, s2}, s3v = {s3, s3, s3, s3}; \
      int64_t k = lo; \
      for (; k + 3 < hi; k += 4) { \
        sp_v4d t = sp_load4_d_##SUF##_##VAR(y + k); \
        t = t + s0v * sp_load4_##SUF##_##SUF##_##VAR(r0 + k); t = t + s1v * sp_load4_##SUF##_##SUF##_##VAR(r1 + k); \
        t = t + s2v * sp_load4_##SUF##_##SUF##_##VAR(r2 + k); t = t + s3v * sp_load4_##SUF##_##SUF##_##VAR(r3 + k); \
        memcpy(y + k, &t, 32); \
      } \
      for (; k < hi; k++) { \
        double t = y[k]; \
        t = t + s0 * (double)r0[k]; t = t + s1 * (double)r1[k]; \
        t = t + s2 * (double)r2[k]; t = t + s3 * (double)r3[k]; \
        y[k] = t; \
      } \
    } \
    for (; i < count; i++) { \
      const T *r = V + i * n; \
      const double si = s[i]; \
      const sp_v4d sv = {si, si, si, si}; \
      int64_t k = lo; \
      for (; k + 3 < hi; k += 4) { \
        sp_v4d t = sp_load4_d_##SUF##_##VAR(y + k) + sv * sp_load4_##SUF##_##SUF##_##VAR(r + k); \
        memcpy(y + k, &t, 32); \
      } \
      for (; k < hi; k++) y[k] = y[k] + si * (double)r[k]; \
    } \
  } \
}
SP_BASIS_KERNELS(float, f, base, )
SP_BASIS_KERNELS(double, d, base, )
#if defined(__x86_64__) && (defined(__GNUC__) || defined(__clang__))
#define SP_BASIS_AVX2 1
#define SP_BASIS_AVX2_CALL(name, ...) name##_avx2(__VA_ARGS__)
SP_BASIS_KERNELS(float, f, avx2, __attribute__((target("avx2"))))
SP_BASIS_KERNELS(double, d, avx2, __attribute__((target("avx2"))))
static int sp_has_avx2(void) {
  static int known = -1;
  if (known < 0) { __builtin_cpu_init(); known = __builtin_cpu_supports("avx2") ? 1 : 0; }
  return known;
}
#else
#define SP_BASIS_AVX2_CALL(name, ...) name##_base(__VA_ARGS__)
#endif
/* kind: 0 dots (c += V w over entries [lo, hi)), 1 axpy (y += Σ s_i V_i over [lo, hi)); isf: float32 rows. */
static void sp_basis_call(int kind, int isf, const void *V, int64_t count, int64_t n, int64_t lo, int64_t hi, const double *x, double *out) {
#ifdef SP_BASIS_AVX2
  const int avx2 = sp_has_avx2();
#else
  const int avx2 = 0;
#endif
  if (kind == 0) {
    if (isf) { if (avx2) SP_BASIS_AVX2_CALL(sp_basis_dots_f, (const float *)V, count, n, lo, hi, x, out); else sp_basis_dots_f_base((const float *)V, count, n, lo, hi, x, out); }
    else { if (avx2) SP_BASIS_AVX2_CALL(sp_basis_dots_d, (const double *)V, count, n, lo, hi, x, out); else sp_basis_dots_d_base((const double *)V, count, n, lo, hi, x, out); }
  } else {
    if (isf) { if (avx2) SP_BASIS_AVX2_CALL(sp_basis_axpy_f, (const float *)V, count, n, lo, hi, x, out); else sp_basis_axpy_f_base((const float *)V, count, n, lo, hi, x, out); }
    else { if (avx2) SP_BASIS_AVX2_CALL(sp_basis_axpy_d, (const double *)V, count, n, lo, hi, x, out); else sp_basis_axpy_d_base((const double *)V, count, n, lo, hi, x, out); }
  }
}

/* Threads (the calling one plus threads − 1 pthreads) split the chunks of [0, n) into contiguous
   ranges. axpy: each thread updates its own entries of y (exactly the serial result). dots: each
   chunk's sums go to their own slot (part[chunk·count + i] = 0 + chunk sum, exact), then added to
   c[i] chunk after chunk by the caller: the serial order, so the result is bit for bit the same. */
typedef struct { int kind, isf; const void *V; int64_t count, n, ch0, ch1; const double *x; double *out, *part; } sp_basis_job;
static void *sp_basis_work(void *arg) {
  const sp_basis_job *j = (const sp_basis_job *)arg;
  if (j->kind == 1) {
    const int64_t lo = j->ch0 * SP_BASIS_CHUNK, hi = j->ch1 * SP_BASIS_CHUNK < j->n ? j->ch1 * SP_BASIS_CHUNK : j->n;
    if (lo < hi) sp_basis_call(1, j->isf, j->V, j->count, j->n, lo, hi, j->x, j->out);
  } else {
    for (int64_t ch = j->ch0; ch < j->ch1; ch++) {
      const int64_t lo = ch * SP_BASIS_CHUNK, hi = lo + SP_BASIS_CHUNK < j->n ? lo + SP_BASIS_CHUNK : j->n;
      sp_basis_call(0, j->isf, j->V, j->count, j->n, lo, hi, j->x, j->part + ch * j->count);
    }
  }
  return 0;
}
#define SP_BASIS_MAX_THREADS 16
static void sp_basis_run(int kind, int isf, const void *V, int64_t count, int64_t n, const double *x, double *out, int32_t threads) {
  const int64_t chunks = (n + SP_BASIS_CHUNK - 1) / SP_BASIS_CHUNK;
  int64_t T = threads < 1 ? 1 : threads > SP_BASIS_MAX_THREADS ? SP_BASIS_MAX_THREADS : threads;
  if (T > chunks) T = chunks;
  /* Below ~4 MiB of rows a thread start costs more than it saves. */
  if (T <= 1 || count * n < ((int64_t)1 << 20)) { sp_basis_call(kind, isf, V, count, n, 0, n, x, out); return; }
  double *part = 0;
  if (kind == 0) {
    part = (double *)calloc((size_t)(chunks * count), sizeof(double));
    if (!part) { sp_basis_call(kind, isf, V, count, n, 0, n, x, out); return; }
  }
  sp_basis_job jobs[SP_BASIS_MAX_THREADS];
  pthread_t tid[SP_BASIS_MAX_THREADS];
  int started[SP_BASIS_MAX_THREADS];
  for (int64_t t = 0; t < T; t++) {
    sp_basis_job j = { kind, isf, V, count, n, chunks * t / T, chunks * (t + 1) / T, x, out, part };
    jobs[t] = j;
  }
  for (int64_t t = 1; t < T; t++) started[t] = pthread_create(&tid[t], 0, sp_basis_work, &jobs[t]) == 0;
  sp_basis_work(&jobs[0]);
  for (int64_t t = 1; t < T; t++) {
    if (started[t]) pthread_join(tid[t], 0);
    else sp_basis_work(&jobs[t]);
  }
  if (kind == 0) {
    for (int64_t ch = 0; ch < chunks; ch++)
      for (int64_t i = 0; i < count; i++) out[i] += part[ch * count + i];
    free(part);
  }
}
void sp_basis_dots_f(const float *V, int64_t first, int64_t count, int64_t n, const double *w, double *c, int32_t threads) {
  sp_basis_run(0, 1, V + first * n, count, n, w, c, threads);
}
void sp_basis_dots_d(const double *V, int64_t first, int64_t count, int64_t n, const double *w, double *c, int32_t threads) {
  sp_basis_run(0, 0, V + first * n, count, n, w, c, threads);
}
void sp_basis_axpy_f(const float *V, int64_t first, int64_t count, int64_t n, const double *s, double *y, int32_t threads) {
  sp_basis_run(1, 1, V + first * n, count, n, s, y, threads);
}
void sp_basis_axpy_d(const double *V, int64_t first, int64_t count, int64_t n, const double *s, double *y, int32_t threads) {
  sp_basis_run(1, 0, V + first * n, count, n, s, y, threads);
}
/* Direct convolution for few channels (issue 3; LeNet's conv1, 1 → 6 channels, 5×5, where
   im2col + sgemm has K = 25, N = 6 and ran at ~10 GFLOP/s). Per image the input is copied once
   into planar, zero-padded form xp[c][row][col]; every output then is a sum over the C·FH·FW
   taps of (filter scalar) × (contiguous run of xp), VL outputs (8 or 16 floats) × JB runs × up
   to 4 output channels held in registers. Stride 1 in width (any stride in height); dilation 1.
   The filter gradient is the same sum with dy in place of the filter (per-image float partial
   sums, added in double), the input gradient a stride-1 correlation of the padded dy with the
   flipped filter. Explicit AVX-512 / AVX2+FMA variants picked at run time; on other CPUs
   sp_conv_direct declines (returns 0) and the caller keeps im2col + sgemm (the generic vector
   code measured 8 GFLOP/s there). Batches split over "threads" pthreads by whole images. */
typedef float sp_v16 __attribute__((vector_size(64)));
typedef float sp_v8 __attribute__((vector_size(32)));
#define SP_CV_OB 4
#define SP_LD(VT, dst, p) __builtin_memcpy(&(dst), (p), sizeof(VT))
#define SP_ST(VT, p, v) do { VT sp_t_ = (v); __builtin_memcpy((p), &sp_t_, sizeof(VT)); } while (0)
#define SP_HSUM(VT, v, out) do { double sp_s_ = 0; for (int sp_i_ = 0; sp_i_ < (int)(sizeof(VT) / 4); sp_i_++) sp_s_ += (double)(v)[sp_i_]; (out) += sp_s_; } while (0)

/* dst[c][a][b] = src[a − offH][b − offW][c] for a < Hd, b < Wd (src NHWC image of h×w×c), 0 outside;
   rows of dst are Wd floats, planes Hd·Wd, then "tail" zeros. Returns 0 when src holds a NaN or ±Inf. */
static int sp_cv_planar(const float *src, int64_t h, int64_t w, int64_t c, int64_t offH, int64_t offW,
                        int64_t Hd, int64_t Wd, int64_t tail, float *dst) {
  memset(dst, 0, (size_t)(c * Hd * Wd + tail) * sizeof(float));
  float bad = 0.0f;
  for (int64_t i = 0; i < h; i++) {
    const int64_t a = i + offH;
    if (a < 0 || a >= Hd) continue;
    for (int64_t j = 0; j < w; j++) {
      const int64_t b = j + offW;
      if (b < 0 || b >= Wd) continue;
      const float *s = src + (i * w + j) * c;
      float *d = dst + a * Wd + b;
      for (int64_t k = 0; k < c; k++) { d[k * Hd * Wd] = s[k]; bad += s[k] * 0.0f; }
    }
  }
  return bad == 0.0f;
}

/* y[oh][ow][o] = Σ_{kh,kw,c} xp[c][oh·SH + kh][ow + kw] · w[((kh·FW + kw)·C + c)·O + o] for one image,
   xp planar padded (Hp×Wp planes, zero tail ≥ 16 floats). Rows are handled R at a time as one
   flat run of R·Wp outputs when SH = 1 (columns ow ≥ OW of the run are computed and dropped),
   16 outputs × up to 4 channels in registers while the C·FH·FW taps stream. */
#define SP_CV_FWD_BODY(VT, VL, JB) \
  const int64_t P = Hp * Wp; \
  const int64_t R = SH == 1 ? (OH < rowsPerRun ? OH : rowsPerRun) : 1; \
  for (int64_t oh0 = 0; oh0 < OH; oh0 += R) { \
    const int64_t rows = OH - oh0 < R ? OH - oh0 : R; \
    const int64_t L = SH == 1 ? rows * Wp : OW; \
    for (int64_t j = 0; j < L; j += VL * JB) { \
      for (int64_t o0 = 0; o0 < O; o0 += SP_CV_OB) { \
        const int64_t ob = O - o0 < SP_CV_OB ? O - o0 : SP_CV_OB; \
        VT s[SP_CV_OB][JB]; \
        for (int b = 0; b < SP_CV_OB; b++) for (int q = 0; q < JB; q++) s[b][q] = (VT){0}; \
        for (int64_t c = 0; c < C; c++) \
          for (int64_t kh = 0; kh < FH; kh++) { \
            const float *xr = xp + c * P + (oh0 * SH + kh) * Wp + j; \
            const float *wr = w + (kh * FW * C + c) * O + o0; \
            for (int64_t kw = 0; kw < FW; kw++) { \
              VT xv[JB]; \
              for (int q = 0; q < JB; q++) SP_LD(VT, xv[q], xr + kw + VL * q); \
              const float *wk = wr + kw * C * O; \
              for (int q = 0; q < JB; q++) s[0][q] += wk[0] * xv[q]; \
              if (ob > 1) for (int q = 0; q < JB; q++) s[1][q] += wk[1] * xv[q]; \
              if (ob > 2) for (int q = 0; q < JB; q++) s[2][q] += wk[2] * xv[q]; \
              if (ob > 3) for (int q = 0; q < JB; q++) s[3][q] += wk[3] * xv[q]; \
            } \
          } \
        for (int b = 0; b < SP_CV_OB; b++) for (int q = 0; q < JB; q++) SP_ST(VT, acc + (o0 + b) * VL * JB + VL * q, s[b][q]); \
      } \
      for (int64_t t = 0; t < VL * JB && j + t < L; t++) { \
        const int64_t r = SH == 1 ? (j + t) / Wp : 0, ow = SH == 1 ? (j + t) - r * Wp : j + t; \
        if (ow >= OW) continue; \
        float *yo = y + ((oh0 + r) * OW + ow) * O; \
        for (int64_t o = 0; o < O; o++) yo[o] = acc[o * VL * JB + t]; \
      } \
    } \
  }

/* dw[k][o] += Σ_{oh,ow} xp[c][oh·SH + kh][ow + kw] · dyp[o][oh][ow] (k = (kh·FW + kw)·C + c), one image;
   dyp planar with rows of Wp (zeros beyond OW and in the tail). Float partial sums per image, added in double. */
#define SP_CV_DW_BODY(VT, VL) \
  const int64_t P = Hp * Wp; \
  const int64_t L = SH == 1 ? OH * Wp : DR; \
  const int64_t runs = SH == 1 ? 1 : OH; \
  for (int64_t c = 0; c < C; c++) \
    for (int64_t kh = 0; kh < FH; kh++) \
      for (int64_t kw = 0; kw < FW; kw++) { \
        const int64_t k = (kh * FW + kw) * C + c; \
        for (int64_t o0 = 0; o0 < O; o0 += SP_CV_OB) { \
          const int64_t ob = O - o0 < SP_CV_OB ? O - o0 : SP_CV_OB; \
          VT s0 = {0}, s1 = {0}, s2 = {0}, s3 = {0}; \
          for (int64_t run = 0; run < runs; run++) { \
            const float *xr = xp + c * P + (run * SH + kh) * Wp + kw; \
            const float *d0 = dyp + o0 * DP + run * DR; \
            for (int64_t j = 0; j < L; j += VL) { \
              VT xv, d; SP_LD(VT, xv, xr + j); \
              SP_LD(VT, d, d0 + j); s0 += xv * d; \
              if (ob > 1) { SP_LD(VT, d, d0 + DP + j); s1 += xv * d; } \
              if (ob > 2) { SP_LD(VT, d, d0 + 2 * DP + j); s2 += xv * d; } \
              if (ob > 3) { SP_LD(VT, d, d0 + 3 * DP + j); s3 += xv * d; } \
            } \
          } \
          double *dk = dw + k * O + o0; \
          SP_HSUM(VT, s0, dk[0]); \
          if (ob > 1) SP_HSUM(VT, s1, dk[1]); \
          if (ob > 2) SP_HSUM(VT, s2, dk[2]); \
          if (ob > 3) SP_HSUM(VT, s3, dk[3]); \
        } \
      }

#define SP_CV_KERNELS(VAR, ATTR, VT, VL, JB) \
ATTR static void sp_cv_fwd_##VAR(const float *xp, const float *w, float *y, float *acc, int64_t C, int64_t Hp, int64_t Wp, \
    int64_t OH, int64_t OW, int64_t FH, int64_t FW, int64_t SH, int64_t O, int64_t rowsPerRun) { SP_CV_FWD_BODY(VT, VL, JB) } \
ATTR static void sp_cv_dw_##VAR(const float *xp, const float *dyp, double *dw, int64_t DP, int64_t DR, int64_t C, int64_t Hp, int64_t Wp, \
    int64_t OH, int64_t FH, int64_t FW, int64_t SH, int64_t O) { SP_CV_DW_BODY(VT, VL) }
SP_CV_KERNELS(base, , sp_v8, 8, 1)
#if defined(__x86_64__) && (defined(__GNUC__) || defined(__clang__))
SP_CV_KERNELS(avx2, __attribute__((target("avx2,fma"))), sp_v8, 8, 2)
SP_CV_KERNELS(avx512, __attribute__((target("avx512f,avx2,fma"))), sp_v16, 16, 4)
/* 2 AVX-512, 1 AVX2+FMA, 0 neither (direct convolution declines); capped by SPECPIPE_NATIVE_ISA
   (read once) and by sp_conv_isa (tests run the AVX2 variant on AVX-512 machines with it). */
static int sp_cv_cap = 2;
static int sp_cv_isa(void) {
  static int known = -1;
  if (known < 0) {
    __builtin_cpu_init();
    known = __builtin_cpu_supports("avx512f") ? 2 : __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma") ? 1 : 0;
    const char *e = getenv("SPECPIPE_NATIVE_ISA");
    if (e && e[0] >= '0' && e[0] <= '2' && e[0] - '0' < known) known = e[0] - '0';
  }
  return known < sp_cv_cap ? known : sp_cv_cap;
}
int sp_conv_isa(int32_t cap) { if (cap >= 0) sp_cv_cap = cap; return sp_cv_isa(); }
#define SP_CV_CALL(name, ...) (sp_cv_isa() == 2 ? name##_avx512(__VA_ARGS__) : sp_cv_isa() == 1 ? name##_avx2(__VA_ARGS__) : name##_base(__VA_ARGS__))
#else
#define SP_CV_CALL(name, ...) name##_base(__VA_ARGS__)
int sp_conv_isa(int32_t cap) { (void)cap; return 0; }
#endif

/* g: N H W C OH OW FH FW SH SW PT PL O (NHWC, HWIO filter, SW = 1, dilation 1).
   mode 0: y = conv(x, w).  mode 1: dw = ∂/∂w (x = input, y = dy, w = dw out).
   mode 2: dx (x = dy, w = filter, y = dx out; needs PT ≤ FH − 1, PL ≤ FW − 1). */
typedef struct {
  int mode; const int32_t *g; const float *x, *w; float *y; double *dw; const float *wf;
  int64_t n0, n1; int ok;
} sp_cv_job;

static void *sp_cv_work(void *arg) {
  sp_cv_job *jb = (sp_cv_job *)arg;
  const int32_t *g = jb->g;
  const int64_t H = g[1], W = g[2], C = g[3], OH = g[4], OW = g[5], FH = g[6], FW = g[7], SH = g[8], PT = g[10], PL = g[11], O = g[12];
  const int64_t TAIL = 64 + FW; /* ≥ the widest run of taps read past the last output (VL·JB ≤ 64) */
  jb->ok = 1;
  if (jb->mode == 0 || jb->mode == 1) {
    const int64_t Hp = (OH - 1) * SH + FH, Wp = OW - 1 + FW;
    float *xp = (float *)malloc((size_t)(C * Hp * Wp + TAIL) * sizeof(float));
    const int64_t rowsPerRun = OH;
    const int64_t DR = SH == 1 ? Wp : (OW + 15) / 16 * 16, DP = OH * DR + TAIL;
    float *buf = jb->mode == 0 ? (float *)malloc((size_t)(((O + 3) / 4) * 4 * 64) * sizeof(float))
                               : (float *)malloc((size_t)(O * DP) * sizeof(float));
    if (!xp || !buf) { free(xp); free(buf); jb->ok = 0; return 0; }
    if (jb->mode == 1) memset(buf, 0, (size_t)(O * DP) * sizeof(float));
    for (int64_t n = jb->n0; n < jb->n1; n++) {
      if (!sp_cv_planar(jb->x + n * H * W * C, H, W, C, PT, PL, Hp, Wp, TAIL, xp)) { jb->ok = 0; break; }
      if (jb->mode == 0) {
        SP_CV_CALL(sp_cv_fwd, xp, jb->w, jb->y + n * OH * OW * O, buf, C, Hp, Wp, OH, OW, FH, FW, SH, O, rowsPerRun);
      } else {
        const float *dy = jb->w + n * OH * OW * O;
        for (int64_t o = 0; o < O; o++)
          for (int64_t oh = 0; oh < OH; oh++)
            for (int64_t ow = 0; ow < OW; ow++) buf[o * DP + oh * DR + ow] = dy[(oh * OW + ow) * O + o];
        SP_CV_CALL(sp_cv_dw, xp, buf, jb->dw, DP, DR, C, Hp, Wp, OH, FH, FW, SH, O);
      }
    }
    free(xp); free(buf);
  } else {
    /* dx = stride-1 correlation of dy (planar, offset FH−1−PT, FW−1−PL) with the flipped filter wf[kh][kw][o][c]. */
    const int64_t Hq = H + FH - 1, Wq = W + FW - 1;
    float *dq = (float *)malloc((size_t)(O * Hq * Wq + TAIL) * sizeof(float));
    float *buf = (float *)malloc((size_t)(((C + 3) / 4) * 4 * 64) * sizeof(float));
    const int64_t rowsPerRun = H;
    if (!dq || !buf) { free(dq); free(buf); jb->ok = 0; return 0; }
    for (int64_t n = jb->n0; n < jb->n1; n++) {
      if (!sp_cv_planar(jb->x + n * OH * OW * O, OH, OW, O, FH - 1 - PT, FW - 1 - PL, Hq, Wq, TAIL, dq)) { jb->ok = 0; break; }
      SP_CV_CALL(sp_cv_fwd, dq, jb->wf, jb->y + n * H * W * C, buf, O, Hq, Wq, H, W, FH, FW, 1, C, rowsPerRun);
    }
    free(dq); free(buf);
  }
  return 0;
}

#define SP_CV_MAX_THREADS 16
/* Returns 1, or 0 when an input holds NaN/±Inf, memory ran out or the CPU lacks AVX2+FMA (the caller then uses im2col + sgemm). */
int sp_conv_direct(int32_t mode, const int32_t *g, const float *x, const float *w, float *out, int32_t threads) {
#if defined(__x86_64__) && (defined(__GNUC__) || defined(__clang__))
  if (sp_cv_isa() == 0) return 0;
#else
  return 0;
#endif
  /* An empty output (OH or OW 0): decline, as the negative buffer sizes below used to by failing malloc. */
  if (g[4] <= 0 || g[5] <= 0) return 0;
  const int64_t N = g[0], C = g[3], FH = g[6], FW = g[7], O = g[12];
  int64_t T = threads < 1 ? 1 : threads > SP_CV_MAX_THREADS ? SP_CV_MAX_THREADS : threads;
  if (T > N) T = N;
  if (T < 1) return 1;
  double *dw = 0;
  float *wf = 0;
  if (mode == 1) { dw = (double *)calloc((size_t)(T * FH * FW * C * O), sizeof(double)); if (!dw) return 0; }
  if (mode == 2) {
    wf = (float *)malloc((size_t)(FH * FW * C * O) * sizeof(float));
    if (!wf) return 0;
    for (int64_t kh = 0; kh < FH; kh++) for (int64_t kw = 0; kw < FW; kw++)
      for (int64_t o = 0; o < O; o++) for (int64_t c = 0; c < C; c++)
        wf[((kh * FW + kw) * O + o) * C + c] = w[(((FH - 1 - kh) * FW + (FW - 1 - kw)) * C + c) * O + o];
  }
  sp_cv_job jobs[SP_CV_MAX_THREADS];
  pthread_t tid[SP_CV_MAX_THREADS];
  int started[SP_CV_MAX_THREADS];
  for (int64_t t = 0; t < T; t++) {
    sp_cv_job j = { mode, g, x, w, out, dw ? dw + t * FH * FW * C * O : 0, wf, N * t / T, N * (t + 1) / T, 0 };
    jobs[t] = j;
  }
  for (int64_t t = 1; t < T; t++) started[t] = pthread_create(&tid[t], 0, sp_cv_work, &jobs[t]) == 0;
  sp_cv_work(&jobs[0]);
  for (int64_t t = 1; t < T; t++) { if (started[t]) pthread_join(tid[t], 0); else sp_cv_work(&jobs[t]); }
  int ok = 1;
  for (int64_t t = 0; t < T; t++) ok &= jobs[t].ok;
  if (mode == 1 && ok) {
    const int64_t K = FH * FW * C * O;
    for (int64_t i = 0; i < K; i++) { double s = 0; for (int64_t t = 0; t < T; t++) s += dw[t * K + i]; out[i] = (float)s; }
  }
  free(dw); free(wf);
  return ok;
}
${GEMM_C_SOURCE}
`;
