import { SpecpipeError } from '../util/errors.js';

/** How many stage instances a plan may hold: checked before any matrix or combination is expanded. */
export interface InstanceLimits {
  /** Instances of one stage (its matrix cells × compatible combinations of its needs). Default 10,000. */
  readonly perStage: number;
  /** Instances of the whole plan; gathered upstream references are limited to 10× this. Default 100,000. */
  readonly perPlan: number;
}

export const DEFAULT_INSTANCE_LIMITS: InstanceLimits = { perStage: 10_000, perPlan: 100_000 };

/** The environment variable that sets the limits: `N` (per stage; per plan 10·N) or `N,M` (per stage, per plan). */
export const INSTANCE_LIMITS_ENV = 'SPECPIPE_MAX_INSTANCES';

/** The limits of $SPECPIPE_MAX_INSTANCES, or the defaults when it is unset or empty. */
export function instanceLimits(env: NodeJS.ProcessEnv = process.env): InstanceLimits {
  const text = env[INSTANCE_LIMITS_ENV]?.trim();
  if (text === undefined || text === '') return DEFAULT_INSTANCE_LIMITS;
  const m = /^(\d+)(?:\s*,\s*(\d+))?$/.exec(text);
  const perStage = Number(m?.[1]);
  const perPlan = m?.[2] !== undefined ? Number(m[2]) : perStage * 10;
  if (m === null || !(perStage >= 1) || !(perPlan >= 1) || !Number.isSafeInteger(perPlan))
    throw new SpecpipeError(
      'bad-env',
      `${INSTANCE_LIMITS_ENV}: expected N or N,M (instances per stage, per plan; positive integers), received "${text}"`,
      2,
    );
  return { perStage, perPlan };
}
