/**
 * GENERATED from schemas/model.schema.json by scripts/gen-param-types.mjs (json-schema-to-typescript): do not edit.
 * Change the schema, then regenerate with `npm run gen:types` (test/params/generatedTypes.test.ts checks they agree).
 */
/**
 * A network (src/nn/build.ts, src/nn/models/*.ts): an object {kind: mlp|lenet|vgg11|resnet18|densenet40, …} or a shorthand string like mlp:784-64-64-10:relu. In a train/sgd stage, `input` and `classes` may be left out: they are filled from the data.
 */
export type ModelSpecInput = string | MlpSpecInput | LenetSpecInput | Vgg11SpecInput | Resnet18SpecInput | Densenet40SpecInput;

/**
 * Multilayer perceptron Flatten → (Linear → act) × len(hidden) → Linear (src/nn/models/mlp.ts).
 */
export interface MlpSpecInput {
  kind: 'mlp';
  /**
   * Input shape [D] or [C, H, W] (default: the data's [C, H, W]).
   */
  input?: number[];
  /**
   * Widths of the hidden layers, e.g. [64, 64] ([] : a linear model).
   */
  hidden: number[];
  /**
   * Activation between layers (default relu).
   */
  activation?: 'relu' | 'tanh';
  /**
   * Output classes (default: the data's).
   */
  classes?: number;
}
/**
 * LeNet-style CNN: two (Conv k×k, padding k//2 → ReLU → MaxPool 2) blocks, Linear → ReLU → Linear (src/nn/models/lenet.ts).
 */
export interface LenetSpecInput {
  kind: 'lenet';
  /**
   * Input shape [C, H, W], H and W at least 4 (two 2×2 max-pools; default: the data's).
   *
   * @minItems 3
   * @maxItems 3
   */
  input?: [number, number, number];
  /**
   * Output channels [C1, C2] of the two convolutions.
   *
   * @minItems 2
   * @maxItems 2
   */
  channels: [number, number];
  /**
   * Width of the hidden linear layer.
   */
  hidden: number;
  /**
   * Odd convolution kernel size (padding k//2 keeps the size; default 5).
   */
  kernel?: number;
  /**
   * Output classes (default: the data's).
   */
  classes?: number;
}
/**
 * VGG11 with BatchNorm, CIFAR form (src/nn/models/vgg11.ts).
 */
export interface Vgg11SpecInput {
  kind: 'vgg11';
  /**
   * Input shape [C, H, W], H and W at least 32 (five 2×2 max-pools; pad 28×28 images with `pad: 2`; default: the data's).
   *
   * @minItems 3
   * @maxItems 3
   */
  input?: [number, number, number];
  /**
   * Multiplier on VGG11's channel counts 64, 128, 256, 512 (default 1).
   */
  width?: number;
  /**
   * Output classes (default: the data's).
   */
  classes?: number;
}
/**
 * ResNet18, CIFAR variant (src/nn/models/resnet18.ts).
 */
export interface Resnet18SpecInput {
  kind: 'resnet18';
  /**
   * Input shape [C, H, W] (PyTorch order; default: the data's).
   *
   * @minItems 3
   * @maxItems 3
   */
  input?: [number, number, number];
  /**
   * Multiplier on the stage widths 64, 128, 256, 512 (default 1).
   */
  width?: number;
  /**
   * Output classes (default: the data's).
   */
  classes?: number;
}
/**
 * DenseNet-40 without bottleneck or compression (src/nn/models/densenet40.ts).
 */
export interface Densenet40SpecInput {
  kind: 'densenet40';
  /**
   * Input shape [C, H, W] (PyTorch order; default: the data's).
   *
   * @minItems 3
   * @maxItems 3
   */
  input?: [number, number, number];
  /**
   * Growth rate k (default 12, the paper's).
   */
  growth?: number;
  /**
   * Output classes (default: the data's).
   */
  classes?: number;
}
