import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { trainCommand } from '../../src/cli/commands/train.js';
import { evalCommand } from '../../src/cli/commands/eval.js';
import { readArrowFile } from '../../src/store/arrowFile.js';
import { loadCheckpoint } from '../../src/nn/checkpoint.js';
import { writeSafetensors, readSafetensors } from '../../src/store/safetensors.js';
import { captureOutput } from './cliCapture.js';

const dir = mkdtempSync(join(tmpdir(), 'specpipe-train-cli-'));
process.on('exit', () => rmSync(dir, { recursive: true, force: true }));

test('specpipe train writes checkpoints + metrics.arrow and prints epochs, samples/s, backend; eval reproduces the test accuracy', async () => {
  const out = join(dir, 'lenet');
  const { code, out: text } = await captureOutput((w) =>
    trainCommand(
      [
        '--data',
        'mnist',
        '--model',
        'lenet:1x28x28:4-8-32:10:k3',
        '--epochs',
        '2',
        '--out',
        out,
        '--train-per-class',
        '30',
        '--test-per-class',
        '10',
        '--checkpoints',
        '0,1,2',
        '--batch-size',
        '50',
        '--lr',
        '0.05',
        '--json',
      ],
      w,
      w, // with --json the progress lines go to stderr: collected here in the same text
    ),
  );
  assert.equal(code, 0);
  assert.match(text, /^backend: cpu\+openblas|^backend: (cpu|wasm|tensorflow)/m);
  assert.match(text, /data: mnist — 300 train \/ 100 test samples of \[1, 28, 28\], 10 classes/);
  assert.match(text, /epoch 1\/2 .* samples\/s/);
  assert.match(text, /test accuracy \d+\.\d\d% .* after 2 epochs; \d+ samples\/s on /);
  assert.deepEqual(readdirSync(out).sort(), [
    'checkpoint-epoch-0.safetensors',
    'checkpoint-epoch-1.safetensors',
    'checkpoint-epoch-2.safetensors',
    'metrics.arrow',
  ]);
  const metrics = readArrowFile(join(out, 'metrics.arrow'));
  assert.deepEqual(Object.keys(metrics.columns).slice(0, 6), [
    'epoch',
    'train_loss',
    'train_acc',
    'test_loss',
    'test_acc',
    'seconds',
  ]);
  assert.deepEqual(Array.from(metrics.columns.epoch as Int32Array), [1, 2]);
  const summary = JSON.parse(text.trim().split('\n').pop()!) as { history: { testAcc: number; testLoss: number }[] };
  assert.equal((metrics.columns.test_acc as Float64Array)[1], summary.history[1]!.testAcc);
  const ck = loadCheckpoint(join(out, 'checkpoint-epoch-2.safetensors'));
  assert.deepEqual(ck.spec, { kind: 'lenet', input: [1, 28, 28], channels: [4, 8], hidden: 32, kernel: 3, classes: 10 });
  assert.equal(ck.metadata['specpipe.epoch'], '2');
  assert.equal(ck.preprocess!.pad, 0);
  assert.ok(Math.abs(ck.preprocess!.mean[0]! - 0.13) < 0.03, `MNIST pixel mean ${ck.preprocess!.mean[0]}`);

  const ev = await captureOutput((w) =>
    evalCommand(
      ['--checkpoint', join(out, 'checkpoint-epoch-2.safetensors'), '--data', 'mnist', '--test-per-class', '10', '--json'],
      w,
    ),
  );
  assert.equal(ev.code, 0);
  const r = JSON.parse(ev.out) as { accuracy: number; loss: number; samples: number; split: string };
  assert.equal(r.samples, 100);
  assert.equal(r.split, 'test');
  assert.equal(r.accuracy, summary.history[1]!.testAcc);
  assert.ok(Math.abs(r.loss - summary.history[1]!.testLoss) < 1e-6);

  // The same weights as a bare state_dict (as saved by PyTorch): needs --model, normalises with train statistics.
  const bare = join(dir, 'bare.safetensors');
  writeSafetensors(bare, readSafetensors(join(out, 'checkpoint-epoch-2.safetensors')).tensors);
  const ev2 = await captureOutput((w) =>
    evalCommand(
      ['--checkpoint', bare, '--data', 'mnist', '--test-per-class', '10', '--model', 'lenet:1x28x28:4-8-32:10:k3'],
      w,
      w,
    ),
  );
  assert.match(ev2.out, /note: no specpipe\.preprocess metadata: normalised with the train split's channel statistics, pad 0/);
  assert.match(ev2.out, /test split of mnist: 100 samples {2}loss \d\.\d{4} {2}accuracy \d+\.\d\d%/);
  await assert.rejects(
    () => evalCommand(['--checkpoint', bare, '--data', 'mnist']),
    /bare\.safetensors: no "specpipe\.model" in the safetensors __metadata__/,
  );
});

test('specpipe train: bad options are errors naming the value', async () => {
  const out = join(dir, 'bad');
  await assert.rejects(
    () => captureOutput((w) => trainCommand(['--data', 'mnist', '--epochs', '2'], w)),
    /--out DIR is required/,
  );
  await assert.rejects(
    () => captureOutput((w) => trainCommand(['--out', out, '--epochs', '2', '--checkpoints', '0,5'], w)),
    /--checkpoints: expected comma-separated epochs in \[0, 2\], received "5" in "0,5"/,
  );
  await assert.rejects(
    () => captureOutput((w) => trainCommand(['--out', out, '--model', 'mlp:784-64-ten'], w)),
    /--model "mlp:784-64-ten": layer size must be a positive integer, received "ten"/,
  );
  await assert.rejects(
    () => captureOutput((w) => trainCommand(['--out', out, '--lr', 'fast'], w)),
    /--lr: expected a number ≥ 0, received "fast"/,
  );
  await assert.rejects(
    () => captureOutput((w) => trainCommand(['--out', out, '--schedule', 'linear'], w)),
    /--schedule must be one of constant\|step\|cosine, received "linear"/,
  );
  await assert.rejects(
    () => captureOutput((w) => trainCommand(['--out', out, '--backend', 'gpu'], w)),
    /--backend must be one of auto\|tensorflow\|wasm\|cpu, received "gpu"/,
  );
  await assert.rejects(
    () =>
      captureOutput((w) =>
        trainCommand(['--out', out, '--model', 'mlp:784-64-5', '--train-per-class', '5', '--test-per-class', '5'], w),
      ),
    /--model "mlp:784-64-5" has 5 classes, but data mnist has 10/,
  );
  await assert.rejects(
    () =>
      captureOutput((w) =>
        trainCommand(
          ['--out', out, '--model', 'lenet:1x32x32:6-16-120:10', '--train-per-class', '5', '--test-per-class', '5'],
          w,
        ),
      ),
    /expects input \[1, 32, 32\] \(C, H, W\), but the data has \[1, 28, 28\] \(pad 2 with --pad 2\?\)/,
  );
  assert.equal(existsSync(join(out, 'metrics.arrow')), false);
});

test('MLP 784-64-64-10 with the default recipe reaches ≥ 95% test accuracy on MNIST 8,000 / 2,000 (the README job)', async () => {
  const out = join(dir, 'mlp');
  const { code, out: text } = await captureOutput((w) => trainCommand(['--out', out, '--json'], w, w));
  assert.equal(code, 0);
  const summary = JSON.parse(text.trim().split('\n').pop()!) as {
    history: { testAcc: number }[];
    model: unknown;
    samplesPerSecond: number;
  };
  assert.deepEqual(summary.model, { kind: 'mlp', input: [1, 28, 28], hidden: [64, 64], activation: 'relu', classes: 10 });
  assert.match(text, /data: mnist — 8000 train \/ 2000 test samples/);
  const acc = summary.history[summary.history.length - 1]!.testAcc;
  assert.equal(summary.history.length, 10);
  assert.ok(acc >= 0.95, `test accuracy ${acc}`);
});
