/**
 * The operator contract every spectral estimator works on (lineax / linear_operator style):
 * a linear map on R^size applied matrix-free. Vectors crossing the contract are float64;
 * implementations may compute in float32 inside (curvature products do).
 *
 * Derived operations (sum, difference, scaling, low-rank update, deflation, dense
 * materialisation, product counting) are defined once on this contract in
 * `operatorAlgebra.ts`, never per operator.
 */
export interface LinearOperator {
  /** Dimension n of the space the operator acts on (A is n × n). */
  readonly size: number;
  /** True when A = Aᵀ; Lanczos-based estimators require it. */
  readonly symmetric: boolean;
  /** y = A v. Must not modify `v`. Async because curvature products run on tfjs backends / workers. */
  matvec(v: Float64Array): Promise<Float64Array>;
  /** Optional human-readable name used in reports and errors ("ggn[train]"). */
  readonly name?: string;
}
