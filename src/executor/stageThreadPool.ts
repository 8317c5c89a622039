import { Worker as Thread } from 'node:worker_threads';
import type { PlanNode } from '../pipeline/plan.js';
import type { VerifyMode } from '../store/artifactStore.js';
import type { StageProgress } from '../stages/registry.js';
import type { InstanceOutcome } from './executeStageInstance.js';

/** One stage instance to run and how to treat the cache (plain JSON: it crosses threads and queues). */
export interface StageJobPayload {
  readonly node: PlanNode;
  readonly verify: VerifyMode;
  /** Recompute even if a valid artifact exists (`--force`). */
  readonly force: boolean;
}

/** What a stage thread runs: the instance, the store's root directory, the worker identity for the manifest. */
export interface StageThreadInput {
  readonly payload: StageJobPayload;
  readonly store: string;
  readonly workerId?: string;
}

/** What a running instance reports back (executeStageInstance's callbacks). */
export interface StageThreadEvents {
  readonly progress?: (progress: StageProgress) => void;
  readonly log?: (message: string) => void;
  readonly wait?: (what: string) => void;
}

export type StageThreadMessage =
  | { readonly type: 'ready' }
  | { readonly id: number; readonly type: 'progress'; readonly progress: StageProgress }
  | { readonly id: number; readonly type: 'log'; readonly message: string }
  | { readonly id: number; readonly type: 'wait'; readonly what: string }
  | { readonly id: number; readonly type: 'outcome'; readonly outcome: InstanceOutcome };

/** Under tsx the sources are .ts (run from source: tests); compiled, .js. */
const fromSource = import.meta.url.endsWith('.ts');
const threadEntry = new URL(fromSource ? './stageThread.ts' : './stageThread.js', import.meta.url);

/** Compiled: the entry file. From source: a bootstrap that registers tsx's loader in the thread first. */
function newStageThread(): Thread {
  if (!fromSource) return new Thread(threadEntry);
  const bootstrap = `import('tsx/esm/api').then((tsx) => { tsx.register(); return import(${JSON.stringify(threadEntry.href)}); })`;
  return new Thread(bootstrap, { eval: true });
}

/**
 * Long-lived stage threads (src/executor/stageThread.ts), one per instance running at once: the
 * local executor's `--jobs N` runs N instances truly in parallel (stages compute synchronously, so
 * on one thread they would only take turns), and a BullMQ worker keeps its main thread free to
 * renew job locks. A thread that dies fails the instance it was running and is replaced on demand.
 * Threads are unref'd: they never keep a stopping process alive.
 */
export class StageThreadPool {
  #idle: Thread[] = [];
  #busy = new Set<Thread>();
  #nextId = 1;

  async run(input: StageThreadInput, events: StageThreadEvents = {}): Promise<InstanceOutcome> {
    const thread = this.#idle.pop() ?? (await this.#spawn());
    this.#busy.add(thread);
    const id = this.#nextId++;
    return new Promise<InstanceOutcome>((resolve, reject) => {
      const onMessage = (m: StageThreadMessage) => {
        if (m.type === 'ready' || m.id !== id) return;
        if (m.type === 'progress') events.progress?.(m.progress);
        else if (m.type === 'log') events.log?.(m.message);
        else if (m.type === 'wait') events.wait?.(m.what);
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
        this.#busy.delete(thread);
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
      const onMessage = (m: StageThreadMessage) => {
        if (m.type !== 'ready') return;
        thread.off('message', onMessage);
        thread.off('error', reject);
        resolve(thread);
      };
      thread.on('message', onMessage);
      thread.once('error', reject);
    });
  }

  /** Starts a thread ahead of the first instance (and proves the stage kinds load in a thread). */
  async prewarm(): Promise<void> {
    this.#idle.push(await this.#spawn());
  }

  /** Stops every thread now, busy ones included (their instances fail: "exited with code 1"). */
  async terminate(): Promise<void> {
    const threads = [...this.#idle.splice(0), ...this.#busy];
    await Promise.all(threads.map((t) => t.terminate()));
  }

  async close(): Promise<void> {
    const threads = this.#idle.splice(0);
    await Promise.all(threads.map((t) => t.terminate()));
  }
}
