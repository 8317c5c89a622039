import * as tf from '@tensorflow/tfjs-core';
import type { Network } from '../nn/network.js';
import { lossFunction, type LossKind } from '../nn/loss.js';
import type { Batch } from '../data/batches.js';
import { flatSize, flattenToFloat32 } from './flatParameters.js';
import { RecordedTape, canRecordTape, sharedTapeAvailable } from './sharedTape.js';

/**
 * Curvature products over ONE batch of samples, in float32 tfjs, by reverse-over-reverse
 * autodiff (needs `registerSecondOrderGradients()`). Every result is a SUM over the batch's
 * samples i (not a mean), flattened in parameter order; callers accumulate batches in float64
 * and divide by N (math.md §1–2). The network runs in 'eval' mode: BatchNorm uses its running
 * statistics, Dropout is the identity.
 *
 * Notation (math.md §1): z_i = f(x_i; θ) logits, ℓ_i = ℓ(z_i, y_i), J_i = ∂z_i/∂θ,
 * Q_i = ∂²ℓ_i/∂z_i² (softmax CE: diag(p_i) − p_i p_iᵀ; MSE ½‖z − e_y‖²: I).
 */
export class BatchCurvature {
  readonly size: number;
  /** Number of batch-level product evaluations run (the spy tests use to prove the matrix-free path ran). */
  evaluations = 0;
  /**
   * Second-order products back-propagate through a kept tape (sharedTape.ts; default whenever
   * tfjs's tape internals are available): G·v and (Hess·v, G·v) reuse the forward pass recorded
   * for J·v in their final VJP, and every second backward skips zero-derivative inputs (ReLU's
   * step mask, max-pool routing). false: plain tf.grads, running the network again for the VJP.
   */
  shareForward = sharedTapeAvailable();
  readonly #network: Network;
  readonly #params: readonly tf.Tensor[];
  readonly #buffers: readonly tf.Tensor[];
  readonly #loss: LossKind;

  constructor(network: Network, params: readonly tf.Tensor[], buffers: readonly tf.Tensor[], loss: LossKind) {
    this.#network = network;
    this.#params = params;
    this.#buffers = buffers;
    this.#loss = loss;
    this.size = flatSize(params);
  }

  #logits(theta: readonly tf.Tensor[], x: tf.Tensor4D): tf.Tensor2D {
    return this.#network.forward(theta, this.#buffers, x, 'eval').logits;
  }

  /** Σ_i ℓ_i over the batch (the loss modules return means; times n). */
  #lossSum(z: tf.Tensor2D, labels: tf.Tensor1D): tf.Scalar {
    return tf.mul(lossFunction(this.#loss)(z, labels), tf.scalar(z.shape[0]));
  }

  #inputs(batch: Batch): { x: tf.Tensor4D; labels: tf.Tensor1D } {
    return { x: tf.tensor4d(batch.x, batch.shape), labels: tf.tensor1d(batch.labels, 'int32') };
  }

  /** Σ_i ∇_θ ℓ_i. */
  gradientSum(batch: Batch): Float32Array {
    this.evaluations++;
    return tidyArrays(() => {
      const { x, labels } = this.#inputs(batch);
      const g = tf.grads((...theta: tf.Tensor[]) => this.#lossSum(this.#logits(theta, x), labels))([...this.#params]);
      return flattenToFloat32(g, this.size);
    });
  }

  /** Logits z_i, row-major [n, C]. */
  logits(batch: Batch): Float32Array {
    return tidyArrays(() => (this.#logits(this.#params, this.#inputs(batch).x).dataSync() as Float32Array).slice());
  }

  /**
   * Σ_i ∂²ℓ_i/∂θ² v by reverse-over-reverse: ∇_θ[(∇_θ Σ_i ℓ_i) · v] (Pearlmutter's R-operator
   * computed as the gradient of a directional derivative).
   */
  hessianVectorSum(batch: Batch, v: readonly tf.Tensor[]): Float32Array {
    this.evaluations++;
    return tidyArrays(() => {
      const { x, labels } = this.#inputs(batch);
      const grad = tf.grads((...theta: tf.Tensor[]) => this.#lossSum(this.#logits(theta, x), labels));
      if (!this.shareForward || !canRecordTape()) {
        const hv = tf.grads((...theta: tf.Tensor[]) => dot(grad(theta), v))([...this.#params]);
        return flattenToFloat32(hv, this.size);
      }
      const { tape, result } = RecordedTape.record(() => dot(grad([...this.#params]), v));
      try {
        return flattenToFloat32(tape.gradients(this.#params, result), this.size);
      } finally {
        tape.release();
      }
    });
  }

  /**
   * Σ_i J_iᵀ Q_i J_i v (Gauss–Newton): J v by the double-VJP trick J v = ∇_u[(Jᵀu)·v] at u = 0,
   * w_i = Q_i (J v)_i in logit space, then one VJP Σ_i J_iᵀ w_i. The final VJP back-propagates
   * through the forward pass recorded for J v (sharedTape.ts) instead of running the network again.
   */
  ggnVectorSum(batch: Batch, v: readonly tf.Tensor[]): Float32Array {
    this.evaluations++;
    return tidyArrays(() => {
      const { x } = this.#inputs(batch);
      if (!this.shareForward || !canRecordTape()) {
        const { jv, logits } = this.#jacobianVector(x, v, undefined);
        const out = this.#vjp(x, this.#lossHessianTimes(logits, jv));
        logits.dispose();
        return out;
      }
      const { tape, logits, directional, u } = this.#recordDirectional(x, v, undefined);
      try {
        const [jv] = tape.gradients([u], directional);
        const w = this.#lossHessianTimes(logits, jv as tf.Tensor2D);
        return flattenToFloat32(tape.gradients(this.#params, logits, w), this.size);
      } finally {
        tape.release();
        logits.dispose();
      }
    });
  }

  /**
   * Both Σ_i ∂²ℓ_i/∂θ² v and Σ_i J_iᵀQ_iJ_i v from one double-backward pass plus one VJP:
   * with a dummy cotangent u (= 0), F(θ, u) = ∇_θ[Σ_i ℓ_i + Σ_i z_i·u_i] · v gives
   * ∂F/∂θ = Hess v (the u-term vanishes at u = 0) and ∂F/∂u = J v; the VJP reuses F's forward pass.
   */
  hessianAndGgnVectorSum(batch: Batch, v: readonly tf.Tensor[]): { hessian: Float32Array; ggn: Float32Array } {
    this.evaluations++;
    return tidyArrays(() => {
      const { x, labels } = this.#inputs(batch);
      if (!this.shareForward || !canRecordTape()) {
        const { jv, logits, hv } = this.#jacobianVector(x, v, labels);
        const hessian = flattenToFloat32(hv!, this.size);
        const ggn = this.#vjp(x, this.#lossHessianTimes(logits, jv));
        logits.dispose();
        return { hessian, ggn };
      }
      const { tape, logits, directional, u } = this.#recordDirectional(x, v, labels);
      try {
        const all = tape.gradients([...this.#params, u], directional);
        const np = this.#params.length;
        const hessian = flattenToFloat32(all.slice(0, np), this.size);
        const w = this.#lossHessianTimes(logits, all[np] as tf.Tensor2D);
        return { hessian, ggn: flattenToFloat32(tape.gradients(this.#params, logits, w), this.size) };
      } finally {
        tape.release();
        logits.dispose();
      }
    });
  }

  /**
   * Records F(θ, u) = ∇_θ[Σ_i ℓ_i (if labels) + Σ_i z_i·u_i] · v at u = 0 on a kept tape, so
   * that ∂F/∂(θ, u) and later VJPs through the logits z can all be back-propagated from it.
   * `logits` is kept (the caller disposes it).
   */
  #recordDirectional(
    x: tf.Tensor4D,
    v: readonly tf.Tensor[],
    labels: tf.Tensor1D | undefined,
  ): { tape: RecordedTape; logits: tf.Tensor2D; directional: tf.Scalar; u: tf.Tensor2D } {
    const u = tf.zeros([x.shape[0], this.#network.spec.classes]) as tf.Tensor2D;
    let logits: tf.Tensor2D | undefined;
    const { tape, result } = RecordedTape.record(() => {
      const inner = tf.grads((...theta: tf.Tensor[]) => {
        const z = this.#logits(theta, x);
        logits = tf.keep(z);
        const coupling = tf.sum(tf.mul(z, u));
        return labels === undefined ? coupling : tf.add(this.#lossSum(z, labels), coupling);
      });
      return dot(inner([...this.#params]), v);
    });
    return { tape, logits: logits!, directional: result, u };
  }

  /**
   * For each cotangent set k (row-major [n, C] per-sample logit cotangents u_ik): Σ_i J_iᵀ u_ik.
   * One forward and backward per set (tfjs cannot replay a tape for several cotangents).
   */
  cotangentProductSums(batch: Batch, cotangents: readonly Float32Array[]): Float32Array[] {
    this.evaluations++;
    return tidyArrays(() => {
      const { x } = this.#inputs(batch);
      const c = this.#network.spec.classes;
      return cotangents.map((u) => this.#vjp(x, tf.tensor2d(u, [batch.shape[0], c])));
    });
  }

  /** Σ_i J_iᵀ w_i for logit cotangents w [n, C]. */
  #vjp(x: tf.Tensor4D, w: tf.Tensor2D): Float32Array {
    const g = tf.grads((...theta: tf.Tensor[]) => tf.sum(tf.mul(this.#logits(theta, x), w)))([...this.#params]);
    return flattenToFloat32(g, this.size);
  }

  /**
   * J v (and Hess v when labels are given) by differentiating, with respect to a zero dummy
   * cotangent u, the directional derivative ∇_θ[Σ ℓ_i + Σ z_i·u_i]·v. Also returns the logits.
   */
  #jacobianVector(
    x: tf.Tensor4D,
    v: readonly tf.Tensor[],
    labels: tf.Tensor1D | undefined,
  ): { jv: tf.Tensor2D; logits: tf.Tensor2D; hv?: tf.Tensor[] } {
    const n = x.shape[0];
    const c = this.#network.spec.classes;
    const u = tf.zeros([n, c]) as tf.Tensor2D;
    let logits: tf.Tensor2D | undefined;
    const np = this.#params.length;
    // F(θ, u) = ∇_θ[Σ_i ℓ_i (if labels) + Σ_i z_i·u_i] · v
    const directional = (theta0: tf.Tensor[], u0: tf.Tensor): tf.Scalar => {
      const inner = tf.grads((...theta: tf.Tensor[]) => {
        const z = this.#logits(theta, x);
        if (logits === undefined) logits = tf.keep(tf.clone(z));
        const coupling = tf.sum(tf.mul(z, u0));
        return labels === undefined ? coupling : tf.add(this.#lossSum(z, labels), coupling);
      });
      return dot(inner(theta0), v);
    };
    if (labels === undefined) {
      // Only ∂F/∂u = J v is needed: differentiate with respect to u alone (θ held constant).
      const [jv] = tf.grads((u0: tf.Tensor) => directional([...this.#params], u0))([u]);
      return { jv: jv as tf.Tensor2D, logits: logits! };
    }
    const all = tf.grads((...args: tf.Tensor[]) => directional(args.slice(0, np), args[np]!))([...this.#params, u]);
    return { jv: all[np] as tf.Tensor2D, logits: logits!, hv: all.slice(0, np) };
  }

  /** w_i = Q_i u_i: CE p_i ⊙ u_i − p_i (p_i·u_i); MSE u_i. */
  #lossHessianTimes(logits: tf.Tensor2D, u: tf.Tensor2D): tf.Tensor2D {
    if (this.#loss === 'mse') return u;
    const p = tf.softmax(logits);
    const pu = tf.mul(p, u);
    return tf.sub(pu, tf.mul(p, tf.sum(pu, 1, true)));
  }
}

/** Σ_k ⟨a_k, b_k⟩ over matching lists of tensors. */
function dot(a: readonly tf.Tensor[], b: readonly tf.Tensor[]): tf.Scalar {
  let s: tf.Scalar = tf.scalar(0);
  for (let k = 0; k < a.length; k++) s = tf.add(s, tf.sum(tf.mul(a[k]!, b[k]!)));
  return s;
}

/**
 * tf.tidy for functions returning plain arrays: tidy walks its result looking for tensors, and
 * walking a P-long typed array element by element cost ~150 ms per call at P = 10⁵ (measured).
 */
function tidyArrays<T>(f: () => T): T {
  let out: T | undefined;
  tf.tidy(() => {
    out = f();
  });
  return out as T;
}
