import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Manifest } from '../store/manifest.js';
import type { RunRecord } from '../store/runRecord.js';
import { readArrowFile } from '../store/arrowFile.js';
import { linearGrid, papyanSigma, smoothedDensity, widenBounds } from '../linalg/slq.js';
import { logSpectrumDensity } from '../linalg/logSpectrum.js';
import type { ReportData, SpectrumSeries, Split } from './reportData.js';
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
    logSpectrum: {
      grid: Array.from(log.positive.x),
      density: Array.from(log.positive.y),
      negativeGrid: Array.from(log.negative.x),
      negativeDensity: Array.from(log.negative.y),
    },
  };
}

/**
 * Fragments of the given artifacts: their report-fragment.json, else their 'spectrum' Arrow files;
 * each item tagged with the instance's seed when it has a `seed` coordinate (src/report/seedGroups.ts).
 */
export function fragmentsOf(views: readonly ArtifactView[]): ReportFragment[] {
  const out: ReportFragment[] = [];
  for (const v of views) {
    const fragPath = join(v.dir, REPORT_FRAGMENT_FILE);
    if (existsSync(fragPath)) {
      out.push(withSeed(readReportFragment(fragPath), instanceSeed(v)));
      continue;
    }
    const spectra: SpectrumSeries[] = [];
    for (const f of v.manifest?.files ?? []) {
      if (f.role !== 'spectrum' || !f.path.endsWith('.arrow')) continue;
      const s = spectrumFromMeasure(join(v.dir, f.path), v);
      if (s !== undefined) spectra.push(s);
    }
    if (spectra.length > 0) out.push(withSeed({ spectra }, instanceSeed(v)));
  }
  return out;
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
