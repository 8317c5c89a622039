import { SpecpipeError } from '../../util/errors.js';
import { topologicalOrder } from '../../util/graph.js';
import type { StoreIdentity } from '../../store/storeIdentity.js';

/**
 * One node of the DAG a distributed run executes: a stage instance, identified by its stage key.
 * `kind` selects the handler on the worker (`stage` for pipeline stage instances); `payload` is
 * JSON-serialisable and travels through Redis as the job's data.
 */
export interface DistributedJob {
  /** The stage key: also the BullMQ job id (after {@link jobIdForKey}), so a job queued twice runs once. */
  readonly id: string;
  /** Human-readable name for progress and records, e.g. `train[train_per_class=50]`. */
  readonly name: string;
  /** Ids of the jobs whose artifacts this one reads. */
  readonly deps: readonly string[];
  /** Handler kind on the worker. */
  readonly kind: string;
  readonly payload: unknown;
}

/** What a worker receives as `job.data`. */
export interface QueuedJobData {
  readonly key: string;
  readonly name: string;
  readonly kind: string;
  readonly deps: readonly string[];
  readonly payload: unknown;
  /**
   * The store of the run that queued the job (its `.store-id` and path): a worker whose own `--store`
   * has another id refuses the job before computing anything. Absent in jobs queued without a store.
   */
  readonly store?: StoreIdentity;
  /**
   * The scheduler that queued the job (`host:pid:nonce`); it keeps a heartbeat key in Redis while it
   * runs, so a later run can tell a job of a live run from one of an interrupted run.
   */
  readonly owner?: string;
}

/**
 * BullMQ job ids may not contain ':' and may not be integers; stage keys are hex digests, but
 * escape anyway so any key maps to a distinct valid id ('%' → '%25', ':' → '%3A', a leading 'k'
 * keeps all-digit keys from being read as integers).
 */
export function jobIdForKey(key: string): string {
  return 'k' + key.replace(/%/g, '%25').replace(/:/g, '%3A');
}

/**
 * Checks a job graph (ids unique and non-empty, every dep exists, no cycle) and returns the jobs in
 * a topological order: depth-first, ties in input order, so a graph listed in topological order
 * (as a plan is) keeps its order.
 */
export function topologicalJobOrder(jobs: readonly DistributedJob[]): DistributedJob[] {
  const byId = new Map<string, DistributedJob>();
  for (const job of jobs) {
    if (job.id === '') throw new SpecpipeError('bad-job-graph', `job "${job.name}" has an empty id`);
    if (byId.has(job.id))
      throw new SpecpipeError(
        'bad-job-graph',
        `job id "${job.id}" appears twice (jobs "${byId.get(job.id)?.name}" and "${job.name}")`,
      );
    byId.set(job.id, job);
  }
  for (const job of jobs)
    for (const dep of job.deps)
      if (!byId.has(dep)) throw new SpecpipeError('bad-job-graph', `job "${job.name}" needs "${dep}", which is not in the graph`);
  const sorted = topologicalOrder(jobs, (job) => job.deps.map((d) => byId.get(d)!));
  if (!sorted.ok) {
    const inCycle = new Set(sorted.cycle);
    const names = jobs.filter((j) => inCycle.has(j)).map((j) => j.name);
    throw new SpecpipeError('bad-job-graph', `the job graph has a cycle through: ${names.join(', ')}`);
  }
  return [...sorted.order];
}

/** The BullMQ queue stage jobs go through unless `--queue` names another. */
export const DEFAULT_STAGE_QUEUE = 'specpipe-stages';
