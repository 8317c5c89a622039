import * as tf from '@tensorflow/tfjs-core';
import type { ForwardMode } from '../network.js';

/**
 * Inverted dropout (PyTorch nn.Dropout(p)): in 'train' mode y = x ⊙ m / (1 − p) with m_i ~ Bernoulli(1 − p)
 * drawn from tfjs's seeded uniform generator (`seed`); in 'eval' mode (and for curvature analysis) the identity.
 * tfjs ops: randomUniform, greaterEqual, cast, mul.
 */
export function dropout<T extends tf.Tensor>(x: T, rate: number, mode: ForwardMode, seed: number): T {
  if (mode === 'eval' || rate === 0) return x;
  const keep = tf.cast(tf.greaterEqual(tf.randomUniform(x.shape, 0, 1, 'float32', seed), rate), 'float32');
  return tf.mul(x, tf.div(keep, 1 - rate));
}
