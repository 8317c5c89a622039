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
}

export interface LocalRunResult {
  readonly stages: readonly RunStageRecord[];
  readonly counts: { executed: number; cached: number; failed: number };
  readonly seconds: number;
  /** "N executed, M cached, K failed in T s". */
  readonly summary: string;
}

class Semaphore {
  #free: number;
  #waiting: (() => void)[] = [];
  constructor(n: number) {
    this.#free = Math.max(1, n);
  }
  async acquire(): Promise<void> {
    if (this.#free > 0) {
      this.#free--;
      return;
    }
    await new Promise<void>((r) => this.#waiting.push(r));
  }
  release(): void {
    const next = this.#waiting.shift();
    if (next !== undefined) next();
    else this.#free++;
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

/**
 * Runs a plan in this process: each instance starts when its upstream instances are done, at most
 * `jobs` at a time, through `executeStageInstance` (so two processes running the same plan share
 * work through the store's per-key locks). Progress is a listr2 task per instance.
 */
export async function runPlanLocally(plan: Plan, store: ArtifactStore, options: LocalRunOptions = {}): Promise<LocalRunResult> {
  const t0 = performance.now();
  const nodes = selectNodes(plan, options.only ?? []);
  const force = new Set(options.force ?? []);
  const sem = new Semaphore(options.jobs ?? 1);
  const pool = (options.threads ?? (options.jobs ?? 1) > 1) ? new StageThreadPool() : undefined;
  const outcomes = new Map<string, InstanceOutcome & { readonly worker?: string }>();
  const promises = new Map<string, Promise<InstanceOutcome>>();
  let stopReason: string | undefined;
  const byName = new Map(nodes.map((n) => [n.name, n]));
  const listeners = new Map<
    string,
    { progress: (p: StageProgress) => void; log: (m: string) => void; wait: (w: string) => void }
  >();

  const depsOf = (node: PlanNode): string[] => upstreamNames(node).filter((n) => byName.has(n));

  const runNode = async (node: PlanNode): Promise<InstanceOutcome> => {
    const deps = depsOf(node);
    const depOutcomes = await Promise.all(deps.map((d) => promises.get(d)!));
    const failedDep = deps.find((_, i) => depOutcomes[i]!.status === 'failed');
    const notRun = (why: string): InstanceOutcome => ({
      status: 'failed',
      key: node.key,
      seconds: 0,
      artifacts: store.dir(node.key),
      error: `not run: ${why}`,
    });
    if (failedDep !== undefined) return notRun(`upstream ${failedDep} failed`);
    await sem.acquire();
    try {
      if (stopReason !== undefined) return notRun(stopReason);
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
      const inline =
        pool === undefined || !isPortableStageKind(node.kind) || (!payload.force && store.verify(node.key, 'fast').ok);
      const outcome = inline
        ? await executeStageInstance(node, store, { ...payload, ...events, onWait: events.wait })
        : await pool.run({ payload, store: store.root }, events).catch((e: unknown): InstanceOutcome => ({
            status: 'failed',
            key: node.key,
            seconds: 0,
            artifacts: store.dir(node.key),
            error: e instanceof Error ? e.message : String(e),
          }));
      if (outcome.status === 'failed' && options.keepGoing !== true && stopReason === undefined)
        stopReason = `the run stopped after ${node.name} failed (use --keep-going to continue)`;
      return outcome;
    } finally {
      sem.release();
    }
  };

  const mode = options.progress ?? 'plain';
  const stream = options.stream ?? process.stderr;
  const tasks: ListrTask[] = nodes.map((node) => ({
    title: node.name,
    task: async (_ctx, task): Promise<void> => {
      const formatProgress = progressFormatter();
      let lastOutput = 0;
      listeners.set(node.name, {
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
      const o = await promises.get(node.name)!;
      outcomes.set(node.name, o);
      const tag = o.status === 'cached' ? 'cached' : o.status === 'executed' ? `executed in ${o.seconds.toFixed(1)} s` : 'FAILED';
      task.title = `${node.name}  ${tag}  ${node.key.slice(0, 12)}`;
      if (o.status === 'failed') throw new Error(`${node.name}: ${o.error ?? 'failed'}`);
    },
  }));
  // Every instance's promise exists before any awaits its deps: created eagerly, in topological order.
  for (const node of executionOrder(nodes, byName, depsOf)) promises.set(node.name, runNode(node));
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
  } finally {
    await pool?.close();
  }
  const stages: RunStageRecord[] = nodes.map((node) => {
    const o = outcomes.get(node.name) ?? {
      status: 'failed' as InstanceStatus,
      key: node.key,
      seconds: 0,
      artifacts: store.dir(node.key),
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
  });
  const counts = { executed: 0, cached: 0, failed: 0 };
  for (const s of stages) counts[s.status]++;
  const seconds = Math.round((performance.now() - t0) / 10) / 100;
  const summary = `${counts.executed} executed, ${counts.cached} cached, ${counts.failed} failed in ${seconds.toFixed(2)} s`;
  return { stages, counts, seconds, summary };
}
