import { readFileSync } from 'node:fs';
import type { ReportData, SeriesTags } from './reportData.js';
import { validateReportData } from './reportData.js';
import { SpecpipeError } from '../util/errors.js';

/**
 * How a stage hands its results to the report: a file `report-fragment.json` in its artifact
 * holding any of ReportData's lists (spectra, exactEigenvalues, embeddings, training, scalars,
 * numbers), already tagged. The report concatenates the fragments of every instance it gathers.
 */
export const REPORT_FRAGMENT_FILE = 'report-fragment.json';

export type ReportFragment = Partial<Omit<ReportData, 'title' | 'runId' | 'pipeline' | 'createdAt' | 'reproduce' | 'notes'>>;

const LISTS = ['spectra', 'exactEigenvalues', 'embeddings', 'training', 'scalars', 'numbers', 'validation', 'hierarchy'] as const;

/** Concatenates the lists of several fragments onto a base. */
export function mergeFragments(base: ReportData, fragments: readonly ReportFragment[]): ReportData {
  const out: Record<string, unknown> = { ...base };
  for (const key of LISTS) {
    const all = [
      ...((base[key] as unknown[] | undefined) ?? []),
      ...fragments.flatMap((f) => (f[key] as unknown[] | undefined) ?? []),
    ];
    if (all.length > 0) out[key] = all;
  }
  return out as unknown as ReportData;
}

/** Reads and checks a fragment file (errors name the file and the offending path). */
export function readReportFragment(path: string): ReportFragment {
  let json: unknown;
  try {
    json = JSON.parse(readFileSync(path, 'utf8'));
  } catch (e) {
    throw new SpecpipeError(
      'report-fragment',
      `${path}: cannot read the report fragment (${e instanceof Error ? e.message : String(e)})`,
    );
  }
  return validateReportData({ title: 'fragment', ...(json as object) }, path) as ReportFragment;
}

function num(v: unknown): number | undefined {
  return typeof v === 'number' && Number.isFinite(v)
    ? v
    : typeof v === 'string' && v.trim() !== '' && Number.isFinite(Number(v))
      ? Number(v)
      : undefined;
}

function str(v: unknown): string | undefined {
  if (typeof v === 'string') return v;
  if (typeof v === 'object' && v !== null && typeof (v as { kind?: unknown }).kind === 'string')
    return (v as { kind: string }).kind;
  return undefined;
}

/**
 * Series tags from a stage instance's matrix coordinates and params (the pipeline's names):
 * dataset ← dataset | data; model ← model (its `kind` when an object); epoch ← epoch | checkpoint;
 * samples per class ← train_per_class | samples_per_class | samplesPerClass.
 */
export function tagsFromCoords(
  coords: Readonly<Record<string, unknown>>,
  params: Readonly<Record<string, unknown>> = {},
): SeriesTags {
  const pick = (...names: string[]): unknown => {
    for (const n of names) if (coords[n] !== undefined) return coords[n];
    for (const n of names) if (params[n] !== undefined) return params[n];
    return undefined;
  };
  const dataset = str(pick('dataset', 'data'));
  const model = str(pick('model', 'architecture'));
  const epoch = num(pick('epoch', 'checkpoint'));
  const samplesPerClass = num(pick('train_per_class', 'samples_per_class', 'samplesPerClass'));
  return {
    ...(dataset !== undefined && { dataset }),
    ...(model !== undefined && { model }),
    ...(epoch !== undefined && { epoch }),
    ...(samplesPerClass !== undefined && { samplesPerClass }),
  };
}

/** Per-epoch metrics as the report's training curves read them (src/train/sgd.ts EpochMetrics). */
interface EpochRow {
  readonly epoch: number;
  readonly trainLoss: number;
  readonly trainAcc: number;
  readonly testLoss: number;
  readonly testAcc: number;
}

/** The report's training curves: loss and accuracy per epoch on train, and on test where it was evaluated. */
export function trainingCurvesFragment(history: readonly EpochRow[], tags: SeriesTags): ReportFragment {
  return {
    training: history.flatMap((m) => [
      { ...tags, epoch: m.epoch, split: 'train' as const, loss: m.trainLoss, accuracy: m.trainAcc },
      ...(Number.isNaN(m.testLoss)
        ? []
        : [{ ...tags, epoch: m.epoch, split: 'test' as const, loss: m.testLoss, accuracy: m.testAcc }]),
    ]),
  };
}
