import { runStatus, type RunRecord } from '../store/runRecord.js';
import { flattenParams } from './ingredientDiff.js';

/**
 * Metrics `specpipe runs --table` shows by default, as (label, metric names tried in order): λ_max is
 * the top-k Lanczos value when the stage computed top-k pairs, else SLQ's top Gauss node; "top-k conv."
 * counts the top-k eigenpairs whose residual says converged (the outlier candidates; the outlier rule of
 * src/linalg/outlierCount.ts needs the artifact and is in the report); trace is Hutch++'s when computed.
 */
export const KEY_METRICS: readonly { readonly label: string; readonly names: readonly string[] }[] = [
  { label: 'λ_max', names: ['lambda_1', 'top_eigenvalue'] },
  { label: 'top-k conv.', names: ['outliers_converged'] },
  { label: 'trace', names: ['trace_hutchpp', 'trace'] },
  { label: 'test_acc', names: ['test_acc'] },
];

/** One cell: a param as canonical JSON text, a metric as a number (NaN read back from JSON as null), absent as null. */
export type RunTableCell = string | number | null;

export interface RunTableColumn {
  /** Header: "run", "pipeline", "status", a param "stage.path" (or "instance.path" where a stage's instances differ), a metric "instance label". */
  readonly name: string;
  readonly group: 'run' | 'param' | 'metric';
}

export interface RunTable {
  readonly columns: readonly RunTableColumn[];
  /** One row per run, oldest first; cells in column order. */
  readonly rows: readonly (readonly RunTableCell[])[];
}

export interface RunTableOptions {
  /** Metrics to show instead of {@link KEY_METRICS}: exact metric names, each its own column. */
  readonly metrics?: readonly string[];
}

/** A run's closing state: ok, failed (N failed instances), interrupted (Ctrl-C). */
function statusText(r: RunRecord): string {
  const s = runStatus(r);
  return s === 'succeeded' ? 'ok' : s === 'interrupted' ? 'interrupted' : `failed (${r.counts.failed})`;
}

/** A cell of a run in which the instance (or stage) does not exist: no value, and no difference either. */
const NOT_IN_RUN = Symbol('not in run');
type ParamValue = string | undefined | typeof NOT_IN_RUN;

/**
 * Run-level and per-instance key ingredients, flattened: seed, backend, and each instance's params
 * ("instance.path"). Collapsed to "stage.path" where every instance of the stage has one value in each
 * run (a matrix axis keeps its per-instance columns). A run without the instance has no cell there.
 */
function paramCells(records: readonly RunRecord[]): Map<string, ParamValue[]> {
  const perInstance = new Map<string, { stage: string; path: string; values: ParamValue[] }>();
  const instancesIn = records.map((r) => new Set(r.stages.map((s) => s.name)));
  records.forEach((r, i) => {
    for (const s of r.stages) {
      const flat = flattenParams(s.ingredients?.params ?? s.params);
      for (const [path, value] of Object.entries(flat)) {
        const col = `${s.name}.${path}`;
        let entry = perInstance.get(col);
        if (entry === undefined) {
          entry = { stage: s.stage, path, values: records.map((_, j) => (instancesIn[j]!.has(s.name) ? undefined : NOT_IN_RUN)) };
          perInstance.set(col, entry);
        }
        entry.values[i] = value;
      }
    }
  });
  // stage.path collapses its instances' columns when, in every run, they agree (absent ones aside).
  const byStagePath = new Map<string, string[]>();
  for (const [col, e] of perInstance) {
    const k = `${e.stage}.${e.path}`;
    byStagePath.set(k, [...(byStagePath.get(k) ?? []), col]);
  }
  const out = new Map<string, ParamValue[]>();
  out.set(
    'seed',
    records.map((r) => (r.stages[0] !== undefined ? String(r.stages[0].ingredients?.seed ?? '') : NOT_IN_RUN)),
  );
  out.set(
    'backend',
    records.map((r) => r.backend),
  );
  for (const [stagePath, cols] of byStagePath) {
    const values = records.map((_, i) => {
      const present = cols.map((c) => perInstance.get(c)!.values[i]).filter((v) => v !== NOT_IN_RUN);
      return present.length === 0 ? NOT_IN_RUN : new Set(present);
    });
    if (values.every((s) => s === NOT_IN_RUN || s.size <= 1))
      out.set(
        stagePath,
        values.map((s) => (s === NOT_IN_RUN ? NOT_IN_RUN : [...s][0])),
      );
    else for (const c of cols) out.set(c, perInstance.get(c)!.values);
  }
  return out;
}

/**
 * The table of `specpipe runs --table` (DVC's `exp show`): one row per run, the run-level and param
 * columns whose values differ between the given runs, then the key metrics of each instance that has
 * one in some run.
 */
export function runTable(records: readonly RunRecord[], options: RunTableOptions = {}): RunTable {
  const columns: RunTableColumn[] = [
    { name: 'run', group: 'run' },
    { name: 'pipeline', group: 'run' },
    { name: 'status', group: 'run' },
  ];
  const rows: RunTableCell[][] = records.map((r) => [r.run, r.pipeline.name, statusText(r)]);
  for (const [name, values] of paramCells(records)) {
    // Shown when the runs that have it disagree (a param absent in one of them counts as a difference).
    if (new Set(values.filter((v) => v !== NOT_IN_RUN)).size <= 1) continue;
    columns.push({ name, group: 'param' });
    values.forEach((v, i) => rows[i]!.push(v === NOT_IN_RUN ? null : (v ?? null)));
  }
  const metricSpecs =
    options.metrics !== undefined ? options.metrics.map((m) => ({ label: m, names: [m] })) : KEY_METRICS.map((m) => m);
  // Instances in first-seen order (runs oldest first, stages in plan order).
  const instances = [...new Set(records.flatMap((r) => r.stages.map((s) => s.name)))];
  for (const instance of instances) {
    for (const spec of metricSpecs) {
      const values = records.map((r): RunTableCell | undefined => {
        const metrics = r.stages.find((s) => s.name === instance)?.metrics;
        if (metrics === undefined) return undefined;
        const name = spec.names.find((n) => Object.hasOwn(metrics, n));
        return name === undefined ? undefined : (metrics[name] ?? null);
      });
      if (values.every((v) => v === undefined)) continue;
      columns.push({ name: `${instance} ${spec.label}`, group: 'metric' });
      values.forEach((v, i) => rows[i]!.push(v === undefined ? null : v));
    }
  }
  return { columns, rows };
}

/** A cell as text: numbers with 6 significant digits (integers whole), NaN by name, absent as "—". */
export function cellText(v: RunTableCell): string {
  if (v === null) return '—';
  if (typeof v === 'string') return v;
  if (!Number.isFinite(v)) return String(v);
  return Number.isInteger(v) ? String(v) : String(Number(v.toPrecision(6)));
}

/** Cuts `s` to `max` characters with "…" in the middle, so both ends of an instance name stay readable. */
function fit(s: string, max: number): string {
  if (s.length <= max) return s;
  const head = Math.ceil((max - 1) / 2);
  return `${s.slice(0, head)}…${s.slice(s.length - (max - 1 - head))}`;
}

/**
 * The table as aligned text at most `width` characters wide: columns wider than `maxCell` are cut in the
 * middle, and columns that do not fit continue in further blocks below, each repeating the run column.
 */
export function formatRunTable(t: RunTable, width: number, maxCell = 28): string {
  const text = t.rows.map((row) => row.map((c) => fit(cellText(c), maxCell)));
  const headers = t.columns.map((c) => fit(c.name, maxCell));
  const widths = headers.map((h, j) => Math.max(h.length, ...text.map((row) => row[j]!.length)));
  const numeric = t.columns.map((c) => c.group === 'metric');
  const pad = (s: string, j: number): string => (numeric[j] === true ? s.padStart(widths[j]!) : s.padEnd(widths[j]!));
  const blocks: number[][] = [];
  let block: number[] = [0];
  let used = widths[0]!;
  for (let j = 1; j < t.columns.length; j++) {
    if (block.length > 1 && used + 2 + widths[j]! > width) {
      blocks.push(block);
      block = [0];
      used = widths[0]!;
    }
    block.push(j);
    used += 2 + widths[j]!;
  }
  blocks.push(block);
  const lines: string[] = [];
  for (const [b, cols] of blocks.entries()) {
    if (b > 0) lines.push('');
    lines.push(
      cols
        .map((j) => pad(headers[j]!, j))
        .join('  ')
        .trimEnd(),
    );
    for (const row of text)
      lines.push(
        cols
          .map((j) => pad(row[j]!, j))
          .join('  ')
          .trimEnd(),
      );
  }
  return lines.join('\n');
}

/** RFC 4180 CSV: a header line, then one line per run; numbers in full precision, absent cells empty. */
export function runTableCsv(t: RunTable): string {
  const quote = (s: string): string => (/[",\n\r]/.test(s) ? `"${s.replace(/"/g, '""')}"` : s);
  const cell = (v: RunTableCell): string => (v === null ? '' : typeof v === 'number' ? String(v) : quote(v));
  return [t.columns.map((c) => quote(c.name)).join(','), ...t.rows.map((r) => r.map(cell).join(','))].join('\n');
}

/** The table as JSON rows: one object per run, column name → cell. */
export function runTableJson(t: RunTable): Record<string, RunTableCell>[] {
  return t.rows.map((r) => Object.fromEntries(t.columns.map((c, j) => [c.name, r[j] ?? null])));
}
