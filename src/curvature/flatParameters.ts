import * as tf from '@tensorflow/tfjs-core';
import type { TensorSpec } from '../nn/network.js';
import { SpecpipeError } from '../util/errors.js';
import type { Tensor } from '../nn/tensor.js';

/**
 * The flat parameter vector θ ∈ R^P: the network's parameter tensors, each flattened row-major
 * in its tfjs layout, concatenated in the order of `network.params`.
 */

/** Total number of scalars P of the given tensor specs. */
export function flatSize(specs: readonly { readonly shape: readonly number[] }[]): number {
  let p = 0;
  for (const s of specs) p += s.shape.reduce((a, b) => a * b, 1);
  return p;
}

/** θ as float64: the tensors' values concatenated in order. */
export function flattenParameters(tensors: readonly Tensor[]): Float64Array {
  const out = new Float64Array(flatSize(tensors));
  let o = 0;
  for (const t of tensors) {
    const d = t.dataSync();
    for (let i = 0; i < d.length; i++) out[o + i] = d[i]!;
    o += d.length;
  }
  return out;
}

/** Splits θ (any float array of length P) into float32 tensors shaped like `specs`, in order. */
export function unflattenParameters(
  theta: ArrayLike<number>,
  specs: readonly { readonly shape: readonly number[]; readonly name?: string }[],
): Tensor[] {
  const p = flatSize(specs);
  if (theta.length !== p) {
    throw new SpecpipeError(
      'parameter-length',
      `flat parameter vector must have length P = ${p} (sum of the parameter sizes), received length ${theta.length}`,
    );
  }
  const out: tf.Tensor[] = [];
  let o = 0;
  for (const s of specs) {
    const n = s.shape.reduce((a, b) => a * b, 1);
    const buf = new Float32Array(n);
    for (let i = 0; i < n; i++) buf[i] = theta[o + i]!;
    out.push(tf.tensor(buf, [...s.shape], 'float32'));
    o += n;
  }
  return out;
}

/** Concatenates float32 tensors (e.g. per-parameter gradients) into one flat Float32Array. */
export function flattenToFloat32(tensors: readonly Tensor[], size = flatSize(tensors)): Float32Array {
  const out = new Float32Array(size);
  let o = 0;
  for (const t of tensors) {
    const d = t.dataSync() as Float32Array;
    out.set(d, o);
    o += d.length;
  }
  return out;
}

export type { TensorSpec };
