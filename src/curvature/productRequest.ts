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
  /** [Σ_i ∂²ℓ_i/∂θ² v_1, …, Σ_i ∂²ℓ_i/∂θ² v_K]: a block of K vectors shares each batch's forward and backward pass */
  | { readonly kind: 'hessian'; readonly vectors: readonly Float32Array[] }
  /** [Σ_i J_iᵀQ_iJ_i v_1, …, Σ_i J_iᵀQ_iJ_i v_K] */
  | { readonly kind: 'ggn'; readonly vectors: readonly Float32Array[] }
  /** [Σ_i Σ_c r_ic ∇²z_ic v_1, …]: the residual H = Hess − G directly (BatchCurvature.residualVectorSums) */
  | { readonly kind: 'residual'; readonly vectors: readonly Float32Array[] }
  /** [Hess-sums for v_1..v_K, then G-sums for v_1..v_K], both from one pass per batch */
  | { readonly kind: 'hessian+ggn'; readonly vectors: readonly Float32Array[] }
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
  const k = 'vectors' in request ? request.vectors.length : 0;
  const count =
    request.kind === 'hessian+ggn'
      ? 2 * k
      : request.kind === 'cotangents'
        ? request.cotangents.length
        : request.kind === 'gradient'
          ? 1
          : k;
  const sums = Array.from({ length: count }, () => new Float64Array(curvature.size));
  const add = (j: number, part: Float32Array): void => {
    const s = sums[j]!;
    for (let i = 0; i < part.length; i++) s[i]! += part[i]!;
  };
  const vs = 'vectors' in request ? request.vectors.map((v) => unflattenParameters(v, paramShapes)) : [];
  try {
    for (const b of batches(split, batchSize)) {
      switch (request.kind) {
        case 'gradient':
          add(0, curvature.gradientSum(b));
          break;
        case 'hessian':
          curvature.hessianVectorSums(b, vs).forEach((p, j) => add(j, p));
          break;
        case 'ggn':
          curvature.ggnVectorSums(b, vs).forEach((p, j) => add(j, p));
          break;
        case 'residual':
          curvature.residualVectorSums(b, vs).forEach((p, j) => add(j, p));
          break;
        case 'hessian+ggn': {
          const r = curvature.hessianAndGgnVectorSums(b, vs);
          r.hessian.forEach((p, j) => add(j, p));
          r.ggn.forEach((p, j) => add(k + j, p));
          break;
        }
        case 'cotangents': {
          const rows = b.labels.length * classes;
          const parts = curvature.cotangentProductSums(
            b,
            request.cotangents.map((u) => u.subarray(b.start * classes, b.start * classes + rows)),
          );
          parts.forEach((p, j) => add(j, p));
          break;
        }
      }
    }
  } finally {
    tf.dispose(vs.flat());
  }
  return sums;
}
