import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { randomBytes } from 'node:crypto';
import { writeFileAtomic } from '../util/atomicWrite.js';
import { SpecpipeError } from '../util/errors.js';
import type { KeyIngredients } from './stageKey.js';

export type InstanceStatus = 'executed' | 'cached' | 'failed';

/** One stage instance in a run. */
export interface RunStageRecord {
  readonly name: string;
  readonly stage: string;
  readonly kind: string;
  readonly key: string;
  readonly status: InstanceStatus;
  readonly seconds: number;
  /** Artifact directory (absolute). */
  readonly artifacts: string;
  readonly matrix: Readonly<Record<string, unknown>>;
  readonly coords: Readonly<Record<string, unknown>>;
  readonly params: Readonly<Record<string, unknown>>;
  /** What the key was computed from (explain compares these with the next run's). */
  readonly ingredients: KeyIngredients;
  readonly metrics?: Readonly<Record<string, number>>;
  /** Failure message; "not run: …" when an upstream failed or the run stopped first. */
  readonly error?: string;
  /** Who computed it (host:pid or a worker id); absent when cached. */
  readonly worker?: string;
}

/**
 * How a run ended:
 */
export type RunStatus =
  /** Every instance executed or was cached. */
  | 'succeeded'
  /** At least one instance failed (or was not run because of a failure). */
  | 'failed'
  /** Stopped by Ctrl-C (SIGINT): the finished instances are recorded, the rest are `failed` with "interrupted". */
  | 'interrupted';

/** The status of a record, old ones (without `status`) included. */
export function runStatus(r: Pick<RunRecord, 'status' | 'counts'>): RunStatus {
  return r.status ?? (r.counts.failed === 0 ? 'succeeded' : 'failed');
}

/** `runs/<id>.json`. */
export interface RunRecord {
  readonly run: string;
  readonly pipeline: {
    readonly name: string;
    readonly file: string;
    readonly sha256: string;
    readonly overrides: readonly string[];
  };
  readonly store: string;
  readonly backend: string;
  /** Why that backend was chosen (BackendInfo.reason; absent when no stage computed). */
  readonly backendReason?: string;
  readonly executor: string;
  readonly started: string;
  readonly finished: string;
  readonly seconds: number;
  /** How the run ended (absent in records written before it was recorded: read as succeeded when nothing failed). */
  readonly status?: RunStatus;
  readonly counts: { readonly executed: number; readonly cached: number; readonly failed: number };
  readonly stages: readonly RunStageRecord[];
}

/**
 * Where run records live: `runs/` next to the store (`--store artifacts` → `runs/`,
 * `--store /x/y/artifacts` → `/x/y/runs/`), unless given explicitly.
 */
export function defaultRunsDir(store: string): string {
  return join(dirname(resolve(store)), 'runs');
}

/** Sortable, unique: 20261130-140512-042-3f9a1c (UTC date, time, milliseconds, then random). */
export function newRunId(now = new Date()): string {
  const iso = now.toISOString(); // 2026-11-30T14:05:12.042Z
  const t = `${iso.slice(0, 10).replace(/-/g, '')}-${iso.slice(11, 19).replace(/:/g, '')}-${iso.slice(20, 23)}`;
  return `${t}-${randomBytes(3).toString('hex')}`;
}

/** What a finished run knows, from which {@link runRecordOf} builds its record. */
export interface FinishedRun {
  readonly pipeline: RunRecord['pipeline'];
  readonly store: string;
  readonly backend: string;
  readonly backendReason?: string | undefined;
  readonly executor: string;
  readonly started: Date;
  readonly finished: Date;
  readonly result: { readonly seconds: number; readonly counts: RunRecord['counts']; readonly stages: readonly RunStageRecord[] };
  /** Stopped by Ctrl-C: status `interrupted`. */
  readonly interrupted?: boolean;
}

/**
 * The run record of a finished run, field for field the same whether `specpipe run` or a script's
 * `runPipeline()` wrote it; its id is made from the start time.
 */
export function runRecordOf(r: FinishedRun): RunRecord {
  return {
    run: newRunId(r.started),
    pipeline: r.pipeline,
    store: r.store,
    backend: r.backend,
    ...(r.backendReason !== undefined && { backendReason: r.backendReason }),
    executor: r.executor,
    started: r.started.toISOString(),
    finished: r.finished.toISOString(),
    seconds: r.result.seconds,
    status: r.interrupted === true ? 'interrupted' : r.result.counts.failed === 0 ? 'succeeded' : 'failed',
    counts: r.result.counts,
    stages: r.result.stages,
  };
}

export function writeRunRecord(runsDir: string, record: RunRecord): string {
  const p = join(runsDir, `${record.run}.json`);
  writeFileAtomic(p, JSON.stringify(record, null, 2) + '\n');
  return p;
}

/** Run ids, oldest first. */
export function listRunIds(runsDir: string): string[] {
  if (!existsSync(runsDir)) return [];
  return readdirSync(runsDir)
    .filter((n) => n.endsWith('.json') && !n.startsWith('.'))
    .map((n) => n.slice(0, -5))
    .sort();
}

export function readRunRecord(runsDir: string, id: string): RunRecord {
  const p = join(runsDir, `${id}.json`);
  try {
    return JSON.parse(readFileSync(p, 'utf8')) as RunRecord;
  } catch (e) {
    throw new SpecpipeError('run-unreadable', `${p}: cannot read run record (${e instanceof Error ? e.message : String(e)})`);
  }
}

/** The runs of the pipeline named `pipeline` (its `name:`), in the order given. */
export function runsOfPipeline(records: readonly RunRecord[], pipeline: string): RunRecord[] {
  return records.filter((r) => r.pipeline.name === pipeline);
}

/** Resolves RUN as an exact id, a unique prefix, "last"/"latest", or "last~N" (N runs before the last). */
export function resolveRunId(runsDir: string, ref: string): string {
  const ids = listRunIds(runsDir);
  if (ids.length === 0) throw new SpecpipeError('no-runs', `no runs recorded in ${runsDir}`);
  const m = /^(?:last|latest)(?:~(\d+))?$/.exec(ref);
  if (m !== null) {
    const back = Number(m[1] ?? 0);
    const id = ids[ids.length - 1 - back];
    if (id === undefined) throw new SpecpipeError('no-such-run', `run "${ref}": only ${ids.length} runs recorded in ${runsDir}`);
    return id;
  }
  if (ids.includes(ref)) return ref;
  const hits = ids.filter((i) => i.startsWith(ref));
  if (hits.length === 1) return hits[0]!;
  if (hits.length > 1)
    throw new SpecpipeError(
      'ambiguous-run',
      `run "${ref}" is ambiguous: ${hits.slice(0, 5).join(', ')}${hits.length > 5 ? ', …' : ''}`,
    );
  throw new SpecpipeError('no-such-run', `no run "${ref}" in ${runsDir} (latest: ${ids.slice(-3).join(', ')})`);
}
