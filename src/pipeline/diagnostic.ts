import { SpecpipeError } from '../util/errors.js';

/** One positioned problem in a pipeline file; line and column are 1-based (the `yaml` package's LineCounter). */
export interface Diagnostic {
  readonly file: string;
  readonly line: number;
  readonly column: number;
  /** Length of the underlined range on that line (≥ 1). */
  readonly length?: number;
  readonly message: string;
}

/**
 * Renders a diagnostic the way compilers do:
 *
 *     pipe.yaml:4:5: unknown key "need" in stages.train; did you mean "needs"?
 *       need: [data]
 *       ^^^^
 */
export function formatDiagnostic(d: Diagnostic, source: string | undefined): string {
  const head = `${d.file}:${d.line}:${d.column}: ${d.message}`;
  if (source === undefined) return head;
  const text = source.split(/\r?\n/)[d.line - 1];
  if (text === undefined) return head;
  const room = Math.max(1, text.length - (d.column - 1));
  const len = Math.max(1, Math.min(d.length ?? 1, room));
  return `${head}\n  ${text}\n  ${' '.repeat(Math.max(0, d.column - 1))}${'^'.repeat(len)}`;
}

/**
 * Every problem found in one pipeline file. `message` holds all of them, formatted with source
 * line and caret; `diagnostics` keeps them as data for tests and `--json`.
 */
export class PipelineError extends SpecpipeError {
  constructor(
    reason: string,
    readonly diagnostics: readonly Diagnostic[],
    source: string | undefined,
  ) {
    super(reason, diagnostics.map((d) => formatDiagnostic(d, source)).join('\n'));
    this.name = 'PipelineError';
  }
}

/** Levenshtein distance (insert, delete, substitute at cost 1). */
export function editDistance(a: string, b: string): number {
  let prev = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    const cur = [i];
    for (let j = 1; j <= b.length; j++) {
      const sub = prev[j - 1]! + (a[i - 1] === b[j - 1] ? 0 : 1);
      cur.push(Math.min(prev[j]! + 1, cur[j - 1]! + 1, sub));
    }
    prev = cur;
  }
  return prev[b.length]!;
}

/** The closest candidate within edit distance max(2, ⌊|word|/3⌋), as `; did you mean "x"?`, or ''. */
export function didYouMean(word: string, candidates: Iterable<string>): string {
  let best: string | undefined;
  let bestD = Infinity;
  for (const c of candidates) {
    const d = editDistance(word.toLowerCase(), c.toLowerCase());
    if (d < bestD) {
      bestD = d;
      best = c;
    }
  }
  const limit = Math.max(2, Math.floor(word.length / 3));
  return best !== undefined && bestD <= limit ? `; did you mean "${best}"?` : '';
}

/** A value as it appears in messages: JSON, cut to 60 characters. */
export function showValue(v: unknown): string {
  let s: string;
  try {
    s = typeof v === 'number' && !Number.isFinite(v) ? String(v) : (JSON.stringify(v) ?? String(v));
  } catch {
    s = String(v);
  }
  return s.length > 60 ? `${s.slice(0, 57)}...` : s;
}
