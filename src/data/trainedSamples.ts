import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import type { Dataset, Split } from './dataset.js';
import { formatDataSource, loadDataSource, parseDataSource, type DataSourceSpec } from './sources.js';
import { ARTIFACT_SOURCE_PREFIX, describeRecordedSplit, readSampleRecord, splitHash, type SampleRecord } from './sampleRecord.js';
import { SpecpipeError } from '../util/errors.js';

/** Which samples of a checkpoint's data a command measures (`specpipe spectrum --checkpoint`, `specpipe eval`). */
export interface SampleChoice {
  /** --data SRC; undefined: the source the checkpoint records. */
  readonly data?: string;
  /**
   * --samples: which samples of the split:
   * - `trained`: those the checkpoint records (the default when it records them);
   * - `all`: the whole split of the source.
   */
  readonly samples?: 'trained' | 'all';
  /** --samples-per-class / --train-per-class / --test-per-class: a balanced subset of the split, drawn with `seed`. */
  readonly perClass?: number;
  /** Seed of a subset drawn on request (not the recorded one: that uses the record's seed). */
  readonly seed: number;
}

export interface ChosenSamples {
  readonly data: Dataset;
  /** The split's samples, not preprocessed. */
  readonly split: Split;
  /** One line for stderr: which samples, and why those. */
  readonly note: string;
}

/** The data source a record names: a source string, or the data artifact beside the checkpoint's train artifact in the store. */
function recordedSource(r: SampleRecord, checkpoint: string): DataSourceSpec {
  if (!r.source.startsWith(ARTIFACT_SOURCE_PREFIX)) return parseDataSource(r.source);
  const key = r.source.slice(ARTIFACT_SOURCE_PREFIX.length);
  const path = join(dirname(dirname(checkpoint)), key, 'dataset.safetensors');
  if (!/^[0-9a-f]{64}$/.test(key) || !existsSync(path))
    throw new SpecpipeError(
      'checkpoint-samples',
      `${checkpoint}: trained on the data artifact ${key.slice(0, 12)} of a pipeline, which is not beside it in the store (${path}); pass --data SRC to measure other samples`,
    );
  return { kind: 'tensors', path };
}

/**
 * The samples of `split` that a command measures on a checkpoint: by default those it was trained
 * (tested) on, redrawn from its `specpipe.samples` record and checked against the record's hash;
 * `--samples all`, a per-class count, or a `--data` other than the recorded source override it; a
 * checkpoint without a record (older, or from PyTorch) measures `--data`'s split as before, with a notice.
 */
export async function chooseSamples(
  checkpoint: string,
  metadata: Readonly<Record<string, string>>,
  split: 'train' | 'test',
  choice: SampleChoice,
): Promise<ChosenSamples> {
  const record = readSampleRecord(metadata, checkpoint);
  const sameSource =
    record !== undefined && (choice.data === undefined || formatDataSource(parseDataSource(choice.data)) === record.source);
  if (record !== undefined && sameSource && choice.samples !== 'all' && choice.perClass === undefined) {
    const s = record[split];
    const data = await loadDataSource(recordedSource(record, checkpoint), {
      seed: record.seed,
      ...(record.train.per_class !== null && { trainPerClass: record.train.per_class }),
      ...(record.test.per_class !== null && { testPerClass: record.test.per_class }),
    });
    const raw = data[split];
    const hash = splitHash(raw);
    if (hash !== s.sha256)
      throw new SpecpipeError(
        'checkpoint-samples',
        `${checkpoint}: the ${split} samples redrawn from ${record.source} (seed ${record.seed}) are not those the net was ${split === 'train' ? 'trained' : 'tested'} on (sha256 ${hash.slice(0, 12)}, recorded ${s.sha256.slice(0, 12)}): the data changed; measure other samples with --samples all or --samples-per-class N`,
      );
    return {
      data,
      split: raw,
      note: `samples: the ${describeRecordedSplit(record, split)} the net was ${split === 'train' ? 'trained' : 'tested'} on (sha256 ${hash.slice(0, 12)} checked); --samples all for the whole split`,
    };
  }
  const sourceText = choice.data ?? record?.source;
  if (sourceText === undefined)
    throw new SpecpipeError(
      'cli-flag',
      `${checkpoint} records no training samples (no "specpipe.samples" metadata): pass --data SRC (e.g. mnist)`,
      2,
    );
  const spec = choice.data !== undefined ? parseDataSource(choice.data) : recordedSource(record!, checkpoint);
  // The other split keeps its recorded count: mnist draws its train and test samples together.
  const other = split === 'train' ? 'test' : 'train';
  const otherPerClass = sameSource ? record?.[other].per_class : undefined;
  const counts: { train?: number; test?: number } = {
    ...(otherPerClass !== undefined && otherPerClass !== null && { [other]: otherPerClass }),
    ...(choice.perClass !== undefined && { [split]: choice.perClass }),
  };
  const data = await loadDataSource(spec, {
    seed: choice.seed,
    ...(counts.train !== undefined && { trainPerClass: counts.train }),
    ...(counts.test !== undefined && { testPerClass: counts.test }),
  });
  const raw = data[split];
  const what = `${raw.shape[0]} ${split} samples of ${sourceText} (${choice.perClass === undefined ? 'the whole split' : `${choice.perClass} per class, seed ${choice.seed}`})`;
  const note =
    record === undefined
      ? `samples: ${what}; ${checkpoint} records no training samples (written before checkpoints recorded them)`
      : `samples: ${what}, as asked${choice.data !== undefined && !sameSource ? ` (--data differs from the recorded ${record.source})` : ''} — not the ${describeRecordedSplit(record, split)} the net was ${split === 'train' ? 'trained' : 'tested'} on`;
  return { data, split: raw, note };
}
