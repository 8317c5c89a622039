import * as tf from '@tensorflow/tfjs-core';
import type { Network } from '../nn/network.js';
import { lossFunction, type LossKind } from '../nn/loss.js';
import type { Batch } from '../data/batches.js';
import { flatSize, flattenToFloat32, unflattenParameters } from './flatParameters.js';
import { RecordedTape, canRecordTape, sharedTapeAvailable } from './sharedTape.js';
import { RecordingCache, type BatchRecording } from './recordingCache.js';
import { registerSecondOrderGradients } from './secondOrderGradients.js';

/**
 * Curvature products over ONE batch of samples, in float32 tfjs, by reverse-over-reverse
 * autodiff (the constructor registers the second-order gradient rules in this thread,
 * `registerSecondOrderGradients()`, idempotent). Every result is a SUM over the batch's
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
  #recordings: RecordingCache | null = null;

  constructor(network: Network, params: readonly tf.Tensor[], buffers: readonly tf.Tensor[], loss: LossKind) {
    registerSecondOrderGradients();
    this.#network = network;
    this.#params = params;
    this.#buffers = buffers;
    this.#loss = loss;
    this.size = flatSize(params);
  }

  /**
   * Keeps each batch's recorded pass (forward and first backward) for every later product on it,
   * up to `budgetBytes` (recordingCache.ts); 0 records per call again. The caller promises that a
   * batch's `start` and size always name the same samples (one split per BatchCurvature, as the
   * product engines use it).
   */
  keepRecordings(budgetBytes: number): void {
    this.releaseRecordings();
    this.#recordings = budgetBytes > 0 ? new RecordingCache(budgetBytes) : null;
  }

  /** Frees the kept recordings (the cache stays on). */
  releaseRecordings(): void {
    this.#recordings?.clear();
  }

  /** A block of flat vectors as parameter-shaped tensors (free them with `disposeVectors`). */
  vectors(flat: readonly Float32Array[]): tf.Tensor[][] {
    return flat.map((v) => unflattenParameters(v, this.#network.params));
  }

  disposeVectors(vs: readonly (readonly tf.Tensor[])[]): void {
    tf.dispose(vs.flat());
  }

  /** `use` over batch's recording of `what` (kept, or made and released around `use`). */
  #recorded<T, R>(what: string, batch: Batch, record: () => BatchRecording<T>, use: (r: BatchRecording<T>) => R): R {
    if (this.#recordings !== null) return this.#recordings.with(what, batch.start, batch.shape[0], record, use);
    const r = record();
    try {
      return use(r);
    } finally {
      r.tape.release();
      tf.dispose([...r.kept]);
    }
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

  /** Σ_i ∂²ℓ_i/∂θ² v (one vector of `hessianVectorSums`). */
  hessianVectorSum(batch: Batch, v: readonly tf.Tensor[]): Float32Array {
    return this.hessianVectorSums(batch, [v])[0]!;
  }

  /** Σ_i J_iᵀ Q_i J_i v (one vector of `ggnVectorSums`). */
  ggnVectorSum(batch: Batch, v: readonly tf.Tensor[]): Float32Array {
    return this.ggnVectorSums(batch, [v])[0]!;
  }

  /** Σ_i ∂²ℓ_i/∂θ² v and Σ_i J_iᵀ Q_i J_i v (one vector of `hessianAndGgnVectorSums`). */
  hessianAndGgnVectorSum(batch: Batch, v: readonly tf.Tensor[]): { hessian: Float32Array; ggn: Float32Array } {
    const r = this.hessianAndGgnVectorSums(batch, [v]);
    return { hessian: r.hessian[0]!, ggn: r.ggn[0]! };
  }

  /**
   * Σ_i ∂²ℓ_i/∂θ² v_k for each v_k by reverse-over-reverse: ∇_θ[(∇_θ Σ_i ℓ_i) · v_k] (Pearlmutter's
   * R-operator computed as the gradient of a directional derivative). With the recorded tape the
   * forward and first backward pass (g = ∇_θ Σ_i ℓ_i) run ONCE for all k vectors; each vector then
   * costs one back-propagation through that recorded pass, seeded with v_k at g.
   */
  hessianVectorSums(batch: Batch, vs: readonly (readonly tf.Tensor[])[]): Float32Array[] {
    this.evaluations += vs.length;
    const gradient = (x: tf.Tensor4D, labels: tf.Tensor1D) =>
      tf.grads((...theta: tf.Tensor[]) => this.#lossSum(this.#logits(theta, x), labels));
    return tidyArrays(() => {
      if (!this.shareForward || !canRecordTape()) {
        const { x, labels } = this.#inputs(batch);
        const grad = gradient(x, labels);
        return vs.map((v) =>
          tidyArrays(() =>
            flattenToFloat32(tf.grads((...theta: tf.Tensor[]) => dot(grad(theta), v))([...this.#params]), this.size),
          ),
        );
      }
      return this.#derivativesAlong('hessian', batch, gradient, vs);
    });
  }

  /**
   * Σ_i Σ_c r_ic ∇²z_ic v_k for each v_k: the residual H = Hess − G (math.md §1) directly, with
   * r_i = ∂ℓ_i/∂z_i frozen at the current logits. g(θ) = Σ_i J_i(θ)ᵀ r_i equals the gradient at θ, and
   * its derivative along v is H v: the loss's own curvature Q never enters, so this costs what
   * Hess·v costs (one recorded forward and backward pass per block, one back-propagation per vector)
   * instead of Hess·v plus a G·v VJP, and no Hess v − G v cancellation happens.
   */
  residualVectorSums(batch: Batch, vs: readonly (readonly tf.Tensor[])[]): Float32Array[] {
    if (!this.shareForward || !canRecordTape()) {
      // tf.grads refuses parameters g does not depend on (the last layer's bias: r is frozen), so here Hess v − G v.
      const { hessian, ggn } = this.hessianAndGgnVectorSums(batch, vs);
      return hessian.map((h, k) => h.map((hi, i) => hi - ggn[k]![i]!));
    }
    this.evaluations += vs.length;
    const frozenResidualGradient = (x: tf.Tensor4D, labels: tf.Tensor1D) => {
      const lossGradient = tf.grad((z: tf.Tensor) => this.#lossSum(z as tf.Tensor2D, labels));
      return tf.grads((...theta: tf.Tensor[]) => {
        const z = this.#logits(theta, x);
        return tf.sum(tf.mul(z, detached(lossGradient(detached(z)))));
      });
    };
    return tidyArrays(() => this.#derivativesAlong('residual', batch, frozenResidualGradient, vs));
  }

  /**
   * Σ_i J_iᵀ Q_i J_i v_k for each v_k (Gauss–Newton): J v by the double-VJP trick
   * J v = ∇_u[(Jᵀu)·v] at u = 0, w_i = Q_i (J v)_i in logit space, then one VJP Σ_i J_iᵀ w_i.
   * With the recorded tape the forward pass and Jᵀu run once for all vectors; each vector costs
   * one back-propagation to u (J v_k) and one VJP through the recorded forward pass.
   */
  ggnVectorSums(batch: Batch, vs: readonly (readonly tf.Tensor[])[]): Float32Array[] {
    this.evaluations += vs.length;
    return tidyArrays(() => {
      if (!this.shareForward || !canRecordTape()) {
        const { x } = this.#inputs(batch);
        return vs.map((v) =>
          tidyArrays(() => {
            const { jv, logits } = this.#jacobianVector(x, v, undefined);
            const out = this.#vjp(x, this.#lossHessianTimes(logits, jv));
            logits.dispose();
            return out;
          }),
        );
      }
      return this.#recorded(
        'jacobian',
        batch,
        () => this.#recordInner(this.#inputs(batch).x, undefined),
        ({ tape, value }) =>
          vs.map((v) =>
            tidyArrays(() => {
              const [jv] = tape.gradients([value.u], value.inner, v);
              const w = this.#lossHessianTimes(value.logits, jv as tf.Tensor2D);
              return flattenToFloat32(tape.gradients(this.#params, value.logits, w), this.size);
            }),
          ),
      );
    });
  }

  /**
   * Both Σ_i ∂²ℓ_i/∂θ² v_k and Σ_i J_iᵀQ_iJ_i v_k for each v_k, from one recorded double-backward
   * pass plus one VJP per vector: with a dummy cotangent u (= 0), F(θ, u) = ∇_θ[Σ_i ℓ_i + Σ_i z_i·u_i] · v
   * gives ∂F/∂θ = Hess v (the u-term vanishes at u = 0) and ∂F/∂u = J v; the VJP reuses F's forward pass.
   */
  hessianAndGgnVectorSums(batch: Batch, vs: readonly (readonly tf.Tensor[])[]): { hessian: Float32Array[]; ggn: Float32Array[] } {
    this.evaluations += vs.length;
    const hessian: Float32Array[] = [];
    const ggn: Float32Array[] = [];
    tidyArrays(() => {
      if (!this.shareForward || !canRecordTape()) {
        const { x, labels } = this.#inputs(batch);
        for (const v of vs)
          tidyArrays(() => {
            const { jv, logits, hv } = this.#jacobianVector(x, v, labels);
            hessian.push(flattenToFloat32(hv!, this.size));
            ggn.push(this.#vjp(x, this.#lossHessianTimes(logits, jv)));
            logits.dispose();
          });
        return;
      }
      const np = this.#params.length;
      const record = () => {
        const { x, labels } = this.#inputs(batch);
        return this.#recordInner(x, labels);
      };
      this.#recorded('hessian+jacobian', batch, record, ({ tape, value }) => {
        for (const v of vs)
          tidyArrays(() => {
            const all = tape.gradients([...this.#params, value.u], value.inner, v);
            hessian.push(flattenToFloat32(all.slice(0, np), this.size));
            const w = this.#lossHessianTimes(value.logits, all[np] as tf.Tensor2D);
            ggn.push(flattenToFloat32(tape.gradients(this.#params, value.logits, w), this.size));
          });
      });
    });
    return { hessian, ggn };
  }

  /**
   * ∂(g(θ)·v_k)/∂θ for each v_k, g parameter-shaped: g's computation (forward and backward pass) is
   * recorded ONCE, then each vector costs one back-propagation through the record, seeded with v_k at g.
   */
  #derivativesAlong(
    what: string,
    batch: Batch,
    g: (x: tf.Tensor4D, labels: tf.Tensor1D) => (theta: tf.Tensor[]) => tf.Tensor[],
    vs: readonly (readonly tf.Tensor[])[],
  ): Float32Array[] {
    const record = (): BatchRecording<tf.Tensor[]> => {
      const { x, labels } = this.#inputs(batch);
      const { tape, result } = RecordedTape.record(() => g(x, labels)([...this.#params]));
      return { tape, value: result, kept: result };
    };
    return this.#recorded(what, batch, record, ({ tape, value }) =>
      vs.map((v) => tidyArrays(() => flattenToFloat32(tape.gradients(this.#params, value, v), this.size))),
    );
  }

  /**
   * Records g(θ, u) = ∇_θ[Σ_i ℓ_i (if labels) + Σ_i z_i·u_i] at u = 0 on a kept tape, so that for
   * any v, back-propagating v from g gives ∂(g·v)/∂(θ, u) = (Hess v, J v), and VJPs through the
   * logits z can be back-propagated from it too. `logits` is kept (the caller disposes it).
   */
  #recordInner(
    x: tf.Tensor4D,
    labels: tf.Tensor1D | undefined,
  ): BatchRecording<{ logits: tf.Tensor2D; inner: tf.Tensor[]; u: tf.Tensor2D }> {
    const u = tf.zeros([x.shape[0], this.#network.spec.classes]) as tf.Tensor2D;
    let logits: tf.Tensor2D | undefined;
    const { tape, result } = RecordedTape.record(() =>
      tf.grads((...theta: tf.Tensor[]) => {
        const z = this.#logits(theta, x);
        logits = tf.keep(z);
        const coupling = tf.sum(tf.mul(z, u));
        return labels === undefined ? coupling : tf.add(this.#lossSum(z, labels), coupling);
      })([...this.#params]),
    );
    return { tape, value: { logits: logits!, inner: result, u }, kept: [logits!, u, ...result] };
  }

  /**
   * For each cotangent set k (row-major [n, C] per-sample logit cotangents u_ik): Σ_i J_iᵀ u_ik.
   * With the recorded tape the forward pass z = f(x; θ) runs ONCE and each set costs one
   * back-propagation from z seeded with u_k (the same values tf.grads of Σ z ⊙ u_k computes: its
   * seed at z is 1·u_k); `decompose/class-gradients` asks C sets per batch, so this saves C − 1
   * forward passes (issue 14: 10 VJPs of the 784-64-64-10 tanh MLP at batch 500, 21.5 → 11.0 ms CPU).
   * Without it, one forward and backward per set (plain tf.grads).
   */
  cotangentProductSums(batch: Batch, cotangents: readonly Float32Array[]): Float32Array[] {
    this.evaluations++;
    return tidyArrays(() => {
      const c = this.#network.spec.classes;
      const w = (u: Float32Array): tf.Tensor2D => tf.tensor2d(u, [batch.shape[0], c]);
      if (!this.shareForward || !canRecordTape()) {
        const { x } = this.#inputs(batch);
        return cotangents.map((u) => this.#vjp(x, w(u)));
      }
      const record = (): BatchRecording<tf.Tensor2D> => {
        const { x } = this.#inputs(batch);
        const { tape, result } = RecordedTape.record(() => this.#logits([...this.#params], x));
        return { tape, value: result, kept: [result] };
      };
      return this.#recorded('logits', batch, record, ({ tape, value }) =>
        cotangents.map((u) => tidyArrays(() => flattenToFloat32(tape.gradients(this.#params, value, w(u)), this.size))),
      );
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

/** A copy of t's values with no link to the computation that made it (tfjs has no stop-gradient op). */
function detached(t: tf.Tensor): tf.Tensor {
  return tf.tensor(t.dataSync(), t.shape, 'float32');
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
