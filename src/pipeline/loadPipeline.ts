import { readFileSync } from 'node:fs';
import { LineCounter, parseDocument, parse as parseYamlValue, isMap, isSeq, isPair, isScalar, type Document } from 'yaml';
import { SpecpipeError } from '../util/errors.js';
import { sha256Hex } from './canonicalJson.js';
import { PipelineError, didYouMean, showValue, type Diagnostic } from './diagnostic.js';
import { compileSchema, newAjv, pathLabel, schemaProblems } from './ajvErrors.js';
import { loadSchema } from './schemaFiles.js';
import { getStageKind, stageKindNames } from '../stages/registry.js';
import type { MatrixSpec, PipelineSpec, StageSpec } from './spec.js';

export type DataPath = readonly (string | number)[];

/** A parsed, schema-checked pipeline with a way back from data paths to file positions. */
export interface LoadedPipeline {
  readonly file: string;
  readonly source: string;
  /** sha256 of the file's bytes (before --set overrides). */
  readonly sha256: string;
  /** The `--set` assignments applied, as given. */
  readonly overrides: readonly string[];
  readonly spec: PipelineSpec;
  /** A diagnostic at the node of `path` (or its nearest ancestor present in the file). */
  diagnostic(path: DataPath, message: string, atKey?: boolean): Diagnostic;
  /** Throws a PipelineError holding these diagnostics. */
  fail(reason: string, diagnostics: readonly Diagnostic[]): never;
}

export interface LoadOptions {
  /** `--set` assignments: `stage.with.param=value`, `stage.matrix.axis=[..]`, `seed=1`; values are YAML. */
  readonly overrides?: readonly string[];
  /** Source text to use instead of reading `file` (tests). */
  readonly source?: string;
}

const TOP_LEVEL_KEYS = ['name', 'description', 'seed', 'backend', 'stages'];

interface Located {
  readonly line: number;
  readonly column: number;
  readonly length: number;
}

function yamlMessage(m: string): string {
  return m.split('\n')[0]!.replace(/ at line \d+, column \d+:?$/, '');
}

/** Walks `path` through the YAML AST; returns the deepest node with a range (its key node when `atKey`). */
function locate(doc: Document, lc: LineCounter, source: string, path: DataPath, atKey: boolean): Located {
  let node: unknown = doc.contents;
  let best: { range: [number, number] } | undefined;
  const take = (n: unknown): void => {
    const r = (n as { range?: [number, number, number] } | null)?.range;
    if (r !== undefined && r !== null) best = { range: [r[0], r[1]] };
  };
  take(node);
  for (let i = 0; i < path.length; i++) {
    const seg = path[i]!;
    const last = i === path.length - 1;
    if (isMap(node)) {
      const pair = node.items.find((p) => isPair(p) && (isScalar(p.key) ? String(p.key.value) : String(p.key)) === String(seg));
      if (pair === undefined) break;
      if (last && atKey) {
        take(pair.key);
        break;
      }
      node = pair.value;
      if (node === null) {
        take(pair.key);
        break;
      }
      take(node);
    } else if (isSeq(node) && typeof seg === 'number') {
      const item = node.items[seg];
      if (item === undefined) break;
      node = item;
      take(node);
    } else break;
  }
  if (best === undefined) return { line: 1, column: 1, length: 1 };
  const pos = lc.linePos(best.range[0]);
  const end = Math.max(best.range[0] + 1, best.range[1]);
  const lineEnd = source.indexOf('\n', best.range[0]);
  const length = Math.max(1, Math.min(end, lineEnd === -1 ? source.length : lineEnd) - best.range[0]);
  return { line: pos.line, column: pos.col, length };
}

function isPlainObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/**
 * Reads, parses and checks a pipeline file: YAML syntax (plain data only: custom tags are errors),
 * the pipeline schema, stage kinds, `needs`/`gather` references and cycles. Stage params are
 * checked per instance by `buildPlan` (a matrix cell's values are params too).
 */
export function loadPipeline(file: string, options: LoadOptions = {}): LoadedPipeline {
  let source: string;
  if (options.source !== undefined) source = options.source;
  else {
    try {
      source = readFileSync(file, 'utf8');
    } catch (e) {
      throw new SpecpipeError(
        'pipeline-unreadable',
        `${file}: cannot read pipeline file (${(e as NodeJS.ErrnoException).code ?? String(e)})`,
      );
    }
  }
  const lc = new LineCounter();
  const doc = parseDocument(source, { lineCounter: lc, prettyErrors: false, uniqueKeys: true });
  const overrides = options.overrides ?? [];
  const overridden: DataPath[] = [];
  const overrideText: string[] = [];

  const diagnostic = (path: DataPath, message: string, atKey = false): Diagnostic => {
    const setIndex = overridden.findIndex((o) => o.every((s, i) => String(path[i]) === String(s)));
    const fromSet = overridden[setIndex];
    const loc = locate(doc, lc, source, fromSet ?? path, atKey);
    const suffix = fromSet !== undefined ? ` (from --set ${overrideText[setIndex]})` : '';
    return { file, line: loc.line, column: loc.column, length: loc.length, message: message + suffix };
  };
  const fail = (reason: string, diagnostics: readonly Diagnostic[]): never => {
    throw new PipelineError(reason, diagnostics, source);
  };
  const syntax: Diagnostic[] = [];
  for (const e of [...doc.errors, ...doc.warnings]) {
    const pos = e.linePos?.[0] ?? lc.linePos(e.pos[0]);
    const msg =
      e.code === 'TAG_RESOLVE_FAILED'
        ? `${yamlMessage(e.message)} (pipeline files hold plain data only: no custom tags)`
        : yamlMessage(e.message);
    syntax.push({
      file,
      line: pos.line,
      column: pos.col,
      length: Math.max(1, e.pos[1] - e.pos[0]),
      message: `YAML syntax error: ${msg}`,
    });
  }
  if (syntax.length > 0) fail('yaml-syntax', syntax);

  let data: unknown;
  try {
    data = doc.toJS({ maxAliasCount: 100 });
  } catch (e) {
    fail('yaml-syntax', [{ file, line: 1, column: 1, message: `YAML error: ${e instanceof Error ? e.message : String(e)}` }]);
  }
  if (!isPlainObject(data)) {
    fail('pipeline-not-a-map', [
      diagnostic([], `a pipeline file is a map with keys name, stages, …; received ${showValue(data ?? null)}`),
    ]);
  }

  // --set overrides edit the document, so every other value keeps its position.
  const stageNames0 = isPlainObject((data as Record<string, unknown>)['stages'])
    ? Object.keys((data as { stages: object }).stages)
    : [];
  for (const o of overrides) {
    const eq = o.indexOf('=');
    if (eq <= 0) throw new SpecpipeError('bad-set', `--set expects path=value (e.g. train.with.epochs=5), received "${o}"`);
    const lhs = o.slice(0, eq);
    let value: unknown;
    try {
      value = parseYamlValue(o.slice(eq + 1));
    } catch (e) {
      throw new SpecpipeError(
        'bad-set',
        `--set ${o}: the value is not valid YAML (${e instanceof Error ? yamlMessage(e.message) : String(e)})`,
      );
    }
    const segs = lhs.split('.');
    let path: string[];
    if (segs.length === 1 && TOP_LEVEL_KEYS.includes(segs[0]!)) path = segs;
    else {
      const stage = segs[0]!;
      if (!stageNames0.includes(stage)) {
        throw new SpecpipeError('bad-set', `--set ${o}: no stage "${stage}" in ${file}${didYouMean(stage, stageNames0)}`);
      }
      if (segs.length < 2 || !['with', 'matrix', 'needs', 'gather', 'uses'].includes(segs[1]!)) {
        throw new SpecpipeError(
          'bad-set',
          `--set ${o}: expected STAGE.with.PARAM=VALUE or STAGE.matrix.AXIS=[…], received "${lhs}"`,
        );
      }
      path = ['stages', ...segs];
    }
    try {
      doc.setIn(path, doc.createNode(value));
    } catch (e) {
      // yaml throws a bare Error when the path runs through a scalar (uses.x, hidden.0.z).
      throw new SpecpipeError(
        'bad-set',
        `--set ${o}: ${lhs} runs through a value that is not a map or list (${e instanceof Error ? e.message : String(e)})`,
      );
    }
    overridden.push(path);
    overrideText.push(o);
  }
  if (overrides.length > 0) data = doc.toJS();
  const raw = data as Record<string, unknown>;

  const ajv = newAjv();
  const validate = compileSchema(ajv, loadSchema('pipeline.schema.json'));
  if (!validate(raw)) {
    fail(
      'pipeline-schema',
      schemaProblems(validate.errors).map((p) => diagnostic(p.path, p.message(pathLabel(p.path)), p.atKey)),
    );
  }

  const diags: Diagnostic[] = [];
  const rawStages = raw['stages'] as Record<string, Record<string, unknown>>;
  const names = Object.keys(rawStages);
  const stages: Record<string, StageSpec> = {};
  for (const name of names) {
    const s = rawStages[name]!;
    const uses = s['uses'] as string;
    if (getStageKind(uses) === undefined) {
      diags.push(
        diagnostic(
          ['stages', name, 'uses'],
          `unknown stage kind "${uses}"${didYouMean(uses, stageKindNames())}${didYouMean(uses, stageKindNames()) === '' ? ` (known kinds: ${stageKindNames().join(', ')})` : ''}`,
        ),
      );
    }
    const needs = (s['needs'] as string[] | undefined) ?? [];
    const gather = (s['gather'] as string[] | undefined) ?? [];
    for (const [field, list] of [
      ['needs', needs],
      ['gather', gather],
    ] as const) {
      list.forEach((ref, i) => {
        if (ref === name) diags.push(diagnostic(['stages', name, field, i], `stage "${name}" lists itself in ${field}`));
        else if (!names.includes(ref))
          diags.push(
            diagnostic(
              ['stages', name, field, i],
              `stages.${name}.${field} names an unknown stage "${ref}"${didYouMean(ref, names)}`,
            ),
          );
      });
    }
    for (const ref of needs) {
      if (gather.includes(ref))
        diags.push(
          diagnostic(
            ['stages', name, 'gather', gather.indexOf(ref)],
            `stage "${ref}" is in both needs and gather of "${name}"; list it once`,
          ),
        );
    }
    let matrix: MatrixSpec | undefined;
    const m = s['matrix'] as Record<string, unknown> | undefined;
    if (m !== undefined) {
      const axes: Record<string, unknown[]> = {};
      for (const [k, v] of Object.entries(m)) if (k !== 'include' && k !== 'exclude') axes[k] = v as unknown[];
      matrix = {
        axes,
        include: (m['include'] as Record<string, unknown>[] | undefined) ?? [],
        exclude: (m['exclude'] as Record<string, unknown>[] | undefined) ?? [],
      };
      if (Object.keys(axes).length === 0 && matrix.include.length === 0) {
        diags.push(diagnostic(['stages', name, 'matrix'], `stages.${name}.matrix has no axes and no include cells`));
      }
      matrix.exclude.forEach((cell, i) => {
        for (const k of Object.keys(cell)) {
          if (!(k in axes))
            diags.push(
              diagnostic(
                ['stages', name, 'matrix', 'exclude', i, k],
                `stages.${name}.matrix.exclude[${i}] names "${k}", which is not a matrix axis${didYouMean(k, Object.keys(axes))}`,
                true,
              ),
            );
        }
      });
    }
    stages[name] = {
      uses,
      ...(typeof s['description'] === 'string' ? { description: s['description'] } : {}),
      needs,
      gather,
      ...(matrix !== undefined ? { matrix } : {}),
      with: (s['with'] as Record<string, unknown> | undefined) ?? {},
    };
  }
  if (diags.length > 0) fail('pipeline-references', diags);

  // Cycles: depth-first search over needs ∪ gather edges, in file order.
  const state = new Map<string, 'visiting' | 'done'>();
  const stack: string[] = [];
  const visit = (n: string): void => {
    state.set(n, 'visiting');
    stack.push(n);
    const st = stages[n]!;
    for (const [field, list] of [
      ['needs', st.needs],
      ['gather', st.gather],
    ] as const) {
      for (let i = 0; i < list.length; i++) {
        const up = list[i]!;
        const s = state.get(up);
        if (s === 'visiting') {
          const cycle = [...stack.slice(stack.indexOf(up)), up];
          fail('pipeline-cycle', [
            diagnostic(['stages', n, field, i], `needs form a cycle: ${cycle.join(' → ')} (each stage needs the next)`),
          ]);
        }
        if (s === undefined) visit(up);
      }
    }
    stack.pop();
    state.set(n, 'done');
  };
  for (const n of names) if (!state.has(n)) visit(n);

  const spec: PipelineSpec = {
    name: raw['name'] as string,
    ...(typeof raw['description'] === 'string' ? { description: raw['description'] } : {}),
    seed: (raw['seed'] as number | undefined) ?? 0,
    backend: (raw['backend'] as PipelineSpec['backend'] | undefined) ?? 'auto',
    stages,
  };
  return { file, source, sha256: sha256Hex(source), overrides, spec, diagnostic, fail };
}
