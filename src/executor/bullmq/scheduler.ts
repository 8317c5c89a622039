import { hostname } from 'node:os';
import { randomBytes } from 'node:crypto';
import { Queue, Job } from 'bullmq';
import { SpecpipeError, isSpecpipeError } from '../../util/errors.js';
import { type RedisEndpoint, checkRedis, describeRedisError, openRedis } from './redisConnection.js';
import { assertStageKey } from '../../store/storeKey.js';
import { DEFAULT_STAGE_QUEUE, type DistributedJob, type QueuedJobData, jobIdForKey, topologicalJobOrder } from './jobGraph.js';
import type { StageJobResult } from './stageWorker.js';
import type { StoreIdentity } from '../../store/storeIdentity.js';

/**
 * executed: a worker computed it during this run; cached: its artifact was already in the store;
 * failed: it failed after all its attempts; skipped: an upstream job failed (or the run stopped).
 */
export type JobOutcomeStatus = 'executed' | 'cached' | 'failed' | 'skipped';

export interface JobOutcome {
  readonly id: string;
  readonly name: string;
  readonly status: JobOutcomeStatus;
  /** Wall time of the successful attempt on its worker (0 for cached/skipped). */
  readonly seconds: number;
  /** Worker (hostname:pid) that produced the artifact, when one did during this run. */
  readonly workerId?: string;
  /** Every worker that started an attempt, in order (from the job's log). */
  readonly workers: readonly string[];
  /** Attempts that failed before the outcome (stalls not counted). */
  readonly failedAttempts: number;
  readonly error?: string;
  /** For skipped jobs: the failed job that blocked it. */
  readonly blockedBy?: string;
  /** What the handler returned as `detail` (executed or cached by a worker). */
  readonly detail?: unknown;
}

export type SchedulerEvent =
  | { readonly type: 'cached'; readonly job: DistributedJob }
  | { readonly type: 'queued'; readonly job: DistributedJob }
  /** `attempt`: how many times a worker has taken the job (retries and stalls included). */
  | { readonly type: 'started'; readonly job: DistributedJob; readonly workerId: string; readonly attempt: number }
  | { readonly type: 'progress'; readonly job: DistributedJob; readonly progress: unknown }
  | { readonly type: 'retrying'; readonly job: DistributedJob; readonly failedAttempts: number; readonly error: string }
  | { readonly type: 'finished'; readonly job: DistributedJob; readonly outcome: JobOutcome };

export interface RunJobGraphOptions {
  readonly redis: RedisEndpoint;
  readonly queueName?: string;
  /** Tries per job before it is reported failed (default 3). */
  readonly attempts?: number;
  /** First retry delay; the k-th retry waits backoffMs · 2^(k-1) (BullMQ's exponential backoff; default 1000). */
  readonly backoffMs?: number;
  /**
   * True when the job's artifact is already in the store and valid: the job is then reused
   * ('cached') and never queued. Also consulted when Redis lost a job (restart without persistence).
   */
  readonly isDone?: (job: DistributedJob) => boolean | Promise<boolean>;
  /** Keep running independent branches after a permanent failure (default true). */
  readonly keepGoing?: boolean;
  /** How often the scheduler reads job states from Redis (default 100 ms). */
  readonly pollMs?: number;
  /** Give up when Redis has not answered for this long (default 30 000 ms; the run can then be resumed). */
  readonly redisTimeoutMs?: number;
  readonly onEvent?: (event: SchedulerEvent) => void;
  /** The run's store, put into every job's data so that workers with another store refuse it. */
  readonly store?: StoreIdentity;
  /** Run-level notices: no worker connected, jobs adopted from or cancelled for other runs. */
  readonly onNotice?: (notice: SchedulerNotice) => void;
  /** First "no worker connected" notice after this long with queued jobs and no worker (default 5 000 ms). */
  readonly noWorkerNoticeMs?: number;
  /** Then again every this long while it lasts (default 10 000 ms). */
  readonly noWorkerRepeatMs?: number;
}

/** Who queued a job found in Redis: a run still running (its heartbeat is there), or one that is gone. */
export type JobOwnerState = 'concurrent' | 'interrupted';

export type SchedulerNotice =
  /** Jobs are queued and no worker has been connected to the queue for `seconds`. */
  | { readonly type: 'no-worker'; readonly seconds: number; readonly waiting: number }
  /** Workers connected after a no-worker notice. */
  | { readonly type: 'workers'; readonly count: number }
  /** A job of this run was already in the queue (waiting, delayed or active), queued by `owner`: this run waits for it. */
  | {
      readonly type: 'adopted';
      readonly job: DistributedJob;
      readonly state: string;
      readonly owner: string;
      readonly ownerState: JobOwnerState;
    }
  /** A waiting job of an interrupted run that this run does not need was removed from the queue. */
  | { readonly type: 'cancelled'; readonly name: string; readonly key: string; readonly owner: string };

/** Redis key of a scheduler's heartbeat. */
const heartbeatKey = (owner: string): string => `specpipe:scheduler:${owner}`;
const HEARTBEAT_MS = 2_000;
const HEARTBEAT_TTL_MS = 10_000;

export interface JobGraphResult {
  /** One outcome per job, in topological order. */
  readonly outcomes: readonly JobOutcome[];
  readonly seconds: number;
}

type Tracked = {
  readonly job: DistributedJob;
  state: 'blocked' | 'queued' | 'done';
  outcome?: JobOutcome;
  startedAttempts: number;
  failedAttempts: number;
  progressJson: string;
};

const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms).unref());

function workersFromLogs(logs: readonly string[]): string[] {
  const workers: string[] = [];
  for (const line of logs) {
    const m = /^attempt \d+ started on (.+)$/.exec(line);
    if (m?.[1] !== undefined) workers.push(m[1]);
  }
  return workers;
}

const jobOptionsOf = (options: RunJobGraphOptions) => ({
  attempts: options.attempts ?? 3,
  backoff: { type: 'exponential' as const, delay: options.backoffMs ?? 1000 },
  removeOnComplete: { age: 7 * 24 * 3600 },
  removeOnFail: { age: 30 * 24 * 3600 },
});

/** One run of a job graph: the jobs as tracked here, the Redis connection and queue, the run's state. */
class JobGraphRun {
  readonly #options: RunJobGraphOptions;
  /** The jobs in topological order. */
  readonly #order: readonly DistributedJob[];
  readonly #keepGoing: boolean;
  readonly #isDone: RunJobGraphOptions['isDone'];
  readonly #connection: ReturnType<typeof openRedis>;
  readonly #queue: Queue<QueuedJobData, StageJobResult>;
  readonly #jobOptions: ReturnType<typeof jobOptionsOf>;
  readonly #tracked: Map<string, Tracked>;
  readonly #runStartedAt: number;
  /** A permanent failure without keepGoing: queue nothing new. */
  #stopped = false;
  #lastContact = performance.now();
  /** This scheduler, as recorded in its jobs' data (`host:pid:nonce`). */
  readonly #owner = `${hostname()}:${process.pid}:${randomBytes(3).toString('hex')}`;
  #lastHeartbeat = -Infinity;
  #lastWorkerCheck = -Infinity;
  #noWorkerSince: number | undefined;
  /** Waiting time (ms since #noWorkerSince) of the last no-worker notice. */
  #lastNoWorkerNotice: number | undefined;

  constructor(order: readonly DistributedJob[], options: RunJobGraphOptions) {
    this.#options = options;
    this.#order = order;
    this.#keepGoing = options.keepGoing ?? true;
    this.#isDone = options.isDone;
    this.#connection = openRedis(options.redis);
    this.#queue = new Queue<QueuedJobData, StageJobResult>(options.queueName ?? DEFAULT_STAGE_QUEUE, {
      connection: this.#connection,
    });
    this.#queue.on('error', () => {});
    this.#jobOptions = jobOptionsOf(options);
    this.#tracked = new Map(
      order.map((job) => [job.id, { job, state: 'blocked', startedAttempts: 0, failedAttempts: 0, progressJson: '' }]),
    );
    this.#runStartedAt = Date.now();
  }

  #emit(e: SchedulerEvent): void {
    try {
      this.#options.onEvent?.(e);
    } catch {
      /* a display error must not stop the run */
    }
  }

  #finish(t: Tracked, outcome: JobOutcome): void {
    t.state = 'done';
    t.outcome = outcome;
    if (outcome.status === 'failed' && !this.#keepGoing) this.#stopped = true;
    this.#emit({ type: 'finished', job: t.job, outcome });
  }

  #cached(t: Tracked): void {
    this.#emit({ type: 'cached', job: t.job });
    this.#finish(t, reused(t));
  }

  async #add(t: Tracked): Promise<void> {
    const data: QueuedJobData = {
      key: t.job.id,
      name: t.job.name,
      kind: t.job.kind,
      deps: t.job.deps,
      payload: t.job.payload,
      ...(this.#options.store !== undefined && { store: this.#options.store }),
      owner: this.#owner,
    };
    await this.#queue.add(t.job.name, data, { ...this.#jobOptions, jobId: jobIdForKey(t.job.id) });
  }

  /** The deps of `t` are done: reuse its artifact, adopt a job already in Redis, or queue it. */
  async #enqueue(t: Tracked): Promise<void> {
    const isDone = this.#isDone;
    if (isDone !== undefined && (await isDone(t.job))) return this.#cached(t);
    // State first, then the job hash (as in observe): a job finishing in between is seen finished.
    const state = await this.#queue.getJobState(jobIdForKey(t.job.id));
    const existing =
      state === 'unknown' ? undefined : await Job.fromId<QueuedJobData, StageJobResult>(this.#queue, jobIdForKey(t.job.id));
    if (existing !== undefined) {
      if (state === 'completed' && isDone === undefined) return this.#cached(t);
      // It completed between the store check above and the state read (a concurrent run queued it).
      if (state === 'completed' && isDone !== undefined && (await isDone(t.job))) return this.#cached(t);
      if (state === 'failed' && (existing.finishedOn ?? 0) >= this.#runStartedAt) {
        // Failed during this run (queued by a concurrent run): report it, do not run it again.
        t.state = 'queued';
        await this.#observe(t);
        return;
      }
      if (state === 'completed' || state === 'failed') {
        // A finished job of an earlier run whose artifact is gone, or that failed then: run it afresh.
        await existing.remove().catch(() => {});
      } else {
        t.state = 'queued'; // waiting, delayed or active: queued by an earlier or concurrent run
        const owner = existing.data?.owner;
        if (typeof owner === 'string' && owner !== this.#owner)
          this.#notice({
            type: 'adopted',
            job: t.job,
            state,
            owner,
            ownerState: (await this.#ownerAlive(owner)) ? 'concurrent' : 'interrupted',
          });
        this.#emit({ type: 'queued', job: t.job });
        return;
      }
    }
    await this.#add(t);
    t.state = 'queued';
    this.#emit({ type: 'queued', job: t.job });
  }

  /** A job Redis reports completed or failed: its outcome, with the workers from its log. */
  async #finished(t: Tracked, job: Job<QueuedJobData, StageJobResult>, state: 'completed' | 'failed'): Promise<void> {
    const logs = (await this.#queue.getJobLogs(job.id as string)).logs;
    if (state === 'completed') {
      const r = job.returnvalue;
      this.#finish(t, {
        id: t.job.id,
        name: t.job.name,
        status: r.status,
        seconds: r.seconds,
        workerId: r.workerId,
        workers: workersFromLogs(logs),
        failedAttempts: Math.max(0, job.attemptsMade - 1),
        ...(r.detail !== undefined && { detail: r.detail }),
      });
      return;
    }
    this.#finish(t, {
      id: t.job.id,
      name: t.job.name,
      status: 'failed',
      seconds: 0,
      workers: workersFromLogs(logs),
      failedAttempts: job.attemptsMade,
      error: job.failedReason ?? 'unknown error',
    });
  }

  /** Reads the state of one queued job from Redis and acts on it. */
  async #observe(t: Tracked): Promise<void> {
    // State first, then the job hash: a job that completes between the two reads is seen with its return value.
    const state = await this.#queue.getJobState(jobIdForKey(t.job.id));
    const job = await Job.fromId<QueuedJobData, StageJobResult>(this.#queue, jobIdForKey(t.job.id));
    if (job === undefined || state === 'unknown') {
      // Redis lost it (restart without persistence) or it was removed.
      if (this.#isDone !== undefined && (await this.#isDone(t.job))) this.#finish(t, reused(t));
      else await this.#add(t);
      return;
    }
    if ((state === 'completed' || state === 'failed') && t.startedAttempts === 0 && job.attemptsStarted > 0) {
      // Finished between two polls: the display still gets its 'started' line, late.
      t.startedAttempts = job.attemptsStarted;
      this.#emit({ type: 'started', job: t.job, workerId: job.processedBy ?? 'unknown', attempt: job.attemptsStarted });
    }
    if (state === 'completed' || state === 'failed') return this.#finished(t, job, state);
    // A failed attempt waiting for its retry (a job seen active whose hash was read just after it
    // completed also shows attemptsMade > 0: the state check keeps that from looking like a retry).
    if (
      (state === 'delayed' || state === 'waiting' || state === 'prioritized') &&
      job.failedReason !== undefined &&
      job.attemptsMade > t.failedAttempts
    ) {
      t.failedAttempts = job.attemptsMade;
      this.#emit({ type: 'retrying', job: t.job, failedAttempts: job.attemptsMade, error: job.failedReason ?? 'unknown error' });
    }
    if (state === 'active' && job.attemptsStarted > t.startedAttempts) {
      t.startedAttempts = job.attemptsStarted;
      this.#emit({ type: 'started', job: t.job, workerId: job.processedBy ?? 'unknown', attempt: job.attemptsStarted });
    }
    const progressJson = JSON.stringify(job.progress ?? null);
    if (state === 'active' && progressJson !== t.progressJson && job.progress !== 0) {
      t.progressJson = progressJson;
      this.#emit({ type: 'progress', job: t.job, progress: job.progress });
    }
  }

  #notice(n: SchedulerNotice): void {
    try {
      this.#options.onNotice?.(n);
    } catch {
      /* a display error must not stop the run */
    }
  }

  /** Whether the scheduler `owner` still runs: its process, when on this host, and its heartbeat in Redis. */
  async #ownerAlive(owner: string): Promise<boolean> {
    const m = /^(.*):(\d+):[0-9a-f]+$/.exec(owner);
    if (m !== null && m[1] === hostname()) {
      try {
        process.kill(Number(m[2]), 0);
      } catch (e) {
        if ((e as NodeJS.ErrnoException).code === 'ESRCH') return false;
      }
    }
    return (await this.#connection.exists(heartbeatKey(owner))) === 1;
  }

  /** Keeps this scheduler's heartbeat key alive (every HEARTBEAT_MS, expiring after HEARTBEAT_TTL_MS). */
  async #heartbeat(): Promise<void> {
    const now = performance.now();
    if (now - this.#lastHeartbeat < HEARTBEAT_MS) return;
    this.#lastHeartbeat = now;
    await this.#connection.set(heartbeatKey(this.#owner), String(Date.now()), 'PX', HEARTBEAT_TTL_MS);
  }

  /**
   * Waiting jobs queued by an interrupted run (its heartbeat gone) that this run does not need: nobody
   * waits for them, so they are removed before a worker spends time on them. Active ones are left to finish.
   */
  async #cancelOrphans(): Promise<void> {
    const mine = new Set(this.#order.map((j) => jobIdForKey(j.id)));
    const candidates = await this.#queue.getJobs(['waiting', 'delayed', 'prioritized']);
    const alive = new Map<string, boolean>();
    for (const job of candidates) {
      const owner = job?.data?.owner;
      if (job === undefined || job.id === undefined || mine.has(job.id) || typeof owner !== 'string') continue;
      if (!alive.has(owner)) alive.set(owner, await this.#ownerAlive(owner));
      if (alive.get(owner) === true) continue;
      const removed = await job.remove().then(
        () => true,
        () => false, // taken by a worker meanwhile: it runs to its end
      );
      if (removed) this.#notice({ type: 'cancelled', name: job.data.name, key: job.data.key, owner });
    }
  }

  /** Queued jobs and no worker on the queue: a notice after noWorkerNoticeMs, then every noWorkerRepeatMs. */
  async #watchWorkers(): Promise<void> {
    const now = performance.now();
    if (now - this.#lastWorkerCheck < 1000) return;
    this.#lastWorkerCheck = now;
    const waiting = [...this.#tracked.values()].filter((t) => t.state === 'queued').length;
    const workers = waiting === 0 ? 1 : await this.#queue.getWorkersCount();
    if (workers > 0) {
      if (this.#lastNoWorkerNotice !== undefined && waiting > 0) this.#notice({ type: 'workers', count: workers });
      this.#noWorkerSince = undefined;
      this.#lastNoWorkerNotice = undefined;
      return;
    }
    this.#noWorkerSince ??= now;
    // Due at first, first + every, first + 2·every, … of waiting; said as that many seconds.
    const first = this.#options.noWorkerNoticeMs ?? 5_000;
    const every = this.#options.noWorkerRepeatMs ?? 10_000;
    const waited = now - this.#noWorkerSince;
    if (waited < first) return;
    const due = first + Math.floor((waited - first) / every) * every; // the last threshold passed
    if (this.#lastNoWorkerNotice === undefined || due > this.#lastNoWorkerNotice) {
      this.#lastNoWorkerNotice = due;
      this.#notice({ type: 'no-worker', seconds: due / 1000, waiting });
    }
  }

  /** One pass: finish blocked jobs whose deps failed, queue the ready ones, observe the queued ones. */
  async #round(): Promise<boolean> {
    await this.#heartbeat();
    for (const t of this.#tracked.values()) {
      if (t.state !== 'blocked') continue;
      const deps = t.job.deps.map((d) => this.#tracked.get(d) as Tracked);
      const failedDep = deps.find(
        (d) => d.state === 'done' && (d.outcome?.status === 'failed' || d.outcome?.status === 'skipped'),
      );
      if (failedDep !== undefined) {
        this.#finish(t, {
          id: t.job.id,
          name: t.job.name,
          status: 'skipped',
          seconds: 0,
          workers: [],
          failedAttempts: 0,
          blockedBy: failedDep.outcome?.blockedBy ?? failedDep.job.name,
        });
      } else if (!this.#stopped && deps.every((d) => d.state === 'done')) {
        await this.#enqueue(t);
      }
    }
    for (const t of this.#tracked.values()) if (t.state === 'queued') await this.#observe(t);
    await this.#watchWorkers();
    const queued = [...this.#tracked.values()].some((t) => t.state === 'queued');
    const progressPossible = !this.#stopped && [...this.#tracked.values()].some((t) => t.state === 'blocked');
    return queued || progressPossible;
  }

  /** `work`, or a 'redis-unreachable' error once Redis has not answered for redisTimeoutMs. */
  async #withDeadline<T>(work: Promise<T>): Promise<T> {
    const redisTimeoutMs = this.#options.redisTimeoutMs ?? 30_000;
    let timer: NodeJS.Timeout | undefined;
    const left = Math.max(0, redisTimeoutMs - (performance.now() - this.#lastContact));
    const deadline = new Promise<never>((_, reject) => {
      timer = setTimeout(() => {
        reject(
          new SpecpipeError(
            'redis-unreachable',
            `no answer from Redis at ${this.#options.redis.display} for ${(redisTimeoutMs / 1000).toFixed(1)} s (--redis); ` +
              'start it and rerun the same command: finished stages are reused',
          ),
        );
      }, left);
    });
    try {
      const value = await Promise.race([work, deadline]);
      this.#lastContact = performance.now();
      return value;
    } finally {
      clearTimeout(timer);
    }
  }

  /** Rounds every pollMs until nothing is queued and nothing more can start; then the outcomes, in topological order. */
  async run(): Promise<JobOutcome[]> {
    this.#lastContact = performance.now();
    const asRedisError = (e: unknown): never => {
      if (isSpecpipeError(e)) throw e;
      throw new SpecpipeError(
        'redis-error',
        `the scheduler failed talking to Redis at ${this.#options.redis.display}: ${describeRedisError(e instanceof Error ? e.message : String(e))}; ` +
          'rerun the same command to resume: finished stages are reused',
      );
    };
    try {
      // A fast first check: a wrong --redis fails in seconds, not after the whole timeout.
      await this.#withDeadline(this.#connection.ping()).catch(asRedisError);
      await this.#withDeadline(this.#heartbeat().then(() => this.#cancelOrphans())).catch(asRedisError);
      for (;;) {
        const work = this.#round();
        work.catch(() => {}); // a round abandoned at the deadline must not become an unhandled rejection
        const more = await this.#withDeadline(work).catch(asRedisError);
        if (!more) break;
        await sleep(this.#options.pollMs ?? 100);
      }
    } finally {
      await Promise.race([this.#connection.del(heartbeatKey(this.#owner)).catch(() => {}), sleep(500)]);
      this.#connection.disconnect();
      await Promise.race([this.#queue.close().catch(() => {}), sleep(1000)]);
    }
    return this.#order.map((job) => {
      const t = this.#tracked.get(job.id) as Tracked;
      return t.outcome ?? { id: job.id, name: job.name, status: 'skipped' as const, seconds: 0, workers: [], failedAttempts: 0 };
    });
  }
}

/** The outcome of a job whose artifact is reused. */
function reused(t: Tracked): JobOutcome {
  return { id: t.job.id, name: t.job.name, status: 'cached', seconds: 0, workers: [], failedAttempts: 0 };
}

/**
 * Runs a DAG of jobs on BullMQ workers. A job is queued (BullMQ job id = its key, so a job queued
 * twice — by this run or by a concurrent one — runs once) as soon as every dep is done; flows are
 * trees and the DAG is not, so the scheduler queues on completion. The truth is the state in Redis,
 * read every `pollMs`: a job that Redis lost is queued again, a failed job of an earlier run is
 * queued afresh, a job still waiting or running from an earlier run is adopted.
 */
export async function runJobGraph(jobs: readonly DistributedJob[], options: RunJobGraphOptions): Promise<JobGraphResult> {
  // Job ids become store paths on the workers: only stage keys go on the queue.
  for (const job of jobs) {
    assertStageKey(job.id, `job ${job.name}: id`);
    job.deps.forEach((d, i) => assertStageKey(d, `job ${job.name}: deps[${i}]`));
  }
  // A wrong URL, dead port or refused password fails here in seconds, with the URL named.
  const redisTimeoutMs = options.redisTimeoutMs ?? 30_000;
  await checkRedis(options.redis, { attempts: Math.max(1, Math.min(5, Math.round(redisTimeoutMs / 1000))) });
  const order = topologicalJobOrder(jobs);
  const t0 = performance.now();
  const outcomes = await new JobGraphRun(order, options).run();
  return { outcomes, seconds: (performance.now() - t0) / 1000 };
}
