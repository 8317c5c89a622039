import {
  backend_util,
  broadcast_util,
  getKernel,
  util,
  type DataId,
  type DataType,
  type NamedAttrMap,
  type NamedTensorInfoMap,
  type TensorInfo,
} from '@tensorflow/tfjs-core';
import type { GemmProvider } from './gemmProvider.js';
import { col2im, im2col, patchSize, type ConvGeometry } from './im2col.js';
import type { NativeKernels } from './elementwiseLibrary.js';

/** im2col/col2im: the C versions when the native library loaded, else the JavaScript ones. */
export interface Im2col {
  im2col(x: Float32Array, g: ConvGeometry, n0: number, count: number, cols: Float32Array): void;
  col2im(cols: Float32Array, g: ConvGeometry, n0: number, count: number, dx: Float32Array): void;
  /** dst[c·rows + r] = src[r·cols + c]: a rows × cols row-major matrix transposed. */
  transpose2d(src: Float32Array, rows: number, cols: number, dst: Float32Array): void;
  /**
   * The C library's direct convolution (see `directConvolutionApplies`): mode 0 forward
   * (x, filter → y), 1 filter gradient (x, dy → dW), 2 input gradient (dy, filter → dx). False
   * when it declined (non-finite input, no AVX2+FMA): the caller then uses im2col + sgemm.
   */
  direct?(
    mode: 0 | 1 | 2,
    g: ConvGeometry,
    batch: number,
    outChannels: number,
    a: Float32Array,
    b: Float32Array,
    out: Float32Array,
  ): boolean;
}

let directConvolution = true;
let directCalls = 0;

/** How many convolutions (forward or gradient) the direct kernel has computed in this thread (tests prove the path ran). */
export function directConvolutionCalls(): number {
  return directCalls;
}

/**
 * Turns the direct few-channel convolution off (or back on) for the GEMM kernels; returns the
 * previous setting. Tests and the bench use it to run both paths on the same shapes.
 */
export function setDirectConvolution(enabled: boolean): boolean {
  const previous = directConvolution;
  directConvolution = enabled;
  return previous;
}

/**
 * Whether a convolution goes to the direct kernel rather than im2col + sgemm: width stride 1
 * (mode 2, the input gradient: both strides 1 and top/left padding below the filter size) and a
 * skinny GEMM, where sgemm is far from its peak: for the forward and input gradient a patch
 * FH·FW·C ≤ 32 or ≤ 8 output channels; for the filter gradient both (its direct loop streams
 * 4 dy loads per 4 FMAs and lost on wider shapes: [3,3,3,16] 0.96×, [3,3,32,8] 0.74×).
 * Measured, batch 256, 1 thread, AVX-512 (bench/kernels.bench.ts, ms im2col + sgemm → direct):
 * LeNet conv1 (28×28, 1 → 6, 5×5 same) forward 5.3 → 1.8, filter gradient 6.1 → 1.9, input
 * gradient 4.4 → 2.3; [256,32,32,3]*[3,3,3,16] forward 7.5 → 5.4; [256,14,14,32]*[3,3,32,8]
 * forward 5.5 → 3.1, input gradient 5.9 → 2.9.
 */
export function directConvolutionApplies(mode: 0 | 1 | 2, g: ConvGeometry, outChannels: number): boolean {
  if (!directConvolution || g.strideWidth !== 1) return false;
  if (mode === 2 && (g.strideHeight !== 1 || g.padTop >= g.filterHeight || g.padLeft >= g.filterWidth)) return false;
  if (mode === 1) return patchSize(g) <= 32 && outChannels <= 8;
  return patchSize(g) <= 32 || outChannels <= 8;
}

/**
 * Runs the direct convolution when it applies; true when it wrote `out`. When it declines, `out`
 * is zeroed again (it may have written part of it) and the caller runs im2col + sgemm.
 */
function tryDirect(
  ic: Im2col,
  mode: 0 | 1 | 2,
  g: ConvGeometry,
  batch: number,
  outChannels: number,
  a: Float32Array,
  b: Float32Array,
  out: Float32Array,
): boolean {
  if (ic.direct === undefined || !directConvolutionApplies(mode, g, outChannels)) return false;
  if (ic.direct(mode, g, batch, outChannels, a, b, out)) {
    directCalls++;
    return true;
  }
  out.fill(0);
  return false;
}

function geometryVector(g: ConvGeometry, batch = 0, outChannels?: number): Int32Array {
  const v = [
    batch,
    g.inHeight,
    g.inWidth,
    g.inChannels,
    g.outHeight,
    g.outWidth,
    g.filterHeight,
    g.filterWidth,
    g.strideHeight,
    g.strideWidth,
    g.padTop,
    g.padLeft,
  ];
  if (outChannels !== undefined) v.push(outChannels);
  return Int32Array.from(v);
}

/**
 * The im2col implementation to use: native when given, JavaScript otherwise. `threads`: pthreads
 * the direct convolution splits a batch over (SPECPIPE_BLAS_THREADS, as the sgemm).
 */
export function im2colImpl(native: NativeKernels | undefined, threads = 1): Im2col {
  if (native === undefined) return { im2col, col2im, transpose2d: transpose2dJs };
  const convDirect = native.convDirect;
  const perm = Int32Array.from([1, 0]);
  return {
    im2col: (x, g, n0, count, cols) => native.im2col(x, geometryVector(g), n0, count, cols),
    col2im: (cols, g, n0, count, dx) => native.col2im(cols, geometryVector(g), n0, count, dx),
    transpose2d: (src, rows, cols, dst) => native.transpose(src, dst, Int32Array.from([rows, cols]), perm),
    ...(convDirect === undefined
      ? {}
      : {
          direct: (mode, g, batch, outChannels, a, b, out) =>
            convDirect(mode, geometryVector(g, batch, outChannels), a, b, out, threads),
        }),
  };
}

/** The parts of tfjs-backend-cpu's MathBackendCPU the kernels use (as its own kernels do). */
export interface CpuBackendLike {
  data: { get(dataId: DataId): { values?: unknown } };
  makeTensorInfo(shape: number[], dtype: DataType, values?: unknown): TensorInfo;
  disposeIntermediateTensorInfo(t: TensorInfo): void;
}

export interface KernelArgs {
  inputs: NamedTensorInfoMap;
  backend: CpuBackendLike;
  attrs?: NamedAttrMap;
}

/** A stock kernel to delegate to when an input is outside what the fast path covers. */
export type Fallback = (args: KernelArgs) => TensorInfo | TensorInfo[];

/**
 * im2col is materialised a chunk of whole images at a time, ≤ 2^18 floats (1 MiB, so it stays in
 * L2 between im2col and the sgemm that reads it). Measured CPU ms at batch 256, LeNet conv2
 * (forward / backprop-input / backprop-filter): 3.5 / 8.3 / 3.3 with 32 MiB chunks, 2.3 / 2.4 /
 * 2.3 with 1 MiB chunks; conv1 6.8 / 6.8 / 7.7 → 6.5 / 5.3 / 6.6.
 */
const IM2COL_CHUNK_FLOATS = 1 << 18;

let scratch = new Float32Array(0);
function scratchOf(n: number): Float32Array {
  if (scratch.length < n) scratch = new Float32Array(n);
  return scratch.subarray(0, n);
}

/** A second scratch buffer (the transposed GEMM output), alongside `scratchOf`'s im2col matrix. */
let scratchT = new Float32Array(0);
function scratchTOf(n: number): Float32Array {
  if (scratchT.length < n) scratchT = new Float32Array(n);
  return scratchT.subarray(0, n);
}

function transpose2dJs(src: Float32Array, rows: number, cols: number, dst: Float32Array): void {
  for (let r = 0; r < rows; r++) for (let c = 0; c < cols; c++) dst[c * rows + r] = src[r * cols + c]!;
}

function f32(backend: CpuBackendLike, t: TensorInfo): Float32Array | undefined {
  if (t.dtype !== 'float32') return undefined;
  const v = backend.data.get(t.dataId).values;
  return v instanceof Float32Array ? v : undefined;
}

function req(t: TensorInfo | undefined, name: string): TensorInfo {
  if (t === undefined) throw new Error(`kernel input "${name}" missing`);
  return t;
}

function single(r: TensorInfo | TensorInfo[]): TensorInfo {
  return Array.isArray(r) ? r[0]! : r;
}

/** Runs the kernel registered now for the cpu backend (used for bias-add and activations). */
function runRegistered(name: string, args: KernelArgs): TensorInfo {
  const k = getKernel(name, 'cpu');
  if (k === undefined) throw new Error(`kernel ${name} not registered for cpu`);
  return single(k.kernelFunc(args as never));
}

/**
 * True when every entry is ±0. Exits at the first other entry, so on ordinary data it costs a
 * few reads; only all-zero operands are scanned in full.
 */
function allZero(v: Float32Array): boolean {
  for (let i = 0; i < v.length; i++) if (v[i] !== 0) return false;
  return true;
}

/** True when no entry is NaN or ±Inf. */
function allFinite(v: Float32Array): boolean {
  for (let i = 0; i < v.length; i++) {
    const t = v[i]!;
    if (t - t !== 0) return false;
  }
  return true;
}

/**
 * Whether a bilinear kernel's output is exactly +0 everywhere: one operand all zeros and the other
 * finite (the stock kernels then sum products 0·w into +0 too; with a NaN or ±Inf in the other
 * operand they give NaN, so those go through the GEMM). Skipping the GEMM there matters for G·v:
 * the J·v step back-propagates a zero cotangent (the double-VJP trick at u = 0) whose values
 * nothing downstream reads, so its matmuls and convolutions are all of this kind.
 */
function zeroProduct(likelyZero: Float32Array, other: Float32Array): boolean {
  return (allZero(likelyZero) && allFinite(other)) || (allZero(other) && allFinite(likelyZero));
}

/**
 * BatchMatMul: out[b] = op(A[b mod batchA]) · op(B[b mod batchB]), op = transpose when the attr
 * says so; the batch indexing is tfjs-backend-cpu's (BatchMatMul.ts). One sgemm per batch entry,
 * or a single sgemm over the stacked rows when B is shared and A is not transposed.
 */
export function makeBatchMatMul(gemm: GemmProvider, stock: Fallback): (args: KernelArgs) => TensorInfo | TensorInfo[] {
  return (args) => {
    const { backend } = args;
    const a = req(args.inputs.a, 'a');
    const b = req(args.inputs.b, 'b');
    const transposeA = args.attrs?.transposeA === true;
    const transposeB = args.attrs?.transposeB === true;
    const av = f32(backend, a);
    const bv = f32(backend, b);
    const aRank = a.shape.length;
    const bRank = b.shape.length;
    if (av === undefined || bv === undefined || aRank < 2 || bRank < 2) return stock(args);
    const innerA = transposeA ? a.shape[aRank - 2]! : a.shape[aRank - 1]!;
    const innerB = transposeB ? b.shape[bRank - 1]! : b.shape[bRank - 2]!;
    if (innerA !== innerB) return stock(args); // stock throws tfjs's own message
    const M = transposeA ? a.shape[aRank - 1]! : a.shape[aRank - 2]!;
    const N = transposeB ? b.shape[bRank - 2]! : b.shape[bRank - 1]!;
    const K = innerA;
    const batchA = util.sizeFromShape(a.shape.slice(0, -2));
    const batchB = util.sizeFromShape(b.shape.slice(0, -2));
    const outerShape = broadcast_util.assertAndGetBroadcastShape(a.shape.slice(0, -2), b.shape.slice(0, -2));
    const outShape = outerShape.concat([M, N]);
    const batch = Math.max(batchA, batchB);
    const out = new Float32Array(batch * M * N);
    if (K > 0 && M > 0 && N > 0 && !zeroProduct(av, bv)) {
      const lda = transposeA ? M : K;
      const ldb = transposeB ? K : N;
      if (batchB === 1 && !transposeA) {
        gemm.sgemm(false, transposeB, batch * M, N, K, 1, av, lda, bv, ldb, 0, out, N);
      } else {
        for (let bi = 0; bi < batch; bi++) {
          const ao = (bi % batchA) * M * K;
          const bo = (bi % batchB) * K * N;
          gemm.sgemm(
            transposeA,
            transposeB,
            M,
            N,
            K,
            1,
            av.subarray(ao, ao + M * K),
            lda,
            bv.subarray(bo, bo + K * N),
            ldb,
            0,
            out.subarray(bi * M * N, (bi + 1) * M * N),
            N,
          );
        }
      }
    }
    return backend.makeTensorInfo(outShape, 'float32', out);
  };
}

/**
 * Adds `bias` and applies `activation` as tfjs-backend-cpu's fused kernels do
 * (utils/fused_utils.ts), through the kernels registered now; disposes `current` when replaced.
 */
function biasAndActivation(
  backend: CpuBackendLike,
  current: TensorInfo,
  bias: TensorInfo | undefined,
  activation: string | undefined,
  preluWeights: TensorInfo | undefined,
  leakyreluAlpha: number | undefined,
): TensorInfo {
  let cur = current;
  if (bias !== undefined) {
    const r = runRegistered('Add', { inputs: { a: cur, b: bias }, backend });
    backend.disposeIntermediateTensorInfo(cur);
    cur = r;
  }
  if (activation !== undefined && activation !== 'linear') {
    const kernel: Record<string, string> = {
      relu: 'Relu',
      elu: 'Elu',
      relu6: 'Relu6',
      prelu: 'Prelu',
      leakyrelu: 'LeakyRelu',
      sigmoid: 'Sigmoid',
    };
    const name = kernel[activation];
    if (name === undefined) throw new Error(`Activation ${activation} has not been implemented for the CPU backend.`);
    const inputs: NamedTensorInfoMap =
      name === 'Prelu' ? { x: cur, alpha: req(preluWeights, 'preluActivationWeights') } : { x: cur };
    const r = runRegistered(name, { inputs, backend, attrs: name === 'LeakyRelu' ? { alpha: leakyreluAlpha ?? 0.2 } : {} });
    backend.disposeIntermediateTensorInfo(cur);
    cur = r;
  }
  return cur;
}

/** _FusedMatMul: activation(op(A)·op(B) + bias), the matmul over sgemm. */
export function makeFusedMatMul(
  batchMatMul: (args: KernelArgs) => TensorInfo | TensorInfo[],
): (args: KernelArgs) => TensorInfo | TensorInfo[] {
  return (args) => {
    const { backend, inputs } = args;
    const attrs = args.attrs ?? {};
    const mm = single(
      batchMatMul({
        inputs: { a: req(inputs.a, 'a'), b: req(inputs.b, 'b') },
        backend,
        attrs: { transposeA: attrs.transposeA ?? false, transposeB: attrs.transposeB ?? false },
      }),
    );
    return biasAndActivation(
      backend,
      mm,
      inputs.bias,
      attrs.activation as string | undefined,
      inputs.preluActivationWeights,
      attrs.leakyreluAlpha as number | undefined,
    );
  };
}

type Conv2DInfo = ReturnType<typeof backend_util.computeConv2DInfo>;

function geometry(info: Conv2DInfo): ConvGeometry {
  return {
    inHeight: info.inHeight,
    inWidth: info.inWidth,
    inChannels: info.inChannels,
    outHeight: info.outHeight,
    outWidth: info.outWidth,
    filterHeight: info.filterHeight,
    filterWidth: info.filterWidth,
    strideHeight: info.strideHeight,
    strideWidth: info.strideWidth,
    padTop: info.padInfo.top,
    padLeft: info.padInfo.left,
  };
}

/**
 * Whether the im2col GEMMs compute the transposed product (yᵀ = Wᵀ·colsᵀ, dWᵀ = dyᵀ·cols: the few
 * output channels as sgemm's M, the many pixels as its N) and transpose the small result back.
 * With OpenBLAS on 2 threads that layout splits far better (LeNet conv2, batch 256, whole
 * forward incl. im2col: 8.6–9.2 → 6.8–7.1 ms; the sgemm alone 5.1 → 2.6 ms); on 1 thread the
 * plain layout is faster (sgemm 3.3 vs 3.8 ms, and no transpose), so it is used there.
 */
function outputMajorGemm(gemm: GemmProvider): boolean {
  return gemm.getThreads() > 1;
}

/** A 1×1, stride-1, unpadded convolution is a plain matmul over pixels: no im2col needed. */
function isPointwise(g: ConvGeometry): boolean {
  return (
    g.filterHeight === 1 &&
    g.filterWidth === 1 &&
    g.strideHeight === 1 &&
    g.strideWidth === 1 &&
    g.padTop === 0 &&
    g.padLeft === 0 &&
    g.outHeight === g.inHeight &&
    g.outWidth === g.inWidth
  );
}

function imagesPerChunk(g: ConvGeometry, batch: number): number {
  const perImage = g.outHeight * g.outWidth * patchSize(g);
  return Math.max(1, Math.min(batch, Math.floor(IM2COL_CHUNK_FLOATS / Math.max(1, perImage))));
}

function isNhwcDilation1(attrs: NamedAttrMap): boolean {
  const fmt = attrs.dataFormat;
  if (fmt !== undefined && fmt !== 'NHWC' && fmt !== 'channelsLast') return false;
  const d = attrs.dilations;
  if (d === undefined || d === 1) return true;
  return Array.isArray(d) && d.every((v) => v === 1);
}

type Pad = backend_util.PadInfo | 'same' | 'valid' | number | backend_util.ExplicitPadding;

/** y[N·OH·OW, O] = im2col(x) · W[FH·FW·C, O] (NHWC, dilation 1), chunked over images. */
function conv2dForward(gemm: GemmProvider, ic: Im2col, x: Float32Array, w: Float32Array, info: Conv2DInfo): Float32Array {
  const g = geometry(info);
  const O = info.outChannels;
  const K = patchSize(g);
  const P = g.outHeight * g.outWidth;
  const N = info.batchSize;
  const y = new Float32Array(N * P * O);
  if (isPointwise(g)) {
    gemm.sgemm(false, false, N * P, O, K, 1, x, K, w, O, 0, y, O);
    return y;
  }
  if (tryDirect(ic, 0, g, N, O, x, w, y)) return y;
  const transposed = outputMajorGemm(gemm);
  const chunk = imagesPerChunk(g, N);
  for (let n0 = 0; n0 < N; n0 += chunk) {
    const count = Math.min(chunk, N - n0);
    const rows = count * P;
    const cols = scratchOf(rows * K);
    ic.im2col(x, g, n0, count, cols);
    const out = y.subarray(n0 * P * O, (n0 + count) * P * O);
    if (!transposed) {
      gemm.sgemm(false, false, rows, O, K, 1, cols, K, w, O, 0, out, O);
    } else {
      const yT = scratchTOf(O * rows);
      gemm.sgemm(true, true, O, rows, K, 1, w, O, cols, K, 0, yT, rows);
      ic.transpose2d(yT, O, rows, out);
    }
  }
  return y;
}

/** tfjs's conv geometry for an NHWC, dilation-1 Conv2D (or one of its gradients) from the kernel's attrs. */
function nhwcConvInfo(inputShape: unknown, filterShape: unknown, attrs: NamedAttrMap): backend_util.Conv2DInfo {
  return backend_util.computeConv2DInfo(
    inputShape as [number, number, number, number],
    filterShape as [number, number, number, number],
    attrs.strides as [number, number] | number,
    1,
    attrs.pad as Pad as never,
    attrs.dimRoundingMode as 'floor' | 'round' | 'ceil' | undefined,
    false,
    'channelsLast',
  );
}

/** Conv2D (NHWC, any stride and padding, dilation 1) as im2col + sgemm. */
export function makeConv2D(
  gemm: GemmProvider,
  stock: Fallback,
  ic: Im2col = im2colImpl(undefined),
): (args: KernelArgs) => TensorInfo | TensorInfo[] {
  return (args) => {
    const { backend } = args;
    const attrs = args.attrs ?? {};
    const x = req(args.inputs.x, 'x');
    const filter = req(args.inputs.filter, 'filter');
    const xv = f32(backend, x);
    const wv = f32(backend, filter);
    if (xv === undefined || wv === undefined || !isNhwcDilation1(attrs) || x.shape.length !== 4) return stock(args);
    const info = nhwcConvInfo(x.shape, filter.shape, attrs);
    const y = zeroProduct(xv, wv) ? new Float32Array(util.sizeFromShape(info.outShape)) : conv2dForward(gemm, ic, xv, wv, info);
    return backend.makeTensorInfo(info.outShape, 'float32', y);
  };
}

/** FusedConv2D: activation(conv2d(x, W) + bias), the convolution over sgemm. */
export function makeFusedConv2D(
  conv2d: (args: KernelArgs) => TensorInfo | TensorInfo[],
  stock: Fallback,
): (args: KernelArgs) => TensorInfo | TensorInfo[] {
  return (args) => {
    const attrs = args.attrs ?? {};
    if (!isNhwcDilation1(attrs)) return stock(args);
    const { backend, inputs } = args;
    const y = single(
      conv2d({
        inputs: { x: req(inputs.x, 'x'), filter: req(inputs.filter, 'filter') },
        backend,
        attrs: {
          strides: attrs.strides!,
          pad: attrs.pad!,
          dataFormat: 'NHWC',
          dilations: 1,
          dimRoundingMode: attrs.dimRoundingMode!,
        },
      }),
    );
    return biasAndActivation(
      backend,
      y,
      inputs.bias,
      attrs.activation as string | undefined,
      inputs.preluActivationWeights,
      attrs.leakyreluAlpha as number | undefined,
    );
  };
}

/** Conv2DBackpropInput: dx = col2im(dy[N·OH·OW, O] · W[FH·FW·C, O]ᵀ). */
export function makeConv2DBackpropInput(
  gemm: GemmProvider,
  stock: Fallback,
  ic: Im2col = im2colImpl(undefined),
): (args: KernelArgs) => TensorInfo | TensorInfo[] {
  return (args) => {
    const { backend } = args;
    const attrs = args.attrs ?? {};
    const dy = req(args.inputs.dy, 'dy');
    const filter = req(args.inputs.filter, 'filter');
    const dyv = f32(backend, dy);
    const wv = f32(backend, filter);
    if (dyv === undefined || wv === undefined || !isNhwcDilation1(attrs)) return stock(args);
    const info = nhwcConvInfo(attrs.inputShape, filter.shape, attrs);
    const g = geometry(info);
    const O = info.outChannels;
    const K = patchSize(g);
    const P = g.outHeight * g.outWidth;
    const N = info.batchSize;
    const dx = new Float32Array(N * g.inHeight * g.inWidth * g.inChannels);
    if (zeroProduct(dyv, wv)) {
      // dx = 0 exactly (see zeroProduct)
    } else if (isPointwise(g)) {
      gemm.sgemm(false, true, N * P, K, O, 1, dyv, O, wv, O, 0, dx, K);
    } else if (tryDirect(ic, 2, g, N, O, dyv, wv, dx)) {
      // direct convolution wrote every entry of dx
    } else {
      const chunk = imagesPerChunk(g, N);
      for (let n0 = 0; n0 < N; n0 += chunk) {
        const count = Math.min(chunk, N - n0);
        const cols = scratchOf(count * P * K);
        gemm.sgemm(false, true, count * P, K, O, 1, dyv.subarray(n0 * P * O, (n0 + count) * P * O), O, wv, O, 0, cols, K);
        ic.col2im(cols, g, n0, count, dx);
      }
    }
    return backend.makeTensorInfo(info.inShape, 'float32', dx);
  };
}

/** Conv2DBackpropFilter: dW[FH·FW·C, O] = Σ_chunks im2col(x)ᵀ · dy. */
export function makeConv2DBackpropFilter(
  gemm: GemmProvider,
  stock: Fallback,
  ic: Im2col = im2colImpl(undefined),
): (args: KernelArgs) => TensorInfo | TensorInfo[] {
  return (args) => {
    const { backend } = args;
    const attrs = args.attrs ?? {};
    const x = req(args.inputs.x, 'x');
    const dy = req(args.inputs.dy, 'dy');
    const xv = f32(backend, x);
    const dyv = f32(backend, dy);
    if (xv === undefined || dyv === undefined || !isNhwcDilation1(attrs) || x.shape.length !== 4) return stock(args);
    const info = nhwcConvInfo(x.shape, attrs.filterShape, attrs);
    const g = geometry(info);
    const O = info.outChannels;
    const K = patchSize(g);
    const P = g.outHeight * g.outWidth;
    const N = info.batchSize;
    const dw = new Float32Array(K * O);
    if (N * P > 0 && !zeroProduct(dyv, xv)) {
      if (isPointwise(g)) {
        gemm.sgemm(true, false, K, O, N * P, 1, xv, K, dyv, O, 0, dw, O);
      } else if (tryDirect(ic, 1, g, N, O, xv, dyv, dw)) {
        // direct convolution summed dW over the batch
      } else {
        const transposed = outputMajorGemm(gemm);
        const dwT = transposed ? new Float32Array(O * K) : dw;
        const chunk = imagesPerChunk(g, N);
        for (let n0 = 0; n0 < N; n0 += chunk) {
          const count = Math.min(chunk, N - n0);
          const cols = scratchOf(count * P * K);
          ic.im2col(xv, g, n0, count, cols);
          const dyChunk = dyv.subarray(n0 * P * O, (n0 + count) * P * O);
          const beta = n0 === 0 ? 0 : 1;
          if (transposed) gemm.sgemm(true, false, O, K, count * P, 1, dyChunk, O, cols, K, beta, dwT, K);
          else gemm.sgemm(true, false, K, O, count * P, 1, cols, K, dyChunk, O, beta, dw, O);
        }
        if (transposed) ic.transpose2d(dwT, O, K, dw);
      }
    }
    return backend.makeTensorInfo(info.filterShape, 'float32', dw);
  };
}
