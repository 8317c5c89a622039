import * as tf from '@tensorflow/tfjs-core';

/**
 * Max pooling (PyTorch nn.MaxPool2d(k, stride=k), no padding): y[n,i,j,c] = max_{u,v<k} x[n, s·i+u, s·j+v, c],
 * output ⌊(H − k)/s⌋ + 1. tfjs op: maxPool ('valid').
 */
export function maxPool(x: tf.Tensor4D, kernel: number, stride: number = kernel): tf.Tensor4D {
  return tf.maxPool(x, kernel, stride, 'valid');
}

/** Average pooling (PyTorch nn.AvgPool2d(k, stride=k), no padding). tfjs op: avgPool ('valid'). */
export function avgPool(x: tf.Tensor4D, kernel: number, stride: number = kernel): tf.Tensor4D {
  return tf.avgPool(x, kernel, stride, 'valid');
}

/** Global average pooling then flatten (PyTorch adaptive_avg_pool2d(x, 1).flatten(1)): y[n,c] = mean_{h,w} x[n,h,w,c]. tfjs op: mean. */
export function globalAvgPool(x: tf.Tensor4D): tf.Tensor2D {
  return tf.mean(x, [1, 2]) as tf.Tensor2D;
}
