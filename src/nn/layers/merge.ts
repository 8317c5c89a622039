import * as tf from '@tensorflow/tfjs-core';

/** Residual connection (ResNet): y = a + b, same shape. tfjs op: add. */
export function residualAdd<T extends tf.Tensor>(a: T, b: T): T {
  return tf.add(a, b);
}

/** Channel concatenation (DenseNet, torch.cat(dim=1)): NHWC tensors joined on the last axis. tfjs op: concat. */
export function channelConcat(xs: tf.Tensor4D[]): tf.Tensor4D {
  return tf.concat(xs, 3);
}
