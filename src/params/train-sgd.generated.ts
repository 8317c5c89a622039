/**
 * GENERATED from schemas/stages/train-sgd.schema.json by scripts/gen-param-types.mjs (json-schema-to-typescript): do not edit.
 * Change the schema, then regenerate with `npm run gen:types` (test/params/generatedTypes.test.ts checks they agree).
 */
import type { ModelSpecInput } from './model.generated.js';

/**
 * Mini-batch SGD with momentum and weight decay (PyTorch semantics, src/train/sgd.ts) on the upstream data stage's dataset. Saves a checkpoint at every epoch listed in `checkpoints`.
 */
export interface TrainSgdParams {
  /**
   * Model spec: an object {kind: mlp|lenet|vgg11|resnet18|densenet40, …} (input and classes are filled from the data) or a shorthand string like mlp:784-64-64-10:relu (schemas/model.schema.json).
   */
  model: ModelSpecInput;
  epochs: number;
  lr: number;
  momentum: number;
  weight_decay: number;
  batch_size: number;
  schedule: 'constant' | 'step' | 'cosine';
  /**
   * Epochs after which weights are saved (0 = initialisation). Default: the last epoch. Spectrum stages pick one with their `checkpoint` param.
   */
  checkpoints?: number[];
  /**
   * Train on a balanced subset of this many samples per class of the upstream data (seeded).
   */
  train_per_class?: number;
  /**
   * Evaluate on a balanced subset of this many test samples per class.
   */
  test_per_class?: number;
  loss: 'cross-entropy' | 'mse';
  pad: number;
}
