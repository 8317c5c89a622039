import * as tf from '@tensorflow/tfjs-core';
import { initBackend, type BackendChoice } from '../backend/backend.js';
import type { Network } from '../nn/network.js';
import type { LossKind } from '../nn/loss.js';
import type { Split } from '../data/dataset.js';
import { batchProductsFor } from './batchProducts.js';
import { accumulateOverSplit } from './productRequest.js';
import { batches } from '../data/batches.js';
import type { ProductRequest } from './productRequestType.js';
import { unflattenParameters } from './flatParameters.js';
import { loadNetwork, type NetworkBuilderRef } from './networkBuilder.js';

/** What one shard is started with: plain data (structured-cloned to a thread, v8-serialized to a process or Redis). */
export interface ShardInit {
  readonly builder: NetworkBuilderRef;
  readonly spec: Network['spec'];
  /** θ, flattened in `network.params` order. */
  readonly params: Float32Array;
  readonly buffers: Float32Array[];
  /** The shard's own samples (a contiguous run of whole batches of the split). */
  readonly data: Split;
  readonly loss: LossKind;
  readonly batchSize: number;
  /** Bytes of recorded passes the shard keeps (ExecutionOptions.recordingBudget). */
  readonly recordingBudget: number;
  readonly backend: BackendChoice;
}

/** What a loaded shard is asked. */
export type ShardQuestion = { readonly kind: 'request'; readonly request: ProductRequest } | { readonly kind: 'evaluations' };

/** A question as every transport carries it (`id` pairs it with its reply). */
export type ShardMessage = { readonly id: number } & ShardQuestion;

export type ShardReply =
  | { readonly id: number; readonly ok: true; readonly result: Float64Array[] }
  | { readonly id: number; readonly ok: false; readonly error: string };

/**
 * One shard of a data-parallel curvature problem, served wherever it lives (a worker thread, a
 * child process, a Redis shard worker's thread): the tfjs backend started, the network rebuilt
 * from its spec by the builder, θ and buffers restored, and its own samples; answers
 * ProductRequests with float64 SUMS over those samples (shardedProductEngine.ts gives the contract).
 */
export interface ProductShard {
  readonly size: number;
  readonly samples: number;
  /** The reply to one message: float64 sums, or [count] for `evaluations`; failures as `ok: false`. */
  reply(message: ShardMessage): ShardReply;
  dispose(): void;
}

export async function openProductShard(init: ShardInit): Promise<ProductShard> {
  await initBackend(init.backend);
  const network = await loadNetwork(init.builder, init.spec);
  if (init.params.length !== network.size) {
    throw new Error(`the rebuilt network has P = ${network.size} parameters, received θ of length ${init.params.length}`);
  }
  const params = unflattenParameters(init.params, network.params);
  const buffers = network.buffers.map((b, k) => tf.tensor(init.buffers[k]!, [...b.shape], 'float32'));
  const curvature = batchProductsFor(network, params, buffers, init.loss);
  curvature.keepRecordings(init.recordingBudget);
  const split = [...batches(init.data, init.batchSize)];
  return {
    size: curvature.size,
    samples: init.data.shape[0],
    reply(m) {
      try {
        const result =
          m.kind === 'evaluations'
            ? [Float64Array.of(curvature.evaluations)]
            : accumulateOverSplit(curvature, split, network.spec.classes, m.request);
        return { id: m.id, ok: true, result };
      } catch (e) {
        return { id: m.id, ok: false, error: e instanceof Error ? e.message : String(e) };
      }
    },
    dispose: () => {
      curvature.releaseRecordings();
      tf.dispose([...params, ...buffers]);
    },
  };
}
