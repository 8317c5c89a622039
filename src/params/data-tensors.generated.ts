/**
 * GENERATED from schemas/stages/data-tensors.schema.json by scripts/gen-param-types.mjs (json-schema-to-typescript): do not edit.
 * Change the schema, then regenerate with `npm run gen:types` (test/params/generatedTypes.test.ts checks they agree).
 */
/**
 * A safetensors file with images F32 [N, C, H, W] or [N, D], labels I64 [N], optional test_images / test_labels. Its sha256 is part of the stage key (the file may change under the same path).
 */
export interface DataTensorsParams {
  path: string;
  /**
   * Optional pin: planning fails when the file's sha256 differs. The file content enters the stage key either way (its `inputs` ingredient).
   */
  sha256?: string;
  train_per_class?: number;
  test_per_class?: number;
  classes?: number | string[];
}
