import type { CurvatureKind } from './operatorKind.js';

/**
 * One full-data product, as a message (plain typed arrays, so it crosses worker_threads).
 * Every answer is a list of float64 SUMS over the samples the engine holds (not means).
 */
export type ProductRequest =
  /** [Σ_i ∇ℓ_i] */
  | { readonly kind: 'gradient' }
  /** [Σ_i A_i v_1, …, Σ_i A_i v_K] for the operator A of `kind` (batchProducts in productRequest.ts): a block of K vectors shares each batch's forward pass */
  | { readonly kind: CurvatureKind; readonly vectors: readonly Float32Array[] }
  /** [Hess-sums for v_1..v_K, then G-sums for v_1..v_K], both from one pass per batch */
  | { readonly kind: 'hessian+ggn'; readonly vectors: readonly Float32Array[] }
  /** [Σ_i J_iᵀ u_i1, …, Σ_i J_iᵀ u_iK]; cotangents[k] is row-major [N, C] over the engine's samples */
  | { readonly kind: 'cotangents'; readonly cotangents: readonly Float32Array[] }
  /** [z] row-major [N, C] (one entry, values not sums) */
  | { readonly kind: 'logits' };
