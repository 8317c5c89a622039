import * as tf from '@tensorflow/tfjs-core';
import type { TensorSpec } from './network.js';
import { Rng } from '../util/random.js';
import type { Tensor } from './tensor.js';

/**
 * How a tensor is laid out in PyTorch relative to specpipe's tfjs layout.
 * - 'linear': tfjs [in, out]  ↔ PyTorch nn.Linear.weight [out, in] (a transpose).
 * - 'conv':   tfjs [kh, kw, in, out] ↔ PyTorch nn.Conv2d.weight [out, in, kh, kw].
 * - 'same':   identical (biases, BatchNorm vectors, scalars).
 */
export type TorchLayout = 'linear' | 'conv' | 'same';

/** PyTorch's default initialisations (torch.nn.modules.linear / conv `reset_parameters`, BatchNorm `reset_parameters`). */
export type InitRule =
  /**
   * U(−b, b) with b = 1/√fan_in. For weights this is kaiming_uniform_(a=√5):
   * gain = √(2/(1+a²)) = √(1/3), bound = gain·√(3/fan_in) = 1/√fan_in; for biases PyTorch draws U(−1/√fan_in, 1/√fan_in).
   */
  | { readonly kind: 'uniform-fan-in'; readonly fanIn: number }
  /** Every entry equal to `value` (BatchNorm weight 1, bias 0, running_mean 0, running_var 1, num_batches_tracked 0). */
  | { readonly kind: 'constant'; readonly value: number };

/** One parameter or buffer of a network with its PyTorch layout, dtype and initialisation. */
export interface TensorEntry extends TensorSpec {
  readonly layout: TorchLayout;
  /** safetensors dtype in the PyTorch state_dict ('I64' only for BatchNorm num_batches_tracked). */
  readonly torchDtype: 'F32' | 'I64';
  readonly init: InitRule;
}

/** Collects the parameters and buffers of a model in state_dict order, with their layouts and inits. */
export class ParameterLayout {
  readonly params: TensorEntry[] = [];
  readonly buffers: TensorEntry[] = [];

  /** nn.Linear(in, out[, bias]) named `prefix.weight` / `prefix.bias`; tfjs weight [in, out]. */
  linear(prefix: string, inFeatures: number, outFeatures: number, bias = true): void {
    const init = { kind: 'uniform-fan-in', fanIn: inFeatures } as const;
    this.params.push({
      name: `${prefix}.weight`,
      shape: [inFeatures, outFeatures],
      torchShape: [outFeatures, inFeatures],
      layout: 'linear',
      torchDtype: 'F32',
      init,
    });
    if (bias)
      this.params.push({
        name: `${prefix}.bias`,
        shape: [outFeatures],
        torchShape: [outFeatures],
        layout: 'same',
        torchDtype: 'F32',
        init,
      });
  }

  /** nn.Conv2d(in, out, k[, bias]) named `prefix.weight` / `prefix.bias`; tfjs weight [k, k, in, out]; fan_in = in·k·k. */
  conv(prefix: string, inChannels: number, outChannels: number, kernel: number, bias: boolean): void {
    const init = { kind: 'uniform-fan-in', fanIn: inChannels * kernel * kernel } as const;
    this.params.push({
      name: `${prefix}.weight`,
      shape: [kernel, kernel, inChannels, outChannels],
      torchShape: [outChannels, inChannels, kernel, kernel],
      layout: 'conv',
      torchDtype: 'F32',
      init,
    });
    if (bias)
      this.params.push({
        name: `${prefix}.bias`,
        shape: [outChannels],
        torchShape: [outChannels],
        layout: 'same',
        torchDtype: 'F32',
        init,
      });
  }

  /** nn.BatchNorm2d(c): params weight, bias; buffers running_mean, running_var, num_batches_tracked (I64 scalar). */
  batchNorm(prefix: string, channels: number): void {
    const vec = (name: string, value: number): TensorEntry => ({
      name: `${prefix}.${name}`,
      shape: [channels],
      torchShape: [channels],
      layout: 'same',
      torchDtype: 'F32',
      init: { kind: 'constant', value },
    });
    this.params.push(vec('weight', 1), vec('bias', 0));
    this.buffers.push(vec('running_mean', 0), vec('running_var', 1));
    this.buffers.push({
      name: `${prefix}.num_batches_tracked`,
      shape: [],
      torchShape: [],
      layout: 'same',
      torchDtype: 'I64',
      init: { kind: 'constant', value: 0 },
    });
  }
}

/** Number of scalars of a shape. */
export function shapeSize(shape: readonly number[]): number {
  return shape.reduce((a, b) => a * b, 1);
}

/**
 * Calls f(tfjs index, PyTorch index) for every scalar of a 'linear' ([in, out] ↔ [out, in]) or 'conv'
 * ([kh, kw, in, out] ↔ [out, in, kh, kw]) entry, both row-major.
 */
function forEachLayoutIndex(entry: TensorEntry, f: (tfjs: number, torch: number) => void): void {
  if (entry.layout === 'linear') {
    const [inF, outF] = entry.shape as [number, number];
    for (let i = 0; i < inF; i++) for (let o = 0; o < outF; o++) f(i * outF + o, o * inF + i);
    return;
  }
  const [kh, kw, ci, co] = entry.shape as [number, number, number, number];
  for (let y = 0; y < kh; y++)
    for (let x = 0; x < kw; x++)
      for (let i = 0; i < ci; i++)
        for (let o = 0; o < co; o++) f(((y * kw + x) * ci + i) * co + o, ((o * ci + i) * kh + y) * kw + x);
}

/** Converts a tensor's data from specpipe's tfjs layout to PyTorch layout (row-major both). */
export function toTorchLayout(entry: TensorEntry, data: Float32Array): Float32Array {
  if (entry.layout === 'same') return Float32Array.from(data);
  const out = new Float32Array(data.length);
  forEachLayoutIndex(entry, (tfjs, torch) => (out[torch] = data[tfjs]!));
  return out;
}

/** Converts PyTorch-layout data (row-major over `entry.torchShape`) to specpipe's tfjs layout. */
export function fromTorchLayout(entry: TensorEntry, data: Float32Array): Float32Array {
  if (entry.layout === 'same') return Float32Array.from(data);
  const out = new Float32Array(data.length);
  forEachLayoutIndex(entry, (tfjs, torch) => (out[tfjs] = data[torch]!));
  return out;
}

/**
 * Seeded PyTorch-default initialisation of every entry, in state_dict order: values are drawn in
 * PyTorch layout (row-major over `torchShape`, one Rng stream over all entries), then converted to tfjs layout.
 */
export function initialiseEntries(entries: readonly TensorEntry[], rng: Rng): Tensor[] {
  return entries.map((e) => {
    const n = shapeSize(e.torchShape);
    const torch = new Float32Array(n);
    if (e.init.kind === 'constant') torch.fill(e.init.value);
    else {
      const bound = 1 / Math.sqrt(e.init.fanIn);
      for (let i = 0; i < n; i++) torch[i] = (2 * rng.uniform() - 1) * bound;
    }
    return tf.tensor(fromTorchLayout(e, torch), [...e.shape], 'float32');
  });
}
