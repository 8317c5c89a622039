import { LineCounter, isScalar, parseDocument, visit, type Alias, type Document } from 'yaml';
import { failure, ok, type Result } from '../util/result.js';
import { showValue, type Diagnostic } from './diagnostic.js';
import { Locator } from './locate.js';

/** A YAML map as data: a null-prototype object, so `constructor`, `__proto__`, `toString` are ordinary keys. */
export type PlainMap = Record<string, unknown>;

/** The parsed document, a locator for its positions, and its data. */
export interface ParsedPipeline {
  readonly doc: Document;
  readonly locator: Locator;
  readonly data: PlainMap;
}

/** First line of a yaml error message, without the position (the diagnostic carries it). */
export function yamlMessage(m: string): string {
  return m.split('\n')[0]!.replace(/ at line \d+, column \d+:?$/, '');
}

export function isPlainMap(v: unknown): v is PlainMap {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/** Thrown by {@link plainData} for data that contains itself (YAML `&a [*a]`): its copy would never end. */
export class CyclicDataError extends Error {
  constructor() {
    super('the data contains itself');
    this.name = 'CyclicDataError';
  }
}

/**
 * A deep copy of YAML data in which every map is a null-prototype object: no key can reach
 * Object.prototype (`with: { constructor: 1 }` is a param named "constructor", a nested
 * `__proto__` is a key like any other). Iterative: nesting depth costs no stack. Data that
 * contains itself (an alias inside its own anchor, `&a [*a]`) throws {@link CyclicDataError}:
 * the objects on the path from the root are tracked, and meeting one again is a cycle (a value
 * shared by two branches, `[*a, *a]`, is copied twice, as before).
 */
export function plainData(value: unknown): unknown {
  const copy = (v: unknown): unknown => (Array.isArray(v) ? new Array(v.length) : isPlainMap(v) ? Object.create(null) : v);
  const root = copy(value);
  const onPath = new Set<unknown>();
  // [from, to] enters a container; [from] leaves it (popped after all its children).
  const todo: ([unknown, unknown] | [unknown])[] = [[value, root]];
  while (todo.length > 0) {
    const item = todo.pop()!;
    const from = item[0];
    if (item.length === 1) {
      onPath.delete(from);
      continue;
    }
    const to = item[1];
    if (typeof from !== 'object' || from === null) continue;
    if (onPath.has(from)) throw new CyclicDataError();
    onPath.add(from);
    todo.push([from]);
    for (const k of Object.keys(from)) {
      const v = (from as PlainMap)[k];
      const c = copy(v);
      (to as PlainMap)[k] = c;
      if (c !== v) todo.push([v, c]);
    }
  }
  return root;
}

/** The first alias that sits inside the node its anchor names (`&a [*a]`), if any. */
function selfReferentAlias(doc: Document): Alias | undefined {
  let found: Alias | undefined;
  visit(doc, {
    Alias(_, alias, path) {
      const target = alias.resolve(doc);
      if (target !== undefined && path.includes(target as never)) {
        found = alias;
        return visit.BREAK;
      }
      return undefined;
    },
  });
  return found;
}

/** A yaml error or warning, as far as a diagnostic needs it. */
interface YamlProblem {
  readonly pos: readonly [number, number];
  readonly linePos?: readonly { line: number; col: number }[] | undefined;
  readonly code: string;
  readonly message: string;
}

/**
 * Duplicate keys, found in one pass with a set per map: the yaml package's own `uniqueKeys` check
 * compares each key with every earlier one (quadratic: 12 s for a 20,000-stage file). Same code,
 * message and position as the yaml package's.
 */
function duplicateKeys(doc: Document): YamlProblem[] {
  const out: YamlProblem[] = [];
  visit(doc, {
    Map(_, map) {
      const seen = new Set<unknown>();
      for (const pair of map.items) {
        const key = pair.key;
        if (!isScalar(key) || Number.isNaN(key.value)) continue;
        if (seen.has(key.value) && key.range !== undefined && key.range !== null)
          out.push({ pos: [key.range[0], key.range[0] + 1], code: 'DUPLICATE_KEY', message: 'Map keys must be unique' });
        seen.add(key.value);
      }
    },
  });
  return out;
}

/** The document's errors with the duplicate keys put in position order among them. */
function documentErrors(doc: Document): YamlProblem[] {
  const errors: YamlProblem[] = [...doc.errors];
  for (const d of duplicateKeys(doc)) {
    const i = errors.findIndex((e) => e.pos[0] > d.pos[0]);
    errors.splice(i === -1 ? errors.length : i, 0, d);
  }
  return errors;
}

function syntaxDiagnostics(file: string, doc: Document, lc: LineCounter): Diagnostic[] {
  return [...documentErrors(doc), ...doc.warnings].map((e) => {
    const pos = e.linePos?.[0] ?? lc.linePos(e.pos[0]);
    // The yaml package reports a stack overflow while composing deep nesting as an error at the node.
    const msg =
      e.code === 'TAG_RESOLVE_FAILED'
        ? `${yamlMessage(e.message)} (pipeline files hold plain data only: no custom tags)`
        : /Maximum call stack size exceeded/.test(e.message)
          ? 'the document is nested too deeply'
          : yamlMessage(e.message);
    return {
      file,
      line: pos.line,
      column: pos.col,
      length: Math.max(1, e.pos[1] - e.pos[0]),
      message: `YAML syntax error: ${msg}`,
    };
  });
}

/**
 * The document's data (aliases expanded, at most 100), as {@link plainData}. An alias inside its
 * own anchor is refused at the alias (`lineCounter` gives its position; without one, or for a node
 * a `--set` created, 1:1).
 */
export function documentData(file: string, doc: Document, lineCounter?: LineCounter): Result<unknown, Diagnostic> {
  try {
    return ok(plainData(doc.toJS({ maxAliasCount: 100 })));
  } catch (e) {
    if (e instanceof CyclicDataError) {
      const alias = selfReferentAlias(doc);
      const at = alias?.range !== undefined && alias.range !== null ? alias.range[0] : undefined;
      const pos = at !== undefined && lineCounter !== undefined ? lineCounter.linePos(at) : { line: 1, col: 1 };
      const name = alias !== undefined ? `*${alias.source}` : 'an alias';
      return failure('yaml-syntax', [
        {
          file,
          line: pos.line,
          column: pos.col,
          length: name.length,
          message: `YAML error: ${name} refers to a node that contains it (the data would be infinite)`,
        },
      ]);
    }
    const why = e instanceof RangeError ? 'the document is nested too deeply' : e instanceof Error ? e.message : String(e);
    return failure('yaml-syntax', [{ file, line: 1, column: 1, message: `YAML error: ${why}` }]);
  }
}

/** Phase 1: YAML syntax (plain data only: custom tags are errors); the document must be a map. */
export function parsePipelineSource(file: string, source: string): Result<ParsedPipeline, Diagnostic> {
  const lc = new LineCounter();
  let doc: Document;
  let syntax: Diagnostic[];
  try {
    doc = parseDocument(source, { lineCounter: lc, prettyErrors: false, uniqueKeys: false });
    syntax = syntaxDiagnostics(file, doc, lc);
  } catch (e) {
    if (!(e instanceof RangeError)) throw e;
    return failure('yaml-syntax', [{ file, line: 1, column: 1, message: 'YAML error: the document is nested too deeply' }]);
  }
  if (syntax.length > 0) return failure('yaml-syntax', syntax);
  const data = documentData(file, doc, lc);
  if (!data.ok) return data;
  const locator = new Locator(file, source, doc, lc);
  if (!isPlainMap(data.value))
    return failure('pipeline-not-a-map', [
      locator.diagnostic([], `a pipeline file is a map with keys name, stages, …; received ${showValue(data.value ?? null)}`),
    ]);
  return ok({ doc, locator, data: data.value });
}
