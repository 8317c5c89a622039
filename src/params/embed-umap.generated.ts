/**
 * GENERATED from schemas/stages/embed-umap.schema.json by scripts/gen-param-types.mjs (json-schema-to-typescript): do not edit.
 * Change the schema, then regenerate with `npm run gen:types` (test/params/generatedTypes.test.ts checks they agree).
 */
/**
 * UMAP (umap-js) of the class means g_c and cross-class means g_cc' of an upstream decompose/class-gradients artifact (src/embed/umap.ts). Seeded by the pipeline seed.
 */
export interface EmbedUmapParams {
  /**
   * default min(15, n − 1)
   */
  n_neighbors?: number;
  min_dist: number;
  epochs: number;
  include_own: boolean;
}
