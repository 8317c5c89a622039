// Public API of the spectral estimators (math.md §4). Everything works on the LinearOperator contract.
export type { LinearOperator } from './operator.js';
export {
  add,
  sub,
  scale,
  lowRankUpdate,
  deflate,
  toDense,
  diagonalOperator,
  fromDenseSymmetric,
  denseMatvec,
  measuredAsymmetry,
  countingOperator,
  requireSymmetric,
  MatvecBudgetExceeded,
  type CountingOperator,
  type DenseSymmetricOperator,
  type FromDenseOptions,
} from './operatorAlgebra.js';
export { symmetricEigen, type SymmetricEigen } from './symmetricEigen.js';
export { tridiagonalEigen, implicitQL, type TridiagonalEigen } from './tridiagonalEigen.js';
export { KrylovBasis, randomVector, type BasisPrecision, type StartVectorKind } from './krylovBasis.js';
export { lanczos, type LanczosOptions, type LanczosResult, type Reorthogonalization } from './lanczos.js';
export {
  slqDensity,
  densityBand,
  studentT975,
  type DensityBand,
  quadratureFromLanczos,
  combineRuns,
  smoothedDensity,
  papyanSigma,
  widenBounds,
  linearGrid,
  type SlqOptions,
  type SlqResult,
  type QuadratureRun,
  type GriddedDensity,
  type SpectrumBounds,
} from './slq.js';
export {
  logSpectrumDensity,
  logDensityCurves,
  type LogSpectrum,
  type LogSpectrumHalf,
  type LogSpectrumOptions,
} from './logSpectrum.js';
export { kpmDensity, jacksonDamping, type KpmOptions, type KpmResult } from './kpm.js';
export {
  extremeEigenpairs,
  topEigenpairs,
  bottomEigenpairs,
  type Eigenpair,
  type EigenpairOptions,
  type EigenpairResult,
  type EigenMethod,
  type SpectrumEnd,
} from './outliers.js';
export { countOutliers, type OutlierCount, type OutlierCountOptions } from './outlierCount.js';
export { compareWithExact, type ExactComparison } from './exactComparison.js';
export { blockLanczosEigenpairs, type BlockEigenpairOptions } from './blockLanczos.js';
export { hutchinsonTrace, hutchPlusPlusTrace, type TraceEstimate, type TraceOptions } from './traces.js';
export {
  wasserstein1,
  ksDistance,
  ksDistanceToCdf,
  interpolatedCdf,
  meanInterpolatedCdf,
  empiricalMeasure,
  sortedMeasure,
  totalMass,
  measureFromCdf,
  type SpectralMeasure,
} from './spectralDistance.js';
export { readMatrixFile, parseNpyMatrix, encodeNpyMatrix, type DenseMatrix } from './matrixFile.js';
