import type { SpectrumOperator } from '../../curvature/operatorKind.js';

/** Params of spectrum/slq (schemas/stages/spectrum-slq.schema.json; defaults filled). */
export interface SpectrumSlqParams {
  operator: SpectrumOperator;
  split: 'train' | 'test';
  checkpoint: number | 'final';
  lanczos_steps: number;
  start_vectors: number;
  log_spectrum: boolean;
  max_samples?: number;
  batch_size: number;
  workers: number;
  /** Shard processes per product on this machine (0: none); results equal in-thread to float64 rounding. */
  processes: number;
  /** Shards per product served by `specpipe worker --products` over Redis (0: none); URL from SPECPIPE_PRODUCTS_REDIS. */
  redis_shards: number;
  grid_size: number;
  /** The k largest eigenpairs by thick-restart Lanczos, with their residuals ‖Av − λv‖ (0: none). */
  top_k: number;
  /** Residual tolerance of the top-k pairs, relative to ‖A‖. */
  top_k_tol: number;
  /** Product budget of the top-k search (default 20·k + 40). */
  top_k_matvecs?: number;
  /** SLQ of A − Σ_{i≤k} λ_i v_i v_iᵀ over the top-k pairs (the bulk); 0: A itself. */
  deflate: number;
  /** Hutch++ estimate of tr A with its standard error. */
  trace: boolean;
  trace_matvecs: number;
}
