import type { BackendChoice } from '../backend/backend.js';
import { getStageKind, type StageKind } from '../stages/registry.js';
import { failure, ok, type Result } from '../util/result.js';
import { compileSchema, newAjv } from './ajvErrors.js';
import type { Diagnostic } from './diagnostic.js';
import type { LoadedPipeline } from './loadPipeline.js';
import { instanceLimits, INSTANCE_LIMITS_ENV, type InstanceLimits } from './instanceLimits.js';
import { DiagnosticList, instanceParams, type ParamsContext } from './instanceParams.js';
import { cellValueLabel, expandMatrix, matrixCellBound, type MatrixCell } from './matrix.js';
import type { MatrixSpec } from './spec.js';
import { SEED_AXIS, seededMatrix, splitSeed } from './seedAxis.js';
import { stageOrder } from './stageGraph.js';
import { stageKey, type KeyIngredients, type StageKey } from '../store/stageKey.js';
import { keyIngredients, splitExecutionParams } from './keyIngredients.js';
import { FingerprintCache } from '../store/fileFingerprint.js';
import { modelKindOf, plannedProductPath, PRODUCT_NUMERICS } from '../curvature/productPath.js';

/** An upstream instance as a plan node refers to it (plain JSON). */
export interface PlanUpstream {
  readonly stage: string;
  readonly name: string;
  readonly kind: string;
  readonly key: StageKey;
  readonly matrix: Readonly<Record<string, unknown>>;
  readonly coords: Readonly<Record<string, unknown>>;
}

/**
 * One stage instance: everything needed to run it anywhere (plain JSON, so the distributed executor
 * can ship it as a job). Its upstream artifacts are found in the store by key.
 */
export interface PlanNode {
  /** Instance name, e.g. `spectra[train_per_class=50,operator=hessian,split=train]`. */
  readonly name: string;
  readonly stage: string;
  readonly kind: string;
  readonly version: number;
  /** Resolved params: `with:` + the matrix cell + schema defaults (what the stage runs with, execution layout included). */
  readonly params: Readonly<Record<string, unknown>>;
  /** The kind's execution params among `params` (workers, processes, …): not in the key, provenance in the manifest. */
  readonly execution?: Readonly<Record<string, unknown>>;
  /** Own matrix cell. */
  readonly matrix: Readonly<Record<string, unknown>>;
  /** Every matrix coordinate of the lineage, labelled as in the name (axis, or stage.axis on a clash). */
  readonly coords: Readonly<Record<string, unknown>>;
  /**
   * Stage name → instance name, for this instance and every ancestor, of the stages that have a
   * matrix: the instances that were a choice (every other ancestor instance follows from these).
   * Two instances are compatible when they agree on every stage both hold. Kept to these so that a
   * long chain of stages plans in linear time and space.
   */
  readonly lineage: Readonly<Record<string, string>>;
  /** One compatible instance per `needs:` stage, in the order written. */
  readonly needs: readonly PlanUpstream[];
  /** Every compatible instance of each `gather:` stage. */
  readonly gather: Readonly<Record<string, readonly PlanUpstream[]>>;
  readonly usesBackend: boolean;
  readonly backendChoice: BackendChoice;
  /** The instance's seed: its `seed` coordinate (own, else inherited), else the pipeline seed (src/pipeline/seedAxis.ts). */
  readonly seed: number;
  /**
   * Scheduling priority among ready instances (absent: 0): its stage's `priority`, raised to the highest
   * priority of the instances that read it, directly or not (withPriorities). Not in the key.
   */
  readonly priority?: number;
  readonly ingredients: KeyIngredients;
  readonly key: StageKey;
}

export interface Plan {
  readonly pipeline: {
    readonly name: string;
    readonly file: string;
    readonly sha256: string;
    readonly overrides: readonly string[];
  };
  readonly seed: number;
  readonly backendChoice: BackendChoice;
  /** Backend id put into the keys of kinds that use the backend. */
  readonly backendId: string;
  /** Instances in a topological order (file order of stages, then matrix order). */
  readonly nodes: readonly PlanNode[];
}

export { NUMERICS } from './keyIngredients.js';

interface Coord {
  readonly stage: string;
  readonly axis: string;
  readonly value: unknown;
}

/** A stage instance while planning: its node, its coordinates, its lineage as a map. */
interface Instance {
  readonly node: PlanNode;
  readonly coords: readonly Coord[];
  readonly lineage: ReadonlyMap<string, string>;
}

/** One compatible combination of upstream instances: one per `needs` stage, in the order written. */
interface Combo {
  readonly lineage: ReadonlyMap<string, string>;
  readonly picks: readonly Instance[];
}

/** One stage while it is planned. */
interface StagePlanning extends ParamsContext {
  readonly backendId: string;
  /** Instances of the stages planned so far. */
  readonly byStage: ReadonlyMap<string, readonly Instance[]>;
  readonly limits: InstanceLimits;
  /** Instances and gathered references planned so far, against the per-plan limits. */
  readonly count: { instances: number; gathered: number };
  /** The stage's matrix as planned (`seeds:` added on training stages). */
  readonly matrix: MatrixSpec | undefined;
  /** Model kind by train/sgd `model` param (JSON text), for this plan: a model file is read once. */
  readonly modelKinds: Map<string, unknown>;
}

export interface PlanOptions {
  readonly backendId: string;
  /** The store's cache of input-file fingerprints (default: a fresh one, every input hashed). */
  readonly fingerprints?: FingerprintCache;
  /** Default: $SPECPIPE_MAX_INSTANCES, else 10,000 per stage and 100,000 per plan. */
  readonly limits?: InstanceLimits;
}

type Phase<T> = Result<T, Diagnostic>;

/** Whether two lineages agree on every stage both hold. */
function compatible(a: ReadonlyMap<string, string>, b: ReadonlyMap<string, string>): boolean {
  const [small, large] = a.size <= b.size ? [a, b] : [b, a];
  for (const [stage, inst] of small) {
    const other = large.get(stage);
    if (other !== undefined && other !== inst) return false;
  }
  return true;
}

function union(a: ReadonlyMap<string, string>, b: ReadonlyMap<string, string>): ReadonlyMap<string, string> {
  if (b.size === 0) return a;
  if (a.size === 0) return b;
  return new Map([...a, ...b]);
}

/**
 * The key ingredients of one instance (architecture.md, "Stage key"; src/pipeline/keyIngredients.ts):
 * kind and version, params without the kind's execution params, the keys of its upstream
 * instances, seed, backend and numerics, the content of the files it reads, store schema.
 */
function keyIngredientsOf(
  kind: StageKind,
  keyedParams: Record<string, unknown>,
  inputs: Record<string, string> | undefined,
  needs: readonly PlanUpstream[],
  gather: Readonly<Record<string, readonly PlanUpstream[]>>,
  seed: number,
  backendId: string,
  products: string | undefined,
): KeyIngredients {
  const upstream: Record<string, string | Record<string, string>> = {};
  for (const n of needs) upstream[n.stage] = n.key;
  for (const [g, list] of Object.entries(gather)) upstream[g] = Object.fromEntries(list.map((u) => [u.name, u.key]));
  return keyIngredients({ kind, keyedParams, upstream, seed, backendId, inputs, ...(products !== undefined && { products }) });
}

/**
 * The curvature product implementation of an instance of a `curvesModel` kind when it is not tfjs
 * autodiff (productPath.ts): from the model of its train/sgd upstream, else inherited from an upstream
 * instance's key; undefined for every other kind.
 */
function productsOf(c: StagePlanning, picks: readonly Instance[]): string | undefined {
  if (c.kind.curvesModel !== true) return undefined;
  const trained = picks.find((p) => p.node.kind === 'train/sgd');
  if (trained !== undefined) {
    const model = trained.node.params['model'];
    const memo = JSON.stringify(model ?? null);
    if (!c.modelKinds.has(memo)) c.modelKinds.set(memo, modelKindOf(model));
    const path = plannedProductPath(c.modelKinds.get(memo), c.backendId);
    return path === 'tfjs' ? undefined : PRODUCT_NUMERICS[path];
  }
  for (const p of picks) {
    const inherited = p.node.ingredients.numerics.products;
    if (inherited !== undefined) return String(inherited);
  }
  return undefined;
}

/** A refusal to expand: positioned at `field` of the stage (its key). */
function tooLarge(c: StagePlanning, field: readonly string[], message: string): Phase<never> {
  return failure('plan-too-large', [c.loaded.diagnostic(['stages', c.stage, ...field], message, true)]);
}

/**
 * Compatible combinations of upstream instances (they agree on every shared ancestor with a
 * matrix), one instance per `needs` stage. Undefined when there would be more than `max`.
 */
function upstreamCombos(c: StagePlanning, max: number): Combo[] | undefined {
  let combos: Combo[] = [{ lineage: new Map(), picks: [] }];
  for (const need of c.spec.needs) {
    const next: Combo[] = [];
    for (const combo of combos) {
      for (const up of c.byStage.get(need) ?? []) {
        if (!compatible(combo.lineage, up.lineage)) continue;
        if (next.length >= max) return undefined;
        next.push({ lineage: union(combo.lineage, up.lineage), picks: [...combo.picks, up] });
      }
    }
    combos = next;
  }
  return combos;
}

/** Every matrix coordinate of an instance: its upstream instances' (first seen kept), then its own cell's. */
function coordsOf(stage: string, combo: Combo, cell: MatrixCell): Coord[] {
  const coords: Coord[] = [];
  const seen = new Set<string>();
  for (const p of combo.picks)
    for (const co of p.coords) {
      const id = `${co.stage}\u0000${co.axis}`;
      if (seen.has(id)) continue;
      seen.add(id);
      coords.push(co);
    }
  for (const [axis, value] of Object.entries(cell)) coords.push({ stage, axis, value });
  return coords;
}

/** An instance's name and coordinate record: axes labelled `axis`, or `stage.axis` where two stages share an axis name. */
function instanceName(stage: string, coords: readonly Coord[]): { name: string; record: Record<string, unknown> } {
  const perAxis = new Map<string, number>();
  for (const co of coords) perAxis.set(co.axis, (perAxis.get(co.axis) ?? 0) + 1);
  const label = (co: Coord): string => (perAxis.get(co.axis)! > 1 ? `${co.stage}.${co.axis}` : co.axis);
  const record = Object.fromEntries(coords.map((co) => [label(co), co.value]));
  const name =
    coords.length === 0 ? stage : `${stage}[${coords.map((co) => `${label(co)}=${cellValueLabel(co.value)}`).join(',')}]`;
  return { name, record };
}

function asUpstream(n: PlanNode): PlanUpstream {
  return { stage: n.stage, name: n.name, kind: n.kind, key: n.key, matrix: n.matrix, coords: n.coords };
}

/** Every compatible instance of each `gather` stage. */
function gatherFor(c: StagePlanning, combo: Combo): Record<string, PlanUpstream[]> {
  return Object.fromEntries(
    c.spec.gather.map((g) => [
      g,
      (c.byStage.get(g) ?? []).filter((u) => compatible(combo.lineage, u.lineage)).map((u) => asUpstream(u.node)),
    ]),
  );
}

/** How many gathered references the instances of these combos would hold (counted, not built). */
function gatheredCount(c: StagePlanning, combos: readonly Combo[], cells: number): number {
  let n = 0;
  for (const g of c.spec.gather) {
    const ups = c.byStage.get(g) ?? [];
    for (const combo of combos) for (const u of ups) if (compatible(combo.lineage, u.lineage)) n += cells;
  }
  return n;
}

/** One instance: params checked (undefined when they are not valid: the problems are noted), key computed. */
function planInstance(c: StagePlanning, combo: Combo, cell: MatrixCell): Instance | undefined {
  const own = splitSeed(cell);
  const resolved = instanceParams(c, own.rest);
  if (resolved === undefined) return undefined;
  const { params, inputs } = resolved;
  const { keyed, execution } = splitExecutionParams(c.kind, params);
  const spec = c.loaded.spec;
  const coords = coordsOf(c.stage, combo, cell);
  const { name, record } = instanceName(c.stage, coords);
  const inherited = coords.find((co) => co.axis === SEED_AXIS)?.value as number | undefined;
  const seed = own.seed ?? inherited ?? spec.seed;
  const needs = combo.picks.map((p) => asUpstream(p.node));
  const gather = gatherFor(c, combo);
  const ingredients = keyIngredientsOf(c.kind, keyed, inputs, needs, gather, seed, c.backendId, productsOf(c, combo.picks));
  const lineage = c.matrix === undefined ? combo.lineage : new Map([...combo.lineage, [c.stage, name]]);
  const node: PlanNode = {
    name,
    stage: c.stage,
    kind: c.kind.kind,
    version: c.kind.version,
    params,
    ...(Object.keys(execution).length > 0 && { execution }),
    matrix: { ...cell },
    coords: record,
    lineage: Object.fromEntries(lineage),
    needs,
    gather,
    usesBackend: c.kind.usesBackend,
    backendChoice: spec.backend,
    seed,
    ingredients,
    key: stageKey(ingredients),
  };
  return { node, coords, lineage };
}

/**
 * The instances of one stage: its compatible upstream combinations crossed with its matrix cells.
 * Their number is checked against the limits before anything is expanded.
 */
function planStage(c: StagePlanning): Phase<Instance[]> {
  const { perStage, perPlan } = c.limits;
  const bound = matrixCellBound(c.matrix);
  if (bound.count > perStage) {
    const how = bound.factors.join(' × ') + (c.matrix!.include.length > 0 ? ` + ${c.matrix!.include.length} include` : '');
    return tooLarge(
      c,
      ['matrix'],
      `stages.${c.stage}.matrix expands to ${bound.count} instances (${how}), more than the limit of ${perStage} per stage (${INSTANCE_LIMITS_ENV})`,
    );
  }
  const cells = expandMatrix(c.matrix);
  const combos = cells.length === 0 ? [] : upstreamCombos(c, perStage);
  const planned = combos === undefined ? Infinity : combos.length * cells.length;
  if (planned > perStage)
    return tooLarge(
      c,
      ['needs'],
      `stages.${c.stage} runs once per compatible combination of its needs (× ${cells.length} matrix cells): more than ${perStage} instances, the limit per stage (${INSTANCE_LIMITS_ENV})`,
    );
  c.count.instances += planned;
  if (c.count.instances > perPlan)
    return tooLarge(c, [], `the plan would hold more than ${perPlan} instances with stages.${c.stage} (${INSTANCE_LIMITS_ENV})`);
  c.count.gathered += gatheredCount(c, combos!, cells.length);
  if (c.count.gathered > 10 * perPlan)
    return tooLarge(
      c,
      ['gather'],
      `the plan's instances would gather more than ${10 * perPlan} upstream instances with stages.${c.stage} (10 × the ${INSTANCE_LIMITS_ENV} limit per plan)`,
    );
  const out: Instance[] = [];
  for (const combo of combos!)
    for (const cell of cells) {
      const i = planInstance(c, combo, cell);
      if (i !== undefined) out.push(i);
    }
  return ok(out);
}

/**
 * Expands a loaded pipeline into its DAG of stage instances and computes every key (the plan
 * phase). A stage runs once per compatible combination of its `needs` instances (compatible: they
 * agree on every shared ancestor), crossed with its own matrix; `gather` stages hand over all
 * their compatible instances. Params are checked per instance against the kind's schema; errors
 * point at the `with:` value or the matrix value they came from. Sizes are checked against
 * `limits` before expanding. Linear in stages + instances + references for a chain of stages.
 */
export function planPipeline(loaded: LoadedPipeline, options: PlanOptions): Phase<Plan> {
  const spec = loaded.spec;
  const order = stageOrder(spec);
  if (!order.ok) throw new Error(`planPipeline: a cycle through ${order.cycle.join(' → ')} (loadPipeline rejects cycles)`);
  const ajv = newAjv();
  const byStage = new Map<string, readonly Instance[]>();
  const diagnostics = new DiagnosticList();
  const shared = {
    loaded,
    backendId: options.backendId,
    fingerprints: options.fingerprints ?? new FingerprintCache(),
    byStage,
    diagnostics,
    count: { instances: 0, gathered: 0 },
    modelKinds: new Map<string, unknown>(),
  };
  const limits = options.limits ?? instanceLimits();
  for (const stage of order.order) {
    const st = spec.stages[stage]!;
    const kind = getStageKind(st.uses)!;
    const validate = compileSchema(ajv, kind.paramsSchema as Record<string, unknown>);
    const r = planStage({ ...shared, stage, spec: st, kind, validate, limits, matrix: seededMatrix(spec, stage) });
    if (!r.ok) return r;
    byStage.set(stage, r.value);
  }
  if (diagnostics.items.length > 0) return failure('stage-params', diagnostics.items);
  return ok({
    pipeline: { name: spec.name, file: loaded.file, sha256: loaded.sha256, overrides: loaded.overrides },
    seed: spec.seed,
    backendChoice: spec.backend,
    backendId: options.backendId,
    // In topological order of stages (stable: file order where free), each stage's instances in matrix order.
    nodes: withPriorities(
      order.order.flatMap((stage) => byStage.get(stage)!.map((i) => i.node)),
      (stage) => spec.stages[stage]!.priority,
    ),
  });
}

/**
 * Each instance's scheduling priority: its stage's, raised to the highest of the instances that read it
 * (`needs` or `gather`), so that a prioritised stage's inputs start early too. `nodes` in topological
 * order; one pass from the last. Nodes with priority 0 are returned as they are.
 */
function withPriorities(nodes: readonly PlanNode[], stagePriority: (stage: string) => number): PlanNode[] {
  const priority = new Map(nodes.map((n) => [n.name, stagePriority(n.stage)]));
  for (let i = nodes.length - 1; i >= 0; i--) {
    const n = nodes[i]!;
    const p = priority.get(n.name)!;
    for (const u of [...n.needs, ...Object.values(n.gather).flat()]) if (p > (priority.get(u.name) ?? p)) priority.set(u.name, p);
  }
  return nodes.map((n) => {
    const p = priority.get(n.name)!;
    return p === 0 ? n : { ...n, priority: p };
  });
}

/** {@link planPipeline}, throwing its failure as a PipelineError. */
export function buildPlan(loaded: LoadedPipeline, options: PlanOptions): Plan {
  const r = planPipeline(loaded, options);
  if (!r.ok) return loaded.fail(r.reason, r.diagnostics);
  return r.value;
}

/** Whether any instance computes with tfjs (then the backend must be started to know its id). */
export function planNeedsBackend(loaded: LoadedPipeline): boolean {
  return Object.values(loaded.spec.stages).some((s) => getStageKind(s.uses)?.usesBackend === true);
}

/** Every key a run of the plan reads or writes: each instance's own, its `needs` and its `gather` (what a run leases). */
export function planKeys(plan: Plan): string[] {
  return plan.nodes.flatMap((n) => [
    n.key,
    ...n.needs.map((u) => u.key),
    ...Object.values(n.gather)
      .flat()
      .map((u) => u.key),
  ]);
}
