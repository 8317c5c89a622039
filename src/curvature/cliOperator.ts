import type { BackendChoice } from '../backend/backend.js';
import { initBackend } from '../backend/backend.js';
import { loadCheckpoint, type LoadedCheckpoint } from '../nn/checkpoint.js';
import { parseModelSpec } from '../nn/build.js';
import type { LossKind } from '../nn/loss.js';
import { chooseSamples } from '../data/trainedSamples.js';
import { preprocessSplit, type Preprocess } from '../data/preprocess.js';
import type { Dataset, Split } from '../data/dataset.js';
import { Curvature, type CurvatureOperator } from './curvatureOperators.js';
import { DEFAULT_PRODUCT_BATCH } from './execution.js';
import type { CurvatureKind } from './operatorKind.js';
import { SpecpipeError } from '../util/errors.js';

/** What `specpipe spectrum --checkpoint …` asks for. */
export interface CurvatureCliOptions {
  readonly checkpoint: string;
  /** Model spec (shorthand or JSON path); defaults to the checkpoint's `specpipe.model` metadata. */
  readonly model?: string;
  /** Data source string, e.g. "mnist", "fashion-mnist:/root"; default: the source the checkpoint records. */
  readonly data?: string;
  /** 'trained' (default where the checkpoint records its samples) or 'all' (the whole split); src/data/trainedSamples.ts. */
  readonly samples?: 'trained' | 'all';
  /** Where the one-line note on the samples used goes (stderr in the CLI). */
  readonly log?: (line: string) => void;
  readonly split: 'train' | 'test';
  readonly operator: CurvatureKind;
  readonly backend: BackendChoice;
  readonly seed: number;
  /** Samples per class of the split to average over (default: all loaded). */
  readonly samplesPerClass?: number;
  readonly batchSize?: number;
  /** Worker threads for data-parallel products (default 0: this thread). */
  readonly workers?: number;
}

/** Checkpoint metadata key naming the training loss ("cross-entropy" | "mse"); absent: cross-entropy. */
export const LOSS_METADATA_KEY = 'specpipe.loss';

/** Default batch size of curvature products from the CLI. */
export const DEFAULT_CURVATURE_BATCH = DEFAULT_PRODUCT_BATCH;

/**
 * The samples `specpipe spectrum --checkpoint` measures (chooseSamples: by default those the checkpoint
 * records it was trained on), preprocessed as the checkpoint says.
 */
export async function cliSamples(
  options: Pick<CurvatureCliOptions, 'checkpoint' | 'data' | 'samples' | 'seed' | 'split' | 'samplesPerClass'>,
  checkpoint: Pick<LoadedCheckpoint, 'metadata' | 'preprocess'>,
): Promise<{ data: Dataset; split: Split; note: string }> {
  const chosen = await chooseSamples(options.checkpoint, checkpoint.metadata, options.split, {
    ...(options.data !== undefined && { data: options.data }),
    ...(options.samples !== undefined && { samples: options.samples }),
    ...(options.samplesPerClass !== undefined && { perClass: options.samplesPerClass }),
    seed: options.seed,
  });
  const p = checkpoint.preprocess;
  return { data: chosen.data, split: p !== undefined ? preprocessSplit(chosen.split, p) : chosen.split, note: chosen.note };
}

/**
 * Builds the curvature operator for the spectrum CLI: starts the backend, loads the checkpoint
 * (src/nn/checkpoint.ts) and the data (src/data/sources.ts), applies the checkpoint's
 * preprocessing, and opens the operator over the chosen split. The network runs in eval mode
 * (BatchNorm running statistics, Dropout off); the operator's name says so.
 */
export async function curvatureOperatorForCli(options: CurvatureCliOptions): Promise<CurvatureOperator> {
  await initBackend(options.backend);
  const ckpt = loadCheckpoint(options.checkpoint, options.model !== undefined ? parseModelSpec(options.model) : undefined);
  const lossText = ckpt.metadata[LOSS_METADATA_KEY] ?? 'cross-entropy';
  if (lossText !== 'cross-entropy' && lossText !== 'mse') {
    throw new SpecpipeError(
      'checkpoint-loss',
      `${options.checkpoint}: "${LOSS_METADATA_KEY}" metadata must be cross-entropy or mse, received ${JSON.stringify(lossText)}`,
    );
  }
  const loss: LossKind = lossText;
  const { data, split, note } = await cliSamples(options, ckpt);
  options.log?.(note);
  const classes = ckpt.network.spec.classes;
  if (data.classes.length > classes) {
    throw new SpecpipeError(
      'data-classes',
      `data ${options.data ?? data.name} has ${data.classes.length} classes but the checkpoint's model predicts ${classes}`,
    );
  }
  const curvature = await Curvature.open(
    { network: ckpt.network, params: ckpt.params, buffers: ckpt.buffers, data: split, loss },
    {
      batchSize: options.batchSize ?? DEFAULT_CURVATURE_BATCH,
      ...(options.workers !== undefined && { workers: options.workers, backend: options.backend }),
    },
  );
  const bn = ckpt.network.buffers.length > 0 ? ', eval mode: BatchNorm running statistics' : '';
  return curvature.operator(options.operator, `${options.operator}[${options.split}, ${split.shape[0]} samples, ${loss}${bn}]`);
}
