import { loadNativeKernels, type NativeKernels } from '../backend/native/elementwiseLibrary.js';
import { JS_KERNELS } from '../backend/native/jsKernels.js';
import { availableParallelism } from 'node:os';
import type { Rng } from '../util/random.js';
import { SpecpipeError } from '../util/errors.js';

/** Precision in which Krylov basis vectors are stored (math.md §4: float32 by default). */
export type BasisPrecision =
  /** 4 bytes per entry: half the memory; vectors are rounded to float32 when stored (residual floor ≈ 1e-7·‖A‖). */
  | 'float32'
  /** 8 bytes per entry. */
  | 'float64';

/** Rows of the first basis block; each further block doubles, up to BLOCK_BYTES (at least MIN_BLOCK_ROWS rows). */
const MIN_BLOCK_ROWS = 8;
/** Largest block (bytes) allocated at once: bounds the memory held beyond the stored rows. */
const BLOCK_BYTES = 64 * 2 ** 20;

/** One contiguous block of basis rows: rows [start, start + capacity) of the basis. */
interface BasisBlock {
  readonly data: Float32Array | Float64Array;
  readonly start: number;
  readonly capacity: number;
}

/**
 * Whether the Gram–Schmidt sweeps and combinations of KrylovBasis run in the native C library
 * (src/backend/native, compiled on first use; needs koffi and a C compiler, not tfjs) or in the
 * JavaScript loops (SPECPIPE_NO_NATIVE=1 or SPECPIPE_NO_NATIVE_ELEMENTWISE=1, or the library
 * cannot be built), with the reason for the latter.
 */
export function krylovBasisKernels(): { native: true; library: string } | { native: false; reason: string } {
  const k = loadNativeKernels();
  return k.ok ? { native: true, library: k.kernels.library } : { native: false, reason: k.reason };
}

/**
 * An orthonormal Krylov basis stored row by row in float32 (or float64), with the float64 operations
 * the estimators need: storing a vector (which rounds it — the stored values are then *the* basis
 * vector, so products are taken of exactly what is stored), Gram–Schmidt against the stored rows,
 * and linear combinations V s.
 *
 * Rows live in contiguous blocks (8 rows, then doubling up to 64 MiB per block) so that one native
 * call sweeps a whole block; `rows[i]` is a view of row i inside its block. Popping `rows` drops
 * the last row (its slot is reused by the next push); `clear()` keeps the blocks for reuse.
 */
export class KrylovBasis {
  readonly rows: (Float32Array | Float64Array)[] = [];
  private readonly blocks: BasisBlock[] = [];
  private readonly maxBlockRows: number;
  constructor(
    readonly n: number,
    readonly precision: BasisPrecision = 'float32',
  ) {
    const entryBytes = precision === 'float32' ? 4 : 8;
    this.maxBlockRows = Math.max(MIN_BLOCK_ROWS, Math.floor(BLOCK_BYTES / Math.max(1, n * entryBytes)));
  }

  get length(): number {
    return this.rows.length;
  }

  /** Bytes held by the stored rows. */
  get bytes(): number {
    return this.rows.length * this.n * (this.precision === 'float32' ? 4 : 8);
  }

  /** Bytes allocated for rows (stored or not yet used: at most one partly filled block beyond `bytes`). */
  get reservedBytes(): number {
    let rows = 0;
    for (const b of this.blocks) rows += b.capacity;
    return rows * this.n * (this.precision === 'float32' ? 4 : 8);
  }

  /** Stores v (rounded to the basis precision) and returns the stored values as float64. */
  push(v: Float64Array): Float64Array {
    const i = this.rows.length;
    const block = this.blockOf(i) ?? this.grow();
    const off = (i - block.start) * this.n;
    const row = block.data.subarray(off, off + this.n);
    // set() converts float64 → float32 in bulk (fast path), rounding to nearest as new Float32Array(v).
    row.set(v.length === this.n ? v : v.subarray(0, this.n));
    this.rows.push(row);
    return widen(row);
  }

  /** Row i as float64. */
  get(i: number): Float64Array {
    return widen(this.rows[i]!);
  }

  /** Drops every row (the blocks stay allocated for the next pushes). */
  clear(): void {
    this.rows.length = 0;
  }

  private blockOf(i: number): BasisBlock | undefined {
    for (const b of this.blocks) if (i >= b.start && i < b.start + b.capacity) return b;
    return undefined;
  }

  private grow(): BasisBlock {
    const last = this.blocks[this.blocks.length - 1];
    const start = last === undefined ? 0 : last.start + last.capacity;
    const capacity = Math.min(this.maxBlockRows, last === undefined ? MIN_BLOCK_ROWS : 2 * last.capacity);
    const size = capacity * this.n;
    const block = {
      data: this.precision === 'float32' ? new Float32Array(size) : new Float64Array(size),
      start,
      capacity,
    };
    this.blocks.push(block);
    return block;
  }

  /** Calls f(block, first row within the block, row count, index of the first row) for rows [from, to). */
  private eachBlock(from: number, to: number, f: (b: BasisBlock, first: number, count: number, i0: number) => void): void {
    for (const b of this.blocks) {
      const lo = Math.max(from, b.start);
      const hi = Math.min(to, b.start + b.capacity);
      if (lo < hi) f(b, lo - b.start, hi - lo, lo - from);
    }
  }

  /**
   * One classical Gram–Schmidt sweep of w against rows [from, to): c = V wᵀ, then w ← w − Σ c_i v_i,
   * in place (float64 accumulation). Returns the coefficients c_i = v_iᵀw. Blocked over chunks of w
   * that stay in cache while the rows of a basis block stream past, so w is read twice per block
   * instead of twice per row. Callers repeat the sweep when ‖w‖ drops by more than 1/√2 ("twice is enough", Kahan–Parlett;
   * Giraud et al. 2005), which makes it as stable as modified Gram–Schmidt. Runs in the native
   * library when it loads (krylovBasisKernels), else in JavaScript; both sum in the same order.
   */
  orthogonalize(w: Float64Array, from = 0, to = this.rows.length): Float64Array {
    const count = Math.max(0, to - from);
    const coeff = new Float64Array(count);
    if (count === 0) return coeff;
    const k = basisKernels();
    const n = this.n;
    const t = basisThreadsFromEnv();
    this.eachBlock(from, to, (b, first, rows, i0) => k.basisDots(b.data, first, rows, n, w, coeff, i0, t));
    const minus = coeff.map((c) => -c);
    this.eachBlock(from, to, (b, first, rows, i0) => k.basisAxpy(b.data, first, rows, n, minus, i0, w, t));
    return coeff;
  }

  /** y = Σ_i s_i v_i over the first s.length rows, in float64 (natively when the library loads). */
  combine(s: ArrayLike<number>): Float64Array {
    const y = new Float64Array(this.n);
    if (s.length === 0) return y;
    const k = basisKernels();
    const coeff = Float64Array.from(s);
    const t = basisThreadsFromEnv();
    this.eachBlock(0, s.length, (b, first, rows, i0) => k.basisAxpy(b.data, first, rows, this.n, coeff, i0, y, t));
    return y;
  }
}

/**
 * A float64 copy of a row. An explicit loop: V8's float32 → float64 typed-array constructor and
 * set() take a generic per-element path, 4–8× slower (3 ms vs 0.4 ms for 1e5 entries, measured).
 */
function widen(row: Float32Array | Float64Array): Float64Array {
  const out = new Float64Array(row.length);
  for (let k = 0; k < row.length; k++) out[k] = row[k]!;
  return out;
}

/**
 * Threads for the native Gram–Schmidt sweeps: `SPECPIPE_BASIS_THREADS`, default min(2, cores).
 * Lanczos alternates products and sweeps, so the sweeps have the cores to themselves; two threads
 * measured 24 → 45 GB/s of basis rows on this 2-core machine. Results do not depend on it.
 */
export function basisThreadsFromEnv(): number {
  const raw = process.env.SPECPIPE_BASIS_THREADS;
  if (raw === undefined || raw === '') return Math.min(2, availableParallelism());
  const t = Number(raw);
  if (!Number.isInteger(t) || t < 1)
    throw new SpecpipeError('basis-threads', `SPECPIPE_BASIS_THREADS must be a positive integer, received "${raw}"`);
  return t;
}

/** The C library's basis kernels when it loads, else their JavaScript twins (same summation order). */
function basisKernels(): NativeKernels {
  const k = loadNativeKernels();
  return k.ok ? k.kernels : JS_KERNELS;
}

/** Euclidean norm in float64. */
export function norm2(v: Float64Array): number {
  let s = 0;
  for (let i = 0; i < v.length; i++) s += v[i]! * v[i]!;
  return Math.sqrt(s);
}

/** Dot product in float64. */
export function dot(a: Float64Array, b: Float64Array): number {
  let s = 0;
  for (let i = 0; i < a.length; i++) s += a[i]! * b[i]!;
  return s;
}

/** Kind of random start vector. */
export type StartVectorKind =
  /** Entries ±1 with equal probability (lower variance for traces and spectral weights). */
  | 'rademacher'
  /** Entries standard normal. */
  | 'gaussian';

/** A random vector of length n with entries drawn from `rng` (not normalised). */
export function randomVector(n: number, kind: StartVectorKind, rng: Rng): Float64Array {
  const v = new Float64Array(n);
  if (kind === 'rademacher') for (let i = 0; i < n; i++) v[i] = rng.rademacher();
  else for (let i = 0; i < n; i++) v[i] = rng.normal();
  return v;
}
