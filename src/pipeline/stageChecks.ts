import { failure, ok, type Result } from '../util/result.js';
import { getStageKind, stageKindNames } from '../stages/registry.js';
import { compileSchema, newAjv, pathLabel, schemaProblems } from './ajvErrors.js';
import { didYouMean, type Diagnostic } from './diagnostic.js';
import type { Locator } from './locate.js';
import type { PlainMap } from './parseSource.js';
import { loadSchema } from '../util/schemaFiles.js';
import type { MatrixSpec, PipelineSpec, StageSpec } from './spec.js';
import { stageOrder, stageUpstream } from './stageGraph.js';
import { isTrainingKind, SEED_AXIS } from './seedAxis.js';

type Phase<T> = Result<T, Diagnostic>;

/** Phase 3: the pipeline schema (schemas/pipeline.schema.json). */
export function checkSchema(raw: PlainMap, locator: Locator): Phase<void> {
  const validate = compileSchema(newAjv(), loadSchema('pipeline.schema.json'));
  if (validate(raw)) return ok(undefined);
  return failure(
    'pipeline-schema',
    schemaProblems(validate.errors).map((p) => locator.diagnostic(p.path, p.message(pathLabel(p.path)), p.atKey)),
  );
}

/** A null-prototype record (so no key reaches Object.prototype). */
function record<V>(entries: Iterable<readonly [string, V]> = []): Record<string, V> {
  const r = Object.create(null) as Record<string, V>;
  for (const [k, v] of entries) r[k] = v;
  return r;
}

function normaliseMatrix(m: PlainMap): MatrixSpec {
  return {
    axes: record(Object.entries(m).filter(([k]) => k !== 'include' && k !== 'exclude') as [string, unknown[]][]),
    include: (m['include'] as PlainMap[] | undefined) ?? [],
    exclude: (m['exclude'] as PlainMap[] | undefined) ?? [],
  };
}

function normaliseStage(s: PlainMap): StageSpec {
  const m = s['matrix'] as PlainMap | undefined;
  return {
    uses: s['uses'] as string,
    ...(typeof s['description'] === 'string' ? { description: s['description'] } : {}),
    needs: (s['needs'] as string[] | undefined) ?? [],
    gather: (s['gather'] as string[] | undefined) ?? [],
    ...(m !== undefined ? { matrix: normaliseMatrix(m) } : {}),
    with: (s['with'] as PlainMap | undefined) ?? record(),
    priority: (s['priority'] as number | undefined) ?? 0,
  };
}

/** Phase 4: schema-checked data → a PipelineSpec (defaults filled; stages, axes and params as null-prototype records). */
export function normaliseSpec(raw: PlainMap): PipelineSpec {
  const rawStages = raw['stages'] as PlainMap;
  return {
    name: raw['name'] as string,
    ...(typeof raw['description'] === 'string' ? { description: raw['description'] } : {}),
    seed: (raw['seed'] as number | undefined) ?? 0,
    ...(Array.isArray(raw['seeds']) && { seeds: raw['seeds'] as number[] }),
    backend: (raw['backend'] as PipelineSpec['backend'] | undefined) ?? 'auto',
    stages: record(Object.keys(rawStages).map((n) => [n, normaliseStage(rawStages[n] as PlainMap)] as const)),
  };
}

function kindProblems(name: string, uses: string, locator: Locator): Diagnostic[] {
  if (getStageKind(uses) !== undefined) return [];
  const hint = didYouMean(uses, stageKindNames());
  const known = hint === '' ? ` (known kinds: ${stageKindNames().join(', ')})` : '';
  return [locator.diagnostic(['stages', name, 'uses'], `unknown stage kind "${uses}"${hint}${known}`)];
}

function referenceProblems(name: string, st: StageSpec, names: ReadonlySet<string>, locator: Locator): Diagnostic[] {
  const out: Diagnostic[] = [];
  for (const [field, list] of [
    ['needs', st.needs],
    ['gather', st.gather],
  ] as const) {
    list.forEach((ref, i) => {
      if (ref === name) out.push(locator.diagnostic(['stages', name, field, i], `stage "${name}" lists itself in ${field}`));
      else if (!names.has(ref))
        out.push(
          locator.diagnostic(
            ['stages', name, field, i],
            `stages.${name}.${field} names an unknown stage "${ref}"${didYouMean(ref, names)}`,
          ),
        );
    });
  }
  for (const ref of st.needs) {
    const i = st.gather.indexOf(ref);
    if (i >= 0)
      out.push(
        locator.diagnostic(
          ['stages', name, 'gather', i],
          `stage "${ref}" is in both needs and gather of "${name}"; list it once`,
        ),
      );
  }
  return out;
}

function matrixProblems(name: string, m: MatrixSpec, locator: Locator, seeded: boolean): Diagnostic[] {
  const out: Diagnostic[] = [];
  const axes = Object.keys(m.axes);
  // `seeds:` gives a training stage a `seed` axis: its exclude entries may name it.
  const isAxis = (k: string): boolean => Object.hasOwn(m.axes, k) || (seeded && k === SEED_AXIS);
  if (axes.length === 0 && m.include.length === 0)
    out.push(locator.diagnostic(['stages', name, 'matrix'], `stages.${name}.matrix has no axes and no include cells`));
  m.exclude.forEach((cell, i) => {
    for (const k of Object.keys(cell)) {
      if (!isAxis(k))
        out.push(
          locator.diagnostic(
            ['stages', name, 'matrix', 'exclude', i, k],
            `stages.${name}.matrix.exclude[${i}] names "${k}", which is not a matrix axis${didYouMean(k, axes)}`,
            true,
          ),
        );
    }
  });
  return out;
}

/**
 * Phase 5: stage kinds exist, `needs`/`gather` name other existing stages (once each), matrices
 * have cells and `exclude` names their axes. Every problem of every stage, in file order.
 */
export function checkReferences(spec: PipelineSpec, locator: Locator): Phase<void> {
  const names = new Set(Object.keys(spec.stages));
  const diags: Diagnostic[] = [];
  for (const [name, st] of Object.entries(spec.stages)) {
    diags.push(...kindProblems(name, st.uses, locator), ...referenceProblems(name, st, names, locator));
    if (st.matrix !== undefined)
      diags.push(...matrixProblems(name, st.matrix, locator, spec.seeds !== undefined && isTrainingKind(st.uses)));
  }
  return diags.length > 0 ? failure('pipeline-references', diags) : ok(undefined);
}

/**
 * Phase 6: no cycle through `needs` ∪ `gather`. The first cycle met depth-first in file order is
 * reported at the reference that closes it.
 */
export function checkCycles(spec: PipelineSpec, locator: Locator): Phase<void> {
  const order = stageOrder(spec);
  if (order.ok) return ok(undefined);
  const cycle = order.cycle;
  const from = cycle[cycle.length - 2]!;
  const to = cycle[cycle.length - 1]!;
  const st = spec.stages[from]!;
  const i = stageUpstream(spec, from).indexOf(to);
  const [field, index] = i < st.needs.length ? (['needs', i] as const) : (['gather', i - st.needs.length] as const);
  return failure('pipeline-cycle', [
    locator.diagnostic(['stages', from, field, index], `needs form a cycle: ${cycle.join(' → ')} (each stage needs the next)`),
  ]);
}
