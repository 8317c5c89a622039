import * as tf from '@tensorflow/tfjs-core';

export interface Conv2dOptions {
  readonly stride: number;
  /** Zeros added on each side of H and W (PyTorch `padding=p`). */
  readonly padding: number;
}

/**
 * 2-D convolution (PyTorch nn.Conv2d, cross-correlation): y[n,i,j,o] = b[o] + Σ_{u,v,c} x[n, s·i+u−p, s·j+v−p, c] W[u,v,c,o],
 * x NHWC, W [kh, kw, in, out] (PyTorch: [out, in, kh, kw]). Output size ⌊(H + 2p − k)/s⌋ + 1 as in PyTorch.
 * tfjs ops: conv2d (explicit numeric padding), add.
 */
export function conv2d(x: tf.Tensor4D, weight: tf.Tensor, bias: tf.Tensor | undefined, options: Conv2dOptions): tf.Tensor4D {
  const y = tf.conv2d(x, weight as tf.Tensor4D, options.stride, options.padding === 0 ? 'valid' : options.padding);
  return bias === undefined ? y : tf.add(y, bias);
}
