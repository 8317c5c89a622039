import { canonicalJson } from '../util/canonicalJson.js';
import type { KeyIngredients } from '../store/stageKey.js';

/** `r[k]` when `k` is r's own key (a param or stage named "constructor" never reads Object.prototype). */
function own<V>(r: Readonly<Record<string, V>>, k: string): V | undefined {
  return Object.hasOwn(r, k) ? r[k] : undefined;
}

/** Sets `r[k]` as an own property, even for `__proto__`. */
function put(r: Record<string, string>, k: string, v: string): void {
  Object.defineProperty(r, k, { value: v, enumerable: true, writable: true, configurable: true });
}

/** Flattens plain data to dotted paths: {model: {hidden: [64]}} → {"model.hidden": "[64]"} (leaves as canonical JSON). */
export function flattenParams(value: unknown, prefix = '', out: Record<string, string> = {}): Record<string, string> {
  if (typeof value === 'object' && value !== null && !Array.isArray(value)) {
    const entries = Object.entries(value as Record<string, unknown>);
    if (entries.length === 0 && prefix !== '') put(out, prefix, '{}');
    for (const [k, v] of entries) flattenParams(v, prefix === '' ? k : `${prefix}.${k}`, out);
  } else put(out, prefix === '' ? '(value)' : prefix, canonicalJson(value ?? null));
  return out;
}

export interface ValueChange {
  readonly path: string;
  /** undefined: absent on that side. */
  readonly before: string | undefined;
  readonly after: string | undefined;
}

/** Entries that differ between two flattened values, sorted by path. */
export function changedEntries(before: unknown, after: unknown): ValueChange[] {
  const a = flattenParams(before);
  const b = flattenParams(after);
  const paths = [...new Set([...Object.keys(a), ...Object.keys(b)])].sort();
  return paths.filter((p) => own(a, p) !== own(b, p)).map((p) => ({ path: p, before: own(a, p), after: own(b, p) }));
}

export function describeChange(c: ValueChange): string {
  return `${c.path}: ${c.before ?? '(absent)'} → ${c.after ?? '(absent)'}`;
}

/** The ingredients of a stage key, in the order `explain` prints them. */
export const INGREDIENT_ORDER = [
  'kind',
  'version',
  'params',
  'upstream',
  'seed',
  'backend',
  'numerics',
  'inputs',
  'storeSchema',
] as const;
export type IngredientName = (typeof INGREDIENT_ORDER)[number];

export interface IngredientComparison {
  readonly ingredient: IngredientName;
  /** The current value, short. */
  readonly value: string;
  /** 'same', 'changed', or 'new' (no previous run of this instance). */
  readonly state: 'same' | 'changed' | 'new';
  /** What changed, e.g. "epochs: 30 → 5", "version 1 → 2", "train=ab12… (was 77ee…)". */
  readonly detail: string[];
}

function short(v: unknown): string {
  const s = canonicalJson(v);
  return s.length > 70 ? `${s.slice(0, 67)}...` : s;
}

function upstreamSummary(u: KeyIngredients['upstream']): string {
  return (
    Object.entries(u)
      .map(([s, k]) => (typeof k === 'string' ? `${s}=${k.slice(0, 12)}` : `${s}=[${Object.keys(k).length} instances]`))
      .join(', ') || '(none)'
  );
}

function inputsSummary(i: KeyIngredients['inputs']): string {
  if (i === undefined) return '(no input files)';
  return (
    Object.entries(i)
      .map(([label, fp]) => `${label}=${shortFingerprint(fp)}`)
      .join(', ') || '(none)'
  );
}

/** "sha256:0123456789ab…" → "sha256:0123456789ab"; "absent" stays. */
function shortFingerprint(fp: string | undefined): string {
  if (fp === undefined) return '(absent)';
  const i = fp.indexOf(':');
  return i < 0 ? fp : fp.slice(0, i + 13);
}

function inputChanges(a: KeyIngredients['inputs'], b: KeyIngredients['inputs']): string[] {
  if (a === undefined || b === undefined) return [`${inputsSummary(a)} → ${inputsSummary(b)}`];
  const out: string[] = [];
  for (const label of [...new Set([...Object.keys(a), ...Object.keys(b)])].sort()) {
    const fa = a[label];
    const fb = b[label];
    if (fa === fb) continue;
    if (fa === undefined) out.push(`${label}: added (${shortFingerprint(fb)})`);
    else if (fb === undefined) out.push(`${label}: no longer read`);
    else if (fb === 'absent') out.push(`${label}: ${shortFingerprint(fa)} → absent (file removed)`);
    else out.push(`${label}: ${shortFingerprint(fa)} → ${shortFingerprint(fb)} (content changed)`);
  }
  return out;
}

/**
 * Execution params (a kind's `executionParams`) that differ from the previous run's params, e.g.
 * "workers: 1 → 2 (execution layout, not in the key)": such a change reruns nothing.
 */
export function executionChanges(
  execution: Readonly<Record<string, unknown>> | undefined,
  previousParams: Readonly<Record<string, unknown>> | undefined,
): string[] {
  if (execution === undefined || previousParams === undefined) return [];
  return Object.keys(execution)
    .sort()
    .filter((k) => canonicalJson(execution[k] ?? null) !== canonicalJson(previousParams[k] ?? null))
    .map(
      (k) =>
        `${k}: ${previousParams[k] === undefined ? '(absent)' : canonicalJson(previousParams[k])} → ${canonicalJson(execution[k] ?? null)} (execution layout, not in the key)`,
    );
}

/** Compares each ingredient of a key with the one recorded by the previous run of the same instance. */
export function compareIngredients(current: KeyIngredients, previous: KeyIngredients | undefined): IngredientComparison[] {
  return INGREDIENT_ORDER.map((name) => {
    const cur = current[name];
    const value =
      name === 'upstream'
        ? upstreamSummary(current.upstream)
        : name === 'inputs'
          ? inputsSummary(current.inputs)
          : short(cur ?? null);
    if (previous === undefined) return { ingredient: name, value, state: 'new', detail: [] };
    const prev = previous[name];
    if (canonicalJson(prev ?? null) === canonicalJson(cur ?? null)) return { ingredient: name, value, state: 'same', detail: [] };
    let detail: string[];
    if (name === 'params' || name === 'numerics') detail = changedEntries(prev, cur).map(describeChange);
    else if (name === 'inputs') detail = inputChanges(previous.inputs, current.inputs);
    else if (name === 'upstream') {
      detail = [];
      const a = previous.upstream;
      const b = current.upstream;
      for (const s of [...new Set([...Object.keys(a), ...Object.keys(b)])].sort()) {
        const ka = own(a, s);
        const kb = own(b, s);
        if (canonicalJson(ka ?? null) === canonicalJson(kb ?? null)) continue;
        if (typeof ka === 'string' && typeof kb === 'string')
          detail.push(`${s}: ${ka.slice(0, 12)} → ${kb.slice(0, 12)} (upstream key changed)`);
        else if (ka === undefined) detail.push(`${s}: added`);
        else if (kb === undefined) detail.push(`${s}: removed`);
        else if (typeof ka === 'object' && typeof kb === 'object') {
          for (const inst of [...new Set([...Object.keys(ka), ...Object.keys(kb)])].sort()) {
            const [ia, ib] = [own(ka, inst), own(kb, inst)];
            if (ia !== ib) detail.push(`${s} ${inst}: ${ia?.slice(0, 12) ?? '(absent)'} → ${ib?.slice(0, 12) ?? '(absent)'}`);
          }
        } else detail.push(`${s}: changed`);
      }
    } else detail = [`${short(prev ?? null)} → ${short(cur ?? null)}`];
    return { ingredient: name, value, state: 'changed', detail };
  });
}
