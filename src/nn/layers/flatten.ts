import * as tf from '@tensorflow/tfjs-core';

/**
 * PyTorch nn.Flatten on NHWC activations: returns [N, C·H·W] in PyTorch's (C, H, W) order, so that a
 * Linear layer after it has exactly the weights PyTorch has (no permutation at export/import).
 * When C = 1 or H = W = 1 the NHWC and NCHW orders coincide and no transpose is made.
 * tfjs ops: transpose (perm [0, 3, 1, 2]), reshape.
 */
export function flatten(x: tf.Tensor): tf.Tensor2D {
  if (x.rank === 2) return x as tf.Tensor2D;
  if (x.rank !== 4) return tf.reshape(x, [x.shape[0]!, -1]);
  const [n, h, w, c] = x.shape as [number, number, number, number];
  const chw = c === 1 || h * w === 1 ? x : tf.transpose(x, [0, 3, 1, 2]);
  return tf.reshape(chw, [n, c * h * w]);
}
