import { layersOf, type Layer, type Mlp64Problem } from './mlpCurvature64.js';

/** Dense Hess, G and H of an MLP problem, P × P row-major (column j = A e_j). */
export interface MlpDenseCurvature {
  readonly size: number;
  readonly hessian: Float64Array;
  readonly ggn: Float64Array;
  readonly residual: Float64Array;
}

/** One sample's first-order quantities, shared by every column's R-pass. */
interface SampleCache {
  /** Input of each layer (a_0 = x, a_l = φ(z_l)). */
  readonly a: Float64Array[];
  /** φ'(z_l) and φ''(z_l) of each hidden layer's pre-activation. */
  readonly d1: Float64Array[];
  readonly d2: Float64Array[];
  /** gz_l = ∂ℓ/∂z_l and ga_l = gz_l W_lᵀ (∂ℓ/∂a_{l−1}). */
  readonly gz: Float64Array[];
  readonly ga: Float64Array[];
  /** Softmax probabilities (cross-entropy); undefined for MSE (Q = I). */
  readonly p?: Float64Array;
}

function sampleCache(pr: Mlp64Problem, layers: readonly Layer[], n: number): SampleCache {
  const th = pr.theta;
  const D = pr.sizes[0]!;
  const relu = pr.activation === 'relu';
  const a: Float64Array[] = [Float64Array.from(pr.data.images.subarray(n * D, (n + 1) * D))];
  const d1: Float64Array[] = [];
  const d2: Float64Array[] = [];
  let zL = new Float64Array(0);
  layers.forEach((L, l) => {
    const x = a[l]!;
    const z = new Float64Array(L.nOut);
    for (let o = 0; o < L.nOut; o++) z[o] = th[L.b + o]!;
    for (let i = 0; i < L.nIn; i++) {
      const xi = x[i]!;
      if (xi !== 0) for (let o = 0; o < L.nOut; o++) z[o] = z[o]! + xi * th[L.w + i * L.nOut + o]!;
    }
    if (l + 1 === layers.length) {
      zL = z;
      return;
    }
    const t = Float64Array.from(z, (v) => (relu ? Math.max(v, 0) : Math.tanh(v)));
    a.push(t);
    d1.push(Float64Array.from(z, (v, o) => (relu ? (v > 0 ? 1 : 0) : 1 - t[o]! * t[o]!)));
    d2.push(Float64Array.from(t, (v) => (relu ? 0 : -2 * v * (1 - v * v))));
  });
  const y = pr.data.labels[n]!;
  let p: Float64Array | undefined;
  let g: Float64Array;
  if (pr.loss === 'mse') g = Float64Array.from(zL, (v, k) => v - (k === y ? 1 : 0));
  else {
    const mx = Math.max(...zL);
    const e = Float64Array.from(zL, (v) => Math.exp(v - mx));
    const s = e.reduce((u, w) => u + w, 0);
    p = Float64Array.from(e, (v) => v / s);
    g = Float64Array.from(p, (v, k) => v - (k === y ? 1 : 0));
  }
  const gz: Float64Array[] = new Array<Float64Array>(layers.length);
  const ga: Float64Array[] = new Array<Float64Array>(layers.length);
  gz[layers.length - 1] = g;
  for (let l = layers.length - 1; l >= 0; l--) {
    const L = layers[l]!;
    const back = new Float64Array(L.nIn);
    for (let i = 0; i < L.nIn; i++) {
      let s = 0;
      for (let o = 0; o < L.nOut; o++) s += gz[l]![o]! * th[L.w + i * L.nOut + o]!;
      back[i] = s;
    }
    ga[l] = back;
    if (l > 0) gz[l - 1] = Float64Array.from(back, (v, i) => v * d1[l - 1]![i]!);
  }
  return { a, d1, d2, gz, ga, ...(p !== undefined && { p }) };
}

/**
 * Hess, G and H of an MLP problem as dense float64 matrices, column by column: column j is Hess e_j,
 * G e_j and H e_j by the R-operator rules of mlp64Products (mlpCurvature64.ts) — each from its own
 * definition (Hess: R-backward from R(gz_L) = Q rz_L with every second-order term; G: Jᵀ Q J e_j;
 * H: R-backward from R(gz_L) = 0, the residuals frozen) — with each sample's forward and first
 * backward pass computed once and shared by all P columns, and e_j's single nonzero used: the
 * R-forward is zero below the layer holding parameter j. Same products as mlp64Products to rounding.
 */
export function mlp64DenseCurvature(pr: Mlp64Problem, onColumns?: (done: number, total: number) => void): MlpDenseCurvature {
  const layers = layersOf(pr);
  const P = pr.theta.length;
  const N = pr.data.shape[0];
  const C = pr.sizes[pr.sizes.length - 1]!;
  const th = pr.theta;
  const nL = layers.length;
  const hessian = new Float64Array(P * P);
  const ggn = new Float64Array(P * P);
  const residual = new Float64Array(P * P);
  const caches = Array.from({ length: N }, (_, n) => sampleCache(pr, layers, n));
  // Scratch: rz_l, ra_l (input of layer l), and the three backward chains per layer.
  const rz = layers.map((L) => new Float64Array(L.nOut));
  const ra = layers.map((L) => new Float64Array(L.nIn));
  const rg = layers.map((L) => new Float64Array(L.nOut));
  const ug = layers.map((L) => new Float64Array(L.nOut));
  const hg = layers.map((L) => new Float64Array(L.nOut));
  const colH = new Float64Array(P);
  const colG = new Float64Array(P);
  const colR = new Float64Array(P);
  const s = 1 / N;
  for (let j = 0; j < P; j++) {
    // Where parameter j sits: layer lj, W_lj[i0, o0] or b_lj[o0].
    let lj = 0;
    while (lj + 1 < nL && j >= layers[lj + 1]!.w) lj++;
    const Lj = layers[lj]!;
    const isBias = j >= Lj.b;
    const i0 = isBias ? -1 : Math.floor((j - Lj.w) / Lj.nOut);
    const o0 = isBias ? j - Lj.b : (j - Lj.w) % Lj.nOut;
    colH.fill(0);
    colG.fill(0);
    colR.fill(0);
    for (const c of caches) {
      // R-forward: rz_l = ra_l W_l + a_l V_l + c_l, ra_{l+1} = φ'(z_l) ⊙ rz_l; zero below lj.
      for (let l = 0; l < nL; l++) {
        const L = layers[l]!;
        const r = rz[l]!;
        r.fill(0);
        if (l < lj) continue;
        if (l === lj) r[o0] = isBias ? 1 : c.a[l]![i0]!;
        else {
          const x = ra[l]!;
          for (let i = 0; i < L.nIn; i++) {
            const xi = x[i]!;
            if (xi !== 0) for (let o = 0; o < L.nOut; o++) r[o] = r[o]! + xi * th[L.w + i * L.nOut + o]!;
          }
        }
        if (l + 1 < nL) {
          const next = ra[l + 1]!;
          const d = c.d1[l]!;
          for (let o = 0; o < L.nOut; o++) next[o] = d[o]! * r[o]!;
        }
      }
      for (let l = 0; l <= lj && l < nL; l++) ra[l]!.fill(0);
      // Top: R(gz_L) = Q rz_L for Hess and G (Q = diag p − p pᵀ, or I for MSE), 0 for H.
      const rL = rz[nL - 1]!;
      const top = rg[nL - 1]!;
      if (c.p === undefined) top.set(rL);
      else {
        let prz = 0;
        for (let k = 0; k < C; k++) prz += c.p[k]! * rL[k]!;
        for (let k = 0; k < C; k++) top[k] = c.p[k]! * (rL[k]! - prz);
      }
      ug[nL - 1]!.set(top);
      hg[nL - 1]!.fill(0);
      for (let l = nL - 1; l >= 0; l--) {
        const L = layers[l]!;
        const x = c.a[l]!;
        const rx = ra[l]!;
        const gz = c.gz[l]!;
        const R = rg[l]!;
        const U = ug[l]!;
        const Hh = hg[l]!;
        // W_l: a_lᵀ (chain) + ra_lᵀ gz_l (Hess and H); b_l: the chain.
        for (let i = 0; i < L.nIn; i++) {
          const xi = x[i]! * s;
          const rxi = rx[i]! * s;
          const row = L.w + i * L.nOut;
          for (let o = 0; o < L.nOut; o++) {
            const q = rxi * gz[o]!;
            colH[row + o] = colH[row + o]! + xi * R[o]! + q;
            colG[row + o] = colG[row + o]! + xi * U[o]!;
            colR[row + o] = colR[row + o]! + xi * Hh[o]! + q;
          }
        }
        for (let o = 0; o < L.nOut; o++) {
          colH[L.b + o] = colH[L.b + o]! + s * R[o]!;
          colG[L.b + o] = colG[L.b + o]! + s * U[o]!;
          colR[L.b + o] = colR[L.b + o]! + s * Hh[o]!;
        }
        if (l === 0) break;
        // Down one layer: chain W_lᵀ, plus gz_l V_lᵀ (only at lj, row i0), times φ', plus ga ⊙ φ'' ⊙ rz_{l−1}.
        const d1 = c.d1[l - 1]!;
        const d2 = c.d2[l - 1]!;
        const ga = c.ga[l]!;
        const rzPrev = rz[l - 1]!;
        const R2 = rg[l - 1]!;
        const U2 = ug[l - 1]!;
        const H2 = hg[l - 1]!;
        for (let i = 0; i < L.nIn; i++) {
          let sr = 0;
          let su = 0;
          let sh = 0;
          const row = L.w + i * L.nOut;
          for (let o = 0; o < L.nOut; o++) {
            const w = th[row + o]!;
            sr += R[o]! * w;
            su += U[o]! * w;
            sh += Hh[o]! * w;
          }
          const gv = l === lj && i === i0 ? gz[o0]! : 0;
          const second = ga[i]! * d2[i]! * rzPrev[i]!;
          R2[i] = (sr + gv) * d1[i]! + second;
          U2[i] = su * d1[i]!;
          H2[i] = (sh + gv) * d1[i]! + second;
        }
      }
    }
    for (let i = 0; i < P; i++) {
      hessian[i * P + j] = colH[i]!;
      ggn[i * P + j] = colG[i]!;
      residual[i * P + j] = colR[i]!;
    }
    if ((j + 1) % 64 === 0 || j + 1 === P) onColumns?.(j + 1, P);
  }
  return { size: P, hessian, ggn, residual };
}
