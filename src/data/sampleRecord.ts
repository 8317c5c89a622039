import { createHash } from 'node:crypto';
import type { Dataset, Split } from './dataset.js';
import { SpecpipeError } from '../util/errors.js';

/**
 * What a checkpoint was trained and tested on, recorded in its safetensors `__metadata__` under
 * `specpipe.samples` (JSON), so that `specpipe spectrum --checkpoint` and `specpipe eval` measure
 * the very samples the net saw instead of a whole split:
 *
 *     {"source": "fashion-mnist:/usr/share/datasets/fashion-mnist", "seed": 0,
 *      "train": {"per_class": 50, "count": 500, "sha256": "…"}, "test": {"per_class": null, "count": 10000, "sha256": "…"}}
 *
 * `source` is a data source string (src/data/sources.ts) for `specpipe train`, or `artifact:<key>` for
 * a pipeline's train/sgd stage (the data stage's artifact, a sibling directory of the train artifact in
 * the store). The samples are redrawn from source, seed and per-class count exactly as training drew
 * them (balanced subsets, src/data/trainingSubsets.ts); `sha256` is the content hash of the selected
 * samples in their order (shape, labels, pixels), so a redraw is checked, not trusted.
 */
export const SAMPLES_METADATA_KEY = 'specpipe.samples';

/** `source` of a pipeline's train/sgd checkpoint: `artifact:<key of its data stage's artifact>`. */
export const ARTIFACT_SOURCE_PREFIX = 'artifact:';

export interface SplitSamples {
  /** Samples per class drawn (null: the whole split). */
  readonly per_class: number | null;
  readonly count: number;
  readonly sha256: string;
}

export interface SampleRecord {
  readonly source: string;
  readonly seed: number;
  readonly train: SplitSamples;
  readonly test: SplitSamples;
}

/** sha256 of a split's samples in order: shape (4 × uint32 LE), labels (int32 LE), pixels (float32 LE). */
export function splitHash(split: Split): string {
  const h = createHash('sha256');
  h.update(new Uint8Array(Uint32Array.from(split.shape).buffer));
  h.update(new Uint8Array(split.labels.buffer, split.labels.byteOffset, split.labels.byteLength));
  h.update(new Uint8Array(split.images.buffer, split.images.byteOffset, split.images.byteLength));
  return h.digest('hex');
}

/** The record of a training run's samples (`data` is what it trained on, subsets already drawn). */
export function sampleRecord(
  source: string,
  seed: number,
  sizes: { readonly train_per_class?: number | undefined; readonly test_per_class?: number | undefined },
  data: Dataset,
): SampleRecord {
  return {
    source,
    seed,
    train: { per_class: sizes.train_per_class ?? null, count: data.train.shape[0], sha256: splitHash(data.train) },
    test: { per_class: sizes.test_per_class ?? null, count: data.test.shape[0], sha256: splitHash(data.test) },
  };
}

/** The checkpoint's record, undefined when it has none (written before records existed, or outside specpipe). */
export function readSampleRecord(metadata: Readonly<Record<string, string>>, file: string): SampleRecord | undefined {
  const text = metadata[SAMPLES_METADATA_KEY];
  if (text === undefined) return undefined;
  const bad = (why: string): never => {
    throw new SpecpipeError('checkpoint-samples', `${file}: "${SAMPLES_METADATA_KEY}" metadata ${why}`);
  };
  let v: unknown;
  try {
    v = JSON.parse(text);
  } catch {
    return bad(`is not valid JSON (${text.length} characters)`);
  }
  const r = v as Partial<SampleRecord>;
  const okSplit = (s: unknown): s is SplitSamples =>
    typeof s === 'object' &&
    s !== null &&
    Number.isInteger((s as SplitSamples).count) &&
    typeof (s as SplitSamples).sha256 === 'string' &&
    ((s as SplitSamples).per_class === null || Number.isInteger((s as SplitSamples).per_class));
  if (typeof r.source !== 'string' || !Number.isInteger(r.seed) || !okSplit(r.train) || !okSplit(r.test))
    return bad('must be {"source", "seed", "train": {"per_class", "count", "sha256"}, "test": {…}}');
  return r as SampleRecord;
}

/** "500 samples (50 per class, seed 0) of fashion-mnist:/root" — one split of a record, in words. */
export function describeRecordedSplit(r: SampleRecord, split: 'train' | 'test'): string {
  const s = r[split];
  return `${s.count} ${split} samples (${s.per_class === null ? 'the whole split' : `${s.per_class} per class, seed ${r.seed}`}) of ${r.source}`;
}
