import * as tf from '@tensorflow/tfjs-core';
import type { Network } from '../nn/network.js';
import type { LossKind } from '../nn/loss.js';
import type { Batch } from '../data/batches.js';
import type { Tensor } from '../nn/tensor.js';
import { activeGemm, activeTanh } from '../backend/openblasKernels.js';
import { BatchCurvature } from './batchCurvature.js';
import { MlpBatchCurvature, mlpLayers, type DenseLayer } from './mlpBatchCurvature.js';
import { flattenParameters } from './flatParameters.js';
import type { ProductPath } from './productPath.js';
import type { GemmProvider } from '../backend/native/gemmProvider.js';

/**
 * The per-batch SUMS a product engine adds up (productRequest.ts accumulateOverSplit), for a block of
 * vectors in the implementation's own form `V` (made once per request by `vectors`, freed by
 * `disposeVectors`): BatchCurvature (tfjs autodiff, any network) or MlpBatchCurvature (plain MLPs over sgemm).
 */
export interface BatchProducts<V> {
  readonly size: number;
  /** Batch-level product evaluations so far (the matrix-free spy). */
  readonly evaluations: number;
  keepRecordings(budgetBytes: number): void;
  releaseRecordings(): void;
  vectors(flat: readonly Float32Array[]): V;
  disposeVectors(vs: V): void;
  gradientSum(batch: Batch): Float32Array;
  logits(batch: Batch): Float32Array;
  hessianVectorSums(batch: Batch, vs: V): Float32Array[];
  ggnVectorSums(batch: Batch, vs: V): Float32Array[];
  residualVectorSums(batch: Batch, vs: V): Float32Array[];
  hessianAndGgnVectorSums(batch: Batch, vs: V): { hessian: Float32Array[]; ggn: Float32Array[] };
  cotangentProductSums(batch: Batch, cotangents: readonly Float32Array[]): Float32Array[];
}

/** What the sgemm path needs for this network here and now: a plain MLP's layers, the cpu backend, its native sgemm. */
function sgemmMlp(network: Network): { layers: DenseLayer[]; gemm: GemmProvider } | undefined {
  const layers = mlpLayers(network);
  const gemm = activeGemm();
  return layers !== undefined && gemm !== undefined && tf.getBackend() === 'cpu' ? { layers, gemm } : undefined;
}

/**
 * The path this network's products take here and now: 'mlp-sgemm' for a plain MLP on the cpu backend
 * with native sgemm kernels registered (OpenBLAS or specpipe's C sgemm), else 'tfjs' — as
 * plannedProductPath (productPath.ts) predicts from the model kind and the backend id.
 */
export function productPath(network: Network): ProductPath {
  return sgemmMlp(network) === undefined ? 'tfjs' : 'mlp-sgemm';
}

/** The product implementation for this network (productPath), over θ = `params`. */
export function batchProductsFor(
  network: Network,
  params: readonly Tensor[],
  buffers: readonly Tensor[],
  loss: LossKind,
): BatchProducts<unknown> {
  const mlp = sgemmMlp(network);
  if (mlp !== undefined) {
    const spec = network.spec as { activation: 'tanh' | 'relu' };
    const theta = Float32Array.from(flattenParameters(params));
    return new MlpBatchCurvature(mlp.layers, theta, spec.activation, loss, mlp.gemm, activeTanh());
  }
  return new BatchCurvature(network, params, buffers, loss) as BatchProducts<unknown>;
}
