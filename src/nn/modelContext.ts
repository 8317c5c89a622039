import * as tf from '@tensorflow/tfjs-core';
import type { ForwardMode, LayoutNetwork, ModelSpec } from './network.js';
import { ParameterLayout, initialiseEntries, shapeSize, type TensorEntry } from './parameters.js';
import { batchNorm } from './layers/batchNorm.js';
import { conv2d } from './layers/conv2d.js';
import { dense } from './layers/dense.js';
import { Rng } from '../util/random.js';
import { SpecpipeError } from '../util/errors.js';

/**
 * What a model body sees during one forward pass: its parameters and buffers by PyTorch state_dict name,
 * the mode, and the layer calls bound to those names.
 */
export class ModelContext {
  readonly #params = new Map<string, tf.Tensor>();
  readonly #buffers = new Map<string, tf.Tensor>();
  readonly #updated = new Map<string, tf.Tensor>();

  constructor(
    layout: ParameterLayout,
    params: readonly tf.Tensor[],
    buffers: readonly tf.Tensor[],
    readonly mode: ForwardMode,
  ) {
    layout.params.forEach((e, i) => this.#params.set(e.name, params[i]!));
    layout.buffers.forEach((e, i) => this.#buffers.set(e.name, buffers[i]!));
  }

  param(name: string): tf.Tensor {
    const t = this.#params.get(name);
    if (t === undefined) throw new Error(`internal: model uses unknown parameter "${name}"`);
    return t;
  }

  buffer(name: string): tf.Tensor {
    const t = this.#buffers.get(name);
    if (t === undefined) throw new Error(`internal: model uses unknown buffer "${name}"`);
    return t;
  }

  /** nn.Linear named `prefix`. */
  linear(prefix: string, x: tf.Tensor2D): tf.Tensor2D {
    return dense(x, this.param(`${prefix}.weight`), this.#params.get(`${prefix}.bias`));
  }

  /** nn.Conv2d named `prefix` (bias used when the layout has one). */
  conv(prefix: string, x: tf.Tensor4D, stride: number, padding: number): tf.Tensor4D {
    return conv2d(x, this.param(`${prefix}.weight`), this.#params.get(`${prefix}.bias`), { stride, padding });
  }

  /** nn.BatchNorm2d named `prefix`; in 'train' mode records the updated running statistics. */
  batchNorm<T extends tf.Tensor>(prefix: string, x: T): T {
    const { y, updated } = batchNorm(
      x,
      this.param(`${prefix}.weight`),
      this.param(`${prefix}.bias`),
      {
        runningMean: this.buffer(`${prefix}.running_mean`),
        runningVar: this.buffer(`${prefix}.running_var`),
        numBatchesTracked: this.buffer(`${prefix}.num_batches_tracked`),
      },
      this.mode,
    );
    if (updated !== undefined) {
      this.#updated.set(`${prefix}.running_mean`, updated.runningMean);
      this.#updated.set(`${prefix}.running_var`, updated.runningVar);
      this.#updated.set(`${prefix}.num_batches_tracked`, updated.numBatchesTracked);
    }
    return y;
  }

  /** Buffers after a 'train' pass, in layout order (unchanged ones cloned). */
  updatedBuffers(layout: ParameterLayout): tf.Tensor[] {
    return layout.buffers.map((e) => this.#updated.get(e.name) ?? tf.clone(this.buffer(e.name)));
  }
}

/** A model body: NHWC input → logits, through the context's named layers. */
export type ModelBody = (ctx: ModelContext, x: tf.Tensor4D) => tf.Tensor2D;

export type { LayoutNetwork };

export function makeNetwork(spec: ModelSpec, layout: ParameterLayout, body: ModelBody): LayoutNetwork {
  const inputSize = shapeSize(spec.input);
  return {
    spec,
    params: layout.params,
    buffers: layout.buffers,
    paramEntries: layout.params,
    bufferEntries: layout.buffers,
    size: layout.params.reduce((s, e) => s + shapeSize(e.shape), 0),
    forward(params, buffers, x, mode) {
      if (params.length !== layout.params.length || buffers.length !== layout.buffers.length) {
        throw new Error(
          `internal: ${spec.kind} forward expects ${layout.params.length} parameters and ${layout.buffers.length} buffers, received ${params.length} and ${buffers.length}`,
        );
      }
      const [, h, w, c] = x.shape;
      const expectFlat = spec.input.length !== 3;
      const [ec, eh, ew] = spec.input as readonly number[];
      const ok = expectFlat ? h * w * c === inputSize : c === ec && h === eh && w === ew;
      if (!ok) {
        throw new SpecpipeError(
          'model-input-shape',
          `model ${spec.kind} expects inputs of shape [${spec.input.join(', ')}] (C, H, W), received [${c}, ${h}, ${w}]`,
        );
      }
      const ctx = new ModelContext(layout, params, buffers, mode);
      const logits = body(ctx, x);
      return mode === 'train' ? { logits, updatedBuffers: ctx.updatedBuffers(layout) } : { logits };
    },
    init(seed) {
      const rng = new Rng(seed);
      return { params: initialiseEntries(layout.params, rng), buffers: initialiseEntries(layout.buffers, rng) };
    },
  };
}
