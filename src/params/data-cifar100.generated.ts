/**
 * GENERATED from schemas/stages/data-cifar100.schema.json by scripts/gen-param-types.mjs (json-schema-to-typescript): do not edit.
 * Change the schema, then regenerate with `npm run gen:types` (test/params/generatedTypes.test.ts checks they agree).
 */
/**
 * CIFAR-100, binary version, fine labels: ROOT is cifar-100-binary or its parent. Relative to the pipeline file.
 */
export interface DataCifar100Params {
  /**
   * CIFAR-100, binary version, fine labels: ROOT is cifar-100-binary or its parent. Relative to the pipeline file.
   */
  root: string;
  train_per_class?: number;
  test_per_class?: number;
  classes?: number | string[];
}
