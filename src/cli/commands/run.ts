import { parseArgs } from 'node:util';
import { availableParallelism, hostname } from 'node:os';
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { SpecpipeError, describeSystemError, isSpecpipeError } from '../../util/errors.js';
import { PipelineError, didYouMean } from '../../pipeline/diagnostic.js';
import { preparePlan } from '../../pipeline/preparePlan.js';
import { ArtifactStore, type VerifyMode } from '../../store/artifactStore.js';
import { FingerprintCache } from '../../store/fileFingerprint.js';
import { defaultRunsDir, runRecordOf, writeRunRecord, type RunRecord, type RunStageRecord } from '../../store/runRecord.js';
import { INTERRUPTED, NOT_RUN_INTERRUPTED, runPlanLocally, type ProgressMode } from '../../executor/localExecutor.js';
import { takeLease } from '../../store/lease.js';
import { planKeys } from '../../pipeline/plan.js';

const HELP = `usage: specpipe run FILE [options]

  --set STAGE.with.PARAM=VALUE   override a param (VALUE is YAML; repeatable); also STAGE.matrix.AXIS=[…], seed=N, seeds=[0,1,2]
  --only STAGE                   run only this stage (or instance) and what it needs (repeatable)
  --force STAGE                  recompute this stage's instances even if cached (repeatable; "all" for every stage)
  --keep-going                   after a failure, run everything that does not depend on it
  --jobs N                       instances computed at once, each in its own thread (default: the cores, at most 4)
  --store PATH                   artifact store (default artifacts/)
  --runs PATH                    run records (default: runs/ next to the store)
  --verify fast|full             reuse check of artifacts and input files (data roots, model files): size+mtime
                                 (rehash on change) or always rehash (default fast)
  --json                         print one JSON document on stdout: {"run", "status", "stages": [{name, key, status,
                                 seconds, artifacts, error?}], "errors": [{stage, instance, message}]}
                                 (message: the error's first line; a stage's error in full under stages)
  --quiet                        no per-stage progress, only the closing line
  --dry-run                      print what would execute and why (cached, forced, which key ingredient changed
                                 since the last run of this pipeline); executes nothing, writes no run record

Ctrl-C stops the running stages and records the run as interrupted (exit 130); the same command resumes it,
reusing the finished stages. A second Ctrl-C exits at once.
`;

/** `specpipe run FILE`: plan, execute (cached stages reused), write runs/<id>.json. */
export async function runCommand(argv: string[]): Promise<number> {
  const { values, positionals } = parseArgs({
    args: argv,
    allowPositionals: true,
    options: {
      set: { type: 'string', multiple: true },
      only: { type: 'string', multiple: true },
      force: { type: 'string', multiple: true },
      'keep-going': { type: 'boolean' },
      jobs: { type: 'string' },
      store: { type: 'string' },
      runs: { type: 'string' },
      verify: { type: 'string' },
      json: { type: 'boolean' },
      quiet: { type: 'boolean' },
      'dry-run': { type: 'boolean' },
      executor: { type: 'string' },
      redis: { type: 'string' },
      queue: { type: 'string' },
      attempts: { type: 'string' },
      help: { type: 'boolean', short: 'h' },
    },
  });
  if (values.help === true) {
    const { EXECUTOR_RUN_HELP } = await import('../../executor/bullmq/runWithExecutor.js');
    process.stdout.write(HELP + EXECUTOR_RUN_HELP);
    return 0;
  }
  if (positionals.length !== 1)
    throw new SpecpipeError(
      'bad-args',
      `specpipe run takes one pipeline file, received ${positionals.length === 0 ? 'none' : positionals.join(' ')}\n\n${HELP}`,
      2,
    );
  const file = positionals[0]!;
  const jobs = values.jobs === undefined ? defaultJobs() : Number(values.jobs);
  if (!Number.isInteger(jobs) || jobs < 1)
    throw new SpecpipeError('bad-args', `--jobs must be a positive integer, received "${values.jobs}"`, 2);
  const verify = (values.verify ?? 'fast') as VerifyMode;
  if (verify !== 'fast' && verify !== 'full')
    throw new SpecpipeError('bad-args', `--verify must be fast|full, received "${values.verify}"`, 2);
  // The distributed executor (and its bullmq import) only when asked for.
  const distributed =
    values.executor !== undefined || values.redis !== undefined || values.queue !== undefined || values.attempts !== undefined;
  const storePath = values.store ?? 'artifacts';
  const runsDir = values.runs ?? defaultRunsDir(storePath);

  let prepared;
  try {
    // Input files enter keys by content; their hashes are cached in the store (--verify full: all rehashed).
    // (--dry-run writes nothing, the hash cache included: inputs are hashed afresh.)
    const fingerprints =
      values['dry-run'] === true ? undefined : FingerprintCache.forStore(storePath, { trust: verify !== 'full' });
    prepared = await preparePlan(file, values.set ?? [], fingerprints === undefined ? {} : { fingerprints });
  } catch (e) {
    if (e instanceof PipelineError) {
      process.stderr.write(e.message + '\n');
      return 1;
    }
    throw e;
  }
  const { plan } = prepared;
  for (const f of values.force ?? []) {
    if (f !== 'all' && !plan.nodes.some((n) => n.stage === f || n.name === f)) {
      const stages = [...new Set(plan.nodes.map((n) => n.stage))];
      throw new SpecpipeError(
        'bad-args',
        `--force ${f}: no such stage or instance in ${file}${didYouMean(f, stages)} (stages: ${stages.join(', ')}; or "all")`,
        2,
      );
    }
  }
  if (values['dry-run'] === true) {
    const { dryRun, formatDryRun } = await import('./dryRun.js');
    const d = dryRun(plan, storePath, runsDir, { only: values.only ?? [], force: values.force ?? [] });
    process.stdout.write((values.json === true ? JSON.stringify(d, null, 2) : formatDryRun(d)) + '\n');
    return 0;
  }
  const store = new ArtifactStore(storePath);
  const json = values.json === true;
  const progress: ProgressMode = values.quiet === true ? 'quiet' : process.stderr.isTTY && !json ? 'live' : 'plain';
  const started = new Date();
  const active = (await import('../../backend/backend.js')).activeBackend(); // started by preparePlan when a stage computes
  if (active !== undefined && progress !== 'quiet') process.stderr.write(`backend: ${plan.backendId} — ${active.reason}\n`);
  const localOptions = {
    only: values.only ?? [],
    force: values.force ?? [],
    keepGoing: values['keep-going'] === true,
    jobs,
    verify,
    progress,
  };
  // Lease every key this run reads or writes, so a `gc` meanwhile leaves them alone.
  const leaseKeys = planKeys(plan);
  // The store and the runs directory must be writable before anything runs (one line, not a stack).
  let lease: ReturnType<typeof takeLease> | undefined;
  try {
    lease = takeLease(store.root, leaseKeys, `run ${file}`);
    mkdirSync(runsDir, { recursive: true });
  } catch (e) {
    lease?.release();
    throw describeSystemError(e);
  }
  // Temp dirs and locks left by a run that died (owner process gone) go before this one starts.
  try {
    store.sweep();
  } catch {
    /* best effort: what it leaves is ignored by the executor */
  }
  // Ctrl-C (local runs): stop the running stages, record what finished, say how to resume; a second one exits at once.
  const interrupt = new AbortController();
  const onSigint = (): void => {
    if (interrupt.signal.aborted) {
      process.stderr.write('second Ctrl-C: exiting now\n');
      process.exit(130);
    }
    process.stderr.write('\nCtrl-C: stopping the running stages (Ctrl-C again to exit at once)\n');
    interrupt.abort();
  };
  // With --executor bullmq Ctrl-C keeps its default (the process ends; queued jobs stay in Redis for a rerun to adopt).
  const local = values.executor === undefined || values.executor === 'local';
  if (local) process.on('SIGINT', onSigint);
  try {
    return await runAndRecord();
  } finally {
    process.off('SIGINT', onSigint);
    lease.release();
  }

  async function runAndRecord(): Promise<number> {
    let result;
    let executor = `local (${hostname()}:${process.pid})`;
    if (distributed) {
      const { runPlanWithExecutor } = await import('../../executor/bullmq/runWithExecutor.js');
      const args = {
        ...(values.executor !== undefined && { executor: values.executor }),
        ...(values.redis !== undefined && { redis: values.redis }),
        ...(values.queue !== undefined && { queue: values.queue }),
        ...(values.attempts !== undefined && { attempts: values.attempts }),
        ...(values.jobs !== undefined && { jobs: values.jobs }),
      };
      const r = await runPlanWithExecutor(args, plan, store, { ...localOptions, ...(local && { signal: interrupt.signal }) });
      result = r;
      executor = r.executor;
    } else result = await runPlanLocally(plan, store, { ...localOptions, signal: interrupt.signal });
    const interrupted = result.interrupted === true;
    const finished = new Date();
    const record: RunRecord = runRecordOf({
      pipeline: plan.pipeline,
      store: store.root,
      backend: plan.backendId,
      backendReason: active?.reason,
      executor,
      started,
      finished,
      result,
      interrupted,
    });
    let recordError: string | undefined;
    try {
      writeRunRecord(runsDir, record);
    } catch (e) {
      const one = describeSystemError(e, 'write the run record', join(runsDir, `${record.run}.json`));
      if (!isSpecpipeError(one)) throw e;
      recordError = `${one.message}; the artifacts of this run are kept in ${store.root}`;
    }
    for (const s of result.stages)
      if (s.status === 'failed' && s.error !== undefined && !s.error.startsWith('not run') && s.error !== INTERRUPTED)
        process.stderr.write(`${s.name} failed: ${s.error}\n`);
    if (interrupted) process.stderr.write(interruptedText(result.stages, record.run, argv) + '\n');
    else process.stderr.write(`${result.summary} (run ${record.run})\n`);
    if (recordError !== undefined) throw new SpecpipeError('io-error', recordError);
    if (json) {
      // One document: the failures (stage, instance, message) ride in it, not only on stderr.
      const out = {
        run: record.run,
        status: record.status,
        stages: result.stages.map((s) => ({
          name: s.name,
          key: s.key,
          status: s.status,
          seconds: s.seconds,
          artifacts: s.artifacts,
          ...(s.error !== undefined && { error: s.error }),
        })),
        errors: result.stages
          .filter((s) => s.status === 'failed' && s.error !== undefined && !s.error.startsWith('not run'))
          .map((s) => ({ stage: s.stage, instance: s.name, message: s.error!.split('\n')[0]! })),
      };
      process.stdout.write(JSON.stringify(out, null, 2) + '\n');
    }
    return interrupted ? 130 : result.counts.failed === 0 ? 0 : 1;
  }
}

/** What an interrupted run finished, what it stopped and how to resume (the same command, without --force). */
function interruptedText(stages: readonly RunStageRecord[], run: string, argv: readonly string[]): string {
  const names = (keep: (s: RunStageRecord) => boolean): string => {
    const n = stages.filter(keep).map((s) => s.name);
    return n.length === 0 ? 'none' : n.join(', ');
  };
  const finished = stages.filter((s) => s.status !== 'failed').length;
  const args: string[] = [];
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!;
    if (a === '--force') i++;
    else if (!a.startsWith('--force=')) args.push(/^[\w@%+=:,./-]+$/.test(a) ? a : `'${a.replace(/'/g, `'\\''`)}'`);
  }
  return [
    `interrupted: ${finished} of ${stages.length} instances finished (${names((s) => s.status !== 'failed')}); stopped while computing: ${names((s) => s.error === INTERRUPTED)}; not started: ${names((s) => s.error === NOT_RUN_INTERRUPTED)} (run ${run}, status interrupted)`,
    `resume with the same command (finished stages are reused): specpipe run ${args.join(' ')}`,
  ].join('\n');
}

/**
 * Instances computed at once by default: one per core (os.availableParallelism), at most 4 — each
 * instance computes on one core (OpenBLAS runs single-threaded by default), and each holds its own
 * data, network and Lanczos bases in memory.
 */
function defaultJobs(): number {
  return Math.max(1, Math.min(4, availableParallelism()));
}
