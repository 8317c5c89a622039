import type { KeyIngredients } from './stageKey.js';

/** Role of an artifact file; `diff` and `report` find what to compare by role. */
export type ArtifactRole =
  /** Arrow table with Float64 columns `nodes` and `weights`: a spectral density as a discrete measure (SLQ's Gauss quadrature). */
  | 'spectrum'
  /** Arrow table of named columns (curves, per-class values, …). */
  | 'table'
  /** Network weights (safetensors) at some epoch. */
  | 'checkpoint'
  /** Anything else (JSON, text). */
  | 'data';

/** One file of an artifact, as recorded when it was committed. */
export interface ManifestFile {
  /** Path relative to the artifact directory ('/' separated). */
  readonly path: string;
  readonly bytes: number;
  readonly sha256: string;
  /** mtime at commit (whole ms): size unchanged and mtime within 1 ms ⇒ trusted without rehashing (`--verify fast`). */
  readonly mtimeMs: number;
  readonly role: ArtifactRole;
}

/** `<store>/<key>/manifest.json`: what the artifact is, how it was made, and what its files must hash to. */
export interface Manifest {
  readonly storeSchema: number;
  readonly key: string;
  readonly kind: string;
  readonly version: number;
  /** Stage and instance name of the run that produced it (not part of the key). */
  readonly stage: string;
  readonly instance: string;
  /** Resolved params it ran with (execution layout included). */
  readonly params: Readonly<Record<string, unknown>>;
  /**
   * The execution layout it ran with (the kind's `executionParams`: workers, processes, …), which is
   * not part of the key: provenance only. Absent for kinds without execution params.
   */
  readonly execution?: Readonly<Record<string, unknown>>;
  readonly matrix: Readonly<Record<string, unknown>>;
  readonly coords: Readonly<Record<string, unknown>>;
  /** Upstream keys, as hashed. */
  readonly upstream: KeyIngredients['upstream'];
  readonly ingredients: KeyIngredients;
  readonly backend: string;
  readonly seed: number;
  readonly files: readonly ManifestFile[];
  readonly metrics: Readonly<Record<string, number>>;
  readonly versions: Readonly<Record<string, string>>;
  readonly timings: { readonly started: string; readonly finished: string; readonly seconds: number };
  readonly producedBy: { readonly host: string; readonly pid: number };
}
