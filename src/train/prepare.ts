import type { Dataset, Split } from '../data/dataset.js';
import { channelStatistics, preprocessSplit, type Preprocess } from '../data/preprocess.js';
import { SpecpipeError } from '../util/errors.js';

export interface PreparedData {
  /** The preprocessing applied (stored in checkpoints as `specpipe.preprocess`). */
  readonly preprocess: Preprocess;
  readonly train: Split;
  readonly test: Split;
}

/**
 * The preprocessing of a training run: x ← (pad(x) − μ_c)/σ_c with μ_c, σ_c the per-channel mean and
 * (population) standard deviation of the *train* split's unpadded pixels, `pad` zeros on each side (2: 28→32).
 */
export function trainPreprocess(data: Dataset, pad = 0): Preprocess {
  if (!Number.isInteger(pad) || pad < 0)
    throw new SpecpipeError('bad-option', `--pad must be a non-negative integer, received ${pad}`);
  const { mean, std } = channelStatistics(data.train);
  return { mean, std, pad };
}

/** Applies `preprocess` (default: train-split statistics, `pad`) to both splits. */
export function prepareData(data: Dataset, pad = 0, preprocess: Preprocess = trainPreprocess(data, pad)): PreparedData {
  return { preprocess, train: preprocessSplit(data.train, preprocess), test: preprocessSplit(data.test, preprocess) };
}
