/**
 * GENERATED from schemas/stages/data-fashion-mnist.schema.json by scripts/gen-param-types.mjs (json-schema-to-typescript): do not edit.
 * Change the schema, then regenerate with `npm run gen:types` (test/params/generatedTypes.test.ts checks they agree).
 */
/**
 * Fashion-MNIST from gzipped IDX files (Debian package dataset-fashion-mnist by default).
 */
export interface DataFashionMnistParams {
  /**
   * Directory of the four IDX .gz files (default: the Debian package's directory).
   */
  root?: string;
  train_per_class?: number;
  test_per_class?: number;
  classes?: number | string[];
}
