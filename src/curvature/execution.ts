import type { BackendChoice } from '../backend/backend.js';
import type { CurvatureProblem } from './curvatureOperators.js';
import { LocalProductEngine, type ProductEngine } from './productEngine.js';
import { ShardedProductEngine, type ShardTransport } from './shardedProductEngine.js';
import { threadTransport } from './threadTransport.js';
import { processTransport } from './processTransport.js';
import { defaultNetworkBuilder, type NetworkBuilderRef } from './networkBuilder.js';
import { SpecpipeError } from '../util/errors.js';

/**
 * How a curvature problem's products are computed — nothing here changes the maths (the
 * CurvatureProblem), and shard layouts change results only by float64 rounding (≤ 1e-12
 * relative, test/curvature/dataParallel.test.ts, processEngine.test.ts,
 * test/distributed/productShards.test.ts). Where the products run, first match wins:
 * `shards` (a caller-given transport, e.g. Redis), `processes`, `workers`, else this thread.
 */
export interface ExecutionOptions {
  /**
   * Samples per batch of every product (default 256). Memory: one batch of activations and their
   * second-order tape. Each batch's product is a float32 sum, so this is the one option that moves
   * results at float32 rounding.
   */
  readonly batchSize?: number;
  /**
   * Most vectors one block product takes (default 8): an operator's concurrent matvecs (SLQ's
   * start vectors in lockstep) are answered in blocks of at most this many, sharing each batch's
   * forward pass. Memory: one float64 sum of length P per vector of a block.
   */
  readonly maxBlock?: number;
  /**
   * Bytes of recorded passes kept per product engine or shard (default 1 GiB): each batch's
   * forward and first backward pass is recorded once per session and reused by every later product
   * on that batch while it fits (recordingCache.ts); batches past the budget are recorded per
   * product. 0 keeps none. Changes only time and memory, never a result.
   */
  readonly recordingBudget?: number;
  /** Worker threads to split each product over (0 or absent: this thread). */
  readonly workers?: number;
  /**
   * Shard processes on this machine to split each product over (child_process.fork; 0 or absent:
   * none). Takes precedence over `workers`.
   */
  readonly processes?: number;
  /**
   * Shards served by a transport the caller supplies, e.g. Redis + BullMQ product-shard workers on
   * any machine (`redisShardTransport` of src/executor/bullmq/productShards.ts; `specpipe worker`
   * runs one). Takes precedence over `processes` and `workers`.
   */
  readonly shards?: { readonly transport: ShardTransport; readonly count: number };
  /** With `processes` or `shards`: longest wait for one product's shard answers, in ms (processes: no limit; redis: 10 min). */
  readonly productTimeoutMs?: number;
  /** Backend each shard starts (default 'auto'). */
  readonly backend?: BackendChoice;
  /** How shards rebuild the network (default: buildNetwork(network.spec) from src/nn/build.ts). */
  readonly builder?: NetworkBuilderRef;
}

/** Default samples per batch of curvature products (CLI, stages and library). */
export const DEFAULT_PRODUCT_BATCH = 256;
export const DEFAULT_MAX_BLOCK = 8;
/**
 * Default bytes of recorded passes a product engine (or each shard) keeps: 1 GiB. A record holds
 * ≈ 1.5 MiB per image for VGG11 width 1/8 at batch 256 (both batches of 512 images fit; at 512 MiB one).
 */
export const DEFAULT_RECORDING_BUDGET = 2 ** 30;

/** The keys that moved from CurvatureProblem to ExecutionOptions (a problem still holding one is refused). */
const EXECUTION_KEYS = [
  'batchSize',
  'maxBlock',
  'recordingBudget',
  'workers',
  'processes',
  'redis',
  'productTimeoutMs',
  'backend',
  'builder',
];

export function validateExecution(problem: CurvatureProblem, e: ExecutionOptions): void {
  const stray = EXECUTION_KEYS.find((k) => k in problem);
  if (stray !== undefined) {
    throw new SpecpipeError(
      'problem-execution',
      `curvature problem: "${stray}" is an execution option, not part of the problem; pass it as Curvature.open(problem, { ${stray === 'redis' ? 'shards' : stray}: … })`,
    );
  }
  if (e.maxBlock !== undefined && (!Number.isInteger(e.maxBlock) || e.maxBlock < 1)) {
    throw new SpecpipeError('max-block', `curvature maxBlock must be an integer ≥ 1, received ${e.maxBlock}`);
  }
  if (e.recordingBudget !== undefined && !(Number.isFinite(e.recordingBudget) && e.recordingBudget >= 0)) {
    throw new SpecpipeError(
      'recording-budget',
      `curvature recordingBudget must be a number of bytes ≥ 0, received ${e.recordingBudget}`,
    );
  }
  const b = e.batchSize ?? DEFAULT_PRODUCT_BATCH;
  if (!Number.isInteger(b) || b < 1) {
    throw new SpecpipeError('batch-size', `curvature batch size must be an integer ≥ 1, received ${b}`);
  }
}

/** The product engine the execution options ask for: a caller's transport, shard processes, worker threads, or this thread. */
export async function openProductEngine(problem: CurvatureProblem, e: ExecutionOptions): Promise<ProductEngine> {
  const batchSize = e.batchSize ?? DEFAULT_PRODUCT_BATCH;
  const recordingBudget = e.recordingBudget ?? DEFAULT_RECORDING_BUDGET;
  const setup = {
    batchSize,
    recordingBudget,
    builder: e.builder ?? defaultNetworkBuilder(),
    backend: e.backend ?? 'auto',
    ...(e.productTimeoutMs !== undefined && { productTimeoutMs: e.productTimeoutMs }),
  };
  if (e.shards !== undefined) return ShardedProductEngine.open(problem, { ...setup, shards: e.shards.count }, e.shards.transport);
  if ((e.processes ?? 0) > 0) {
    return ShardedProductEngine.open(problem, { ...setup, shards: e.processes!, what: 'shards (processes)' }, processTransport());
  }
  if ((e.workers ?? 0) > 0) {
    return ShardedProductEngine.open(problem, { ...setup, shards: e.workers!, what: 'workers' }, threadTransport);
  }
  return new LocalProductEngine(problem, batchSize, recordingBudget);
}
