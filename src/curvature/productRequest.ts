import * as tf from '@tensorflow/tfjs-core';
import type { Batch } from '../data/batches.js';
import type { BatchCurvature } from './batchCurvature.js';
import { unflattenParameters } from './flatParameters.js';
import type { CurvatureKind } from './operatorKind.js';
import type { ProductRequest } from './productRequestType.js';

export type { ProductRequest };

/**
 * The one place an operator name picks its maths: the per-batch SUMS of each curvature operator
 * for a block of vectors (src/curvature/batchCurvature.ts derives each).
 *   hessian:  Σ_i ∂²ℓ_i/∂θ² v_k
 *   ggn:      Σ_i J_iᵀ Q_i J_i v_k
 *   residual: Σ_i Σ_c r_ic ∇²z_ic v_k  (H = Hess − G directly)
 */
export const BATCH_PRODUCTS: Readonly<
  Record<CurvatureKind, (curvature: BatchCurvature, batch: Batch, vs: readonly (readonly tf.Tensor[])[]) => Float32Array[]>
> = {
  hessian: (c, b, vs) => c.hessianVectorSums(b, vs),
  ggn: (c, b, vs) => c.ggnVectorSums(b, vs),
  residual: (c, b, vs) => c.residualVectorSums(b, vs),
};

/**
 * Answers `request` over every sample of a split, given as its consecutive batches (`batches` of
 * src/data/batches.ts, sliced once per engine), batch by batch in split order, accumulating in float64.
 */
export function accumulateOverSplit(
  curvature: BatchCurvature,
  paramShapes: readonly { readonly shape: readonly number[] }[],
  split: readonly Batch[],
  classes: number,
  request: ProductRequest,
): Float64Array[] {
  if (request.kind === 'logits') {
    const n = split.reduce((m, b) => m + b.labels.length, 0);
    const out = new Float64Array(n * classes);
    for (const b of split) out.set(curvature.logits(b), b.start * classes);
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
    for (const b of split) {
      switch (request.kind) {
        case 'gradient':
          add(0, curvature.gradientSum(b));
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
        default:
          BATCH_PRODUCTS[request.kind](curvature, b, vs).forEach((p, j) => add(j, p));
      }
    }
  } finally {
    tf.dispose(vs.flat());
  }
  return sums;
}
