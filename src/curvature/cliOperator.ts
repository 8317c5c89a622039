import type { LinearOperator } from '../linalg/operator.js';
import type { BackendChoice } from '../backend/backend.js';
import { SpecpipeError } from '../util/errors.js';

/** What `specpipe spectrum --checkpoint …` asks for. */
export interface CurvatureCliOptions {
  readonly checkpoint: string;
  /** Model spec (shorthand or JSON path); defaults to the checkpoint's `specpipe.model` metadata. */
  readonly model?: string;
  /** Data source string, e.g. "mnist", "fashion-mnist:/root". */
  readonly data: string;
  readonly split: 'train' | 'test';
  readonly operator: 'hessian' | 'ggn' | 'residual';
  readonly backend: BackendChoice;
  readonly seed: number;
  /** Samples per class of the split to average over (default: all loaded). */
  readonly samplesPerClass?: number;
  readonly batchSize?: number;
}

/** Builds the curvature operator for the spectrum CLI. Placeholder until the curvature engine lands. */
export async function curvatureOperatorForCli(_options: CurvatureCliOptions): Promise<LinearOperator> {
  throw new SpecpipeError('not-implemented', 'curvature operators from checkpoints are not implemented yet');
}
