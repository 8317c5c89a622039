// Non-finite values are refused where they enter (datasets, checkpoints, pipeline params) and
// displayed by name where they are shown (show, diff): never a crash, never a silent null.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { initBackend } from '../../src/backend/backend.js';
import { buildNetwork, parseModelSpec } from '../../src/nn/build.js';
import { loadCheckpoint, saveCheckpoint } from '../../src/nn/checkpoint.js';
import { shapeSize } from '../../src/nn/parameters.js';
import { writeSafetensors } from '../../src/store/safetensors.js';
import { loadTensorsFile } from '../../src/data/tensorsFile.js';
import { isSpecpipeError } from '../../src/util/errors.js';
import { runCli } from '../pipeline/cliHarness.js';
import type { RunRecord } from '../../src/store/runRecord.js';

await initBackend('cpu');
const dir = mkdtempSync(join(tmpdir(), 'specpipe-nonfinite-'));
process.on('exit', () => rmSync(dir, { recursive: true, force: true }));

test('a NaN pixel in a tensors file is refused, naming the file, the tensor and the index', () => {
  const images = new Float32Array(3 * 4).fill(0.5);
  images[6] = NaN;
  const path = join(dir, 'nan.safetensors');
  writeSafetensors(path, {
    images: { dtype: 'F32', shape: [3, 4], data: images },
    labels: { dtype: 'I64', shape: [3], data: BigInt64Array.from([0n, 1n, 0n]) },
  });
  assert.throws(
    () => loadTensorsFile(path),
    (e) =>
      isSpecpipeError(e) &&
      e.message === `${path}: tensor "images" holds NaN at flat index 6 (sample 1, element 2); every value must be finite`,
  );
  images[6] = -Infinity;
  writeSafetensors(path, {
    images: { dtype: 'F32', shape: [3, 4], data: images },
    labels: { dtype: 'I64', shape: [3], data: BigInt64Array.from([0n, 1n, 0n]) },
  });
  assert.throws(() => loadTensorsFile(path), /holds -Infinity at flat index 6/);
});

test('a NaN weight in a checkpoint is refused, naming the file, the key and the index', () => {
  const net = buildNetwork(parseModelSpec('mlp:4-3-2'));
  const params = net.paramEntries.map((e) => new Float32Array(shapeSize(e.shape)).fill(0.1));
  const first = net.paramEntries[0]!;
  params[0]![5] = NaN;
  const path = join(dir, 'nan-weight.safetensors');
  saveCheckpoint(path, net, params, [], { mean: [0], std: [1], pad: 0 });
  assert.throws(
    () => loadCheckpoint(path),
    (e) =>
      isSpecpipeError(e) &&
      e.reason === 'checkpoint-non-finite' &&
      e.message.startsWith(`${path}: key "${first.name}" holds NaN at flat index `) &&
      e.message.endsWith('(PyTorch layout); every weight must be finite'),
  );
});

function fakeRun(store: string, runs: string, id: string, metrics: Record<string, number>): void {
  const key = (id === 'a' ? 'a' : 'b').repeat(64);
  const record: RunRecord = {
    run: `20260101-000000-000-${id}${id}${id}${id}${id}${id}`,
    pipeline: { name: 'p', file: 'p.yaml', sha256: '', overrides: [] },
    store,
    backend: 'cpu',
    executor: 'local',
    started: '2026-01-01T00:00:00.000Z',
    finished: '2026-01-01T00:00:01.000Z',
    seconds: 1,
    counts: { executed: 1, cached: 0, failed: 0 },
    stages: [
      {
        name: 'train',
        stage: 'train',
        kind: 'test/const',
        key,
        status: 'executed',
        seconds: NaN,
        artifacts: join(store, key),
        matrix: {},
        coords: {},
        params: { lr: id === 'a' ? 1 : 2 },
        ingredients: {} as RunRecord['stages'][number]['ingredients'],
        metrics,
      },
    ],
  };
  mkdirSync(runs, { recursive: true });
  // The artifact's directory exists (not collected by gc: show would refuse the run, exit 1).
  mkdirSync(join(store, key), { recursive: true });
  // JSON.stringify writes NaN and Infinity as null: what a real record of a NaN loss holds.
  writeFileSync(join(runs, `${record.run}.json`), JSON.stringify(record));
}

test('show and diff display NaN metrics (null in JSON) without crashing', async () => {
  const ws = mkdtempSync(join(dir, 'ws-'));
  const store = join(ws, 'artifacts');
  const runs = join(ws, 'runs');
  fakeRun(store, runs, 'a', { loss: NaN, acc: 0.5 });
  fakeRun(store, runs, 'b', { loss: 0.25, acc: Infinity });
  const show = await runCli(['show', 'last~1'], { cwd: ws });
  assert.equal(show.code, 0, show.stderr);
  assert.match(show.stdout, /train +executed +non-finite s +aaaaaaaaaaaa +loss=non-finite acc=0.50000/);
  const diff = await runCli(['diff', 'last~1', 'last'], { cwd: ws });
  assert.equal(diff.code, 0, diff.stderr);
  assert.match(diff.stdout, /train +loss: NaN → 0\.250000 +\(NaN\)/);
  assert.match(diff.stdout, /train +acc: 0\.500000 → NaN/);
});

test('lr: .inf in a pipeline is refused with its file:line:column', async () => {
  const ws = mkdtempSync(join(dir, 'ws-'));
  writeFileSync(
    join(ws, 'p.yaml'),
    `name: inf
stages:
  data:
    uses: data/mnist
    with: { train_per_class: 5, test_per_class: 2 }
  train:
    uses: train/sgd
    needs: [data]
    with:
      model: { kind: mlp, hidden: [8] }
      lr: .inf
`,
  );
  const r = await runCli(['validate', 'p.yaml'], { cwd: ws });
  assert.equal(r.code, 1);
  assert.match(r.stdout + r.stderr, /p\.yaml:11:11: stages\.train\.with\.lr must be <= 1000000, received Infinity/);
});
