import type { SampleJacobian } from '../curvature/mlpJacobian64.js';

/**
 * Papyan's pieces of G as dense P × P float64 matrices, each from its own definition (math.md §3),
 * never one from the others: with g_{i,c'} = J_iᵀ (p_i − e_c'),
 *
 *     A1 = Σ_c (P_c/N) g_c g_cᵀ
 *     A2 = Σ_c (P_cc/N) g_cc g_ccᵀ
 *     B1 = Σ_c Σ_{c'≠c} (P_cc'/N) (g_cc' − g_c)(g_cc' − g_c)ᵀ
 *     B2 = Σ_c Σ_{c'} (P_cc'/N) Σ_cc' = (1/N) Σ_i Σ_{c'} p_ic' (g_{i,c'} − g_{y_i c'})(g_{i,c'} − g_{y_i c'})ᵀ
 *
 * B2 is a sum of outer products, so positive semi-definite up to float64 rounding, and
 * A1 + A2 + B1 + B2 = G is a check, not an identity by construction. Two passes over the samples
 * (the first for P_cc' and g_cc', the second for B2's centred outer products); the per-sample
 * Jacobians are recomputed by `sample(i)` rather than stored (N·C·P numbers).
 */
export interface DensePieces {
  readonly size: number;
  readonly a1: Float64Array;
  readonly a2: Float64Array;
  readonly b1: Float64Array;
  readonly b2: Float64Array;
}

/** Vectors scaled by √w, gathered P × m (column r = √w_r x_r) and added to the lower triangle as X Xᵀ. */
class LowerOuterSum {
  readonly #a: Float64Array;
  readonly #P: number;
  readonly #m: number;
  readonly #x: Float64Array;
  #r = 0;

  constructor(a: Float64Array, P: number, block = 16) {
    this.#a = a;
    this.#P = P;
    this.#m = block;
    this.#x = new Float64Array(P * block);
  }

  /** a += w x xᵀ (lower triangle; w ≥ 0). */
  add(w: number, x: ArrayLike<number>): void {
    if (!(w > 0)) return;
    const s = Math.sqrt(w);
    const m = this.#m;
    for (let i = 0; i < this.#P; i++) this.#x[i * m + this.#r] = s * x[i]!;
    if (++this.#r === m) this.flush();
  }

  flush(): void {
    const P = this.#P;
    const m = this.#m;
    const r = this.#r;
    const X = this.#x;
    const A = this.#a;
    for (let i = 0; i < P; i++) {
      const xi = i * m;
      const row = i * P;
      for (let j = 0; j <= i; j++) {
        const xj = j * m;
        let s = 0;
        for (let k = 0; k < r; k++) s += X[xi + k]! * X[xj + k]!;
        A[row + j] = A[row + j]! + s;
      }
    }
    this.#r = 0;
  }
}

function mirrorLower(a: Float64Array, P: number): Float64Array {
  for (let i = 0; i < P; i++) for (let j = 0; j < i; j++) a[j * P + i] = a[i * P + j]!;
  return a;
}

/** g_{i,c'} for every c' of one sample: row c' of a C × P array. */
function sampleGradients(s: SampleJacobian, C: number, P: number): Float64Array {
  const gp = new Float64Array(P); // J_iᵀ p_i
  for (let k = 0; k < C; k++) {
    const pk = s.probabilities[k]!;
    const row = k * P;
    for (let x = 0; x < P; x++) gp[x] = gp[x]! + pk * s.jacobian[row + x]!;
  }
  const g = new Float64Array(C * P);
  for (let c = 0; c < C; c++) for (let x = 0; x < P; x++) g[c * P + x] = gp[x]! - s.jacobian[c * P + x]!;
  return g;
}

/** The four pieces over samples 0..N−1 (`sample(i)`: J_i, p_i, y_i) of a C-class net with P parameters. */
export function densePiecesFromDefinition(
  N: number,
  C: number,
  P: number,
  sample: (i: number) => SampleJacobian,
  onSample?: (done: number, total: number) => void,
): DensePieces {
  const mass = new Float64Array(C * C);
  const sums = Array.from({ length: C * C }, () => new Float64Array(P));
  for (let i = 0; i < N; i++) {
    const s = sample(i);
    const g = sampleGradients(s, C, P);
    for (let cp = 0; cp < C; cp++) {
      const w = s.probabilities[cp]!;
      mass[s.label * C + cp] = mass[s.label * C + cp]! + w;
      const acc = sums[s.label * C + cp]!;
      for (let x = 0; x < P; x++) acc[x] = acc[x]! + w * g[cp * P + x]!;
    }
    onSample?.(i + 1, 2 * N);
  }
  const gcc = sums.map((s, k) => (mass[k]! > 0 ? s.map((x) => x / mass[k]!) : s));
  const a1 = new Float64Array(P * P);
  const a2 = new Float64Array(P * P);
  const b1 = new Float64Array(P * P);
  const b2 = new Float64Array(P * P);
  const A1 = new LowerOuterSum(a1, P);
  const A2 = new LowerOuterSum(a2, P);
  const B1 = new LowerOuterSum(b1, P);
  for (let c = 0; c < C; c++) {
    let Pc = 0;
    const g = new Float64Array(P);
    for (let cp = 0; cp < C; cp++) {
      if (cp === c) continue;
      Pc += mass[c * C + cp]!;
      const s = sums[c * C + cp]!;
      for (let x = 0; x < P; x++) g[x] = g[x]! + s[x]!;
    }
    if (Pc > 0) for (let x = 0; x < P; x++) g[x] = g[x]! / Pc;
    A1.add(Pc / N, g);
    A2.add(mass[c * C + c]! / N, gcc[c * C + c]!);
    for (let cp = 0; cp < C; cp++)
      if (cp !== c)
        B1.add(
          mass[c * C + cp]! / N,
          gcc[c * C + cp]!.map((x, k) => x - g[k]!),
        );
  }
  A1.flush();
  A2.flush();
  B1.flush();
  const B2 = new LowerOuterSum(b2, P);
  const d = new Float64Array(P);
  for (let i = 0; i < N; i++) {
    const s = sample(i);
    const g = sampleGradients(s, C, P);
    for (let cp = 0; cp < C; cp++) {
      const centre = gcc[s.label * C + cp]!;
      for (let x = 0; x < P; x++) d[x] = g[cp * P + x]! - centre[x]!;
      B2.add(s.probabilities[cp]! / N, d);
    }
    onSample?.(N + i + 1, 2 * N);
  }
  B2.flush();
  return { size: P, a1: mirrorLower(a1, P), a2: mirrorLower(a2, P), b1: mirrorLower(b1, P), b2: mirrorLower(b2, P) };
}
