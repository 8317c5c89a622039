import { SpecpipeError } from '../util/errors.js';
import type { SpectrumOperator } from '../curvature/operatorKind.js';
import type { ValidationPanel } from './validationFragment.js';

/**
 * The input of the HTML report: a plain JSON-able object that the `report/html` stage fills from a
 * run's artifacts (or a user writes by hand for `specpipe report --data F.json`). Every series is
 * tagged with where it comes from (dataset, model, checkpoint epoch, samples per class); the report
 * groups by (dataset, model) and shows the latest epoch at the largest sample size in the main
 * panels, all of them in the dynamics panels. Every list is optional: a panel without data says so.
 */
export interface SeriesTags {
  /** e.g. "mnist" (default "—"). */
  readonly dataset?: string;
  /** e.g. "mlp" (default "—"). */
  readonly model?: string;
  /** Checkpoint epoch. */
  readonly epoch?: number;
  /** Training samples per class (the sample-size axis of the dynamics). */
  readonly samplesPerClass?: number;
  /**
   * The pipeline's own matrix coordinates that tell this instance apart beyond operator, split and
   * checkpoint (e.g. `{ train_per_class: 200 }`, `{ lr: 0.1 }`): legends name these axes and values.
   */
  readonly axes?: Readonly<Record<string, string | number | boolean>>;
  /** The run this series comes from, when a report compares runs (`specpipe report RUN_A RUN_B`). */
  readonly run?: string;
  /**
   * Training seed, for instances with a `seed` coordinate (`seeds:`): the report averages items that
   * differ only by it (src/report/seedGroups.ts). Absent for unseeded pipelines.
   */
  readonly seed?: number;
}

/** How many seeds an averaged item stands for and their spread (src/report/seedGroups.ts). */
export interface SeedSpread {
  /** Number of seeds averaged. */
  readonly n: number;
  /** Sample standard deviation across seeds (n − 1 in the denominator). */
  readonly sd: number;
}

export type Split = 'train' | 'test';

/**
 * Operator names the report knows: hessian, ggn (G), residual (H), the pieces a1, a2, b1, b2, and
 * deflated variants "<name>-deflated". Other names are plotted where asked for by name only.
 */
export type OperatorName = SpectrumOperator | (string & {});

/** An SLQ (or KPM) density of one operator on one split. */
export interface SpectrumSeries extends SeriesTags {
  readonly operator: OperatorName;
  readonly split: Split;
  /** λ grid (ascending) and the density ρ(λ) on it. */
  readonly grid: readonly number[];
  readonly density: readonly number[];
  /** Top eigenvalues (outliers) from Lanczos, descending. */
  readonly outliers?: readonly number[];
  /** Log-spectrum (math.md §4): density in λ on a log-spaced grid of |λ|, positive and negative halves. */
  readonly logSpectrum?: {
    readonly grid: readonly number[];
    readonly density: readonly number[];
    readonly negativeGrid?: readonly number[];
    readonly negativeDensity?: readonly number[];
  };
  /** Trace estimate (Hutchinson / Hutch++ or exact). */
  readonly trace?: number;
  /**
   * The SLQ measure behind the density (Ritz values θ_j and weights, summing to 1), so the report can
   * re-smooth several curves with one common kernel width (src/report/sharedKernel.ts).
   */
  readonly measure?: { readonly nodes: readonly number[]; readonly weights: readonly number[] };
  /** Width σ (λ units) of the Gaussian kernel the density was smoothed with. */
  readonly sigma?: number;
  /** Lanczos steps m behind the measure (sets Papyan's kernel width). */
  readonly steps?: number;
  /** Parameter count P (one eigenvalue carries mass 1/P of the measure). */
  readonly parameters?: number;
  /**
   * Error band of the density on its grid (mean ± t·SE across start vectors of ONE run), when there
   * were several. A mean over seeds has none (its spread is `seedBand`, across seeds).
   */
  readonly band?: { readonly lo: readonly number[]; readonly hi: readonly number[]; readonly rule?: string };
  /**
   * Set when the series is the mean over seeds: `density` is the pointwise mean of the seeds'
   * densities (on a common grid; when every seed carries its SLQ measure, each seed re-smoothed at one
   * kernel width σ = the widest of the seeds' own, which is then `sigma`, and `measure` is the seeds'
   * measures pooled with weights / n, whose smoothing is that mean), `lo`/`hi` their pointwise
   * minimum and maximum, `n` the seeds;
   * outliers and trace are means, `lambdaMaxSd`/`traceSd` the standard deviations across seeds.
   */
  readonly seedBand?: {
    readonly n: number;
    readonly lo: readonly number[];
    readonly hi: readonly number[];
    readonly lambdaMaxSd?: number;
    readonly traceSd?: number;
    /**
     * The seeds' own SLQ measures (when every seed has one), so a panel that re-smooths its curves at
     * one kernel width forms the seed mean and min–max band at that width (densityPanel.ts).
     */
    readonly measures?: readonly { readonly nodes: readonly number[]; readonly weights: readonly number[] }[];
  };
}

/** Exact nonzero eigenvalues of a low-rank piece of G (from its Gram matrix), descending. */
export interface ExactEigenvalues extends SeriesTags {
  readonly piece: 'a1' | 'a2' | 'b1' | 'a1+a2+b1';
  readonly split: Split;
  readonly values: readonly number[];
}

/** A 2-D embedding of {g_c} ∪ {g_cc'} (Papyan's Figure 2). */
export interface EmbeddingData extends SeriesTags {
  readonly method: 'tsne' | 'umap';
  readonly split?: Split;
  readonly points: readonly {
    readonly kind: 'class' | 'cross' | 'own';
    readonly c: number;
    readonly cp: number;
    readonly label: string;
    readonly x: number;
    readonly y: number;
  }[];
  /** With seeds: the embedding shown is of `seed`, one of this many (embeddings are not averaged). */
  readonly ofSeeds?: number;
}

/** One point of a training curve (per epoch, per split). */
export interface TrainingPoint {
  readonly dataset?: string;
  readonly model?: string;
  readonly samplesPerClass?: number;
  readonly axes?: SeriesTags['axes'];
  readonly run?: string;
  readonly epoch: number;
  readonly split: Split;
  readonly loss?: number;
  readonly accuracy?: number;
  readonly seed?: number;
  /** Mean over seeds: standard deviations across them and their number. */
  readonly lossSd?: number;
  readonly accuracySd?: number;
  readonly seeds?: number;
}

/** A named scalar over checkpoints and sample sizes (λ_max, traces, bulk-edge positions…), for the dynamics panels. */
export interface ScalarPoint extends SeriesTags {
  readonly name: string;
  readonly split?: Split;
  readonly value: number;
  /** Mean over seeds: `value` is the mean, `spread` its sd and n. */
  readonly spread?: SeedSpread;
}

/**
 * The class/cross-class hierarchy as a score (src/embed/hierarchyScore.ts): of the C(C−1) cross-class
 * means g_cc′, how many have their own class mean g_c as the nearest class mean, in the original
 * gradient space or in a 2-D embedding; chance is 1/C.
 */
export interface HierarchyScoreRow extends SeriesTags {
  readonly split?: Split;
  readonly space: 'gradients' | 'tsne' | 'umap';
  readonly hits: number;
  readonly total: number;
  /** The fraction expected when the nearest class mean is drawn at random: 1/C. */
  readonly chance: number;
  /**
   * Mean over seeds (each seed scored on its own): `hits` is the mean count, `spread` the sd of the
   * fraction hits/total across seeds and n (src/report/seedGroups.ts).
   */
  readonly spread?: SeedSpread;
}

/** One row of the table of numbers behind the claims (docs/results.md). */
export interface NumberRow {
  /** The claim it supports: "a" … "g" (issue 6 item 7). */
  readonly claim?: string;
  readonly name: string;
  readonly value: number | string;
  readonly note?: string;
  /** Training seed of the instance the row comes from (rows that differ only by it are averaged). */
  readonly seed?: number;
  /** Mean over seeds: `value` is the mean, shown as "mean ± sd (n = …)". */
  readonly spread?: SeedSpread;
}

export interface ReportData {
  readonly title: string;
  readonly runId?: string;
  readonly pipeline?: string;
  /** ISO time of the run. */
  readonly createdAt?: string;
  /** Commands that reproduce the run. */
  readonly reproduce?: readonly string[];
  /** Free-text paragraphs shown under the header. */
  readonly notes?: readonly string[];
  readonly spectra?: readonly SpectrumSeries[];
  readonly exactEigenvalues?: readonly ExactEigenvalues[];
  readonly embeddings?: readonly EmbeddingData[];
  readonly training?: readonly TrainingPoint[];
  readonly scalars?: readonly ScalarPoint[];
  readonly numbers?: readonly NumberRow[];
  /** Validation panels (validate/dense, validationFragment.ts). */
  readonly validation?: readonly ValidationPanel[];
  readonly hierarchy?: readonly HierarchyScoreRow[];
}

const LIST_KEYS = [
  'spectra',
  'exactEigenvalues',
  'embeddings',
  'training',
  'scalars',
  'numbers',
  'validation',
  'hierarchy',
  'reproduce',
  'notes',
] as const;

function fail(source: string, path: string, expected: string, value: unknown): never {
  const shown = JSON.stringify(value);
  throw new SpecpipeError(
    'bad-report-data',
    `${source}: ${path} must be ${expected}, received ${shown === undefined ? String(value) : shown.length > 80 ? shown.slice(0, 77) + '...' : shown}`,
  );
}

function numberArray(source: string, path: string, v: unknown): void {
  if (!Array.isArray(v) || !v.every((x) => typeof x === 'number')) fail(source, path, 'an array of numbers', v);
}

/**
 * Checks the shape of parsed JSON as ReportData (the fields the renderer reads), naming the path
 * and the value of the first problem: "F.json: spectra[2].density must be an array of numbers of the grid's length 200, received …".
 */
export function validateReportData(x: unknown, source = 'report data'): ReportData {
  if (typeof x !== 'object' || x === null || Array.isArray(x)) fail(source, 'the top level', 'an object', x);
  const o = x as Record<string, unknown>;
  if (typeof o.title !== 'string') fail(source, 'title', 'a string', o.title);
  for (const k of LIST_KEYS) if (o[k] !== undefined && !Array.isArray(o[k])) fail(source, k, 'an array', o[k]);
  (o.spectra as unknown[] | undefined)?.forEach((s, i) => {
    const p = `spectra[${i}]`;
    if (typeof s !== 'object' || s === null) fail(source, p, 'an object', s);
    const r = s as Record<string, unknown>;
    if (typeof r.operator !== 'string') fail(source, `${p}.operator`, 'a string', r.operator);
    if (r.split !== 'train' && r.split !== 'test') fail(source, `${p}.split`, '"train" or "test"', r.split);
    numberArray(source, `${p}.grid`, r.grid);
    numberArray(source, `${p}.density`, r.density);
    if ((r.density as number[]).length !== (r.grid as number[]).length)
      fail(
        source,
        `${p}.density`,
        `an array of numbers of the grid's length ${(r.grid as number[]).length}`,
        `(${(r.density as number[]).length} numbers)`,
      );
    if (r.outliers !== undefined) numberArray(source, `${p}.outliers`, r.outliers);
    if (r.measure !== undefined) {
      const m = r.measure as Record<string, unknown>;
      numberArray(source, `${p}.measure.nodes`, m?.nodes);
      numberArray(source, `${p}.measure.weights`, m?.weights);
      if ((m.nodes as number[]).length !== (m.weights as number[]).length)
        fail(
          source,
          `${p}.measure.weights`,
          `as many numbers as measure.nodes (${(m.nodes as number[]).length})`,
          `(${(m.weights as number[]).length} numbers)`,
        );
    }
    if (r.sigma !== undefined && !(typeof r.sigma === 'number' && r.sigma > 0))
      fail(source, `${p}.sigma`, 'a positive number', r.sigma);
    if (r.logSpectrum !== undefined) {
      const l = r.logSpectrum as Record<string, unknown>;
      numberArray(source, `${p}.logSpectrum.grid`, l.grid);
      numberArray(source, `${p}.logSpectrum.density`, l.density);
    }
  });
  (o.exactEigenvalues as unknown[] | undefined)?.forEach((s, i) => {
    const r = s as Record<string, unknown>;
    if (!['a1', 'a2', 'b1', 'a1+a2+b1'].includes(r?.piece as string))
      fail(source, `exactEigenvalues[${i}].piece`, 'one of "a1", "a2", "b1", "a1+a2+b1"', r?.piece);
    numberArray(source, `exactEigenvalues[${i}].values`, r.values);
  });
  (o.embeddings as unknown[] | undefined)?.forEach((s, i) => {
    const r = s as Record<string, unknown>;
    if (r?.method !== 'tsne' && r?.method !== 'umap') fail(source, `embeddings[${i}].method`, '"tsne" or "umap"', r?.method);
    if (!Array.isArray(r.points)) fail(source, `embeddings[${i}].points`, 'an array', r.points);
    (r.points as unknown[]).forEach((pt, j) => {
      const q = pt as Record<string, unknown>;
      if (typeof q?.x !== 'number' || typeof q?.y !== 'number')
        fail(source, `embeddings[${i}].points[${j}]`, 'an object with numbers x and y', pt);
    });
  });
  (o.training as unknown[] | undefined)?.forEach((s, i) => {
    const r = s as Record<string, unknown>;
    if (typeof r?.epoch !== 'number') fail(source, `training[${i}].epoch`, 'a number', r?.epoch);
  });
  (o.scalars as unknown[] | undefined)?.forEach((s, i) => {
    const r = s as Record<string, unknown>;
    if (typeof r?.name !== 'string' || typeof r?.value !== 'number')
      fail(source, `scalars[${i}]`, 'an object with a string name and a number value', s);
  });
  return o as unknown as ReportData;
}
