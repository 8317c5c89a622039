import { canonicalJson } from '../util/canonicalJson.js';
import { failure, ok, type Result } from '../util/result.js';
import { showValue, type Diagnostic } from './diagnostic.js';
import type { Locator } from './locate.js';
import { ownValue, type MatrixCell } from './matrix.js';
import type { MatrixSpec, PipelineSpec } from './spec.js';

/**
 * Seeds as a matrix axis (architecture.md, "Seeds"). A matrix axis named `seed` on any stage sets
 * the seed of that stage's instances: it is not a param (it never reaches `with:`), it replaces the
 * pipeline `seed` in the instance's key, `ctx.seed`, its manifest and run record, and it stays in
 * the instance's matrix cell, so its name and coordinates (`train[seed=1,…]`) carry it. Instances
 * downstream inherit it with the other coordinates and compute with it: an instance's seed is its
 * own cell's `seed`, else the first `seed` coordinate of its upstream instances (in `needs` order),
 * else the pipeline `seed`. A stage that gathers (report) keeps the pipeline seed.
 *
 * The top-level `seeds: [0, 1, 2]` is shorthand for a `seed` axis (outermost) on every training
 * stage: every stage whose kind is `train/…`.
 */
export const SEED_AXIS = 'seed';

/** Largest seed (seeds are 32-bit unsigned, like the pipeline `seed`). */
export const MAX_SEED = 4294967295;

/** Whether stages of this kind train a network (the stages `seeds:` fans out). */
export function isTrainingKind(uses: string): boolean {
  return uses.startsWith('train/');
}

/** The stage's matrix as planned: with `seeds:` prepended as the `seed` axis when the stage trains. */
export function seededMatrix(spec: PipelineSpec, stage: string): MatrixSpec | undefined {
  const st = spec.stages[stage];
  if (st === undefined || spec.seeds === undefined || !isTrainingKind(st.uses)) return st?.matrix;
  const m = st.matrix;
  return {
    axes: Object.assign(Object.create(null) as Record<string, readonly unknown[]>, { [SEED_AXIS]: spec.seeds }, m?.axes ?? {}),
    include: m?.include ?? [],
    exclude: m?.exclude ?? [],
  };
}

/** A matrix cell split into its seed (when it names one) and the rest, which is merged into the params. */
export function splitSeed(cell: MatrixCell): { seed: number | undefined; rest: MatrixCell } {
  if (!Object.hasOwn(cell, SEED_AXIS)) return { seed: undefined, rest: cell };
  const rest: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(cell)) if (k !== SEED_AXIS) rest[k] = v;
  return { seed: cell[SEED_AXIS] as number, rest };
}

function isSeed(v: unknown): v is number {
  return typeof v === 'number' && Number.isInteger(v) && v >= 0 && v <= MAX_SEED;
}

function badSeed(where: string, v: unknown): string {
  return `${where} must be an integer seed from 0 to ${MAX_SEED}, received ${showValue(v)}`;
}

function stageSeedProblems(spec: PipelineSpec, stage: string, m: MatrixSpec, locator: Locator): Diagnostic[] {
  const out: Diagnostic[] = [];
  const axis = ownValue(m.axes, SEED_AXIS) as readonly unknown[] | undefined;
  const named = axis !== undefined || m.include.some((c) => Object.hasOwn(c, SEED_AXIS));
  if (named && spec.seeds !== undefined && isTrainingKind(spec.stages[stage]!.uses)) {
    const path = axis !== undefined ? ['stages', stage, 'matrix', SEED_AXIS] : ['stages', stage, 'matrix', 'include'];
    out.push(
      locator.diagnostic(
        path,
        `stages.${stage}.matrix names a seed and the top-level seeds fans ${stage} out over seeds too; keep one of the two`,
        axis !== undefined,
      ),
    );
  }
  const seen = new Map<string, number>();
  axis?.forEach((v, i) => {
    const where = `stages.${stage}.matrix.${SEED_AXIS}[${i}]`;
    if (!isSeed(v)) out.push(locator.diagnostic(['stages', stage, 'matrix', SEED_AXIS, i], badSeed(where, v)));
    else if (seen.has(canonicalJson(v)))
      out.push(
        locator.diagnostic(
          ['stages', stage, 'matrix', SEED_AXIS, i],
          `${where} repeats seed ${v} (already ${SEED_AXIS}[${seen.get(canonicalJson(v))}]); each seed once`,
        ),
      );
    else seen.set(canonicalJson(v), i);
  });
  m.include.forEach((cell, i) => {
    if (Object.hasOwn(cell, SEED_AXIS) && !isSeed(cell[SEED_AXIS]))
      out.push(
        locator.diagnostic(
          ['stages', stage, 'matrix', 'include', i, SEED_AXIS],
          badSeed(`stages.${stage}.matrix.include[${i}].${SEED_AXIS}`, cell[SEED_AXIS]),
        ),
      );
  });
  return out;
}

/**
 * Phase (after the schema): `seed` axis values are seeds (integers 0 … 2³²−1), each once; `seeds:`
 * lists each seed once and applies to at least one training stage, which must not name a seed in
 * its own matrix too. (The schema has already checked that `seeds` is a list of such integers.)
 */
export function checkSeeds(spec: PipelineSpec, locator: Locator): Result<void, Diagnostic> {
  const diags: Diagnostic[] = [];
  if (spec.seeds !== undefined) {
    const seen = new Map<number, number>();
    spec.seeds.forEach((s, i) => {
      const first = seen.get(s);
      if (first !== undefined)
        diags.push(locator.diagnostic(['seeds', i], `seeds[${i}] repeats seed ${s} (already seeds[${first}]); each seed once`));
      else seen.set(s, i);
    });
    if (!Object.values(spec.stages).some((st) => isTrainingKind(st.uses)))
      diags.push(
        locator.diagnostic(
          ['seeds'],
          'seeds fans out the training stages (kinds train/…), and this pipeline has none; put a matrix axis "seed" on the stage to seed instead',
          true,
        ),
      );
  }
  for (const [name, st] of Object.entries(spec.stages))
    if (st.matrix !== undefined) diags.push(...stageSeedProblems(spec, name, st.matrix, locator));
  return diags.length > 0 ? failure('pipeline-seeds', diags) : ok(undefined);
}
