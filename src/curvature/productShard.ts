import * as tf from '@tensorflow/tfjs-core';
import { initBackend } from '../backend/backend.js';
import { BatchCurvature } from './batchCurvature.js';
import { accumulateOverSplit, type ProductRequest } from './productRequest.js';
import { unflattenParameters } from './flatParameters.js';
import { loadNetwork } from './networkBuilder.js';
import { registerSecondOrderGradients } from './secondOrderGradients.js';
import type { WorkerInit } from './productEngine.js';

/**
 * One shard of a data-parallel curvature problem, served wherever it lives (a child process, a
 * Redis shard worker): the tfjs backend started, the network rebuilt from its spec by the
 * builder, θ and buffers restored, and its own samples; answers ProductRequests with float64
 * SUMS over those samples (productShards.ts gives the contract).
 */
export interface ProductShard {
  readonly size: number;
  readonly samples: number;
  answer(request: ProductRequest): Float64Array[];
  /** Batch-level product evaluations so far (the matrix-free spy). */
  readonly evaluations: number;
  dispose(): void;
}

export async function openProductShard(init: WorkerInit): Promise<ProductShard> {
  await initBackend(init.backend);
  registerSecondOrderGradients();
  const network = await loadNetwork(init.builder, init.spec);
  if (init.params.length !== network.size) {
    throw new Error(`the rebuilt network has P = ${network.size} parameters, received θ of length ${init.params.length}`);
  }
  const params = unflattenParameters(init.params, network.params);
  const buffers = network.buffers.map((b, k) => tf.tensor(init.buffers[k]!, [...b.shape], 'float32'));
  const curvature = new BatchCurvature(network, params, buffers, init.loss);
  return {
    size: curvature.size,
    samples: init.data.shape[0],
    answer: (request) => accumulateOverSplit(curvature, network.params, init.data, init.batchSize, network.spec.classes, request),
    get evaluations() {
      return curvature.evaluations;
    },
    dispose: () => tf.dispose([...params, ...buffers]),
  };
}
