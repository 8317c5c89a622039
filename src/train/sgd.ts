import * as tf from '@tensorflow/tfjs-core';
import type { Network } from '../nn/network.js';
import type { Split } from '../data/dataset.js';
import { selectSamples, sliceBatch } from '../data/batches.js';
import { lossFunction, type LossKind } from '../nn/loss.js';
import { Rng } from '../util/random.js';
import { SpecpipeError } from '../util/errors.js';
import { learningRate, type LrSchedule } from './schedule.js';
import { countCorrect, evaluateModel } from './evaluate.js';
import { registerSecondOrderGradients } from '../curvature/secondOrderGradients.js';
import type { Tensor } from '../nn/tensor.js';

export interface TrainOptions {
  readonly network: Network;
  /** Preprocessed training split (NCHW, src/data/preprocess.ts). */
  readonly train: Split;
  /** Preprocessed test split, evaluated after every epoch (optional). */
  readonly test?: Split;
  readonly epochs: number;
  /** Base learning rate η. */
  readonly lr: number;
  /** Momentum μ (PyTorch SGD, dampening 0, no Nesterov). */
  readonly momentum: number;
  /** L2 weight decay λ, added to every parameter's gradient as PyTorch SGD does (biases and BatchNorm included). */
  readonly weightDecay: number;
  readonly batchSize: number;
  /** Initialisation uses Rng(seed) (network.init), shuffling uses Rng(seed + 1). */
  readonly seed: number;
  readonly schedule?: LrSchedule;
  /** Epochs after which a snapshot is taken (0 = at initialisation), each in [0, epochs]. */
  readonly checkpoints?: readonly number[];
  readonly loss?: LossKind;
  /** Start from these parameters/buffers instead of network.init(seed) (not disposed by trainModel). */
  readonly initial?: { readonly params: readonly Tensor[]; readonly buffers: readonly Tensor[] };
  /** Batch size for test evaluation (default 500). */
  readonly evalBatchSize?: number;
}

/** Metrics of one epoch (one row of metrics.arrow). */
export interface EpochMetrics {
  /** 1-based epoch number. */
  readonly epoch: number;
  /** Learning rate used during the epoch. */
  readonly lr: number;
  /** Mean mini-batch loss during the epoch (train mode, sample-weighted), as PyTorch training loops report it. */
  readonly trainLoss: number;
  /** Fraction of training samples classified correctly during the epoch (train mode). */
  readonly trainAcc: number;
  /** Test loss / accuracy after the epoch (eval mode); NaN without a test split. */
  readonly testLoss: number;
  readonly testAcc: number;
  /** Wall time of the epoch, evaluation included. */
  readonly seconds: number;
  /** Training samples per second (training steps only). */
  readonly samplesPerSecond: number;
}

/** Parameters and buffers after `epoch` epochs, copied out of tfjs (tfjs layout, network order). */
export interface StateSnapshot {
  readonly epoch: number;
  readonly params: Float32Array[];
  readonly buffers: Float32Array[];
}

export type TrainProgress =
  | { readonly kind: 'epoch'; readonly metrics: EpochMetrics }
  | { readonly kind: 'checkpoint'; readonly snapshot: StateSnapshot }
  | { readonly kind: 'batch'; readonly epoch: number; readonly batch: number; readonly batches: number; readonly loss: number };

export interface TrainResult {
  /** Final parameters and buffers (caller disposes). */
  readonly params: Tensor[];
  readonly buffers: Tensor[];
  readonly history: EpochMetrics[];
  readonly checkpoints: StateSnapshot[];
}

function snapshot(epoch: number, params: readonly tf.Tensor[], buffers: readonly tf.Tensor[]): StateSnapshot {
  return {
    epoch,
    params: params.map((p) => Float32Array.from(p.dataSync() as Float32Array)),
    buffers: buffers.map((b) => Float32Array.from(b.dataSync() as Float32Array)),
  };
}

function checkOptions(o: TrainOptions): void {
  const positiveInt = (name: string, v: number): void => {
    if (!Number.isInteger(v) || v < 1) throw new SpecpipeError('bad-option', `${name} must be a positive integer, received ${v}`);
  };
  if (!Number.isInteger(o.epochs) || o.epochs < 0)
    throw new SpecpipeError('bad-option', `epochs must be a non-negative integer, received ${o.epochs}`);
  positiveInt('batch size', o.batchSize);
  if (!(o.lr >= 0) || !Number.isFinite(o.lr))
    throw new SpecpipeError('bad-option', `lr must be a non-negative number, received ${o.lr}`);
  if (!(o.momentum >= 0 && o.momentum < 1))
    throw new SpecpipeError('bad-option', `momentum must be in [0, 1), received ${o.momentum}`);
  if (!(o.weightDecay >= 0))
    throw new SpecpipeError('bad-option', `weight decay must be non-negative, received ${o.weightDecay}`);
  for (const e of o.checkpoints ?? []) {
    if (!Number.isInteger(e) || e < 0 || e > o.epochs)
      throw new SpecpipeError('bad-option', `checkpoint epochs must be integers in [0, ${o.epochs}], received ${e}`);
  }
  if (o.train.shape[0] === 0) throw new SpecpipeError('bad-option', 'the training split is empty');
}

/**
 * Mini-batch SGD with momentum and weight decay, PyTorch semantics (torch.optim.SGD, dampening 0, nesterov False):
 *
 *   d = ∇L(θ) + λθ;   b ← d (first step), b ← μ·b + d (later steps);   θ ← θ − η_e·b,
 *
 * with η_e from the schedule, one pass over a fresh Rng-seeded permutation of the training split per epoch
 * (the last batch may be smaller), BatchNorm in train mode (its running statistics updated every step).
 * Same seed, options, data and backend ⇒ bit-identical weights.
 */
export async function trainModel(options: TrainOptions, onProgress?: (p: TrainProgress) => void): Promise<TrainResult> {
  checkOptions(options);
  registerSecondOrderGradients(); // Node's tfjs-core registers no gradient rules
  const { network, train, epochs, batchSize } = options;
  const schedule = options.schedule ?? { kind: 'constant' };
  const lossFn = lossFunction(options.loss ?? 'cross-entropy');
  const checkpointEpochs = new Set(options.checkpoints ?? []);
  const classes = network.spec.classes;

  let params: tf.Tensor[];
  let buffers: tf.Tensor[];
  if (options.initial !== undefined) {
    params = options.initial.params.map((t) => tf.clone(t));
    buffers = options.initial.buffers.map((t) => tf.clone(t));
  } else {
    ({ params, buffers } = network.init(options.seed));
  }
  let velocity: tf.Tensor[] | undefined;
  const shuffleRng = new Rng(options.seed + 1);
  const history: EpochMetrics[] = [];
  const checkpoints: StateSnapshot[] = [];
  const emitCheckpoint = (epoch: number): void => {
    if (!checkpointEpochs.has(epoch)) return;
    const s = snapshot(epoch, params, buffers);
    checkpoints.push(s);
    onProgress?.({ kind: 'checkpoint', snapshot: s });
  };
  emitCheckpoint(0);

  const n = train.shape[0];
  const order = new Int32Array(n);
  let lastYield = performance.now();
  for (let epoch = 0; epoch < epochs; epoch++) {
    const t0 = performance.now();
    const lr = learningRate(options.lr, schedule, epoch, epochs);
    for (let i = 0; i < n; i++) order[i] = i;
    shuffleRng.shuffle(order);
    let lossSum = 0;
    let correct = 0;
    const nBatches = Math.ceil(n / batchSize);
    for (let bi = 0; bi < nBatches; bi++) {
      const picked = selectSamples(train, order.subarray(bi * batchSize, Math.min(n, (bi + 1) * batchSize)));
      const batch = sliceBatch(picked, 0, picked.shape[0]);
      const out = tf.tidy(() => {
        const x = tf.tensor4d(batch.x, batch.shape);
        const y = tf.tensor1d(batch.labels, 'int32');
        let updated: tf.Tensor[] = [];
        let logits: tf.Tensor2D | undefined;
        const { value, grads } = tf.valueAndGrads((...ps: tf.Tensor[]) => {
          const f = network.forward(ps, buffers, x, 'train');
          updated = (f.updatedBuffers ?? []).map((t) => tf.keep(t));
          logits = tf.keep(f.logits);
          return lossFn(f.logits, y);
        })(params);
        const newVelocity: tf.Tensor[] = [];
        const newParams = params.map((p, i) => {
          let d = grads[i]!;
          if (options.weightDecay !== 0) d = tf.add(d, tf.mul(p, options.weightDecay));
          if (options.momentum !== 0) {
            d = velocity === undefined ? d : tf.add(tf.mul(velocity[i]!, options.momentum), d);
            newVelocity.push(d);
          }
          return tf.sub(p, tf.mul(d, lr));
        });
        return { value, newParams, newVelocity, updated, logits: logits! };
      });
      const batchLoss = out.value.dataSync()[0]!;
      lossSum += batchLoss * batch.labels.length;
      correct += countCorrect(out.logits.dataSync() as Float32Array, batch.labels, classes);
      tf.dispose([out.value, out.logits, ...params, ...(velocity ?? [])]);
      params = out.newParams;
      velocity = options.momentum !== 0 ? out.newVelocity : undefined;
      if (out.updated.length > 0) {
        tf.dispose(buffers);
        buffers = out.updated;
      }
      onProgress?.({ kind: 'batch', epoch: epoch + 1, batch: bi + 1, batches: nBatches, loss: batchLoss });
      if (performance.now() - lastYield > YIELD_MS) {
        await yieldToEventLoop();
        lastYield = performance.now();
      }
    }
    const trainSeconds = (performance.now() - t0) / 1000;
    const test =
      options.test === undefined
        ? undefined
        : evaluateModel(network, params, buffers, options.test, { batchSize: options.evalBatchSize, loss: options.loss });
    const metrics: EpochMetrics = {
      epoch: epoch + 1,
      lr,
      trainLoss: lossSum / n,
      trainAcc: correct / n,
      testLoss: test?.loss ?? NaN,
      testAcc: test?.accuracy ?? NaN,
      seconds: (performance.now() - t0) / 1000,
      samplesPerSecond: n / trainSeconds,
    };
    history.push(metrics);
    onProgress?.({ kind: 'epoch', metrics });
    emitCheckpoint(epoch + 1);
    await yieldToEventLoop();
    lastYield = performance.now();
  }
  tf.dispose(velocity ?? []);
  return { params, buffers, history, checkpoints };
}

/** Training yields to the event loop this often (ms) so progress displays and signals are served live. */
const YIELD_MS = 100;

function yieldToEventLoop(): Promise<void> {
  return new Promise((resolve) => setImmediate(resolve));
}
