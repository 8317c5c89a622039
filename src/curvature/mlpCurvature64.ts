import type { LinearOperator } from '../linalg/operator.js';
import type { Split } from '../data/dataset.js';
import type { LossKind } from '../nn/loss.js';
import type { CurvatureKind } from './operatorKind.js';
import { SpecpipeError } from '../util/errors.js';

/**
 * An MLP classifier in float64 for exact curvature products: layer sizes n_0 = D, n_1 … n_{L−1}
 * hidden, n_L = C; θ = (W_1, b_1, …, W_L, b_L) flattened in network order, W_l row-major
 * [n_{l−1}, n_l] (specpipe's tfjs layout of a Linear layer). z_l = a_{l−1} W_l + b_l, a_l = φ(z_l)
 * for l < L, logits z_L; the input a_0 is the sample flattened in (C, H, W) order.
 */
export interface Mlp64Problem {
  readonly sizes: readonly number[];
  readonly activation: 'relu' | 'tanh';
  readonly theta: Float64Array;
  /** The samples to average over (preprocessed): [N, C, H, W] with C·H·W = sizes[0]. */
  readonly data: Split;
  readonly loss: LossKind;
}

export interface Layer {
  readonly nIn: number;
  readonly nOut: number;
  /** Offsets of W_l and b_l in θ. */
  readonly w: number;
  readonly b: number;
}

/** The layers of `p` (offsets of W_l, b_l in θ); throws when θ, the samples and the sizes disagree. */
export function layersOf(p: Mlp64Problem): Layer[] {
  const out: Layer[] = [];
  let o = 0;
  for (let l = 0; l + 1 < p.sizes.length; l++) {
    const nIn = p.sizes[l]!;
    const nOut = p.sizes[l + 1]!;
    out.push({ nIn, nOut, w: o, b: o + nIn * nOut });
    o += nIn * nOut + nOut;
  }
  if (o !== p.theta.length)
    throw new SpecpipeError(
      'mlp64-size',
      `mlp64: layer sizes [${p.sizes.join(', ')}] need ${o} parameters, θ has ${p.theta.length}`,
    );
  const [n, c, h, w] = p.data.shape;
  if (c * h * w !== p.sizes[0])
    throw new SpecpipeError(
      'mlp64-input',
      `mlp64: samples have ${c}·${h}·${w} = ${c * h * w} features, the MLP takes ${p.sizes[0]}`,
    );
  if (n === 0) throw new SpecpipeError('mlp64-empty', 'mlp64: no samples to average over');
  return out;
}

/** y = x W (+ b): x [nIn], W row-major [nIn, nOut] at offset wo of `m`. */
export function affine(x: Float64Array, m: Float64Array, L: Layer, withBias: boolean): Float64Array {
  const y = new Float64Array(L.nOut);
  if (withBias) for (let j = 0; j < L.nOut; j++) y[j] = m[L.b + j]!;
  for (let i = 0; i < L.nIn; i++) {
    const xi = x[i]!;
    if (xi === 0) continue;
    const row = L.w + i * L.nOut;
    for (let j = 0; j < L.nOut; j++) y[j] = y[j]! + xi * m[row + j]!;
  }
  return y;
}

/** y = g Wᵀ: g [nOut] → [nIn]. */
export function backAffine(g: Float64Array, m: Float64Array, L: Layer): Float64Array {
  const y = new Float64Array(L.nIn);
  for (let i = 0; i < L.nIn; i++) {
    const row = L.w + i * L.nOut;
    let s = 0;
    for (let j = 0; j < L.nOut; j++) s += g[j]! * m[row + j]!;
    y[i] = s;
  }
  return y;
}

/** out[W] += s·xᵀ g and, with `bias`, out[b] += s·g. */
export function accumulate(out: Float64Array, x: Float64Array, g: Float64Array, L: Layer, s: number, bias = true): void {
  for (let i = 0; i < L.nIn; i++) {
    const xi = x[i]! * s;
    if (xi === 0) continue;
    const row = L.w + i * L.nOut;
    for (let j = 0; j < L.nOut; j++) out[row + j] = out[row + j]! + xi * g[j]!;
  }
  if (bias) for (let j = 0; j < L.nOut; j++) out[L.b + j] = out[L.b + j]! + s * g[j]!;
}

/**
 * Hess v and G v of the mean loss (math.md §1–2) in float64, by the explicit R-operator rules
 * (Pearlmutter): R-forward rz_l = ra_{l−1} W_l + a_{l−1} V_l + c_l, ra_l = φ'(z_l) ⊙ rz_l;
 * R(∂ℓ/∂z_L) = Q rz_L (CE: Q = diag p − p pᵀ; MSE ½‖z − e_y‖²: Q = I); R-backward
 * R(gW_l) = ra_{l−1}ᵀ gz_l + a_{l−1}ᵀ R(gz_l), R(ga_{l−1}) = R(gz_l) W_lᵀ + gz_l V_lᵀ,
 * R(gz_{l−1}) = R(ga_{l−1}) ⊙ φ' + ga_{l−1} ⊙ φ'' ⊙ rz_{l−1}. G v backpropagates Q rz_L through the
 * first-order backward alone (Jᵀ Q J v). H v (math.md §1: Σ_k r_k ∂²z_k/∂θ² v with the residuals
 * r = ∂ℓ/∂z_L held fixed) is the same R-backward started from R(gz_L) = 0 — from its own definition,
 * not Hess v − G v. φ = relu: φ' = [z > 0], φ'' = 0; tanh: φ' = 1 − t², φ'' = −2t(1 − t²).
 */
export function mlp64Products(
  p: Mlp64Problem,
  v: Float64Array,
): { hessian: Float64Array; ggn: Float64Array; residual: Float64Array } {
  const layers = layersOf(p);
  const P = p.theta.length;
  if (v.length !== P) throw new SpecpipeError('mlp64-vector', `mlp64: vector has length ${v.length}, expected ${P}`);
  const th = p.theta;
  const [N] = p.data.shape;
  const D = p.sizes[0]!;
  const C = p.sizes[p.sizes.length - 1]!;
  const hess = new Float64Array(P);
  const ggn = new Float64Array(P);
  const res = new Float64Array(P);
  const dphi = (z: number, a: number): number => (p.activation === 'relu' ? (z > 0 ? 1 : 0) : 1 - a * a);
  const d2phi = (a: number): number => (p.activation === 'relu' ? 0 : -2 * a * (1 - a * a));
  const s = 1 / N;
  for (let n = 0; n < N; n++) {
    const a: Float64Array[] = [Float64Array.from(p.data.images.subarray(n * D, (n + 1) * D))];
    const ra: Float64Array[] = [new Float64Array(D)];
    const zs: Float64Array[] = [];
    const rzs: Float64Array[] = [];
    layers.forEach((L, l) => {
      const z = affine(a[l]!, th, L, true);
      const rz = affine(ra[l]!, th, L, false);
      const av = affine(a[l]!, v, L, true);
      for (let j = 0; j < L.nOut; j++) rz[j] = rz[j]! + av[j]!;
      zs.push(z);
      rzs.push(rz);
      if (l + 1 < layers.length) {
        a.push(Float64Array.from(z, (x) => (p.activation === 'relu' ? Math.max(x, 0) : Math.tanh(x))));
        ra.push(Float64Array.from(rz, (x, j) => dphi(z[j]!, a[l + 1]![j]!) * x));
      }
    });
    const zL = zs[zs.length - 1]!;
    const rzL = rzs[rzs.length - 1]!;
    const y = p.data.labels[n]!;
    let g: Float64Array;
    let qrz: Float64Array;
    if (p.loss === 'mse') {
      g = Float64Array.from(zL, (x, k) => x - (k === y ? 1 : 0));
      qrz = Float64Array.from(rzL);
    } else {
      const mx = Math.max(...zL);
      const e = Float64Array.from(zL, (x) => Math.exp(x - mx));
      const sum = e.reduce((u, w) => u + w, 0);
      const pr = Float64Array.from(e, (x) => x / sum);
      g = Float64Array.from(pr, (x, k) => x - (k === y ? 1 : 0));
      let prz = 0;
      for (let k = 0; k < C; k++) prz += pr[k]! * rzL[k]!;
      qrz = Float64Array.from(pr, (x, k) => x * (rzL[k]! - prz));
    }
    // Hess v: R-backward with g = ∂ℓ/∂z, rg = R(g).
    let gz = g;
    let rgz = qrz;
    // G v: the first-order backward of u = Q J v.
    let uz = qrz;
    // H v: the R-backward with r frozen, R(gz_L) = 0.
    let hz = new Float64Array(C);
    for (let l = layers.length - 1; l >= 0; l--) {
      const L = layers[l]!;
      accumulate(hess, ra[l]!, gz, L, s, false); // R(gb_l) = R(gz_l) only
      accumulate(hess, a[l]!, rgz, L, s);
      accumulate(ggn, a[l]!, uz, L, s);
      accumulate(res, ra[l]!, gz, L, s, false);
      accumulate(res, a[l]!, hz, L, s);
      if (l === 0) break;
      const ga = backAffine(gz, th, L);
      const rga = backAffine(rgz, th, L);
      const gv = backAffine(gz, v, L);
      const ua = backAffine(uz, th, L);
      const ha = backAffine(hz, th, L);
      const z = zs[l - 1]!;
      const act = a[l]!;
      const rz = rzs[l - 1]!;
      gz = Float64Array.from(ga, (x, j) => x * dphi(z[j]!, act[j]!));
      rgz = Float64Array.from(rga, (x, j) => (x + gv[j]!) * dphi(z[j]!, act[j]!) + ga[j]! * d2phi(act[j]!) * rz[j]!);
      uz = Float64Array.from(ua, (x, j) => x * dphi(z[j]!, act[j]!));
      hz = Float64Array.from(ha, (x, j) => (x + gv[j]!) * dphi(z[j]!, act[j]!) + ga[j]! * d2phi(act[j]!) * rz[j]!);
    }
  }
  return { hessian: hess, ggn, residual: res };
}

/** Hess, G or H of an MLP problem as a float64 operator (one mlp64Products per product; H from its definition). */
export function mlp64Operator(p: Mlp64Problem, kind: CurvatureKind): LinearOperator {
  layersOf(p);
  return {
    size: p.theta.length,
    symmetric: true,
    name: `${kind}[float64 MLP, ${p.data.shape[0]} samples, ${p.loss}]`,
    matvec: async (v) => {
      const r = mlp64Products(p, v);
      if (kind === 'hessian') return r.hessian;
      if (kind === 'ggn') return r.ggn;
      return r.residual;
    },
  };
}
