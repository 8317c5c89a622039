import { loadStageModules } from '../stages/registry.js';
import { registerBuiltinStageKinds } from '../stages/builtin.js';
import { loadPipeline, type LoadedPipeline } from './loadPipeline.js';
import { buildPlan, planNeedsBackend, type Plan } from './plan.js';

export interface PreparedPlan {
  readonly loaded: LoadedPipeline;
  readonly plan: Plan;
}

/** Registers the built-in kinds and those of $SPECPIPE_STAGE_MODULES (once per process). */
export async function registerStageKinds(): Promise<void> {
  registerBuiltinStageKinds();
  await loadStageModules();
}

/**
 * Pipeline file → checked plan with keys. The backend is started only when some stage computes
 * with tensors (its id is a key ingredient of those stages); `resolveBackend: false` (validate)
 * puts "unresolved" in its place.
 */
export async function preparePlan(file: string, overrides: readonly string[], options: { resolveBackend?: boolean } = {}): Promise<PreparedPlan> {
  await registerStageKinds();
  const loaded = loadPipeline(file, { overrides });
  let backendId = planNeedsBackend(loaded) ? 'unresolved' : 'none';
  if (options.resolveBackend !== false && backendId === 'unresolved') {
    const { initBackend, backendId: idOf } = await import('../backend/backend.js');
    backendId = idOf(await initBackend(loaded.spec.backend));
  }
  return { loaded, plan: buildPlan(loaded, { backendId }) };
}
