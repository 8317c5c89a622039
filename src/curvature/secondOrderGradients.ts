import * as tf from '@tensorflow/tfjs-core';
import { gradientConfigs } from './gradientConfigs.js';
import type { MaxPoolRouteAdjoint } from './maxPoolRoute.js';
import { MAX_POOL_ROUTE_KERNEL } from '../backend/native/elementwiseKernels.js';

/**
 * Registers gradient rules for every kernel specpipe's layers and losses use, made
 * second-order-correct so reverse-over-reverse (Hess·v = ∇_θ[(∇_θ ℓ)·v], Pearlmutter 1994)
 * is exact through Dense, Conv2D (stride, padding), ReLU, Tanh, Sigmoid, MaxPool, AvgPool,
 * global average pooling, Flatten, BatchNorm (elementary ops or tf.batchNorm), Add, Concat,
 * and both losses. See gradientConfigs.ts for why each rule is (re)written; measured on
 * tfjs 4.22: Node's tfjs-core registers no gradients at all, and the stock rules that reuse a
 * kernel's saved output (Tanh, Sigmoid, Exp, Softmax) are wrong under a second differentiation.
 *
 * The registry is global (one per thread). Whoever differentiates calls it: BatchCurvature's
 * constructor (so every curvature session and shard) and trainModel (src/train/sgd.ts); the
 * backend layer below knows nothing of it. Idempotent. First-order results are unchanged
 * (test/curvature/secondOrderGradients.test.ts).
 */
export function registerSecondOrderGradients(): void {
  if (registered) return;
  registered = true;
  for (const config of gradientConfigs(maxPoolRouteAdjoint)) tf.registerGradient(config);
}

let registered = false;

/** True once `registerSecondOrderGradients` ran in this thread. */
export function secondOrderGradientsRegistered(): boolean {
  return registered;
}

type Pair = [number, number] | number;
type PoolPad = 'valid' | 'same' | number;

/**
 * Adjoint of max-pool's gradient routing with respect to dy: for each output window o,
 * ddy[o] = ddx[first argmax of window o] (same tie rule as MaxPoolGrad: strict >, row-major
 * window order).
 * - Windows that do not overlap ('valid', stride ≥ window, as in LeNet and VGG): the 0/1 mask
 *   M = MaxPoolGrad(1, x, y) marks each window's argmax, and ddy = k_h k_w · avgPool(ddx ⊙ M).
 * - Overlapping windows or padding: argmax positions from MaxPoolWithArgmax, then one gather.
 * (Measured on the cpu backend, 256 LeNet samples: a k_h·k_w StridedSlice formulation took
 * 7.5 s, argmax + gather 1.6 s, the mask formulation ≈ 0.1 s.)
 * - On the cpu backend with specpipe's kernels registered: one MAX_POOL_ROUTE_KERNEL pass.
 */
export const maxPoolRouteAdjoint: MaxPoolRouteAdjoint = function maxPoolRouteAdjoint(
  ddx: tf.Tensor4D,
  x: tf.Tensor4D,
  y: tf.Tensor4D,
  filterSize: Pair,
  strides: Pair,
  pad: PoolPad,
  dimRoundingMode?: 'floor' | 'round' | 'ceil',
): tf.Tensor4D {
  if (tf.getKernel(MAX_POOL_ROUTE_KERNEL, tf.getBackend()) !== undefined) {
    // One native pass (cpu backend with specpipe's kernels, src/backend/native/elementwiseKernels.ts).
    return tf.engine().runKernel(MAX_POOL_ROUTE_KERNEL, { ddx, x }, {
      filterSize,
      strides,
      pad,
      dimRoundingMode,
    } as unknown as tf.NamedAttrMap) as tf.Tensor4D;
  }
  return tf.tidy(() => {
    const [fh, fw] = typeof filterSize === 'number' ? [filterSize, filterSize] : filterSize;
    const [sh, sw] = typeof strides === 'number' ? [strides, strides] : strides;
    if ((pad === 'valid' || pad === 0) && sh >= fh && sw >= fw) {
      const mask = tf.engine().runKernel('MaxPoolGrad', { dy: tf.onesLike(y), input: x, output: y }, {
        filterSize,
        strides,
        pad,
        dimRoundingMode,
      } as unknown as tf.NamedAttrMap) as tf.Tensor4D;
      return tf.mul(tf.avgPool(tf.mul(ddx, mask), filterSize, strides, 'valid'), tf.scalar(fh * fw)) as tf.Tensor4D;
    }
    const { indexes } = tf.maxPoolWithArgmax(x, filterSize, strides, pad as 'valid' | 'same', true);
    return tf.reshape(tf.gather(tf.reshape(ddx, [-1]), tf.reshape(indexes!, [-1])), y.shape) as tf.Tensor4D;
  });
};
