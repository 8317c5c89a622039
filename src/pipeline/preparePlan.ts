import { readFileSync } from 'node:fs';
import { parse } from 'yaml';
import { loadStageKinds, loadStageModules } from '../stages/registry.js';
import { registerBuiltinStageKinds } from '../stages/builtin.js';
import { loadPipeline, type LoadedPipeline } from './loadPipeline.js';
import { buildPlan, planNeedsBackend, type Plan } from './plan.js';
import type { FingerprintCache } from '../store/fileFingerprint.js';

export interface PreparedPlan {
  readonly loaded: LoadedPipeline;
  readonly plan: Plan;
}

/** Registers the built-in kinds and those of $SPECPIPE_STAGE_MODULES (once per process). */
export async function registerStageKinds(): Promise<void> {
  registerBuiltinStageKinds();
  await loadStageModules();
}

/** The `uses:` values of a pipeline file, read leniently (loadPipeline reports every error properly). */
function usedKinds(file: string): string[] {
  try {
    const doc = parse(readFileSync(file, 'utf8')) as { stages?: Record<string, { uses?: unknown }> } | null;
    return Object.values(doc?.stages ?? {})
      .map((s) => s?.uses)
      .filter((u): u is string => typeof u === 'string');
  } catch {
    return [];
  }
}

/**
 * Pipeline file → checked plan with keys. The backend is started only when some stage computes
 * with tensors (its id is a key ingredient of those stages); `resolveBackend: false` (validate)
 * puts "unresolved" in its place. `fingerprints` (the store's cache of input-file hashes,
 * `FingerprintCache.forStore`) is saved once the plan is built; without it inputs are hashed afresh.
 */
export async function preparePlan(
  file: string,
  overrides: readonly string[],
  options: { resolveBackend?: boolean; fingerprints?: FingerprintCache } = {},
): Promise<PreparedPlan> {
  await registerStageKinds();
  await loadStageKinds([...usedKinds(file), ...overrides.flatMap((o) => /^[^.=]+\.uses=(.+)$/.exec(o)?.[1] ?? [])]);
  const loaded = loadPipeline(file, { overrides });
  let backendId = planNeedsBackend(loaded) ? 'unresolved' : 'none';
  if (options.resolveBackend !== false && backendId === 'unresolved') {
    const { initBackend, backendId: idOf } = await import('../backend/backend.js');
    backendId = idOf(await initBackend(loaded.spec.backend));
  }
  const plan = buildPlan(loaded, {
    backendId,
    ...(options.fingerprints !== undefined && { fingerprints: options.fingerprints }),
  });
  options.fingerprints?.save();
  return { loaded, plan };
}
