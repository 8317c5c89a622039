import type { CurvatureProblem } from './curvatureOperators.js';
import { batchProductsFor, type BatchProducts } from './batchProducts.js';
import { accumulateOverSplit } from './productRequest.js';
import { batches, type Batch } from '../data/batches.js';
import type { ProductRequest } from './productRequestType.js';

/**
 * Runs full-data products (float64 sums over every sample of a split): in this thread
 * (LocalProductEngine) or split into shards of whole batches (ShardedProductEngine,
 * shardedProductEngine.ts), with results equal up to float64 rounding.
 */
export interface ProductEngine {
  readonly size: number;
  readonly samples: number;
  /** Shards in use (0: this thread). */
  readonly workers: number;
  run(request: ProductRequest): Promise<Float64Array[]>;
  /** Batch-level product evaluations so far, over all shards (the matrix-free spy). */
  evaluations(): Promise<number>;
  close(): Promise<void>;
}

export class LocalProductEngine implements ProductEngine {
  readonly size: number;
  readonly samples: number;
  readonly workers = 0;
  readonly #curvature: BatchProducts<unknown>;
  readonly #problem: CurvatureProblem;
  readonly #batches: readonly Batch[];

  constructor(problem: CurvatureProblem, batchSize: number, recordingBudget: number) {
    this.#problem = problem;
    this.#batches = [...batches(problem.data, batchSize)];
    this.#curvature = batchProductsFor(problem.network, problem.params, problem.buffers, problem.loss);
    this.#curvature.keepRecordings(recordingBudget);
    this.size = this.#curvature.size;
    this.samples = problem.data.shape[0];
  }

  async run(request: ProductRequest): Promise<Float64Array[]> {
    const p = this.#problem;
    return accumulateOverSplit(this.#curvature, this.#batches, p.network.spec.classes, request);
  }

  async evaluations(): Promise<number> {
    return this.#curvature.evaluations;
  }

  async close(): Promise<void> {
    this.#curvature.releaseRecordings();
  }
}
