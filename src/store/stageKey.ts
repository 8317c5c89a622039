import { canonicalJson, sha256Hex } from '../util/canonicalJson.js';

/** A stage instance's content key: sha256 (hex) of its canonical ingredients. Also its artifact directory name. */
export type StageKey = string & { readonly __brand: 'StageKey' };

/** Version of the on-disk artifact layout; part of every key, so a layout change never reuses old artifacts. */
export const STORE_SCHEMA_VERSION = 1;

/**
 * Everything a stage instance's result depends on (architecture.md, "Stage key"). Names are not
 * ingredients: renaming a pipeline, or moving a stage between pipelines, keeps its cache. Neither is
 * the execution layout (a kind's `executionParams`, `--jobs`): it is provenance in the manifest.
 * Built by `keyIngredients` (src/pipeline/keyIngredients.ts).
 */
export interface KeyIngredients {
  /** Registered stage kind, e.g. "train/sgd". */
  readonly kind: string;
  /** The kind's implementation version: bumped whenever its code changes its results. */
  readonly version: number;
  /** Resolved `with:` params (defaults filled, matrix cell merged in). */
  readonly params: unknown;
  /** Keys of upstream artifacts: `needs` stage name → key; `gather` stage name → instance name → key. */
  readonly upstream: Readonly<Record<string, string | Readonly<Record<string, string>>>>;
  /** The instance's seed: its `seed` matrix coordinate (own or inherited), else the pipeline seed. */
  readonly seed: number;
  /** Backend id ("cpu+openblas", "wasm", …), or "none" for a kind that does no tensor numerics. */
  readonly backend: string;
  /** Numeric settings that change results (dtype, …). */
  readonly numerics: Readonly<Record<string, string | number | boolean>>;
  /**
   * Content of the files the kind reads (its `inputFiles`): label → fingerprint ("sha256:…",
   * "tree:…", "absent"; src/store/fileFingerprint.ts). Absent for kinds that read no files.
   */
  readonly inputs?: Readonly<Record<string, string>>;
  readonly storeSchema: number;
}

export function stageKey(ingredients: KeyIngredients): StageKey {
  return sha256Hex(canonicalJson(ingredients)) as StageKey;
}

export function isStageKey(s: string): s is StageKey {
  return /^[0-9a-f]{64}$/.test(s);
}

/** First 12 hex digits, for display. */
export function shortKey(k: string): string {
  return k.slice(0, 12);
}
