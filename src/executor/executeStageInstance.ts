import { hostname } from 'node:os';
import { readFileSync, rmSync } from 'node:fs';
import { SpecpipeError, describeSystemError, isSpecpipeError, isSystemError } from '../util/errors.js';
import { ArtifactStore, type VerifyMode } from '../store/artifactStore.js';
import type { Manifest } from '../store/manifest.js';
import {
  getStageKind,
  loadStageKinds,
  type StageContext,
  type StageKind,
  type StageResult,
  type StageProgress,
  type UpstreamArtifact,
} from '../stages/registry.js';
import type { PlanNode } from '../pipeline/plan.js';
import { ancestorArtifacts, upstreamArtifact } from './resolveUpstream.js';
import type { InstanceStatus } from '../store/runRecord.js';

export interface InstanceOutcome {
  readonly status: InstanceStatus;
  readonly key: string;
  readonly seconds: number;
  /** Artifact directory. */
  readonly artifacts: string;
  readonly metrics?: Readonly<Record<string, number>>;
  readonly error?: string;
  /** Set when status is cached because the artifact was invalid and recomputed, etc. */
  readonly note?: string;
}

export interface ExecuteOptions {
  /** Recompute even if a valid artifact exists. */
  readonly force?: boolean;
  readonly verify?: VerifyMode;
  readonly progress?: (p: StageProgress) => void;
  readonly log?: (message: string) => void;
  /** Called when another process holds the key's lock (we wait for it). */
  readonly onWait?: (what: string) => void;
  /** Worker identity recorded in the manifest (default host:pid). */
  readonly worker?: string;
}

let packageVersion: string | undefined;
function specpipeVersion(): string {
  if (packageVersion !== undefined) return packageVersion;
  try {
    const url = new URL('../../package.json', import.meta.url);
    let v: string | undefined;
    try {
      v = (JSON.parse(readFileSync(url, 'utf8')) as { version?: string }).version;
    } catch {
      v = (JSON.parse(readFileSync(new URL('../../../package.json', import.meta.url), 'utf8')) as { version?: string }).version;
    }
    packageVersion = v ?? 'unknown';
  } catch {
    packageVersion = 'unknown';
  }
  return packageVersion;
}

/** The kind that runs `node`, as the plan expects it: registered here, same version, same backend. */
async function kindFor(node: PlanNode): Promise<{ kind: StageKind; backend: string }> {
  await loadStageKinds([node.kind]);
  const kind = getStageKind(node.kind);
  if (kind === undefined)
    throw new SpecpipeError('unknown-stage-kind', `${node.name}: stage kind ${node.kind} is not registered in this process`);
  if (kind.version !== node.version) {
    throw new SpecpipeError(
      'stage-version-mismatch',
      `${node.name}: the plan was made for ${node.kind} version ${node.version}, this process has version ${kind.version}`,
    );
  }
  let backend = 'none';
  if (kind.usesBackend) {
    const { initBackend, backendId } = await import('../backend/backend.js');
    backend = backendId(await initBackend(node.backendChoice));
    if (backend !== node.ingredients.backend) {
      throw new SpecpipeError(
        'backend-mismatch',
        `${node.name}: the key was computed for backend ${node.ingredients.backend}, this process runs ${backend}`,
      );
    }
  }
  return { kind, backend };
}

/** What a stage sees: its params, its verified upstream artifacts and their ancestors, an empty output directory. */
function stageContext(
  node: PlanNode,
  store: ArtifactStore,
  verify: VerifyMode,
  outDir: string,
  backend: string,
  lock: { touch(): void },
  options: ExecuteOptions,
): StageContext {
  const needs: Record<string, UpstreamArtifact> = {};
  for (const u of node.needs) needs[u.stage] = upstreamArtifact(store, u, verify, node.name);
  const gathered: Record<string, UpstreamArtifact[]> = {};
  for (const [g, list] of Object.entries(node.gather))
    gathered[g] = list.map((u) => upstreamArtifact(store, u, verify, node.name));
  const ancestors = ancestorArtifacts(store, [...Object.values(needs), ...Object.values(gathered).flat()], verify, node.name);
  return {
    params: structuredClone(node.params) as Record<string, unknown>,
    instance: { stage: node.stage, name: node.name, key: node.key, matrix: node.matrix, coords: node.coords },
    needs,
    gathered,
    ancestors,
    outDir,
    seed: node.seed,
    backend,
    progress: (p) => {
      lock.touch();
      options.progress?.(p);
    },
    log: (m) => options.log?.(m),
    transports: {
      redisShards: async (url) => (await import('./bullmq/productShards.js')).redisShardTransport({ redis: url }),
    },
  };
}

/** The manifest of a finished instance: what it is, how it was made (execution layout as provenance), what it measured. */
function manifestOf(
  node: PlanNode,
  kind: StageKind,
  backend: string,
  result: StageResult,
  started: Date,
): Omit<Manifest, 'files'> {
  const finished = new Date();
  return {
    storeSchema: node.ingredients.storeSchema,
    key: node.key,
    kind: node.kind,
    version: node.version,
    stage: node.stage,
    instance: node.name,
    params: node.params,
    ...(node.execution !== undefined && { execution: node.execution }),
    matrix: node.matrix,
    coords: node.coords,
    upstream: node.ingredients.upstream,
    ingredients: node.ingredients,
    backend,
    seed: node.seed,
    metrics: result.metrics ?? {},
    versions: { specpipe: specpipeVersion(), node: process.version, [node.kind]: String(kind.version) },
    timings: {
      started: started.toISOString(),
      finished: finished.toISOString(),
      seconds: (finished.getTime() - started.getTime()) / 1000,
    },
    producedBy: { host: hostname(), pid: process.pid },
  };
}

/**
 * Runs ONE stage instance against a store, safely alongside other processes doing the same:
 * 1. a valid artifact under an unlocked key ⇒ cached (the caller holds a lease on the key, so a
 *    `gc` leaves it alone from here on; a locked key is checked again under its lock);
 * 2. else take the key's lock (waiting while another live process computes it), check again
 *    (it may have been computed meanwhile ⇒ cached);
 * 3. else discard any corrupt/partial directory, run the stage into a temp dir, hash its files,
 *    write the manifest and rename the directory into place; release the lock.
 * A crash at any point leaves at most a temp dir and a lock whose owner is dead; both are ignored
 * (and cleaned) by the next process. `node` is plain JSON, so a distributed worker can call this
 * with a plan node received from a queue and the path of a shared store.
 */
export async function executeStageInstance(
  node: PlanNode,
  storeOrPath: ArtifactStore | string,
  options: ExecuteOptions = {},
): Promise<InstanceOutcome> {
  const store = typeof storeOrPath === 'string' ? new ArtifactStore(storeOrPath) : storeOrPath;
  const verify = options.verify ?? 'fast';
  const t0 = performance.now();
  const seconds = (): number => Math.round(performance.now() - t0) / 1000;
  const artifacts = store.dir(node.key);
  const outcome = (status: 'cached' | 'executed', m: Manifest, note?: string): InstanceOutcome => ({
    status,
    key: node.key,
    seconds: seconds(),
    artifacts,
    metrics: m.metrics,
    ...(note !== undefined ? { note } : {}),
  });
  const who = (owner: { what: string; host: string; pid: number } | undefined, none: string): string =>
    owner !== undefined ? `${owner.what} on ${owner.host}:${owner.pid}` : none;

  let note: string | undefined;
  let outDir: string | undefined;
  if (options.force !== true) {
    // The run's lease on the key is already written; a locked key is checked again under its lock.
    const v = store.verifyUnlocked(node.key, verify);
    if (v !== 'locked' && v.ok) return outcome('cached', v.manifest);
    if (v !== 'locked' && v.present) note = `recomputed: ${v.reason}`;
  }
  const failed = (e: unknown): InstanceOutcome => {
    // EACCES, ENOSPC… while reading or writing: one line naming the path (a stage's own write that names
    // none, e.g. a writeFileSync that ran out of space, is named by the directory it was writing into).
    const one = describeSystemError(e, undefined, isSystemError(e) && e.path === undefined ? outDir : undefined);
    const msg = isSpecpipeError(one) ? one.message : e instanceof Error ? (e.stack ?? e.message) : String(e);
    return { status: 'failed', key: node.key, seconds: seconds(), artifacts, error: msg };
  };
  let lock: Awaited<ReturnType<ArtifactStore['lock']>>;
  try {
    lock = await store.lock(
      node.key,
      node.name,
      (owner) => options.onWait?.(who(owner, 'another process')),
      (owner) => options.log?.(`took over the lock of ${who(owner, 'a process')}, which is no longer running`),
    );
  } catch (e) {
    return failed(e); // the lock itself could not be written (a full disk, a read-only store)
  }
  try {
    if (options.force !== true) {
      const v = store.verify(node.key, verify);
      if (v.ok) return outcome('cached', v.manifest);
      if (v.present) note = `recomputed: ${v.reason}`;
    }
    if (note !== undefined) options.log?.(note);
    store.discard(node.key);
    const { kind, backend } = await kindFor(node);
    outDir = store.tempDir(node.key);
    const started = new Date();
    const result = (await kind.run(stageContext(node, store, verify, outDir, backend, lock, options))) ?? {};
    const m = store.commit(node.key, outDir, manifestOf(node, kind, backend, result, started), result.roles ?? {});
    return outcome('executed', m, note);
  } catch (e) {
    const failure = failed(e);
    if (outDir !== undefined) {
      try {
        rmSync(outDir, { recursive: true, force: true });
      } catch {
        /* the next run's sweep removes it */
      }
    }
    return failure;
  } finally {
    lock.release();
  }
}
