/**
 * GENERATED from schemas/stages/embed-tsne.schema.json by scripts/gen-param-types.mjs (json-schema-to-typescript): do not edit.
 * Change the schema, then regenerate with `npm run gen:types` (test/params/generatedTypes.test.ts checks they agree).
 */
/**
 * t-SNE of the class means g_c and cross-class means g_cc' of an upstream decompose/class-gradients artifact (Papyan's Figure 2; src/embed/tsne.ts). Seeded by the pipeline seed.
 */
export interface EmbedTsneParams {
  /**
   * default min(30, (n − 1)/3)
   */
  perplexity?: number;
  iterations: number;
  learning_rate?: number;
  /**
   * also embed g_cc (A2 vectors)
   */
  include_own: boolean;
}
