import { hostname } from 'node:os';
import { mkdirSync } from 'node:fs';
import { describeSystemError } from '../util/errors.js';
import { preparePlan } from '../pipeline/preparePlan.js';
import { ArtifactStore } from '../store/artifactStore.js';
import { FingerprintCache } from '../store/fileFingerprint.js';
import { takeLease } from '../store/lease.js';
import { defaultRunsDir, runRecordOf, writeRunRecord, type RunRecord } from '../store/runRecord.js';
import { runPlanLocally, type LocalRunOptions, type ProgressMode } from './localExecutor.js';
import { planKeys } from '../pipeline/plan.js';

/** The local executor's options (only, force, keepGoing, jobs, verify) plus the store, runs and `--set`. */
export interface RunPipelineOptions extends Pick<LocalRunOptions, 'only' | 'force' | 'keepGoing' | 'jobs' | 'verify'> {
  /** `--set` overrides, e.g. "train.with.epochs=5" (VALUE is YAML). */
  readonly set?: readonly string[];
  /** Artifact store (default "artifacts", relative to the working directory). */
  readonly store?: string;
  /** Run records (default: runs/ next to the store). */
  readonly runs?: string;
  /** Progress on stderr (default quiet). */
  readonly progress?: ProgressMode;
}

export interface RunPipelineResult {
  /** The record written to `<runs>/<run>.json`: the same fields `specpipe run` writes. */
  readonly record: RunRecord;
  readonly recordPath: string;
}

/**
 * `specpipe run FILE` for scripts: plans the pipeline, leases its keys against `gc`, executes it in
 * this process (cached instances reused) and writes the run record the CLI writes, so `specpipe runs`,
 * `diff`, `show` and `report` see the run. A pipeline error throws a PipelineError (its message names
 * file:line:column); a failed stage does not throw: it is `failed` in `record.stages`.
 */
export async function runPipeline(file: string, options: RunPipelineOptions = {}): Promise<RunPipelineResult> {
  const storePath = options.store ?? 'artifacts';
  const runsDir = options.runs ?? defaultRunsDir(storePath);
  const verify = options.verify ?? 'fast';
  const fingerprints = FingerprintCache.forStore(storePath, { trust: verify !== 'full' });
  const { plan } = await preparePlan(file, options.set ?? [], { fingerprints });
  const store = new ArtifactStore(storePath);
  const started = new Date();
  const active = (await import('../backend/backend.js')).activeBackend();
  const leaseKeys = planKeys(plan);
  let lease: ReturnType<typeof takeLease> | undefined;
  try {
    lease = takeLease(store.root, leaseKeys, `runPipeline ${file}`);
    mkdirSync(runsDir, { recursive: true });
  } catch (e) {
    lease?.release();
    throw describeSystemError(e);
  }
  try {
    try {
      store.sweep();
    } catch {
      /* best effort, as in `specpipe run` */
    }
    const result = await runPlanLocally(plan, store, {
      only: options.only ?? [],
      force: options.force ?? [],
      keepGoing: options.keepGoing === true,
      jobs: options.jobs ?? 1,
      verify,
      progress: options.progress ?? 'quiet',
    });
    const record = runRecordOf({
      pipeline: plan.pipeline,
      store: store.root,
      backend: plan.backendId,
      backendReason: active?.reason,
      executor: `local (${hostname()}:${process.pid})`,
      started,
      finished: new Date(),
      result,
    });
    return { record, recordPath: writeRunRecord(runsDir, record) };
  } finally {
    lease.release();
  }
}
