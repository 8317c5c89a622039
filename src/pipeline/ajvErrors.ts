import { Ajv, type ErrorObject, type ValidateFunction } from 'ajv';
import { didYouMean, showValue } from './diagnostic.js';
import { loadSchema } from '../util/schemaFiles.js';

/** One schema violation, with the data path it is about and whether the key (not the value) is at fault. */
export interface SchemaProblem {
  /** Path of the offending node inside the validated value. */
  readonly path: readonly (string | number)[];
  /** Point at the key of the last path element rather than its value (unknown keys). */
  readonly atKey: boolean;
  /** Message without the location prefix; uses `label` for the path. */
  readonly message: (label: string) => string;
}

/** Schemas that stage params schemas `$ref` by relative path (resolved against their `$id`s): the model spec. */
export const SHARED_SCHEMA_FILES = ['model.schema.json'] as const;

export function newAjv(): Ajv {
  const ajv = new Ajv({ allErrors: true, useDefaults: true, strict: false, verbose: true });
  for (const file of SHARED_SCHEMA_FILES) ajv.addSchema(loadSchema(file));
  return ajv;
}

const cache = new WeakMap<object, ValidateFunction>();

export function compileSchema(ajv: Ajv, schema: Record<string, unknown>): ValidateFunction {
  let v = cache.get(schema);
  if (v === undefined) {
    v = ajv.compile(schema);
    cache.set(schema, v);
  }
  return v;
}

function parsePointer(p: string): (string | number)[] {
  if (p === '') return [];
  return p
    .slice(1)
    .split('/')
    .map((s) => s.replace(/~1/g, '/').replace(/~0/g, '~'))
    .map((s) => (/^\d+$/.test(s) ? Number(s) : s));
}

/** `stages.train.with.hidden[0]` for display. */
export function pathLabel(path: readonly (string | number)[]): string {
  let s = '';
  for (const seg of path) s += typeof seg === 'number' ? `[${seg}]` : s === '' ? seg : `.${seg}`;
  return s === '' ? '(top level)' : s;
}

type DataPath = readonly (string | number)[];

/** An ajv error as a problem at a data path (undefined: another error says it better; 'other': ajv's own message). */
type ProblemOf = (e: ErrorObject, base: DataPath) => SchemaProblem | undefined | 'other';

function unknownKeyProblem(e: ErrorObject, base: DataPath): SchemaProblem {
  const key = String((e.params as { additionalProperty: string }).additionalProperty);
  const props = Object.keys(((e.parentSchema ?? {}) as { properties?: object }).properties ?? {});
  // The parent as the caller labels it (stages.train.with.model), when the label is the parent's plus the key
  // (or ends so inside parentheses: "… (matrix value for stages.train.with.model.key)").
  const parent = (label: string): string => {
    if (base.length === 0) return pathLabel(base);
    if (label.endsWith(`.${key}`)) return label.slice(0, -key.length - 1);
    if (label.endsWith(`.${key})`)) return `${label.slice(0, -key.length - 2)})`;
    return pathLabel(base);
  };
  const hint = didYouMean(key, props);
  return {
    path: [...base, key],
    atKey: true,
    message: (label) =>
      `unknown key "${key}" in ${parent(label)}${hint}${props.length > 0 && hint === '' ? ` (expected one of: ${props.join(', ')})` : ''}`,
  };
}

/** Messages per ajv keyword; keywords not listed get ajv's own message. */
const PROBLEM_OF: Readonly<Record<string, ProblemOf>> = {
  additionalProperties: unknownKeyProblem,
  propertyNames: (e, base) => {
    const key = String((e.params as { propertyName: string }).propertyName);
    return {
      path: [...base, key],
      atKey: true,
      message: () =>
        `invalid name "${key}" in ${pathLabel(base)}: names start with a letter and hold letters, digits, "_" and "-"`,
    };
  },
  // a pattern on a property name is reported by propertyNames
  pattern: (e) => (e.propertyName !== undefined ? undefined : 'other'),
  required: (e, base) => {
    const key = String((e.params as { missingProperty: string }).missingProperty);
    return { path: base, atKey: base.length > 0, message: (label) => `${label} is missing the required key "${key}"` };
  },
  enum: (e, base) => {
    const allowed = ((e.params as { allowedValues: unknown[] }).allowedValues ?? []).map((v) =>
      typeof v === 'string' ? v : JSON.stringify(v),
    );
    const hint = typeof e.data === 'string' ? didYouMean(e.data, allowed) : '';
    return {
      path: base,
      atKey: false,
      message: (label) => `${label} must be one of ${allowed.join('|')}, received ${showValue(e.data)}${hint}`,
    };
  },
  type: (e, base) => {
    const t = (e.params as { type: string | string[] }).type;
    const ts = Array.isArray(t) ? t.join(' or ') : t;
    return {
      path: base,
      atKey: false,
      message: (label) => `${label} must be ${/^[aeiou]/.test(ts) ? 'an' : 'a'} ${ts}, received ${showValue(e.data)}`,
    };
  },
  minItems: (e, base) => itemCountProblem(e, base, 'at least'),
  maxItems: (e, base) => itemCountProblem(e, base, 'at most'),
  not: (e, base) => {
    const m = (e.schema as { multipleOf?: unknown }).multipleOf;
    if (typeof m !== 'number') return 'other';
    return {
      path: base,
      atKey: false,
      message: (label) => `${label} must ${m === 2 ? 'be odd' : `not be a multiple of ${m}`}, received ${showValue(e.data)}`,
    };
  },
  // their branch errors say more
  if: () => undefined,
  anyOf: () => undefined,
  oneOf: () => undefined,
};

function itemCountProblem(e: ErrorObject, base: DataPath, word: string): SchemaProblem {
  const limit = (e.params as { limit: number }).limit;
  return {
    path: base,
    atKey: false,
    message: (label) => `${label} must list ${word} ${limit} value${limit === 1 ? '' : 's'}, received ${showValue(e.data)}`,
  };
}

function otherProblem(e: ErrorObject, base: DataPath): SchemaProblem {
  return { path: base, atKey: false, message: (label) => `${label} ${e.message ?? 'is invalid'}, received ${showValue(e.data)}` };
}

/** Turns ajv errors into problems: one per location, unknown keys with a did-you-mean, values quoted. */
export function schemaProblems(errors: readonly ErrorObject[] | null | undefined): SchemaProblem[] {
  const out: SchemaProblem[] = [];
  const seen = new Set<string>();
  // A type error on a node makes the other errors on the same node noise.
  const typeErrorAt = new Set((errors ?? []).filter((e) => e.keyword === 'type').map((e) => e.instancePath));
  for (const e of errors ?? []) {
    const base = parsePointer(e.instancePath);
    const r = Object.hasOwn(PROBLEM_OF, e.keyword) ? PROBLEM_OF[e.keyword]!(e, base) : 'other';
    if (r === undefined || (r === 'other' && typeErrorAt.has(e.instancePath))) continue;
    const p = r === 'other' ? otherProblem(e, base) : r;
    const id = `${p.path.join('\u0000')}|${p.message('x')}`;
    if (seen.has(id)) continue;
    seen.add(id);
    out.push(p);
  }
  return out;
}
