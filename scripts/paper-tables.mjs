// Tables for docs/results.md from one run's artifacts: every number read from the store, grouped over
// the `seed` coordinate (mean ± sd, n) — outlier counts by the project's rule (src/linalg/outlierCount.ts)
// with their evidence, λ_1, the bulk edge (deflated λ_max), Hutch++ traces, A1's rank structure, accuracies.
//   node scripts/paper-tables.mjs RUN_ID [--store artifacts] [--runs DIR]
// Build first (npm run build). Prints Markdown on stdout.
// Quoting it in docs/results.md: put the printed lines between two markers, each on a line of its own,
//   <!-- paper-tables RUN_ID -->
//   …lines printed by `node scripts/paper-tables.mjs RUN_ID`, verbatim…
//   <!-- /paper-tables -->
// A block may quote a subset (e.g. a table's header and a few of its rows) but every non-blank line in it
// must be a line of the output, in the output's order. test/docs/resultsRuns.test.ts re-runs this script for
// each block whose run record it finds (SPECPIPE_RESULTS_STORE / SPECPIPE_RESULTS_RUNS, README) and compares.
import { readFileSync, readdirSync, existsSync } from 'node:fs';
import { join, dirname } from 'node:path';
import { parseArgs } from 'node:util';
import { readArrowFile } from '../dist/src/store/arrowFile.js';
import { countOutliers } from '../dist/src/linalg/outlierCount.js';
import { meanSd } from '../dist/src/report/seedGroups.js';

const { values, positionals } = parseArgs({
  allowPositionals: true,
  options: { store: { type: 'string', default: 'artifacts' }, runs: { type: 'string' } },
});
const store = values.store;
const runsDir = values.runs ?? join(dirname(store), 'runs');
const runId = positionals[0];
if (runId === undefined) throw new Error('usage: node scripts/paper-tables.mjs RUN_ID [--store DIR] [--runs DIR]');
const record = JSON.parse(readFileSync(join(runsDir, `${runId}.json`), 'utf8'));

const dirs = new Map(readdirSync(store).map((d) => [d.slice(0, 64), join(store, d)]));
const manifestOf = (key) => JSON.parse(readFileSync(join(dirs.get(key), 'manifest.json'), 'utf8'));
const stages = (record.stages ?? record.instances ?? []).filter((s) => s.key !== undefined);
const manifests = stages.map((s) => manifestOf(s.key));
const byKey = new Map(manifests.map((m) => [m.key, m]));

/** The data instance's class count above a manifest (walks upstream). */
function classesOf(m) {
  if (m.metrics?.classes !== undefined && m.kind.startsWith('data/')) return Number(m.metrics.classes);
  for (const u of Object.values(m.upstream ?? {}).flat()) {
    const um = byKey.get(typeof u === 'string' ? u : u.key) ?? (dirs.has(u) ? manifestOf(u) : undefined);
    if (um !== undefined) {
      const c = classesOf(um);
      if (c !== undefined) return c;
    }
  }
  return undefined;
}
const trainKeyOf = (m) => {
  for (const u of Object.values(m.upstream ?? {}).flat()) {
    const k = typeof u === 'string' ? u : u.key;
    const um = byKey.get(k) ?? manifestOf(k);
    if (um.kind === 'train/sgd') return k;
  }
  return undefined;
};
const groupName = (m) => {
  const c = Object.entries(m.coords ?? {}).filter(([k]) => k !== 'seed' && k !== 'epochs' && k !== 'checkpoints');
  return `${m.stage}[${c.map(([k, v]) => `${k}=${typeof v === 'object' ? JSON.stringify(v) : v}`).join(',')}]`;
};
const fmt = (x) => (Math.abs(x) >= 100 || Math.abs(x) < 1e-3 ? x.toExponential(2) : x.toPrecision(3));
/** mean ± sd across seeds (the report's meanSd: sample sd, n − 1); the value alone for one seed. */
function stat(xs) {
  const { mean, sd } = meanSd(xs);
  return xs.length > 1 ? `${fmt(mean)} ± ${fmt(sd)}` : fmt(mean);
}
const group = (rows) => {
  const g = new Map();
  for (const r of rows) g.set(r.group, [...(g.get(r.group) ?? []), r]);
  return g;
};

// Bulk edges: deflated spectra, by (train key, operator, split, checkpoint).
const edgeKey = (m) => `${trainKeyOf(m)}|${m.params.operator}|${m.params.split}|${m.params.checkpoint}`;
const deflatedBulks = new Map(); // edgeKey → the deflated instance's manifest
for (const m of manifests) if (m.kind === 'spectrum/slq' && (m.params.deflate ?? 0) > 0) deflatedBulks.set(edgeKey(m), m);
const edgeOf = (key) => {
  const bulk = deflatedBulks.get(key);
  return bulk === undefined ? undefined : Number(bulk.metrics.top_eigenvalue);
};

const spectra = [];
const topByKey = new Map(); // manifest key → its top-k eigenvalues (outliers.arrow), read once
for (const m of manifests) {
  if (m.kind !== 'spectrum/slq' || (m.params.top_k ?? 0) === 0) continue;
  const dir = dirs.get(m.key);
  if (!existsSync(join(dir, 'outliers.arrow'))) continue;
  const o = readArrowFile(join(dir, 'outliers.arrow'));
  const top = Array.from(o.columns.value);
  topByKey.set(m.key, top);
  const C = classesOf(m);
  // A bulk-only instance deflated every pair it found; one with more pairs than it deflated (top 20, deflate 10)
  // gives the full operator's top pairs and its own bulk edge (the deflated SLQ's top node).
  const bulkOnly = (m.params.deflate ?? 0) >= top.length;
  const bulkEdge = bulkOnly ? undefined : edgeOf(edgeKey(m));
  const rule =
    bulkOnly || !['hessian', 'ggn', 'residual'].includes(m.params.operator)
      ? undefined
      : countOutliers(top, { ...(C !== undefined && { classes: C }), ...(bulkEdge !== undefined && { bulkEdge }) });
  spectra.push({
    group: groupName(m),
    seed: m.seed,
    C,
    lambda1: bulkOnly ? Number(m.metrics.top_eigenvalue) : top[0],
    rule,
    bulkEdge,
    trace: m.metrics.trace_hutchpp !== undefined ? Number(m.metrics.trace_hutchpp) : undefined,
    maxResidual: Math.max(...Array.from(o.columns.residual)),
  });
}

console.log(`## Run ${runId} (pipeline ${record.pipeline?.name ?? record.pipeline ?? '?'})\n`);
console.log(
  '| instance | C | n seeds | λ₁ | outliers by the rule (per seed) | gap ratio λ_k*/λ_k*+1 | bulk ratio | bulk edge | tr (Hutch++) | max residual |',
);
console.log('|---|---|---|---|---|---|---|---|---|---|');
for (const [g, rows] of group(spectra)) {
  const r0 = rows[0];
  const counts = rows.map((r) => (r.rule === undefined ? '—' : r.rule.count === 0 ? 'none' : String(r.rule.count)));
  const gaps = rows.filter((r) => r.rule !== undefined);
  console.log(
    `| ${g} | ${r0.C ?? ''} | ${rows.length} | ${stat(rows.map((r) => r.lambda1))} | ${counts.join(', ')} | ${gaps.length ? stat(gaps.map((r) => r.rule.gapRatio)) : '—'} | ${gaps.length ? stat(gaps.map((r) => r.rule.bulkRatio)) : '—'} | ${rows.every((r) => r.bulkEdge !== undefined) ? stat(rows.map((r) => r.bulkEdge)) : '—'} | ${rows.every((r) => r.trace !== undefined) ? stat(rows.map((r) => r.trace)) : '—'} | ${fmt(Math.max(...rows.map((r) => r.maxResidual)))} |`,
  );
}

const decomps = [];
for (const m of manifests) {
  if (m.kind !== 'decompose/class-gradients') continue;
  const d = JSON.parse(readFileSync(join(dirs.get(m.key), 'decomposition.json'), 'utf8'));
  const C = d.classes.length;
  const a1 = [...d.pieces.a1.eigenvalues].sort((a, b) => b - a);
  decomps.push({
    group: groupName(m),
    seed: m.seed,
    C,
    rankRatio: C >= 2 && a1[C - 2] > 0 ? (a1[C - 1] ?? 0) / a1[C - 2] : NaN,
    a1Top: a1[0],
    trA1: d.pieces.a1.trace,
    trB1: d.pieces.b1.trace,
    trB2: d.traceB2?.value ?? d.traceB2?.estimate,
    lminB2: d.bottomB2?.value ?? d.bottomB2?.eigenvalue,
  });
}
if (decomps.length > 0) {
  console.log('\n| instance | C | n seeds | λ_C(A1)/λ_{C−1}(A1) | λ₁(A1) | tr A1 | tr B1 | tr B2 |');
  console.log('|---|---|---|---|---|---|---|---|');
  for (const [g, rows] of group(decomps))
    console.log(
      `| ${g} | ${rows[0].C} | ${rows.length} | ${stat(rows.map((r) => r.rankRatio))} | ${stat(rows.map((r) => r.a1Top))} | ${stat(rows.map((r) => r.trA1))} | ${stat(rows.map((r) => r.trB1))} | ${rows.every((r) => Number.isFinite(r.trB2)) ? stat(rows.map((r) => r.trB2)) : '—'} |`,
    );
}

const trains = manifests.filter((m) => m.kind === 'train/sgd').map((m) => ({ group: groupName(m), seed: m.seed, ...m.metrics }));
if (trains.length > 0) {
  console.log('\n| instance | n seeds | train accuracy | test accuracy | train loss |');
  console.log('|---|---|---|---|---|');
  for (const [g, rows] of group(trains))
    console.log(
      `| ${g} | ${rows.length} | ${stat(rows.map((r) => Number(r.train_acc)))} | ${stat(rows.map((r) => Number(r.test_acc)))} | ${stat(rows.map((r) => Number(r.train_loss)))} |`,
    );
}

// Dynamics (claims (e) and (f)), when spectra come at several checkpoints of one training run: per seed
// λ₁(H)/λ_{C+1}(G) (H's top against G's bulk edge, G's first eigenvalue past its C outliers) and
// λ₁(B1)/λ₁(B2) (B1 exact from the decomposition, B2's top Ritz value), then mean ± sd over seeds.
const dynamicsKey = (m) => {
  const c = Object.entries(m.coords ?? {}).filter(
    ([k]) => !['seed', 'epochs', 'checkpoints', 'operator', 'checkpoint'].includes(k),
  );
  return `${c.map(([k, v]) => `${k}=${typeof v === 'object' ? JSON.stringify(v) : v}`).join(',')}|${m.params.split ?? 'train'}`;
};
const cells = new Map(); // dynamicsKey → checkpoint → seed → { h, g, b1, b2 }
const cell = (m, checkpoint) => {
  const k = dynamicsKey(m);
  if (!cells.has(k)) cells.set(k, new Map());
  const byCheckpoint = cells.get(k);
  if (!byCheckpoint.has(checkpoint)) byCheckpoint.set(checkpoint, new Map());
  const bySeed = byCheckpoint.get(checkpoint);
  if (!bySeed.has(m.seed ?? 0)) bySeed.set(m.seed ?? 0, {});
  return bySeed.get(m.seed ?? 0);
};
for (const m of manifests) {
  const checkpoint = m.coords?.checkpoint ?? m.params.checkpoint; // a piece's checkpoint is its decomposition's coordinate
  if (checkpoint === undefined || checkpoint === 'final') continue;
  const top = topByKey.get(m.key);
  if (m.kind === 'spectrum/slq' && (m.params.deflate ?? 0) === 0 && top !== undefined) {
    const C = classesOf(m);
    if (m.params.operator === 'residual') cell(m, checkpoint).h = top[0];
    if (m.params.operator === 'ggn' && C !== undefined && top.length > C) cell(m, checkpoint).g = top[C];
    if (m.params.operator === 'b2') cell(m, checkpoint).b2 = top[0];
  }
  if (m.kind === 'decompose/class-gradients') {
    const d = JSON.parse(readFileSync(join(dirs.get(m.key), 'decomposition.json'), 'utf8'));
    cell(m, checkpoint).b1 = Math.max(...d.pieces.b1.eigenvalues);
  }
}
for (const [k, byCheckpoint] of cells) {
  const rows = [...byCheckpoint.entries()].sort((a, b) => Number(a[0]) - Number(b[0]));
  if (rows.length < 2) continue;
  const ratio = (bySeed, a, b) =>
    [...bySeed.values()].filter((c) => c[a] !== undefined && c[b] !== undefined).map((c) => c[a] / c[b]);
  const show = (xs) => (xs.length === 0 ? '—' : xs.length > 1 ? `${stat(xs)} (${xs.map(fmt).join(', ')})` : fmt(xs[0]));
  console.log(`\n### Dynamics ${k} (per seed in brackets)\n`);
  console.log('| checkpoint | λ₁(H)/λ_{C+1}(G) | λ₁(B1)/λ₁(B2) |');
  console.log('|---|---|---|');
  for (const [checkpoint, bySeed] of rows)
    console.log(`| ${checkpoint} | ${show(ratio(bySeed, 'h', 'g'))} | ${show(ratio(bySeed, 'b1', 'b2'))} |`);
}

// Sample size: per training instance, the bulk edge of Hess on its training samples over λ₁ (Hess deflated by its
// top C, the SLQ measure's top node, against the top eigenvalue) and H's share of the bulk's energy
// Σλ²(H) / Σλ²(Hess deflated) (both SLQ second moments, P·∫λ²dμ); mean ± sd over seeds, per seed in brackets.
// A Hess instance with more pairs than it deflated (top 20, deflate 10) is its own bulk: λ₁ from its pairs.
const bulkRows = [];
for (const m of manifests) {
  if (m.kind !== 'spectrum/slq' || m.params.split !== 'train') continue;
  const top = topByKey.get(m.key);
  if ((m.params.deflate ?? 0) > 0 && (top === undefined || m.params.deflate >= top.length)) continue; // bulk-only
  const bulk = deflatedBulks.get(`${trainKeyOf(m)}|hessian|train|${m.params.checkpoint}`);
  if (bulk === undefined) continue;
  const row = { group: groupName(manifestOf(trainKeyOf(m))), seed: m.seed ?? 0 };
  if (m.params.operator === 'hessian' && top !== undefined) row.edge = Number(bulk.metrics.top_eigenvalue) / top[0];
  if (m.params.operator === 'residual') row.share = Number(m.metrics.second_moment) / Number(bulk.metrics.second_moment);
  bulkRows.push(row);
}
if (bulkRows.length > 0) {
  const show = (xs) => (xs.length === 0 ? '—' : xs.length > 1 ? `${stat(xs)} (${xs.map(fmt).join(', ')})` : fmt(xs[0]));
  console.log('\n| training instance | bulk edge / λ₁ (Hess, train) | Σλ²(H) / Σλ²(Hess deflated) (train) |');
  console.log('|---|---|---|');
  for (const [g, rows] of group(bulkRows)) {
    const bySeed = (k) =>
      rows
        .filter((r) => r[k] !== undefined)
        .sort((a, b) => a.seed - b.seed)
        .map((r) => r[k]);
    console.log(`| ${g} | ${show(bySeed('edge'))} | ${show(bySeed('share'))} |`);
  }
}
