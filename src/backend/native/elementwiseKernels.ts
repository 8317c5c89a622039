import { backend_util, broadcast_util, util, type NamedAttrMap, type TensorInfo } from '@tensorflow/tfjs-core';
import type { CpuBackendLike, Fallback, KernelArgs } from './gemmKernels.js';
import { loadNativeKernels, type NativeKernels } from './elementwiseLibrary.js';

export type KernelImpl = (args: KernelArgs) => TensorInfo | TensorInfo[];
/** Builds a native kernel around the stock one it falls back to for uncovered inputs. */
export type ElementwiseKernelMaker = (stock: Fallback) => KernelImpl;

/**
 * A Float32Array for a kernel that writes EVERY element: not zero-filled (Buffer.allocUnsafeSlow),
 * which measured 110 → 10 µs for a 4.8 MB output. Kernels that accumulate into their output use
 * `new Float32Array` (zeroed).
 */
export function outputArray(n: number): Float32Array {
  if (n < 1024) return new Float32Array(n);
  const b = Buffer.allocUnsafeSlow(n * 4);
  return new Float32Array(b.buffer, b.byteOffset, n);
}

/** True when every entry is ±0 (exits at the first other entry: a few reads on ordinary data). */
function allZero(v: Float32Array): boolean {
  for (let i = 0; i < v.length; i++) if (v[i] !== 0) return false;
  return true;
}

function f32(backend: CpuBackendLike, t: TensorInfo | undefined): Float32Array | undefined {
  if (t === undefined || t.dtype !== 'float32') return undefined;
  const v = backend.data.get(t.dataId).values;
  return v instanceof Float32Array ? v : undefined;
}

/** Op codes of sp_unary (elementwiseSource.ts). */
export const UNARY_OPS: Record<string, number> = {
  Relu: 0,
  Step: 1,
  Tanh: 2,
  Exp: 3,
  Sigmoid: 4,
  Log: 5,
  Square: 6,
  Neg: 7,
  Sqrt: 8,
  Abs: 9,
};
/** Op codes of sp_binary. */
const BINARY_OPS: Record<string, number> = { Add: 0, Sub: 1, Multiply: 2, RealDiv: 3 };

function unary(native: NativeKernels, op: number): ElementwiseKernelMaker {
  return (stock) => (args) => {
    const x = args.inputs.x;
    const xv = f32(args.backend, x);
    if (x === undefined || xv === undefined) return stock(args);
    const y = outputArray(xv.length);
    const alpha = op === 1 ? Number(args.attrs?.alpha ?? 0) : 0;
    native.unary(op, xv, y, xv.length, alpha);
    return args.backend.makeTensorInfo(x.shape.slice(), 'float32', y);
  };
}

function sameShape(a: readonly number[], b: readonly number[]): boolean {
  return a.length === b.length && a.every((v, i) => v === b[i]);
}

/**
 * How `small` broadcasts against `big` (whose shape is the output's), in sp_binary's terms:
 * 'suffix' (small's shape, leading 1s dropped, ends big's shape: it repeats every small.size
 * entries) or 'prefix' (small = big's leading dims then 1s: one value per block of
 * big.size / small.size); undefined for any other pattern (the stock kernel handles it).
 */
function broadcastPattern(small: readonly number[], big: readonly number[]): 'suffix' | 'prefix' | undefined {
  const s = small.slice();
  while (s.length > 0 && s[0] === 1) s.shift();
  if (s.length <= big.length && s.every((v, i) => v === big[big.length - s.length + i])) return 'suffix';
  const aligned = [...new Array<number>(Math.max(0, big.length - small.length)).fill(1), ...small];
  if (aligned.length !== big.length) return undefined;
  let k = aligned.length;
  while (k > 0 && aligned[k - 1] === 1) k--;
  for (let i = 0; i < k; i++) if (aligned[i] !== big[i]) return undefined;
  return 'prefix';
}

function binary(native: NativeKernels, op: number): ElementwiseKernelMaker {
  return (stock) => (args) => {
    const { a, b } = args.inputs;
    const av = f32(args.backend, a);
    const bv = f32(args.backend, b);
    if (a === undefined || b === undefined || av === undefined || bv === undefined) return stock(args);
    let outShape: number[];
    try {
      outShape = broadcast_util.assertAndGetBroadcastShape(a.shape, b.shape);
    } catch {
      return stock(args);
    }
    const n = util.sizeFromShape(outShape);
    let mode: number;
    let inner = 1;
    if (sameShape(a.shape, b.shape)) mode = 0;
    else if (bv.length === 1 && av.length === n) mode = 1;
    else if (av.length === 1 && bv.length === n) mode = 2;
    else if (av.length === n && bv.length > 0) {
      const p = broadcastPattern(b.shape, outShape);
      if (p === undefined) return stock(args);
      mode = p === 'suffix' ? 3 : 5;
      inner = p === 'suffix' ? bv.length : n / bv.length;
    } else if (bv.length === n && av.length > 0) {
      const p = broadcastPattern(a.shape, outShape);
      if (p === undefined) return stock(args);
      mode = p === 'suffix' ? 4 : 6;
      inner = p === 'suffix' ? av.length : n / av.length;
    } else return stock(args);
    const y = outputArray(n);
    if (n > 0) native.binary(op, mode, av, bv, y, n, inner);
    return args.backend.makeTensorInfo(outShape, 'float32', y);
  };
}

/**
 * Sum (or Mean = Sum / count) over a leading block of axes (column sums) or a trailing block
 * (row sums), accumulated in double as tfjs does; other axis sets go to the stock kernel.
 */
function sum(native: NativeKernels, mean = false): ElementwiseKernelMaker {
  return (stock) => (args) => {
    const x = args.inputs.x;
    const xv = f32(args.backend, x);
    if (x === undefined || xv === undefined || x.shape.length === 0) return stock(args);
    const rank = x.shape.length;
    const axes = [...new Set(util.parseAxisParam(args.attrs?.axis as number | number[], x.shape))].sort((p, q) => p - q);
    if (axes.length === 0) return stock(args);
    const prefix = axes.every((v, i) => v === i);
    const suffix = axes.every((v, i) => v === rank - axes.length + i);
    if (!prefix && !suffix) return stock(args);
    const reduced = util.sizeFromShape(axes.map((i) => x.shape[i]!));
    const kept = xv.length / Math.max(1, reduced);
    const outShape =
      args.attrs?.keepDims === true
        ? x.shape.map((d, i) => (axes.includes(i) ? 1 : d))
        : x.shape.filter((_, i) => !axes.includes(i));
    const y = new Float32Array(reduced === 0 ? util.sizeFromShape(outShape) : kept);
    if (reduced > 0 && kept > 0) {
      if (suffix) native.sumRows(xv, y, kept, reduced);
      else native.sumCols(xv, y, reduced, kept);
      if (mean) for (let i = 0; i < y.length; i++) y[i] = y[i]! / reduced;
    } else if (mean) y.fill(NaN); // 0/0, as tfjs's mean of an empty axis
    return args.backend.makeTensorInfo(outShape, 'float32', y);
  };
}

type PoolInfo = ReturnType<typeof backend_util.computePool2DInfo>;

function poolInfo(x: TensorInfo, attrs: NamedAttrMap): PoolInfo | undefined {
  if (x.shape.length !== 4) return undefined;
  const info = backend_util.computePool2DInfo(
    x.shape as [number, number, number, number],
    attrs.filterSize as [number, number] | number,
    attrs.strides as [number, number] | number,
    1,
    attrs.pad as 'valid' | 'same' | number,
    attrs.dimRoundingMode as 'floor' | 'round' | 'ceil' | undefined,
  );
  if (info.dilationHeight !== 1 || info.dilationWidth !== 1) return undefined;
  return info;
}

/** Geometry vector of the C kernels: N H W C OH OW FH FW SH SW PT PL. */
export function poolGeometry(info: PoolInfo): Int32Array {
  return Int32Array.from([
    info.batchSize,
    info.inHeight,
    info.inWidth,
    info.inChannels,
    info.outHeight,
    info.outWidth,
    info.filterHeight,
    info.filterWidth,
    info.strideHeight,
    info.strideWidth,
    info.padInfo.top,
    info.padInfo.left,
  ]);
}

/** MaxPool or AvgPool (max, or mean of each window's in-bounds pixels) through the given native pooling. */
function forwardPool(pool: NativeKernels['maxPool'] | NativeKernels['avgPool']): ElementwiseKernelMaker {
  return (stock) => (args) => {
    const x = args.inputs.x;
    const xv = f32(args.backend, x);
    const info = x === undefined ? undefined : poolInfo(x, args.attrs ?? {});
    if (x === undefined || xv === undefined || info === undefined) return stock(args);
    const y = outputArray(util.sizeFromShape(info.outShape));
    pool(xv, poolGeometry(info), y);
    return args.backend.makeTensorInfo(info.outShape, 'float32', y);
  };
}

/** AvgPoolGrad: each window's in-bounds pixels receive dy / (FH·FW) (tfjs's rule). */
function avgPoolGrad(native: NativeKernels): ElementwiseKernelMaker {
  return (stock) => (args) => {
    const { dy, input } = args.inputs;
    const dyv = f32(args.backend, dy);
    const info = input === undefined ? undefined : poolInfo(input, args.attrs ?? {});
    if (input === undefined || dyv === undefined || info === undefined) return stock(args);
    const dx = new Float32Array(util.sizeFromShape(input.shape));
    native.avgPoolGrad(dyv, poolGeometry(info), dx);
    return args.backend.makeTensorInfo(input.shape.slice(), 'float32', dx);
  };
}

/**
 * Whether pooling windows tile the input exactly (stride = window, no padding, H = OH·FH,
 * W = OW·FW): the C library's MaxPoolGrad then writes every dx entry (sp_maxpool_tiled), so dx
 * needs no zeroing.
 */
export function poolTilesExactly(info: PoolInfo): boolean {
  return (
    info.strideHeight === info.filterHeight &&
    info.strideWidth === info.filterWidth &&
    info.padInfo.top === 0 &&
    info.padInfo.left === 0 &&
    info.outHeight * info.filterHeight === info.inHeight &&
    info.outWidth * info.filterWidth === info.inWidth
  );
}

/** MaxPoolGrad: dx[first argmax of each window] += dy[window] (tfjs's routing rule). */
function maxPoolGrad(native: NativeKernels, writesEveryEntry: boolean): ElementwiseKernelMaker {
  return (stock) => (args) => {
    const { dy, input } = args.inputs;
    const xv = f32(args.backend, input);
    const dyv = f32(args.backend, dy);
    const info = input === undefined ? undefined : poolInfo(input, args.attrs ?? {});
    if (input === undefined || xv === undefined || dyv === undefined || info === undefined) return stock(args);
    const zero = allZero(dyv);
    const dx = writesEveryEntry && !zero && poolTilesExactly(info) ? outputArray(xv.length) : new Float32Array(xv.length);
    // dy all ±0 (G·v's zero-cotangent J·v step): every dx entry is a sum of ±0, i.e. +0, whatever x holds.
    if (!zero) native.maxPoolGrad(xv, dyv, poolGeometry(info), dx);
    return args.backend.makeTensorInfo(input.shape.slice(), 'float32', dx);
  };
}

/**
 * The same transpose with size-1 dimensions dropped and dimensions that stay adjacent (in order)
 * merged: NHWC → NCHW ([0, 3, 1, 2]) becomes [N, H·W, C] → [0, 2, 1], a batched 2-D transpose.
 */
export function transposeCanonical(shape: readonly number[], perm: readonly number[]): { shape: number[]; perm: number[] } {
  const kept = shape.map((_, i) => i).filter((i) => shape[i] !== 1);
  const rank = new Map(kept.map((d, i) => [d, i]));
  const p = perm.filter((d) => rank.has(d)).map((d) => rank.get(d)!);
  const s = kept.map((d) => shape[d]!);
  // Groups of input dims that appear consecutively (and in order) in the output.
  const groups: number[][] = [];
  for (const d of p) {
    const last = groups[groups.length - 1];
    if (last !== undefined && last[last.length - 1]! + 1 === d) last.push(d);
    else groups.push([d]);
  }
  const byInput = groups
    .map((g, out) => ({ first: g[0]!, out, size: g.reduce((a, d) => a * s[d]!, 1) }))
    .sort((a, b) => a.first - b.first);
  const newIndex = new Map(byInput.map((g, i) => [g.out, i]));
  return { shape: byInput.map((g) => g.size), perm: groups.map((_, out) => newIndex.get(out)!) };
}

/** Transpose of float32 and int32 tensors (32-bit words moved as they are); other dtypes go to the stock kernel. */
function transpose(native: NativeKernels): ElementwiseKernelMaker {
  return (stock) => (args) => {
    const x = args.inputs.x;
    if (x === undefined || (x.dtype !== 'float32' && x.dtype !== 'int32')) return stock(args);
    const values = args.backend.data.get(x.dataId).values;
    if (!(values instanceof Float32Array) && !(values instanceof Int32Array)) return stock(args);
    const perm = (args.attrs?.perm as number[] | undefined) ?? x.shape.map((_, i) => x.shape.length - 1 - i);
    if (perm.length !== x.shape.length) return stock(args);
    const c = transposeCanonical(x.shape, perm);
    if (c.shape.length > 8) return stock(args);
    const n = values.length;
    const raw = outputArray(n);
    const out = values instanceof Float32Array ? raw : new Int32Array(raw.buffer, raw.byteOffset, n);
    const asF32 = (a: Float32Array | Int32Array): Float32Array =>
      a instanceof Float32Array ? a : new Float32Array(a.buffer, a.byteOffset, a.length);
    if (n > 0) native.transpose(asF32(values), asF32(out), Int32Array.from(c.shape), Int32Array.from(c.perm));
    return args.backend.makeTensorInfo(
      perm.map((p) => x.shape[p]!),
      x.dtype,
      out,
    );
  };
}

/**
 * Name of specpipe's own cpu kernel for the adjoint of max-pool gradient routing (inputs ddx, x;
 * MaxPool's attrs): ddy[window] = ddx[first argmax of x in the window], the rule
 * src/curvature/secondOrderGradients.ts otherwise builds from five tfjs kernels.
 */
export const MAX_POOL_ROUTE_KERNEL = 'SpecpipeMaxPoolRoute';

/** The MAX_POOL_ROUTE_KERNEL kernel over an implementation (float32 NHWC, dilation 1). */
export function maxPoolRouteKernel(native: NativeKernels): KernelImpl {
  return (args) => {
    const { ddx, x } = args.inputs;
    const xv = f32(args.backend, x);
    const dv = f32(args.backend, ddx);
    const info = x === undefined ? undefined : poolInfo(x, args.attrs ?? {});
    if (
      x === undefined ||
      ddx === undefined ||
      xv === undefined ||
      dv === undefined ||
      info === undefined ||
      !sameShape(x.shape, ddx.shape)
    ) {
      throw new Error(`${MAX_POOL_ROUTE_KERNEL}: needs float32 NHWC x and ddx of one shape, dilation 1`);
    }
    const y = outputArray(util.sizeFromShape(info.outShape));
    native.maxPoolRoute(xv, dv, poolGeometry(info), y);
    return args.backend.makeTensorInfo(info.outShape, 'float32', y);
  };
}

/**
 * Names of specpipe's own cpu kernels for the tanh derivative chains of second-order rules
 * (src/curvature/tanhDerivatives.ts; t = tanh(x), all inputs float32 of one shape):
 * - TANH_GRAD_KERNEL, inputs (dy, x): dx = dy·(1 − t²), the Tanh gradient rule;
 * - TANH_GRAD2_KERNEL, inputs (g, dy, x): ((−(g·dy))·(t·2))·(1 − t²) = ∂/∂x [g·dy·(1 − t²)].
 * Registered only with the C library (bit for bit the unfused tfjs chains they replace).
 */
export const TANH_GRAD_KERNEL = 'SpecpipeTanhGrad';
export const TANH_GRAD2_KERNEL = 'SpecpipeTanhGrad2';

/** The TANH_GRAD_KERNEL and TANH_GRAD2_KERNEL kernels over the C library (undefined without its tanh functions). */
export function tanhGradKernels(native: NativeKernels): Record<string, KernelImpl> | undefined {
  const { tanhGrad, tanhGrad2 } = native;
  if (tanhGrad === undefined || tanhGrad2 === undefined) return undefined;
  const inputs = (args: KernelArgs, names: readonly string[]): { shape: number[]; values: Float32Array[] } => {
    const shape = args.inputs[names[0]!]?.shape;
    const values = names.map((name) => {
      const t = args.inputs[name];
      const v = f32(args.backend, t);
      if (t === undefined || v === undefined || shape === undefined || !sameShape(t.shape, shape))
        throw new Error(`${TANH_GRAD_KERNEL}/${TANH_GRAD2_KERNEL}: needs float32 ${names.join(', ')} of one shape`);
      return v;
    });
    return { shape: shape!.slice(), values };
  };
  return {
    [TANH_GRAD_KERNEL]: (args) => {
      const { shape, values } = inputs(args, ['dy', 'x']);
      const n = values[0]!.length;
      const dx = outputArray(n);
      if (n > 0) tanhGrad.call(native, values[0]!, values[1]!, dx, n);
      return args.backend.makeTensorInfo(shape, 'float32', dx);
    },
    [TANH_GRAD2_KERNEL]: (args) => {
      const { shape, values } = inputs(args, ['g', 'dy', 'x']);
      const n = values[0]!.length;
      const out = outputArray(n);
      if (n > 0) tanhGrad2.call(native, values[0]!, values[1]!, values[2]!, out, n);
      return args.backend.makeTensorInfo(shape, 'float32', out);
    },
  };
}

/**
 * Softmax over the last axis, float32, as plain per-row loops computing exactly what the stock cpu
 * kernel computes (its max, sub, exp, sum and div kernels in turn): m = max_j x_j (a NaN wins),
 * a_j = fround(x_j − m), b_j = fround(Math.exp(a_j)), s = fround(Σ_j b_j summed in order in double),
 * y_j = fround(b_j / s) — bit for bit the stock result. The stock kernel's broadcasting sub and div
 * walk every element through index arithmetic and small arrays (issue 14: 1.9 ms per [500, 10] logits
 * under load, 9% of a G·v-bound pieces instance, and much of its garbage).
 */
function softmax(): ElementwiseKernelMaker {
  return (stock) => (args) => {
    const x = args.inputs.logits;
    const xv = f32(args.backend, x);
    const rank = x?.shape.length ?? 0;
    const dim = Number(args.attrs?.dim ?? -1);
    if (x === undefined || xv === undefined || rank === 0 || (dim !== -1 && dim !== rank - 1)) return stock(args);
    const cols = x.shape[rank - 1]!;
    const y = outputArray(xv.length);
    const b = new Float32Array(cols);
    for (let o = 0; o + cols <= xv.length && cols > 0; o += cols) {
      let m = xv[o]!;
      for (let j = 0; j < cols; j++) {
        const v = xv[o + j]!;
        if (Number.isNaN(v) || v > m) m = v;
      }
      let s = 0;
      for (let j = 0; j < cols; j++) {
        b[j] = Math.exp(Math.fround(xv[o + j]! - m));
        s += b[j]!;
      }
      const s32 = Math.fround(s);
      for (let j = 0; j < cols; j++) y[o + j] = b[j]! / s32;
    }
    return args.backend.makeTensorInfo(x.shape.slice(), 'float32', y);
  };
}

/** A concatenation axis as [outer, inner] sizes around it: x viewed as [outer, shape[axis], inner]. */
function aroundAxis(shape: readonly number[], axis: number): { outer: number; inner: number } {
  return {
    outer: util.sizeFromShape(shape.slice(0, axis)),
    inner: util.sizeFromShape(shape.slice(axis + 1)),
  };
}

/**
 * SplitV of a float32 tensor (the gradient of Concat: DenseNet's every layer) as one strided row copy
 * per piece (`copyRows`): with x viewed as [outer, axisLength, inner], piece p is x[:, o_p : o_p + s_p, :].
 * Bit for bit the stock kernel (values are only moved). The stock cpu kernel slices element by element
 * through index arithmetic: 95% of a DenseNet40 (growth 6) gradient, 250 ms per call on 16 images of
 * 32×32 (issue 14, bench/profile densenet40-6); one JavaScript subarray copy per row still took 9 ms
 * a call on 32 images, the C row copy ≈ 1 ms (issue 13).
 */
function splitV(impl: NativeKernels): ElementwiseKernelMaker {
  return (stock) => (args) => {
    const x = args.inputs.x;
    const xv = f32(args.backend, x);
    if (x === undefined || xv === undefined || x.shape.length === 0) return stock(args);
    const rank = x.shape.length;
    const rawAxis = Number(args.attrs?.axis ?? 0);
    const axis = rawAxis < 0 ? rawAxis + rank : rawAxis;
    const axisLength = x.shape[axis];
    const splits = args.attrs?.numOrSizeSplits;
    if (axisLength === undefined || axis < 0) return stock(args);
    let sizes: number[];
    if (typeof splits === 'number') {
      if (splits <= 0 || axisLength % splits !== 0) return stock(args);
      sizes = Array.from({ length: splits }, () => axisLength / splits);
    } else if (Array.isArray(splits)) {
      sizes = (splits as number[]).slice();
      const free = sizes.indexOf(-1);
      if (free >= 0) sizes[free] = axisLength - sizes.reduce((a, b) => (b === -1 ? a : a + b), 0);
      if (sizes.some((z) => !Number.isInteger(z) || z < 0) || sizes.reduce((a, b) => a + b, 0) !== axisLength) return stock(args);
    } else return stock(args);
    const { outer, inner } = aroundAxis(x.shape, axis);
    const row = axisLength * inner;
    let offset = 0;
    return sizes.map((size) => {
      const width = size * inner;
      const y = outputArray(outer * width);
      if (outer * width > 0) impl.copyRows(xv.subarray(offset), row, y, width, outer, width);
      offset += width;
      const shape = x.shape.slice();
      shape[axis] = size;
      return args.backend.makeTensorInfo(shape, 'float32', y);
    });
  };
}

/**
 * Concat of float32 tensors along one axis (DenseNet: x ← cat(x, f(x)) in every layer, its R-op and
 * double-backward twins) as one strided row copy per input: with the output viewed as
 * [outer, Σ_i a_i, inner], input i fills columns [o_i, o_i + a_i·inner) of every row. Bit for bit the
 * stock kernel, which copies element by element in JavaScript (8% of a DenseNet40 Hess·v, issue 13).
 * Inputs of another dtype, or any empty one, go to the stock kernel.
 */
function concat(impl: NativeKernels): ElementwiseKernelMaker {
  return (stock) => (args) => {
    const xs = Object.values(args.inputs) as TensorInfo[];
    const first = xs[0];
    if (first === undefined || first.shape.length === 0) return stock(args);
    const rank = first.shape.length;
    const rawAxis = Number(args.attrs?.axis ?? 0);
    const axis = rawAxis < 0 ? rawAxis + rank : rawAxis;
    const values: Float32Array[] = [];
    for (const x of xs) {
      const v = f32(args.backend, x);
      if (v === undefined || v.length === 0 || x.shape.length !== rank) return stock(args);
      values.push(v);
    }
    if (axis < 0 || axis >= rank) return stock(args);
    const shape = first.shape.slice();
    shape[axis] = xs.reduce((a, x) => a + x.shape[axis]!, 0);
    const { outer, inner } = aroundAxis(shape, axis);
    const row = shape[axis]! * inner;
    const y = outputArray(outer * row);
    let offset = 0;
    xs.forEach((x, i) => {
      const width = x.shape[axis]! * inner;
      impl.copyRows(values[i]!, width, y.subarray(offset), row, outer, width);
      offset += width;
    });
    return args.backend.makeTensorInfo(shape, 'float32', y);
  };
}

/** Kernel makers over an implementation (the C library, or JS_KERNELS for a subset). */
export function elementwiseKernelMakers(
  impl: NativeKernels,
  only?: readonly string[],
  nativeLibrary = false,
): Record<string, ElementwiseKernelMaker> {
  const kernels: Record<string, ElementwiseKernelMaker> = {};
  for (const [name, op] of Object.entries(UNARY_OPS)) kernels[name] = unary(impl, op);
  for (const [name, op] of Object.entries(BINARY_OPS)) kernels[name] = binary(impl, op);
  kernels.Sum = sum(impl);
  kernels.Mean = sum(impl, true);
  kernels.MaxPool = forwardPool((x, g, y) => impl.maxPool(x, g, y));
  kernels.MaxPoolGrad = maxPoolGrad(impl, nativeLibrary);
  kernels.AvgPool = forwardPool((x, g, y) => impl.avgPool(x, g, y));
  kernels.AvgPoolGrad = avgPoolGrad(impl);
  kernels.Transpose = transpose(impl);
  kernels.Softmax = softmax();
  kernels.SplitV = splitV(impl);
  kernels.Concat = concat(impl);
  if (only === undefined) return kernels;
  return Object.fromEntries(Object.entries(kernels).filter(([name]) => only.includes(name)));
}

/**
 * The native elementwise, reduction and pooling kernels, or why they are unavailable
 * (they need a C compiler on first use; see elementwiseLibrary.ts).
 */
export function nativeElementwiseKernels():
  | { ok: true; library: string; native: NativeKernels; kernels: Record<string, ElementwiseKernelMaker> }
  | { ok: false; reason: string } {
  const loaded = loadNativeKernels();
  if (!loaded.ok) return loaded;
  const native = loaded.kernels;
  return { ok: true, library: native.library, native, kernels: elementwiseKernelMakers(native, undefined, true) };
}

/** Kernel names `nativeElementwiseKernels` can provide. */
export const NATIVE_ELEMENTWISE_KERNEL_NAMES: readonly string[] = [
  ...Object.keys(UNARY_OPS),
  ...Object.keys(BINARY_OPS),
  'Sum',
  'Mean',
  'MaxPool',
  'MaxPoolGrad',
  'AvgPool',
  'AvgPoolGrad',
  'Transpose',
  'Softmax',
  'SplitV',
  'Concat',
];
