import type { ListrTask } from 'listr2';
import type { Plan, PlanNode } from '../../pipeline/plan.js';
import type { ArtifactStore, VerifyMode } from '../../store/artifactStore.js';
import type { InstanceStatus, RunStageRecord } from '../../store/runRecord.js';
import type { StageProgress } from '../../stages/registry.js';
import type { InstanceOutcome } from '../executeStageInstance.js';
import { runResult, showTasks, type LocalRunOptions, type LocalRunResult, type ProgressMode } from '../localExecutor.js';
import { selectNodes } from '../selectNodes.js';
import { DEFAULT_STAGE_QUEUE, type DistributedJob } from './jobGraph.js';
import { checkRedis, type RedisEndpoint } from './redisConnection.js';
import { runJobGraph, type JobOutcome, type SchedulerEvent, type SchedulerNotice } from './scheduler.js';
import { STAGE_JOB_KIND, type StageJobPayload } from './stageHandler.js';
import { progressFormatter } from '../progressText.js';
import { storeIdentity } from '../../store/storeIdentity.js';

export interface DistributedRunOptions extends Omit<LocalRunOptions, 'jobs'> {
  readonly redis: RedisEndpoint;
  readonly queueName?: string;
  /** Tries per stage instance before it is reported failed (default 3). */
  readonly attempts?: number;
  /** First retry delay in ms, doubled on each retry (default 1000). */
  readonly backoffMs?: number;
  /** Give up when Redis has not answered for this long (default 30 000 ms); rerun to resume. */
  readonly redisTimeoutMs?: number;
  readonly pollMs?: number;
  /** First "no worker connected" line after this long (default 5 000 ms), then every noWorkerRepeatMs (default 10 000 ms). */
  readonly noWorkerNoticeMs?: number;
  readonly noWorkerRepeatMs?: number;
}

/**
 * The line `specpipe run` prints for a scheduler notice: no worker connected (and the command that
 * starts one), workers back, a job adopted from an interrupted or concurrent run, an interrupted run's
 * job cancelled.
 */
export function noticeText(n: SchedulerNotice, where: { redis: string; queue: string; store: string }): string {
  const queueFlag = where.queue === DEFAULT_STAGE_QUEUE ? '' : ` --queue ${where.queue}`;
  switch (n.type) {
    case 'no-worker':
      return (
        `no worker connected to ${where.redis} queue ${where.queue} for ${Math.round(n.seconds)} s ` +
        `(${n.waiting} ${n.waiting === 1 ? 'job' : 'jobs'} waiting); start one with \`specpipe worker --redis ${where.redis} --store ${where.store}${queueFlag}\``
      );
    case 'workers':
      return `${n.count} ${n.count === 1 ? 'worker' : 'workers'} connected to queue ${where.queue}`;
    case 'adopted':
      return n.ownerState === 'interrupted'
        ? `adopted ${n.job.name}: its job, queued by the interrupted run ${n.owner}, is still ${n.state === 'active' ? 'running' : n.state} in queue ${where.queue}; this run waits for it instead of queueing it again`
        : `${n.job.name}: already queued by the concurrent run ${n.owner} (${n.state}); this run waits for that job`;
    case 'cancelled':
      return `cancelled ${n.name} (${n.key.slice(0, 12)}): queued by the interrupted run ${n.owner} and not needed by this run; removed from queue ${where.queue}`;
  }
}

function isStageProgress(p: unknown): p is StageProgress {
  return (
    typeof p === 'object' &&
    p !== null &&
    typeof (p as StageProgress).done === 'number' &&
    typeof (p as StageProgress).total === 'number'
  );
}

/**
 * The plan as a job graph: one job per stage key (instances that share a key share a job), its deps
 * the keys of its `needs` and `gather` instances that are part of the run.
 */
export function planJobGraph(
  nodes: readonly PlanNode[],
  options: { force?: readonly string[]; verify?: VerifyMode } = {},
): DistributedJob[] {
  const force = new Set(options.force ?? []);
  const inRun = new Set(nodes.map((n) => n.name));
  const jobs = new Map<string, DistributedJob>();
  for (const node of nodes) {
    if (jobs.has(node.key)) continue;
    const deps = [...node.needs, ...Object.values(node.gather).flat()].filter((u) => inRun.has(u.name)).map((u) => u.key);
    const payload: StageJobPayload = {
      node,
      verify: options.verify ?? 'fast',
      force: force.has(node.stage) || force.has(node.name) || force.has('all'),
    };
    jobs.set(node.key, { id: node.key, name: node.name, deps: [...new Set(deps)], kind: STAGE_JOB_KIND, payload });
  }
  return [...jobs.values()];
}

/** One job's display: its listr2 task follows the scheduler's events until the job's outcome arrives. */
interface JobDisplay {
  /** The scheduler's event sink (set when the task starts). */
  event: (e: SchedulerEvent) => void;
  resolve: (o: JobOutcome) => void;
  readonly outcome: Promise<JobOutcome>;
}

function jobTask(job: DistributedJob, display: JobDisplay, mode: ProgressMode): ListrTask {
  return {
    title: job.name,
    task: async (_ctx, task): Promise<void> => {
      let formatProgress = progressFormatter();
      let lastOutput = 0;
      display.event = (e) => {
        if (e.type === 'queued') task.output = 'queued';
        else if (e.type === 'started') {
          formatProgress = progressFormatter(); // a retry starts its rate afresh
          task.output = `running on ${e.workerId}${e.attempt > 1 ? ` (attempt ${e.attempt})` : ''}`;
        } else if (e.type === 'retrying') task.output = `attempt ${e.failedAttempts} failed, retrying: ${e.error.split('\n')[0]}`;
        else if (e.type === 'progress' && isStageProgress(e.progress)) {
          const now = performance.now();
          if (mode === 'plain' && now - lastOutput < 1000 && e.progress.done < e.progress.total) return;
          lastOutput = now;
          task.output = formatProgress(e.progress);
        }
      };
      const o = await display.outcome;
      const tag =
        o.status === 'cached'
          ? 'cached'
          : o.status === 'executed'
            ? `executed in ${o.seconds.toFixed(1)} s on ${o.workerId}`
            : 'FAILED';
      task.title = `${job.name}  ${tag}  ${job.id.slice(0, 12)}`;
      if (o.status === 'failed' || o.status === 'skipped')
        throw new Error(`${job.name}: ${o.error ?? `not run: upstream ${o.blockedBy ?? ''} failed`}`);
    },
  };
}

/** The run record line of one instance from its job's outcome (a job done elsewhere must be in this run's store). */
function distributedStageRecord(node: PlanNode, o: JobOutcome | undefined, store: ArtifactStore): RunStageRecord {
  const detail = o?.detail as InstanceOutcome | undefined;
  let status: InstanceStatus;
  let error: string | undefined;
  if (o === undefined || o.status === 'skipped') {
    status = 'failed';
    error = o?.blockedBy !== undefined ? `not run: upstream ${o.blockedBy} failed` : (o?.error ?? 'not run: the run stopped');
  } else if (o.status === 'failed') {
    status = 'failed';
    const tries = o.failedAttempts === 1 ? '1 attempt' : `${o.failedAttempts} attempts`;
    error = `${o.error ?? 'failed'} (after ${tries} on ${[...new Set(o.workers)].join(', ') || 'no worker'})`;
  } else if (!store.verify(node.key, 'fast').ok) {
    // A worker finished it, but not in the store this run reads: --store differs between them.
    status = 'failed';
    error = `${o.workerId ?? 'a worker'} wrote ${detail?.artifacts ?? 'its artifact'}, which is not in this run's store ${store.root}: give the run and every worker the same shared --store`;
  } else {
    status = o.status;
  }
  const metrics = detail?.metrics ?? (status === 'cached' ? store.readManifest(node.key)?.metrics : undefined);
  return {
    name: node.name,
    stage: node.stage,
    kind: node.kind,
    key: node.key,
    status,
    seconds: detail?.seconds ?? o?.seconds ?? 0,
    artifacts: store.dir(node.key),
    matrix: node.matrix,
    coords: node.coords,
    params: node.params,
    ingredients: node.ingredients,
    ...(metrics !== undefined ? { metrics } : {}),
    ...(error !== undefined ? { error } : {}),
    ...(status === 'executed' && o?.workerId !== undefined ? { worker: o.workerId } : {}),
  };
}

/**
 * Runs a plan on `specpipe worker` processes through BullMQ (Redis): the distributed twin of
 * `runPlanLocally`, with the same options, progress display and result (so the same run record).
 * Artifacts are written by the workers into the shared store; `store` must be that same directory
 * as this process sees it (finished artifacts are reused without queueing anything).
 */
export async function runPlanDistributed(
  plan: Plan,
  store: ArtifactStore,
  options: DistributedRunOptions,
): Promise<LocalRunResult> {
  const t0 = performance.now();
  // Before the progress display starts: a dead port or a refused password is one line, in seconds.
  await checkRedis(options.redis);
  const nodes = selectNodes(plan, options.only ?? []);
  const verify = options.verify ?? 'fast';
  const jobs = planJobGraph(nodes, { force: options.force ?? [], verify });
  const forced = new Set(jobs.filter((j) => (j.payload as StageJobPayload).force).map((j) => j.id));
  const displays = new Map<string, JobDisplay>();
  for (const j of jobs) {
    let resolve!: (o: JobOutcome) => void;
    const outcome = new Promise<JobOutcome>((r) => (resolve = r));
    displays.set(j.id, { event: () => {}, resolve, outcome });
  }
  const mode = options.progress ?? 'plain';
  const shown = showTasks(
    jobs.map((job) => jobTask(job, displays.get(job.id)!, mode)),
    mode,
    options.stream ?? process.stderr,
  );
  const outcomes = new Map<string, JobOutcome>();
  try {
    const graph = await runJobGraph(jobs, {
      redis: options.redis,
      ...(options.queueName !== undefined && { queueName: options.queueName }),
      ...(options.attempts !== undefined && { attempts: options.attempts }),
      ...(options.backoffMs !== undefined && { backoffMs: options.backoffMs }),
      ...(options.redisTimeoutMs !== undefined && { redisTimeoutMs: options.redisTimeoutMs }),
      ...(options.pollMs !== undefined && { pollMs: options.pollMs }),
      keepGoing: options.keepGoing === true,
      store: storeIdentity(store.root),
      ...(options.noWorkerNoticeMs !== undefined && { noWorkerNoticeMs: options.noWorkerNoticeMs }),
      ...(options.noWorkerRepeatMs !== undefined && { noWorkerRepeatMs: options.noWorkerRepeatMs }),
      onNotice: (n) => {
        const where = { redis: options.redis.display, queue: options.queueName ?? DEFAULT_STAGE_QUEUE, store: store.root };
        (options.stream ?? process.stderr).write(noticeText(n, where) + '\n');
      },
      isDone: (job) => {
        // A locked key is not judged here: its job runs and checks it under the lock (see verifyUnlocked).
        const v = forced.has(job.id) ? 'locked' : store.verifyUnlocked(job.id, verify);
        return v !== 'locked' && v.ok;
      },
      onEvent: (e) => {
        displays.get(e.job.id)?.event(e);
        if (e.type === 'finished') {
          outcomes.set(e.job.id, e.outcome);
          displays.get(e.job.id)?.resolve(e.outcome);
        }
      },
    });
    for (const o of graph.outcomes) outcomes.set(o.id, o);
  } finally {
    // Unblock the display whatever happened (a lost Redis rejects runJobGraph).
    for (const j of jobs)
      if (!outcomes.has(j.id))
        displays.get(j.id)?.resolve({
          id: j.id,
          name: j.name,
          status: 'skipped',
          seconds: 0,
          workers: [],
          failedAttempts: 0,
          error: 'not run: the run stopped',
        });
    await shown;
  }
  return runResult(
    nodes.map((node) => distributedStageRecord(node, outcomes.get(node.key), store)),
    t0,
  );
}
