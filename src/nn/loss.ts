import * as tf from '@tensorflow/tfjs-core';
import type { Scalar, Tensor1D, Tensor2D } from './tensor.js';

/**
 * Training losses, written from elementary ops so tfjs can differentiate them twice.
 */
export type LossKind =
  /** ℓ(z, y) = −log softmax(z)_y; logit-space Hessian Q = diag(p) − p pᵀ (math.md §1). */
  | 'cross-entropy'
  /** ℓ(z, y) = ½‖z − e_y‖²; logit-space Hessian Q = I. */
  | 'mse';

/**
 * Mean softmax cross-entropy (1/N) Σ_i [log Σ_k exp(z_ik) − z_iy_i].
 * The log-sum-exp is shifted by the row maximum taken as a constant (outside the tape):
 * LSE is shift-invariant, so value and all derivatives are unchanged, and no Max/Equal
 * gradient is ever needed (tfjs has none for Equal, so grad-of-grad through tf.max fails).
 */
export function softmaxCrossEntropy(logits: Tensor2D, labels: Tensor1D): Scalar {
  const [n, c] = logits.shape;
  const shift = rowMaxConstant(logits);
  const shifted = tf.sub(logits, shift);
  const lse = tf.add(tf.log(tf.sum(tf.exp(shifted), 1)), tf.reshape(shift, [n]));
  const picked = tf.sum(tf.mul(logits, tf.cast(tf.oneHot(labels, c), 'float32')), 1);
  return tf.mean(tf.sub(lse, picked));
}

/** Mean squared error against one-hot targets, (1/N) Σ_i ½‖z_i − e_{y_i}‖². */
export function meanSquaredError(logits: Tensor2D, labels: Tensor1D): Scalar {
  const c = logits.shape[1];
  const diff = tf.sub(logits, tf.cast(tf.oneHot(labels, c), 'float32'));
  return tf.mul(tf.scalar(0.5), tf.mean(tf.sum(tf.square(diff), 1)));
}

export function lossFunction(kind: LossKind): (logits: Tensor2D, labels: Tensor1D) => Scalar {
  return kind === 'mse' ? meanSquaredError : softmaxCrossEntropy;
}

/** Row maxima of `logits` as a fresh constant tensor [N, 1] (not recorded on any gradient tape). */
function rowMaxConstant(logits: tf.Tensor2D): tf.Tensor2D {
  const [n, c] = logits.shape;
  const z = logits.dataSync();
  const m = new Float32Array(n);
  for (let i = 0; i < n; i++) {
    let best = -Infinity;
    for (let k = 0; k < c; k++) best = Math.max(best, z[i * c + k]!);
    m[i] = best;
  }
  return tf.tensor2d(m, [n, 1]);
}
