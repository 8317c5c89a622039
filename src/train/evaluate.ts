import * as tf from '@tensorflow/tfjs-core';
import type { Network } from '../nn/network.js';
import type { Split } from '../data/dataset.js';
import { batches } from '../data/batches.js';
import { lossFunction, type LossKind } from '../nn/loss.js';
import type { Tensor } from '../nn/tensor.js';

export interface Evaluation {
  /** Mean loss (1/N) Σ_i ℓ(f(x_i), y_i) over the split, eval mode (BatchNorm running statistics). */
  readonly loss: number;
  /** Fraction of samples whose arg-max logit is the label. */
  readonly accuracy: number;
  readonly samples: number;
}

/** Number of rows whose arg-max equals the label (first maximum wins, as torch.argmax). */
export function countCorrect(logits: Float32Array, labels: Int32Array, classes: number): number {
  let correct = 0;
  for (let i = 0; i < labels.length; i++) {
    let best = 0;
    for (let k = 1; k < classes; k++) if (logits[i * classes + k]! > logits[i * classes + best]!) best = k;
    if (best === labels[i]) correct++;
  }
  return correct;
}

/** Loss and accuracy of a network over a (preprocessed) split, in batches, in eval mode; float64 accumulation. */
export function evaluateModel(
  network: Network,
  params: readonly Tensor[],
  buffers: readonly Tensor[],
  split: Split,
  options: { batchSize?: number; loss?: LossKind } = {},
): Evaluation {
  const lossFn = lossFunction(options.loss ?? 'cross-entropy');
  const bs = options.batchSize ?? 500;
  let lossSum = 0;
  let correct = 0;
  const n = split.shape[0];
  for (const b of batches(split, bs)) {
    const [l, logits] = tf.tidy(() => {
      const x = tf.tensor4d(b.x, b.shape);
      const y = tf.tensor1d(b.labels, 'int32');
      const z = network.forward(params, buffers, x, 'eval').logits;
      return [lossFn(z, y), z] as const;
    });
    lossSum += l.dataSync()[0]! * b.labels.length;
    correct += countCorrect(logits.dataSync() as Float32Array, b.labels, logits.shape[1]);
    l.dispose();
    logits.dispose();
  }
  return { loss: n === 0 ? NaN : lossSum / n, accuracy: n === 0 ? NaN : correct / n, samples: n };
}
