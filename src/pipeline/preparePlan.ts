import { loadStageKinds, loadStageModules } from '../stages/registry.js';
import { registerBuiltinStageKinds } from '../stages/builtin.js';
import { checkParsedPipeline, phaseError, type LoadedPipeline } from './loadPipeline.js';
import { isPlainMap, parsePipelineSource, type PlainMap } from './parseSource.js';
import { buildPlan, planNeedsBackend, type Plan } from './plan.js';
import { readPipelineSource } from './readSource.js';
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

/** The `uses:` values of a parsed pipeline, read leniently (the checks report every error properly). */
function usedKinds(data: PlainMap): string[] {
  const stages = data['stages'];
  if (!isPlainMap(stages)) return [];
  return Object.values(stages).flatMap((s) => (isPlainMap(s) && typeof s['uses'] === 'string' ? [s['uses']] : []));
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
  const read = readPipelineSource(file);
  if (!read.ok) throw phaseError(read, undefined);
  const source = read.value;
  const parsed = parsePipelineSource(file, source);
  if (!parsed.ok) throw phaseError(parsed, source);
  // Stage kinds load lazily: those the file and the --set name are loaded before the checks look them up.
  await loadStageKinds([...usedKinds(parsed.value.data), ...overrides.flatMap((o) => /^[^.=]+\.uses=(.+)$/.exec(o)?.[1] ?? [])]);
  const checked = checkParsedPipeline(parsed.value, overrides);
  if (!checked.ok) throw phaseError(checked, source);
  const loaded = checked.value;
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
