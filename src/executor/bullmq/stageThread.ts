/**
 * Worker-thread entry of the `stage` handler: runs stage instances with executeStageInstance
 * (the local executor's function) off the worker's main thread, so a stage that computes for
 * minutes without yielding never starves BullMQ's lock renewal (which would get the job taken as
 * stalled and run twice). The thread lives as long as the worker and loads the stage kinds once.
 * Protocol: parent → {id, input}; thread → {id, type:'progress', progress} …, {id, type:'outcome', outcome}.
 */
import { parentPort } from 'node:worker_threads';
import { registerStageKinds } from '../../pipeline/preparePlan.js';
import { executeStageInstance } from '../executeStageInstance.js';
import type { StageThreadInput } from './stageHandler.js';

const port = parentPort;
if (port === null) throw new Error('stageThread.js runs as a worker thread only');
await registerStageKinds();
port.on('message', async ({ id, input }: { id: number; input: StageThreadInput }) => {
  const outcome = await executeStageInstance(input.payload.node, input.store, {
    force: input.payload.force,
    verify: input.payload.verify,
    worker: input.workerId,
    progress: (progress) => port.postMessage({ id, type: 'progress', progress }),
  });
  port.postMessage({ id, type: 'outcome', outcome });
});
port.postMessage({ type: 'ready' });
