/**
 * GENERATED from schemas/stages/decompose-class-gradients.schema.json by scripts/gen-param-types.mjs (json-schema-to-typescript): do not edit.
 * Change the schema, then regenerate with `npm run gen:types` (test/params/generatedTypes.test.ts checks they agree).
 */
/**
 * Papyan's class / cross-class decomposition of G (math.md §3) from the samples of one split of an upstream train/sgd checkpoint, grouped by true class: g_c, g_cc', the exact spectra and traces of A1, A2, B1, A1+A2+B1 tr B2 (Hutch++) and λ_min(B2) with its residual (src/decompose/decomposeGaussNewton.ts).
 */
export interface DecomposeClassGradientsParams {
  /**
   * Which split's samples.
   */
  split: 'train' | 'test';
  /**
   * Class subset S (class indices); default all.
   */
  classes?: number[];
  /**
   * Hutch++ products for tr B2 (0 skips it).
   */
  trace_matvecs: number;
  /**
   * Product budget of the Lanczos search for λ_min(B2), reported with its residual as the check B2 ⪰ 0 (0 skips it; needs trace_matvecs > 0, which opens G).
   */
  b2_bottom_matvecs: number;
  /**
   * Samples per batch in the curvature engine.
   */
  batch_size: number;
  /**
   * At most this many samples per class of the split (default: all the train instance used).
   */
  samples_per_class?: number;
  /**
   * Which checkpoint of the upstream train/sgd instance: an epoch it saved, or final (the last one saved).
   */
  checkpoint: number | 'final';
}
