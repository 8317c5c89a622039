/**
 * What enters a stage key and what does not (architecture issue item 4): the execution layout
 * (spectrum/slq's workers, processes, redis_shards; --jobs) is provenance, not key; every file a
 * stage reads (data roots, IDX files, model JSON files) enters its key by content, through a
 * fingerprint cache that lets an unchanged rerun stat its inputs without reading them.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { appendFileSync, mkdirSync, readFileSync, utimesSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import sharp from 'sharp';
import './fixtures/testStages.js';
import { preparePlan } from '../../src/pipeline/preparePlan.js';
import { buildPlan, type Plan } from '../../src/pipeline/plan.js';
import { PRODUCT_NUMERICS } from '../../src/curvature/productPath.js';
import { FingerprintCache, fingerprintCounters } from '../../src/store/fileFingerprint.js';
import type { Manifest } from '../../src/store/manifest.js';
import { listRunIds } from '../../src/store/runRecord.js';
import { runCli, runJson, statuses, tempWorkspace } from './cliHarness.js';

/** Sets a file's mtime a minute back, out of the fingerprint cache's racy window (a fresh file is hashed again next time). */
function settle(...paths: string[]): void {
  const t = new Date(Date.now() - 60_000);
  for (const p of paths) utimesSync(p, t, t);
}

/** Writes `yaml` as DIR/p.yaml and returns its path. */
function writePipeline(dir: string, yaml: string): string {
  const file = join(dir, 'p.yaml');
  writeFileSync(file, yaml);
  return file;
}

async function plan(file: string, overrides: string[] = [], fingerprints?: FingerprintCache): Promise<Plan> {
  return (await preparePlan(file, overrides, { resolveBackend: false, ...(fingerprints && { fingerprints }) })).plan;
}

function keysOf(p: Plan): Record<string, string> {
  return Object.fromEntries(p.nodes.map((n) => [n.name, n.key]));
}

/** Instance names whose key differs between two plans of the same pipeline. */
function changed(a: Plan, b: Plan): string[] {
  const ka = keysOf(a);
  return b.nodes.filter((n) => ka[n.name] !== n.key).map((n) => n.name);
}

async function png(path: string, rgb: readonly [number, number, number]): Promise<void> {
  await sharp({ create: { width: 8, height: 8, channels: 3, background: { r: rgb[0], g: rgb[1], b: rgb[2] } } })
    .png()
    .toFile(path);
}

/** ROOT/train/{cat,dog}/{0,1}.png and ROOT/val/{cat,dog}/0.png (8×8). */
async function imageFolder(root: string): Promise<string[]> {
  const files: string[] = [];
  for (const [cls, rgb] of [
    ['cat', [200, 30, 30]],
    ['dog', [30, 30, 200]],
  ] as const) {
    for (const [split, n] of [
      ['train', 2],
      ['val', 1],
    ] as const) {
      mkdirSync(join(root, split, cls), { recursive: true });
      for (let i = 0; i < n; i++) {
        const f = join(root, split, cls, `${i}.png`);
        await png(f, [rgb[0], rgb[1] + 40 * i, split === 'val' ? 100 : rgb[2]]);
        files.push(f);
      }
    }
  }
  return files;
}

const MODEL = { kind: 'mlp', input: [192], hidden: [4], classes: 2, activation: 'relu' };

test('spectrum/slq: workers, processes, redis_shards and recording_budget_mib leave the key and ride on the plan node', async () => {
  const dir = tempWorkspace('specpipe-keys-');
  const file = writePipeline(
    dir,
    `name: layout
stages:
  data: { uses: data/mnist, with: { train_per_class: 2, test_per_class: 1 } }
  train: { uses: train/sgd, needs: [data], with: { model: { kind: mlp, hidden: [4] }, epochs: 1 } }
  spectra: { uses: spectrum/slq, needs: [train], with: { lanczos_steps: 4, start_vectors: 1 } }
`,
  );
  const base = await plan(file);
  const laidOut = await plan(file, [
    'spectra.with.workers=2',
    'spectra.with.processes=3',
    'spectra.with.redis_shards=1',
    'spectra.with.recording_budget_mib=0',
  ]);
  assert.deepEqual(changed(base, laidOut), []);
  const node = laidOut.nodes.find((n) => n.stage === 'spectra')!;
  assert.deepEqual(node.execution, { workers: 2, processes: 3, redis_shards: 1, recording_budget_mib: 0 });
  assert.equal(node.params['workers'], 2, 'the stage runs with the merged params');
  const hashed = node.ingredients.params as Record<string, unknown>;
  for (const p of ['workers', 'processes', 'redis_shards', 'recording_budget_mib'])
    assert.ok(!(p in hashed), `${p} is not hashed`);
  assert.equal(hashed['batch_size'], 500, 'batch_size stays in the key (float32 batch sums change in the 7th digit)');
  assert.deepEqual(changed(base, await plan(file, ['spectra.with.batch_size=250'])), ['spectra']);
  assert.equal(base.nodes.find((n) => n.stage === 'train')!.execution, undefined);
});

test('numerics.products: MLP curvature stages (model object, shorthand or JSON file) under a native-sgemm backend record mlp-sgemm (inherited downstream); LeNet, training and wasm keep their keys', async () => {
  const dir = tempWorkspace('specpipe-keys-');
  const file = writePipeline(
    dir,
    `name: products
stages:
  data: { uses: data/mnist, with: { train_per_class: 2, test_per_class: 1 } }
  train:
    uses: train/sgd
    needs: [data]
    matrix:
      model:
        - { kind: mlp, hidden: [4] }
        - { kind: lenet, channels: [2, 2], hidden: 4, kernel: 3 }
        - 'mlp:784-3-10:tanh'
        - mlp-model.json
    with: { epochs: 1 }
  spectra: { uses: spectrum/slq, needs: [train], with: { lanczos_steps: 4, start_vectors: 1 } }
  decompose: { uses: decompose/class-gradients, needs: [train] }
  pieces: { uses: spectrum/slq, needs: [decompose], with: { operator: a1, lanczos_steps: 4, start_vectors: 1 } }
`,
  );
  writeFileSync(join(dir, 'mlp-model.json'), JSON.stringify({ kind: 'mlp', hidden: [2] }));
  const { loaded } = await preparePlan(file, [], { resolveBackend: false });
  const products = (backendId: string): Record<string, unknown> =>
    Object.fromEntries(buildPlan(loaded, { backendId }).nodes.map((n) => [n.name, n.ingredients.numerics['products']]));
  const isMlp = (name: string): boolean => name.includes('mlp');
  for (const backendId of ['cpu+openblas', 'cpu+specpipe-sgemm']) {
    for (const [name, value] of Object.entries(products(backendId))) {
      const curving = /^(spectra|decompose|pieces)\[/.test(name);
      assert.equal(value, curving && isMlp(name) ? PRODUCT_NUMERICS['mlp-sgemm'] : undefined, `${backendId}: ${name}`);
    }
  }
  for (const backendId of ['wasm', 'cpu', 'tensorflow'])
    assert.ok(
      Object.values(products(backendId)).every((v) => v === undefined),
      backendId,
    );
  const names = buildPlan(loaded, { backendId: 'cpu+openblas' }).nodes.map((n) => n.name);
  for (const model of ['"kind":"mlp"', 'lenet', 'mlp:784', 'mlp-model.json'])
    assert.ok(
      names.some((n) => n.startsWith('pieces[') && n.includes(model)),
      `${model} planned: ${names.join(' ')}`,
    );
});

test('imagefolder root: an added image changes the data key and its downstream only; unchanged inputs are not re-read', async () => {
  const dir = tempWorkspace('specpipe-keys-');
  const files = await imageFolder(join(dir, 'images'));
  writeFileSync(join(dir, 'model.json'), JSON.stringify(MODEL));
  settle(...files, join(dir, 'model.json'));
  const file = writePipeline(
    dir,
    `name: files
stages:
  data: { uses: data/imagefolder, with: { root: images, image_size: 8 } }
  train: { uses: train/sgd, needs: [data], with: { model: model.json, epochs: 1 } }
  other: { uses: test/const, with: { value: 1 } }
`,
  );
  const store = join(dir, 'store');
  fingerprintCounters.filesHashed = 0;
  const first = await plan(file, [], FingerprintCache.forStore(store));
  assert.equal(fingerprintCounters.filesHashed, files.length + 1, 'every image and the model file hashed once');
  const data = first.nodes.find((n) => n.stage === 'data')!;
  assert.match(data.ingredients.inputs?.['train'] ?? '', /^tree:[0-9a-f]{64}$/);
  assert.match(data.ingredients.inputs?.['val'] ?? '', /^tree:[0-9a-f]{64}$/);
  const train = first.nodes.find((n) => n.stage === 'train')!;
  assert.equal(train.params['model'], join(dir, 'model.json'), 'a model file is resolved against the pipeline file');
  assert.match(train.ingredients.inputs?.['model'] ?? '', /^sha256:/);
  assert.equal(
    first.nodes.find((n) => n.stage === 'other')!.ingredients.inputs,
    undefined,
    'kinds that read no file have no inputs',
  );

  // Unchanged: the cache in the store answers, no file is read.
  fingerprintCounters.filesHashed = 0;
  const again = await plan(file, [], FingerprintCache.forStore(store));
  assert.equal(fingerprintCounters.filesHashed, 0);
  assert.deepEqual(changed(first, again), []);
  // --verify full: everything rehashed, same keys.
  const full = await plan(file, [], FingerprintCache.forStore(store, { trust: false }));
  assert.equal(fingerprintCounters.filesHashed, files.length + 1);
  assert.deepEqual(changed(first, full), []);

  await png(join(dir, 'images', 'train', 'dog', '2.png'), [10, 10, 10]);
  fingerprintCounters.filesHashed = 0;
  const added = await plan(file, [], FingerprintCache.forStore(store));
  assert.equal(fingerprintCounters.filesHashed, 1, 'only the new image is read');
  assert.deepEqual(changed(first, added), ['data', 'train']);

  writeFileSync(join(dir, 'model.json'), JSON.stringify({ ...MODEL, hidden: [5] }));
  assert.deepEqual(changed(added, await plan(file, [], FingerprintCache.forStore(store))), ['train']);
});

test('fashion-mnist IDX files: editing one changes the data key and its downstream only', async () => {
  const dir = tempWorkspace('specpipe-keys-');
  const root = join(dir, 'fashion');
  mkdirSync(root);
  const names = ['train-images-idx3-ubyte', 'train-labels-idx1-ubyte', 't10k-images-idx3-ubyte', 't10k-labels-idx1-ubyte'];
  for (const n of names) writeFileSync(join(root, `${n}.gz`), `fake ${n}`);
  writeFileSync(join(root, 'README'), 'not read by the loader');
  const file = writePipeline(
    dir,
    `name: idx
stages:
  data: { uses: data/fashion-mnist, with: { root: fashion } }
  train: { uses: train/sgd, needs: [data], with: { model: { kind: mlp, hidden: [4] } } }
  other: { uses: test/const, with: { value: 1 } }
`,
  );
  const first = await plan(file);
  assert.deepEqual(Object.keys(first.nodes[0]!.ingredients.inputs ?? {}).sort(), [...names].sort());
  appendFileSync(join(root, 'README'), ' (edited)');
  assert.deepEqual(changed(first, await plan(file)), [], 'a file the loader does not read changes nothing');
  appendFileSync(join(root, 't10k-labels-idx1-ubyte.gz'), '!');
  assert.deepEqual(changed(first, await plan(file)), ['data', 'train']);
});

test('data/tensors: the file content is an input, a pinned sha256 is checked against it', async () => {
  const dir = tempWorkspace('specpipe-keys-');
  writeFileSync(join(dir, 'd.safetensors'), 'bytes');
  const file = writePipeline(dir, `name: t\nstages:\n  data: { uses: data/tensors, with: { path: d.safetensors } }\n`);
  const first = await plan(file);
  const node = first.nodes[0]!;
  assert.equal(node.params['path'], join(dir, 'd.safetensors'));
  assert.equal(node.params['sha256'], undefined, 'the content is in `inputs`, not in the params');
  const sha = node.ingredients.inputs?.['path']?.replace(/^sha256:/, '') ?? '';
  assert.match(sha, /^[0-9a-f]{64}$/);
  assert.deepEqual(changed(first, await plan(file, [`data.with.sha256="${sha}"`])), ['data'], 'a pin is a param');
  await assert.rejects(plan(file, [`data.with.sha256="${'0'.repeat(64)}"`]), /pins sha256 0000/);
  writeFileSync(join(dir, 'd.safetensors'), 'other bytes');
  assert.deepEqual(changed(first, await plan(file)), ['data']);
});

test('changing workers, processes or --jobs reruns nothing; explain says why; the manifest records the layout', async () => {
  const dir = tempWorkspace('specpipe-keys-');
  const file = writePipeline(
    dir,
    `name: layout
stages:
  data: { uses: data/mnist, with: { train_per_class: 3, test_per_class: 1 } }
  train: { uses: train/sgd, needs: [data], with: { model: { kind: mlp, hidden: [4] }, epochs: 1, batch_size: 8 } }
  spectra: { uses: spectrum/slq, needs: [train], with: { lanczos_steps: 4, start_vectors: 1, grid_size: 16 } }
`,
  );
  const first = await runJson([file, '--jobs', '1'], { cwd: dir });
  assert.deepEqual(statuses(first), { data: 'executed', train: 'executed', spectra: 'executed' }, first.stderr);
  const spectra = first.stages.find((s) => s.name === 'spectra')!;
  const manifest = JSON.parse(readFileSync(join(spectra.artifacts, 'manifest.json'), 'utf8')) as Manifest;
  assert.deepEqual(manifest.execution, { workers: 0, processes: 0, redis_shards: 0, recording_budget_mib: 1024 });
  const spectrumBytes = readFileSync(join(spectra.artifacts, 'spectrum.arrow'));

  const layout = ['--set', 'spectra.with.workers=2', '--set', 'spectra.with.processes=1', '--jobs', '2'];
  const second = await runJson([file, ...layout], { cwd: dir });
  assert.deepEqual(statuses(second), { data: 'cached', train: 'cached', spectra: 'cached' }, second.stderr);
  assert.equal(second.stages.find((s) => s.name === 'spectra')!.key, spectra.key);
  assert.deepEqual(readFileSync(join(spectra.artifacts, 'spectrum.arrow')), spectrumBytes);

  // explain against the last run: cached, and why a layout change reruns nothing.
  assert.equal(listRunIds(join(dir, 'runs')).length, 2);
  const e = await runCli(['explain', file, 'spectra', '--set', 'spectra.with.workers=3', '--json'], { cwd: dir });
  assert.equal(e.code, 0, e.stderr);
  const [x] = JSON.parse(e.stdout) as { verdict: string; executionChanges: string[] }[];
  assert.equal(x?.verdict, 'cached');
  assert.deepEqual(x?.executionChanges, [
    'processes: 1 → 0 (execution layout, not in the key)',
    'workers: 2 → 3 (execution layout, not in the key)',
  ]);
  const text = await runCli(['explain', file, 'spectra', '--set', 'spectra.with.workers=3'], { cwd: dir });
  assert.match(
    text.stdout,
    /spectra {2}[0-9a-f]{12} {2}cached \(processes: 1 → 0 \(execution layout, not in the key\); workers: 2 → 3/,
  );
  assert.match(
    text.stdout,
    /execution +changed +workers=3, processes=0, redis_shards=0, recording_budget_mib=1024 \(not in the key\)/,
  );

  // --verify full rehashes the input files (the mnist package's digits) and the artifacts: still nothing to run.
  fingerprintCounters.filesHashed = 0;
  const full = await runJson([file, '--verify', 'full'], { cwd: dir });
  assert.deepEqual(statuses(full), { data: 'cached', train: 'cached', spectra: 'cached' });
  assert.ok(fingerprintCounters.filesHashed >= 10, 'the mnist digit files are rehashed under --verify full');
  fingerprintCounters.filesHashed = 0;
  await runJson([file], { cwd: dir });
  assert.equal(fingerprintCounters.filesHashed, 0, 'a plain rerun reads no input file');
});

test('imagefolder end to end: an added image reruns data and train, not the unrelated stage; a model file edit reruns train only', async () => {
  const dir = tempWorkspace('specpipe-keys-');
  const files = await imageFolder(join(dir, 'images'));
  writeFileSync(join(dir, 'model.json'), JSON.stringify(MODEL));
  settle(...files, join(dir, 'model.json'));
  const file = writePipeline(
    dir,
    `name: files
stages:
  data: { uses: data/imagefolder, with: { root: images, image_size: 8 } }
  train: { uses: train/sgd, needs: [data], with: { model: model.json, epochs: 1, batch_size: 4 } }
  other: { uses: test/const, with: { value: 1 } }
`,
  );
  const first = await runJson([file, '--jobs', '1'], { cwd: dir });
  assert.deepEqual(statuses(first), { data: 'executed', train: 'executed', other: 'executed' }, first.stderr);
  await png(join(dir, 'images', 'train', 'cat', '2.png'), [250, 250, 250]);
  const added = await runJson([file, '--jobs', '1'], { cwd: dir });
  assert.deepEqual(statuses(added), { data: 'executed', train: 'executed', other: 'cached' }, added.stderr);

  writeFileSync(join(dir, 'model.json'), JSON.stringify({ ...MODEL, hidden: [3] }));
  const edited = await runJson([file, '--jobs', '1'], { cwd: dir });
  assert.deepEqual(statuses(edited), { data: 'cached', train: 'executed', other: 'cached' }, edited.stderr);
  const e = await runCli(['explain', file, 'train'], { cwd: dir });
  assert.match(e.stdout, /inputs +same +model=sha256:/);
  writeFileSync(join(dir, 'model.json'), JSON.stringify({ ...MODEL, hidden: [2] }));
  const e2 = await runCli(['explain', file, 'train'], { cwd: dir });
  assert.match(e2.stdout, /WOULD EXECUTE: inputs changed: model: sha256:[0-9a-f]{12} → sha256:[0-9a-f]{12} \(content changed\)/);
});
