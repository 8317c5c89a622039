import * as tf from '@tensorflow/tfjs-core';

/**
 * Fully connected layer (PyTorch nn.Linear): y = x W + b, with x [N, in], W [in, out] (tfjs layout;
 * PyTorch stores Wᵀ as [out, in]), b [out]. tfjs ops: matMul, add.
 */
export function dense(x: tf.Tensor2D, weight: tf.Tensor, bias: tf.Tensor | undefined): tf.Tensor2D {
  const y = tf.matMul<tf.Tensor2D>(x, weight as tf.Tensor2D);
  return bias === undefined ? y : (tf.add(y, bias) as tf.Tensor2D);
}
