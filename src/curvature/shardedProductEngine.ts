import type { Split } from '../data/dataset.js';
import type { CurvatureProblem } from './curvatureOperators.js';
import type { ProductEngine } from './productEngine.js';
import type { ProductRequest } from './productRequestType.js';
import type { ShardInit } from './productShard.js';
import { flattenToFloat32 } from './flatParameters.js';
import { SpecpipeError } from '../util/errors.js';

/**
 * Data-parallel full-data products over shards of whole batches, written once for every place
 * the shards live (a ShardTransport: worker threads, threadTransport.ts; child processes,
 * processTransport.ts; Redis + BullMQ workers on any machine, src/executor/bullmq/productShards.ts,
 * handed in by the caller):
 *
 *   Σ_{i=1..N} f_i  =  Σ_{k=0..S−1} ( Σ_{i ∈ shard k} f_i ),
 *
 * batches are fixed globally (samples [bB, (b+1)B)), shard k holds batches
 * [⌊k·nb/S⌋, ⌊(k+1)·nb/S⌋) (nb = ⌈N/B⌉), computes its partial float64 sum batch by batch in
 * order, and the requester adds the partials in shard order k = 0, 1, … (never in arrival
 * order). Each batch's float32 result is therefore identical for every S and every transport;
 * totals differ only by the float64 rounding of the regrouped sums.
 */

/** One shard as a transport starts it. */
export interface ShardPlan {
  /** 0-based shard index k. */
  readonly index: number;
  /** Shards in all (S). */
  readonly count: number;
  /** Its samples [start, end) of the split. */
  readonly range: readonly [number, number];
  readonly init: ShardInit;
}

/** Where the shards run: starts them and carries requests to them and answers back. */
export interface ShardTransport {
  /** Loads every shard (rejecting with the reason one could not load). */
  open(shards: readonly ShardPlan[], options: { readonly productTimeoutMs?: number }): Promise<ShardConnection>;
}

export interface ShardConnection {
  /** `requests[k]` answered by shard k, for every k, in shard order; rejects with an error naming a failed shard. */
  answer(requests: readonly ProductRequest[]): Promise<Float64Array[][]>;
  /** Batch-level product evaluations so far, over all shards (the matrix-free spy). */
  evaluations(): Promise<number>;
  /** Ends the shards; idempotent. */
  close(): Promise<void>;
  /** Process ids of the shards when they are processes on this machine. */
  readonly pids?: readonly number[];
}

/** Sample range [start, end) of each shard: `count` shards of whole batches (fewer when there are fewer batches). */
export function batchShardRanges(samples: number, batchSize: number, count: number, what = 'shards'): [number, number][] {
  if (!Number.isInteger(count) || count < 1) {
    throw new SpecpipeError('shards', `curvature ${what} must be an integer ≥ 1, received ${count}`);
  }
  const nb = Math.ceil(samples / batchSize);
  const s = Math.max(1, Math.min(count, nb));
  const ranges: [number, number][] = [];
  for (let k = 0; k < s; k++) {
    const start = Math.min(samples, Math.floor((k * nb) / s) * batchSize);
    const end = Math.min(samples, Math.floor(((k + 1) * nb) / s) * batchSize);
    ranges.push([start, end]);
  }
  return ranges;
}

/** The samples [start, end) of `data` (a copy, so it can be transferred or written alone). */
export function shardOfSplit(data: Split, [start, end]: readonly [number, number]): Split {
  const [, c, h, w] = data.shape;
  const d = c * h * w;
  return {
    images: data.images.slice(start * d, end * d),
    shape: [end - start, c, h, w],
    labels: data.labels.slice(start, end),
  };
}

/** The request a shard answers: per-sample cotangents are cut to the shard's rows; everything else is shared. */
export function shardRequest(request: ProductRequest, [start, end]: readonly [number, number], classes: number): ProductRequest {
  return request.kind === 'cotangents'
    ? { kind: 'cotangents', cotangents: request.cotangents.map((u) => u.slice(start * classes, end * classes)) }
    : request;
}

/**
 * The full-data answer from the shards' answers (`parts[k]` answers shard k): per-sample logits
 * are placed at their rows; sums are added in shard order 0, 1, … into fresh float64 arrays.
 */
export function combineShardAnswers(
  request: ProductRequest,
  parts: readonly (readonly Float64Array[])[],
  ranges: readonly (readonly [number, number])[],
  samples: number,
  classes: number,
): Float64Array[] {
  if (request.kind === 'logits') {
    const out = new Float64Array(samples * classes);
    parts.forEach((p, k) => out.set(p[0]!, ranges[k]![0] * classes));
    return [out];
  }
  const total = parts[0]!.map((a) => Float64Array.from(a));
  for (let k = 1; k < parts.length; k++) {
    parts[k]!.forEach((a, j) => {
      const t = total[j]!;
      for (let i = 0; i < a.length; i++) t[i]! += a[i]!;
    });
  }
  return total;
}

/** Words for a request in error messages ("a hessian product"). */
export function describeRequest(request: ProductRequest | { kind: 'evaluations' }): string {
  return request.kind === 'evaluations'
    ? 'an evaluation count'
    : request.kind === 'logits'
      ? 'the logits'
      : `a ${request.kind} product`;
}

/** How the shards of one problem are set up (the execution side of Curvature.open). */
export interface ShardSetup {
  readonly shards: number;
  readonly batchSize: number;
  readonly recordingBudget: number;
  readonly builder: ShardInit['builder'];
  readonly backend: ShardInit['backend'];
  readonly productTimeoutMs?: number;
  /** Names the shard count in the error for a bad one ("workers", "shards (processes)"). */
  readonly what?: string;
}

/** Full-data products split into shards that a ShardTransport runs; the split and the combination live here only. */
export class ShardedProductEngine implements ProductEngine {
  readonly size: number;
  readonly samples: number;
  /** Shards in use. */
  readonly workers: number;
  readonly #connection: ShardConnection;
  readonly #ranges: readonly [number, number][];
  readonly #classes: number;

  private constructor(connection: ShardConnection, ranges: [number, number][], size: number, samples: number, classes: number) {
    this.#connection = connection;
    this.#ranges = ranges;
    this.size = size;
    this.samples = samples;
    this.workers = ranges.length;
    this.#classes = classes;
  }

  /** Splits `problem` into shards of whole batches and has `transport` load them. */
  static async open(problem: CurvatureProblem, setup: ShardSetup, transport: ShardTransport): Promise<ShardedProductEngine> {
    const n = problem.data.shape[0];
    const ranges = batchShardRanges(n, setup.batchSize, setup.shards, setup.what);
    const params = flattenToFloat32(problem.params);
    const buffers = problem.buffers.map((b) => b.dataSync().slice() as Float32Array);
    const plans: ShardPlan[] = ranges.map((range, index) => ({
      index,
      count: ranges.length,
      range,
      init: {
        builder: setup.builder,
        spec: problem.network.spec,
        params,
        buffers,
        data: shardOfSplit(problem.data, range),
        loss: problem.loss,
        batchSize: setup.batchSize,
        recordingBudget: setup.recordingBudget,
        backend: setup.backend,
      },
    }));
    const connection = await transport.open(plans, {
      ...(setup.productTimeoutMs !== undefined && { productTimeoutMs: setup.productTimeoutMs }),
    });
    return new ShardedProductEngine(connection, ranges, params.length, n, problem.network.spec.classes);
  }

  /** Process ids of the shards when they are processes on this machine (else empty). */
  get pids(): number[] {
    return [...(this.#connection.pids ?? [])];
  }

  async run(request: ProductRequest): Promise<Float64Array[]> {
    const parts = await this.#connection.answer(this.#ranges.map((r) => shardRequest(request, r, this.#classes)));
    return combineShardAnswers(request, parts, this.#ranges, this.samples, this.#classes);
  }

  evaluations(): Promise<number> {
    return this.#connection.evaluations();
  }

  close(): Promise<void> {
    return this.#connection.close();
  }
}
