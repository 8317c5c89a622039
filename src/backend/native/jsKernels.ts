import type { NativeKernels } from './elementwiseLibrary.js';
import { col2im, im2col, type ConvGeometry } from './im2col.js';

/**
 * Plain-JavaScript versions of the C library's reductions, broadcasts and pooling, used when no
 * C compiler is available. Same contracts as elementwiseSource.ts. Registered only for the
 * kernels where they beat tfjs's own (CPU time on [256,28,28,6], tfjs → these: Sum over the
 * leading axes 97 → 3.6 ms, Mean 137 → 3.8, MaxPoolGrad 327 → 16, AvgPoolGrad 162 → 5.0, bias
 * Add 22 → 3.8, Multiply 34 → 16; tfjs transposes before reducing and recomputes pooling
 * windows per input pixel). Unary ops, MaxPool and AvgPool stay tfjs's (no faster here).
 */
function geometryOf(g: Int32Array): ConvGeometry & { batch: number } {
  return {
    batch: g[0]!,
    inHeight: g[1]!,
    inWidth: g[2]!,
    inChannels: g[3]!,
    outHeight: g[4]!,
    outWidth: g[5]!,
    filterHeight: g[6]!,
    filterWidth: g[7]!,
    strideHeight: g[8]!,
    strideWidth: g[9]!,
    padTop: g[10]!,
    padLeft: g[11]!,
  };
}

function binary(op: number, mode: number, a: Float32Array, b: Float32Array, y: Float32Array, n: number, innerIn: number): void {
  const inner = innerIn <= 0 ? 1 : innerIn;
  const f =
    op === 0
      ? (p: number, q: number) => p + q
      : op === 1
        ? (p: number, q: number) => p - q
        : op === 2
          ? (p: number, q: number) => p * q
          : (p: number, q: number) => p / q;
  switch (mode) {
    case 0:
      for (let i = 0; i < n; i++) y[i] = f(a[i]!, b[i]!);
      break;
    case 1: {
      const q = b[0]!;
      for (let i = 0; i < n; i++) y[i] = f(a[i]!, q);
      break;
    }
    case 2: {
      const p = a[0]!;
      for (let i = 0; i < n; i++) y[i] = f(p, b[i]!);
      break;
    }
    case 3:
      for (let o = 0; o < n; o += inner) for (let i = 0; i < inner; i++) y[o + i] = f(a[o + i]!, b[i]!);
      break;
    case 4:
      for (let o = 0; o < n; o += inner) for (let i = 0; i < inner; i++) y[o + i] = f(a[i]!, b[o + i]!);
      break;
    case 5:
      for (let o = 0, r = 0; o < n; o += inner, r++) {
        const q = b[r]!;
        for (let i = 0; i < inner; i++) y[o + i] = f(a[o + i]!, q);
      }
      break;
    case 6:
      for (let o = 0, r = 0; o < n; o += inner, r++) {
        const p = a[r]!;
        for (let i = 0; i < inner; i++) y[o + i] = f(p, b[o + i]!);
      }
      break;
  }
}

function pool(
  x: Float32Array,
  g: Int32Array,
  visit: (n: number, window: { rLo: number; rHi: number; cLo: number; cHi: number }, o: number) => void,
): void {
  const G = geometryOf(g);
  for (let n = 0; n < G.batch; n++) {
    for (let oh = 0; oh < G.outHeight; oh++) {
      const r0 = oh * G.strideHeight - G.padTop;
      const rLo = Math.max(0, r0);
      const rHi = Math.min(G.inHeight, r0 + G.filterHeight);
      for (let ow = 0; ow < G.outWidth; ow++) {
        const c0 = ow * G.strideWidth - G.padLeft;
        visit(
          n,
          { rLo, rHi, cLo: Math.max(0, c0), cHi: Math.min(G.inWidth, c0 + G.filterWidth) },
          ((n * G.outHeight + oh) * G.outWidth + ow) * G.inChannels,
        );
      }
    }
  }
  void x;
}

function maxPoolImpl(
  x: Float32Array,
  g: Int32Array,
  y: Float32Array | undefined,
  dy: Float32Array | undefined,
  dx: Float32Array | undefined,
  ddx?: Float32Array,
): void {
  const G = geometryOf(g);
  const C = G.inChannels;
  const best = new Float64Array(C);
  const pos = new Int32Array(C);
  pool(x, g, (n, w, o) => {
    const img = n * G.inHeight * G.inWidth * C;
    best.fill(-Infinity);
    pos.fill(-1);
    for (let r = w.rLo; r < w.rHi; r++) {
      for (let q = w.cLo; q < w.cHi; q++) {
        const base = (r * G.inWidth + q) * C;
        for (let c = 0; c < C; c++) {
          const v = x[img + base + c]!;
          if (v > best[c]!) {
            best[c] = v;
            pos[c] = base + c;
          }
        }
      }
    }
    if (dy !== undefined && dx !== undefined) {
      for (let c = 0; c < C; c++) if (pos[c]! >= 0) dx[img + pos[c]!] = dx[img + pos[c]!]! + dy[o + c]!;
    } else if (ddx !== undefined && y !== undefined) {
      for (let c = 0; c < C; c++) y[o + c] = pos[c]! >= 0 ? ddx[img + pos[c]!]! : 0;
    } else if (y !== undefined) {
      for (let c = 0; c < C; c++) y[o + c] = best[c]!;
    }
  });
}

/**
 * Transpose with the C library's contract (canonical shape/perm): batched 2-D in 32×32 tiles,
 * other permutations in output order with an odometer over the input strides.
 */
function transpose(x: Float32Array, y: Float32Array, shape: Int32Array, perm: Int32Array): void {
  const rank = shape.length;
  const total = shape.reduce((a, b) => a * b, 1);
  if (total === 0) return;
  if (rank <= 1) {
    y.set(x.subarray(0, total));
    return;
  }
  // Copy 32-bit words through an integer view: a Float32Array copy could canonicalise NaN payloads.
  const xi = new Int32Array(x.buffer, x.byteOffset, total);
  const yi = new Int32Array(y.buffer, y.byteOffset, total);
  const batched = rank === 3 && perm[0] === 0 && perm[1] === 2 && perm[2] === 1;
  if ((rank === 2 && perm[0] === 1) || batched) {
    const B = batched ? shape[0]! : 1;
    const R = shape[rank - 2]!;
    const C = shape[rank - 1]!;
    const T = 32;
    for (let b = 0; b < B; b++) {
      const o = b * R * C;
      for (let r0 = 0; r0 < R; r0 += T) {
        const r1 = Math.min(R, r0 + T);
        for (let c0 = 0; c0 < C; c0 += T) {
          const c1 = Math.min(C, c0 + T);
          for (let c = c0; c < c1; c++) for (let r = r0; r < r1; r++) yi[o + c * R + r] = xi[o + r * C + c]!;
        }
      }
    }
    return;
  }
  const inStride = new Array<number>(rank).fill(1);
  for (let d = rank - 2; d >= 0; d--) inStride[d] = inStride[d + 1]! * shape[d + 1]!;
  const os = Array.from(perm, (p) => shape[p]!);
  const ostr = Array.from(perm, (p) => inStride[p]!);
  const idx = new Array<number>(rank).fill(0);
  const inner = os[rank - 1]!;
  const s = ostr[rank - 1]!;
  let off = 0;
  for (let o = 0; o < total; o += inner) {
    for (let i = 0; i < inner; i++) yi[o + i] = xi[off + i * s]!;
    for (let d = rank - 2; d >= 0; d--) {
      idx[d]!++;
      off += ostr[d]!;
      if (idx[d]! < os[d]!) break;
      off -= ostr[d]! * os[d]!;
      idx[d] = 0;
    }
  }
}

/**
 * Entries of w per cache chunk in the Krylov basis sweeps, as SP_BASIS_CHUNK in the C source
 * (128 KiB of w stays in L2 while the rows stream past in 64 KiB runs).
 */
const BASIS_CHUNK = 16384;

/**
 * c[cOffset + i] += v_iᵀw over rows v_i = V[first + i] (length n), chunk by chunk of w, 4 interleaved
 * partial sums per row and chunk added as (d0 + d1) + (d2 + d3): the order of sp_basis_dots.
 */
function basisDots(
  V: Float32Array | Float64Array,
  first: number,
  count: number,
  n: number,
  w: Float64Array,
  c: Float64Array,
  cOffset: number,
): void {
  for (let lo = 0; lo < n; lo += BASIS_CHUNK) {
    const hi = Math.min(n, lo + BASIS_CHUNK);
    for (let i = 0; i < count; i++) {
      const o = (first + i) * n;
      let d0 = 0;
      let d1 = 0;
      let d2 = 0;
      let d3 = 0;
      let k = lo;
      for (; k + 3 < hi; k += 4) {
        d0 += V[o + k]! * w[k]!;
        d1 += V[o + k + 1]! * w[k + 1]!;
        d2 += V[o + k + 2]! * w[k + 2]!;
        d3 += V[o + k + 3]! * w[k + 3]!;
      }
      for (; k < hi; k++) d0 += V[o + k]! * w[k]!;
      c[cOffset + i] = c[cOffset + i]! + (d0 + d1 + (d2 + d3));
    }
  }
}

/** y += Σ_i s[sOffset + i]·V[first + i], rows in order per entry: the order of sp_basis_axpy. */
function basisAxpy(
  V: Float32Array | Float64Array,
  first: number,
  count: number,
  n: number,
  s: Float64Array,
  sOffset: number,
  y: Float64Array,
): void {
  for (let lo = 0; lo < n; lo += BASIS_CHUNK) {
    const hi = Math.min(n, lo + BASIS_CHUNK);
    for (let i = 0; i < count; i++) {
      const c = s[sOffset + i]!;
      if (c === 0) continue;
      const o = (first + i) * n;
      for (let k = lo; k < hi; k++) y[k] = y[k]! + c * V[o + k]!;
    }
  }
}

/** The JavaScript fallback, with the C library's interface. */
export const JS_KERNELS: NativeKernels = {
  library: 'javascript',
  basisDots,
  basisAxpy,
  gramSequential(V, m, n, K) {
    for (let i = 0; i < m; i++)
      for (let j = 0; j <= i; j++) {
        let s = 0;
        for (let k = 0; k < n; k++) s += V[i * n + k]! * V[j * n + k]!;
        K[i * m + j] = s;
        K[j * m + i] = s;
      }
  },
  dotsSequential(V, count, n, w, c) {
    for (let i = 0; i < count; i++) {
      const o = i * n;
      let s = 0;
      for (let k = 0; k < n; k++) s += V[o + k]! * w[k]!;
      c[i] = s;
    }
  },
  unary() {
    throw new Error('JS_KERNELS.unary: unary ops stay with tfjs');
  },
  binary,
  transpose,
  copyRows(src, srcStride, dst, dstStride, rows, width) {
    if (width <= 0) return;
    // Narrow rows element by element: a subarray view per row costs more than copying a few floats.
    if (width < 64)
      for (let r = 0; r < rows; r++) for (let j = 0; j < width; j++) dst[r * dstStride + j] = src[r * srcStride + j]!;
    else for (let r = 0; r < rows; r++) dst.set(src.subarray(r * srcStride, r * srcStride + width), r * dstStride);
  },
  sumRows(x, y, rows, cols) {
    for (let r = 0; r < rows; r++) {
      let s = 0;
      const o = r * cols;
      for (let c = 0; c < cols; c++) s += x[o + c]!;
      y[r] = s;
    }
  },
  sumCols(x, y, rows, cols) {
    const acc = new Float64Array(cols);
    for (let r = 0; r < rows; r++) {
      const o = r * cols;
      for (let c = 0; c < cols; c++) acc[c] = acc[c]! + x[o + c]!;
    }
    y.set(acc);
  },
  im2col(x, g, n0, count, cols) {
    im2col(x, geometryOf(g), n0, count, cols);
  },
  col2im(cols, g, n0, count, dx) {
    col2im(cols, geometryOf(g), n0, count, dx);
  },
  maxPool(x, g, y) {
    maxPoolImpl(x, g, y, undefined, undefined);
  },
  maxPoolGrad(x, dy, g, dx) {
    maxPoolImpl(x, g, undefined, dy, dx);
  },
  maxPoolRoute(x, ddx, g, ddy) {
    maxPoolImpl(x, g, ddy, undefined, undefined, ddx);
  },
  avgPool(x, g, y) {
    const G = geometryOf(g);
    const C = G.inChannels;
    const acc = new Float64Array(C);
    pool(x, g, (n, w, o) => {
      const img = n * G.inHeight * G.inWidth * C;
      acc.fill(0);
      for (let r = w.rLo; r < w.rHi; r++)
        for (let q = w.cLo; q < w.cHi; q++) {
          const base = img + (r * G.inWidth + q) * C;
          for (let c = 0; c < C; c++) acc[c] = acc[c]! + x[base + c]!;
        }
      const count = (w.rHi - w.rLo) * (w.cHi - w.cLo);
      for (let c = 0; c < C; c++) y[o + c] = acc[c]! / count;
    });
  },
  avgPoolGrad(dy, g, dx) {
    const G = geometryOf(g);
    const C = G.inChannels;
    const scale = Math.fround(1 / (G.filterHeight * G.filterWidth));
    pool(dy, g, (n, w, o) => {
      const img = n * G.inHeight * G.inWidth * C;
      for (let r = w.rLo; r < w.rHi; r++)
        for (let q = w.cLo; q < w.cHi; q++) {
          const base = img + (r * G.inWidth + q) * C;
          for (let c = 0; c < C; c++) dx[base + c] = dx[base + c]! + dy[o + c]! * scale;
        }
    });
  },
};

/** Kernels served by JS_KERNELS when the C library is unavailable. */
export const JS_FALLBACK_KERNEL_NAMES: readonly string[] = [
  'Add',
  'Sub',
  'Multiply',
  'RealDiv',
  'Sum',
  'Mean',
  'MaxPoolGrad',
  'AvgPoolGrad',
  'Transpose',
  'Softmax',
  'SplitV',
  'Concat',
];
