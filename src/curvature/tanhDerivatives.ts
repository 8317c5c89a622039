import * as tf from '@tensorflow/tfjs-core';
import { TANH_GRAD_KERNEL, TANH_GRAD2_KERNEL } from '../backend/native/elementwiseKernels.js';

/**
 * The tanh derivative chains of an MLP layer's backward pass and of its second differentiation
 * (Hess·v, G·v by reverse-over-reverse), t = tanh(x) recomputed from the saved input x (rules never
 * read a kernel's saved output: gradientConfigs.ts):
 *
 *     tanhGrad(dy, x)      = dy·(1 − t²)                      (d tanh(x)/dx = 1 − t²)
 *     tanhGrad2(g, dy, x)  = ∂/∂x [g·dy·(1 − t²)] = −2·g·dy·t·(1 − t²)
 *
 * With the C library registered (src/backend/openblasKernels.ts) each is ONE kernel: one pass over
 * the elements and one output array, where the tfjs op chain runs 4 kernels (Tanh, Square, Sub,
 * Multiply) for tanhGrad and 10 for its gradient in x; the kernels compute every float32 operation
 * of the chains in the same order, so results are bit for bit those of the ops below
 * (test/backend/tanhGradKernels.test.ts). Measured (MLP Hess·v block product, issue 14): Tanh 23% and
 * Multiply 15% of the kernel time before this fusion.
 *
 * Each fused kernel has its gradient rule (gradientConfigs.ts), so either stays differentiable:
 *     ∂tanhGrad/∂dy = tanhGrad(·, x)     ∂tanhGrad/∂x = tanhGrad2(·, dy, x)
 *     ∂tanhGrad2/∂g = tanhGrad2(·, dy, x)   ∂tanhGrad2/∂dy = tanhGrad2(·, g, x)
 *     ∂tanhGrad2/∂x = −2·(·)·g·dy·(1 − t²)(1 − 3t²)   (third order; plain ops)
 */
export function tanhGrad(dy: tf.Tensor, x: tf.Tensor): tf.Tensor {
  if (fused(TANH_GRAD_KERNEL, [dy, x])) return tf.engine().runKernel(TANH_GRAD_KERNEL, { dy, x }) as tf.Tensor;
  return tf.mul(dy, tf.sub(tf.scalar(1), tf.square(tf.tanh(x))));
}

/** ∂/∂x [g·tanhGrad(dy, x)] = ((−(g·dy))·(t·2))·(1 − t²), in the order the unfused rules compute it. */
export function tanhGrad2(g: tf.Tensor, dy: tf.Tensor, x: tf.Tensor): tf.Tensor {
  if (fused(TANH_GRAD2_KERNEL, [g, dy, x])) return tf.engine().runKernel(TANH_GRAD2_KERNEL, { g, dy, x }) as tf.Tensor;
  const t = tf.tanh(x);
  return tanhGrad(tf.mul(tf.neg(tf.mul(g, dy)), tf.mul(t, tf.scalar(2))), x);
}

/** ∂/∂x of tanhGrad2(g, dy, x) along h: −2·h·g·dy·(1 − t²)(1 − 3t²) (third order: never on a hot path). */
export function tanhGrad3(h: tf.Tensor, g: tf.Tensor, dy: tf.Tensor, x: tf.Tensor): tf.Tensor {
  const t = tf.tanh(x);
  const t2 = tf.square(t);
  const d = tf.mul(tf.sub(tf.scalar(1), t2), tf.sub(tf.scalar(1), tf.mul(tf.scalar(3), t2)));
  return tf.mul(tf.mul(tf.mul(tf.mul(h, g), dy), d), tf.scalar(-2));
}

/** The fused kernel applies: registered for this backend, float32 inputs of one shape. */
function fused(kernel: string, inputs: readonly tf.Tensor[]): boolean {
  if (tf.getKernel(kernel, tf.getBackend()) === undefined) return false;
  const shape = inputs[0]!.shape;
  return inputs.every((t) => t.dtype === 'float32' && tf.util.arraysEqual(t.shape, shape));
}
