import { SpecpipeError } from '../../util/errors.js';

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
 * a topological order (Kahn's algorithm, ties in input order).
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
  const indegree = new Map<string, number>();
  const dependents = new Map<string, string[]>();
  for (const job of jobs) {
    indegree.set(job.id, job.deps.length);
    for (const dep of job.deps) {
      if (!byId.has(dep)) throw new SpecpipeError('bad-job-graph', `job "${job.name}" needs "${dep}", which is not in the graph`);
      const list = dependents.get(dep) ?? [];
      list.push(job.id);
      dependents.set(dep, list);
    }
  }
  const order: DistributedJob[] = [];
  const ready = jobs.filter((j) => j.deps.length === 0).map((j) => j.id);
  while (ready.length > 0) {
    const id = ready.shift() as string;
    order.push(byId.get(id) as DistributedJob);
    for (const next of dependents.get(id) ?? []) {
      const left = (indegree.get(next) ?? 0) - 1;
      indegree.set(next, left);
      if (left === 0) ready.push(next);
    }
  }
  if (order.length !== jobs.length) {
    const stuck = jobs.filter((j) => (indegree.get(j.id) ?? 0) > 0).map((j) => j.name);
    throw new SpecpipeError('bad-job-graph', `the job graph has a cycle through: ${stuck.join(', ')}`);
  }
  return order;
}

/** The BullMQ queue stage jobs go through unless `--queue` names another. */
export const DEFAULT_STAGE_QUEUE = 'specpipe-stages';
