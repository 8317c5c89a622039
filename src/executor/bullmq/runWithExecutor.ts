import { hostname } from 'node:os';
import { SpecpipeError } from '../../util/errors.js';
import type { Plan } from '../../pipeline/plan.js';
import type { ArtifactStore } from '../../store/artifactStore.js';
import { runPlanLocally, type LocalRunOptions, type LocalRunResult } from '../localExecutor.js';
import { DEFAULT_STAGE_QUEUE } from './jobGraph.js';
import { parseRedisUrl } from './redisConnection.js';
import { runPlanDistributed } from './runPlanDistributed.js';

/**
 * Where `specpipe run` executes the plan:
 */
export type ExecutorName =
  /** In this process (`--jobs N` at once). */
  | 'local'
  /** On `specpipe worker` processes through BullMQ on the Redis server of `--redis`. */
  | 'bullmq';

/** The options `specpipe run` adds for the distributed executor (spread into its parseArgs options). */
export const EXECUTOR_RUN_OPTIONS = {
  executor: { type: 'string' },
  redis: { type: 'string' },
  queue: { type: 'string' },
  attempts: { type: 'string' },
} as const;

/** Their lines in `specpipe run --help`. */
export const EXECUTOR_RUN_HELP = `  --executor local|bullmq        where stages run: this process (default) or \`specpipe worker\` processes
  --redis redis://HOST:PORT      Redis server of the bullmq executor (workers must use the same --store)
  --queue NAME                   bullmq queue (default ${DEFAULT_STAGE_QUEUE})
  --attempts N                   bullmq: tries per stage before it is reported failed (default 3)
                                 bullmq, on stderr: "no worker connected …" after 5 s and every 10 s while jobs
                                 wait; which jobs of an interrupted run are adopted or cancelled. Workers whose
                                 --store is another store (its .store-id differs) refuse the jobs before computing.
`;

export interface ExecutorArgs {
  readonly executor?: string;
  readonly redis?: string;
  readonly queue?: string;
  readonly attempts?: string;
  /** The raw `--jobs` value: only the local executor takes it. */
  readonly jobs?: string;
}

/**
 * Runs the plan with the executor the command line chose; the result has the same shape either
 * way (so the same run record and closing line), plus the record's `executor` description.
 */
export async function runPlanWithExecutor(
  args: ExecutorArgs,
  plan: Plan,
  store: ArtifactStore,
  options: LocalRunOptions,
): Promise<LocalRunResult & { readonly executor: string }> {
  const name = args.executor ?? 'local';
  if (name !== 'local' && name !== 'bullmq') {
    throw new SpecpipeError('bad-args', `--executor must be local or bullmq, received "${name}"`, 2);
  }
  if (name === 'local') {
    for (const [flag, value] of [
      ['--redis', args.redis],
      ['--queue', args.queue],
      ['--attempts', args.attempts],
    ] as const) {
      if (value !== undefined)
        throw new SpecpipeError('bad-args', `${flag} ${value}: only the bullmq executor takes it (add --executor bullmq)`, 2);
    }
    const result = await runPlanLocally(plan, store, options);
    return { ...result, executor: `local (${hostname()}:${process.pid})` };
  }
  if (args.redis === undefined) throw new SpecpipeError('bad-args', '--executor bullmq needs --redis redis://HOST:PORT', 2);
  if (args.jobs !== undefined) {
    throw new SpecpipeError(
      'bad-args',
      `--jobs ${args.jobs}: the bullmq executor runs as many stages at once as its workers take (specpipe worker --concurrency N)`,
      2,
    );
  }
  const redis = parseRedisUrl(args.redis);
  let attempts: number | undefined;
  if (args.attempts !== undefined) {
    attempts = Number(args.attempts);
    if (!Number.isInteger(attempts) || attempts < 1)
      throw new SpecpipeError('bad-args', `--attempts must be a positive integer, received "${args.attempts}"`, 2);
  }
  const queueName = args.queue ?? DEFAULT_STAGE_QUEUE;
  const { jobs: _jobs, ...rest } = options;
  const result = await runPlanDistributed(plan, store, {
    ...rest,
    redis,
    queueName,
    ...(attempts !== undefined && { attempts }),
  });
  return { ...result, executor: `bullmq (queue ${queueName} on ${redis.display})` };
}
