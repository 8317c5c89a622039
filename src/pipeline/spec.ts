import type { BackendChoice } from '../backend/backend.js';

/** A matrix as written: named axes (lists of values), plus GitHub Actions' include / exclude cells. */
export interface MatrixSpec {
  readonly axes: Readonly<Record<string, readonly unknown[]>>;
  readonly include: readonly Readonly<Record<string, unknown>>[];
  readonly exclude: readonly Readonly<Record<string, unknown>>[];
}

export interface StageSpec {
  readonly uses: string;
  readonly description?: string;
  readonly needs: readonly string[];
  readonly gather: readonly string[];
  readonly matrix?: MatrixSpec;
  readonly with: Readonly<Record<string, unknown>>;
  /** Scheduling priority among ready instances (default 0; not in any key). */
  readonly priority: number;
}

/** A validated pipeline file as plain data (stages in file order). */
export interface PipelineSpec {
  readonly name: string;
  readonly description?: string;
  readonly seed: number;
  /** `seeds: [0, 1, 2]`: a `seed` matrix axis on every training stage (src/pipeline/seedAxis.ts). */
  readonly seeds?: readonly number[];
  readonly backend: BackendChoice;
  readonly stages: Readonly<Record<string, StageSpec>>;
}
