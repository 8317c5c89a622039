/**
 * GENERATED from schemas/stages/data-cifar10.schema.json by scripts/gen-param-types.mjs (json-schema-to-typescript): do not edit.
 * Change the schema, then regenerate with `npm run gen:types` (test/params/generatedTypes.test.ts checks they agree).
 */
/**
 * CIFAR-10, binary version (https://www.cs.toronto.edu/~kriz/cifar.html): ROOT is cifar-10-batches-bin or its parent. Relative to the pipeline file.
 */
export interface DataCifar10Params {
  /**
   * CIFAR-10, binary version (https://www.cs.toronto.edu/~kriz/cifar.html): ROOT is cifar-10-batches-bin or its parent. Relative to the pipeline file.
   */
  root: string;
  train_per_class?: number;
  test_per_class?: number;
  classes?: number | string[];
}
