import { hostname } from 'node:os';
import { Listr, ListrLogger, ProcessOutput, type ListrTask } from 'listr2';
import type { Plan, PlanNode } from '../pipeline/plan.js';
import type { ArtifactStore, VerifyMode } from '../store/artifactStore.js';
import type { InstanceStatus, RunStageRecord } from '../store/runRecord.js';
import { isPortableStageKind, type StageProgress } from '../stages/registry.js';
import { executeStageInstance, type InstanceOutcome } from './executeStageInstance.js';
import { topologicalOrder } from '../util/graph.js';
import { SpecpipeError } from '../util/errors.js';
import { selectNodes, upstreamNames } from './selectNodes.js';
import { progressFormatter } from './progressText.js';
import { StageThreadPool } from './stageThreadPool.js';
import { removeOwnWork } from '../store/ownWork.js';

/**
 * How progress is shown:
 */
export type ProgressMode =
  /** listr2's live tree (a TTY). */
  | 'live'
  /** One plain line per event (not a TTY, CI, tests, --json). */
  | 'plain'
  /** Nothing but the closing line. */
  | 'quiet';

export interface LocalRunOptions {
  /** Run only these stages (and the upstream instances they need). */
  readonly only?: readonly string[];
  /** Recompute these stages' instances even when cached. */
  readonly force?: readonly string[];
  /** After a failure, keep running everything that does not depend on it. */
  readonly keepGoing?: boolean;
  /** Instances computed at the same time (default 1). */
  readonly jobs?: number;
  /**
   * Run each instance in a stage thread (stageThreadPool.ts), so that `jobs` instances compute in
   * parallel (stages compute synchronously: on one thread they would only take turns). Default:
   * `jobs > 1`. Threads load the built-in stage kinds and $SPECPIPE_STAGE_MODULES; instances of kinds
   * registered in this thread only run in this thread.
   */
  readonly threads?: boolean;
  readonly verify?: VerifyMode;
  readonly progress?: ProgressMode;
  /** Where progress goes (default stderr). */
  readonly stream?: NodeJS.WriteStream;
  /**
   * Aborted on Ctrl-C: no instance starts after it, running ones stop now (their stage threads are
   * terminated; one computing in this thread is left behind: the caller exits), and this process's
   * temp dirs and locks are removed. Their records say `interrupted` (INTERRUPTED, NOT_RUN_INTERRUPTED).
   */
  readonly signal?: AbortSignal;
}

/** The error of an instance that was computing when the run was interrupted. */
export const INTERRUPTED = 'interrupted (Ctrl-C) while computing';
/** The error of an instance that had not started when the run was interrupted. */
export const NOT_RUN_INTERRUPTED = 'not run: the run was interrupted (Ctrl-C)';

export interface LocalRunResult {
  readonly stages: readonly RunStageRecord[];
  readonly counts: { executed: number; cached: number; failed: number };
  readonly seconds: number;
  /** "N executed, M cached, K failed in T s". */
  readonly summary: string;
  /** Whether the run was interrupted (options.signal aborted). */
  readonly interrupted?: boolean;
}

/**
 * `jobs` permits, granted by priority: the highest waiting priority first, equal priorities in the order
 * they asked. Grants wait for the current turn of the event loop to end, so instances that become ready
 * together (the dependents of one finished instance) compete by priority rather than by plan order.
 */
class PrioritySemaphore {
  #free: number;
  #waiting: { readonly priority: number; readonly wake: () => void }[] = [];
  #dispatchQueued = false;
  constructor(n: number) {
    this.#free = Math.max(1, n);
  }
  acquire(priority: number): Promise<void> {
    return new Promise<void>((wake) => {
      const at = this.#waiting.findIndex((w) => w.priority < priority);
      this.#waiting.splice(at === -1 ? this.#waiting.length : at, 0, { priority, wake });
      this.#dispatchSoon();
    });
  }
  release(): void {
    this.#free++;
    this.#dispatchSoon();
  }
  #dispatchSoon(): void {
    if (this.#dispatchQueued) return;
    this.#dispatchQueued = true;
    setImmediate(() => {
      this.#dispatchQueued = false;
      while (this.#free > 0 && this.#waiting.length > 0) {
        this.#free--;
        this.#waiting.shift()!.wake();
      }
    });
  }
}

/** `nodes` ordered so that each comes after the instances it reads (the plan's own order when it is one). */
function executionOrder(
  nodes: readonly PlanNode[],
  byName: ReadonlyMap<string, PlanNode>,
  depsOf: (n: PlanNode) => string[],
): readonly PlanNode[] {
  const sorted = topologicalOrder(nodes, (n) => depsOf(n).map((d) => byName.get(d)!));
  if (!sorted.ok)
    throw new SpecpipeError('plan-cycle', `the plan's instances form a cycle: ${sorted.cycle.map((n) => n.name).join(' → ')}`);
  return sorted.order;
}

type Listeners = { progress: (p: StageProgress) => void; log: (m: string) => void; wait: (w: string) => void };

/** What every instance of one local run shares. */
interface LocalRun {
  readonly store: ArtifactStore;
  readonly options: LocalRunOptions;
  readonly force: ReadonlySet<string>;
  readonly sem: PrioritySemaphore;
  readonly pool: StageThreadPool | undefined;
  readonly byName: ReadonlyMap<string, PlanNode>;
  /** Each instance's outcome, created eagerly (in topological order) before any is awaited. */
  readonly promises: Map<string, Promise<InstanceOutcome>>;
  readonly outcomes: Map<string, InstanceOutcome & { readonly worker?: string }>;
  /** Where each instance's progress goes (its listr2 task, once it renders). */
  readonly listeners: Map<string, Listeners>;
  /** Set at the first failure without --keep-going: instances not yet started are not run. */
  stopReason: string | undefined;
}

/** The upstream instances of `node` that this run executes (the others are outside `--only`). */
function runDeps(run: LocalRun, node: PlanNode): string[] {
  return upstreamNames(node).filter((n) => run.byName.has(n));
}

function notRun(run: LocalRun, node: PlanNode, why: string): InstanceOutcome {
  return { status: 'failed', key: node.key, seconds: 0, artifacts: run.store.dir(node.key), error: `not run: ${why}` };
}

/** Computes one instance: inline, or in a stage thread when there is a pool and its kind is portable. */
async function computeInstance(run: LocalRun, node: PlanNode): Promise<InstanceOutcome> {
  const { store, force, options, pool, listeners } = run;
  const payload = {
    node,
    force: force.has(node.stage) || force.has(node.name) || force.has('all'),
    verify: options.verify ?? 'fast',
  };
  const events = {
    progress: (p: StageProgress) => listeners.get(node.name)?.progress(p),
    log: (m: string) => listeners.get(node.name)?.log(m),
    wait: (w: string) => listeners.get(node.name)?.wait(w),
  };
  // Threads compute; an instance already in the store (fast check) is confirmed cached right here.
  const inline = pool === undefined || !isPortableStageKind(node.kind) || (!payload.force && store.verify(node.key, 'fast').ok);
  if (inline) return executeStageInstance(node, store, { ...payload, ...events, onWait: events.wait });
  return pool.run({ payload, store: store.root }, events).catch((e: unknown): InstanceOutcome => ({
    status: 'failed',
    key: node.key,
    seconds: 0,
    artifacts: store.dir(node.key),
    error: e instanceof Error ? e.message : String(e),
  }));
}

/** The instance's outcome, or `failed: interrupted` as soon as the run's signal aborts. */
function untilInterrupted(computing: Promise<InstanceOutcome>, run: LocalRun, node: PlanNode): Promise<InstanceOutcome> {
  const signal = run.options.signal;
  if (signal === undefined) return computing;
  return new Promise((resolve, reject) => {
    const onAbort = () => resolve({ ...notRun(run, node, ''), error: INTERRUPTED });
    signal.addEventListener('abort', onAbort, { once: true });
    computing.then(resolve, reject).finally(() => signal.removeEventListener('abort', onAbort));
  });
}

/** Waits for the instance's upstream instances, then computes it (at most `jobs` at a time, by priority). */
async function runInstance(run: LocalRun, node: PlanNode): Promise<InstanceOutcome> {
  const deps = runDeps(run, node);
  const depOutcomes = await Promise.all(deps.map((d) => run.promises.get(d)!));
  const interrupted = (): boolean => run.options.signal?.aborted === true;
  if (interrupted()) return { ...notRun(run, node, ''), error: NOT_RUN_INTERRUPTED };
  const failedDep = deps.find((_, i) => depOutcomes[i]!.status === 'failed');
  if (failedDep !== undefined) return notRun(run, node, `upstream ${failedDep} failed`);
  await run.sem.acquire(node.priority ?? 0);
  try {
    if (interrupted()) return { ...notRun(run, node, ''), error: NOT_RUN_INTERRUPTED };
    if (run.stopReason !== undefined) return notRun(run, node, run.stopReason);
    const outcome = await untilInterrupted(computeInstance(run, node), run, node);
    if (outcome.status === 'failed' && run.options.keepGoing !== true && run.stopReason === undefined)
      run.stopReason = `the run stopped after ${node.name} failed (use --keep-going to continue)`;
    return outcome;
  } finally {
    run.sem.release();
  }
}

/** The listr2 task of one instance: shows its progress, then its outcome. */
function instanceTask(run: LocalRun, node: PlanNode, mode: ProgressMode): ListrTask {
  return {
    title: node.name,
    task: async (_ctx, task): Promise<void> => {
      const formatProgress = progressFormatter();
      let lastOutput = 0;
      run.listeners.set(node.name, {
        progress: (p) => {
          const now = performance.now();
          if (mode === 'plain' && now - lastOutput < 1000 && p.done < p.total) return;
          lastOutput = now;
          task.output = formatProgress(p);
        },
        log: (m) => {
          task.output = m;
        },
        wait: (w) => {
          task.output = `waiting: ${w} is computing this key`;
        },
      });
      const o = await run.promises.get(node.name)!;
      run.outcomes.set(node.name, o);
      const tag =
        o.status === 'cached'
          ? 'cached'
          : o.status === 'executed'
            ? `executed in ${o.seconds.toFixed(1)} s`
            : o.error === INTERRUPTED || o.error === NOT_RUN_INTERRUPTED
              ? 'INTERRUPTED'
              : 'FAILED';
      task.title = `${node.name}  ${tag}  ${node.key.slice(0, 12)}`;
      if (o.status === 'failed') throw new Error(`${node.name}: ${o.error ?? 'failed'}`);
    },
  };
}

/** Shows the tasks until every one is done (failures are in the outcomes). */
/** Shows the instances' tasks (listr2: live, plain lines or silent) until every task has ended. */
export async function showTasks(tasks: ListrTask[], mode: ProgressMode, stream: NodeJS.WriteStream): Promise<void> {
  // The renderer is chosen at run time, so its option types (a union over renderers) are cast.
  const list = new Listr(tasks, {
    concurrent: true,
    exitOnError: false,
    registerSignalListeners: false,
    renderer: mode === 'live' ? 'default' : mode === 'plain' ? 'simple' : 'silent',
    fallbackRenderer: 'simple',
    rendererOptions: { logger: new ListrLogger({ processOutput: new ProcessOutput(stream, stream) }) } as never,
    fallbackRendererOptions: { logger: new ListrLogger({ processOutput: new ProcessOutput(stream, stream) }) } as never,
  } as never);
  try {
    await list.run();
  } catch {
    /* failures are in outcomes */
  }
}

/** The run record line of one instance. */
function stageRecord(run: LocalRun, node: PlanNode): RunStageRecord {
  const o = run.outcomes.get(node.name) ?? {
    status: 'failed' as InstanceStatus,
    key: node.key,
    seconds: 0,
    artifacts: run.store.dir(node.key),
    error: 'not run',
  };
  return {
    name: node.name,
    stage: node.stage,
    kind: node.kind,
    key: node.key,
    status: o.status,
    seconds: o.seconds,
    artifacts: o.artifacts,
    matrix: node.matrix,
    coords: node.coords,
    params: node.params,
    ingredients: node.ingredients,
    ...(o.metrics !== undefined ? { metrics: o.metrics } : {}),
    ...(o.error !== undefined ? { error: o.error } : {}),
    ...(o.status === 'executed' ? { worker: `${hostname()}:${process.pid}` } : {}),
  };
}

/**
 * Runs a plan in this process: each instance starts when its upstream instances are done, at most
 * `jobs` at a time, through `executeStageInstance` (so two processes running the same plan share
 * work through the store's per-key locks). Progress is a listr2 task per instance.
 */
export async function runPlanLocally(plan: Plan, store: ArtifactStore, options: LocalRunOptions = {}): Promise<LocalRunResult> {
  const t0 = performance.now();
  const nodes = selectNodes(plan, options.only ?? []);
  const run: LocalRun = {
    store,
    options,
    force: new Set(options.force ?? []),
    sem: new PrioritySemaphore(options.jobs ?? 1),
    pool: (options.threads ?? (options.jobs ?? 1) > 1) ? new StageThreadPool() : undefined,
    byName: new Map(nodes.map((n) => [n.name, n])),
    promises: new Map(),
    outcomes: new Map(),
    listeners: new Map(),
    stopReason: undefined,
  };
  const mode = options.progress ?? 'plain';
  const tasks = nodes.map((node) => instanceTask(run, node, mode));
  // Every instance's promise exists before any awaits its deps: created eagerly, in topological order.
  // Ctrl-C: running stage threads stop now (the instances resolve as interrupted, untilInterrupted).
  const onAbort = () => void run.pool?.terminate();
  options.signal?.addEventListener('abort', onAbort, { once: true });
  for (const node of executionOrder(nodes, run.byName, (n) => runDeps(run, n)))
    run.promises.set(node.name, runInstance(run, node));
  try {
    await showTasks(tasks, mode, options.stream ?? process.stderr);
  } finally {
    options.signal?.removeEventListener('abort', onAbort);
    await (options.signal?.aborted === true ? run.pool?.terminate() : run.pool?.close());
  }
  const interrupted = options.signal?.aborted === true;
  if (interrupted) removeOwnWork(store);
  return {
    ...runResult(
      nodes.map((node) => stageRecord(run, node)),
      t0,
    ),
    interrupted,
  };
}

/** A run's result: its instance records, their counts by status, and the one-line summary. */
export function runResult(stages: RunStageRecord[], t0: number): LocalRunResult {
  const counts = { executed: 0, cached: 0, failed: 0 };
  for (const s of stages) counts[s.status]++;
  const seconds = Math.round((performance.now() - t0) / 10) / 100;
  const summary = `${counts.executed} executed, ${counts.cached} cached, ${counts.failed} failed in ${seconds.toFixed(2)} s`;
  return { stages, counts, seconds, summary };
}
