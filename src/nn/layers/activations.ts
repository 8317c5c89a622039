import * as tf from '@tensorflow/tfjs-core';

/** Pointwise nonlinearities (PyTorch nn.ReLU / nn.Tanh). */
export type Activation = 'relu' | 'tanh';

/** relu(x) = max(x, 0). tfjs op: relu. */
export function relu<T extends tf.Tensor>(x: T): T {
  return tf.relu(x);
}

/** tanh(x). tfjs op: tanh. */
export function tanh<T extends tf.Tensor>(x: T): T {
  return tf.tanh(x);
}

export function activate<T extends tf.Tensor>(x: T, kind: Activation): T {
  return kind === 'tanh' ? tanh(x) : relu(x);
}
