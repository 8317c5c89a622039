import { Worker as Thread } from 'node:worker_threads';
import type { PlanNode } from '../../pipeline/plan.js';
import type { VerifyMode } from '../../store/artifactStore.js';
import type { InstanceOutcome } from '../executeStageInstance.js';
import type { StageHandler, StageHandlerContext } from './stageWorker.js';

/** The job kind of pipeline stage instances. */
export const STAGE_JOB_KIND = 'stage';

/** `job.data.payload` of a stage job: the plan node (plain JSON) and how to treat the cache. */
export interface StageJobPayload {
  readonly node: PlanNode;
  readonly verify: VerifyMode;
  /** Recompute even if a valid artifact exists (`--force`). */
  readonly force: boolean;
}

/** What the stage thread receives as `workerData`. */
export interface StageThreadInput {
  readonly payload: StageJobPayload;
  readonly store: string;
  readonly workerId: string;
}

/**
 * Where a worker runs a stage:
 */
export type StageIsolation =
  /** A worker thread per stage job (default): the main thread stays free to renew the job's lock. */
  | 'thread'
  /** The worker's main thread: cheaper to start, but a stage that blocks the event loop longer than the lock duration is taken as stalled. */
  | 'none';

/** Under tsx the sources are .ts (run from source: tests); compiled, .js. */
const fromSource = import.meta.url.endsWith('.ts');
const threadEntry = new URL(fromSource ? './stageThread.ts' : './stageThread.js', import.meta.url);

/** Compiled: the entry file. From source: a bootstrap that registers tsx's loader in the thread first. */
function newStageThread(): Thread {
  if (!fromSource) return new Thread(threadEntry);
  const bootstrap = `import('tsx/esm/api').then((tsx) => { tsx.register(); return import(${JSON.stringify(threadEntry.href)}); })`;
  return new Thread(bootstrap, { eval: true });
}

type ThreadMessage =
  | { readonly type: 'ready' }
  | { readonly id: number; readonly type: 'progress'; readonly progress: Record<string, unknown> }
  | { readonly id: number; readonly type: 'outcome'; readonly outcome: InstanceOutcome };

/**
 * Long-lived stage threads, one per job running at once (a worker with --concurrency N grows to N).
 * A thread that dies fails the job it was running (BullMQ retries it) and is replaced on demand.
 * Threads are unref'd: they never keep a stopping worker process alive.
 */
class StageThreadPool {
  #idle: Thread[] = [];
  #nextId = 1;

  async run(input: StageThreadInput, ctx: StageHandlerContext): Promise<InstanceOutcome> {
    const thread = this.#idle.pop() ?? (await this.#spawn());
    const id = this.#nextId++;
    return new Promise<InstanceOutcome>((resolve, reject) => {
      const onMessage = (m: ThreadMessage) => {
        if (m.type === 'ready' || m.id !== id) return;
        if (m.type === 'progress') void ctx.reportProgress(m.progress).catch(() => {});
        else {
          cleanup();
          this.#idle.push(thread);
          resolve(m.outcome);
        }
      };
      const onExit = (code: number) => {
        cleanup();
        reject(new Error(`the stage thread running ${input.payload.node.name} exited with code ${code}`));
      };
      const onError = (e: Error) => {
        cleanup();
        void thread.terminate();
        reject(e);
      };
      const cleanup = () => {
        thread.off('message', onMessage);
        thread.off('exit', onExit);
        thread.off('error', onError);
      };
      thread.on('message', onMessage);
      thread.once('exit', onExit);
      thread.once('error', onError);
      thread.postMessage({ id, input });
    });
  }

  #spawn(): Promise<Thread> {
    return new Promise((resolve, reject) => {
      const thread = newStageThread();
      thread.unref();
      const onMessage = (m: ThreadMessage) => {
        if (m.type !== 'ready') return;
        thread.off('message', onMessage);
        thread.off('error', reject);
        resolve(thread);
      };
      thread.on('message', onMessage);
      thread.once('error', reject);
    });
  }

  /** Starts a thread ahead of the first job (and proves the stage kinds load in a thread). */
  async prewarm(): Promise<void> {
    this.#idle.push(await this.#spawn());
  }

  async close(): Promise<void> {
    const threads = this.#idle.splice(0);
    await Promise.all(threads.map((t) => t.terminate()));
  }
}

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
        ? await pool.run({ payload: p, store: ctx.store, workerId: ctx.workerId }, ctx)
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
