import { canonicalJson } from '../util/canonicalJson.js';
import type {
  EmbeddingData,
  ExactEigenvalues,
  HierarchyScoreRow,
  NumberRow,
  ReportData,
  ScalarPoint,
  SeedSpread,
  SpectrumSeries,
  TrainingPoint,
} from './reportData.js';
import type { ReportFragment } from './reportFragment.js';
import { smoothedDensity } from '../linalg/slq.js';
import { ownSigma } from './sharedKernel.js';

/**
 * Seeds in the report (architecture.md, "Seeds"): items of ReportData that differ only by their
 * `seed` tag are replaced by one item, their mean across seeds with the spread:
 * - numbers: mean ± sd (sample sd, n − 1) with n, for numeric values; values that are not numbers
 *   (lists, "no clear outliers") are listed per seed;
 * - scalars and training points: mean with sd and n (drawn as error bars / a ±1 sd band);
 * - densities: the pointwise mean on a common grid (the union of the seeds' ranges) with the
 *   pointwise min–max across seeds as the band. When every seed carries its SLQ measure, each seed's
 *   measure is smoothed at ONE kernel width, σ = the widest of the seeds' own (as sharedKernel.ts does
 *   for an overlay), so the mean and the band compare like with like; the mean keeps the seeds'
 *   measures pooled (weights / n: smoothing is linear, so re-smoothing the pooled measure at any
 *   width is the mean of the seeds re-smoothed at it) and each seed's measure (seedBand.measures), so
 *   a panel that re-smooths at a wider shared width forms its band at that width (densityPanel.ts).
 *   Without measures each density is linearly interpolated (0 outside its own grid). The start-vector
 *   band of one run (`band`) is dropped: the mean's spread is the band across seeds. Outliers (rank
 *   by rank) and traces are means, with the sd of λ_max and of the trace;
 * - hierarchy scores: each seed scored on its own (embeddings of every seed), then the mean count of
 *   hits and the sd of the fraction hits/total across seeds with n;
 * - exact eigenvalues: rank-by-rank means;
 * - embeddings are not averaged: the lowest seed's is kept, saying of how many.
 * Items without a seed pass unchanged, so an unseeded report is the same as before.
 */

/** Mean and sample standard deviation (0 for one value). */
export function meanSd(xs: readonly number[]): { mean: number; sd: number } {
  const n = xs.length;
  let mean = 0;
  for (const x of xs) mean += x;
  mean /= n;
  let ss = 0;
  for (const x of xs) ss += (x - mean) ** 2;
  return { mean, sd: n > 1 ? Math.sqrt(ss / (n - 1)) : 0 };
}

/** `xs` grouped by identity (first appearance order); items without a seed each form their own group. */
function groups<T extends { readonly seed?: number }>(xs: readonly T[], identity: (x: T) => unknown): T[][] {
  const out: T[][] = [];
  const at = new Map<string, T[]>();
  for (const x of xs) {
    if (x.seed === undefined) {
      out.push([x]);
      continue;
    }
    const id = canonicalJson(identity(x));
    let g = at.get(id);
    if (g === undefined) {
      g = [];
      at.set(id, g);
      out.push(g);
    }
    g.push(x);
  }
  for (const g of out) g.sort((a, b) => (a.seed ?? 0) - (b.seed ?? 0));
  return out;
}

/** Every field but `seed` and the listed value fields. */
function without<T extends object>(x: T, ...fields: string[]): Record<string, unknown> {
  return Object.fromEntries(Object.entries(x).filter(([k]) => k !== 'seed' && !fields.includes(k)));
}

function spreadOf(values: readonly number[]): { mean: number; spread: SeedSpread } {
  const { mean, sd } = meanSd(values);
  return { mean, spread: { n: values.length, sd } };
}

/**
 * A number row's name without what legitimately varies from seed to seed inside it: a product count
 * ("(Lanczos, 39 products)" → "(Lanczos)") and a fitted range ("over 7.8e-5 ≤ |λ| ≤ 0.0010" → "over the
 * resolved bulk"). Rows group by this name; when their names differ, the group is shown under it and each
 * seed's own name (count, range) goes into the row's note; names the seeds share are kept as they are.
 */
export function seedInvariantName(name: string): string {
  return name.replace(/, \d+ products\)/g, ')').replace(/ over [-\d.e+]+ ≤ \|λ\| ≤ [-\d.e+]+/g, ' over the resolved bulk');
}

function numberGroup(g: readonly NumberRow[]): NumberRow {
  const first = g[0]!;
  const varies = new Set(g.map((r) => r.name)).size > 1;
  const base = {
    ...(without(first, 'value', 'note') as Omit<NumberRow, 'value'>),
    name: varies ? seedInvariantName(first.name) : first.name,
  };
  const perSeed = (f: (r: NumberRow) => string): string => g.map((r) => `seed ${r.seed}: ${f(r)}`).join('; ');
  // a name that differed across seeds (its count or range) goes into each seed's note
  const own = (r: NumberRow): string | undefined => (varies ? [r.name, r.note].filter(Boolean).join('; ') : r.note);
  const notes = [...new Set(g.map(own).filter((n): n is string => n !== undefined))];
  const note = notes.length === 0 ? undefined : notes.length === 1 ? notes[0]! : perSeed((r) => own(r) ?? '—');
  if (g.every((r) => typeof r.value === 'number')) {
    const { mean, spread } = spreadOf(g.map((r) => r.value as number));
    return { ...base, value: mean, spread, ...(note !== undefined && { note }) };
  }
  const lists = g.map((r) => numberList(r.value));
  if (lists.every((l) => l !== undefined && l.length === lists[0]!.length)) {
    const k = lists[0]!.length;
    const ranks = Array.from({ length: k }, (_, i) => meanSd(lists.map((l) => l![i]!)));
    return {
      ...base,
      value: `${ranks.map((r) => `${r.mean.toPrecision(4)} ± ${r.sd.toPrecision(2)}`).join(', ')} (n = ${g.length})`,
      note: `rank by rank, mean ± sd across seeds${note !== undefined ? `; ${note}` : ''}`,
    };
  }
  const values = [...new Set(g.map((r) => String(r.value)))];
  return {
    ...base,
    value: values.length === 1 ? values[0]! : perSeed((r) => String(r.value)),
    note: `${g.length} seeds${note !== undefined ? `; ${note}` : ''}`,
  };
}

/** A value written as a comma-separated list of numbers ("6.486, 4.917, 3.381"), else undefined. */
function numberList(v: number | string): number[] | undefined {
  if (typeof v !== 'string' || !v.includes(',')) return undefined;
  const xs = v.split(',').map((x) => (x.trim() === '' ? NaN : Number(x)));
  return xs.every(Number.isFinite) ? xs : undefined;
}

/**
 * Rows for the numbers table from training points averaged over seeds: the last epoch's loss and
 * accuracy per (dataset, model, samples per class, split), mean ± sd (only with seeds: an unseeded
 * report's table is unchanged).
 */
function finalTrainingRows(points: readonly TrainingPoint[]): NumberRow[] {
  const last = new Map<string, TrainingPoint>();
  for (const p of points) {
    if (p.seeds === undefined) continue;
    const id = canonicalJson([p.dataset, p.model, p.samplesPerClass, p.split]);
    const seen = last.get(id);
    if (seen === undefined || p.epoch > seen.epoch) last.set(id, p);
  }
  const rows: NumberRow[] = [];
  for (const p of last.values()) {
    const n = p.seeds ?? 1;
    const where = [
      p.dataset,
      p.model,
      `epoch ${p.epoch}`,
      p.samplesPerClass !== undefined ? `${p.samplesPerClass}/class` : undefined,
      p.split,
    ]
      .filter((x) => x !== undefined)
      .join(', ');
    for (const [what, mean, sd] of [
      ['accuracy', p.accuracy, p.accuracySd],
      ['loss', p.loss, p.lossSd],
    ] as const)
      if (mean !== undefined && sd !== undefined)
        rows.push({ name: `final ${p.split} ${what} [${where}]`, value: mean, spread: { n, sd } });
  }
  return rows;
}

function scalarGroup(g: readonly ScalarPoint[]): ScalarPoint {
  const { mean, spread } = spreadOf(g.map((p) => p.value));
  return { ...(without(g[0]!, 'value') as Omit<ScalarPoint, 'value'>), value: mean, spread };
}

function trainingGroup(g: readonly TrainingPoint[]): TrainingPoint {
  const base = without(g[0]!, 'loss', 'accuracy') as Omit<TrainingPoint, 'loss' | 'accuracy'>;
  const field = (f: 'loss' | 'accuracy'): { mean: number; sd: number } | undefined => {
    const xs = g.map((p) => p[f]).filter((x): x is number => x !== undefined && Number.isFinite(x));
    return xs.length === g.length ? meanSd(xs) : undefined;
  };
  const loss = field('loss');
  const acc = field('accuracy');
  return {
    ...base,
    ...(loss !== undefined && { loss: loss.mean, lossSd: loss.sd }),
    ...(acc !== undefined && { accuracy: acc.mean, accuracySd: acc.sd }),
    seeds: g.length,
  };
}

/** Linear interpolation of (grid, values) at x; 0 outside the grid (a density's tails). */
function interpolate(grid: readonly number[], values: readonly number[], x: number): number {
  const n = grid.length;
  if (n === 0 || x < grid[0]! || x > grid[n - 1]!) return 0;
  let lo = 0;
  let hi = n - 1;
  while (hi - lo > 1) {
    const mid = (lo + hi) >> 1;
    if (grid[mid]! <= x) lo = mid;
    else hi = mid;
  }
  const x0 = grid[lo]!;
  const x1 = grid[hi]!;
  if (x1 === x0) return values[lo]!;
  const t = (x - x0) / (x1 - x0);
  return values[lo]! * (1 - t) + values[hi]! * t;
}

/** Pointwise mean, min and max of several curves on `grid`. */
export function curveBand(
  grid: readonly number[],
  curves: readonly { readonly grid: readonly number[]; readonly values: readonly number[] }[],
): { mean: number[]; lo: number[]; hi: number[] } {
  const mean: number[] = [];
  const lo: number[] = [];
  const hi: number[] = [];
  for (const x of grid) {
    const ys = curves.map((c) => interpolate(c.grid, c.values, x));
    mean.push(ys.reduce((a, b) => a + b, 0) / ys.length);
    lo.push(Math.min(...ys));
    hi.push(Math.max(...ys));
  }
  return { mean, lo, hi };
}

/** The common grid of several: from the smallest start to the largest end, as many points as the longest. */
function commonGrid(grids: readonly (readonly number[])[]): number[] {
  const lo = Math.min(...grids.map((g) => g[0] ?? Infinity));
  const hi = Math.max(...grids.map((g) => g[g.length - 1] ?? -Infinity));
  const n = Math.max(...grids.map((g) => g.length));
  if (!Number.isFinite(lo) || !Number.isFinite(hi) || n < 2) return [...(grids[0] ?? [])];
  return Array.from({ length: n }, (_, i) => lo + ((hi - lo) * i) / (n - 1));
}

/** Rank-by-rank means over the ranks every list has. */
function rankMeans(lists: readonly (readonly number[])[]): number[] {
  const k = Math.min(...lists.map((l) => l.length));
  return Array.from({ length: k }, (_, i) => meanSd(lists.map((l) => l[i]!)).mean);
}

/** Fields of a spectrum that are the seed's own (values, measure, kernel width, start-vector band): not its identity. */
const SPECTRUM_VALUES = ['grid', 'density', 'outliers', 'trace', 'logSpectrum', 'measure', 'sigma', 'band'] as const;

/**
 * The seeds' densities on `grid`: each seed's measure smoothed at one width σ = the widest of their
 * own, when every seed has a measure (the module comment); else undefined.
 */
function resmoothed(
  g: readonly SpectrumSeries[],
  common: readonly number[],
): { sigma: number; grid: number[]; curves: { grid: readonly number[]; values: number[] }[] } | undefined {
  if (common.length < 2 || !g.every((s) => s.measure !== undefined && s.measure.nodes.length > 0)) return undefined;
  const sigmas = g.map(ownSigma);
  if (sigmas.some((x) => x === undefined || !(x > 0))) return undefined;
  const sigma = Math.max(...(sigmas as number[]));
  // the common grid, widened to 4σ past every seed's outermost Ritz value (its tails at the wider width)
  let lo = common[0]!;
  let hi = common[common.length - 1]!;
  for (const s of g) for (const x of s.measure!.nodes) ((lo = Math.min(lo, x - 4 * sigma)), (hi = Math.max(hi, x + 4 * sigma)));
  const grid = Array.from({ length: common.length }, (_, i) => lo + ((hi - lo) * i) / (common.length - 1));
  const at = Float64Array.from(grid);
  return {
    sigma,
    grid,
    curves: g.map((s) => ({
      grid,
      values: Array.from(
        smoothedDensity(
          { nodes: Float64Array.from(s.measure!.nodes), weights: Float64Array.from(s.measure!.weights) },
          at,
          sigma,
        ),
      ),
    })),
  };
}

/** The seeds' measures pooled into one (weights / n): the measure whose smoothing is the mean of theirs. */
function pooledMeasure(g: readonly SpectrumSeries[]): { nodes: number[]; weights: number[] } {
  const nodes: number[] = [];
  const weights: number[] = [];
  for (const s of g)
    s.measure!.nodes.forEach((x, i) => {
      nodes.push(x);
      weights.push(s.measure!.weights[i]! / g.length);
    });
  return { nodes, weights };
}

function spectrumGroup(g: readonly SpectrumSeries[]): SpectrumSeries {
  const first = g[0]!;
  const one = resmoothed(g, commonGrid(g.map((s) => s.grid)));
  const grid = one?.grid ?? commonGrid(g.map((s) => s.grid));
  const band = curveBand(grid, one?.curves ?? g.map((s) => ({ grid: s.grid, values: s.density })));
  const outliers = g.every((s) => s.outliers !== undefined) ? rankMeans(g.map((s) => s.outliers!)) : undefined;
  const traces = g.map((s) => s.trace).filter((t): t is number => t !== undefined);
  const trace = traces.length === g.length ? meanSd(traces) : undefined;
  const lambdaMax = outliers !== undefined && outliers.length > 0 ? meanSd(g.map((s) => s.outliers![0]!)) : undefined;
  const logs = g.map((s) => s.logSpectrum);
  let logSpectrum: SpectrumSeries['logSpectrum'];
  if (logs.every((l) => l !== undefined)) {
    const l0 = logs[0]!;
    const half = (pick: (l: NonNullable<SpectrumSeries['logSpectrum']>) => [readonly number[], readonly number[]]) =>
      curveBand(
        pick(l0)[0],
        logs.map((l) => ({ grid: pick(l!)[0], values: pick(l!)[1] })),
      ).mean;
    logSpectrum = {
      grid: [...l0.grid],
      density: half((l) => [l.grid, l.density]),
      ...(l0.negativeGrid !== undefined &&
        logs.every((l) => l!.negativeGrid !== undefined && l!.negativeDensity !== undefined) && {
          negativeGrid: [...l0.negativeGrid],
          negativeDensity: half((l) => [l.negativeGrid!, l.negativeDensity!]),
        }),
    };
  }
  const base = without(first, ...SPECTRUM_VALUES) as Omit<SpectrumSeries, 'grid' | 'density'>;
  return {
    ...base,
    grid,
    density: band.mean,
    ...(one !== undefined && { sigma: one.sigma, measure: pooledMeasure(g) }),
    ...(outliers !== undefined && { outliers }),
    ...(logSpectrum !== undefined && { logSpectrum }),
    ...(trace !== undefined && { trace: trace.mean }),
    seedBand: {
      n: g.length,
      lo: band.lo,
      hi: band.hi,
      ...(lambdaMax !== undefined && { lambdaMaxSd: lambdaMax.sd }),
      ...(trace !== undefined && { traceSd: trace.sd }),
      ...(one !== undefined && { measures: g.map((s) => s.measure!) }),
    },
  };
}

function hierarchyGroup(g: readonly HierarchyScoreRow[]): HierarchyScoreRow {
  const { sd } = meanSd(g.map((r) => r.hits / r.total));
  const hits = meanSd(g.map((r) => r.hits)).mean;
  return { ...(without(g[0]!, 'hits') as Omit<HierarchyScoreRow, 'hits'>), hits, spread: { n: g.length, sd } };
}

function exactGroup(g: readonly ExactEigenvalues[]): ExactEigenvalues {
  return { ...(without(g[0]!, 'values') as Omit<ExactEigenvalues, 'values'>), values: rankMeans(g.map((e) => e.values)) };
}

function embeddingGroup(g: readonly EmbeddingData[]): EmbeddingData {
  return g.length > 1 ? { ...g[0]!, ofSeeds: g.length } : g[0]!;
}

/** ReportData with every group of items that differ only by `seed` replaced by its mean and spread (module comment). */
export function groupSeeds(data: ReportData): ReportData {
  const merge = <T extends { readonly seed?: number }>(
    xs: readonly T[] | undefined,
    identity: (x: T) => unknown,
    combine: (g: readonly T[]) => T,
  ): T[] | undefined => xs && groups(xs, identity).map((g) => (g.length === 1 && g[0]!.seed === undefined ? g[0]! : combine(g)));
  const out: Record<string, unknown> = { ...data };
  const set = (k: keyof ReportData, v: unknown[] | undefined): void => {
    if (v !== undefined) out[k] = v;
  };
  set(
    'numbers',
    merge(data.numbers, (r) => [r.claim, seedInvariantName(r.name)], numberGroup),
  );
  set(
    'scalars',
    merge(data.scalars, (p) => without(p, 'value'), scalarGroup),
  );
  const training = merge(data.training, (p) => without(p, 'loss', 'accuracy'), trainingGroup);
  set('training', training);
  const trainingRows = finalTrainingRows(training ?? []);
  if (trainingRows.length > 0) out['numbers'] = [...((out['numbers'] as NumberRow[] | undefined) ?? []), ...trainingRows];
  set(
    'spectra',
    merge(data.spectra, (s) => without(s, ...SPECTRUM_VALUES), spectrumGroup),
  );
  set(
    'hierarchy',
    merge(data.hierarchy, (r) => without(r, 'hits'), hierarchyGroup),
  );
  set(
    'exactEigenvalues',
    merge(data.exactEigenvalues, (e) => without(e, 'values'), exactGroup),
  );
  set(
    'embeddings',
    merge(data.embeddings, (e) => without(e, 'points'), embeddingGroup),
  );
  return out as unknown as ReportData;
}

/** Seeds behind the items: the largest `n` among the averaged ones (0 when none is averaged). */
export function seedCount(items: readonly (SpectrumSeries | ScalarPoint | TrainingPoint)[]): number {
  let n = 0;
  for (const x of items) {
    const k = 'seedBand' in x ? x.seedBand?.n : 'spread' in x ? x.spread?.n : 'seeds' in x ? x.seeds : undefined;
    if (k !== undefined && k > n) n = k;
  }
  return n;
}

/** "mean ± sd (n = k)" of a value averaged over seeds, with `format` for the numbers. */
export function formatSpread(mean: number, spread: SeedSpread, format: (x: number) => string): string {
  return `${format(mean)} ± ${format(spread.sd)} (n = ${spread.n})`;
}

/** The seed of an instance with a `seed` coordinate (its own or an upstream's: `seed` or `stage.seed`), else undefined. */
export function seedCoordinate(coords: Readonly<Record<string, unknown>>, manifestSeed?: number): number | undefined {
  const named = Object.keys(coords).filter((k) => k === 'seed' || k.endsWith('.seed'));
  if (named.length === 0) return undefined;
  if (manifestSeed !== undefined) return manifestSeed;
  const v = coords[named[named.length - 1]!];
  return typeof v === 'number' ? v : undefined;
}

/** Every item of a fragment tagged with `seed` (unchanged when undefined). */
export function withSeed(fragment: ReportFragment, seed: number | undefined): ReportFragment {
  if (seed === undefined) return fragment;
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(fragment))
    out[k] = Array.isArray(v) ? v.map((x: unknown) => (typeof x === 'object' && x !== null ? { ...x, seed } : x)) : v;
  return out as ReportFragment;
}

/** What a figure's caption adds when its items are means over `n` seeds (by figure id; '' for none). */
export function seedCaption(figureId: string, n: number, embeddingSeed?: number): string {
  if (n < 2) return '';
  if (figureId.startsWith('embedding'))
    return embeddingSeed !== undefined ? ` Seed ${embeddingSeed}, one of ${n} (embeddings are not averaged across seeds).` : '';
  if (figureId === 'dynamics-scalars') return ` Mean over n = ${n} seeds; error bars ±1 sd across seeds.`;
  if (figureId === 'training') return ` Mean over n = ${n} seeds; shaded band ±1 sd across seeds.`;
  if (figureId === 'log-spectrum-h')
    return ` Mean density over n = ${n} seeds; the curves, α and R² drawn here are fitted to that mean density — a different estimator from the table of numbers, which fits each seed on its own range and gives the mean ± sd across seeds (the values to quote).`;
  if (figureId === 'a1-vs-outliers') return ` Rank-by-rank means over n = ${n} seeds.`;
  if (figureId === 'hierarchy') return '';
  return ` Mean density over n = ${n} seeds (top-k marks and exact eigenvalues: rank-by-rank means); coloured band: pointwise min–max across the seeds, every seed smoothed with the same kernel as the mean curve (the band across seeds, not the start-vector band of one run).`;
}

/** The seeds the items of `data` are tagged with, ascending. */
export function seedsOf(data: ReportData): number[] {
  const seeds = new Set<number>();
  for (const list of [
    data.spectra,
    data.exactEigenvalues,
    data.embeddings,
    data.training,
    data.scalars,
    data.numbers,
    data.hierarchy,
  ])
    for (const x of list ?? []) if (x.seed !== undefined) seeds.add(x.seed);
  return [...seeds].sort((a, b) => a - b);
}

/** `data` with the items of one seed (and those without a seed): what a run of that seed alone would report. */
export function onlySeed(data: ReportData, seed: number): ReportData {
  const keep = <T extends { readonly seed?: number }>(xs: readonly T[] | undefined): T[] | undefined =>
    xs?.filter((x) => x.seed === undefined || x.seed === seed);
  const out: Record<string, unknown> = { ...data };
  for (const k of ['spectra', 'exactEigenvalues', 'embeddings', 'training', 'scalars', 'numbers', 'hierarchy'] as const)
    if (data[k] !== undefined) out[k] = keep(data[k] as readonly { seed?: number }[]);
  return out as unknown as ReportData;
}

/** Rows computed once per seed, averaged across the seeds like the numbers table's own rows. */
export function averagedRows(perSeed: readonly { readonly seed: number; readonly rows: readonly NumberRow[] }[]): NumberRow[] {
  const tagged = perSeed.flatMap(({ seed, rows }) => rows.map((r) => ({ ...r, seed })));
  return [...(groupSeeds({ title: '', numbers: tagged }).numbers ?? [])];
}
