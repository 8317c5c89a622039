import { StageThreadPool, type StageJobPayload } from '../stageThreadPool.js';
import type { InstanceOutcome } from '../executeStageInstance.js';
import type { StageHandler, StageHandlerContext } from './stageWorker.js';

/** The job kind of pipeline stage instances. */
export const STAGE_JOB_KIND = 'stage';

export type { StageJobPayload, StageThreadInput } from '../stageThreadPool.js';

/**
 * Where a worker runs a stage:
 */
export type StageIsolation =
  /** A worker thread per stage job (default): the main thread stays free to renew the job's lock. */
  | 'thread'
  /** The worker's main thread: cheaper to start, but a stage that blocks the event loop longer than the lock duration is taken as stalled. */
  | 'none';

/**
 * The `stage` handler: runs one pipeline stage instance with `executeStageInstance`, the function
 * the local executor uses (same key lock, temp dir + rename, manifest), in the worker's store.
 * A failed instance throws, so BullMQ retries it with backoff. Stage kinds: the built-in ones and
 * those of $SPECPIPE_STAGE_MODULES.
 */
export async function loadStageHandler(isolation: StageIsolation = 'thread'): Promise<StageHandler> {
  const { registerStageKinds } = await import('../../pipeline/preparePlan.js');
  const { executeStageInstance } = await import('../executeStageInstance.js');
  await registerStageKinds(); // here too: an unknown kind or a broken module fails at worker start
  const pool = new StageThreadPool();
  if (isolation === 'thread') await pool.prewarm();
  return async (payload, ctx) => {
    const p = payload as StageJobPayload;
    if (p.node.key !== ctx.key) throw new Error(`stage job ${ctx.key} carries plan node ${p.node.name} with key ${p.node.key}`);
    const outcome =
      isolation === 'thread'
        ? await pool.run(
            { payload: p, store: ctx.store, workerId: ctx.workerId },
            { progress: (progress) => void ctx.reportProgress({ ...progress }).catch(() => {}) },
          )
        : await executeStageInstance(p.node, ctx.store, {
            force: p.force,
            verify: p.verify,
            worker: ctx.workerId,
            progress: (progress) => void ctx.reportProgress({ ...progress }).catch(() => {}),
          });
    if (outcome.status === 'failed') throw new Error(outcome.error ?? `${p.node.name} failed`);
    return { status: outcome.status, detail: outcome };
  };
}
