import * as tf from '@tensorflow/tfjs-core';
import { gradientConfigs, type MaxPoolRouteAdjoint } from './gradientConfigs.js';

/**
 * Registers gradient rules for every kernel specpipe's layers and losses use, made
 * second-order-correct so reverse-over-reverse (Hess·v = ∇_θ[(∇_θ ℓ)·v], Pearlmutter 1994)
 * is exact through Dense, Conv2D (stride, padding), ReLU, Tanh, Sigmoid, MaxPool, AvgPool,
 * global average pooling, Flatten, BatchNorm (elementary ops or tf.batchNorm), Add, Concat,
 * and both losses. See gradientConfigs.ts for why each rule is (re)written; measured on
 * tfjs 4.22: Node's tfjs-core registers no gradients at all, and the stock rules that reuse a
 * kernel's saved output (Tanh, Sigmoid, Exp, Softmax) are wrong under a second differentiation.
 *
 * The registry is global (one per thread): call once, at backend start (`initBackend` does;
 * curvature workers do too). Idempotent. First-order results are unchanged
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
 * ddy[o] = ddx[first argmax of window o] (row-major window order, strict > as the cpu kernel).
 * Built from k_h·k_w strided slices of the (−∞-padded) input, so any stride/padding works.
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
  return tf.tidy(() => {
    const info = tf.backend_util.computePool2DInfo(x.shape, filterSize, strides, 1, pad, dimRoundingMode);
    const { top, bottom, left, right } = info.padInfo;
    const [n, , , c] = x.shape;
    const { outHeight, outWidth, strideHeight, strideWidth, filterHeight, filterWidth } = info;
    const padding: [number, number][] = [[0, 0], [top, bottom], [left, right], [0, 0]];
    const xp = top + bottom + left + right > 0 ? tf.pad(x, padding, -Infinity) : x;
    const gp = top + bottom + left + right > 0 ? tf.pad(ddx, padding, 0) : ddx;
    let result: tf.Tensor4D = tf.zeros([n, outHeight, outWidth, c]);
    let unclaimed: tf.Tensor = tf.cast(tf.onesLike(y), 'bool');
    for (let di = 0; di < filterHeight; di++) {
      for (let dj = 0; dj < filterWidth; dj++) {
        const begin: [number, number, number, number] = [0, di, dj, 0];
        const end: [number, number, number, number] = [n, di + strideHeight * (outHeight - 1) + 1, dj + strideWidth * (outWidth - 1) + 1, c];
        const st: [number, number, number, number] = [1, strideHeight, strideWidth, 1];
        const xs = tf.stridedSlice(xp, begin, end, st) as tf.Tensor4D;
        const gs = tf.stridedSlice(gp, begin, end, st) as tf.Tensor4D;
        const hit = tf.logicalAnd(unclaimed, tf.equal(xs, y));
        result = tf.where(hit, gs, result);
        unclaimed = tf.logicalAnd(unclaimed, tf.logicalNot(hit));
      }
    }
    return result;
  });
};
