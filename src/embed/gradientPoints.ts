import { classMass, type ClassGradients } from '../decompose/classGradients.js';
import { pieceBasis } from '../decompose/pieces.js';

/**
 * The points of Papyan's Figure 2 (ICML 2019): the class means g_c and the cross-class means
 * g_cc', labelled "c" and "c–c'". Their pairwise distances come from the base Gram K = SᵀS of the
 * stored sums s_cc' (every point is a combination S t of them): ‖S t_x − S t_y‖² = (t_x − t_y)ᵀ K (t_x − t_y),
 * so the embedding never touches a P-vector again.
 */
export type GradientPointKind =
  /** g_c: the centre of class c's cluster (A1's vectors). */
  | 'class'
  /** g_cc' with c' ≠ c: a cross-class mean (B1's spread). */
  | 'cross'
  /** g_cc: the own-class mean (A2's vectors). */
  | 'own';

export interface GradientPoint {
  readonly kind: GradientPointKind;
  /** True class c (the real label). */
  readonly c: number;
  /** c' for 'cross' / 'own'; equal to c for 'class'. */
  readonly cp: number;
  /** "c" or "c–c'" (en dash). */
  readonly label: string;
}

export interface GradientPointSet {
  readonly points: readonly GradientPoint[];
  /** Squared Euclidean distances, n × n row-major. */
  readonly squaredDistances: Float64Array;
}

export interface GradientPointOptions {
  /** Include the own-class means g_cc (default false: Figure 2 shows g_c and g_cc', c' ≠ c). */
  readonly includeOwn?: boolean;
  /** Optional display names of the classes (default: the class number). */
  readonly classNames?: readonly string[];
}

/** {g_c} ∪ {g_cc'} with labels and squared distances, exactly from the class gradients. */
export function gradientPoints(cg: ClassGradients, options: GradientPointOptions = {}): GradientPointSet {
  const S = cg.classes.length;
  const m = S * S;
  const name = (c: number): string => options.classNames?.[c] ?? String(c);
  const points: GradientPoint[] = [];
  const coeffs: Float64Array[] = [];
  for (let a = 0; a < S; a++) {
    const c = cg.classes[a]!;
    const t = new Float64Array(m);
    const Pa = classMass(cg, a);
    if (Pa > 0) for (let b = 0; b < S; b++) if (b !== a) t[a * S + b] = 1 / Pa;
    points.push({ kind: 'class', c, cp: c, label: name(c) });
    coeffs.push(t);
  }
  for (let a = 0; a < S; a++) {
    for (let b = 0; b < S; b++) {
      if (a === b && !options.includeOwn) continue;
      const c = cg.classes[a]!;
      const cp = cg.classes[b]!;
      const t = new Float64Array(m);
      const mass = cg.pairMass[a * S + b]!;
      if (mass > 0) t[a * S + b] = 1 / mass;
      points.push({ kind: a === b ? 'own' : 'cross', c, cp, label: `${name(c)}–${name(cp)}` });
      coeffs.push(t);
    }
  }
  const K = pieceBasis(cg).baseGram();
  const n = points.length;
  // Kt_x = K t_x ; ‖x − y‖² = t_xᵀKt_x + t_yᵀKt_y − 2 t_xᵀKt_y
  const Kt = coeffs.map((t) => {
    const y = new Float64Array(m);
    for (let i = 0; i < m; i++) {
      let s = 0;
      for (let j = 0; j < m; j++) s += K[i * m + j]! * t[j]!;
      y[i] = s;
    }
    return y;
  });
  const dot = (x: Float64Array, y: Float64Array): number => {
    let s = 0;
    for (let i = 0; i < x.length; i++) s += x[i]! * y[i]!;
    return s;
  };
  const norms = coeffs.map((t, i) => dot(t, Kt[i]!));
  const squaredDistances = new Float64Array(n * n);
  for (let i = 0; i < n; i++) {
    for (let j = 0; j < i; j++) {
      const d = Math.max(0, norms[i]! + norms[j]! - 2 * dot(coeffs[i]!, Kt[j]!));
      squaredDistances[i * n + j] = d;
      squaredDistances[j * n + i] = d;
    }
  }
  return { points, squaredDistances };
}

/** Squared Euclidean distances of explicit points (rows), n × n. */
export function squaredDistancesOf(rows: readonly ArrayLike<number>[]): Float64Array {
  const n = rows.length;
  const D = new Float64Array(n * n);
  for (let i = 0; i < n; i++) {
    for (let j = 0; j < i; j++) {
      const x = rows[i]!;
      const y = rows[j]!;
      let s = 0;
      for (let k = 0; k < x.length; k++) s += (x[k]! - y[k]!) ** 2;
      D[i * n + j] = s;
      D[j * n + i] = s;
    }
  }
  return D;
}
