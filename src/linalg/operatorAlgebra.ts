import type { LinearOperator } from './operator.js';
import { SpecpipeError } from '../util/errors.js';

/**
 * Derived operations on the LinearOperator contract, defined once for every operator
 * (lineax / linear_operator style): dense wrapping, sums, scaling, low-rank updates,
 * deflation, dense materialisation and product counting under a budget.
 */

/** A dense symmetric matrix wrapped as an operator, with its measured asymmetry. */
export interface DenseSymmetricOperator extends LinearOperator {
  /** The matrix, row-major n × n (shared, not copied). */
  readonly matrix: Float64Array;
  /** max|A − Aᵀ| / max|A| (0 for an exactly symmetric matrix, 0 for the zero matrix). */
  readonly asymmetry: number;
}

/** Measured asymmetry max_ij |A_ij − A_ji| / max_ij |A_ij| of a row-major n × n matrix. */
export function measuredAsymmetry(matrix: Float64Array, n: number): number {
  let maxAbs = 0;
  let maxDiff = 0;
  for (let i = 0; i < n; i++) {
    for (let j = 0; j < n; j++) {
      const a = matrix[i * n + j]!;
      const abs = Math.abs(a);
      if (abs > maxAbs) maxAbs = abs;
      if (j > i) {
        const d = Math.abs(a - matrix[j * n + i]!);
        if (d > maxDiff) maxDiff = d;
      }
    }
  }
  return maxAbs === 0 ? 0 : maxDiff / maxAbs;
}

export interface FromDenseOptions {
  /** Side length n; default √(matrix.length), which must then be an integer. */
  readonly n?: number;
  /** Largest accepted max|A − Aᵀ|/max|A| (default DEFAULT_ASYMMETRY_TOLERANCE; float32 sources need ~1e-6). */
  readonly asymmetryTolerance?: number;
  readonly name?: string;
}

/**
 * Default largest accepted asymmetry max|A − Aᵀ|/max|A| of a dense "symmetric" matrix (fromDenseSymmetric, and
 * `specpipe spectrum --matrix`'s --symmetry-tol): 1e-8 rejects matrices that are not symmetric while accepting float64
 * ones that are symmetric up to accumulated rounding; it perturbs eigenvalues by at most ~1e-8·max|A|.
 */
export const DEFAULT_ASYMMETRY_TOLERANCE = 1e-8;

/**
 * y = A v for a dense row-major symmetric matrix A. Rejects non-square input and input whose
 * measured asymmetry max|A − Aᵀ|/max|A| exceeds the tolerance, naming the value measured.
 */
export function fromDenseSymmetric(matrix: Float64Array, options: FromDenseOptions = {}): DenseSymmetricOperator {
  const n = options.n ?? Math.round(Math.sqrt(matrix.length));
  const name = options.name ?? 'dense';
  if (!Number.isInteger(n) || n <= 0 || n * n !== matrix.length) {
    throw new SpecpipeError(
      'matrix-not-square',
      `${name}: a symmetric operator needs a square n × n matrix, received ${matrix.length} entries${options.n !== undefined ? ` for n = ${options.n}` : ' (not a perfect square)'}`,
    );
  }
  for (let i = 0; i < matrix.length; i++) {
    if (!Number.isFinite(matrix[i]!)) {
      throw new SpecpipeError(
        'matrix-not-finite',
        `${name}: entry (${Math.floor(i / n)}, ${i % n}) is ${matrix[i]}, expected a finite number`,
      );
    }
  }
  const tol = options.asymmetryTolerance ?? DEFAULT_ASYMMETRY_TOLERANCE;
  const asymmetry = measuredAsymmetry(matrix, n);
  if (asymmetry > tol) {
    throw new SpecpipeError(
      'matrix-asymmetric',
      `${name}: matrix is not symmetric: measured asymmetry max|A − Aᵀ|/max|A| = ${asymmetry.toExponential(3)} exceeds the tolerance ${tol.toExponential(1)}`,
    );
  }
  return {
    size: n,
    symmetric: true,
    name,
    matrix,
    asymmetry,
    async matvec(v: Float64Array): Promise<Float64Array> {
      return denseMatvec(matrix, n, v);
    },
  };
}

/** y = A v for row-major A (n × n), float64. */
export function denseMatvec(matrix: Float64Array, n: number, v: Float64Array): Float64Array {
  const y = new Float64Array(n);
  for (let i = 0; i < n; i++) {
    let s = 0;
    const row = i * n;
    for (let j = 0; j < n; j++) s += matrix[row + j]! * v[j]!;
    y[i] = s;
  }
  return y;
}

/** y = diag(d) v: the cheapest operator with a known spectrum. */
export function diagonalOperator(d: Float64Array, name = 'diagonal'): LinearOperator {
  return {
    size: d.length,
    symmetric: true,
    name,
    async matvec(v: Float64Array): Promise<Float64Array> {
      const y = new Float64Array(d.length);
      for (let i = 0; i < d.length; i++) y[i] = d[i]! * v[i]!;
      return y;
    },
  };
}

function sameSize(a: LinearOperator, b: LinearOperator, what: string): void {
  if (a.size !== b.size) {
    throw new SpecpipeError(
      'operator-size-mismatch',
      `${what}: operator sizes differ, received ${a.name ?? 'A'}.size = ${a.size} and ${b.name ?? 'B'}.size = ${b.size}`,
    );
  }
}

/** (A + B) v = A v + B v. */
export function add(a: LinearOperator, b: LinearOperator): LinearOperator {
  sameSize(a, b, 'add');
  return {
    size: a.size,
    symmetric: a.symmetric && b.symmetric,
    name: `(${a.name ?? 'A'} + ${b.name ?? 'B'})`,
    async matvec(v) {
      const [x, y] = await Promise.all([a.matvec(v), b.matvec(v)]);
      for (let i = 0; i < x.length; i++) x[i] = x[i]! + y[i]!;
      return x;
    },
  };
}

/** (A − B) v = A v − B v. */
export function sub(a: LinearOperator, b: LinearOperator): LinearOperator {
  sameSize(a, b, 'sub');
  return {
    size: a.size,
    symmetric: a.symmetric && b.symmetric,
    name: `(${a.name ?? 'A'} − ${b.name ?? 'B'})`,
    async matvec(v) {
      const [x, y] = await Promise.all([a.matvec(v), b.matvec(v)]);
      for (let i = 0; i < x.length; i++) x[i] = x[i]! - y[i]!;
      return x;
    },
  };
}

/** (c A) v = c (A v). */
export function scale(a: LinearOperator, c: number): LinearOperator {
  return {
    size: a.size,
    symmetric: a.symmetric,
    name: `${c}·${a.name ?? 'A'}`,
    async matvec(v) {
      const x = await a.matvec(v);
      for (let i = 0; i < x.length; i++) x[i] = c * x[i]!;
      return x;
    },
  };
}

/**
 * (A + U diag(d) Uᵀ) v = A v + Σ_i d_i u_i (u_iᵀ v), with U given as its columns u_i.
 * Symmetric whenever A is.
 */
export function lowRankUpdate(a: LinearOperator, u: readonly Float64Array[], d: ArrayLike<number>): LinearOperator {
  if (u.length !== d.length) {
    throw new SpecpipeError('low-rank-shape', `lowRankUpdate: ${u.length} columns of U but ${d.length} weights d`);
  }
  for (const [i, col] of u.entries()) {
    if (col.length !== a.size)
      throw new SpecpipeError(
        'low-rank-shape',
        `lowRankUpdate: column ${i} of U has length ${col.length}, expected the operator size ${a.size}`,
      );
  }
  const cols = u.map((c) => new Float64Array(c));
  const w = Float64Array.from(d as ArrayLike<number>);
  return {
    size: a.size,
    symmetric: a.symmetric,
    name: `(${a.name ?? 'A'} + UDUᵀ[rank ${cols.length}])`,
    async matvec(v) {
      const x = await a.matvec(v);
      for (let k = 0; k < cols.length; k++) {
        const c = cols[k]!;
        let s = 0;
        for (let i = 0; i < c.length; i++) s += c[i]! * v[i]!;
        s *= w[k]!;
        for (let i = 0; i < c.length; i++) x[i] = x[i]! + s * c[i]!;
      }
      return x;
    },
  };
}

/**
 * Deflation A − Σ_i λ_i v_i v_iᵀ (math.md §4): removes the given (outlier) eigenpairs so that
 * what remains is the bulk. The v_i should be unit vectors (the eigenvectors of A).
 */
export function deflate(
  a: LinearOperator,
  pairs: readonly { readonly value: number; readonly vector: Float64Array }[],
): LinearOperator {
  const op = lowRankUpdate(
    a,
    pairs.map((p) => p.vector),
    pairs.map((p) => -p.value),
  );
  return { ...op, name: `deflate(${a.name ?? 'A'}, ${pairs.length})`, matvec: op.matvec };
}

/** Materialises A column by column (n products): row-major n × n float64. For tests and small operators. */
export async function toDense(a: LinearOperator): Promise<Float64Array> {
  const n = a.size;
  const out = new Float64Array(n * n);
  const e = new Float64Array(n);
  for (let j = 0; j < n; j++) {
    e.fill(0);
    e[j] = 1;
    const col = await a.matvec(e);
    for (let i = 0; i < n; i++) out[i * n + j] = col[i]!;
  }
  return out;
}

/** Thrown by a counting operator asked for a product past its budget. Estimators catch it and report "not converged". */
export class MatvecBudgetExceeded extends SpecpipeError {
  constructor(
    readonly budget: number,
    name: string,
  ) {
    super('matvec-budget', `${name}: product budget of ${budget} matrix–vector products exhausted`);
  }
}

/** An operator that counts its products and refuses to exceed `budget` of them. */
export interface CountingOperator extends LinearOperator {
  /** Products computed so far. */
  readonly used: number;
  /** The most products this operator will compute (Infinity when unlimited). */
  readonly budget: number;
  /** budget − used. */
  readonly remaining: number;
  /** The wrapped operator. */
  readonly inner: LinearOperator;
}

/** Wraps `op`, counting products; the (budget+1)-th product throws MatvecBudgetExceeded instead of running. */
export function countingOperator(op: LinearOperator, budget = Infinity): CountingOperator {
  if (!(budget >= 0)) throw new SpecpipeError('matvec-budget', `countingOperator: budget must be ≥ 0, received ${budget}`);
  let used = 0;
  const name = op.name ?? 'operator';
  return {
    size: op.size,
    symmetric: op.symmetric,
    name,
    inner: op,
    budget,
    get used() {
      return used;
    },
    get remaining() {
      return budget - used;
    },
    async matvec(v: Float64Array): Promise<Float64Array> {
      if (used >= budget) throw new MatvecBudgetExceeded(budget, name);
      used++;
      return op.matvec(v);
    },
  };
}

/** Asserts a symmetric operator for Lanczos-based estimators, naming the operator otherwise. */
export function requireSymmetric(op: LinearOperator, who: string): void {
  if (!op.symmetric)
    throw new SpecpipeError(
      'operator-not-symmetric',
      `${who}: needs a symmetric operator, received ${op.name ?? 'an operator'} with symmetric = false`,
    );
  if (!(Number.isInteger(op.size) && op.size > 0))
    throw new SpecpipeError('operator-size', `${who}: operator size must be a positive integer, received ${op.size}`);
}
