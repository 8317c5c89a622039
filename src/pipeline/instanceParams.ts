import { dirname, resolve } from 'node:path';
import type { ValidateFunction } from 'ajv';
import { inputFingerprints } from './keyIngredients.js';
import type { FingerprintCache } from '../store/fileFingerprint.js';
import type { StageKind } from '../stages/registry.js';
import { canonicalJson } from '../util/canonicalJson.js';
import { pathLabel, schemaProblems, type SchemaProblem } from './ajvErrors.js';
import type { Diagnostic } from './diagnostic.js';
import type { DataPath, LoadedPipeline } from './loadPipeline.js';
import { ownValue, type MatrixCell } from './matrix.js';
import type { StageSpec } from './spec.js';

/** Diagnostics kept once each, by an identity the caller chooses. */
export class DiagnosticList {
  readonly items: Diagnostic[] = [];
  readonly #seen = new Set<string>();

  add(d: Diagnostic, id: string): void {
    if (this.#seen.has(id)) return;
    this.#seen.add(id);
    this.items.push(d);
  }
}

/** One stage as its params are checked: where it is, what it is, its kind's compiled params schema. */
export interface ParamsContext {
  readonly loaded: LoadedPipeline;
  readonly stage: string;
  readonly spec: StageSpec;
  readonly kind: StageKind;
  readonly validate: ValidateFunction;
  readonly diagnostics: DiagnosticList;
  /** Content fingerprints of input files (the store's cache). */
  readonly fingerprints: FingerprintCache;
}

/** Where a matrix value came from (an axis value or an include entry), to point errors at it. */
function cellPath(c: ParamsContext, axis: string, value: unknown): DataPath {
  const m = c.spec.matrix!;
  const values = ownValue(m.axes, axis) as readonly unknown[] | undefined;
  if (values !== undefined) {
    const i = values.findIndex((v) => canonicalJson(v) === canonicalJson(value));
    return ['stages', c.stage, 'matrix', axis, Math.max(0, i)];
  }
  const j = m.include.findIndex((cell) => canonicalJson(ownValue(cell, axis)) === canonicalJson(value));
  return ['stages', c.stage, 'matrix', 'include', Math.max(0, j), axis];
}

/** A schema problem of an instance's params, positioned at the `with:` value or the matrix value it came from. */
function paramDiagnostic(c: ParamsContext, cell: MatrixCell, p: SchemaProblem): Diagnostic {
  const head = p.path[0];
  const inCell = typeof head === 'string' && Object.hasOwn(cell, head);
  const fromCell = inCell && (p.path.length > 1 || !p.atKey);
  const keyFromCell = inCell && p.path.length === 1 && p.atKey;
  let path: DataPath;
  let atKey = p.atKey;
  if (keyFromCell)
    path = Object.hasOwn(c.spec.matrix!.axes, head) ? ['stages', c.stage, 'matrix', head] : cellPath(c, head, cell[head]);
  else if (fromCell) {
    path = cellPath(c, head, cell[head]);
    atKey = false;
  } else path = ['stages', c.stage, 'with', ...p.path];
  const label = fromCell
    ? `${pathLabel(path)} (matrix value for stages.${c.stage}.with.${pathLabel(p.path)})`
    : pathLabel(['stages', c.stage, 'with', ...p.path]);
  const msg = p.message(label).replace(/ in \(top level\)/, ` in stages.${c.stage}.with (params of ${c.spec.uses})`);
  return c.loaded.diagnostic(path, msg, atKey);
}

/**
 * An instance's params: `with:` + its matrix cell, checked against the kind's schema (defaults
 * filled), then resolved by the kind (paths made absolute, …), and the content fingerprints of the
 * files they name (the kind's `inputFiles`). Undefined, with its problems added to the context's
 * diagnostics, when they are not valid.
 */
export function instanceParams(
  c: ParamsContext,
  cell: MatrixCell,
): { params: Record<string, unknown>; inputs: Record<string, string> | undefined } | undefined {
  let params = structuredClone({ ...c.spec.with, ...cell }) as Record<string, unknown>;
  if (!c.validate(params)) {
    for (const p of schemaProblems(c.validate.errors)) {
      const d = paramDiagnostic(c, cell, p);
      c.diagnostics.add(d, `${d.line}:${d.column}:${d.message}`);
    }
    return undefined;
  }
  try {
    const baseDir = dirname(resolve(c.loaded.file));
    const fingerprint = (path: string): string => c.fingerprints.fingerprint(path);
    if (c.kind.resolveParams !== undefined)
      params = c.kind.resolveParams(params, { baseDir, fingerprint }) as Record<string, unknown>;
    return { params, inputs: inputFingerprints(c.kind, params, { baseDir }, c.fingerprints) };
  } catch (e) {
    const d = c.loaded.diagnostic(['stages', c.stage, 'with'], e instanceof Error ? e.message : String(e));
    c.diagnostics.add(d, d.message);
    return undefined;
  }
}
