import type * as tf from '@tensorflow/tfjs-core';
import type { LinearOperator } from '../linalg/operator.js';
import type { Network } from '../nn/network.js';
import type { LossKind } from '../nn/loss.js';
import type { Split } from '../data/dataset.js';
import type { BackendChoice } from '../backend/backend.js';
import { LocalProductEngine, WorkerProductEngine, type ProductEngine } from './productEngine.js';
import type { ProductRequest } from './productRequest.js';
import { ProcessProductEngine } from './processProductEngine.js';
import { defaultNetworkBuilder, type NetworkBuilderRef } from './networkBuilder.js';
import { SpecpipeError } from '../util/errors.js';
import { coalescedMatvec } from '../linalg/blockMatvec.js';

/**
 * Matrix-free curvature of the average loss over a data split (math.md §1–2):
 *   Hess = (1/N) Σ_i ∂²ℓ_i/∂θ²,  G = (1/N) Σ_i J_iᵀ Q_i J_i,  H = Hess − G.
 * Products are computed in float32 tfjs per batch and accumulated in float64 over the whole
 * split, batch by batch in split order; the network runs in eval mode (BatchNorm running
 * statistics, Dropout off).
 */
export interface CurvatureProblem {
  readonly network: Network;
  /** Parameter tensors in `network.params` order (θ). */
  readonly params: readonly tf.Tensor[];
  /** Buffers in `network.buffers` order (BatchNorm running statistics). */
  readonly buffers: readonly tf.Tensor[];
  /** The samples to average over (any subset of train or test), already preprocessed. */
  readonly data: Split;
  readonly loss: LossKind;
  /** Samples per batch (memory: one batch of activations and their second-order tape). */
  readonly batchSize: number;
  /** Worker threads to split each product over (0 or absent: this thread). */
  readonly workers?: number;
  /**
   * Shard processes on this machine to split each product over (child_process.fork; 0 or absent:
   * none). Takes precedence over `workers`. Same contract and results as the thread split.
   */
  readonly processes?: number;
  /**
   * Shards served over Redis + BullMQ by product-shard workers on any machine
   * (src/executor/bullmq/productShards.ts; `specpipe worker` runs one). Takes precedence over
   * `processes` and `workers`.
   */
  readonly redis?: { readonly url: string; readonly shards: number; readonly queue?: string };
  /** With `processes` or `redis`: longest wait for one product's shard answers, in ms (processes: no limit; redis: 10 min). */
  readonly productTimeoutMs?: number;
  /** Backend each worker starts (default 'auto'). */
  readonly backend?: BackendChoice;
  /**
   * Most vectors one block product takes (default 8): an operator's concurrent matvecs (SLQ's
   * start vectors in lockstep) are answered in blocks of at most this many, sharing each batch's
   * forward pass. Memory: one float64 sum of length P per vector of a block.
   */
  readonly maxBlock?: number;
  /** How workers rebuild the network (default: buildNetwork(network.spec) from src/nn/build.ts). */
  readonly builder?: NetworkBuilderRef;
}

const DEFAULT_MAX_BLOCK = 8;

export type CurvatureKind =
  /** Hess = (1/N) Σ_i ∂²ℓ_i/∂θ² (reverse-over-reverse). */
  | 'hessian'
  /** G = (1/N) Σ_i J_iᵀ Q_i J_i (Gauss–Newton, PSD). */
  | 'ggn'
  /** H = Hess − G = (1/N) Σ_i Σ_c r_ic ∇²z_ic, r_i = ∂ℓ_i/∂z_i (residual, indefinite). */
  | 'residual';

export const CURVATURE_KINDS: readonly CurvatureKind[] = ['hessian', 'ggn', 'residual'];

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
 * An open curvature session over one problem: owns the product engine (in-process or worker
 * threads) and hands out the operators and building blocks, all sharing it.
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

  static async open(problem: CurvatureProblem): Promise<Curvature> {
    validateProblem(problem);
    return new Curvature(await openEngine(problem), problem.network.spec.classes, problem.maxBlock ?? DEFAULT_MAX_BLOCK);
  }

  /** Process ids of the shard processes (`processes`); empty for threads or in-process. */
  get processIds(): number[] {
    return this.#engine instanceof ProcessProductEngine ? this.#engine.pids : [];
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

  /** Hess v_k for a block of vectors: each batch's forward and first backward pass is shared by the block. */
  async hessianVectors(vs: readonly Float64Array[]): Promise<Float64Array[]> {
    return this.#mean({ kind: 'hessian', vectors: this.#vectors(vs, 'hessian matvec') });
  }

  /** G v_k for a block of vectors: each batch's forward pass is shared by the block. */
  async ggnVectors(vs: readonly Float64Array[]): Promise<Float64Array[]> {
    return this.#mean({ kind: 'ggn', vectors: this.#vectors(vs, 'ggn matvec') });
  }

  /** H v_k = (Hess − G) v_k for a block of vectors, directly: (1/N) Σ_i Σ_c r_ic ∇²z_ic v_k (as costly as Hess v). */
  async residualVectors(vs: readonly Float64Array[]): Promise<Float64Array[]> {
    return this.#mean({ kind: 'residual', vectors: this.#vectors(vs, 'residual matvec') });
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
    if (!CURVATURE_KINDS.includes(kind)) {
      throw new SpecpipeError(
        'operator-kind',
        `curvature operator must be one of ${CURVATURE_KINDS.join('|')}, received "${String(kind)}"`,
      );
    }
    let products = 0;
    const matmat = async (vs: readonly Float64Array[]): Promise<Float64Array[]> => {
      products += vs.length;
      if (kind === 'hessian') return this.hessianVectors(vs);
      if (kind === 'ggn') return this.ggnVectors(vs);
      return this.residualVectors(vs);
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

/** Hess as an operator (opens its own session; `close()` it when done). */
export async function hessianOperator(problem: CurvatureProblem): Promise<CurvatureOperator> {
  return (await Curvature.open(problem)).operator('hessian');
}

/** G as an operator (opens its own session; `close()` it when done). */
export async function ggnOperator(problem: CurvatureProblem): Promise<CurvatureOperator> {
  return (await Curvature.open(problem)).operator('ggn');
}

/** H = Hess − G as an operator, Σ_i Σ_c r_ic ∇²z_ic directly (opens its own session). */
export async function residualOperator(problem: CurvatureProblem): Promise<CurvatureOperator> {
  return (await Curvature.open(problem)).operator('residual');
}

/** The product engine a problem asks for: Redis shards, shard processes, worker threads, or this thread. */
async function openEngine(problem: CurvatureProblem): Promise<ProductEngine> {
  const builder = problem.builder ?? defaultNetworkBuilder();
  const backend = problem.backend ?? 'auto';
  if (problem.redis !== undefined) return openRedisEngine(problem, problem.redis);
  if ((problem.processes ?? 0) > 0) {
    return ProcessProductEngine.start(problem, {
      processes: problem.processes!,
      builder,
      backend,
      ...(problem.productTimeoutMs !== undefined && { productTimeoutMs: problem.productTimeoutMs }),
    });
  }
  const workers = problem.workers ?? 0;
  return workers > 0 ? WorkerProductEngine.start(problem, workers, builder, backend) : new LocalProductEngine(problem);
}

async function openRedisEngine(problem: CurvatureProblem, redis: NonNullable<CurvatureProblem['redis']>): Promise<ProductEngine> {
  // bullmq and ioredis load only here.
  const { RedisProductEngine } = await import('../executor/bullmq/productShards.js');
  const { parseRedisUrl } = await import('../executor/bullmq/redisConnection.js');
  return RedisProductEngine.start(problem, {
    redis: parseRedisUrl(redis.url, 'redis.url'),
    shards: redis.shards,
    builder: problem.builder ?? defaultNetworkBuilder(),
    backend: problem.backend ?? 'auto',
    ...(redis.queue !== undefined && { queueName: redis.queue }),
    ...(problem.productTimeoutMs !== undefined && { productTimeoutMs: problem.productTimeoutMs }),
  });
}

function validateProblem(p: CurvatureProblem): void {
  if (p.maxBlock !== undefined && (!Number.isInteger(p.maxBlock) || p.maxBlock < 1)) {
    throw new SpecpipeError('max-block', `curvature maxBlock must be an integer ≥ 1, received ${p.maxBlock}`);
  }
  if (!Number.isInteger(p.batchSize) || p.batchSize < 1) {
    throw new SpecpipeError('batch-size', `curvature batch size must be an integer ≥ 1, received ${p.batchSize}`);
  }
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
