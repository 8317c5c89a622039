import { hostname } from 'node:os';
import { Worker, UnrecoverableError, type Job } from 'bullmq';
import { type RedisEndpoint, redisOptions } from './redisConnection.js';
import { DEFAULT_STAGE_QUEUE, type QueuedJobData } from './jobGraph.js';
import { isStageKey, quoteValue } from '../../store/storeKey.js';
import { storeIdentity, type StoreIdentity } from '../../store/storeIdentity.js';

/** What a handler may use while it runs one stage instance on a worker. */
export interface StageHandlerContext {
  readonly key: string;
  readonly name: string;
  /** Stage keys of the upstream artifacts (already in the store). */
  readonly deps: readonly string[];
  /** The shared artifact store this worker writes to. */
  readonly store: string;
  readonly workerId: string;
  /** 1 for the first try, 2 for the first retry, … (stalls do not count). */
  readonly attempt: number;
  /** Live sub-progress (epoch e/E, Lanczos step k/m): shown by the scheduler's progress display. */
  reportProgress(progress: string | number | Record<string, unknown>): Promise<void>;
}

/** What a handler did: computed the artifact, or found it already in the store. */
export interface StageHandlerOutcome {
  readonly status: 'executed' | 'cached';
  /** Anything JSON-serialisable the scheduler should see (artifact path, timings). */
  readonly detail?: unknown;
}

/**
 * Runs one job's payload. Must write its artifact atomically (temporary directory + rename) so a
 * worker killed mid-stage leaves no partial artifact, and must be idempotent: the same job may
 * run again after a stall.
 */
export type StageHandler = (payload: unknown, ctx: StageHandlerContext) => Promise<StageHandlerOutcome>;

/** The job's return value as stored by BullMQ and read back by the scheduler. */
export interface StageJobResult {
  readonly workerId: string;
  readonly status: 'executed' | 'cached';
  readonly seconds: number;
  readonly attempt: number;
  readonly detail?: unknown;
}

export type StageWorkerEvent =
  | { readonly type: 'started'; readonly key: string; readonly name: string; readonly attempt: number }
  | { readonly type: 'completed'; readonly key: string; readonly name: string; readonly result: StageJobResult }
  | { readonly type: 'failed'; readonly key: string; readonly name: string; readonly attempt: number; readonly error: string };

export interface StageWorkerOptions {
  readonly redis: RedisEndpoint;
  /** Path of the shared artifact store. */
  readonly store: string;
  /** Handlers by job kind (`stage` for pipeline stage instances). */
  readonly handlers: ReadonlyMap<string, StageHandler>;
  readonly queueName?: string;
  /** Jobs run at once in this process (default 1). */
  readonly concurrency?: number;
  /** Default `hostname:pid`; recorded on every job this worker runs. */
  readonly workerId?: string;
  /**
   * How long a job's lock lives without renewal (default 60 000 ms). A worker killed mid-stage
   * loses its job to another worker after at most about lockDuration + stalledInterval. The lock
   * is renewed from the event loop: a stage that blocks the loop longer than this is taken as stalled.
   */
  readonly lockDurationMs?: number;
  /** How often this worker looks for stalled jobs (default 30 000 ms). */
  readonly stalledIntervalMs?: number;
  /** Stalls a job survives before it is failed (default 2). */
  readonly maxStalledCount?: number;
  readonly onEvent?: (event: StageWorkerEvent) => void;
}

export interface StageWorker {
  readonly id: string;
  /** Resolves once the worker is connected and taking jobs. */
  ready(): Promise<void>;
  /**
   * Stops taking jobs, waits for the running ones, closes its connections. With `graceMs` (for a
   * Redis that is gone, where a graceful close cannot finish) it closes by force after that long:
   * running jobs then return to the queue as stalled once Redis is back.
   */
  close(graceMs?: number): Promise<'closed' | 'forced'>;
}

export function defaultWorkerId(): string {
  return `${hostname()}:${process.pid}`;
}

function errorText(e: unknown): string {
  return e instanceof Error ? e.message : String(e);
}

/** Why a job's data cannot be run (key or deps not stage keys, fields of the wrong type), or undefined. */
export function invalidJobData(data: unknown): string | undefined {
  if (typeof data !== 'object' || data === null) return `job data must be an object, received ${quoteValue(data)}`;
  const d = data as Partial<Record<keyof QueuedJobData, unknown>>;
  if (!isStageKey(d.key)) return `key: expected a stage key (64 lower-case hex digits), received ${quoteValue(d.key)}`;
  if (typeof d.kind !== 'string') return `kind: expected a string, received ${quoteValue(d.kind)}`;
  if (typeof d.name !== 'string') return `name: expected a string, received ${quoteValue(d.name)}`;
  if (!Array.isArray(d.deps)) return `deps: expected an array of stage keys, received ${quoteValue(d.deps)}`;
  const bad = d.deps.findIndex((k) => !isStageKey(k));
  if (bad >= 0) return `deps[${bad}]: expected a stage key (64 lower-case hex digits), received ${quoteValue(d.deps[bad])}`;
  if (d.store !== undefined) {
    const s = d.store as Partial<Record<keyof StoreIdentity, unknown>> | null;
    if (typeof s !== 'object' || s === null || typeof s.id !== 'string' || typeof s.path !== 'string')
      return `store: expected {id, path} of the run's store, received ${quoteValue(d.store)}`;
  }
  return undefined;
}

/** Starts a BullMQ worker that runs stage jobs with `handlers`. */
export function startStageWorker(options: StageWorkerOptions): StageWorker {
  const workerId = options.workerId ?? defaultWorkerId();
  // Created here when the store is new, so a run started later on the same directory finds the same id.
  const ownStore = storeIdentity(options.store);
  const emit = options.onEvent ?? (() => {});
  const processor = async (job: Job<QueuedJobData, StageJobResult>): Promise<StageJobResult> => {
    const data = job.data;
    const attempt = job.attemptsMade + 1;
    await job.log(`attempt ${attempt} started on ${workerId}`);
    // Job data is untrusted input: its key and deps become store paths only once they are stage keys.
    const invalid = invalidJobData(data);
    if (invalid !== undefined) {
      const error = `job ${job.id ?? '?'} refused by worker ${workerId}: ${invalid}`;
      await job.log(`attempt ${attempt} failed on ${workerId}: ${error}`).catch(() => {});
      emit({ type: 'failed', key: String(data?.key), name: String(data?.name ?? job.name), attempt, error });
      throw new UnrecoverableError(error);
    }
    // A job of a run whose store is another directory: refused before anything is computed or written.
    if (data.store !== undefined && data.store.id !== ownStore.id) {
      const error =
        `worker ${workerId} refused ${data.name}: its --store ${ownStore.path} (store id ${ownStore.id.slice(0, 12)}) ` +
        `is not the run's store ${data.store.path} (store id ${data.store.id.slice(0, 12)}); ` +
        `start workers with the run's --store, a directory the run and every worker share`;
      await job.log(`attempt ${attempt} failed on ${workerId}: ${error}`).catch(() => {});
      emit({ type: 'failed', key: data.key, name: data.name, attempt, error });
      throw new UnrecoverableError(error);
    }
    const handler = options.handlers.get(data.kind);
    if (handler === undefined) {
      const error = `worker ${workerId} has no handler for job kind "${data.kind}" (known: ${[...options.handlers.keys()].join(', ')})`;
      await job.log(`attempt ${attempt} failed on ${workerId}: ${error}`);
      throw new UnrecoverableError(error);
    }
    emit({ type: 'started', key: data.key, name: data.name, attempt });
    const t0 = performance.now();
    try {
      const outcome = await handler(data.payload, {
        key: data.key,
        name: data.name,
        deps: data.deps,
        store: options.store,
        workerId,
        attempt,
        reportProgress: (progress) => job.updateProgress(progress),
      });
      const result: StageJobResult = {
        workerId,
        status: outcome.status,
        seconds: (performance.now() - t0) / 1000,
        attempt,
        ...(outcome.detail !== undefined && { detail: outcome.detail }),
      };
      await job.log(`attempt ${attempt} ${outcome.status} on ${workerId} in ${result.seconds.toFixed(3)} s`);
      emit({ type: 'completed', key: data.key, name: data.name, result });
      return result;
    } catch (e) {
      const error = errorText(e);
      await job.log(`attempt ${attempt} failed on ${workerId}: ${error}`).catch(() => {});
      emit({ type: 'failed', key: data.key, name: data.name, attempt, error });
      throw e;
    }
  };
  const worker = new Worker<QueuedJobData, StageJobResult>(options.queueName ?? DEFAULT_STAGE_QUEUE, processor, {
    connection: redisOptions(options.redis),
    name: workerId,
    concurrency: options.concurrency ?? 1,
    lockDuration: options.lockDurationMs ?? 60_000,
    stalledInterval: options.stalledIntervalMs ?? 30_000,
    maxStalledCount: options.maxStalledCount ?? 2,
    autorun: true,
  });
  // Connection errors while Redis restarts are retried by ioredis; keep them from crashing the
  // process (a Redis gone for good is noticed by the caller's watchRedis).
  worker.on('error', () => {});
  const sleep = (ms: number) => new Promise<'timeout'>((resolve) => setTimeout(() => resolve('timeout'), ms).unref());
  return {
    id: workerId,
    ready: () => worker.waitUntilReady().then(() => undefined),
    close: async (graceMs?: number) => {
      const graceful = worker.close().then(() => 'closed' as const);
      if (graceMs === undefined) return graceful;
      graceful.catch(() => {});
      if ((await Promise.race([graceful, sleep(graceMs)])) === 'closed') return 'closed';
      // worker.close(true) would return the pending graceful close; drop the connections instead
      // (BullMQ may still hold reconnect timers: the caller decides whether to exit anyway).
      await Promise.race([worker.disconnect().catch(() => {}), sleep(2000)]);
      await Promise.race([graceful.catch(() => {}), sleep(1000)]);
      return 'forced';
    },
  };
}
