import * as tf from '@tensorflow/tfjs-core';

/** A convolution case: NHWC input shape, HWIO filter shape, strides and padding (a mode or explicit pairs). */
export interface ConvCase {
  readonly x: number[];
  readonly w: number[];
  readonly strides: [number, number];
  readonly pad: 'same' | 'valid' | [[number, number], [number, number], [number, number], [number, number]];
}

/**
 * The three kernels a convolution layer runs — Conv2D, Conv2DBackpropInput, Conv2DBackpropFilter — on random
 * operands of one case, each as a labelled thunk for a test's own comparison with the stock kernels
 * (openblasKernels.test.ts, specpipeGemm.test.ts).
 */
export function convKernelRuns(c: ConvCase, randn: (shape: number[]) => tf.Tensor): [string, () => tf.Tensor][] {
  const x = randn(c.x) as tf.Tensor4D;
  const w = randn(c.w) as tf.Tensor4D;
  const y = tf.conv2d(x, w, c.strides, c.pad);
  const dy = randn(y.shape);
  y.dispose();
  const attrs = { strides: c.strides, pad: c.pad, dataFormat: 'NHWC' };
  return [
    ['conv2d', () => tf.conv2d(x, w, c.strides, c.pad)],
    [
      'Conv2DBackpropInput',
      () => tf.engine().runKernel('Conv2DBackpropInput', { dy, filter: w }, { inputShape: c.x, ...attrs } as never) as tf.Tensor,
    ],
    [
      'Conv2DBackpropFilter',
      () => tf.engine().runKernel('Conv2DBackpropFilter', { x, dy }, { filterShape: c.w, ...attrs } as never) as tf.Tensor,
    ],
  ];
}
