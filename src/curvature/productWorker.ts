import { parentPort, workerData } from 'node:worker_threads';
import * as tf from '@tensorflow/tfjs-core';
import { initBackend } from '../backend/backend.js';
import { BatchCurvature } from './batchCurvature.js';
import { accumulateOverSplit, type ProductRequest } from './productRequest.js';
import { unflattenParameters } from './flatParameters.js';
import { loadNetwork } from './networkBuilder.js';
import { registerSecondOrderGradients } from './secondOrderGradients.js';
import type { WorkerInit, WorkerReply } from './productEngine.js';

/**
 * Worker thread of WorkerProductEngine: one tfjs backend, the network rebuilt from its spec,
 * its share of the split; answers ProductRequests with float64 sums over its samples.
 */
async function main(): Promise<void> {
  const init = workerData as WorkerInit;
  const port = parentPort!;
  try {
    await initBackend(init.backend);
    registerSecondOrderGradients();
    const network = await loadNetwork(init.builder, init.spec);
    const params = unflattenParameters(init.params, network.params);
    const buffers = network.buffers.map((b, k) => tf.tensor(init.buffers[k]!, [...b.shape], 'float32'));
    const curvature = new BatchCurvature(network, params, buffers, init.loss);
    port.on('message', (m: { id: number; kind: 'request'; request: ProductRequest } | { id: number; kind: 'evaluations' }) => {
      let reply: WorkerReply;
      try {
        const result =
          m.kind === 'evaluations'
            ? [Float64Array.of(curvature.evaluations)]
            : accumulateOverSplit(curvature, network.params, init.data, init.batchSize, network.spec.classes, m.request);
        reply = { id: m.id, ok: true, result };
      } catch (e) {
        reply = { id: m.id, ok: false, error: e instanceof Error ? e.message : String(e) };
      }
      port.postMessage(reply, reply.ok ? reply.result.map((a) => a.buffer as ArrayBuffer) : []);
    });
    port.postMessage({ ready: true });
  } catch (e) {
    port.postMessage({ error: e instanceof Error ? `${e.message}` : String(e) });
  }
}

void main();
