import { parseArgs } from 'node:util';
import { mkdirSync } from 'node:fs';
import { SpecpipeError } from '../../util/errors.js';
import {
  BACKEND_CHOICES,
  BackendError,
  backendId,
  initBackend,
  type BackendChoice,
  type BackendInfo,
} from '../../backend/backend.js';
import { loadDataSource, parseDataSource, formatDataSource } from '../../data/sources.js';
import { sampleRecord } from '../../data/sampleRecord.js';
import { buildNetwork, parseModelSpec, resolveModelSpecInput } from '../../nn/build.js';
import type { LossKind } from '../../nn/loss.js';
import { parseSchedule, SCHEDULE_KINDS } from '../../train/schedule.js';
import type { EpochMetrics } from '../../train/sgd.js';
import { trainingRun, type TrainingRecipe } from '../../train/trainingRun.js';
import { TrainArtifactWriter, trainingMetadata } from '../../stages/train-sgd/trainArtifact.js';
import { schemaDefaults } from '../../util/schemaFiles.js';
import type { TrainSgdParams } from '../../params/train-sgd.generated.js';

const SGD = schemaDefaults('stages/train-sgd.schema.json', [
  'epochs',
  'lr',
  'momentum',
  'weight_decay',
  'batch_size',
  'schedule',
  'loss',
  'pad',
]) as Pick<TrainSgdParams, 'epochs' | 'lr' | 'momentum' | 'weight_decay' | 'batch_size' | 'schedule' | 'loss' | 'pad'>;

/**
 * Defaults of `specpipe train`: the hyperparameters are the train/sgd stage's (schemas/stages/train-sgd.schema.json), the
 * seed the pipeline's (schemas/pipeline.schema.json); data and model are the README's main job (MLP 784-64-64-10 on the
 * 8,000/2,000 MNIST split, ≥ 95% test accuracy).
 */
export const TRAIN_DEFAULTS = {
  data: 'mnist',
  model: 'mlp:784-64-64-10:relu',
  epochs: SGD.epochs,
  lr: SGD.lr,
  momentum: SGD.momentum,
  weightDecay: SGD.weight_decay,
  batchSize: SGD.batch_size,
  seed: schemaDefaults('pipeline.schema.json', ['seed']).seed as number,
  schedule: SGD.schedule,
  pad: SGD.pad,
  loss: SGD.loss,
} as const;

const USAGE = `usage: specpipe train --out DIR [--data SRC] [--model SPEC] [--epochs E] [options]

Defaults are those of the train/sgd stage (schemas/stages/train-sgd.schema.json).

  --data SRC             mnist | fashion-mnist[:ROOT] | cifar10:ROOT | cifar100:ROOT | imagefolder:ROOT | tensors:PATH
                         | idx:IMAGES.gz,LABELS.gz[,TEST_IMAGES.gz,TEST_LABELS.gz]   (default ${TRAIN_DEFAULTS.data})
  --model SPEC           mlp:784-64-64-10:relu | lenet:1x28x28:6-16-120:10[:k3] | vgg11:3x32x32:WIDTH:10
                         | resnet18:3x32x32:WIDTH:10 | densenet40:3x32x32:GROWTH:10 | PATH.json   (default ${TRAIN_DEFAULTS.model})
  --out DIR              writes DIR/checkpoint-epoch-N.safetensors and DIR/metrics.arrow
  --epochs E             (default ${TRAIN_DEFAULTS.epochs})
  --lr η                 base learning rate (default ${TRAIN_DEFAULTS.lr})
  --momentum μ           (default ${TRAIN_DEFAULTS.momentum})
  --weight-decay λ       (default ${TRAIN_DEFAULTS.weightDecay})
  --batch-size B         (default ${TRAIN_DEFAULTS.batchSize})
  --schedule S           ${SCHEDULE_KINDS.join('|')} (default ${TRAIN_DEFAULTS.schedule}); step: --step-size (⌈E/3⌉), --gamma (0.1)
  --checkpoints LIST     epochs to save, 0 = initialisation (default 0,E)
  --seed S               seed of the data split, initialisation and shuffling (default ${TRAIN_DEFAULTS.seed})
  --backend B            ${BACKEND_CHOICES.join('|')} (default auto)
  --train-per-class N    balanced subset of N training samples per class
  --test-per-class N     balanced subset of N test samples per class
  --pad P                zero-pad images by P on each side (2: 28×28 → 32×32) (default ${TRAIN_DEFAULTS.pad})
  --loss L               cross-entropy|mse (default ${TRAIN_DEFAULTS.loss})
  --json                 print the history as one JSON object at the end`;

export function intOption(name: string, raw: string | undefined, fallback: number, min = 1): number {
  if (raw === undefined) return fallback;
  const v = Number(raw);
  if (raw.trim() === '' || !Number.isInteger(v) || v < min)
    throw new SpecpipeError('cli-flag', `--${name}: expected an integer ≥ ${min}, received "${raw}"`, 2);
  return v;
}

export function numberOption(name: string, raw: string | undefined, fallback: number, min = 0): number {
  if (raw === undefined) return fallback;
  const v = Number(raw);
  if (raw.trim() === '' || !Number.isFinite(v) || v < min)
    throw new SpecpipeError('cli-flag', `--${name}: expected a number ≥ ${min}, received "${raw}"`, 2);
  return v;
}

export function backendOption(raw: string | undefined): BackendChoice {
  const b = raw ?? 'auto';
  if (!(BACKEND_CHOICES as readonly string[]).includes(b))
    throw new SpecpipeError('cli-flag', `--backend must be one of ${BACKEND_CHOICES.join('|')}, received "${b}"`, 2);
  return b as BackendChoice;
}

/** Starts the backend, turning a BackendError into a user-facing error. */
export async function startBackend(choice: BackendChoice): Promise<BackendInfo> {
  try {
    return await initBackend(choice);
  } catch (e) {
    if (e instanceof BackendError) throw new SpecpipeError('backend', e.message);
    throw e;
  }
}

/** Turns tfjs's "Kernel 'K' not registered for backend 'B'" into a user-facing error that says what to do. */
export async function withKernelHint<T>(backend: BackendInfo, model: string, run: () => Promise<T>): Promise<T> {
  try {
    return await run();
  } catch (e) {
    const m = e instanceof Error ? /Kernel '(\w+)' not registered for backend '(\w+)'/.exec(e.message) : null;
    if (m === null) throw e;
    throw new SpecpipeError(
      'backend-kernel',
      `model ${model} needs the tfjs kernel ${m[1]}, which the ${m[2]} backend does not provide; use --backend cpu (or auto)`,
    );
  }
}

function parseCheckpointList(raw: string | undefined, epochs: number): number[] {
  if (raw === undefined) return [...new Set([0, epochs])];
  const out = raw.split(',').map((s) => {
    const v = Number(s.trim());
    if (s.trim() === '' || !Number.isInteger(v) || v < 0 || v > epochs) {
      throw new SpecpipeError(
        'cli-flag',
        `--checkpoints: expected comma-separated epochs in [0, ${epochs}], received "${s.trim()}" in "${raw}"`,
        2,
      );
    }
    return v;
  });
  return [...new Set(out)].sort((a, b) => a - b);
}

function parseTrainArgs(argv: string[]) {
  try {
    return parseArgs({
      args: argv,
      allowPositionals: false,
      options: {
        data: { type: 'string' },
        model: { type: 'string' },
        out: { type: 'string' },
        epochs: { type: 'string' },
        lr: { type: 'string' },
        momentum: { type: 'string' },
        'weight-decay': { type: 'string' },
        'batch-size': { type: 'string' },
        schedule: { type: 'string' },
        'step-size': { type: 'string' },
        gamma: { type: 'string' },
        checkpoints: { type: 'string' },
        seed: { type: 'string' },
        backend: { type: 'string' },
        'train-per-class': { type: 'string' },
        'test-per-class': { type: 'string' },
        pad: { type: 'string' },
        loss: { type: 'string' },
        json: { type: 'boolean' },
        help: { type: 'boolean', short: 'h' },
      },
    }).values;
  } catch (e) {
    throw new SpecpipeError('cli-flag', `${e instanceof Error ? e.message : String(e)}\n${USAGE}`, 2);
  }
}

function fmt(x: number, digits = 4): string {
  return Number.isNaN(x) ? '—' : x.toFixed(digits);
}

/** One printed line per epoch. */
export function formatEpoch(m: EpochMetrics, epochs: number): string {
  return `epoch ${String(m.epoch).padStart(String(epochs).length)}/${epochs}  lr ${m.lr.toPrecision(3)}  train loss ${fmt(m.trainLoss)} acc ${fmt(m.trainAcc)}  test loss ${fmt(m.testLoss)} acc ${fmt(m.testAcc)}  ${m.seconds.toFixed(1)} s  ${Math.round(m.samplesPerSecond)} samples/s`;
}

/**
 * `specpipe train`: output goes through `write` (default: stdout; tests collect it). Trains a model on a data source with
 * SGD, writes checkpoints (safetensors, PyTorch layout) and metrics.arrow. With --json, `write` gets exactly one JSON
 * document and the progress lines go through `log` (default: stderr).
 */
export async function trainCommand(
  argv: string[],
  write: (text: string) => void = (t) => void process.stdout.write(t),
  log: (text: string) => void = (t) => void process.stderr.write(t),
): Promise<number> {
  const v = parseTrainArgs(argv);
  if (v.help) {
    write(USAGE + '\n');
    return 0;
  }
  if (v.out === undefined) throw new SpecpipeError('cli-flag', `--out DIR is required\n${USAGE}`, 2);
  const epochs = intOption('epochs', v.epochs, TRAIN_DEFAULTS.epochs, 0);
  const seed = intOption('seed', v.seed, TRAIN_DEFAULTS.seed, 0);
  const lr = numberOption('lr', v.lr, TRAIN_DEFAULTS.lr);
  const momentum = numberOption('momentum', v.momentum, TRAIN_DEFAULTS.momentum);
  if (momentum >= 1) throw new SpecpipeError('cli-flag', `--momentum: expected a number in [0, 1), received "${v.momentum}"`, 2);
  const weightDecay = numberOption('weight-decay', v['weight-decay'], TRAIN_DEFAULTS.weightDecay);
  const batchSize = intOption('batch-size', v['batch-size'], TRAIN_DEFAULTS.batchSize);
  const pad = intOption('pad', v.pad, TRAIN_DEFAULTS.pad, 0);
  const stepSize = v['step-size'] === undefined ? undefined : intOption('step-size', v['step-size'], 1);
  const gamma = v.gamma === undefined ? undefined : numberOption('gamma', v.gamma, 0.1);
  const schedule = parseSchedule(v.schedule ?? TRAIN_DEFAULTS.schedule, epochs, stepSize, gamma);
  const checkpointEpochs = parseCheckpointList(v.checkpoints, epochs);
  const loss = (v.loss ?? TRAIN_DEFAULTS.loss) as LossKind;
  if (loss !== 'cross-entropy' && loss !== 'mse')
    throw new SpecpipeError('cli-flag', `--loss must be cross-entropy or mse, received "${v.loss}"`, 2);
  const trainPerClass = v['train-per-class'] === undefined ? undefined : intOption('train-per-class', v['train-per-class'], 1);
  const testPerClass = v['test-per-class'] === undefined ? undefined : intOption('test-per-class', v['test-per-class'], 1);
  const backendChoice = backendOption(v.backend);
  const dataSpec = parseDataSource(v.data ?? TRAIN_DEFAULTS.data);
  const modelText = v.model ?? TRAIN_DEFAULTS.model;
  const parsedModel = parseModelSpec(modelText);

  const backend = await startBackend(backendChoice);
  const say = (s: string): void => (v.json === true ? log : write)(s + '\n');
  say(`backend: ${backendId(backend)} (${backend.package}) — ${backend.reason}`);

  const data = await loadDataSource(dataSpec, {
    seed,
    ...(trainPerClass !== undefined && { trainPerClass }),
    ...(testPerClass !== undefined && { testPerClass }),
  });
  const [n, c, h0, w0] = data.train.shape;
  const [h, w] = [h0 + 2 * pad, w0 + 2 * pad];
  const spec = resolveModelSpecInput(parsedModel, [c, h, w]);
  if (spec.classes !== data.classes.length) {
    throw new SpecpipeError(
      'model-classes',
      `--model "${modelText}" has ${spec.classes} classes, but data ${formatDataSource(dataSpec)} has ${data.classes.length}`,
    );
  }
  say(
    `data: ${formatDataSource(dataSpec)} — ${n} train / ${data.test.shape[0]} test samples of [${c}, ${h}, ${w}], ${data.classes.length} classes`,
  );
  say(`model: ${JSON.stringify(spec)} — ${buildNetwork(spec).size} parameters`);

  mkdirSync(v.out, { recursive: true });
  // The recipe in the train/sgd stage's words: the stage and this command train through the same
  // trainingRun and write through the same TrainArtifactWriter (equal inputs, equal files).
  const recipe: TrainingRecipe = {
    model: spec,
    epochs,
    lr,
    momentum,
    weight_decay: weightDecay,
    batch_size: batchSize,
    schedule: schedule.kind,
    ...(stepSize !== undefined && { step_size: stepSize }),
    ...(gamma !== undefined && { gamma }),
    checkpoints: checkpointEpochs,
    loss,
    pad,
  };
  const writer = new TrainArtifactWriter(v.out, {
    ...trainingMetadata(
      {
        ...recipe,
        data: formatDataSource(dataSpec),
        ...(trainPerClass !== undefined && { train_per_class: trainPerClass }),
        ...(testPerClass !== undefined && { test_per_class: testPerClass }),
      },
      loss,
      seed,
      backendId(backend),
      sampleRecord(formatDataSource(dataSpec), seed, { train_per_class: trainPerClass, test_per_class: testPerClass }, data),
    ),
    'specpipe.data': formatDataSource(dataSpec),
  });
  const written: Promise<string>[] = [];
  const run = await trainingRun(
    data,
    recipe,
    seed,
    {
      onEpoch: (m) => say(formatEpoch(m, epochs)),
      onCheckpoint: (snapshot, net, preprocess) => written.push(writer.checkpoint(snapshot, net, preprocess)),
      guard: (train) => withKernelHint(backend, spec.kind, train),
    },
    '--',
  );
  const checkpoints = await Promise.all(written);
  const metricsPath = await writer.history(run.history, run.spec);
  const hist = run.history;
  const last = hist[hist.length - 1];
  const trainSeconds = hist.reduce((s, m) => s + run.trainSamples / m.samplesPerSecond, 0);
  const sps = hist.length === 0 ? NaN : (run.trainSamples * hist.length) / trainSeconds;
  say(`wrote ${checkpoints.length} checkpoint${checkpoints.length === 1 ? '' : 's'} and ${metricsPath}`);
  if (last !== undefined) {
    say(
      `test accuracy ${(100 * last.testAcc).toFixed(2)}% (loss ${fmt(last.testLoss)}) after ${last.epoch} epochs; ${Math.round(sps)} samples/s on ${backendId(backend)}`,
    );
  }
  if (v.json) {
    write(
      JSON.stringify({
        backend: backendId(backend),
        backendReason: backend.reason,
        model: spec,
        checkpoints,
        metrics: metricsPath,
        samplesPerSecond: sps,
        history: hist,
      }) + '\n',
    );
  }
  return 0;
}
