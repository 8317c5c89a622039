/**
 * Which implementation computes a network's curvature products (src/curvature/batchProducts.ts):
 * tfjs reverse-over-reverse autodiff for any network, or, for a plain MLP on the cpu backend with
 * native sgemm kernels, the hand-written R-operator passes of mlpBatchCurvature.ts. The two agree to
 * float32 rounding, not bit for bit, so stage keys record the one an instance runs ('products').
 */
export type ProductPath = 'tfjs' | 'mlp-sgemm';

/** Backend ids (backend.ts backendId) under which the cpu backend has a native sgemm. */
const NATIVE_SGEMM_BACKENDS: readonly string[] = ['cpu+openblas', 'cpu+specpipe-sgemm'];

/** The path a model of spec kind `modelKind` takes under the backend `backendId` (what the planner puts in keys). */
export function plannedProductPath(modelKind: unknown, backendId: string): ProductPath {
  return modelKind === 'mlp' && NATIVE_SGEMM_BACKENDS.includes(backendId) ? 'mlp-sgemm' : 'tfjs';
}
