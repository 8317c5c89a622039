import { existsSync } from 'node:fs';
import { join } from 'node:path';
import type { Dataset } from '../../data/dataset.js';
import type { Preprocess } from '../../data/preprocess.js';
import type { LayoutNetwork } from '../../nn/build.js';
import type { ModelSpec } from '../../nn/network.js';
import type { LoadedCheckpoint } from '../../nn/checkpoint.js';
import type { SeriesTags } from '../../report/reportData.js';
import type { EpochMetrics, StateSnapshot } from '../../train/sgd.js';
import { checkpointEpochs } from '../../train/trainingRun.js';
import type { CheckpointProblem, SampleSelection } from '../../curvature/checkpointProblem.js';
import { SpecpipeError } from '../../util/errors.js';
import { SAMPLES_METADATA_KEY, type SampleRecord } from '../../data/sampleRecord.js';
import type { ArtifactRole, StageContext, UpstreamArtifact } from '../registry.js';
import { requireArtifact } from '../upstream.js';
import { datasetArtifact } from '../data/datasetArtifact.js';
import type { TrainSgdParams } from './params.js';

/**
 * The artifact contract of `train/sgd`: checkpoint-epoch-<E>.safetensors (PyTorch state_dict layout,
 * metadata specpipe.model, specpipe.preprocess, specpipe.loss, specpipe.train, specpipe.seed,
 * specpipe.samples, specpipe.epoch) at each checkpoint epoch, and metrics.arrow (one row per epoch, historyColumns).
 * `specpipe train --out DIR` writes the same files through the same writer.
 */
export const TRAIN_METRICS_FILE = 'metrics.arrow';

export function checkpointFile(epoch: number): string {
  return `checkpoint-epoch-${epoch}.safetensors`;
}

/** Writes a training run's files into `outDir`; `meta` goes into every file's metadata. */
export class TrainArtifactWriter {
  readonly roles: Record<string, ArtifactRole> = {};
  readonly #outDir: string;
  readonly #meta: Readonly<Record<string, string>>;

  constructor(outDir: string, meta: Readonly<Record<string, string>>) {
    this.#outDir = outDir;
    this.#meta = meta;
  }

  /** Saves a snapshot as checkpoint-epoch-<E>.safetensors; returns its path. */
  async checkpoint(snapshot: StateSnapshot, network: LayoutNetwork, preprocess: Preprocess): Promise<string> {
    const { saveCheckpoint } = await import('../../nn/checkpoint.js');
    const file = checkpointFile(snapshot.epoch);
    const path = join(this.#outDir, file);
    saveCheckpoint(path, network, snapshot.params, snapshot.buffers, preprocess, {
      ...this.#meta,
      'specpipe.epoch': String(snapshot.epoch),
    });
    this.roles[file] = 'checkpoint';
    return path;
  }

  /** Writes metrics.arrow; returns its path. */
  async history(history: readonly EpochMetrics[], spec: ModelSpec): Promise<string> {
    const { writeArrowFile } = await import('../../store/arrowFile.js');
    const { historyColumns } = await import('../../train/metricsTable.js');
    const path = join(this.#outDir, TRAIN_METRICS_FILE);
    writeArrowFile(path, historyColumns(history), { ...this.#meta, 'specpipe.model': JSON.stringify(spec) });
    this.roles[TRAIN_METRICS_FILE] = 'table';
    return path;
  }
}

/**
 * Metadata every file of a training run carries (the checkpoint alone says how it was trained, and on
 * which samples: `specpipe.samples`, src/data/sampleRecord.ts).
 */
export function trainingMetadata(
  recipe: object,
  loss: string,
  seed: number,
  backend: string,
  samples: SampleRecord,
): Record<string, string> {
  return {
    'specpipe.backend': backend,
    'specpipe.train': JSON.stringify(recipe),
    'specpipe.loss': loss,
    'specpipe.seed': String(seed),
    [SAMPLES_METADATA_KEY]: JSON.stringify(samples),
  };
}

/** A train/sgd artifact as a downstream stage reads it. */
export interface TrainArtifact {
  readonly upstream: UpstreamArtifact;
  readonly params: TrainSgdParams;
  /** Saved checkpoint epochs, ascending. */
  epochs(): number[];
  /** The epoch `checkpoint` names ("final": the last saved); an error names the stage and the saved epochs. */
  epochOf(checkpoint: number | 'final'): number;
  checkpointPath(epoch: number): string;
  /** The checkpoint saved at `epoch`, loaded strictly (src/nn/checkpoint.ts). */
  checkpoint(epoch: number): Promise<LoadedCheckpoint>;
  /** metrics.arrow: one row per epoch (epoch, train_loss, train_acc, test_loss, test_acc, seconds, lr, …). */
  history(): Promise<Record<string, ArrayLike<number>>>;
  /** The samples the run trained and was tested on (its data artifact and its seeded balanced subsets). */
  dataset(): Promise<Dataset>;
  /**
   * The net at `checkpoint` and the selected samples of `split`, preprocessed as the checkpoint says:
   * what every curvature stage measures.
   */
  problem(checkpoint: number | 'final', split: 'train' | 'test', sel?: SampleSelection): Promise<TrainedProblem>;
  /** Report tags of the net at `epoch`: its data source, model kind, epoch and training samples per class. */
  seriesTags(epoch?: number): SeriesTags;
}

export interface TrainedProblem extends CheckpointProblem {
  readonly epoch: number;
  readonly checkpointPath: string;
}

/** The nearest train/sgd artifact upstream of a stage. */
export function trainArtifact(ctx: StageContext<unknown>): TrainArtifact {
  const upstream = requireArtifact(ctx, 'train/sgd', 'add the train stage to its needs');
  const params = upstream.params as unknown as TrainSgdParams;
  const epochs = (): number[] => checkpointEpochs(params);
  const epochOf = (checkpoint: number | 'final'): number => {
    const saved = epochs();
    const epoch = checkpoint === 'final' ? saved[saved.length - 1]! : checkpoint;
    if (!saved.includes(epoch) || !existsSync(join(upstream.dir, checkpointFile(epoch))))
      throw new SpecpipeError(
        'no-such-checkpoint',
        `${ctx.instance.name}: with.checkpoint is ${epoch}, but ${upstream.name} saved epochs [${saved.join(', ')}] (its with.checkpoints)`,
      );
    return epoch;
  };
  const dataset = async (): Promise<Dataset> => {
    const { trainingSubsets } = await import('../../data/trainingSubsets.js');
    return trainingSubsets(await datasetArtifact(ctx).read(), params, ctx.seed);
  };
  return {
    upstream,
    params,
    epochs,
    epochOf,
    checkpointPath: (epoch) => join(upstream.dir, checkpointFile(epoch)),
    checkpoint: async (epoch) =>
      (await import('../../nn/checkpoint.js')).loadCheckpoint(join(upstream.dir, checkpointFile(epochOf(epoch)))),
    history: async () => {
      const { readArrowFile } = await import('../../store/arrowFile.js');
      return readArrowFile(join(upstream.dir, TRAIN_METRICS_FILE)).columns as Record<string, ArrayLike<number>>;
    },
    dataset,
    async problem(checkpoint, split, sel = {}) {
      const { checkpointProblem, selectAnalysedSamples } = await import('../../curvature/checkpointProblem.js');
      const epoch = epochOf(checkpoint);
      const raw = (await dataset())[split];
      if (raw.shape[0] === 0)
        throw new SpecpipeError('empty-split', `${ctx.instance.name}: the ${split} split of ${upstream.name}'s data is empty`);
      const checkpointPath = join(upstream.dir, checkpointFile(epoch));
      const p = checkpointProblem(checkpointPath, selectAnalysedSamples(raw, sel), params.loss ?? 'cross-entropy');
      return { ...p, epoch, checkpointPath };
    },
    seriesTags: (epoch) => {
      const raw = params.model as unknown;
      const model =
        typeof raw === 'string'
          ? raw.split(/[\s:(]/)[0]
          : typeof raw === 'object' && raw !== null
            ? (raw as { kind?: unknown }).kind
            : undefined;
      return {
        dataset: datasetArtifact(ctx).source,
        ...(typeof model === 'string' && model !== '' && { model }),
        ...(epoch !== undefined && { epoch }),
        ...(params.train_per_class !== undefined && { samplesPerClass: params.train_per_class }),
      };
    },
  };
}
