import { randomBytes } from 'node:crypto';
import { hostname } from 'node:os';
import { serialize, deserialize } from 'node:v8';
import { Queue, Worker, type Job } from 'bullmq';
import type { Redis } from 'ioredis';
import type { ProductRequest } from '../../curvature/productRequestType.js';
import type { ShardInit } from '../../curvature/productShard.js';
import {
  describeRequest,
  type ShardConnection,
  type ShardPlan,
  type ShardTransport,
} from '../../curvature/shardedProductEngine.js';
import { startShardThread, type ShardThread } from '../../curvature/threadTransport.js';
import { SpecpipeError } from '../../util/errors.js';
import { openRedis, parseRedisUrl, redisOptions, type RedisEndpoint } from './redisConnection.js';

/**
 * Data-parallel curvature products over Redis + BullMQ: a ShardTransport
 * (src/curvature/shardedProductEngine.ts, which splits and combines) whose shards are served by
 * product-shard workers on any machine that reaches the Redis server. The caller (a stage, the
 * CLI) builds it with `redisShardTransport` and hands it to Curvature.open as
 * `{ shards: { transport, count } }`, so src/curvature never loads bullmq or ioredis.
 *
 * Redis keys of a session S (all under `specpipe:products:S:`, expiring after a day):
 *   init:k      v8-serialized ShardInit of shard k (network spec, builder, θ, buffers, its samples)
 *   req:i:k     the i-th request as shard k answers it
 *   res:i:k     shard k's answer (v8-serialized Float64Array[])
 *   done:i      list of JSON notes {shard, ok, error?, evaluations?, worker} the requester BLPOPs
 * One BullMQ job per shard and product on the queue `specpipe-products` (data {session, id, shard});
 * a worker caches each session's shards it loaded (a worker thread each, so the job lock keeps being
 * renewed while a product runs). A worker killed mid-product loses its job to another worker through
 * BullMQ's stalled-job check; a product that no worker answers within `productTimeoutMs` fails with
 * an error naming the shard.
 */

export const DEFAULT_PRODUCT_QUEUE = 'specpipe-products';
const KEY_TTL_S = 24 * 3600;

interface ProductJobData {
  readonly session: string;
  readonly id: number;
  readonly shard: number;
  readonly shards: number;
  readonly what: string;
}

interface DoneNote {
  readonly shard: number;
  readonly ok: boolean;
  readonly error?: string;
  /** Batch-level product evaluations this answer took. */
  readonly evaluations?: number;
  readonly worker: string;
}

const keyOf = (session: string, rest: string): string => `specpipe:products:${session}:${rest}`;

export interface RedisTransportOptions {
  /** `redis://[user:password@]host[:port][/db]`, or a parsed endpoint. */
  readonly redis: string | RedisEndpoint;
  readonly queueName?: string;
  /** Longest wait for the first product (workers load their shards), in ms (default productTimeoutMs, else 120 000). */
  readonly startTimeoutMs?: number;
}

/**
 * Shards served over Redis by product-shard workers; `productTimeoutMs` (from ExecutionOptions)
 * is the longest wait for all shards of one product (default 600 000 ms).
 */
export function redisShardTransport(options: RedisTransportOptions): ShardTransport {
  const redis = typeof options.redis === 'string' ? parseRedisUrl(options.redis, 'redis.url') : options.redis;
  return {
    open: (shards, o) =>
      RedisShards.start(shards, {
        redis,
        ...(options.queueName !== undefined && { queueName: options.queueName }),
        ...(options.startTimeoutMs !== undefined && { startTimeoutMs: options.startTimeoutMs }),
        ...(o.productTimeoutMs !== undefined && { productTimeoutMs: o.productTimeoutMs }),
      }),
  };
}

interface RedisShardsOptions {
  readonly redis: RedisEndpoint;
  readonly queueName?: string;
  readonly productTimeoutMs?: number;
  readonly startTimeoutMs?: number;
}

class RedisShards implements ShardConnection {
  /** The session id (the Redis keys' namespace). */
  readonly session: string;
  readonly #ranges: readonly (readonly [number, number])[];
  readonly #queue: Queue<ProductJobData>;
  readonly #client: Redis;
  readonly #blocking: Redis;
  readonly #redis: RedisEndpoint;
  readonly #queueName: string;
  readonly #timeoutMs: number;
  #nextId = 1;
  #evaluations = 0;
  #closed = false;
  /** Products are asked one at a time (one blocking connection). */
  #chain: Promise<unknown> = Promise.resolve();

  private constructor(options: RedisShardsOptions, session: string, ranges: readonly (readonly [number, number])[]) {
    this.session = session;
    this.#ranges = ranges;
    this.#redis = options.redis;
    this.#queueName = options.queueName ?? DEFAULT_PRODUCT_QUEUE;
    this.#timeoutMs = options.productTimeoutMs ?? 600_000;
    this.#queue = new Queue<ProductJobData>(this.#queueName, { connection: redisOptions(options.redis) });
    this.#queue.on('error', () => {});
    this.#client = openRedis(options.redis);
    this.#blocking = openRedis(options.redis);
  }

  /** Publishes each shard's problem to Redis and waits until workers answered a first (gradient-free) request for every shard. */
  static async start(plans: readonly ShardPlan[], options: RedisShardsOptions): Promise<RedisShards> {
    const session = randomBytes(8).toString('hex');
    const shards = new RedisShards(
      options,
      session,
      plans.map((p) => p.range),
    );
    try {
      const multi = shards.#client.multi();
      plans.forEach((p, k) => multi.set(keyOf(session, `init:${k}`), serialize(p.init), 'EX', KEY_TTL_S));
      await multi.exec();
      // Every shard loaded somewhere (fails fast when no worker listens).
      const logits: ProductRequest = { kind: 'logits' };
      await shards.#product(
        plans.map(() => logits),
        options.startTimeoutMs ?? options.productTimeoutMs ?? 120_000,
      );
    } catch (e) {
      await shards.close();
      throw e;
    }
    return shards;
  }

  answer(requests: readonly ProductRequest[]): Promise<Float64Array[][]> {
    const next = this.#chain.then(() => this.#product(requests, this.#timeoutMs));
    this.#chain = next.catch(() => {});
    return next;
  }

  async #product(requests: readonly ProductRequest[], timeoutMs: number): Promise<Float64Array[][]> {
    if (this.#closed) throw new SpecpipeError('engine-closed', 'curvature product engine: used after close()');
    const id = this.#nextId++;
    const s = this.session;
    const what = describeRequest(requests[0]!);
    const S = this.#ranges.length;
    const multi = this.#client.multi();
    requests.forEach((r, k) => multi.set(keyOf(s, `req:${id}:${k}`), serialize(r), 'EX', KEY_TTL_S));
    await multi.exec();
    await this.#queue.addBulk(
      this.#ranges.map((_, k) => ({
        name: 'product',
        data: { session: s, id, shard: k, shards: S, what },
        opts: { jobId: `${s}-${id}-${k}`, attempts: 1, removeOnComplete: true, removeOnFail: true },
      })),
    );
    const parts: (Float64Array[] | undefined)[] = new Array(S).fill(undefined);
    const deadline = Date.now() + timeoutMs;
    let received = 0;
    try {
      while (received < S) {
        const left = deadline - Date.now();
        const got = left > 0 ? await this.#blocking.blpop(keyOf(s, `done:${id}`), Math.max(0.01, left / 1000)) : null;
        if (got === null) {
          const missing = parts.map((p, k) => (p === undefined ? k : -1)).filter((k) => k >= 0);
          throw new SpecpipeError(
            'shard-timeout',
            `${missing.map((k) => this.#shardName(k)).join(', ')} did not answer ${what} within ${timeoutMs / 1000} s ` +
              `(no product-shard worker on queue "${this.#queueName}" at ${this.#redis.display}, or it died and none took over)`,
          );
        }
        const note = JSON.parse(got[1]) as DoneNote;
        if (parts[note.shard] !== undefined) continue; // a retaken job answered twice
        if (!note.ok)
          throw new SpecpipeError(
            'shard-product',
            `${this.#shardName(note.shard)}: ${what} failed on worker ${note.worker}: ${note.error ?? 'unknown error'}`,
          );
        const blob = await this.#client.getBuffer(keyOf(s, `res:${id}:${note.shard}`));
        if (blob === null)
          throw new SpecpipeError('shard-product', `${this.#shardName(note.shard)}: the answer to ${what} vanished from Redis`);
        parts[note.shard] = deserialize(blob) as Float64Array[];
        this.#evaluations += note.evaluations ?? 0;
        received++;
      }
    } finally {
      const keys = this.#ranges.flatMap((_, k) => [keyOf(s, `req:${id}:${k}`), keyOf(s, `res:${id}:${k}`)]);
      await this.#client.del(...keys, keyOf(s, `done:${id}`)).catch(() => {});
    }
    return parts as Float64Array[][];
  }

  #shardName(k: number): string {
    const [a, b] = this.#ranges[k]!;
    return `curvature shard ${k + 1} of ${this.#ranges.length} (samples [${a}, ${b}), session ${this.session})`;
  }

  /** Batch-level evaluations of the products answered so far (the workers report each answer's count). */
  async evaluations(): Promise<number> {
    await this.#chain;
    return this.#evaluations;
  }

  /** Deletes the session's keys and closes its connections (the workers drop their cached shards in time). */
  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    await this.#chain;
    await this.#client.del(...this.#ranges.map((_, k) => keyOf(this.session, `init:${k}`))).catch(() => {});
    await this.#queue.close().catch(() => {});
    this.#client.disconnect();
    this.#blocking.disconnect();
  }
}

// ---------------------------------------------------------------------------------------------
// The worker side.

export interface ProductShardWorkerOptions {
  readonly redis: RedisEndpoint;
  readonly queueName?: string;
  /** Product jobs at once in this process (default 1). */
  readonly concurrency?: number;
  /** Loaded shards kept (least recently used dropped first; default 4). */
  readonly cachedShards?: number;
  /** Default `hostname:pid`. */
  readonly workerId?: string;
  /** Job lock lifetime (default 60 000 ms): a worker killed mid-product loses its job after about this plus the stalled interval. */
  readonly lockDurationMs?: number;
  readonly stalledIntervalMs?: number;
  /** Fault tests only: wait this long before answering each job (a worker to kill mid-product). */
  readonly answerDelayMs?: number;
}

export interface ProductShardWorker {
  readonly id: string;
  ready(): Promise<void>;
  /** Stops taking jobs, waits for the running ones, ends the shard threads and connections. */
  close(): Promise<void>;
}

/**
 * Serves product-shard jobs of any session: loads the shard's problem from Redis the first time
 * (into a worker thread), answers the request, writes the answer and notes it on the session's
 * done list. `specpipe worker` starts one beside its stage worker.
 */
/**
 * The shard threads a product worker keeps, one per (session, shard), started from the problem the
 * requester published in Redis; at most `limit`, least recently used terminated first.
 */
function shardThreadCache(client: ReturnType<typeof openRedis>, limit: number) {
  const cache = new Map<string, Promise<ShardThread>>();
  const terminate = (t: Promise<ShardThread>): void =>
    void t.then(
      (x) => x.terminate(),
      () => {},
    );
  return {
    get(session: string, shard: number): Promise<ShardThread> {
      const key = `${session}:${shard}`;
      let t = cache.get(key);
      if (t !== undefined) {
        // most recently used last
        cache.delete(key);
        cache.set(key, t);
        return t;
      }
      t = (async () => {
        const blob = await client.getBuffer(keyOf(session, `init:${shard}`));
        if (blob === null) throw new Error(`no problem published for session ${session} shard ${shard + 1} (closed or expired)`);
        return startShardThread(deserialize(blob) as ShardInit);
      })();
      cache.set(key, t);
      t.catch(() => cache.delete(key));
      while (cache.size > limit) {
        const [oldest, thread] = cache.entries().next().value as [string, Promise<ShardThread>];
        cache.delete(oldest);
        terminate(thread);
      }
      return t;
    },
    async closeAll(): Promise<void> {
      await Promise.all(
        [...cache.values()].map((t) =>
          t.then(
            (x) => x.terminate(),
            () => {},
          ),
        ),
      );
      cache.clear();
    },
  };
}

/** Answers one product job: runs the request on its shard thread, stores the result and notes the outcome for the requester. */
async function answerProductJob(
  client: ReturnType<typeof openRedis>,
  threads: ReturnType<typeof shardThreadCache>,
  job: Job<ProductJobData>,
  workerId: string,
  answerDelayMs: number | undefined,
): Promise<{ worker: string }> {
  const { session, id, shard } = job.data;
  const done = keyOf(session, `done:${id}`);
  const note = async (n: Omit<DoneNote, 'worker' | 'shard'>): Promise<void> => {
    await client
      .multi()
      .rpush(done, JSON.stringify({ ...n, shard, worker: workerId }))
      .expire(done, KEY_TTL_S)
      .exec();
  };
  try {
    const thread = await threads.get(session, shard);
    const blob = await client.getBuffer(keyOf(session, `req:${id}:${shard}`));
    if (blob === null) throw new Error(`request ${id} of session ${session} is gone (the requester stopped waiting)`);
    const request = deserialize(blob) as ProductRequest;
    const before = (await thread.ask({ kind: 'evaluations' }))[0]![0]!;
    const result = await thread.ask({ kind: 'request', request });
    const after = (await thread.ask({ kind: 'evaluations' }))[0]![0]!;
    if (answerDelayMs !== undefined) await new Promise((r) => setTimeout(r, answerDelayMs));
    await client.set(keyOf(session, `res:${id}:${shard}`), serialize(result), 'EX', KEY_TTL_S);
    await note({ ok: true, evaluations: after - before });
  } catch (e) {
    await note({ ok: false, error: e instanceof Error ? e.message : String(e) }).catch(() => {});
    throw e;
  }
  return { worker: workerId };
}

export function startProductShardWorker(options: ProductShardWorkerOptions): ProductShardWorker {
  const workerId = options.workerId ?? `${hostname()}:${process.pid}`;
  const client = openRedis(options.redis);
  const threads = shardThreadCache(client, options.cachedShards ?? 4);
  const processor = (job: Job<ProductJobData>) => answerProductJob(client, threads, job, workerId, options.answerDelayMs);
  const worker = new Worker<ProductJobData>(options.queueName ?? DEFAULT_PRODUCT_QUEUE, processor, {
    connection: redisOptions(options.redis),
    name: workerId,
    concurrency: options.concurrency ?? 1,
    lockDuration: options.lockDurationMs ?? 60_000,
    stalledInterval: options.stalledIntervalMs ?? 30_000,
    maxStalledCount: 2,
    autorun: true,
  });
  worker.on('error', () => {});
  return {
    id: workerId,
    ready: () => worker.waitUntilReady().then(() => undefined),
    close: async () => {
      await worker.close();
      await threads.closeAll();
      client.disconnect();
    },
  };
}
