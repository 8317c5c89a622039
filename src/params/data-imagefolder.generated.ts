/**
 * GENERATED from schemas/stages/data-imagefolder.schema.json by scripts/gen-param-types.mjs (json-schema-to-typescript): do not edit.
 * Change the schema, then regenerate with `npm run gen:types` (test/params/generatedTypes.test.ts checks they agree).
 */
/**
 * An image folder ROOT/{train,val}/<class>/*.jpg|png|webp (ImageNet layout). Relative to the pipeline file.
 */
export interface DataImageFolderParams {
  /**
   * An image folder ROOT/{train,val}/<class>/*.jpg|png|webp (ImageNet layout). Relative to the pipeline file.
   */
  root: string;
  train_per_class?: number;
  test_per_class?: number;
  classes?: number | string[];
  /**
   * Side of the square the images are resized to.
   */
  image_size: number;
}
