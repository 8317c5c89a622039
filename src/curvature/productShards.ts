import type { Split } from '../data/dataset.js';
import type { ProductRequest } from './productRequest.js';
import { SpecpipeError } from '../util/errors.js';

/**
 * Data-parallel full-data products over shards of whole batches — the contract shared by the
 * worker-thread split (productEngine.ts), the process split (processProductEngine.ts) and the
 * Redis split (src/executor/bullmq/productShards.ts):
 *
 *   Σ_{i=1..N} f_i  =  Σ_{k=0..S−1} ( Σ_{i ∈ shard k} f_i ),
 *
 * batches are fixed globally (samples [bB, (b+1)B)), shard k holds batches
 * [⌊k·nb/S⌋, ⌊(k+1)·nb/S⌋) (nb = ⌈N/B⌉), computes its partial float64 sum batch by batch in
 * order, and the requester adds the partials in shard order k = 0, 1, … (never in arrival
 * order). Each batch's float32 result is therefore identical for every S; totals differ only by
 * the float64 rounding of the regrouped sums.
 */

/** Sample range [start, end) of each shard: `count` shards of whole batches (fewer when there are fewer batches). */
export function batchShardRanges(samples: number, batchSize: number, count: number): [number, number][] {
  if (!Number.isInteger(count) || count < 1) {
    throw new SpecpipeError('shards', `curvature shards (processes) must be an integer ≥ 1, received ${count}`);
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
