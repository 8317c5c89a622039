import { parseArgs } from 'node:util';
import { join } from 'node:path';
import { SpecpipeError } from '../../util/errors.js';
import { readArrowFile } from '../../store/arrowFile.js';
import { ArtifactStore } from '../../store/artifactStore.js';
import {
  defaultRunsDir,
  listRunIds,
  readRunRecord,
  resolveRunId,
  type RunRecord,
  type RunStageRecord,
} from '../../store/runRecord.js';
import { changedEntries } from '../../pipeline/ingredientDiff.js';
import { wasserstein1 } from '../../linalg/spectralDistance.js';
import { numberText } from '../../util/finite.js';

export interface RunDiff {
  readonly a: string;
  readonly b: string;
  readonly overrides: { readonly a: readonly string[]; readonly b: readonly string[] };
  readonly params: { instance: string; path: string; a: string | null; b: string | null }[];
  readonly metrics: { instance: string; metric: string; a: number | null; b: number | null; change: number | null }[];
  /** Spectra of instances present in both runs with different keys: W1 between the densities (as quadrature measures), top node change. */
  readonly spectra: { instance: string; file: string; w1: number; topA: number; topB: number; topChange: number }[];
  readonly artifacts: { added: string[]; removed: string[]; changed: string[]; unchanged: number };
  /** Things that could not be compared (artifacts gone). */
  readonly notes: string[];
  /** Metrics equal in both runs and left out of `metrics` (0 with `all`). */
  unchangedMetrics: number;
}

export interface DiffOptions {
  /** List every metric of the instances in both runs, unchanged ones and those of unchanged instances included. */
  readonly all?: boolean;
}

function spectrumOf(
  store: ArtifactStore,
  s: RunStageRecord,
  file: string,
): { nodes: Float64Array; weights: Float64Array } | undefined {
  const v = store.verify(s.key);
  if (!v.ok) return undefined;
  const t = readArrowFile(join(store.dir(s.key), file)).columns;
  const nodes = t['nodes'];
  const weights = t['weights'];
  if (
    !(nodes instanceof Float64Array || nodes instanceof Float32Array) ||
    !(weights instanceof Float64Array || weights instanceof Float32Array)
  )
    return undefined;
  return { nodes: Float64Array.from(nodes), weights: Float64Array.from(weights) };
}

/** Compares two run records: params, metrics, spectra (W1, top eigenvalue), artifacts. */
export function diffRuns(
  ra: RunRecord,
  rb: RunRecord,
  storeA: ArtifactStore,
  storeB: ArtifactStore,
  options: DiffOptions = {},
): RunDiff {
  const all = options.all === true;
  const A = new Map(ra.stages.map((s) => [s.name, s]));
  const B = new Map(rb.stages.map((s) => [s.name, s]));
  const d: RunDiff = {
    a: ra.run,
    b: rb.run,
    overrides: { a: ra.pipeline.overrides, b: rb.pipeline.overrides },
    params: [],
    metrics: [],
    spectra: [],
    artifacts: {
      added: [...B.keys()].filter((n) => !A.has(n)),
      removed: [...A.keys()].filter((n) => !B.has(n)),
      changed: [],
      unchanged: 0,
    },
    notes: [],
    unchangedMetrics: 0,
  };
  for (const [name, sa] of A) {
    const sb = B.get(name);
    if (sb === undefined) continue;
    const sameKey = sa.key === sb.key;
    if (sameKey) d.artifacts.unchanged++;
    else {
      d.artifacts.changed.push(name);
      for (const c of changedEntries(sa.params, sb.params))
        d.params.push({ instance: name, path: c.path, a: c.before ?? null, b: c.after ?? null });
    }
    const ma = sa.metrics ?? {};
    const mb = sb.metrics ?? {};
    for (const m of [...new Set([...Object.keys(ma), ...Object.keys(mb)])].sort()) {
      // A NaN metric was written as null (JSON): it differs from an absent one, so it shows as NaN.
      const va = Object.hasOwn(ma, m) ? (ma[m] ?? NaN) : null;
      const vb = Object.hasOwn(mb, m) ? (mb[m] ?? NaN) : null;
      // Unchanged (equal, both NaN, both absent) metrics are counted, and listed only with --all.
      if (Object.is(va, vb) && !all) {
        d.unchangedMetrics++;
        continue;
      }
      d.metrics.push({ instance: name, metric: m, a: va, b: vb, change: va !== null && vb !== null ? vb - va : null });
    }
    if (sameKey) continue;
    const manA = storeA.readManifest(sa.key);
    const manB = storeB.readManifest(sb.key);
    if (manA === undefined || manB === undefined) {
      d.notes.push(
        `${name}: artifact ${manA === undefined ? sa.key.slice(0, 12) : sb.key.slice(0, 12)} is no longer in the store; spectra not compared`,
      );
      continue;
    }
    for (const f of manA.files.filter((x) => x.role === 'spectrum')) {
      if (!manB.files.some((x) => x.path === f.path)) continue;
      const sA = spectrumOf(storeA, sa, f.path);
      const sB = spectrumOf(storeB, sb, f.path);
      if (sA === undefined || sB === undefined) {
        d.notes.push(`${name}/${f.path}: not readable as nodes/weights`);
        continue;
      }
      const topA = Math.max(...sA.nodes);
      const topB = Math.max(...sB.nodes);
      d.spectra.push({ instance: name, file: f.path, w1: wasserstein1(sA, sB), topA, topB, topChange: topB - topA });
    }
  }
  return d;
}

/** A metric or eigenvalue: NaN and ±Infinity by name (never a crash); absent as "—". */
const fmt = (v: number | null): string =>
  v === null ? '—' : numberText(v, (x) => (Number.isInteger(x) ? String(x) : x.toPrecision(6)));

export function formatRunDiff(d: RunDiff): string {
  const L: string[] = [`diff ${d.a} → ${d.b}`];
  if (d.overrides.a.join(' ') !== d.overrides.b.join(' '))
    L.push(`--set: [${d.overrides.a.join(' ')}] → [${d.overrides.b.join(' ')}]`);
  L.push('', 'params:');
  if (d.params.length === 0) L.push('  (no param differs)');
  for (const p of d.params) L.push(`  ${p.instance}  ${p.path}: ${p.a ?? '(absent)'} → ${p.b ?? '(absent)'}`);
  L.push('', 'metrics (A → B, change):');
  if (d.metrics.length === 0) L.push('  (no metric changed)');
  for (const m of d.metrics)
    L.push(
      `  ${m.instance}  ${m.metric}: ${fmt(m.a)} → ${fmt(m.b)}  (${m.change === null ? '—' : (m.change >= 0 ? '+' : '') + fmt(m.change)})`,
    );
  if (d.unchangedMetrics > 0) L.push(`  (${d.unchangedMetrics} unchanged metrics not shown; --all shows them)`);
  L.push('', 'spectra (Wasserstein-1 between densities; top eigenvalue A → B):');
  if (d.spectra.length === 0) L.push('  (no spectrum of a changed instance)');
  for (const s of d.spectra)
    L.push(
      `  ${s.instance}  ${s.file}: W1 = ${numberText(s.w1, (x) => x.toPrecision(4))}; top ${fmt(s.topA)} → ${fmt(s.topB)} (${s.topChange >= 0 ? '+' : ''}${fmt(s.topChange)})`,
    );
  L.push(
    '',
    `artifacts: ${d.artifacts.changed.length} changed, ${d.artifacts.unchanged} unchanged, ${d.artifacts.added.length} added, ${d.artifacts.removed.length} removed`,
  );
  for (const n of d.artifacts.changed) L.push(`  changed  ${n}`);
  for (const n of d.artifacts.added) L.push(`  added    ${n}`);
  for (const n of d.artifacts.removed) L.push(`  removed  ${n}`);
  for (const n of d.notes) L.push(`note: ${n}`);
  return L.join('\n');
}

const DIFF_USAGE =
  'usage: specpipe diff [RUN_A] [RUN_B] [--all] [--store PATH] [--runs PATH] [--json]  (RUN: id, unique prefix, last, last~1)';

/**
 * `specpipe diff [RUN_A] [RUN_B] [--all] [--json]`. No RUN: the last two runs of the latest run's
 * pipeline; one RUN: that run against the run of its pipeline before it.
 */
export async function diffCommand(argv: string[]): Promise<number> {
  const { values, positionals } = parseArgs({
    args: argv,
    allowPositionals: true,
    options: { store: { type: 'string' }, runs: { type: 'string' }, json: { type: 'boolean' }, all: { type: 'boolean' } },
  });
  if (positionals.length > 2)
    throw new SpecpipeError('bad-args', `diff takes at most two runs, received ${positionals.length}\n${DIFF_USAGE}`, 2);
  const runsDir = values.runs ?? defaultRunsDir(values.store ?? 'artifacts');
  let ra: RunRecord;
  let rb: RunRecord;
  if (positionals.length === 2) {
    ra = readRunRecord(runsDir, resolveRunId(runsDir, positionals[0]!));
    rb = readRunRecord(runsDir, resolveRunId(runsDir, positionals[1]!));
  } else {
    rb = readRunRecord(runsDir, resolveRunId(runsDir, positionals[0] ?? 'last'));
    const before = previousRunOfPipeline(runsDir, rb);
    if (before === undefined)
      throw new SpecpipeError(
        'no-earlier-run',
        `diff: run ${rb.run} is the only recorded run of pipeline "${rb.pipeline.name}" in ${runsDir}; name two runs: specpipe diff RUN_A RUN_B`,
        2,
      );
    ra = before;
  }
  const d = diffRuns(ra, rb, new ArtifactStore(values.store ?? ra.store), new ArtifactStore(values.store ?? rb.store), {
    all: values.all === true,
  });
  process.stdout.write((values.json === true ? JSON.stringify(d, null, 2) : formatRunDiff(d)) + '\n');
  return 0;
}

/** The newest run of `r`'s pipeline recorded before `r`. */
function previousRunOfPipeline(runsDir: string, r: RunRecord): RunRecord | undefined {
  const ids = listRunIds(runsDir).filter((id) => id < r.run);
  for (const id of ids.reverse()) {
    const candidate = readRunRecord(runsDir, id);
    if (candidate.pipeline.name === r.pipeline.name) return candidate;
  }
  return undefined;
}
