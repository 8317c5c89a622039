import type { StageKind } from '../stages/registry.js';
import { FingerprintCache } from '../store/fileFingerprint.js';
import { STORE_SCHEMA_VERSION, type KeyIngredients } from '../store/stageKey.js';

/** Numeric settings that change results, recorded in keys of backend-using kinds. */
export const NUMERICS: Readonly<Record<string, string>> = { dtype: 'float32' };

/** A stage instance's resolved params, split into what enters its key and its execution layout. */
export interface SplitParams {
  /** Every param but the execution layout: hashed. */
  readonly keyed: Record<string, unknown>;
  /** The kind's `executionParams` present in the params (workers, processes, …): provenance only. */
  readonly execution: Record<string, unknown>;
}

/** Splits resolved params by the kind's `executionParams` (kinds without any: all keyed, same object). */
export function splitExecutionParams(kind: StageKind, params: Record<string, unknown>): SplitParams {
  const names = kind.executionParams;
  if (names === undefined || names.length === 0) return { keyed: params, execution: {} };
  const keyed: Record<string, unknown> = {};
  const execution: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(params)) (names.includes(k) ? execution : keyed)[k] = v;
  return { keyed, execution };
}

/**
 * Content fingerprints of the files a kind reads (its `inputFiles`), by label; undefined when it
 * reads none (the key then has no `inputs` ingredient, and planning it touches no file).
 */
export function inputFingerprints(
  kind: StageKind,
  params: Record<string, unknown>,
  env: { readonly baseDir: string },
  cache: FingerprintCache,
): Record<string, string> | undefined {
  if (kind.inputFiles === undefined) return undefined;
  const out: Record<string, string> = {};
  const files = Object.entries(kind.inputFiles(params, env));
  if (files.length === 0) return undefined;
  for (const [label, path] of files) out[label] = cache.fingerprint(path);
  return out;
}

export interface IngredientSources {
  readonly kind: StageKind;
  /** Resolved params without the execution layout (`splitExecutionParams(…).keyed`). */
  readonly keyedParams: Record<string, unknown>;
  readonly upstream: KeyIngredients['upstream'];
  readonly seed: number;
  /** Backend id of the plan (used only by kinds with `usesBackend`). */
  readonly backendId: string;
  /** The curvature product implementation when it is not tfjs autodiff (kinds with `curvesModel`; plan.ts). */
  readonly products?: string;
  /** `inputFingerprints(…)`. */
  readonly inputs: Record<string, string> | undefined;
}

/**
 * The key ingredients of one stage instance (architecture.md, "Stage key"): kind and version, the
 * params that change results, upstream keys, seed, backend and numerics for kinds that compute with
 * tensors, the content of every file the kind reads, and the store schema. Execution layout
 * (workers, processes, shards, --jobs) is not among them.
 */
export function keyIngredients(s: IngredientSources): KeyIngredients {
  return {
    kind: s.kind.kind,
    version: s.kind.version,
    params: s.keyedParams,
    upstream: s.upstream,
    seed: s.seed,
    backend: s.kind.usesBackend ? s.backendId : 'none',
    numerics: !s.kind.usesBackend ? {} : s.products === undefined ? NUMERICS : { ...NUMERICS, products: s.products },
    ...(s.inputs !== undefined && { inputs: s.inputs }),
    storeSchema: STORE_SCHEMA_VERSION,
  };
}
