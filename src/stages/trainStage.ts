import { isAbsolute, join, resolve } from 'node:path';
import { SpecpipeError } from '../util/errors.js';
import { loadSchema } from '../pipeline/schemaFiles.js';
import type { Dataset } from '../data/dataset.js';
import type { ModelSpec } from '../nn/network.js';
import type { StageKind } from './registry.js';
import { TRAIN_METRICS_FILE, checkpointFile, findDatasetArtifact } from './stageFiles.js';

export interface TrainSgdParams {
  model: string | Record<string, unknown>;
  epochs: number;
  lr: number;
  momentum: number;
  weight_decay: number;
  batch_size: number;
  schedule: 'constant' | 'step' | 'cosine';
  checkpoints?: number[];
  train_per_class?: number;
  test_per_class?: number;
  loss: 'cross-entropy' | 'mse';
  pad: number;
}

/** Checkpoint epochs of a train/sgd instance: the listed ones within [0, epochs], or just the last epoch. */
export function checkpointEpochs(p: Pick<TrainSgdParams, 'checkpoints' | 'epochs'>): number[] {
  const list = p.checkpoints === undefined || p.checkpoints.length === 0 ? [p.epochs] : p.checkpoints;
  return [...new Set(list)].sort((a, b) => a - b);
}

/**
 * The dataset a train/sgd instance trains and evaluates on: the upstream data artifact, then the
 * instance's balanced subsets (seeded with the pipeline seed, as src/data/sources.ts does).
 * Spectrum stages call this with the train instance's params to see the same samples.
 */
export async function trainingDataset(
  datasetPath: string,
  p: Pick<TrainSgdParams, 'train_per_class' | 'test_per_class'>,
  seed: number,
): Promise<Dataset> {
  const { loadTensorsFile } = await import('../data/tensorsFile.js');
  const { balancedSubset } = await import('../data/balancedSubset.js');
  const d = loadTensorsFile(datasetPath);
  return {
    ...d,
    train: p.train_per_class === undefined ? d.train : balancedSubset(d.train, p.train_per_class, seed, d.classes),
    test: p.test_per_class === undefined ? d.test : balancedSubset(d.test, p.test_per_class, seed ^ 0x7e57, d.classes),
  };
}

/** The model spec for data of shape [C, H, W] with `classes` classes: input and classes filled in. */
export async function resolveModel(
  model: TrainSgdParams['model'],
  shape: readonly [number, number, number],
  classes: number,
  where: string,
): Promise<ModelSpec> {
  const { parseModelSpec, resolveModelSpecInput, validateModelSpec } = await import('../nn/build.js');
  let spec: ModelSpec;
  if (typeof model === 'string') spec = resolveModelSpecInput(parseModelSpec(model), shape);
  else {
    const o: Record<string, unknown> = { ...model };
    if (o['input'] === undefined) o['input'] = o['kind'] === 'mlp' ? [shape[0] * shape[1] * shape[2]] : [...shape];
    if (o['classes'] === undefined) o['classes'] = classes;
    if (o['kind'] === 'mlp' && o['activation'] === undefined) o['activation'] = 'relu';
    spec = resolveModelSpecInput(validateModelSpec(o, where), shape);
  }
  if (spec.classes !== classes)
    throw new SpecpipeError('model-classes', `${where}: the model has ${spec.classes} classes, the data has ${classes}`);
  return spec;
}

/**
 * The JSON file a `model` string names, if it names one: neither inline JSON nor a shorthand of a
 * known kind (as parseModelText in src/nn/build.ts, which reads any other string as a file path).
 */
export function modelSpecFile(model: TrainSgdParams['model']): string | undefined {
  if (typeof model !== 'string') return undefined;
  const t = model.trim();
  if (t.startsWith('{') || ['mlp', 'lenet', 'vgg11', 'resnet18', 'densenet40'].includes(t.split(':')[0]!)) return undefined;
  return t;
}

/** `train/sgd`: trains a net on the upstream dataset; writes checkpoints (safetensors, PyTorch layout) and metrics.arrow. */
export const trainSgdStage: StageKind<TrainSgdParams> = {
  kind: 'train/sgd',
  version: 3,
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
    const tf = await import('@tensorflow/tfjs-core');
    const { prepareData } = await import('../train/prepare.js');
    const { buildNetwork } = await import('../nn/build.js');
    const { trainModel } = await import('../train/sgd.js');
    const { saveCheckpoint } = await import('../nn/checkpoint.js');
    const { parseSchedule } = await import('../train/schedule.js');
    const { writeArrowFile } = await import('../store/arrowFile.js');
    const where = `${ctx.instance.name}: with.model`;
    const epochs = checkpointEpochs(p);
    const bad = epochs.find((e) => e > p.epochs);
    if (bad !== undefined)
      throw new SpecpipeError(
        'bad-checkpoints',
        `${ctx.instance.name}: with.checkpoints lists epoch ${bad}, but epochs is ${p.epochs}`,
      );

    const data = await trainingDataset(findDatasetArtifact(ctx).path, p, ctx.seed);
    const prepared = prepareData(data, p.pad);
    const [, c, h, w] = prepared.train.shape;
    const spec = await resolveModel(p.model, [c, h, w], data.classes.length, where);
    const network = buildNetwork(spec);
    const roles: Record<string, 'checkpoint' | 'table'> = { [TRAIN_METRICS_FILE]: 'table' };
    const meta = { 'specpipe.backend': ctx.backend, 'specpipe.train': JSON.stringify(p), 'specpipe.seed': String(ctx.seed) };
    const result = await trainModel(
      {
        network,
        train: prepared.train,
        ...(prepared.test.shape[0] > 0 && { test: prepared.test }),
        epochs: p.epochs,
        lr: p.lr,
        momentum: p.momentum,
        weightDecay: p.weight_decay,
        batchSize: p.batch_size,
        seed: ctx.seed,
        schedule: parseSchedule(p.schedule, p.epochs),
        checkpoints: epochs,
        loss: p.loss,
      },
      (ev) => {
        if (ev.kind === 'epoch')
          ctx.progress({
            done: ev.metrics.epoch,
            total: p.epochs,
            unit: 'epoch',
            note: `loss ${ev.metrics.trainLoss.toFixed(4)}`,
          });
        else if (ev.kind === 'checkpoint') {
          const file = checkpointFile(ev.snapshot.epoch);
          saveCheckpoint(join(ctx.outDir, file), network, ev.snapshot.params, ev.snapshot.buffers, prepared.preprocess, {
            ...meta,
            'specpipe.epoch': String(ev.snapshot.epoch),
          });
          roles[file] = 'checkpoint';
        }
      },
    );
    const hist = result.history;
    writeArrowFile(
      join(ctx.outDir, TRAIN_METRICS_FILE),
      {
        epoch: Int32Array.from(hist, (m) => m.epoch),
        train_loss: Float64Array.from(hist, (m) => m.trainLoss),
        train_acc: Float64Array.from(hist, (m) => m.trainAcc),
        test_loss: Float64Array.from(hist, (m) => m.testLoss),
        test_acc: Float64Array.from(hist, (m) => m.testAcc),
        lr: Float64Array.from(hist, (m) => m.lr),
        seconds: Float64Array.from(hist, (m) => m.seconds),
      },
      { 'specpipe.model': JSON.stringify(spec) },
    );
    tf.dispose([...result.params, ...result.buffers]);
    // The report's training curves (loss and accuracy per epoch on train and test).
    const { REPORT_FRAGMENT_FILE } = await import('../report/reportFragment.js');
    const { writeFileSync } = await import('node:fs');
    const { datasetTag } = await import('./spectrumStage.js');
    const tags = {
      dataset: datasetTag(ctx) ?? data.name,
      model: spec.kind,
      ...(p.train_per_class !== undefined && { samplesPerClass: p.train_per_class }),
    };
    const training = hist.flatMap((m) => [
      { ...tags, epoch: m.epoch, split: 'train' as const, loss: m.trainLoss, accuracy: m.trainAcc },
      ...(Number.isNaN(m.testLoss)
        ? []
        : [{ ...tags, epoch: m.epoch, split: 'test' as const, loss: m.testLoss, accuracy: m.testAcc }]),
    ]);
    writeFileSync(join(ctx.outDir, REPORT_FRAGMENT_FILE), JSON.stringify({ training }) + '\n');
    const last = hist[hist.length - 1];
    const metrics: Record<string, number> = {
      parameters: network.size,
      train_samples: prepared.train.shape[0],
      test_samples: prepared.test.shape[0],
    };
    if (last !== undefined) {
      metrics['train_loss'] = last.trainLoss;
      metrics['train_acc'] = last.trainAcc;
      if (!Number.isNaN(last.testLoss)) {
        metrics['test_loss'] = last.testLoss;
        metrics['test_acc'] = last.testAcc;
      }
    }
    return { metrics, roles };
  },
};
