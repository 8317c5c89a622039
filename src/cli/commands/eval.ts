import { parseArgs } from 'node:util';
import * as tf from '@tensorflow/tfjs-core';
import { SpecpipeError } from '../../util/errors.js';
import { BACKEND_CHOICES, backendId } from '../../backend/backend.js';
import { parseDataSource } from '../../data/sources.js';
import { chooseSamples } from '../../data/trainedSamples.js';
import { preprocessSplit } from '../../data/preprocess.js';
import { parseModelSpec } from '../../nn/build.js';
import { loadCheckpoint } from '../../nn/checkpoint.js';
import type { LossKind } from '../../nn/loss.js';
import { evaluateModel } from '../../train/evaluate.js';
import { trainPreprocess } from '../../train/prepare.js';
import { backendOption, intOption, startBackend } from './train.js';

const USAGE = `usage: specpipe eval --checkpoint FILE.safetensors [--data SRC] [options]

  --checkpoint FILE      a specpipe checkpoint, or a PyTorch state_dict saved with safetensors (then also --model)
  --data SRC             mnist | fashion-mnist[:ROOT] | cifar10:ROOT | cifar100:ROOT | imagefolder:ROOT | tensors:PATH | idx:…
                         (default: the source the checkpoint records; required for a checkpoint without that record)
  --split S              test|train (default test)
  --samples trained|all  trained (default where the checkpoint records its samples): the samples the net was trained
                         and tested on, redrawn from the record and checked by their sha256; all: the whole split.
                         --train-per-class / --test-per-class (with --seed) also override it; stderr says which were used
  --model SPEC           model spec overriding the checkpoint's specpipe.model metadata
  --seed S               seed of subsets drawn on request (default: the checkpoint's specpipe.seed, else 0)
  --train-per-class N, --test-per-class N   balanced subsets, as for train
  --pad P                only without specpipe.preprocess metadata: pad, with train-split statistics (default 0)
  --batch-size B         (default 500)
  --loss L               cross-entropy|mse (default cross-entropy)
  --backend B            ${BACKEND_CHOICES.join('|')} (default auto)
  --json                 print one JSON object (logs — backend, samples, notes — go to stderr)`;

/** `specpipe eval` (output through `write`, default stdout): loss and accuracy of a checkpoint on a split of a data source (eval mode: BatchNorm running statistics). */
export async function evalCommand(
  argv: string[],
  write: (text: string) => void = (t) => void process.stdout.write(t),
  log: (text: string) => void = (t) => void process.stderr.write(t),
): Promise<number> {
  let v;
  try {
    v = parseArgs({
      args: argv,
      allowPositionals: false,
      options: {
        checkpoint: { type: 'string' },
        data: { type: 'string' },
        split: { type: 'string' },
        model: { type: 'string' },
        seed: { type: 'string' },
        'train-per-class': { type: 'string' },
        'test-per-class': { type: 'string' },
        pad: { type: 'string' },
        'batch-size': { type: 'string' },
        loss: { type: 'string' },
        backend: { type: 'string' },
        json: { type: 'boolean' },
        samples: { type: 'string' },
        help: { type: 'boolean', short: 'h' },
      },
    }).values;
  } catch (e) {
    throw new SpecpipeError('cli-flag', `${e instanceof Error ? e.message : String(e)}\n${USAGE}`, 2);
  }
  if (v.help) {
    write(USAGE + '\n');
    return 0;
  }
  if (v.checkpoint === undefined) throw new SpecpipeError('cli-flag', `--checkpoint FILE is required\n${USAGE}`, 2);
  const split = v.split ?? 'test';
  if (split !== 'test' && split !== 'train')
    throw new SpecpipeError('cli-flag', `--split must be test or train, received "${split}"`, 2);
  const loss = (v.loss ?? 'cross-entropy') as LossKind;
  if (loss !== 'cross-entropy' && loss !== 'mse')
    throw new SpecpipeError('cli-flag', `--loss must be cross-entropy or mse, received "${v.loss}"`, 2);
  const batchSize = intOption('batch-size', v['batch-size'], 500);
  const trainPerClass = v['train-per-class'] === undefined ? undefined : intOption('train-per-class', v['train-per-class'], 1);
  const testPerClass = v['test-per-class'] === undefined ? undefined : intOption('test-per-class', v['test-per-class'], 1);
  if (v.samples !== undefined && v.samples !== 'trained' && v.samples !== 'all')
    throw new SpecpipeError('cli-flag', `--samples: expected trained or all, received "${v.samples}"`, 2);
  if (v.data !== undefined) parseDataSource(v.data); // a bad source is refused before the backend starts
  const modelOverride = v.model === undefined ? undefined : parseModelSpec(v.model);
  const backendChoice = backendOption(v.backend);

  const backend = await startBackend(backendChoice);
  const ckpt = loadCheckpoint(v.checkpoint, modelOverride);
  const seed = intOption('seed', v.seed, Number(ckpt.metadata['specpipe.seed'] ?? 0), 0);
  const perClass = split === 'train' ? trainPerClass : testPerClass;
  const chosen = await chooseSamples(v.checkpoint, ckpt.metadata, split, {
    ...(v.data !== undefined && { data: v.data }),
    ...(v.samples !== undefined && { samples: v.samples as 'trained' | 'all' }),
    ...(perClass !== undefined && { perClass }),
    seed,
  });
  const data = chosen.data;
  const source = v.data ?? data.name;
  log(`backend: ${backendId(backend)} (${backend.package}) — ${backend.reason}\n${chosen.note}\n`);
  const notes: string[] = [];
  let preprocess = ckpt.preprocess;
  if (preprocess === undefined) {
    preprocess = trainPreprocess(data, intOption('pad', v.pad, 0, 0));
    notes.push(`no specpipe.preprocess metadata: normalised with the train split's channel statistics, pad ${preprocess.pad}`);
  } else if (v.pad !== undefined) notes.push('--pad ignored: the checkpoint carries its preprocessing');
  const splitData = preprocessSplit(chosen.split, preprocess);
  if (ckpt.spec.classes !== data.classes.length) {
    throw new SpecpipeError(
      'model-classes',
      `${v.checkpoint}: model has ${ckpt.spec.classes} classes, but data ${source} has ${data.classes.length}`,
    );
  }
  const t0 = performance.now();
  const r = evaluateModel(ckpt.network, ckpt.params, ckpt.buffers, splitData, { batchSize, loss });
  const seconds = (performance.now() - t0) / 1000;
  tf.dispose([...ckpt.params, ...ckpt.buffers]);
  if (v.json) {
    write(
      JSON.stringify({
        checkpoint: v.checkpoint,
        data: source,
        split,
        samples: r.samples,
        loss: r.loss,
        accuracy: r.accuracy,
        backend: backendId(backend),
        backendReason: backend.reason,
        model: ckpt.spec,
        seconds,
        notes,
      }) + '\n',
    );
  } else {
    for (const n of notes) log(`note: ${n}\n`);
    write(
      `${split} split of ${source}: ${r.samples} samples  loss ${r.loss.toFixed(4)}  accuracy ${(100 * r.accuracy).toFixed(2)}%  (${(r.samples / seconds).toFixed(0)} samples/s)\n`,
    );
  }
  return 0;
}
