import type { Network } from '../nn/network.js';
import type { LossKind } from '../nn/loss.js';
import type { Batch } from '../data/batches.js';
import type { GemmProvider } from '../backend/native/gemmProvider.js';
import type { BatchProducts } from './batchProducts.js';

/** One Linear layer of the MLP: W_l row-major [nIn, nOut] at offset `w` of θ, b_l [nOut] at offset `b`. */
export interface DenseLayer {
  readonly nIn: number;
  readonly nOut: number;
  readonly w: number;
  readonly b: number;
}

/**
 * One batch's forward and first backward pass (index l − 1 holds layer l): every product on the
 * batch starts from it, so a curvature session keeps it (`keepRecordings`).
 */
interface MlpRecording {
  readonly n: number;
  /** a_0 = x, [n, n_0] in PyTorch's (C, H, W) order. */
  readonly x: Float32Array;
  /** a_l = φ(z_l) for the hidden layers l = 1 … L−1, [n, n_l]. */
  readonly a: Float32Array[];
  /** φ'(z_l) for the hidden layers. */
  readonly d1: Float32Array[];
  /** Logits z_L [n, C] and, for cross-entropy, p = softmax(z_L). */
  readonly logits: Float32Array;
  readonly p: Float32Array | undefined;
  /** δ_l = ∂(Σ_i ℓ_i)/∂z_l for l = 1 … L, [n, n_l]. */
  readonly delta: Float32Array[];
  /**
   * (δ_{l+1} W_{l+1}ᵀ) ⊙ φ''(z_l) for the hidden layers: what multiplies Rz_l in the second-order term of
   * D_l (undefined for ReLU, φ'' = 0).
   */
  readonly curvature: (Float32Array | undefined)[];
  readonly bytes: number;
}

type Mode = 'hessian' | 'ggn' | 'residual';

/**
 * The curvature products of a plain MLP (Linear layers with tanh or ReLU between them, spec kind
 * `mlp`) over one batch, written out by hand over sgemm instead of tfjs autodiff — the same
 * quantities as BatchCurvature, in float32, for the per-batch SUMS the product engines add up.
 * Notation as math.md §1 and Pearlmutter's R-operator (Pearlmutter 1994; Schraudolph 2002):
 * z_l = a_{l−1} W_l + b_l, a_l = φ(z_l), δ_L = ∂ℓ/∂z_L (CE: p − e_y; MSE: z − e_y),
 * δ_{l−1} = (δ_l W_lᵀ) ⊙ φ'(z_{l−1}); for a direction V = (V_l, c_l):
 *   R-forward   Rz_l = Ra_{l−1} W_l + a_{l−1} V_l + c_l,  Ra_l = φ'(z_l) ⊙ Rz_l,  Ra_0 = 0,  J v = Rz_L
 *   R-backward  D_L = Q Rz_L (Hess, G) or 0 (H);
 *               (Xv)_{W_l} = a_{l−1}ᵀ D_l [+ Ra_{l−1}ᵀ δ_l],  (Xv)_{b_l} = Σ_i D_l
 *               D_{l−1} = (D_l W_lᵀ) ⊙ φ' [+ (δ_l V_lᵀ) ⊙ φ' + (δ_l W_lᵀ) ⊙ φ'' ⊙ Rz_{l−1}]
 * with the bracketed terms for Hess and H = Hess − G (they carry the network's own second derivative,
 * weighted by the residual δ) and not for G. Q = diag(p) − p pᵀ (CE) or I (MSE).
 * A block of K vectors shares the batch's recording and runs column-stacked ([n, K·n_l] arrays), each
 * vector's sgemms on its own strided views: a vector's product is bit for bit the same in any block
 * (stacking the shared-factor products into one wide sgemm measured no faster, and would lose that).
 * No tfjs op runs: the cost is the sgemms and a few passes over [n, K·n_l] arrays.
 */
export class MlpBatchCurvature implements BatchProducts<readonly Float32Array[]> {
  readonly size: number;
  evaluations = 0;
  readonly #layers: readonly DenseLayer[];
  readonly #theta: Float32Array;
  readonly #activation: 'tanh' | 'relu';
  readonly #loss: LossKind;
  readonly #gemm: GemmProvider;
  readonly #classes: number;
  readonly #tanh: (x: Float32Array, y: Float32Array) => void;
  #budget = 0;
  #used = 0;
  readonly #kept = new Map<string, MlpRecording>();

  constructor(
    layers: readonly DenseLayer[],
    theta: Float32Array,
    activation: 'tanh' | 'relu',
    loss: LossKind,
    gemm: GemmProvider,
    /** y = tanh(x) elementwise: the backend's own Tanh kernel, so that a_l are the values tfjs's forward pass gives. */
    tanh: (x: Float32Array, y: Float32Array) => void = (x, y) => {
      for (let i = 0; i < x.length; i++) y[i] = Math.tanh(x[i]!);
    },
  ) {
    this.#layers = layers;
    this.#theta = theta;
    this.#activation = activation;
    this.#loss = loss;
    this.#gemm = gemm;
    this.#tanh = tanh;
    this.size = theta.length;
    this.#classes = layers[layers.length - 1]!.nOut;
  }

  keepRecordings(budgetBytes: number): void {
    this.releaseRecordings();
    this.#budget = budgetBytes;
  }

  releaseRecordings(): void {
    this.#kept.clear();
    this.#used = 0;
  }

  vectors(flat: readonly Float32Array[]): readonly Float32Array[] {
    return flat;
  }

  disposeVectors(): void {}

  gradientSum(batch: Batch): Float32Array {
    this.evaluations++;
    const rec = this.#recording(batch);
    const out = new Float32Array(this.size);
    this.#layers.forEach((L, i) => {
      const aPrev = i === 0 ? rec.x : rec.a[i - 1]!;
      this.#outer(rec.n, L, aPrev, L.nIn, rec.delta[i]!, L.nOut, 0, out.subarray(L.w, L.b));
      columnSums(rec.delta[i]!, rec.n, L.nOut, 1, out.subarray(L.b, L.b + L.nOut));
    });
    return out;
  }

  logits(batch: Batch): Float32Array {
    return this.#recording(batch).logits.slice();
  }

  hessianVectorSums(batch: Batch, vs: readonly Float32Array[]): Float32Array[] {
    return this.#products(batch, vs, ['hessian'])[0]!;
  }

  ggnVectorSums(batch: Batch, vs: readonly Float32Array[]): Float32Array[] {
    return this.#products(batch, vs, ['ggn'])[0]!;
  }

  residualVectorSums(batch: Batch, vs: readonly Float32Array[]): Float32Array[] {
    return this.#products(batch, vs, ['residual'])[0]!;
  }

  hessianAndGgnVectorSums(batch: Batch, vs: readonly Float32Array[]): { hessian: Float32Array[]; ggn: Float32Array[] } {
    const [hessian, ggn] = this.#products(batch, vs, ['hessian', 'ggn']);
    return { hessian: hessian!, ggn: ggn! };
  }

  /** Σ_i J_iᵀ u_ik for each set k of logit cotangents (row-major [n, C]): one backward pass for all K. */
  cotangentProductSums(batch: Batch, cotangents: readonly Float32Array[]): Float32Array[] {
    this.evaluations++;
    const rec = this.#recording(batch);
    const K = cotangents.length;
    const C = this.#classes;
    const top = new Float32Array(rec.n * K * C);
    cotangents.forEach((u, k) => {
      for (let i = 0; i < rec.n; i++) top.set(u.subarray(i * C, (i + 1) * C), (i * K + k) * C);
    });
    return this.#backward(rec, K, top, 'ggn', undefined, undefined);
  }

  /** out[n, nOut] = a[n, nIn] · W[nIn, nOut] + beta · out (a, out strided by lda, ldc; W contiguous). */
  #times(
    n: number,
    L: DenseLayer,
    a: Float32Array,
    lda: number,
    W: Float32Array,
    beta: number,
    out: Float32Array,
    ldc: number,
  ): void {
    this.#gemm.sgemm(false, false, n, L.nOut, L.nIn, 1, a, lda, W, L.nOut, beta, out, ldc);
  }

  /** out[n, nIn] = d[n, nOut] · W[nIn, nOut]ᵀ + beta · out (d, out strided by ldd, ldc; W contiguous). */
  #timesTransposed(
    n: number,
    L: DenseLayer,
    d: Float32Array,
    ldd: number,
    W: Float32Array,
    beta: number,
    out: Float32Array,
    ldc: number,
  ): void {
    this.#gemm.sgemm(false, true, n, L.nIn, L.nOut, 1, d, ldd, W, L.nOut, beta, out, ldc);
  }

  /** out[nIn, nOut] = a[n, nIn]ᵀ · d[n, nOut] + beta · out (a, d strided by lda, ldd; out contiguous): a weight gradient. */
  #outer(
    n: number,
    L: DenseLayer,
    a: Float32Array,
    lda: number,
    d: Float32Array,
    ldd: number,
    beta: number,
    out: Float32Array,
  ): void {
    this.#gemm.sgemm(true, false, L.nIn, L.nOut, n, 1, a, lda, d, ldd, beta, out, L.nOut);
  }

  /** The batch's recording: kept, or made (and kept when it fits the budget). */
  #recording(batch: Batch): MlpRecording {
    const key = `${batch.start}+${batch.shape[0]}`;
    const hit = this.#kept.get(key);
    if (hit !== undefined) return hit;
    const rec = this.#record(batch);
    if (this.#used + rec.bytes <= this.#budget) {
      this.#kept.set(key, rec);
      this.#used += rec.bytes;
    }
    return rec;
  }

  #record(batch: Batch): MlpRecording {
    const n = batch.shape[0];
    const x = flattenChw(batch);
    const a: Float32Array[] = [];
    const d1: Float32Array[] = [];
    const d2: (Float32Array | undefined)[] = [];
    const curvature: (Float32Array | undefined)[] = new Array<Float32Array | undefined>(this.#layers.length - 1);
    const last = this.#layers.length - 1;
    let logits = new Float32Array(0);
    this.#layers.forEach((L, i) => {
      const z = new Float32Array(n * L.nOut);
      const bias = this.#theta.subarray(L.b, L.b + L.nOut);
      for (let r = 0; r < n; r++) z.set(bias, r * L.nOut);
      const aPrev = i === 0 ? x : a[i - 1]!;
      this.#times(n, L, aPrev, L.nIn, this.#theta.subarray(L.w, L.b), 1, z, L.nOut);
      if (i === last) {
        logits = z;
        return;
      }
      const first = new Float32Array(z.length);
      if (this.#activation === 'tanh') {
        const second = new Float32Array(z.length);
        this.#tanh(z, z);
        for (let j = 0; j < z.length; j++) {
          const t = z[j]!;
          first[j] = 1 - t * t;
          second[j] = -2 * t * (1 - t * t);
        }
        d2.push(second);
      } else {
        for (let j = 0; j < z.length; j++) {
          const positive = z[j]! > 0;
          if (!positive) z[j] = 0;
          first[j] = positive ? 1 : 0;
        }
        d2.push(undefined);
      }
      a.push(z);
      d1.push(first);
    });
    const C = this.#classes;
    const top = new Float32Array(n * C);
    let p: Float32Array | undefined;
    if (this.#loss === 'cross-entropy') {
      p = softmaxRows(logits, n, C);
      top.set(p);
    } else top.set(logits);
    for (let i = 0; i < n; i++) top[i * C + batch.labels[i]!]! -= 1;
    const delta: Float32Array[] = new Array<Float32Array>(this.#layers.length);
    delta[last] = top;
    for (let l = last; l > 0; l--) {
      const L = this.#layers[l]!;
      const gl = new Float32Array(n * L.nIn);
      this.#timesTransposed(n, L, delta[l]!, L.nOut, this.#theta.subarray(L.w, L.b), 0, gl, L.nIn);
      const dl = new Float32Array(gl.length);
      const f = d1[l - 1]!;
      for (let j = 0; j < dl.length; j++) dl[j] = gl[j]! * f[j]!;
      delta[l - 1] = dl;
      const second = d2[l - 1];
      if (second !== undefined) {
        for (let j = 0; j < gl.length; j++) gl[j]! *= second[j]!;
        curvature[l - 1] = gl;
      }
    }
    let floats = logits.length + (p?.length ?? 0) + (x === batch.x ? 0 : x.length);
    for (const list of [a, d1, delta, curvature]) for (const t of list) floats += t?.length ?? 0;
    return { n, x, a, d1, logits, p, delta, curvature, bytes: 4 * floats };
  }

  /** The products of `modes` (in that order) for the block `vs`, sharing one R-forward pass. */
  #products(batch: Batch, vs: readonly Float32Array[], modes: readonly Mode[]): Float32Array[][] {
    this.evaluations += vs.length;
    const rec = this.#recording(batch);
    const K = vs.length;
    const { rz, ra } = this.#rForward(rec, vs);
    const C = this.#classes;
    return modes.map((mode) => {
      const top = mode === 'residual' ? undefined : this.#lossHessianTimes(rec, rz[rz.length - 1]!, K, C);
      return this.#backward(rec, K, top, mode, vs, { rz, ra });
    });
  }

  /** Rz_l (l = 1 … L) and Ra_l (hidden l), column-stacked [n, K·n_l]. */
  #rForward(rec: MlpRecording, vs: readonly Float32Array[]): { rz: Float32Array[]; ra: Float32Array[] } {
    const K = vs.length;
    const n = rec.n;
    const rz: Float32Array[] = [];
    const ra: Float32Array[] = [];
    this.#layers.forEach((L, i) => {
      const wide = K * L.nOut;
      const out = new Float32Array(n * wide);
      const biases = new Float32Array(wide);
      for (let k = 0; k < K; k++) biases.set(vs[k]!.subarray(L.b, L.b + L.nOut), k * L.nOut);
      for (let r = 0; r < n; r++) out.set(biases, r * wide);
      const aPrev = i === 0 ? rec.x : rec.a[i - 1]!;
      const W = this.#theta.subarray(L.w, L.b);
      for (let k = 0; k < K; k++) {
        const o = out.subarray(k * L.nOut);
        this.#times(n, L, aPrev, L.nIn, vs[k]!.subarray(L.w, L.b), 1, o, wide);
        if (i > 0) this.#times(n, L, ra[i - 1]!.subarray(k * L.nIn), K * L.nIn, W, 1, o, wide);
      }
      rz.push(out);
      if (i < this.#layers.length - 1) ra.push(timesBroadcast(out, rec.d1[i]!, n, K, L.nOut));
    });
    return { rz, ra };
  }

  /** Q_i u_ik per sample and vector: CE p ⊙ u − p (p·u); MSE u. */
  #lossHessianTimes(rec: MlpRecording, u: Float32Array, K: number, C: number): Float32Array {
    if (rec.p === undefined) return u.slice();
    const p = rec.p;
    const out = new Float32Array(u.length);
    for (let i = 0; i < rec.n; i++)
      for (let k = 0; k < K; k++) {
        const o = (i * K + k) * C;
        let pu = 0;
        for (let c = 0; c < C; c++) pu += p[i * C + c]! * u[o + c]!;
        for (let c = 0; c < C; c++) out[o + c] = p[i * C + c]! * (u[o + c]! - pu);
      }
    return out;
  }

  /**
   * The backward pass from D_L = `top` ([n, K·C]; undefined: 0) for `mode` (header formula), returning
   * the K parameter-space results. `vs` and the R-forward pass are needed for Hess and H only.
   */
  #backward(
    rec: MlpRecording,
    K: number,
    top: Float32Array | undefined,
    mode: Mode,
    vs: readonly Float32Array[] | undefined,
    r: { rz: Float32Array[]; ra: Float32Array[] } | undefined,
  ): Float32Array[] {
    const n = rec.n;
    const outs = Array.from({ length: K }, () => new Float32Array(this.size));
    const secondOrder = mode !== 'ggn';
    let D = top;
    for (let l = this.#layers.length - 1; l >= 0; l--) {
      const L = this.#layers[l]!;
      const aPrev = l === 0 ? rec.x : rec.a[l - 1]!;
      const W = this.#theta.subarray(L.w, L.b);
      for (let k = 0; k < K; k++) {
        const o = outs[k]!;
        const oW = o.subarray(L.w, L.b);
        if (D !== undefined) {
          this.#outer(n, L, aPrev, L.nIn, D.subarray(k * L.nOut), K * L.nOut, 1, oW);
          columnSums(D.subarray(k * L.nOut), n, L.nOut, K, o.subarray(L.b, L.b + L.nOut));
        }
        // Ra_{l−1}ᵀ δ_l: the network's second derivative along v (Hess and H only)
        if (secondOrder && l > 0) this.#outer(n, L, r!.ra[l - 1]!.subarray(k * L.nIn), K * L.nIn, rec.delta[l]!, L.nOut, 1, oW);
      }
      if (l === 0) break;
      const wide = K * L.nIn;
      const e = new Float32Array(n * wide);
      for (let k = 0; k < K; k++) {
        const ek = e.subarray(k * L.nIn);
        if (D !== undefined) this.#timesTransposed(n, L, D.subarray(k * L.nOut), K * L.nOut, W, 0, ek, wide);
        if (secondOrder) this.#timesTransposed(n, L, rec.delta[l]!, L.nOut, vs![k]!.subarray(L.w, L.b), 1, ek, wide);
      }
      const f1 = rec.d1[l - 1]!;
      const c = secondOrder ? rec.curvature[l - 1] : undefined;
      const rzPrev = r?.rz[l - 1];
      const m = L.nIn;
      for (let i = 0; i < n; i++)
        for (let k = 0; k < K; k++) {
          const o = i * wide + k * m;
          const q = i * m;
          if (c !== undefined && rzPrev !== undefined)
            for (let j = 0; j < m; j++) e[o + j] = e[o + j]! * f1[q + j]! + c[q + j]! * rzPrev[o + j]!;
          else for (let j = 0; j < m; j++) e[o + j]! *= f1[q + j]!;
        }
      D = e;
    }
    return outs;
  }
}

/** out[i, k·m + j] = s[i, k·m + j]·f[i, j]: a per-sample factor [n, m] applied to each of K column blocks. */
function timesBroadcast(s: Float32Array, f: Float32Array, n: number, K: number, m: number): Float32Array {
  const out = new Float32Array(s.length);
  for (let i = 0; i < n; i++)
    for (let k = 0; k < K; k++) {
      const o = (i * K + k) * m;
      for (let j = 0; j < m; j++) out[o + j] = s[o + j]! * f[i * m + j]!;
    }
  return out;
}

/** into[j] += Σ_i s[i·K·m + j] (column sums of one block of a [n, K·m] array; `s` starts at the block), summed in float64. */
function columnSums(s: Float32Array, n: number, m: number, K: number, into: Float32Array): void {
  const acc = new Float64Array(m);
  for (let i = 0; i < n; i++) {
    const o = i * K * m;
    for (let j = 0; j < m; j++) acc[j]! += s[o + j]!;
  }
  for (let j = 0; j < m; j++) into[j]! += acc[j]!;
}

/** Row-wise softmax of [n, C] logits, shifted by each row's maximum. */
function softmaxRows(z: Float32Array, n: number, C: number): Float32Array {
  const p = new Float32Array(z.length);
  for (let i = 0; i < n; i++) {
    let top = -Infinity;
    for (let c = 0; c < C; c++) top = Math.max(top, z[i * C + c]!);
    let sum = 0;
    for (let c = 0; c < C; c++) sum += Math.exp(z[i * C + c]! - top);
    for (let c = 0; c < C; c++) p[i * C + c] = Math.exp(z[i * C + c]! - top) / sum;
  }
  return p;
}

/** The batch's samples flattened in PyTorch's (C, H, W) order (the batch is NHWC; no copy when C = 1 or H·W = 1). */
function flattenChw(batch: Batch): Float32Array {
  const [n, h, w, c] = batch.shape;
  if (c === 1 || h * w === 1) return batch.x;
  const out = new Float32Array(batch.x.length);
  for (let s = 0; s < n; s++)
    for (let y = 0; y < h * w; y++)
      for (let ch = 0; ch < c; ch++) out[s * c * h * w + ch * h * w + y] = batch.x[(s * h * w + y) * c + ch]!;
  return out;
}

/**
 * The layers of `network` when it is a plain MLP in specpipe's layout (Linear weights [in, out],
 * then biases, in network order), else undefined.
 */
export function mlpLayers(network: Network): DenseLayer[] | undefined {
  const spec = network.spec;
  if (spec.kind !== 'mlp') return undefined;
  const sizes = [spec.input.reduce((a, b) => a * b, 1), ...spec.hidden, spec.classes];
  const layers: DenseLayer[] = [];
  let offset = 0;
  for (let l = 0; l + 1 < sizes.length; l++) {
    const [nIn, nOut] = [sizes[l]!, sizes[l + 1]!];
    const w = network.params[2 * l];
    const b = network.params[2 * l + 1];
    if (w?.shape.join() !== `${nIn},${nOut}` || b?.shape.join() !== `${nOut}`) return undefined;
    layers.push({ nIn, nOut, w: offset, b: offset + nIn * nOut });
    offset += nIn * nOut + nOut;
  }
  return network.params.length === 2 * layers.length && network.buffers.length === 0 ? layers : undefined;
}
