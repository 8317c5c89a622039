// specpipe's public library API: everything a user's script needs, re-exported from one place.
// Internals (kernels, workers, store locks, CLI plumbing) stay internal.

// Backends
export {
  initBackend,
  activeBackend,
  backendId,
  BACKEND_CHOICES,
  type BackendChoice,
  type BackendInfo,
} from './backend/backend.js';

// Data
export type { Dataset, Split } from './data/dataset.js';
export { parseDataSource, formatDataSource, loadDataSource, type DataSourceSpec, type LoadDataOptions } from './data/sources.js';
export { balancedSubset } from './data/balancedSubset.js';
export { channelStatistics, preprocessSplit, type Preprocess } from './data/preprocess.js';
export { batches, selectSamples, type Batch } from './data/batches.js';

// Nets, losses, checkpoints, training
export type { Tensor, Scalar, Tensor1D, Tensor2D, Tensor4D, TensorDataType } from './nn/tensor.js';
export type { Network, ModelSpec, MlpSpec, LenetSpec, VggSpec, ResNetSpec, DenseNetSpec, ForwardMode } from './nn/network.js';
export { buildNetwork, parseModelSpec } from './nn/build.js';
export { softmaxCrossEntropy, meanSquaredError, type LossKind } from './nn/loss.js';
export { saveCheckpoint, loadCheckpoint } from './nn/checkpoint.js';
export { trainModel, type TrainOptions, type TrainResult, type EpochMetrics } from './train/sgd.js';
export { evaluateModel } from './train/evaluate.js';

// Curvature operators and products (math.md §1–2): also `specpipe/curvature`
export * from './curvature/index.js';

// Spectral estimators (math.md §4): also `specpipe/linalg`
export * from './linalg/index.js';

// Papyan's decomposition of G (math.md §3) and embeddings
export { classGradients, classMean, crossClassMean, classMass, type ClassGradients } from './decompose/classGradients.js';
export { classGradientsFromCurvature } from './decompose/curvatureClassGradients.js';
export { gaussNewtonPieces, pieceTraces, type GaussNewtonPieces, type LowRankPiece } from './decompose/pieces.js';
export { tsne } from './embed/tsne.js';
export { umap } from './embed/umap.js';

// Reports
export { renderReport } from './report/renderReport.js';
export type { ReportData } from './report/reportData.js';

// Pipelines, stages, store: also `specpipe/pipeline`
export * from './pipeline/index.js';

// Errors
export { SpecpipeError, isSpecpipeError } from './util/errors.js';
