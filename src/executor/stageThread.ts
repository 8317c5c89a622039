/**
 * Worker-thread entry of StageThreadPool (stageThreadPool.ts): runs stage instances with
 * executeStageInstance off the process's main thread. The thread loads the stage kinds once
 * (built-in and $SPECPIPE_STAGE_MODULES) and lives as long as its pool.
 * Protocol: parent → {id, input}; thread → {id, type: 'progress' | 'log' | 'wait', …} …, {id, type: 'outcome', outcome}.
 */
import { parentPort } from 'node:worker_threads';
import { registerStageKinds } from '../pipeline/preparePlan.js';
import { executeStageInstance } from './executeStageInstance.js';
import type { StageThreadInput, StageThreadMessage } from './stageThreadPool.js';

const port = parentPort;
if (port === null) throw new Error('stageThread.js runs as a worker thread only');
const send = (m: StageThreadMessage): void => port.postMessage(m);
await registerStageKinds();
port.on('message', async ({ id, input }: { id: number; input: StageThreadInput }) => {
  const outcome = await executeStageInstance(input.payload.node, input.store, {
    force: input.payload.force,
    verify: input.payload.verify,
    ...(input.workerId !== undefined && { worker: input.workerId }),
    progress: (progress) => send({ id, type: 'progress', progress }),
    log: (message) => send({ id, type: 'log', message }),
    onWait: (what) => send({ id, type: 'wait', what }),
  });
  send({ id, type: 'outcome', outcome });
});
send({ type: 'ready' });
