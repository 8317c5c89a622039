// Public API of the curvature operators (`specpipe/curvature`, math.md §1–2): Hess, G and H = Hess − G
// of a net on its data as LinearOperators, their products across threads, processes or Redis shards.
export {
  Curvature,
  hessianOperator,
  ggnOperator,
  residualOperator,
  curvatureOperator,
  type CurvatureProblem,
  type CurvatureKind,
  type CurvatureOperator,
} from './curvatureOperators.js';
export type { Tensor } from '../nn/tensor.js';
export { DEFAULT_PRODUCT_BATCH, type ExecutionOptions } from './execution.js';
export { CURVATURE_OPERATORS, PIECE_OPERATORS, SPECTRUM_OPERATORS } from './operatorKind.js';
export { ShardedProductEngine, type ShardTransport, type ShardConnection, type ShardPlan } from './shardedProductEngine.js';
export { threadTransport } from './threadTransport.js';
export { processTransport } from './processTransport.js';
export { registerSecondOrderGradients } from './secondOrderGradients.js';
export { flattenParameters, unflattenParameters } from './flatParameters.js';
