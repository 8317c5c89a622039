/**
 * GENERATED from schemas/stages/spectrum-slq.schema.json by scripts/gen-param-types.mjs (json-schema-to-typescript): do not edit.
 * Change the schema, then regenerate with `npm run gen:types` (test/params/generatedTypes.test.ts checks they agree).
 */
/**
 * Stochastic Lanczos quadrature of a curvature operator of an upstream train/sgd checkpoint (or of a piece of G from an upstream decompose/class-gradients artifact) over a data split (src/linalg/slq.ts, src/curvature/curvatureOperators.ts). Put `checkpoint`, `operator` or `split` in the matrix to get one instance per value.
 */
export interface SpectrumSlqParams {
  /**
   * Hess, G (Gauss-Newton), H = Hess - G, or a piece of G (Papyan's A1, A2, B1, B2 = G - A1 - A2 - B1, A1+A2+B1; needs a decompose/class-gradients stage, whose samples, split and checkpoint are then used).
   */
  operator: 'hessian' | 'ggn' | 'residual' | 'a1' | 'a2' | 'b1' | 'b2' | 'a1+a2+b1';
  /**
   * The samples the loss is averaged over: the training subset the net was trained on, or the test subset.
   */
  split: 'train' | 'test';
  /**
   * Epoch of the train stage's checkpoint to analyse (one of its `checkpoints`), or final (the last one saved).
   */
  checkpoint: number | 'final';
  lanczos_steps: number;
  start_vectors: number;
  /**
   * Also write the density of log|λ| for each sign (Papyan 2020, Sec. 7).
   */
  log_spectrum: boolean;
  /**
   * Average over the first N samples of the split only (speed).
   */
  max_samples?: number;
  /**
   * Samples per batch of each curvature product.
   */
  batch_size: number;
  /**
   * Worker threads per product (0: in-process). Execution layout: not in the stage key (results equal to float64 summation order), recorded in the manifest.
   */
  workers: number;
  /**
   * Shard processes per product on this machine (0: none); results equal in-thread products to float64 rounding. Execution layout: not in the stage key, recorded in the manifest.
   */
  processes: number;
  /**
   * Shards per product served over Redis by `specpipe worker --products` (0: none); the Redis URL comes from SPECPIPE_PRODUCTS_REDIS. Execution layout: not in the stage key, recorded in the manifest.
   */
  redis_shards: number;
  /**
   * MiB of recorded passes each product engine (or shard) keeps for the session: a batch's forward and first backward pass is recorded once and reused by every later product while it fits; past it batches are recorded per product (0: none). Measured: about 0.13 MiB per image for LeNet 6-16-120 on 28×28 (10,000 images: 245 s per spectrum kept, over 9 min at the default budget). Execution layout: never changes a result, not in the stage key, recorded in the manifest.
   */
  recording_budget_mib: number;
  grid_size: number;
  /**
   * Also find the k largest eigenpairs (thick-restart Lanczos) with their residuals: the outliers (written to outliers.arrow and marked in the report).
   */
  top_k: number;
  /**
   * Residual tolerance of the top-k pairs: converged when ||Av - lambda v|| <= tol * ||A||.
   */
  top_k_tol: number;
  /**
   * Product budget of the top-k search (default 20*k + 40).
   */
  top_k_matvecs?: number;
  /**
   * SLQ of A - sum_{i<=k} lambda_i v_i v_i^T over the top-k eigenpairs (the bulk without the outliers); 0: A itself. The series is named <operator>-deflated.
   */
  deflate: number;
  /**
   * Also estimate tr A by Hutch++ (with its standard error).
   */
  trace: boolean;
  /**
   * Products of the Hutch++ trace estimate.
   */
  trace_matvecs: number;
}
