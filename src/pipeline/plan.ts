import { dirname, resolve } from 'node:path';
import type { BackendChoice } from '../backend/backend.js';
import { getStageKind } from '../stages/registry.js';
import { canonicalJson } from './canonicalJson.js';
import { compileSchema, newAjv, pathLabel, schemaProblems } from './ajvErrors.js';
import type { Diagnostic } from './diagnostic.js';
import type { DataPath, LoadedPipeline } from './loadPipeline.js';
import { cellValueLabel, expandMatrix, type MatrixCell } from './matrix.js';
import { stageKey, type KeyIngredients, type StageKey } from './stageKey.js';
import { inputFingerprints, keyIngredients, splitExecutionParams } from './keyIngredients.js';
import { FingerprintCache } from '../store/fileFingerprint.js';

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
  /** Stage name → instance name, for this instance and every ancestor. */
  readonly lineage: Readonly<Record<string, string>>;
  /** One compatible instance per `needs:` stage, in the order written. */
  readonly needs: readonly PlanUpstream[];
  /** Every compatible instance of each `gather:` stage. */
  readonly gather: Readonly<Record<string, readonly PlanUpstream[]>>;
  readonly usesBackend: boolean;
  readonly backendChoice: BackendChoice;
  readonly seed: number;
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

function topoOrder(loaded: LoadedPipeline): string[] {
  const stages = loaded.spec.stages;
  const out: string[] = [];
  const done = new Set<string>();
  const visit = (n: string): void => {
    if (done.has(n)) return;
    done.add(n);
    const s = stages[n]!;
    for (const u of [...s.needs, ...s.gather]) visit(u);
    out.push(n);
  };
  for (const n of Object.keys(stages)) visit(n);
  return out;
}

function compatible(a: Readonly<Record<string, string>>, b: Readonly<Record<string, string>>): boolean {
  for (const [stage, inst] of Object.entries(b)) if (a[stage] !== undefined && a[stage] !== inst) return false;
  return true;
}

/**
 * Expands a loaded pipeline into its DAG of stage instances and computes every key.
 * A stage runs once per compatible combination of its `needs` instances (compatible: they agree on
 * every shared ancestor), crossed with its own matrix; `gather` stages hand over all their
 * compatible instances. Params are checked per instance against the kind's schema; errors point at
 * the `with:` value or the matrix value they came from.
 */
export function buildPlan(loaded: LoadedPipeline, options: { backendId: string; fingerprints?: FingerprintCache }): Plan {
  const spec = loaded.spec;
  const fingerprints = options.fingerprints ?? new FingerprintCache();
  const fingerprint = (path: string): string => fingerprints.fingerprint(path);
  const ajv = newAjv();
  const nodesByStage = new Map<string, { node: PlanNode; coords: Coord[] }[]>();
  const all: PlanNode[] = [];
  const diags: Diagnostic[] = [];
  const seenDiag = new Set<string>();

  for (const stageName of topoOrder(loaded)) {
    const st = spec.stages[stageName]!;
    const kind = getStageKind(st.uses)!;
    const validate = compileSchema(ajv, kind.paramsSchema as Record<string, unknown>);
    const cells = expandMatrix(st.matrix);

    // Where a matrix value came from, to point errors at it.
    const cellPath = (axis: string, value: unknown): DataPath => {
      const m = st.matrix!;
      const values = m.axes[axis];
      if (values !== undefined) {
        const i = values.findIndex((v) => canonicalJson(v) === canonicalJson(value));
        return ['stages', stageName, 'matrix', axis, Math.max(0, i)];
      }
      const j = m.include.findIndex((c) => canonicalJson(c[axis]) === canonicalJson(value));
      return ['stages', stageName, 'matrix', 'include', Math.max(0, j), axis];
    };

    // Compatible combinations of upstream instances.
    let combos: { lineage: Record<string, string>; picks: { node: PlanNode; coords: Coord[] }[] }[] = [
      { lineage: {}, picks: [] },
    ];
    for (const need of st.needs) {
      const next: typeof combos = [];
      for (const c of combos) {
        for (const up of nodesByStage.get(need) ?? []) {
          if (compatible(c.lineage, up.node.lineage))
            next.push({ lineage: { ...c.lineage, ...up.node.lineage }, picks: [...c.picks, up] });
        }
      }
      combos = next;
    }

    const instances: { node: PlanNode; coords: Coord[] }[] = [];
    for (const combo of combos) {
      for (const cell of cells) {
        const coords: Coord[] = [];
        for (const p of combo.picks)
          for (const c of p.coords) if (!coords.some((x) => x.stage === c.stage && x.axis === c.axis)) coords.push(c);
        for (const [axis, value] of Object.entries(cell)) coords.push({ stage: stageName, axis, value });
        const label = (c: Coord): string =>
          coords.filter((x) => x.axis === c.axis).length > 1 ? `${c.stage}.${c.axis}` : c.axis;
        const coordRecord: Record<string, unknown> = {};
        for (const c of coords) coordRecord[label(c)] = c.value;
        const name =
          coords.length === 0
            ? stageName
            : `${stageName}[${coords.map((c) => `${label(c)}=${cellValueLabel(c.value)}`).join(',')}]`;

        let params = structuredClone({ ...st.with, ...(cell as MatrixCell) }) as Record<string, unknown>;
        if (!validate(params)) {
          for (const p of schemaProblems(validate.errors)) {
            const head = p.path[0];
            const fromCell = typeof head === 'string' && head in cell && (p.path.length > 1 || !p.atKey);
            const keyFromCell = typeof head === 'string' && head in cell && p.path.length === 1 && p.atKey;
            let path: DataPath;
            let atKey = p.atKey;
            if (keyFromCell)
              path = st.matrix!.axes[head] !== undefined ? ['stages', stageName, 'matrix', head] : cellPath(head, cell[head]);
            else if (fromCell) {
              path = cellPath(head, cell[head]);
              atKey = false;
            } else path = ['stages', stageName, 'with', ...p.path];
            const label = fromCell
              ? `${pathLabel(path)} (matrix value for stages.${stageName}.with.${pathLabel(p.path)})`
              : pathLabel(['stages', stageName, 'with', ...p.path]);
            const msg = p.message(label).replace(/ in \(top level\)/, ` in stages.${stageName}.with (params of ${st.uses})`);
            const d = loaded.diagnostic(path, msg, atKey);
            const id = `${d.line}:${d.column}:${d.message}`;
            if (!seenDiag.has(id)) {
              seenDiag.add(id);
              diags.push(d);
            }
          }
          continue;
        }
        let inputs: Record<string, string> | undefined;
        try {
          const baseDir = dirname(resolve(loaded.file));
          if (kind.resolveParams !== undefined)
            params = kind.resolveParams(params, { baseDir, fingerprint }) as Record<string, unknown>;
          inputs = inputFingerprints(kind, params, { baseDir }, fingerprints);
        } catch (e) {
          const d = loaded.diagnostic(['stages', stageName, 'with'], e instanceof Error ? e.message : String(e));
          if (!seenDiag.has(d.message)) {
            seenDiag.add(d.message);
            diags.push(d);
          }
          continue;
        }

        const gather: Record<string, PlanUpstream[]> = {};
        const upstreamKeys: Record<string, string | Record<string, string>> = {};
        const needs: PlanUpstream[] = combo.picks.map((p) => asUpstream(p.node));
        for (const n of needs) upstreamKeys[n.stage] = n.key;
        for (const g of st.gather) {
          const list = (nodesByStage.get(g) ?? [])
            .filter((u) => compatible(combo.lineage, u.node.lineage))
            .map((u) => asUpstream(u.node));
          gather[g] = list;
          upstreamKeys[g] = Object.fromEntries(list.map((u) => [u.name, u.key]));
        }
        const { keyed, execution } = splitExecutionParams(kind, params);
        const ingredients: KeyIngredients = keyIngredients({
          kind,
          keyedParams: keyed,
          upstream: upstreamKeys,
          seed: spec.seed,
          backendId: options.backendId,
          inputs,
        });
        const node: PlanNode = {
          name,
          stage: stageName,
          kind: kind.kind,
          version: kind.version,
          params,
          ...(Object.keys(execution).length > 0 && { execution }),
          matrix: { ...cell },
          coords: coordRecord,
          lineage: { ...combo.lineage, [stageName]: name },
          needs,
          gather,
          usesBackend: kind.usesBackend,
          backendChoice: spec.backend,
          seed: spec.seed,
          ingredients,
          key: stageKey(ingredients),
        };
        instances.push({ node, coords });
      }
    }
    nodesByStage.set(stageName, instances);
  }
  if (diags.length > 0) loaded.fail('stage-params', diags);
  // Emit in topological order of stages as computed (stable: file order where free).
  for (const stageName of topoOrder(loaded)) for (const i of nodesByStage.get(stageName) ?? []) all.push(i.node);
  return {
    pipeline: { name: spec.name, file: loaded.file, sha256: loaded.sha256, overrides: loaded.overrides },
    seed: spec.seed,
    backendChoice: spec.backend,
    backendId: options.backendId,
    nodes: all,
  };
}

function asUpstream(n: PlanNode): PlanUpstream {
  return { stage: n.stage, name: n.name, kind: n.kind, key: n.key, matrix: n.matrix, coords: n.coords };
}

/** Whether any instance computes with tfjs (then the backend must be started to know its id). */
export function planNeedsBackend(loaded: LoadedPipeline): boolean {
  return Object.values(loaded.spec.stages).some((s) => getStageKind(s.uses)?.usesBackend === true);
}
