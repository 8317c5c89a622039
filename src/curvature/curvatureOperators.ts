import type { LinearOperator } from '../linalg/operator.js';
import type { Network } from '../nn/network.js';
import type { LossKind } from '../nn/loss.js';
import type { Split } from '../data/dataset.js';
import type { ProductEngine } from './productEngine.js';
import type { ProductRequest } from './productRequestType.js';
import { ShardedProductEngine } from './shardedProductEngine.js';
import { DEFAULT_MAX_BLOCK, openProductEngine, validateExecution, type ExecutionOptions } from './execution.js';
import { CURVATURE_OPERATORS, isCurvatureKind, type CurvatureKind } from './operatorKind.js';
import { SpecpipeError } from '../util/errors.js';
import { coalescedMatvec } from '../linalg/blockMatvec.js';
import type { Tensor } from '../nn/tensor.js';

export type { CurvatureKind } from './operatorKind.js';

/**
 * Matrix-free curvature of the average loss over a data split (math.md §1–2):
 *   Hess = (1/N) Σ_i ∂²ℓ_i/∂θ²,  G = (1/N) Σ_i J_iᵀ Q_i J_i,  H = Hess − G.
 * Products are computed in float32 tfjs per batch and accumulated in float64 over the whole
 * split, batch by batch in split order; the network runs in eval mode (BatchNorm running
 * statistics, Dropout off). Only the maths: where and how the products run is ExecutionOptions
 * (execution.ts), given to Curvature.open beside it.
 */
export interface CurvatureProblem {
  readonly network: Network;
  /** Parameter tensors in `network.params` order (θ). */
  readonly params: readonly Tensor[];
  /** Buffers in `network.buffers` order (BatchNorm running statistics). */
  readonly buffers: readonly Tensor[];
  /** The samples to average over (any subset of train or test), already preprocessed. */
  readonly data: Split;
  readonly loss: LossKind;
}

/** A curvature operator on R^P; `close()` stops its workers (a no-op in-process). */
export interface CurvatureOperator extends LinearOperator {
  readonly kind: CurvatureKind;
  /** Number of full-data products computed (one per vector). */
  readonly products: number;
  /** A v_k for a block of vectors, sharing each batch's forward pass (matvec coalesces concurrent calls into such blocks). */
  matmat(vs: readonly Float64Array[]): Promise<Float64Array[]>;
  /** Batch-level tfjs product evaluations so far (the spy proving the matrix-free path ran). */
  batchEvaluations(): Promise<number>;
  close(): Promise<void>;
}

/**
 * An open curvature session over one problem: owns the product engine (this thread, or shards
 * over a transport, as the ExecutionOptions say) and hands out the operators and building
 * blocks, all sharing it.
 */
export class Curvature {
  readonly size: number;
  readonly samples: number;
  readonly classes: number;
  readonly #engine: ProductEngine;
  readonly #maxBlock: number;

  private constructor(engine: ProductEngine, classes: number, maxBlock: number) {
    this.#engine = engine;
    this.#maxBlock = maxBlock;
    this.size = engine.size;
    this.samples = engine.samples;
    this.classes = classes;
  }

  /** Opens a session over `problem`, its products computed as `execution` says (default: this thread, batches of 256). */
  static async open(problem: CurvatureProblem, execution: ExecutionOptions = {}): Promise<Curvature> {
    validateExecution(problem, execution);
    validateProblem(problem);
    const engine = await openProductEngine(problem, execution);
    return new Curvature(engine, problem.network.spec.classes, execution.maxBlock ?? DEFAULT_MAX_BLOCK);
  }

  /** Process ids of the shard processes (`processes`); empty for threads or in-process. */
  get processIds(): number[] {
    return this.#engine instanceof ShardedProductEngine ? this.#engine.pids : [];
  }

  /** Worker threads or shard processes in use (0: this thread). */
  get workers(): number {
    return this.#engine.workers;
  }

  async #mean(request: ProductRequest): Promise<Float64Array[]> {
    const sums = await this.#engine.run(request);
    const inv = 1 / this.samples;
    for (const s of sums) for (let i = 0; i < s.length; i++) s[i]! *= inv;
    return sums;
  }

  #vectors(vs: readonly Float64Array[], who: string): Float32Array[] {
    return vs.map((v) => {
      if (v.length !== this.size) {
        throw new SpecpipeError('vector-length', `${who}: vector must have length P = ${this.size}, received length ${v.length}`);
      }
      return Float32Array.from(v);
    });
  }

  /** Hess v = (1/N) Σ_i ∂²ℓ_i/∂θ² v. */
  async hessianVector(v: Float64Array): Promise<Float64Array> {
    return (await this.hessianVectors([v]))[0]!;
  }

  /** G v = (1/N) Σ_i J_iᵀ Q_i J_i v. */
  async ggnVector(v: Float64Array): Promise<Float64Array> {
    return (await this.ggnVectors([v]))[0]!;
  }

  /** Hess v and G v from one pass per batch (H v = Hess v − G v). */
  async hessianAndGgnVector(v: Float64Array): Promise<{ hessian: Float64Array; ggn: Float64Array }> {
    const r = await this.hessianAndGgnVectors([v]);
    return { hessian: r.hessian[0]!, ggn: r.ggn[0]! };
  }

  /** A v_k for the operator A of `kind` and a block of vectors, each batch's forward pass shared by the block. */
  async products(kind: CurvatureKind, vs: readonly Float64Array[]): Promise<Float64Array[]> {
    return this.#mean({ kind, vectors: this.#vectors(vs, `${kind} matvec`) });
  }

  /** Hess v_k for a block of vectors: each batch's forward and first backward pass is shared by the block. */
  hessianVectors(vs: readonly Float64Array[]): Promise<Float64Array[]> {
    return this.products('hessian', vs);
  }

  /** G v_k for a block of vectors: each batch's forward pass is shared by the block. */
  ggnVectors(vs: readonly Float64Array[]): Promise<Float64Array[]> {
    return this.products('ggn', vs);
  }

  /** H v_k = (Hess − G) v_k for a block of vectors, directly: (1/N) Σ_i Σ_c r_ic ∇²z_ic v_k (as costly as Hess v). */
  residualVectors(vs: readonly Float64Array[]): Promise<Float64Array[]> {
    return this.products('residual', vs);
  }

  /** Hess v_k and G v_k for a block of vectors, from one pass per batch. */
  async hessianAndGgnVectors(vs: readonly Float64Array[]): Promise<{ hessian: Float64Array[]; ggn: Float64Array[] }> {
    const all = await this.#mean({ kind: 'hessian+ggn', vectors: this.#vectors(vs, 'residual matvec') });
    return { hessian: all.slice(0, vs.length), ggn: all.slice(vs.length) };
  }

  /** ∇L = (1/N) Σ_i ∇_θ ℓ_i over the whole split. */
  async fullGradient(): Promise<Float64Array> {
    return (await this.#mean({ kind: 'gradient' }))[0]!;
  }

  /** Logits z_i, row-major [N, C], in split order. */
  async perSampleLogits(): Promise<Float64Array> {
    return (await this.#engine.run({ kind: 'logits' }))[0]!;
  }

  /** Softmax probabilities p_i, row-major [N, C] (computed in float64 from the logits). */
  async perSampleProbabilities(): Promise<Float64Array> {
    const z = await this.perSampleLogits();
    const c = this.classes;
    for (let i = 0; i < this.samples; i++) {
      let m = -Infinity;
      for (let k = 0; k < c; k++) m = Math.max(m, z[i * c + k]!);
      let s = 0;
      for (let k = 0; k < c; k++) s += z[i * c + k] = Math.exp(z[i * c + k]! - m);
      for (let k = 0; k < c; k++) z[i * c + k]! /= s;
    }
    return z;
  }

  /**
   * Σ_i J_iᵀ u_ik for each of K caller-given cotangent sets (cotangents[k] row-major [N, C],
   * per-sample logit cotangents; fold any weights w_i into u_ik). NOT divided by N.
   * math.md §3 uses it with u_i = p_ic'(p_i − e_c') to get P_cc' g_cc'.
   */
  async weightedCotangentProduct(cotangents: readonly ArrayLike<number>[]): Promise<Float64Array[]> {
    const rows = this.samples * this.classes;
    cotangents.forEach((u, k) => {
      if (u.length !== rows) {
        throw new SpecpipeError(
          'cotangent-length',
          `weightedCotangentProduct: cotangents[${k}] must have N·C = ${this.samples}·${this.classes} = ${rows} entries, received ${u.length}`,
        );
      }
    });
    if (cotangents.length === 0) return [];
    return this.#engine.run({ kind: 'cotangents', cotangents: cotangents.map((u) => Float32Array.from(u)) });
  }

  /** The curvature of the given kind as a LinearOperator on R^P (symmetric). */
  operator(kind: CurvatureKind, name?: string): CurvatureOperator {
    if (!isCurvatureKind(kind)) {
      throw new SpecpipeError(
        'operator-kind',
        `curvature operator must be one of ${CURVATURE_OPERATORS.join('|')}, received "${String(kind)}"`,
      );
    }
    let products = 0;
    const matmat = async (vs: readonly Float64Array[]): Promise<Float64Array[]> => {
      products += vs.length;
      return this.products(kind, vs);
    };
    // Concurrent matvecs (SLQ's start vectors in lockstep) share each batch's forward pass.
    const coalesced = coalescedMatvec(matmat, this.#maxBlock);
    const matvec = async (v: Float64Array): Promise<Float64Array> => {
      this.#vectors([v], `${kind} matvec`); // a wrong length fails the caller now, not the whole block
      return coalesced(v);
    };
    const engine = this.#engine;
    return {
      kind,
      size: this.size,
      symmetric: true,
      name: name ?? kind,
      get products() {
        return products;
      },
      matvec,
      matmat,
      batchEvaluations: () => engine.evaluations(),
      close: () => engine.close(),
    };
  }

  /** Stops the worker threads (no-op in-process). */
  close(): Promise<void> {
    return this.#engine.close();
  }
}

/** The curvature of the given kind as an operator (opens its own session; `close()` it when done). */
export async function curvatureOperator(
  kind: CurvatureKind,
  problem: CurvatureProblem,
  execution?: ExecutionOptions,
): Promise<CurvatureOperator> {
  return (await Curvature.open(problem, execution)).operator(kind);
}

/** Hess as an operator (opens its own session; `close()` it when done). */
export const hessianOperator = (problem: CurvatureProblem, execution?: ExecutionOptions): Promise<CurvatureOperator> =>
  curvatureOperator('hessian', problem, execution);

/** G as an operator (opens its own session; `close()` it when done). */
export const ggnOperator = (problem: CurvatureProblem, execution?: ExecutionOptions): Promise<CurvatureOperator> =>
  curvatureOperator('ggn', problem, execution);

/** H = Hess − G as an operator, Σ_i Σ_c r_ic ∇²z_ic directly (opens its own session). */
export const residualOperator = (problem: CurvatureProblem, execution?: ExecutionOptions): Promise<CurvatureOperator> =>
  curvatureOperator('residual', problem, execution);

function validateProblem(p: CurvatureProblem): void {
  if (p.data.shape[0] < 1)
    throw new SpecpipeError('empty-split', 'curvature operators need at least one sample, received an empty split');
  if (p.params.length !== p.network.params.length) {
    throw new SpecpipeError(
      'params',
      `expected ${p.network.params.length} parameter tensors (network.params), received ${p.params.length}`,
    );
  }
  if (p.buffers.length !== p.network.buffers.length) {
    throw new SpecpipeError(
      'buffers',
      `expected ${p.network.buffers.length} buffer tensors (network.buffers), received ${p.buffers.length}`,
    );
  }
  if (p.loss !== 'cross-entropy' && p.loss !== 'mse') {
    throw new SpecpipeError('loss', `loss must be cross-entropy|mse, received "${String(p.loss)}"`);
  }
}
