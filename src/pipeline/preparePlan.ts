import { parse } from 'yaml';
import { loadStageKinds, loadStageModules } from '../stages/registry.js';
import { registerBuiltinStageKinds } from '../stages/builtin.js';
import { loadPipeline, phaseError, type LoadedPipeline } from './loadPipeline.js';
import { buildPlan, planNeedsBackend, type Plan } from './plan.js';
import { readPipelineSource } from './readSource.js';

export interface PreparedPlan {
  readonly loaded: LoadedPipeline;
  readonly plan: Plan;
}

/** Registers the built-in kinds and those of $SPECPIPE_STAGE_MODULES (once per process). */
export async function registerStageKinds(): Promise<void> {
  registerBuiltinStageKinds();
  await loadStageModules();
}

/** The `uses:` values of a pipeline's text, read leniently (loadPipeline reports every error properly). */
function usedKinds(source: string): string[] {
  try {
    const doc = parse(source, { uniqueKeys: false }) as { stages?: Record<string, { uses?: unknown }> } | null;
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
 * puts "unresolved" in its place.
 */
export async function preparePlan(
  file: string,
  overrides: readonly string[],
  options: { resolveBackend?: boolean } = {},
): Promise<PreparedPlan> {
  await registerStageKinds();
  const read = readPipelineSource(file);
  if (!read.ok) throw phaseError(read, undefined);
  const source = read.value;
  await loadStageKinds([...usedKinds(source), ...overrides.flatMap((o) => /^[^.=]+\.uses=(.+)$/.exec(o)?.[1] ?? [])]);
  const loaded = loadPipeline(file, { overrides, source });
  let backendId = planNeedsBackend(loaded) ? 'unresolved' : 'none';
  if (options.resolveBackend !== false && backendId === 'unresolved') {
    const { initBackend, backendId: idOf } = await import('../backend/backend.js');
    backendId = idOf(await initBackend(loaded.spec.backend));
  }
  return { loaded, plan: buildPlan(loaded, { backendId }) };
}
