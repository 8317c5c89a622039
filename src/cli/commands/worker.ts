import { parseArgs } from 'node:util';
import { resolve } from 'node:path';
import { SpecpipeError } from '../../util/errors.js';
import { DEFAULT_STAGE_QUEUE } from '../../executor/bullmq/jobGraph.js';
import type { StageHandler } from '../../executor/bullmq/stageWorker.js';

const USAGE = `usage: specpipe worker --redis redis://HOST[:PORT][/DB] --store PATH [options]

Takes stage jobs queued by \`specpipe run --executor bullmq\` and runs them, writing
artifacts to the shared store PATH (the same directory every worker and the run see).

options:
  --redis URL                 Redis server of the queue (required)
  --store PATH                shared artifact store (required)
  --concurrency N             stage jobs at once in this process (default 1)
  --queue NAME                queue name (default ${DEFAULT_STAGE_QUEUE})
  --id ID                     worker id recorded on its jobs (default hostname:pid)
  --lock-duration-ms MS       job lock lifetime; a dead worker's job is retaken after about
                              this plus the stalled interval (default 60000)
  --stalled-interval-ms MS    how often to look for stalled jobs (default 30000)
  --max-stalled N             stalls a job survives before it fails (default 2)
  --isolate thread|none       run each stage in a worker thread (default), so a stage that
                              never yields cannot starve the job's lock renewal; or in this
                              thread (cheaper start)
  --products                  also serve curvature product shards (spectrum stages with
                              redis_shards > 0 spread their Hess·v / G·v products over these)
  --redis-timeout-ms MS       stop with an error when Redis has not answered for this long
                              (default 60000; a restart within it is picked up again)
  --quiet                     print only the ready line and errors`;

function positiveInt(option: string, text: string | undefined, fallback: number): number {
  if (text === undefined) return fallback;
  const n = Number(text);
  if (!Number.isInteger(n) || n < 1)
    throw new SpecpipeError('bad-option', `${option}: expected a positive integer, got "${text}"`);
  return n;
}

/**
 * `specpipe worker --redis URL --store PATH [--concurrency N]`: runs until SIGINT/SIGTERM.
 * `extraHandlers`: job kinds besides `stage` (tests and the benchmark pass the demo handlers;
 * the CLI passes none, so a queued demo job cannot write into a production store).
 */
export async function workerCommand(
  argv: string[],
  extraHandlers: ReadonlyMap<string, StageHandler> = new Map(),
): Promise<number> {
  let parsed;
  try {
    parsed = parseArgs({
      args: argv,
      options: {
        redis: { type: 'string' },
        store: { type: 'string' },
        concurrency: { type: 'string' },
        queue: { type: 'string' },
        id: { type: 'string' },
        'lock-duration-ms': { type: 'string' },
        'stalled-interval-ms': { type: 'string' },
        'max-stalled': { type: 'string' },
        'redis-timeout-ms': { type: 'string' },
        isolate: { type: 'string' },
        quiet: { type: 'boolean' },
        products: { type: 'boolean' },
        help: { type: 'boolean', short: 'h' },
      },
      strict: true,
      allowPositionals: false,
    });
  } catch (e) {
    throw new SpecpipeError('bad-option', `${e instanceof Error ? e.message : String(e)}\n\n${USAGE}`, 2);
  }
  const v = parsed.values;
  if (v.help === true) {
    process.stdout.write(USAGE + '\n');
    return 0;
  }
  if (v.redis === undefined) throw new SpecpipeError('bad-option', `--redis is required\n\n${USAGE}`, 2);
  if (v.store === undefined) throw new SpecpipeError('bad-option', `--store is required\n\n${USAGE}`, 2);
  // bullmq and ioredis load only here: every other command starts without them.
  const { parseRedisUrl, checkRedis, watchRedis } = await import('../../executor/bullmq/redisConnection.js');
  const { startStageWorker } = await import('../../executor/bullmq/stageWorker.js');
  const { STAGE_JOB_KIND, loadStageHandler } = await import('../../executor/bullmq/stageHandler.js');
  const redis = parseRedisUrl(v.redis);
  const redisTimeoutMs = positiveInt('--redis-timeout-ms', v['redis-timeout-ms'], 60_000);
  const concurrency = positiveInt('--concurrency', v.concurrency, 1);
  const lockDurationMs = positiveInt('--lock-duration-ms', v['lock-duration-ms'], 60_000);
  const stalledIntervalMs = positiveInt('--stalled-interval-ms', v['stalled-interval-ms'], 30_000);
  const maxStalledCount = positiveInt('--max-stalled', v['max-stalled'], 2);
  const store = resolve(v.store);
  // A wrong URL, dead port or wrong password fails here in seconds, before BullMQ retries silently forever.
  await checkRedis(redis);
  const handlers = new Map<string, StageHandler>(extraHandlers);
  const isolate = v.isolate ?? 'thread';
  if (isolate !== 'thread' && isolate !== 'none')
    throw new SpecpipeError('bad-option', `--isolate must be thread or none, got "${isolate}"`, 2);
  handlers.set(STAGE_JOB_KIND, await loadStageHandler(isolate));
  const quiet = v.quiet === true;
  const say = (line: string) => {
    if (!quiet) process.stdout.write(line + '\n');
  };
  let lost: (e: Error) => void = () => {};
  const redisLost = new Promise<never>((_, reject) => (lost = reject));
  redisLost.catch(() => {});
  const watch = watchRedis(redis, { timeoutMs: redisTimeoutMs, onLost: (e) => lost(e) });
  const worker = startStageWorker({
    redis,
    store,
    handlers,
    queueName: v.queue ?? DEFAULT_STAGE_QUEUE,
    concurrency,
    ...(v.id !== undefined && { workerId: v.id }),
    lockDurationMs,
    stalledIntervalMs,
    maxStalledCount,
    onEvent: (e) => {
      if (e.type === 'started') say(`${e.name}: started (attempt ${e.attempt}) [${e.key}]`);
      else if (e.type === 'completed') say(`${e.name}: ${e.result.status} in ${e.result.seconds.toFixed(2)} s`);
      else say(`${e.name}: attempt ${e.attempt} failed: ${e.error}`);
    },
  });
  let products: { ready(): Promise<void>; close(): Promise<void> } | undefined;
  // SIGINT/SIGTERM stop the worker at any time, even while it waits for a Redis that is gone.
  let stopSignal = (_signal: string) => {};
  const stopped = new Promise<string>((resolveStop) => (stopSignal = resolveStop));
  const onSigint = () => stopSignal('SIGINT');
  const onSigterm = () => stopSignal('SIGTERM');
  process.once('SIGINT', onSigint);
  process.once('SIGTERM', onSigterm);
  let failure: unknown;
  try {
    const started = (async () => {
      await worker.ready();
      products =
        v.products === true
          ? (await import('../../executor/bullmq/productShards.js')).startProductShardWorker({
              redis,
              workerId: `${worker.id}/products`,
            })
          : undefined;
      await products?.ready();
    })();
    const first = await Promise.race([started.then(() => 'ready' as const), stopped, redisLost]);
    if (first === 'ready') {
      process.stdout.write(
        `worker ${worker.id} ready: queue ${v.queue ?? DEFAULT_STAGE_QUEUE} on ${redis.display}, store ${store}\n`,
      );
      const signal = await Promise.race([stopped, redisLost]);
      say(`worker ${worker.id}: ${signal}, finishing running jobs`);
    } else say(`worker ${worker.id}: ${first} before it was ready, stopping`);
  } catch (e) {
    failure = e;
  } finally {
    process.off('SIGINT', onSigint);
    process.off('SIGTERM', onSigterm);
    // Running jobs finish first while Redis answers (a second signal kills); a worker whose Redis
    // died exits within about 5 s of SIGTERM.
    const redisDown = watch.lastError();
    if (failure === undefined && redisDown !== undefined)
      process.stderr.write(
        `worker ${worker.id}: Redis at ${redis.display} is not answering (${redisDown}); closing without it\n`,
      );
    const closed = await worker.close(failure !== undefined ? 0 : redisDown !== undefined ? 1000 : undefined);
    watch.stop();
    await Promise.race([products?.close(), new Promise((r) => setTimeout(r, 2000).unref())]);
    if (closed === 'forced' || failure !== undefined) {
      // Timers of BullMQ's abandoned connections may keep the process alive; this one does not
      // (unref), it only ends a process that would otherwise never exit.
      setTimeout(() => process.exit(), 1000).unref();
    }
  }
  if (failure !== undefined) throw failure;
  return 0;
}
