import { SpecpipeError } from '../util/errors.js';
import type { ArtifactRole, Manifest } from '../store/manifest.js';
import type { ShardTransport } from '../curvature/shardedProductEngine.js';

export type { ArtifactRole } from '../store/manifest.js';

/** An upstream stage instance's finished artifact, as a stage sees it. */
export interface UpstreamArtifact {
  /** Pipeline stage name, e.g. "train". */
  readonly stage: string;
  /** Instance name, e.g. "train[train_per_class=50]". */
  readonly name: string;
  readonly kind: string;
  readonly key: string;
  /** Its own matrix cell. */
  readonly matrix: Readonly<Record<string, unknown>>;
  /** Every matrix coordinate of its lineage (its upstream cells and its own). */
  readonly coords: Readonly<Record<string, unknown>>;
  /** Resolved params it ran with. */
  readonly params: Readonly<Record<string, unknown>>;
  /** Directory holding its files (read only). */
  readonly dir: string;
  readonly manifest: Manifest;
}

export interface StageProgress {
  /** Steps done and total, e.g. epoch 3 of 30, Lanczos step 40 of 128. */
  readonly done: number;
  readonly total: number;
  /** What a step is ("epoch", "lanczos"). */
  readonly unit?: string;
  /** Free text after the counter (e.g. "loss 0.231"). */
  readonly note?: string;
}

export interface StageContext<P = Record<string, unknown>> {
  readonly params: P;
  /** This instance. */
  readonly instance: {
    readonly stage: string;
    readonly name: string;
    readonly key: string;
    readonly matrix: Readonly<Record<string, unknown>>;
    readonly coords: Readonly<Record<string, unknown>>;
  };
  /** One artifact per `needs:` stage (the compatible instance of each). */
  readonly needs: Readonly<Record<string, UpstreamArtifact>>;
  /** Every instance of each `gather:` stage, in plan order. */
  readonly gathered: Readonly<Record<string, readonly UpstreamArtifact[]>>;
  /**
   * Every ancestor of the `needs:` artifacts (their upstream, and theirs, …), nearest first, each
   * verified by the executor through the store. Typed readers (stages/<kind>/…Artifact.ts) find
   * what they read here and in `needs`: a spectrum stage reads the dataset its train instance used.
   */
  readonly ancestors: readonly UpstreamArtifact[];
  /** Empty directory to write the artifact files into (a temp dir, renamed into place when `run` returns). */
  readonly outDir: string;
  /** The instance's seed: its `seed` matrix coordinate (own or inherited), else the pipeline seed. */
  readonly seed: number;
  /** Backend id in use ("cpu+openblas", …), "none" for kinds with `usesBackend: false`. */
  readonly backend: string;
  progress(p: StageProgress): void;
  log(message: string): void;
  /**
   * Transports for products sharded beyond this process, provided by the executor (a stage never
   * imports the executor): Redis shards served by `specpipe worker --products` at `url`.
   */
  readonly transports?: { redisShards(url: string): Promise<ShardTransport> };
}

export interface StageResult {
  /** Scalar results shown by `show` and compared by `diff` (loss, accuracy, top eigenvalue, …). */
  readonly metrics?: Readonly<Record<string, number>>;
  /** Roles of files written to outDir (files not listed get 'data'). */
  readonly roles?: Readonly<Record<string, ArtifactRole>>;
}

/** What `resolveParams` sees of the plan. */
export interface ResolveEnv {
  /** Directory of the pipeline file (relative paths in params are relative to it). */
  readonly baseDir: string;
  /** Content fingerprint of an absolute path ("sha256:<hex>", "tree:<hex>" or "absent"), cached as the key's are. */
  readonly fingerprint?: (path: string) => string;
}

/**
 * A registered stage kind: a pure function of (params, upstream artifacts). `paramsSchema` is the
 * JSON Schema (ajv, draft-07) of `with:`; defaults it declares are filled in before hashing.
 */
export interface StageKind<P = any> {
  /** "group/name", e.g. "train/sgd". */
  readonly kind: string;
  /** Implementation version; bump it when a code change changes results (every cached artifact of the kind is then recomputed). */
  readonly version: number;
  readonly description: string;
  readonly paramsSchema: Readonly<Record<string, unknown>>;
  /** Whether it computes with tfjs (then the backend id is a key ingredient and the backend is started before `run`). */
  readonly usesBackend: boolean;
  /**
   * Whether its results are curvature products of the model its train/sgd upstream trained (directly,
   * or through an upstream instance that has this flag): its key then records the product
   * implementation (src/curvature/productPath.ts) under numerics.products when it is not tfjs autodiff.
   */
  readonly curvesModel?: boolean;
  /** Files it writes, by name pattern → role, for documentation. */
  readonly outputs?: Readonly<Record<string, string>>;
  /**
   * Plan-time hook: returns the params to hash and run with, e.g. an input file's path made absolute
   * (against the pipeline file's directory) and its sha256 added, so a changed input changes the key.
   */
  resolveParams?(params: P, env: ResolveEnv): P;
  /**
   * Params that choose how the work is laid out (threads, processes, shards), not what is computed:
   * they leave the key (changing one reruns nothing) and are recorded in the manifest as provenance.
   * Only params whose every value gives the same result up to float64 summation order belong here.
   */
  readonly executionParams?: readonly string[];
  /**
   * Files and directories the stage reads, given its resolved params: label → absolute path. Their
   * content (src/store/fileFingerprint.ts) enters the key as `inputs: {label → fingerprint}`; the
   * label, not the path, names it there, so a store moved with its inputs keeps its keys.
   */
  inputFiles?(params: P, env: { readonly baseDir: string }): Readonly<Record<string, string>>;
  run(ctx: StageContext<P>): Promise<StageResult | void>;
}

const kinds = new Map<string, StageKind>();
/** Kinds whose module is imported only when a pipeline uses them (heavy modules keep planning fast). */
const lazyKinds = new Map<string, () => Promise<StageKind>>();
/** Kinds any thread or process can register for itself: built-in ones and those of $SPECPIPE_STAGE_MODULES. */
const portableKinds = new Set<string>();

/** Marks kinds as registered by code every stage thread loads too (registerStageKinds in src/pipeline/preparePlan.ts). */
export function markPortableStageKinds(names: Iterable<string>): void {
  for (const n of names) portableKinds.add(n);
}

/**
 * Whether a stage thread (src/executor/stageThread.ts) knows this kind: true for built-in kinds and
 * those of $SPECPIPE_STAGE_MODULES, false for kinds registered with `registerStageKind` in this
 * thread only (those instances run in this thread).
 */
export function isPortableStageKind(name: string): boolean {
  return portableKinds.has(name);
}

/** Registers a kind; registering the same name twice replaces it only when `replace` is set. */
export function registerStageKind(kind: StageKind, options: { replace?: boolean } = {}): void {
  if (!/^[a-z0-9-]+\/[a-z0-9-]+$/.test(kind.kind)) {
    throw new SpecpipeError('bad-stage-kind', `stage kind names are "group/name" in lower case, received "${kind.kind}"`);
  }
  if (!Number.isInteger(kind.version) || kind.version < 1) {
    throw new SpecpipeError(
      'bad-stage-kind',
      `stage kind ${kind.kind}: version must be a positive integer, received ${String(kind.version)}`,
    );
  }
  if (kinds.has(kind.kind) && options.replace !== true) {
    throw new SpecpipeError('duplicate-stage-kind', `stage kind ${kind.kind} is already registered`);
  }
  kinds.set(kind.kind, kind);
}

/** A kind known before its module is loaded: `load` imports the module and returns the kind object. */
export function registerLazyStageKind(name: string, load: () => Promise<StageKind>): void {
  if (!kinds.has(name)) lazyKinds.set(name, load);
}

/** Loads the lazily registered kinds among `names` (unknown names are left for the caller to report). */
export async function loadStageKinds(names: Iterable<string>): Promise<void> {
  for (const name of new Set(names)) {
    const load = lazyKinds.get(name);
    if (load === undefined || kinds.has(name)) continue;
    let kind: StageKind;
    try {
      kind = await load();
    } catch (e) {
      throw new SpecpipeError('stage-module', `cannot load stage kind ${name} (${e instanceof Error ? e.message : String(e)})`);
    }
    if (kind.kind !== name)
      throw new SpecpipeError('bad-stage-kind', `lazy stage kind "${name}" loaded a kind named "${kind.kind}"`);
    if (!kinds.has(name)) registerStageKind(kind);
    lazyKinds.delete(name);
  }
}

/** A loaded kind (call `loadStageKinds` first for lazily registered ones). */
export function getStageKind(name: string): StageKind | undefined {
  return kinds.get(name);
}

/** Every known kind name, loaded or lazy. */
export function stageKindNames(): string[] {
  return [...new Set([...kinds.keys(), ...lazyKinds.keys()])].sort();
}

/**
 * Imports extra modules that register stage kinds: the paths in $SPECPIPE_STAGE_MODULES (separated
 * by the platform's path delimiter). Tests and plugins use it; pipeline files never name code.
 */
export async function loadStageModules(env: NodeJS.ProcessEnv = process.env): Promise<void> {
  const { delimiter, resolve } = await import('node:path');
  const { pathToFileURL } = await import('node:url');
  const list = env['SPECPIPE_STAGE_MODULES'];
  if (list === undefined || list === '') return;
  const before = new Set(stageKindNames());
  for (const p of list.split(delimiter)) {
    if (p === '') continue;
    try {
      await import(pathToFileURL(resolve(p)).href);
    } catch (e) {
      throw new SpecpipeError(
        'stage-module',
        `SPECPIPE_STAGE_MODULES: cannot import ${p} (${e instanceof Error ? e.message : String(e)})`,
      );
    }
  }
  markPortableStageKinds(stageKindNames().filter((n) => !before.has(n)));
}
