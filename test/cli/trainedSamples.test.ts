/**
 * `spectrum --checkpoint` and `eval` measure what the net was trained on: checkpoints written by
 * `specpipe train` and by a train/sgd stage record their samples (specpipe.samples: source, seed,
 * per-class counts, sha256 of the selected samples); both commands redraw them by default, check the
 * hash and say on stderr which samples they used; --samples all / --samples-per-class / --data override;
 * a checkpoint without the record keeps the old behaviour with a one-line notice.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { runBuiltinCli } from '../pipeline/cliHarness.js';
import { readSafetensors, writeSafetensors } from '../../src/store/safetensors.js';
import { loadDataSource } from '../../src/data/sources.js';
import { loadTensorsFile } from '../../src/data/tensorsFile.js';
import { trainingSubsets } from '../../src/data/trainingSubsets.js';
import { splitHash, type SampleRecord } from '../../src/data/sampleRecord.js';

const dir = mkdtempSync(join(tmpdir(), 'specpipe-samples-'));
process.on('exit', () => rmSync(dir, { recursive: true, force: true }));
const cli = (args: string[]) => runBuiltinCli(args, dir);
const SPECTRUM = ['--operator', 'ggn', '--top', '2', '--lanczos-steps', '4', '--start-vectors', '1', '--json'];

interface SpectrumJson {
  operator: string;
  top: { value: number }[];
}

test('specpipe train records its samples; spectrum and eval use them by default and say so; flags override', async () => {
  const out = join(dir, 'ck');
  const train = await cli([
    'train',
    '--data',
    'mnist',
    '--model',
    'mlp:784-8-10:relu',
    '--epochs',
    '1',
    '--train-per-class',
    '5',
    '--test-per-class',
    '2',
    '--seed',
    '3',
    '--out',
    out,
  ]);
  assert.equal(train.code, 0, train.stderr);
  const ck = join(out, 'checkpoint-epoch-1.safetensors');

  // The record, against the samples drawn independently.
  const drawn = await loadDataSource({ kind: 'mnist' }, { seed: 3, trainPerClass: 5, testPerClass: 2 });
  const record = JSON.parse(readSafetensors(ck).metadata['specpipe.samples']!) as SampleRecord;
  assert.deepEqual(record, {
    source: 'mnist',
    seed: 3,
    train: { per_class: 5, count: 50, sha256: splitHash(drawn.train) },
    test: { per_class: 2, count: 20, sha256: splitHash(drawn.test) },
  });
  const trainHash = record.train.sha256.slice(0, 12);

  // Default: the 50 training samples, said on stderr; the same numbers as asking for them explicitly.
  const byDefault = await cli(['spectrum', '--checkpoint', ck, ...SPECTRUM, '--seed', '3']);
  assert.equal(byDefault.code, 0, byDefault.stderr);
  assert.equal(
    byDefault.stderr,
    `samples: the 50 train samples (5 per class, seed 3) of mnist the net was trained on (sha256 ${trainHash} checked); --samples all for the whole split\n`,
  );
  const explicit = await cli([
    'spectrum',
    '--checkpoint',
    ck,
    '--data',
    'mnist',
    '--samples-per-class',
    '5',
    '--seed',
    '3',
    ...SPECTRUM,
  ]);
  assert.equal(explicit.code, 0, explicit.stderr);
  assert.equal(
    explicit.stderr,
    'samples: 50 train samples of mnist (5 per class, seed 3), as asked — not the 50 train samples (5 per class, seed 3) of mnist the net was trained on\n',
  );
  // Same samples and the same seed of the random vectors: the same numbers, bit for bit.
  const a = JSON.parse(byDefault.stdout) as SpectrumJson;
  const b = JSON.parse(explicit.stdout) as SpectrumJson;
  assert.equal(a.top.length, 2);
  assert.deepEqual(a.top, b.top);

  // --samples all: the whole split, said so; the operator averages over a different set (other eigenvalues).
  const all = await cli(['spectrum', '--checkpoint', ck, '--samples', 'all', ...SPECTRUM, '--seed', '3']);
  assert.equal(all.code, 0, all.stderr);
  // mnist draws train and test together: the whole train split outside the recorded 2 test digits per class.
  const whole = (await loadDataSource({ kind: 'mnist' }, { seed: 3, testPerClass: 2 })).train.shape[0];
  assert.equal(whole, 9980);
  assert.equal(
    all.stderr,
    `samples: ${whole} train samples of mnist (the whole split), as asked — not the 50 train samples (5 per class, seed 3) of mnist the net was trained on\n`,
  );
  assert.notEqual((JSON.parse(all.stdout) as SpectrumJson).top[0]!.value, a.top[0]!.value);

  // eval: the 20 test samples by default; logs on stderr, the result on stdout.
  const ev = await cli(['eval', '--checkpoint', ck]);
  assert.equal(ev.code, 0, ev.stderr);
  assert.match(ev.stdout, /^test split of mnist: 20 samples {2}loss \d\.\d{4} {2}accuracy \d+\.\d\d% /);
  assert.match(
    ev.stderr,
    new RegExp(
      `\\nsamples: the 20 test samples \\(2 per class, seed 3\\) of mnist the net was tested on \\(sha256 ${record.test.sha256.slice(0, 12)} checked\\); --samples all for the whole split\\n$`,
    ),
  );
  assert.match(ev.stderr, /^backend: /);

  // A record that no longer matches the data is an error, not a silent redraw.
  const { tensors, metadata } = readSafetensors(ck);
  const tampered = join(dir, 'tampered.safetensors');
  writeSafetensors(tampered, tensors, {
    ...metadata,
    'specpipe.samples': JSON.stringify({ ...record, train: { ...record.train, sha256: '0'.repeat(64) } }),
  });
  const bad = await cli(['spectrum', '--checkpoint', tampered, ...SPECTRUM]);
  assert.deepEqual(bad, {
    code: 1,
    stdout: '',
    stderr: `specpipe spectrum: ${tampered}: the train samples redrawn from mnist (seed 3) are not those the net was trained on (sha256 ${trainHash}, recorded 000000000000): the data changed; measure other samples with --samples all or --samples-per-class N\n`,
  });

  // An old checkpoint (no record): --data is needed, and the whole split is used with a notice.
  const old = join(dir, 'old.safetensors');
  const { ['specpipe.samples']: _dropped, ...oldMetadata } = metadata;
  writeSafetensors(old, tensors, oldMetadata);
  const noData = await cli(['spectrum', '--checkpoint', old, ...SPECTRUM]);
  assert.deepEqual(noData, {
    code: 2,
    stdout: '',
    stderr: `specpipe spectrum: ${old} records no training samples (no "specpipe.samples" metadata): pass --data SRC (e.g. mnist)\n`,
  });
  const oldRun = await cli(['spectrum', '--checkpoint', old, '--data', 'mnist', ...SPECTRUM]);
  assert.equal(oldRun.code, 0, oldRun.stderr);
  assert.equal(
    oldRun.stderr,
    `samples: ${(await loadDataSource({ kind: 'mnist' }, { seed: 0 })).train.shape[0]} train samples of mnist (the whole split); ${old} records no training samples (written before checkpoints recorded them)\n`,
  );
  assert.equal((JSON.parse(oldRun.stdout) as SpectrumJson).top.length, 2);
});

test("a train/sgd stage checkpoint records its data artifact; spectrum --checkpoint redraws the stage's samples from it", async () => {
  const pipe = join(dir, 'pipe.yaml');
  writeFileSync(
    pipe,
    `name: samples
seed: 5
stages:
  data:
    uses: data/mnist
    with: { train_per_class: 10, test_per_class: 3 }
  train:
    uses: train/sgd
    needs: [data]
    with: { model: { kind: mlp, hidden: [8] }, epochs: 1, batch_size: 20, train_per_class: 6 }
`,
  );
  const run = await cli(['run', pipe, '--store', join(dir, 'artifacts'), '--json']);
  assert.equal(run.code, 0, run.stderr);
  const stages = (JSON.parse(run.stdout) as { stages: { name: string; key: string; artifacts: string }[] }).stages;
  const data = stages.find((s) => s.name === 'data')!;
  const trained = stages.find((s) => s.name === 'train')!;
  const ck = join(trained.artifacts, 'checkpoint-epoch-1.safetensors');
  const subsets = trainingSubsets(loadTensorsFile(join(data.artifacts, 'dataset.safetensors')), { train_per_class: 6 }, 5);
  const record = JSON.parse(readSafetensors(ck).metadata['specpipe.samples']!) as SampleRecord;
  assert.deepEqual(record, {
    source: `artifact:${data.key}`,
    seed: 5,
    train: { per_class: 6, count: 60, sha256: splitHash(subsets.train) },
    test: { per_class: null, count: 30, sha256: splitHash(subsets.test) },
  });
  const r = await cli(['spectrum', '--checkpoint', ck, ...SPECTRUM]);
  assert.equal(r.code, 0, r.stderr);
  assert.equal(
    r.stderr,
    `samples: the 60 train samples (6 per class, seed 5) of artifact:${data.key} the net was trained on (sha256 ${record.train.sha256.slice(0, 12)} checked); --samples all for the whole split\n`,
  );
});
