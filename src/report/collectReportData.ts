import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Manifest } from '../store/manifest.js';
import type { RunRecord } from '../store/runRecord.js';
import { readArrowFile } from '../store/arrowFile.js';
import { linearGrid, papyanSigma, smoothedDensity, widenBounds } from '../linalg/slq.js';
import { logSpectrumDensity } from '../linalg/logSpectrum.js';
import type { HierarchyScoreRow, ReportData, SpectrumSeries, Split } from './reportData.js';
import { axesOf } from './variants.js';
import { gradientPoints } from '../embed/gradientPoints.js';
import { gradientHierarchyScore } from '../embed/hierarchyScore.js';
import { readClassGradients } from '../decompose/classGradientsArrow.js';
import {
  REPORT_FRAGMENT_FILE,
  mergeFragments,
  readReportFragment,
  tagsFromCoords,
  type ReportFragment,
} from './reportFragment.js';
import { seedCoordinate, withSeed } from './seedGroups.js';

/** A finished stage instance as the report sees it (from a run record or a `gather:`). */
export interface ArtifactView {
  readonly name: string;
  readonly kind: string;
  readonly dir: string;
  readonly coords: Readonly<Record<string, unknown>>;
  readonly params: Readonly<Record<string, unknown>>;
  readonly manifest?: Manifest;
}

/**
 * A SpectrumSeries from a 'spectrum' Arrow file (Float64 columns `nodes`, `weights`: the SLQ
 * measure), for stages that wrote no report fragment: Gaussian-smoothed with Papyan's width
 * (`steps` from the file's metadata, default 128) on 512 points over the widened range, plus its
 * log-spectrum. operator/split from the file's metadata or the instance's coords/params;
 * outliers from metadata `outliers` (JSON array) when present.
 */
export function spectrumFromMeasure(path: string, view: ArtifactView): SpectrumSeries | undefined {
  const { columns, metadata } = readArrowFile(path);
  const nodes = columns['nodes'];
  const weights = columns['weights'];
  if (!(nodes instanceof Float64Array) || !(weights instanceof Float64Array) || nodes.length === 0) return undefined;
  const operator = metadata['operator'] ?? String(view.coords['operator'] ?? view.params['operator'] ?? 'hessian');
  const splitRaw = metadata['split'] ?? String(view.coords['split'] ?? view.params['split'] ?? 'train');
  const split: Split = splitRaw === 'test' ? 'test' : 'train';
  let lo = Infinity;
  let hi = -Infinity;
  for (const x of nodes) {
    lo = Math.min(lo, x);
    hi = Math.max(hi, x);
  }
  const steps = Number(metadata['steps'] ?? view.params['lanczos_steps'] ?? 128);
  const bounds = widenBounds(lo, hi);
  const sigma = papyanSigma(Number.isFinite(steps) ? steps : 128, bounds);
  const grid = linearGrid(bounds.lower, bounds.upper, 512);
  const density = smoothedDensity({ nodes, weights }, grid, sigma);
  const log = logSpectrumDensity({ nodes, weights }, { steps: Number.isFinite(steps) ? steps : 128, gridSize: 256 });
  let outliers: number[] | undefined;
  try {
    const o = metadata['outliers'] !== undefined ? (JSON.parse(metadata['outliers']) as unknown) : undefined;
    if (Array.isArray(o) && o.every((x) => typeof x === 'number')) outliers = o;
  } catch {
    outliers = undefined;
  }
  const trace = metadata['trace'] !== undefined ? Number(metadata['trace']) : undefined;
  return {
    ...tagsFromCoords(view.coords, view.params),
    operator,
    split,
    grid: Array.from(grid),
    density: Array.from(density),
    ...(outliers !== undefined && { outliers }),
    ...(trace !== undefined && Number.isFinite(trace) && { trace }),
    measure: { nodes: Array.from(nodes), weights: Array.from(weights) },
    sigma,
    ...(Number.isFinite(steps) && { steps }),
    ...(Number(metadata['parameters']) > 0 && { parameters: Number(metadata['parameters']) }),
    logSpectrum: {
      grid: Array.from(log.positive.x),
      density: Array.from(log.positive.y),
      negativeGrid: Array.from(log.negative.x),
      negativeDensity: Array.from(log.negative.y),
    },
  };
}

/** Files a spectrum/slq and a decompose/class-gradients artifact hold (their contracts in src/stages/). */
const MEASURE_FILE = 'spectrum.arrow';
const DENSITY_FILE = 'density.arrow';
const CLASS_GRADIENTS_FILE = 'class-gradients.arrow';

/**
 * A spectrum series completed from its artifact: the SLQ measure and P (spectrum.arrow), the kernel
 * width and the start-vector band (density.arrow), so that the report can re-smooth overlays at one
 * width, draw the band, and set the resolution floor.
 */
function withMeasure(s: SpectrumSeries, dir: string): SpectrumSeries {
  const mPath = join(dir, MEASURE_FILE);
  if (!existsSync(mPath)) return s;
  const m = readArrowFile(mPath);
  const nodes = m.columns['nodes'];
  const weights = m.columns['weights'];
  if (!(nodes instanceof Float64Array) || !(weights instanceof Float64Array)) return s;
  const P = Number(m.metadata['parameters']);
  const steps = Number(m.metadata['steps']);
  let sigma: number | undefined;
  let band: SpectrumSeries['band'];
  const dPath = join(dir, DENSITY_FILE);
  if (existsSync(dPath)) {
    const d = readArrowFile(dPath);
    const sg = Number(d.metadata['sigma']);
    if (sg > 0) sigma = sg;
    const lo = d.columns['lo'];
    const hi = d.columns['hi'];
    if (lo !== undefined && hi !== undefined && (lo as ArrayLike<number>).length === s.grid.length)
      band = {
        lo: Array.from(lo as ArrayLike<number>),
        hi: Array.from(hi as ArrayLike<number>),
        ...(d.metadata['band'] !== undefined && { rule: d.metadata['band'] }),
      };
  }
  return {
    ...s,
    measure: { nodes: Array.from(nodes), weights: Array.from(weights) },
    ...(Number.isFinite(P) && P > 0 && { parameters: P }),
    ...(Number.isFinite(steps) && steps > 0 && { steps }),
    ...(sigma !== undefined && { sigma }),
    ...(band !== undefined && { band }),
  };
}

/** The hierarchy score in the original gradient space of a decomposition artifact (its class gradients). */
function gradientHierarchy(dir: string, f: ReportFragment): HierarchyScoreRow | undefined {
  const path = join(dir, CLASS_GRADIENTS_FILE);
  const e = f.exactEigenvalues?.[0];
  if (!existsSync(path) || e === undefined) return undefined;
  const s = gradientHierarchyScore(gradientPoints(readClassGradients(path)));
  const { piece: _piece, values: _values, ...tags } = e;
  return { ...tags, space: 'gradients', hits: s.hits, total: s.total, chance: s.chance };
}

/** The lists of a fragment whose items carry series tags (dataset, model, operator, axes, …). */
const TAGGED_LISTS = ['spectra', 'exactEigenvalues', 'embeddings', 'training', 'scalars', 'hierarchy'] as const;

/** The fragment with `retag` applied to every item of its tagged lists. */
function retagItems(f: ReportFragment, retag: (x: Readonly<Record<string, unknown>>) => object): ReportFragment {
  const out: Record<string, unknown> = { ...f };
  for (const k of TAGGED_LISTS)
    if (f[k] !== undefined) out[k] = (f[k] as readonly object[] as readonly Record<string, unknown>[]).map(retag);
  return out as ReportFragment;
}

/**
 * Adds the instance's matrix coordinates (`axes`) to every item of a fragment that has none, and to its
 * numbers' names the coordinates a name does not already say (a stage writes "[dataset, model, epoch,
 * n/class, split]" and knows nothing of, say, the data stage's `classes` axis): without them rows of
 * different cells would share a name and be averaged as if they were seeds.
 */
function withAxes(f: ReportFragment, coords: Readonly<Record<string, unknown>>): ReportFragment {
  const axes = axesOf(coords);
  if (axes === undefined) return f;
  const out = retagItems(f, (x) => (x['axes'] !== undefined ? x : { ...x, axes }));
  return f.numbers === undefined
    ? out
    : { ...out, numbers: f.numbers.map((n) => ({ ...n, name: withAxesInName(n.name, axes) })) };
}

/** "λ₁ [mnist, mlp, train]" with axes {classes: 2} → "λ₁ [mnist, mlp, train, classes=2]"; "30/class" already says train_per_class=30. */
export function withAxesInName(name: string, axes: Readonly<Record<string, string | number | boolean>>): string {
  const said = (k: string, v: string | number | boolean): boolean =>
    k.endsWith('per_class') && name.includes(`${String(v)}/class`);
  const extra = Object.keys(axes)
    .sort()
    .filter((k) => !said(k, axes[k]!))
    .map((k) => `${k}=${String(axes[k])}`);
  if (extra.length === 0) return name;
  return name.endsWith(']') ? `${name.slice(0, -1)}, ${extra.join(', ')}]` : `${name} [${extra.join(', ')}]`;
}

/**
 * Fragments of the given artifacts: their report-fragment.json, else their 'spectrum' Arrow files;
 * spectra completed from their artifact (withMeasure), decompositions scored (gradientHierarchy),
 * every item tagged with its instance's matrix coordinates (`axes`, never its seed) and, when it has a
 * `seed` coordinate, with that seed (src/report/seedGroups.ts averages items that differ only by it).
 */
export function fragmentsOf(views: readonly ArtifactView[]): ReportFragment[] {
  const out: ReportFragment[] = [];
  const nets = netsOf(views);
  for (const v of views) {
    const fragPath = join(v.dir, REPORT_FRAGMENT_FILE);
    if (existsSync(fragPath)) {
      let f = readReportFragment(fragPath);
      if (f.spectra?.length === 1) f = { ...f, spectra: [withMeasure(f.spectra[0]!, v.dir)] };
      const h = gradientHierarchy(v.dir, f);
      if (h !== undefined) f = { ...f, hierarchy: [...(f.hierarchy ?? []), h] };
      out.push(withNet(withSeed(withAxes(f, v.coords), instanceSeed(v)), nets.get(v)));
      continue;
    }
    const spectra: SpectrumSeries[] = [];
    for (const f of v.manifest?.files ?? []) {
      if (f.role !== 'spectrum' || !f.path.endsWith('.arrow')) continue;
      const s = spectrumFromMeasure(join(v.dir, f.path), v);
      if (s !== undefined) spectra.push(s);
    }
    if (spectra.length > 0) out.push(withNet(withSeed(withAxes({ spectra }, v.coords), instanceSeed(v)), nets.get(v)));
  }
  return out;
}

/**
 * The training stage each view descends from (through `needs`), when the views come from more than one
 * `train/sgd` stage (e.g. the default pipeline's paper net `train` and its validated small net
 * `small_train`): their items must not mix in one figure or one mean. Undefined entries: one net only.
 */
function netsOf(views: readonly ArtifactView[]): Map<ArtifactView, string> {
  const byKey = new Map(views.flatMap((v) => (v.manifest !== undefined ? [[v.manifest.key, v] as const] : [])));
  const stageOf = (v: ArtifactView): string => v.manifest?.stage ?? v.name.replace(/\[.*$/, '');
  const trainOf = (v: ArtifactView, depth = 0): string | undefined => {
    if (v.kind === 'train/sgd') return stageOf(v);
    if (depth > 64) return undefined;
    for (const up of Object.values(v.manifest?.upstream ?? {})) {
      const u = typeof up === 'string' ? byKey.get(up) : undefined; // gathers span several nets
      const t = u !== undefined ? trainOf(u, depth + 1) : undefined;
      if (t !== undefined) return t;
    }
    return undefined;
  };
  const out = new Map<ArtifactView, string>();
  for (const v of views) {
    const t = trainOf(v);
    if (t !== undefined) out.set(v, t);
  }
  return new Set(out.values()).size > 1 ? out : new Map();
}

/** A fragment of one of several nets: its items' model named with the training stage, numbers prefixed by it. */
function withNet(f: ReportFragment, net: string | undefined): ReportFragment {
  if (net === undefined) return f;
  const out = retagItems(f, (x) => ({ ...x, model: `${(x['model'] as string | undefined) ?? 'model'} (stage ${net})` }));
  return f.numbers === undefined ? out : { ...out, numbers: f.numbers.map((n) => ({ ...n, name: `${net}: ${n.name}` })) };
}

function instanceSeed(v: ArtifactView): number | undefined {
  return seedCoordinate(v.coords, v.manifest?.seed);
}

/** ReportData of a whole run: every executed or cached instance's fragments, with the run's header. */
export function reportDataFromRun(record: RunRecord): ReportData {
  const views: ArtifactView[] = [];
  for (const s of record.stages) {
    if (s.status === 'failed') continue;
    const manifestPath = join(s.artifacts, 'manifest.json');
    let manifest: Manifest | undefined;
    if (existsSync(manifestPath)) manifest = JSON.parse(readFileSync(manifestPath, 'utf8')) as Manifest;
    views.push({
      name: s.name,
      kind: s.kind,
      dir: s.artifacts,
      coords: s.coords,
      params: s.params,
      ...(manifest !== undefined && { manifest }),
    });
  }
  const overrides = record.pipeline.overrides.map((o) => ` --set ${o}`).join('');
  const base: ReportData = {
    title: `specpipe report — ${record.pipeline.name}`,
    runId: record.run,
    pipeline: record.pipeline.file,
    createdAt: record.started,
    reproduce: [`npx specpipe run ${record.pipeline.file}${overrides}`, `npx specpipe report ${record.run}`],
  };
  return mergeFragments(base, fragmentsOf(views));
}

/**
 * ReportData comparing runs (`specpipe report RUN_A RUN_B`): each run's data, every series tagged
 * with its run id (legends and columns name the runs), numbers prefixed with it.
 */
export function reportDataFromRuns(records: readonly RunRecord[]): ReportData {
  if (records.length === 1) return reportDataFromRun(records[0]!);
  const parts = records.map((r) => ({ run: r.run, data: reportDataFromRun(r) }));
  const tag = <T extends object>(run: string, xs: readonly T[] | undefined): T[] => (xs ?? []).map((x) => ({ ...x, run }));
  const merged: Record<string, unknown> = {
    title: `specpipe report — ${[...new Set(records.map((r) => r.pipeline.name))].join(', ')}: ${records.map((r) => r.run).join(' vs ')}`,
    runId: records.map((r) => r.run).join(' vs '),
    pipeline: [...new Set(records.map((r) => r.pipeline.file))].join(', '),
    reproduce: [
      ...parts.flatMap((p) => (p.data.reproduce ?? []).slice(0, 1)),
      `npx specpipe report ${records.map((r) => r.run).join(' ')}`,
    ],
  };
  for (const k of TAGGED_LISTS) {
    const all = parts.flatMap((p) => tag(p.run, p.data[k] as readonly object[] | undefined));
    if (all.length > 0) merged[k] = all;
  }
  const numbers = parts.flatMap((p) => (p.data.numbers ?? []).map((n) => ({ ...n, name: `${p.run}: ${n.name}` })));
  if (numbers.length > 0) merged['numbers'] = numbers;
  return merged as unknown as ReportData;
}
