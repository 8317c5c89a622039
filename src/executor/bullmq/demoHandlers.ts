import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { StageHandler, StageHandlerContext, StageHandlerOutcome } from './stageWorker.js';
import type { DistributedJob } from './jobGraph.js';
import { assertStageKey } from '../../store/storeKey.js';

/**
 * A cheap, deterministic stand-in for a stage, for the executor's tests and benchmark (never
 * registered by `specpipe worker`: tests and the benchmark register it explicitly):
 * value = SHA-256 iterated `cpuRounds` times over `seed | value(dep₁) | … | value(depₙ)`.
 * It reads its deps' artifacts from the store, so a wrong order or a partial artifact changes
 * every downstream value.
 */
export interface HashChainPayload {
  readonly seed: string;
  /** Idle time inside the stage, between the partial and the complete write (default 0). */
  readonly sleepMs?: number;
  /** SHA-256 rounds: CPU-bound work (default 1). */
  readonly cpuRounds?: number;
  /** Throw on the first N attempts, then succeed (default 0). */
  readonly failAttempts?: number;
  /** Throw on every attempt. */
  readonly alwaysFail?: boolean;
}

export const HASH_CHAIN_KIND = 'demo/hash-chain';
const ARTIFACT_FILE = 'value.json';

/** SHA-256 iterated `rounds` times (hex in, hex out after the first round). */
export function hashChainValue(seed: string, depValues: readonly string[], rounds: number): string {
  let h = [seed, ...depValues].join('|');
  for (let i = 0; i < Math.max(1, rounds); i++) h = createHash('sha256').update(h).digest('hex');
  return h;
}

export function hashChainArtifactPath(store: string, key: string): string {
  return join(store, assertStageKey(key, `${HASH_CHAIN_KIND} artifact`), ARTIFACT_FILE);
}

export function hashChainArtifactExists(store: string, key: string): boolean {
  return existsSync(hashChainArtifactPath(store, key));
}

export function readHashChainValue(store: string, key: string): string {
  const parsed = JSON.parse(readFileSync(hashChainArtifactPath(store, key), 'utf8')) as { value: string };
  return parsed.value;
}

/** The values a correct run must produce, computed in this process (the "local run"). */
export function hashChainReference(jobs: readonly DistributedJob[]): Map<string, string> {
  const values = new Map<string, string>();
  const byId = new Map(jobs.map((j) => [j.id, j]));
  const valueOf = (id: string): string => {
    const known = values.get(id);
    if (known !== undefined) return known;
    const job = byId.get(id) as DistributedJob;
    const p = job.payload as HashChainPayload;
    const v = hashChainValue(p.seed, job.deps.map(valueOf), p.cpuRounds ?? 1);
    values.set(id, v);
    return v;
  };
  for (const j of jobs) valueOf(j.id);
  return values;
}

const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

/** The `demo/hash-chain` handler: writes `<store>/<key>/value.json` through a temporary directory. */
export const hashChainHandler: StageHandler = async (
  payload: unknown,
  ctx: StageHandlerContext,
): Promise<StageHandlerOutcome> => {
  const p = payload as HashChainPayload;
  assertStageKey(ctx.key, `${HASH_CHAIN_KIND} job ${ctx.name}`);
  ctx.deps.forEach((d, i) => assertStageKey(d, `${HASH_CHAIN_KIND} job ${ctx.name}, deps[${i}]`));
  if (hashChainArtifactExists(ctx.store, ctx.key)) return { status: 'cached' };
  if (p.alwaysFail === true) throw new Error(`stage ${ctx.name} always fails (attempt ${ctx.attempt})`);
  if (ctx.attempt <= (p.failAttempts ?? 0)) throw new Error(`stage ${ctx.name} fails on attempt ${ctx.attempt}`);
  const depValues = ctx.deps.map((d) => readHashChainValue(ctx.store, d));
  mkdirSync(ctx.store, { recursive: true });
  const tmp = mkdtempSync(join(ctx.store, `.tmp-${ctx.key}-`));
  writeFileSync(join(tmp, `${ARTIFACT_FILE}.partial`), '{"value":"');
  if ((p.sleepMs ?? 0) > 0) await sleep(p.sleepMs ?? 0);
  const value = hashChainValue(p.seed, depValues, p.cpuRounds ?? 1);
  await ctx.reportProgress({ step: 1, of: 1 });
  rmSync(join(tmp, `${ARTIFACT_FILE}.partial`));
  writeFileSync(join(tmp, ARTIFACT_FILE), JSON.stringify({ key: ctx.key, value }));
  try {
    renameSync(tmp, join(ctx.store, ctx.key));
  } catch (e) {
    rmSync(tmp, { recursive: true, force: true });
    if (hashChainArtifactExists(ctx.store, ctx.key)) return { status: 'cached' }; // another worker won the race
    throw e;
  }
  return { status: 'executed', detail: { value } };
};

/** The demo handlers, for tests and the benchmark to register on their workers explicitly. */
export function demoHandlers(): Map<string, StageHandler> {
  return new Map([[HASH_CHAIN_KIND, hashChainHandler]]);
}
