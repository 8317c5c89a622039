import * as tf from '@tensorflow/tfjs-core';
import type { Split } from '../data/dataset.js';
import { batches } from '../data/batches.js';
import type { BatchCurvature } from './batchCurvature.js';
import { unflattenParameters } from './flatParameters.js';

/**
 * One full-data product, as a message (plain typed arrays, so it crosses worker_threads).
 * Every answer is a list of float64 SUMS over the samples the engine holds (not means).
 */
export type ProductRequest =
  /** [Σ_i ∇ℓ_i] */
  | { readonly kind: 'gradient' }
  /** [Σ_i ∂²ℓ_i/∂θ² v] */
  | { readonly kind: 'hessian'; readonly v: Float32Array }
  /** [Σ_i J_iᵀQ_iJ_i v] */
  | { readonly kind: 'ggn'; readonly v: Float32Array }
  /** [Σ_i ∂²ℓ_i/∂θ² v, Σ_i J_iᵀQ_iJ_i v] from one pass */
  | { readonly kind: 'hessian+ggn'; readonly v: Float32Array }
  /** [Σ_i J_iᵀ u_i1, …, Σ_i J_iᵀ u_iK]; cotangents[k] is row-major [N, C] over the engine's samples */
  | { readonly kind: 'cotangents'; readonly cotangents: readonly Float32Array[] }
  /** [z] row-major [N, C] (one entry, values not sums) */
  | { readonly kind: 'logits' };

/** Answers `request` over every sample of `split`, batch by batch in split order, accumulating in float64. */
export function accumulateOverSplit(
  curvature: BatchCurvature,
  paramShapes: readonly { readonly shape: readonly number[] }[],
  split: Split,
  batchSize: number,
  classes: number,
  request: ProductRequest,
): Float64Array[] {
  const n = split.shape[0];
  if (request.kind === 'logits') {
    const out = new Float64Array(n * classes);
    for (const b of batches(split, batchSize)) out.set(curvature.logits(b), b.start * classes);
    return [out];
  }
  const count = request.kind === 'hessian+ggn' ? 2 : request.kind === 'cotangents' ? request.cotangents.length : 1;
  const sums = Array.from({ length: count }, () => new Float64Array(curvature.size));
  const add = (k: number, part: Float32Array): void => {
    const s = sums[k]!;
    for (let i = 0; i < part.length; i++) s[i]! += part[i]!;
  };
  const v = 'v' in request ? unflattenParameters(request.v, paramShapes) : [];
  try {
    for (const b of batches(split, batchSize)) {
      switch (request.kind) {
        case 'gradient':
          add(0, curvature.gradientSum(b));
          break;
        case 'hessian':
          add(0, curvature.hessianVectorSum(b, v));
          break;
        case 'ggn':
          add(0, curvature.ggnVectorSum(b, v));
          break;
        case 'hessian+ggn': {
          const r = curvature.hessianAndGgnVectorSum(b, v);
          add(0, r.hessian);
          add(1, r.ggn);
          break;
        }
        case 'cotangents': {
          const rows = b.labels.length * classes;
          const parts = curvature.cotangentProductSums(
            b,
            request.cotangents.map((u) => u.subarray(b.start * classes, b.start * classes + rows)),
          );
          parts.forEach((p, k) => add(k, p));
          break;
        }
      }
    }
  } finally {
    tf.dispose(v);
  }
  return sums;
}
