import type { ArrowColumn } from '../store/arrowFile.js';
import type { EpochMetrics } from './sgd.js';

/**
 * The columns of metrics.arrow, one row per epoch: epoch (Int32), train_loss, train_acc, test_loss, test_acc,
 * seconds, lr, samples_per_second (Float64). Shared by `specpipe train` and the pipeline's train stage.
 */
export function historyColumns(history: readonly EpochMetrics[]): Record<string, ArrowColumn> {
  return {
    epoch: Int32Array.from(history, (m) => m.epoch),
    train_loss: Float64Array.from(history, (m) => m.trainLoss),
    train_acc: Float64Array.from(history, (m) => m.trainAcc),
    test_loss: Float64Array.from(history, (m) => m.testLoss),
    test_acc: Float64Array.from(history, (m) => m.testAcc),
    seconds: Float64Array.from(history, (m) => m.seconds),
    lr: Float64Array.from(history, (m) => m.lr),
    samples_per_second: Float64Array.from(history, (m) => m.samplesPerSecond),
  };
}
