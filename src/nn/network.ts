import type { TensorEntry } from './parameters.js';
import type { Tensor, Tensor2D, Tensor4D } from './tensor.js';

/** Model specs: the exact JSON forms external checks rely on (issue 2, item 7). */
export interface MlpSpec {
  readonly kind: 'mlp';
  /** Input shape [C, H, W] (PyTorch order), e.g. [1, 28, 28]. */
  readonly input: readonly number[];
  readonly hidden: readonly number[];
  readonly activation: 'relu' | 'tanh';
  readonly classes: number;
}
export interface LenetSpec {
  readonly kind: 'lenet';
  readonly input: readonly [number, number, number];
  readonly channels: readonly [number, number];
  readonly hidden: number;
  readonly kernel: number;
  readonly classes: number;
}
export interface VggSpec {
  readonly kind: 'vgg11';
  readonly input: readonly [number, number, number];
  /** Width multiplier on VGG11's channel counts (64, 128, 256, 512). */
  readonly width: number;
  readonly classes: number;
}
export interface ResNetSpec {
  readonly kind: 'resnet18';
  readonly input: readonly [number, number, number];
  readonly width: number;
  readonly classes: number;
}
export interface DenseNetSpec {
  readonly kind: 'densenet40';
  readonly input: readonly [number, number, number];
  /** Growth rate (12 in the paper's DenseNet40), already including any width multiplier. */
  readonly growth: number;
  readonly classes: number;
}
export type ModelSpec = MlpSpec | LenetSpec | VggSpec | ResNetSpec | DenseNetSpec;

/** Every spec kind; a model shorthand starts with one (`mlp:784-64-10`, src/nn/build.ts). */
export const MODEL_KINDS: readonly ModelSpec['kind'][] = ['mlp', 'lenet', 'vgg11', 'resnet18', 'densenet40'];

/**
 * The JSON file a `model` string names, if it names one: neither inline JSON nor a shorthand of a
 * known kind (as parseModelText in src/nn/build.ts, which reads any other string as a file path).
 */
export function modelSpecFile(model: unknown): string | undefined {
  if (typeof model !== 'string') return undefined;
  const t = model.trim();
  if (t.startsWith('{') || (MODEL_KINDS as readonly string[]).includes(t.split(':')[0]!)) return undefined;
  return t;
}

/** One named tensor of a network, named as in the PyTorch state_dict. */
export interface TensorSpec {
  /** PyTorch state_dict key, e.g. "1.weight". */
  readonly name: string;
  /** Shape of the tensor as specpipe holds it (tfjs layout: dense [in, out], conv [kh, kw, in, out]). */
  readonly shape: readonly number[];
  /** Shape in PyTorch layout (Linear [out, in], Conv2d [out, in, kh, kw]). */
  readonly torchShape: readonly number[];
}

export type ForwardMode =
  /** BatchNorm uses batch statistics and updates running statistics; Dropout active. */
  | 'train'
  /** BatchNorm uses running statistics; Dropout is the identity. Curvature analysis uses this. */
  | 'eval';

/**
 * A network as a pure function of its parameters: no hidden state, so tfjs autodiff can
 * differentiate `forward` with respect to `params` (twice, for curvature products).
 */
export interface Network {
  readonly spec: ModelSpec;
  /** Trainable parameters, in the order of the flattened parameter vector θ. */
  readonly params: readonly TensorSpec[];
  /** Non-trainable state (BatchNorm running_mean / running_var / num_batches_tracked). */
  readonly buffers: readonly TensorSpec[];
  /** Total number of trainable scalars P. */
  readonly size: number;
  /**
   * Logits [N, classes] for inputs x of shape [N, H, W, C] (NHWC, already preprocessed).
   * In 'train' mode, `updatedBuffers` holds the new running statistics (same order as `buffers`).
   */
  forward(
    params: readonly Tensor[],
    buffers: readonly Tensor[],
    x: Tensor4D,
    mode: ForwardMode,
  ): { logits: Tensor2D; updatedBuffers?: Tensor[] };
  /** Seeded initialisation (PyTorch's default inits), same seed ⇒ same weights. */
  init(seed: number): { params: Tensor[]; buffers: Tensor[] };
}

/**
 * A Network over a parameter layout and a model body (src/nn/modelContext.ts makeNetwork); its forward
 * checks the input shape against `spec.input`.
 */
export interface LayoutNetwork extends Network {
  /** Parameters and buffers with their PyTorch layouts (checkpoint export/import). */
  readonly paramEntries: readonly TensorEntry[];
  readonly bufferEntries: readonly TensorEntry[];
}
