import type { PlanNode } from '../../pipeline/plan.js';
import type { VerifyMode } from '../../store/artifactStore.js';
import type { StageHandler } from './stageWorker.js';

/** The job kind of pipeline stage instances. */
export const STAGE_JOB_KIND = 'stage';

/** `job.data.payload` of a stage job: the plan node (plain JSON) and how to treat the cache. */
export interface StageJobPayload {
  readonly node: PlanNode;
  readonly verify: VerifyMode;
  /** Recompute even if a valid artifact exists (`--force`). */
  readonly force: boolean;
}

/**
 * The `stage` handler: runs one pipeline stage instance with `executeStageInstance`, the function
 * the local executor uses (same key lock, temp dir + rename, manifest), in the worker's store.
 * A failed instance throws, so BullMQ retries it with backoff. Registers the built-in stage kinds
 * and those of $SPECPIPE_STAGE_MODULES first.
 */
export async function loadStageHandler(): Promise<StageHandler> {
  const { registerStageKinds } = await import('../../pipeline/preparePlan.js');
  const { executeStageInstance } = await import('../executeStageInstance.js');
  await registerStageKinds();
  return async (payload, ctx) => {
    const p = payload as StageJobPayload;
    if (p.node.key !== ctx.key) throw new Error(`stage job ${ctx.key} carries plan node ${p.node.name} with key ${p.node.key}`);
    const outcome = await executeStageInstance(p.node, ctx.store, {
      force: p.force,
      verify: p.verify,
      worker: ctx.workerId,
      progress: (progress) => {
        void ctx.reportProgress({ ...progress }).catch(() => {});
      },
    });
    if (outcome.status === 'failed') throw new Error(outcome.error ?? `${p.node.name} failed`);
    return { status: outcome.status, detail: outcome };
  };
}
