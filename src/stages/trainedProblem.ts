import { existsSync } from 'node:fs';
import { join } from 'node:path';
import type * as tf from '@tensorflow/tfjs-core';
import { SpecpipeError } from '../util/errors.js';
import type { CurvatureProblem } from '../curvature/curvatureOperators.js';
import type { ExecutionOptions } from '../curvature/execution.js';
import type { Split } from '../data/dataset.js';
import type { StageContext, UpstreamArtifact } from './registry.js';
import { checkpointFile, findDatasetArtifact } from './stageFiles.js';
import { checkpointEpochs, trainingDataset, type TrainSgdParams } from './trainStage.js';

/** Which trained net and which samples a curvature stage (spectrum, decomposition) analyses. */
export interface ProblemSelection {
  /** An epoch the train stage saved (its `checkpoints`), or "final" (the last saved). */
  readonly checkpoint: number | 'final';
  readonly split: 'train' | 'test';
  /** Keep at most this many samples of the split (its first ones; the split is a shuffled balanced subset). */
  readonly maxSamples?: number;
  /** Keep at most this many samples of each class. */
  readonly samplesPerClass?: number;
  readonly batchSize: number;
  /** Worker threads per product. */
  readonly workers?: number;
  /** Shard processes per product on this machine. */
  readonly processes?: number;
  /** Shards per product served over Redis by `specpipe worker --products` processes on any machine. */
  readonly redis?: { readonly url: string; readonly shards: number };
}

export interface TrainedProblem {
  readonly problem: CurvatureProblem;
  /** How its products run (batch size, threads, processes, Redis shards): Curvature.open's second argument. */
  readonly execution: ExecutionOptions;
  readonly epoch: number;
  readonly checkpointPath: string;
  /** The train/sgd upstream the net comes from. */
  readonly train: UpstreamArtifact;
  dispose(): void;
}

/** The train/sgd artifact among a stage's needs (or gathered instances: the first). */
export function trainUpstream(ctx: StageContext<unknown>): UpstreamArtifact {
  const all = [...Object.values(ctx.needs), ...Object.values(ctx.gathered ?? {}).flat()];
  const t = all.find((u) => u.kind === 'train/sgd');
  if (t === undefined)
    throw new SpecpipeError('no-train-upstream', `${ctx.instance.name}: needs a train/sgd stage among its needs`);
  return t;
}

/**
 * Loads what every curvature stage works on: the selected checkpoint of the upstream train/sgd
 * instance, and the very samples that instance trained (or was tested) on — its data artifact and
 * its seeded balanced subsets — preprocessed as the checkpoint's metadata says.
 */
export async function loadTrainedProblem(ctx: StageContext<unknown>, sel: ProblemSelection): Promise<TrainedProblem> {
  const { loadCheckpoint } = await import('../nn/checkpoint.js');
  const { preprocessSplit } = await import('../data/preprocess.js');
  const { selectSamples } = await import('../data/batches.js');
  const train = trainUpstream(ctx);
  const tp = train.params as unknown as TrainSgdParams;
  const saved = checkpointEpochs(tp);
  const epoch = sel.checkpoint === 'final' ? saved[saved.length - 1]! : sel.checkpoint;
  const checkpointPath = join(train.dir, checkpointFile(epoch));
  if (!saved.includes(epoch) || !existsSync(checkpointPath)) {
    throw new SpecpipeError(
      'no-such-checkpoint',
      `${ctx.instance.name}: with.checkpoint is ${epoch}, but ${train.name} saved epochs [${saved.join(', ')}] (its with.checkpoints)`,
    );
  }
  const data = await trainingDataset(findDatasetArtifact(ctx).path, tp, ctx.seed);
  let split: Split = data[sel.split];
  if (split.shape[0] === 0)
    throw new SpecpipeError('empty-split', `${ctx.instance.name}: the ${sel.split} split of ${train.name}'s data is empty`);
  if (sel.samplesPerClass !== undefined) {
    const seen = new Map<number, number>();
    const keep: number[] = [];
    split.labels.forEach((l, i) => {
      const k = seen.get(l) ?? 0;
      if (k < sel.samplesPerClass!) keep.push(i);
      seen.set(l, k + 1);
    });
    split = selectSamples(split, keep);
  }
  if (sel.maxSamples !== undefined && sel.maxSamples < split.shape[0]) {
    split = selectSamples(
      split,
      Int32Array.from({ length: sel.maxSamples }, (_, i) => i),
    );
  }
  const ckpt = loadCheckpoint(checkpointPath);
  if (ckpt.preprocess === undefined)
    throw new SpecpipeError('checkpoint-preprocess', `${checkpointPath}: no preprocessing metadata`);
  return {
    problem: {
      network: ckpt.network,
      params: ckpt.params,
      buffers: ckpt.buffers,
      data: preprocessSplit(split, ckpt.preprocess),
      loss: tp.loss ?? 'cross-entropy',
    },
    execution: {
      batchSize: sel.batchSize,
      ...(sel.workers !== undefined && { workers: sel.workers }),
      ...(sel.processes !== undefined && sel.processes > 0 && { processes: sel.processes }),
      ...(sel.redis !== undefined &&
        sel.redis.shards > 0 && {
          // bullmq and ioredis load only here
          shards: {
            transport: (await import('../executor/bullmq/productShards.js')).redisShardTransport({ redis: sel.redis.url }),
            count: sel.redis.shards,
          },
        }),
      backend: 'auto',
    },
    epoch,
    checkpointPath,
    train,
    dispose: () => {
      for (const t of [...ckpt.params, ...ckpt.buffers] as tf.Tensor[]) t.dispose();
    },
  };
}
