import { parseArgs } from 'node:util';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { SpecpipeError } from '../../util/errors.js';
import { ArtifactStore } from '../../store/artifactStore.js';
import { defaultRunsDir, readRunRecord, resolveRunId, type RunStageRecord } from '../../store/runRecord.js';
import type { ArrowColumn } from '../../store/arrowFile.js';
import type { UpstreamArtifact } from '../../stages/registry.js';

export const EXPORT_FORMATS = ['csv', 'json', 'arrow'] as const;
export type ExportFormat = (typeof EXPORT_FORMATS)[number];

export const EXPORT_USAGE = `usage: specpipe export RUN [STAGE] [--format csv|json|arrow] [--out DIR] [--store PATH] [--runs PATH] [--json]

Writes the numbers of a run's stage instances as tables, one file per table (RUN: id, unique prefix, last, last~1;
STAGE: a stage name (all its instances) or an instance name; default: every instance of the run):
  DIR/<instance>/density          spectrum/slq: x, y — the SLQ density (docs/math.md §4.2)
  DIR/<instance>/ritz             spectrum/slq: nodes, weights — Ritz values and quadrature weights, all start vectors
  DIR/<instance>/quadratures      spectrum/slq: run, nodes, weights — each start vector's quadrature (their spread)
  DIR/<instance>/outliers         spectrum/slq with top_k: value, residual, converged (§4.6)
  DIR/<instance>/log_density_positive, log_density_negative   spectrum/slq with log_spectrum: x, y (§4.3)
  DIR/<instance>/validation       validate/dense: one row per estimate of the small net — operator, top-k relative
                                  error, SLQ W1 / width, density L1, band coverage, outlier counts exact and estimated
                                  (§5); metadata λ_min(B2), ‖A1+A2+B1+B2 − G‖/‖G‖
  DIR/<instance>/exact_eigenvalues  validate/dense: every exact eigenvalue of each operator, one column each
  DIR/<instance>/history          train/sgd: epoch, lr, train/test loss and accuracy, seconds per epoch
  DIR/traces                      every trace of the selected instances: instance, kind, quantity, value, stderr, method, seed
                                  (Hutch++ with its standard error, SLQ's P·∫λdμ, the exact traces of A1, A2, B1; §4.5)
<instance> is the instance name with its matrix cell after a dot: spectra.operator=ggn,split=train; with seeds,
spectra.seed=1,operator=ggn,split=train. Every table's metadata (arrow) names the instance, its kind, key and seed.

  --format F    csv (default; header row, one row per entry), json (an array of row objects) or arrow (Arrow IPC)
  --out DIR     (default: export-<run id>)
  --store PATH  artifact store (default: artifacts); --runs PATH: run records (default: beside the store)
  --json        print the list of written files as one JSON document`;

/** One exported table: equal-length columns. */
interface Table {
  readonly columns: Record<string, ArrowColumn>;
  readonly metadata?: Record<string, string>;
}

/** A directory-safe name for an instance: "spectra[operator=ggn,split=train]" → "spectra.operator=ggn,split=train". */
export function instanceDirName(name: string): string {
  return name.replace(/\[(.*)\]$/, '.$1').replace(/[^\w.=,+-]+/g, '_');
}

function csvCell(v: unknown): string {
  const s = typeof v === 'number' ? (Number.isNaN(v) ? 'NaN' : String(v)) : String(v);
  return /[",\n]/.test(s) ? `"${s.replace(/"/g, '""')}"` : s;
}

function rowsOf(t: Table): Record<string, number | string | null>[] {
  const names = Object.keys(t.columns);
  const n = names.length === 0 ? 0 : t.columns[names[0]!]!.length;
  const rows: Record<string, number | string | null>[] = [];
  for (let i = 0; i < n; i++) {
    const row: Record<string, number | string | null> = {};
    for (const c of names) {
      const v = t.columns[c]![i]!;
      row[c] = typeof v === 'number' && !Number.isFinite(v) ? null : v;
    }
    rows.push(row);
  }
  return rows;
}

/** Writes `table` as DIR/base.<format>; returns the path. */
async function writeTable(dir: string, base: string, table: Table, format: ExportFormat): Promise<string> {
  mkdirSync(dir, { recursive: true });
  const path = join(dir, `${base}.${format}`);
  if (format === 'arrow') {
    const { writeArrowFile } = await import('../../store/arrowFile.js');
    writeArrowFile(path, table.columns, table.metadata ?? {});
  } else if (format === 'json') {
    writeFileSync(path, JSON.stringify(rowsOf(table), null, 1) + '\n');
  } else {
    const names = Object.keys(table.columns);
    const n = names.length === 0 ? 0 : table.columns[names[0]!]!.length;
    const lines = [names.map(csvCell).join(',')];
    for (let i = 0; i < n; i++) lines.push(names.map((c) => csvCell(table.columns[c]![i])).join(','));
    writeFileSync(path, lines.join('\n') + '\n');
  }
  return path;
}

interface TraceRow {
  readonly instance: string;
  readonly kind: string;
  readonly quantity: string;
  readonly value: number;
  readonly stderr: number;
  readonly method: string;
  /** The instance's seed (its `seed` coordinate, else the pipeline seed). */
  readonly seed: number;
}

/** The tables of one instance, and its traces. */
async function tablesOf(upstream: UpstreamArtifact): Promise<{ tables: Record<string, Table>; traces: TraceRow[] }> {
  const tables: Record<string, Table> = {};
  const traces: TraceRow[] = [];
  const trace = (quantity: string, value: number | undefined, stderr: number, method: string): void => {
    if (value !== undefined)
      traces.push({
        instance: upstream.name,
        kind: upstream.kind,
        quantity,
        value,
        stderr,
        method,
        seed: upstream.manifest.seed,
      });
  };
  const meta = { instance: upstream.name, kind: upstream.kind, key: upstream.key, seed: String(upstream.manifest.seed) };
  if (upstream.kind === 'spectrum/slq') {
    const { spectrumArtifact, SPECTRUM_FILES } = await import('../../stages/spectrum-slq/spectrumArtifact.js');
    const { readArrowFile } = await import('../../store/arrowFile.js');
    const s = spectrumArtifact(upstream);
    const d = await s.density();
    tables['density'] = { columns: { x: d.x, y: d.y }, metadata: { ...meta, sigma: String(d.sigma) } };
    const r = await s.ritz();
    tables['ritz'] = { columns: { nodes: r.nodes, weights: r.weights }, metadata: meta };
    const runs = readArrowFile(join(upstream.dir, SPECTRUM_FILES.runs));
    tables['quadratures'] = {
      columns: { run: runs.columns['run']!, nodes: runs.columns['nodes']!, weights: runs.columns['weights']! },
      metadata: meta,
    };
    const o = await s.outliers();
    if (o.length > 0)
      tables['outliers'] = {
        columns: {
          value: Float64Array.from(o, (p) => p.value),
          residual: Float64Array.from(o, (p) => p.residual),
          converged: Int32Array.from(o, (p) => (p.converged ? 1 : 0)),
        },
        metadata: meta,
      };
    for (const [name, file] of [
      ['log_density_positive', SPECTRUM_FILES.logPositive],
      ['log_density_negative', SPECTRUM_FILES.logNegative],
    ] as const) {
      const path = join(upstream.dir, file);
      if (!existsSync(path)) continue;
      const t = readArrowFile(path);
      tables[name] = { columns: { x: t.columns['x']!, y: t.columns['y']! }, metadata: { ...meta, ...t.metadata } };
    }
    const deflated = Number(upstream.params['deflate'] ?? 0);
    const operator = `${String(upstream.params['operator'] ?? 'operator')}${deflated > 0 ? ` deflated by its top ${deflated}` : ''}`;
    const tr = s.traces();
    trace(`tr ${operator}`, tr.slq, NaN, 'slq');
    if (tr.hutchpp !== undefined) trace(`tr ${operator}`, tr.hutchpp.value, tr.hutchpp.stderr, 'hutch++');
  } else if (upstream.kind === 'train/sgd') {
    const { TRAIN_METRICS_FILE } = await import('../../stages/train-sgd/trainArtifact.js');
    const { readArrowFile } = await import('../../store/arrowFile.js');
    const t = readArrowFile(join(upstream.dir, TRAIN_METRICS_FILE));
    tables['history'] = { columns: t.columns, metadata: { ...meta, ...t.metadata } };
  } else if (upstream.kind === 'decompose/class-gradients') {
    const { DECOMPOSITION_FILE } = await import('../../stages/decompose-class-gradients/decompositionArtifact.js');
    const m = upstream.manifest.metrics ?? {};
    for (const piece of ['a1', 'a2', 'b1'] as const) trace(`tr ${piece.toUpperCase()}`, m[`trace_${piece}`], 0, 'exact');
    let stderr = NaN;
    try {
      const summary = JSON.parse(readFileSync(join(upstream.dir, DECOMPOSITION_FILE), 'utf8')) as {
        traceB2?: { stderr?: number };
      };
      stderr = summary.traceB2?.stderr ?? NaN;
    } catch {
      // The manifest's value is still exported; its error bar is unknown.
    }
    trace('tr B2', m['trace_b2'], stderr, 'hutch++');
  } else if (upstream.kind === 'validate/dense') {
    const { VALIDATION_FILE, EXACT_EIGENVALUES_FILE } = await import('../../stages/validate-dense/validationArtifact.js');
    const { readArrowFile } = await import('../../store/arrowFile.js');
    for (const [name, file] of [
      ['validation', VALIDATION_FILE],
      ['exact_eigenvalues', EXACT_EIGENVALUES_FILE],
    ] as const) {
      const t = readArrowFile(join(upstream.dir, file));
      tables[name] = { columns: t.columns, metadata: { ...meta, ...t.metadata } };
    }
  }
  return { tables, traces };
}

/** `specpipe export RUN [STAGE] --format csv|json|arrow [--out DIR]`. */
export async function exportCommand(argv: string[]): Promise<number> {
  const { values, positionals } = parseArgs({
    args: argv,
    allowPositionals: true,
    options: {
      format: { type: 'string', short: 'f' },
      out: { type: 'string', short: 'o' },
      store: { type: 'string' },
      runs: { type: 'string' },
      json: { type: 'boolean' },
      help: { type: 'boolean', short: 'h' },
    },
  });
  if (values.help === true) {
    process.stdout.write(EXPORT_USAGE + '\n');
    return 0;
  }
  if (positionals.length < 1 || positionals.length > 2)
    throw new SpecpipeError(
      'bad-args',
      `expected RUN [STAGE], received ${positionals.length === 0 ? 'nothing' : positionals.join(' ')} (see specpipe export --help)`,
      2,
    );
  const format = values.format ?? 'csv';
  if (!(EXPORT_FORMATS as readonly string[]).includes(format))
    throw new SpecpipeError('bad-args', `--format: expected ${EXPORT_FORMATS.join(', ')}, received "${format}"`, 2);
  const storePath = values.store ?? 'artifacts';
  const runsDir = values.runs ?? defaultRunsDir(storePath);
  const runId = resolveRunId(runsDir, positionals[0]!);
  const record = readRunRecord(runsDir, runId);
  const stage = positionals[1];
  const selected: RunStageRecord[] =
    stage === undefined ? [...record.stages] : record.stages.filter((s) => s.stage === stage || s.name === stage);
  if (selected.length === 0)
    throw new SpecpipeError(
      'not-found',
      `run ${runId} has no stage or instance "${stage}" (stages: ${[...new Set(record.stages.map((s) => s.stage))].join(', ')})`,
    );
  const store = new ArtifactStore(values.store ?? record.store);
  const out = resolve(values.out ?? `export-${runId}`);
  const written: string[] = [];
  const skipped: { instance: string; reason: string }[] = [];
  const traces: TraceRow[] = [];
  for (const s of selected) {
    if (s.status === 'failed') {
      skipped.push({ instance: s.name, reason: `failed in run ${runId}` });
      continue;
    }
    const v = store.verify(s.key);
    if (!v.ok) {
      skipped.push({ instance: s.name, reason: `artifact ${s.key.slice(0, 12)}: ${v.reason}` });
      continue;
    }
    const upstream: UpstreamArtifact = {
      stage: s.stage,
      name: s.name,
      kind: s.kind,
      key: s.key,
      matrix: s.matrix,
      coords: s.coords,
      params: s.params,
      dir: store.dir(s.key),
      manifest: v.manifest,
    };
    const t = await tablesOf(upstream);
    traces.push(...t.traces);
    for (const [name, table] of Object.entries(t.tables))
      written.push(await writeTable(join(out, instanceDirName(s.name)), name, table, format as ExportFormat));
  }
  if (traces.length > 0)
    written.push(
      await writeTable(
        out,
        'traces',
        {
          columns: {
            instance: traces.map((t) => t.instance),
            kind: traces.map((t) => t.kind),
            quantity: traces.map((t) => t.quantity),
            value: Float64Array.from(traces, (t) => t.value),
            stderr: Float64Array.from(traces, (t) => t.stderr),
            method: traces.map((t) => t.method),
            seed: Float64Array.from(traces, (t) => t.seed),
          },
          metadata: { run: runId },
        },
        format as ExportFormat,
      ),
    );
  if (values.json === true) {
    process.stdout.write(JSON.stringify({ run: runId, format, out, files: written, skipped }, null, 2) + '\n');
    return 0;
  }
  for (const f of written) process.stdout.write(f + '\n');
  for (const s of skipped) process.stderr.write(`skipped ${s.instance}: ${s.reason}\n`);
  process.stderr.write(
    `exported ${written.length} file${written.length === 1 ? '' : 's'} of run ${runId} (${format}) to ${out}\n`,
  );
  return 0;
}
