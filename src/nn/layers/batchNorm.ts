import * as tf from '@tensorflow/tfjs-core';
import type { ForwardMode } from '../network.js';

/** PyTorch BatchNorm defaults: eps = 1e-5, momentum = 0.1. */
export const BATCH_NORM_EPS = 1e-5;
export const BATCH_NORM_MOMENTUM = 0.1;

export interface BatchNormState {
  readonly runningMean: tf.Tensor;
  readonly runningVar: tf.Tensor;
  readonly numBatchesTracked: tf.Tensor;
}

/**
 * Batch normalisation over the last (channel) axis of NHWC or [N, C] activations (PyTorch nn.BatchNorm2d/1d):
 *
 *   train: μ = mean_{n,h,w} x,  σ² = mean_{n,h,w} (x − μ)² (biased),  y = (x − μ)/√(σ² + ε) · γ + β;
 *          running_mean ← (1 − m)·running_mean + m·μ,
 *          running_var  ← (1 − m)·running_var  + m·σ²·M/(M − 1)   (unbiased, M = N·H·W),
 *          num_batches_tracked ← num_batches_tracked + 1           (m = 0.1, ε = 1e-5; torch.nn.functional.batch_norm)
 *   eval:  y = (x − running_mean)/√(running_var + ε) · γ + β  — what curvature analysis uses.
 *
 * Gradients flow through μ and σ² in train mode, as in PyTorch. Written from elementary ops only
 * (sum, sub, square, add, sqrt, div, mul) so tfjs can differentiate it twice.
 */
export function batchNorm<T extends tf.Tensor>(
  x: T,
  weight: tf.Tensor,
  bias: tf.Tensor,
  state: BatchNormState,
  mode: ForwardMode,
): { y: T; updated?: BatchNormState } {
  if (mode === 'eval') {
    const scale = tf.div(weight, tf.sqrt(tf.add(state.runningVar, BATCH_NORM_EPS)));
    return { y: tf.add(tf.mul(tf.sub(x, state.runningMean), scale), bias) };
  }
  const axes = x.shape.slice(0, -1).map((_, i) => i);
  const count = x.size / x.shape[x.rank - 1]!;
  const mean = meanOver(x, axes, count);
  const centered = tf.sub(x, mean);
  const variance = meanOver(tf.square(centered), axes, count);
  const y = tf.add(tf.mul(centered, tf.div(weight, tf.sqrt(tf.add(variance, BATCH_NORM_EPS)))), bias) as T;
  const m = BATCH_NORM_MOMENTUM;
  const unbiased = count > 1 ? tf.mul(variance, count / (count - 1)) : variance;
  const updated: BatchNormState = {
    runningMean: tf.add(tf.mul(state.runningMean, 1 - m), tf.mul(mean, m)),
    runningVar: tf.add(tf.mul(state.runningVar, 1 - m), tf.mul(unbiased, m)),
    numBatchesTracked: tf.add(state.numBatchesTracked, 1),
  };
  return { y, updated };
}

/**
 * mean over `axes` as (Σ x)·(1/M): the 1/M scaling then happens on the reduced [C] tensor in the backward pass too,
 * where tf.mean's gradient divides a full-size tensor (measured: ~20% of a ResNet training step on the cpu backend).
 */
function meanOver(x: tf.Tensor, axes: number[], count: number): tf.Tensor {
  return tf.mul(tf.sum(x, axes), 1 / count);
}
