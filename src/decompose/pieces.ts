import type { LinearOperator } from '../linalg/operator.js';
import { sub } from '../linalg/operatorAlgebra.js';
import { symmetricEigen } from '../linalg/symmetricEigen.js';
import { SpecpipeError } from '../util/errors.js';
import { classMass, type ClassGradients } from './classGradients.js';
import { loadNativeKernels, type NativeKernels } from '../backend/native/elementwiseLibrary.js';
import { JS_KERNELS } from '../backend/native/jsKernels.js';

/**
 * Papyan's pieces of the Gauss–Newton matrix (math.md §3), G = A1 + A2 + B1 + B2:
 *
 *     A1 = Σ_c (P_c/N) g_c g_cᵀ                                   rank ≤ C
 *     A2 = Σ_c (P_cc/N) g_cc g_ccᵀ                                rank ≤ C
 *     B1 = Σ_c Σ_{c'≠c} (P_cc'/N) (g_cc' − g_c)(g_cc' − g_c)ᵀ     rank ≤ C(C−2)
 *     A1 + A2 + B1 = Σ_c Σ_{c'} (P_cc'/N) g_cc' g_cc'ᵀ           rank ≤ C²
 *     B2 = G − A1 − A2 − B1                                      (matrix-free)
 *
 * (B1 = Σ_c (P_c/N) Σ_c with Σ_c centred at g_c; since Σ_{c'≠c} P_cc'(g_cc' − g_c) = 0 its
 * C − 1 terms per class span at most C − 2 directions, hence rank B1 ≤ C(C−2), and
 * A1 + B1 = Σ_c Σ_{c'≠c} (P_cc'/N) g_cc' g_cc'ᵀ.)
 *
 * Every vector in these sums is a combination of the stored s_cc' = P_cc' g_cc' (the columns
 * of S, P × m with m = |S|²): a low-rank piece is Σ_r w_r (S t_r)(S t_r)ᵀ = S W Sᵀ with
 * W = Σ_r w_r t_r t_rᵀ (m × m). So one base Gram K = SᵀS (m × m, m(m+1)/2 dot products of
 * length P) gives every piece's small Gram M = D^{1/2} Tᵀ K T D^{1/2} (r × r), whose eigenvalues
 * are exactly the piece's nonzero eigenvalues, and its trace tr = Σ_r w_r t_rᵀ K t_r.
 */

export type LowRankPieceName = 'a1' | 'a2' | 'b1' | 'a1+a2+b1';

/** A low-rank piece Σ_r w_r (S t_r)(S t_r)ᵀ as an operator, with its exact spectrum. */
export interface LowRankPiece extends LinearOperator {
  readonly piece: LowRankPieceName;
  /** Number r of rank-1 terms. */
  readonly terms: number;
  /** The rank bound of math.md §3 (C, C, C(C−2), C²; C = |S|). */
  readonly rankBound: number;
  /** The r × r Gram matrix M_rs = √(w_r w_s) (S t_r)ᵀ(S t_s), row-major. */
  gram(): Float64Array;
  /** Exact eigenvalues of the piece that the Gram matrix carries (r of them, descending; zeros included). */
  eigenvalues(): Float64Array;
  /** Numerical rank: eigenvalues above `relTol` (default 1e-9) × the largest. */
  rank(relTol?: number): number;
  /** Exact trace Σ_r w_r ‖S t_r‖². */
  trace(): number;
}

/** Shared state of the four low-rank pieces: the columns of S and their Gram K = SᵀS. */
export interface PieceBasis {
  readonly gradients: ClassGradients;
  /** m = |S|² */
  readonly m: number;
  /** K = SᵀS, m × m row-major (computed on first use). */
  baseGram(): Float64Array;
  /** S stored row-major: row i is s_i = pairSums[i] (m × P, float64; built on first use). */
  rows(): Float64Array;
}

/**
 * The C library's strictly ordered dot products and row combinations when it loads, else their
 * JavaScript twins: bit for bit the plain loops either way (issue 14: the pieces' P × m products
 * ran as JavaScript loops, ~20% of the default pipeline's CPU time; 8 independent sums at once in C).
 */
function pieceKernels(): NativeKernels {
  const k = loadNativeKernels();
  return k.ok ? k.kernels : JS_KERNELS;
}

/** Largest class subset the pieces accept: |S|² stored vectors and |S|² × |S|² coefficient matrices. */
export const MAX_PIECE_CLASSES = 50;

export function pieceBasis(cg: ClassGradients): PieceBasis {
  const m = cg.pairSums.length;
  if (cg.classes.length > MAX_PIECE_CLASSES) {
    throw new SpecpipeError(
      'too-many-classes',
      `the decomposition of G holds |S|² = ${m} class/cross-class vectors for |S| = ${cg.classes.length} classes; at most ${MAX_PIECE_CLASSES} classes are supported: choose a class subset (decompose \`classes: [...]\`, as Papyan does for large C)`,
    );
  }
  let K: Float64Array | undefined;
  let S: Float64Array | undefined;
  const P = cg.paramCount;
  const rows = (): Float64Array => {
    if (S !== undefined) return S;
    S = new Float64Array(m * P);
    cg.pairSums.forEach((s, i) => S!.set(s, i * P));
    return S;
  };
  return {
    gradients: cg,
    m,
    rows,
    baseGram() {
      if (K !== undefined) return K;
      // K_ij = Σ_k s_i[k]·s_j[k], each sum in order of k (the C kernel reads S once, in tiles).
      K = new Float64Array(m * m);
      pieceKernels().gramSequential(rows(), m, P, K);
      return K;
    },
  };
}

interface Terms {
  /** Coefficient vectors t_r (length m each). */
  readonly t: Float64Array[];
  readonly w: number[];
}

/** The rank-1 terms (t_r, w_r) of a piece in the coordinates of the s_ab (math.md §3). */
function pieceTerms(cg: ClassGradients, piece: LowRankPieceName): Terms {
  const S = cg.classes.length;
  const m = S * S;
  const N = cg.sampleCount;
  const t: Float64Array[] = [];
  const w: number[] = [];
  const mass = (a: number, b: number): number => cg.pairMass[a * S + b]!;
  // Coefficients of g_a = (1/P_a) Σ_{b≠a} s_ab.
  const classMeanCoeffs = (a: number): Float64Array => {
    const v = new Float64Array(m);
    const Pa = classMass(cg, a);
    if (Pa > 0) for (let b = 0; b < S; b++) if (b !== a) v[a * S + b] = 1 / Pa;
    return v;
  };
  for (let a = 0; a < S; a++) {
    if (piece === 'a1') {
      const Pa = classMass(cg, a);
      if (Pa > 0) {
        t.push(classMeanCoeffs(a));
        w.push(Pa / N);
      }
    } else if (piece === 'a2') {
      const v = new Float64Array(m);
      if (mass(a, a) > 0) {
        v[a * S + a] = 1 / mass(a, a);
        t.push(v);
        w.push(mass(a, a) / N);
      }
    } else {
      const ga = classMeanCoeffs(a);
      for (let b = 0; b < S; b++) {
        if (piece === 'b1' && b === a) continue;
        const Pab = mass(a, b);
        if (!(Pab > 0)) continue;
        const v = new Float64Array(m);
        v[a * S + b] = 1 / Pab;
        if (piece === 'b1') for (let k = 0; k < m; k++) v[k] = v[k]! - ga[k]!;
        t.push(v);
        w.push(Pab / N);
      }
    }
  }
  return { t, w };
}

function rankBound(piece: LowRankPieceName, S: number): number {
  switch (piece) {
    case 'a1':
    case 'a2':
      return S;
    case 'b1':
      return S * (S - 2);
    case 'a1+a2+b1':
      return S * S;
  }
}

/** One low-rank piece as a LinearOperator y = S W Sᵀ v, with its exact Gram spectrum. */
export function lowRankPiece(basis: PieceBasis, piece: LowRankPieceName): LowRankPiece {
  const cg = basis.gradients;
  const m = basis.m;
  const P = cg.paramCount;
  const { t, w } = pieceTerms(cg, piece);
  const r = t.length;
  // W = Σ_r w_r t_r t_rᵀ (m × m).
  const W = new Float64Array(m * m);
  for (let q = 0; q < r; q++) {
    const tq = t[q]!;
    const wq = w[q]!;
    for (let i = 0; i < m; i++) {
      const ti = tq[i]!;
      if (ti === 0) continue;
      for (let j = 0; j < m; j++) W[i * m + j] = W[i * m + j]! + wq * ti * tq[j]!;
    }
  }
  let gramCache: Float64Array | undefined;
  let eigCache: Float64Array | undefined;
  const gram = (): Float64Array => {
    if (gramCache !== undefined) return gramCache;
    const K = basis.baseGram();
    // KT[:, q] = K t_q
    const Kt = t.map((tq) => {
      const y = new Float64Array(m);
      for (let i = 0; i < m; i++) {
        let s = 0;
        for (let j = 0; j < m; j++) s += K[i * m + j]! * tq[j]!;
        y[i] = s;
      }
      return y;
    });
    const M = new Float64Array(r * r);
    for (let p = 0; p < r; p++) {
      for (let q = 0; q <= p; q++) {
        let s = 0;
        const tp = t[p]!;
        const kq = Kt[q]!;
        for (let i = 0; i < m; i++) s += tp[i]! * kq[i]!;
        s *= Math.sqrt(w[p]! * w[q]!);
        M[p * r + q] = s;
        M[q * r + p] = s;
      }
    }
    gramCache = M;
    return M;
  };
  const eigenvalues = (): Float64Array => {
    if (eigCache !== undefined) return eigCache;
    const values = symmetricEigen(gram(), r, { vectors: false }).values; // ascending
    eigCache = Float64Array.from(values).reverse();
    return eigCache;
  };
  return {
    size: P,
    symmetric: true,
    name: piece,
    piece,
    terms: r,
    rankBound: rankBound(piece, cg.classes.length),
    gram,
    eigenvalues,
    rank(relTol = 1e-9) {
      const ev = eigenvalues();
      const top = ev.length > 0 ? Math.max(Math.abs(ev[0]!), Math.abs(ev[ev.length - 1]!)) : 0;
      if (top === 0) return 0;
      return ev.filter((x) => x > relTol * top).length;
    },
    trace() {
      const M = gram();
      let s = 0;
      for (let q = 0; q < r; q++) s += M[q * r + q]!;
      return s;
    },
    async matvec(v: Float64Array): Promise<Float64Array> {
      if (v.length !== P)
        throw new SpecpipeError('operator-size-mismatch', `${piece}.matvec: vector of length ${v.length}, expected P = ${P}`);
      // u = Sᵀ v ; z = W u ; y = S z — u_i in order of k; y[k] += z_i·s_i[k] over i in order (a zero z_i
      // adds ±0: no change, S being finite), as the plain loops.
      const kernels = pieceKernels();
      const V = basis.rows();
      const u = new Float64Array(m);
      kernels.dotsSequential(V, m, P, v, u);
      const z = new Float64Array(m);
      for (let i = 0; i < m; i++) {
        let zi = 0;
        for (let j = 0; j < m; j++) zi += W[i * m + j]! * u[j]!;
        z[i] = zi;
      }
      const y = new Float64Array(P);
      kernels.basisAxpy(V, 0, m, P, z, 0, y, 1);
      return y;
    },
  };
}

/** All of Papyan's pieces of G, each on the LinearOperator contract. */
export interface GaussNewtonPieces {
  readonly a1: LowRankPiece;
  readonly a2: LowRankPiece;
  readonly b1: LowRankPiece;
  /** A1 + A2 + B1 = Σ_cc' (P_cc'/N) g_cc' g_cc'ᵀ (the outlier-carrying part). */
  readonly lowRank: LowRankPiece;
  /** B2 = G − (A1 + A2 + B1), matrix-free: one G product and one pass over S per product. Absent without G. */
  readonly b2?: LinearOperator;
}

/**
 * The pieces of G from stored class gradients. `ggn` (the G operator of the same split and
 * samples) is needed only for B2.
 */
export function gaussNewtonPieces(cg: ClassGradients, ggn?: LinearOperator): GaussNewtonPieces {
  const basis = pieceBasis(cg);
  const a1 = lowRankPiece(basis, 'a1');
  const a2 = lowRankPiece(basis, 'a2');
  const b1 = lowRankPiece(basis, 'b1');
  const lowRank = lowRankPiece(basis, 'a1+a2+b1');
  if (ggn === undefined) return { a1, a2, b1, lowRank };
  if (ggn.size !== cg.paramCount) {
    throw new SpecpipeError(
      'operator-size-mismatch',
      `B2 = G − A1 − A2 − B1: G has size ${ggn.size} but the class gradients have P = ${cg.paramCount}`,
    );
  }
  const b2 = { ...sub(ggn, lowRank), name: 'b2' };
  return { a1, a2, b1, lowRank, b2 };
}

/** Traces of every piece and the identity tr G = tr A1 + tr A2 + tr B1 + tr B2. */
export interface PieceTraces {
  readonly a1: number;
  readonly a2: number;
  readonly b1: number;
  /** tr G − (tr A1 + tr A2 + tr B1): as exact as the supplied tr G (Hutchinson/Hutch++ or exact). */
  readonly b2: number;
  readonly g: number;
  /** tr(A1+A2+B1) from its own Gram matrix; equals a1 + a2 + b1 up to rounding (a check of the identity). */
  readonly lowRank: number;
}

/** Exact traces of the low-rank pieces; tr B2 from tr G (estimated elsewhere, or exact in tests). */
export function pieceTraces(pieces: GaussNewtonPieces, traceG: number): PieceTraces {
  const a1 = pieces.a1.trace();
  const a2 = pieces.a2.trace();
  const b1 = pieces.b1.trace();
  const lowRank = pieces.lowRank.trace();
  return { a1, a2, b1, b2: traceG - lowRank, g: traceG, lowRank };
}
