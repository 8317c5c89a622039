import { writeFileSync } from 'node:fs';
import { isAbsolute, join, resolve } from 'node:path';
import { loadSchema } from '../../util/schemaFiles.js';
import type { StageKind } from '../registry.js';
import { datasetArtifact } from '../data/datasetArtifact.js';
import { TRAIN_METRICS_FILE, TrainArtifactWriter, trainingMetadata } from './trainArtifact.js';
import type { TrainSgdParams } from './params.js';
import { modelSpecFile } from '../../nn/network.js';

/**
 * `train/sgd`: trains a net on the upstream dataset's balanced subsets (trainingRun, src/train/);
 * writes checkpoints (safetensors, PyTorch layout), metrics.arrow and the training curves for the report.
 */
export const trainSgdStage: StageKind<TrainSgdParams> = {
  kind: 'train/sgd',
  version: 5,
  description: 'Mini-batch SGD (momentum, weight decay, PyTorch semantics) with checkpoints at chosen epochs.',
  paramsSchema: loadSchema('stages/train-sgd.schema.json'),
  usesBackend: true,
  // A model JSON file is made absolute against the pipeline file's directory; its content enters the key.
  resolveParams(params, env) {
    const file = modelSpecFile(params.model);
    return file === undefined || isAbsolute(file) ? params : { ...params, model: resolve(env.baseDir, file) };
  },
  inputFiles(params): Record<string, string> {
    const file = modelSpecFile(params.model);
    return file === undefined ? {} : { model: file };
  },
  outputs: {
    'report-fragment.json': 'training curves for the report',
    'checkpoint-epoch-<E>.safetensors': 'weights after epoch E (PyTorch state_dict layout)',
    [TRAIN_METRICS_FILE]: 'per-epoch loss/accuracy',
  },
  async run(ctx) {
    const p = ctx.params;
    const { trainingRun } = await import('../../train/trainingRun.js');
    const { trainingSubsets } = await import('../../data/trainingSubsets.js');
    const { trainingCurvesFragment, REPORT_FRAGMENT_FILE } = await import('../../report/reportFragment.js');
    const source = datasetArtifact(ctx);
    const { sampleRecord, ARTIFACT_SOURCE_PREFIX } = await import('../../data/sampleRecord.js');
    const data = trainingSubsets(await source.read(), p, ctx.seed);
    // The samples: the data artifact (by key) and the subsets drawn from it, hashed.
    const samples = sampleRecord(`${ARTIFACT_SOURCE_PREFIX}${source.upstream.key}`, ctx.seed, p, data);
    const writer = new TrainArtifactWriter(ctx.outDir, trainingMetadata(p, p.loss, ctx.seed, ctx.backend, samples));
    const pending: Promise<string>[] = [];
    const run = await trainingRun(
      data,
      p,
      ctx.seed,
      {
        onEpoch: (m) => ctx.progress({ done: m.epoch, total: p.epochs, unit: 'epoch', note: `loss ${m.trainLoss.toFixed(4)}` }),
        onCheckpoint: (snapshot, network, preprocess) => pending.push(writer.checkpoint(snapshot, network, preprocess)),
      },
      `${ctx.instance.name}: with.`,
    );
    await Promise.all(pending);
    await writer.history(run.history, run.spec);
    const tags = {
      dataset: source.source,
      model: run.spec.kind,
      ...(p.train_per_class !== undefined && { samplesPerClass: p.train_per_class }),
    };
    writeFileSync(join(ctx.outDir, REPORT_FRAGMENT_FILE), JSON.stringify(trainingCurvesFragment(run.history, tags)) + '\n');
    const last = run.history[run.history.length - 1];
    return {
      metrics: {
        parameters: run.parameters,
        train_samples: run.trainSamples,
        test_samples: run.testSamples,
        ...(last !== undefined && { train_loss: last.trainLoss, train_acc: last.trainAcc }),
        ...(last !== undefined && !Number.isNaN(last.testLoss) && { test_loss: last.testLoss, test_acc: last.testAcc }),
      },
      roles: writer.roles,
    };
  },
};
