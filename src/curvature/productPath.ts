import { readFileSync } from 'node:fs';
import { modelSpecFile } from '../nn/network.js';

/**
 * Which implementation computes a network's curvature products (src/curvature/batchProducts.ts):
 * tfjs reverse-over-reverse autodiff for any network, or, for a plain MLP on the cpu backend with
 * native sgemm kernels, the hand-written R-operator passes of mlpBatchCurvature.ts. The two agree to
 * float32 rounding, not bit for bit, so stage keys record the one an instance runs ('products').
 */
export type ProductPath = 'tfjs' | 'mlp-sgemm';

/**
 * What a non-tfjs path puts in keys (numerics.products): its name and a revision, raised whenever a change of
 * that code changes its rounding (as a kind's `version` is), so a store never serves another revision's numbers.
 * 2: tanh by the backend's native Tanh kernel instead of Math.tanh.
 */
export const PRODUCT_NUMERICS: Readonly<Record<Exclude<ProductPath, 'tfjs'>, string>> = { 'mlp-sgemm': 'mlp-sgemm.2' };

/** Backend ids (backend.ts backendId) under which the cpu backend has a native sgemm. */
const NATIVE_SGEMM_BACKENDS: readonly string[] = ['cpu+openblas', 'cpu+specpipe-sgemm'];

/** The path a model of spec kind `modelKind` takes under the backend `backendId` (what the planner puts in keys). */
export function plannedProductPath(modelKind: unknown, backendId: string): ProductPath {
  return modelKind === 'mlp' && NATIVE_SGEMM_BACKENDS.includes(backendId) ? 'mlp-sgemm' : 'tfjs';
}

/**
 * The spec kind of a train/sgd `model` param as a pipeline gives it (schemas/model.schema.json): an
 * object's `kind`, a shorthand's prefix (`mlp:784-64-10`), inline JSON's `kind`, or the `kind` of the
 * JSON file any other string names (as src/nn/build.ts reads them); undefined when unreadable.
 */
export function modelKindOf(model: unknown): unknown {
  if (typeof model === 'object' && model !== null) return (model as { kind?: unknown }).kind;
  if (typeof model !== 'string') return undefined;
  const file = modelSpecFile(model);
  const t = model.trim();
  try {
    if (file !== undefined) return (JSON.parse(readFileSync(file, 'utf8')) as { kind?: unknown }).kind;
    if (t.startsWith('{')) return (JSON.parse(t) as { kind?: unknown }).kind;
    return t.split(':')[0];
  } catch {
    return undefined;
  }
}
