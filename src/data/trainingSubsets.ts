import type { Dataset } from './dataset.js';
import { balancedSubset } from './balancedSubset.js';

/** Balanced per-class subsets of a dataset's splits, as a training run selects them. */
export interface SubsetSizes {
  readonly train_per_class?: number;
  readonly test_per_class?: number;
}

/**
 * The samples a training run uses: balanced subsets of `train_per_class` training and
 * `test_per_class` test samples per class, drawn with Rng(seed) and Rng(seed ^ 0x7e57); a size
 * left out keeps the whole split. The train stage, `specpipe train` and every curvature stage
 * analysing a trained net call this with the same arguments, so they see the same samples.
 */
export function trainingSubsets(d: Dataset, sizes: SubsetSizes, seed: number): Dataset {
  return {
    ...d,
    train: sizes.train_per_class === undefined ? d.train : balancedSubset(d.train, sizes.train_per_class, seed, d.classes),
    test: sizes.test_per_class === undefined ? d.test : balancedSubset(d.test, sizes.test_per_class, seed ^ 0x7e57, d.classes),
  };
}
