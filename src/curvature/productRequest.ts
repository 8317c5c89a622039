import type { Batch } from '../data/batches.js';
import type { BatchProducts } from './batchProducts.js';
import type { CurvatureKind } from './operatorKind.js';
import type { ProductRequest } from './productRequestType.js';

export type { ProductRequest };

/**
 * The one place an operator name picks its maths: the per-batch SUMS of each curvature operator
 * for a block of vectors (src/curvature/batchCurvature.ts derives each; mlpBatchCurvature.ts for MLPs).
 *   hessian:  Σ_i ∂²ℓ_i/∂θ² v_k
 *   ggn:      Σ_i J_iᵀ Q_i J_i v_k
 *   residual: Σ_i Σ_c r_ic ∇²z_ic v_k  (H = Hess − G directly)
 */
function batchProducts<V>(kind: CurvatureKind, c: BatchProducts<V>, b: Batch, vs: V): Float32Array[] {
  switch (kind) {
    case 'hessian':
      return c.hessianVectorSums(b, vs);
    case 'ggn':
      return c.ggnVectorSums(b, vs);
    case 'residual':
      return c.residualVectorSums(b, vs);
  }
}

/**
 * Answers `request` over every sample of a split, given as its consecutive batches (`batches` of
 * src/data/batches.ts, sliced once per engine), batch by batch in split order, accumulating in float64.
 */
export function accumulateOverSplit<V>(
  curvature: BatchProducts<V>,
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
  const vs = curvature.vectors('vectors' in request ? request.vectors : []);
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
          batchProducts(request.kind, curvature, b, vs).forEach((p, j) => add(j, p));
      }
    }
  } finally {
    curvature.disposeVectors(vs);
  }
  return sums;
}
