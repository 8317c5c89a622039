/**
 * GENERATED from schemas/stages/validate-dense.schema.json by scripts/gen-param-types.mjs (json-schema-to-typescript): do not edit.
 * Change the schema, then regenerate with `npm run gen:types` (test/params/generatedTypes.test.ts checks they agree).
 */
/**
 * Exact ground truth for a small MLP (src/decompose/denseValidation.ts): Hess, G, H built column by column from float64 products, A1, A2, B1, B2 each from its own definition, eigendecomposed in float64, and compared with the estimates of the upstream decompose/class-gradients instance (needs) and spectrum/slq instances (needs or gather) over the same samples: top-k relative errors, SLQ W1 / spectral width, smoothed-density L1 and band coverage, outlier counts by the one rule, λ_min(B2), ‖A1+A2+B1+B2 − G‖/‖G‖.
 */
export interface ValidateDenseParams {
  /**
   * Refuse nets with more parameters P (at most 8,000: seven P × P float64 matrices, 8P² bytes each, and O(P³) eigendecompositions).
   */
  max_parameters: number;
}
