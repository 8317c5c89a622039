/** Params of train/sgd (schemas/stages/train-sgd.schema.json; defaults filled by the schema). */
export interface TrainSgdParams {
  model: string | Record<string, unknown>;
  epochs: number;
  lr: number;
  momentum: number;
  weight_decay: number;
  batch_size: number;
  schedule: 'constant' | 'step' | 'cosine';
  checkpoints?: number[];
  train_per_class?: number;
  test_per_class?: number;
  loss: 'cross-entropy' | 'mse';
  pad: number;
}
