import * as tf from '@tensorflow/tfjs-core';
import type { Dataset } from '../data/dataset.js';
import type { Preprocess } from '../data/preprocess.js';
import type { LossKind } from '../nn/loss.js';
import type { LayoutNetwork } from '../nn/build.js';
import type { ModelSpec } from '../nn/network.js';
import { resolveModel, type ModelInput } from '../nn/resolveModel.js';
import { SpecpipeError } from '../util/errors.js';
import { prepareData } from './prepare.js';
import { parseSchedule } from './schedule.js';
import { trainModel, type EpochMetrics, type StateSnapshot } from './sgd.js';

/** A training recipe in the words of the train/sgd schema (schemas/stages/train-sgd.schema.json). */
export interface TrainingRecipe {
  readonly model: ModelInput;
  readonly epochs: number;
  readonly lr: number;
  readonly momentum: number;
  readonly weight_decay: number;
  readonly batch_size: number;
  readonly schedule: string;
  /** StepLR's step and factor (schedule "step"; default ⌈E/3⌉ and 0.1). */
  readonly step_size?: number;
  readonly gamma?: number;
  readonly checkpoints?: readonly number[];
  readonly loss: LossKind;
  readonly pad: number;
}

/** Checkpoint epochs of a recipe: the listed ones (sorted, unique), or just the last epoch. */
export function checkpointEpochs(p: Pick<TrainingRecipe, 'checkpoints' | 'epochs'>): number[] {
  const list = p.checkpoints === undefined || p.checkpoints.length === 0 ? [p.epochs] : p.checkpoints;
  return [...new Set(list)].sort((a, b) => a - b);
}

export interface TrainingHooks {
  readonly onEpoch?: (m: EpochMetrics) => void;
  /** Called with each snapshot as training reaches a checkpoint epoch. */
  readonly onCheckpoint: (snapshot: StateSnapshot, network: LayoutNetwork, preprocess: Preprocess) => void;
  /** Wraps the training call (e.g. to turn a missing-kernel error into a hint). */
  readonly guard?: <T>(run: () => Promise<T>) => Promise<T>;
}

export interface TrainingRunResult {
  readonly spec: ModelSpec;
  readonly parameters: number;
  readonly trainSamples: number;
  readonly testSamples: number;
  readonly history: EpochMetrics[];
}

/**
 * One training run: preprocess `data` (train-split channel statistics, `pad`), build the model,
 * SGD per the recipe (src/train/sgd.ts) with snapshots at the checkpoint epochs. The train/sgd
 * stage and `specpipe train` both call this, so equal inputs give bit-identical checkpoints.
 * `paramPrefix` names the recipe's parameters in errors ("train[…]: with." in a pipeline, "--" on the CLI).
 */
export async function trainingRun(
  data: Dataset,
  recipe: TrainingRecipe,
  seed: number,
  hooks: TrainingHooks,
  paramPrefix: string,
): Promise<TrainingRunResult> {
  const { buildNetwork } = await import('../nn/build.js');
  const epochs = checkpointEpochs(recipe);
  const bad = epochs.find((e) => e > recipe.epochs);
  if (bad !== undefined)
    throw new SpecpipeError('bad-checkpoints', `${paramPrefix}checkpoints lists epoch ${bad}, but epochs is ${recipe.epochs}`);
  const prepared = prepareData(data, recipe.pad);
  const [, c, h, w] = prepared.train.shape;
  const spec = resolveModel(recipe.model, [c, h, w], data.classes.length, `${paramPrefix}model`);
  const network = buildNetwork(spec);
  const run = () =>
    trainModel(
      {
        network,
        train: prepared.train,
        ...(prepared.test.shape[0] > 0 && { test: prepared.test }),
        epochs: recipe.epochs,
        lr: recipe.lr,
        momentum: recipe.momentum,
        weightDecay: recipe.weight_decay,
        batchSize: recipe.batch_size,
        seed,
        schedule: parseSchedule(recipe.schedule, recipe.epochs, recipe.step_size, recipe.gamma),
        checkpoints: epochs,
        loss: recipe.loss,
      },
      (ev) => {
        if (ev.kind === 'epoch') hooks.onEpoch?.(ev.metrics);
        else if (ev.kind === 'checkpoint') hooks.onCheckpoint(ev.snapshot, network, prepared.preprocess);
      },
    );
  const result = await (hooks.guard !== undefined ? hooks.guard(run) : run());
  tf.dispose([...result.params, ...result.buffers]);
  return {
    spec,
    parameters: network.size,
    trainSamples: prepared.train.shape[0],
    testSamples: prepared.test.shape[0],
    history: result.history,
  };
}
