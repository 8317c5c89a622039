import { Rng } from '../../src/util/random.js';

/**
 * A tiny explicit "model" for the decomposition tests: per-sample Jacobians J_i (C × P, random),
 * random logits → p_i, true labels grouped by class. Everything dense, float64, written the
 * slow and obvious way from math.md §3.
 */
export interface TinyModel {
  readonly C: number;
  readonly P: number;
  readonly N: number;
  /** J_i, C × P row-major. */
  readonly jacobians: Float64Array[];
  /** p_i (length C). */
  readonly probs: Float64Array[];
  readonly labels: number[];
}

export function tinyModel(seed: number, C: number, P: number, perClass: number, logitScale = 2): TinyModel {
  const rng = new Rng(seed);
  const jacobians: Float64Array[] = [];
  const probs: Float64Array[] = [];
  const labels: number[] = [];
  for (let c = 0; c < C; c++) {
    for (let k = 0; k < perClass; k++) {
      const J = new Float64Array(C * P);
      for (let i = 0; i < J.length; i++) J[i] = rng.normal();
      const z = Array.from({ length: C }, (_, j) => logitScale * rng.normal() + (j === c ? 2 : 0));
      const mx = Math.max(...z);
      const e = z.map((x) => Math.exp(x - mx));
      const s = e.reduce((a, b) => a + b, 0);
      jacobians.push(J);
      probs.push(Float64Array.from(e.map((x) => x / s)));
      labels.push(c);
    }
  }
  return { C, P, N: C * perClass, jacobians, probs, labels };
}

/** Σ_i J_iᵀ u_i over the given samples; u is n × C row-major. */
export function jacobianTransposeProduct(m: TinyModel, samples: readonly number[], u: Float64Array): Float64Array {
  const y = new Float64Array(m.P);
  samples.forEach((i, r) => {
    const J = m.jacobians[i]!;
    for (let c = 0; c < m.C; c++) {
      const uc = u[r * m.C + c]!;
      for (let p = 0; p < m.P; p++) y[p] = y[p]! + uc * J[c * m.P + p]!;
    }
  });
  return y;
}

/** g_{i,c'} = J_iᵀ (p_i − e_c'). */
export function sampleGradient(m: TinyModel, i: number, cp: number): Float64Array {
  const u = Float64Array.from(m.probs[i]!);
  u[cp] = u[cp]! - 1;
  return jacobianTransposeProduct(m, [i], u);
}

export function zeros(P: number): Float64Array {
  return new Float64Array(P * P);
}

/** A += w x yᵀ (P × P). */
export function addOuter(A: Float64Array, P: number, w: number, x: Float64Array, y: Float64Array = x): void {
  for (let i = 0; i < P; i++) {
    const wx = w * x[i]!;
    for (let j = 0; j < P; j++) A[i * P + j] = A[i * P + j]! + wx * y[j]!;
  }
}

/** G = (1/N) Σ_i J_iᵀ Q_i J_i with Q_i = diag(p_i) − p_i p_iᵀ. */
export function denseGaussNewton(m: TinyModel): Float64Array {
  const { C, P, N } = m;
  const G = zeros(P);
  for (let i = 0; i < N; i++) {
    const J = m.jacobians[i]!;
    const p = m.probs[i]!;
    for (let a = 0; a < C; a++) {
      for (let b = 0; b < C; b++) {
        const q = ((a === b ? p[a]! : 0) - p[a]! * p[b]!) / N;
        if (q === 0) continue;
        for (let x = 0; x < P; x++) {
          const qa = q * J[a * P + x]!;
          for (let y = 0; y < P; y++) G[x * P + y] = G[x * P + y]! + qa * J[b * P + y]!;
        }
      }
    }
  }
  return G;
}

export interface DensePieces {
  readonly a1: Float64Array;
  readonly a2: Float64Array;
  readonly b1: Float64Array;
  readonly b2: Float64Array;
}

/** A1, A2, B1, B2 straight from the definitions of math.md §3 (per-sample g_{i,c'}, Σ_cc', Σ_c). */
export function densePieces(m: TinyModel): DensePieces {
  const { C, P, N } = m;
  const a1 = zeros(P);
  const a2 = zeros(P);
  const b1 = zeros(P);
  const b2 = zeros(P);
  for (let c = 0; c < C; c++) {
    const members = m.labels.flatMap((l, i) => (l === c ? [i] : []));
    const Pcc: number[] = [];
    const gcc: Float64Array[] = [];
    for (let cp = 0; cp < C; cp++) {
      let mass = 0;
      const g = new Float64Array(P);
      for (const i of members) {
        const w = m.probs[i]![cp]!;
        mass += w;
        const gi = sampleGradient(m, i, cp);
        for (let k = 0; k < P; k++) g[k] = g[k]! + w * gi[k]!;
      }
      for (let k = 0; k < P; k++) g[k] = g[k]! / mass;
      Pcc.push(mass);
      gcc.push(g);
      // (P_cc'/N) Σ_cc' = (1/N) Σ_{i∈c} p_ic' (g_ic' − g_cc')(…)ᵀ
      for (const i of members) {
        const gi = sampleGradient(m, i, cp);
        const d = gi.map((x, k) => x - g[k]!);
        addOuter(b2, P, m.probs[i]![cp]! / N, d);
      }
    }
    let Pc = 0;
    const gc = new Float64Array(P);
    for (let cp = 0; cp < C; cp++) {
      if (cp === c) continue;
      Pc += Pcc[cp]!;
      for (let k = 0; k < P; k++) gc[k] = gc[k]! + Pcc[cp]! * gcc[cp]![k]!;
    }
    for (let k = 0; k < P; k++) gc[k] = gc[k]! / Pc;
    addOuter(a1, P, Pc / N, gc);
    addOuter(a2, P, Pcc[c]! / N, gcc[c]!);
    // (P_c/N) Σ_c = (1/N) Σ_{c'≠c} P_cc' (g_cc' − g_c)(…)ᵀ
    for (let cp = 0; cp < C; cp++) {
      if (cp === c) continue;
      const d = gcc[cp]!.map((x, k) => x - gc[k]!);
      addOuter(b1, P, Pcc[cp]! / N, d);
    }
  }
  return { a1, a2, b1, b2 };
}

/** Eigenvalues (descending) of a dense symmetric matrix by cyclic Jacobi rotations: the test's own, independent solver. */
export function jacobiEigenvalues(A: Float64Array, n: number): Float64Array {
  const a = Float64Array.from(A);
  for (let sweep = 0; sweep < 100; sweep++) {
    let off = 0;
    let diag = 0;
    for (let i = 0; i < n; i++) {
      diag += a[i * n + i]! ** 2;
      for (let j = i + 1; j < n; j++) off += a[i * n + j]! ** 2;
    }
    if (off <= 1e-30 * Math.max(diag, 1e-300)) break;
    for (let p = 0; p < n; p++) {
      for (let q = p + 1; q < n; q++) {
        const apq = a[p * n + q]!;
        if (apq === 0) continue;
        const theta = (a[q * n + q]! - a[p * n + p]!) / (2 * apq);
        const t = Math.sign(theta || 1) / (Math.abs(theta) + Math.sqrt(theta * theta + 1));
        const c = 1 / Math.sqrt(t * t + 1);
        const s = t * c;
        for (let k = 0; k < n; k++) {
          const akp = a[k * n + p]!;
          const akq = a[k * n + q]!;
          a[k * n + p] = c * akp - s * akq;
          a[k * n + q] = s * akp + c * akq;
        }
        for (let k = 0; k < n; k++) {
          const apk = a[p * n + k]!;
          const aqk = a[q * n + k]!;
          a[p * n + k] = c * apk - s * aqk;
          a[q * n + k] = s * apk + c * aqk;
        }
      }
    }
  }
  return Float64Array.from({ length: n }, (_, i) => a[i * n + i]!)
    .sort()
    .reverse();
}

export function trace(A: Float64Array, n: number): number {
  let s = 0;
  for (let i = 0; i < n; i++) s += A[i * n + i]!;
  return s;
}

export function maxAbs(a: ArrayLike<number>): number {
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i]!));
  return m;
}

export function maxAbsDiff(a: ArrayLike<number>, b: ArrayLike<number>): number {
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i]! - b[i]!));
  return m;
}
