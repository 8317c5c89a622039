import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadTensorsFile } from '../../src/data/tensorsFile.js';
import { writeSafetensors, type SafeTensor } from '../../src/store/safetensors.js';

const f32 = (shape: number[], f: (i: number) => number): SafeTensor => ({
  dtype: 'F32',
  shape,
  data: Float32Array.from({ length: shape.reduce((a, b) => a * b, 1) }, (_, i) => f(i)),
});
const i64 = (values: number[]): SafeTensor => ({
  dtype: 'I64',
  shape: [values.length],
  data: BigInt64Array.from(values.map(BigInt)),
});

test('tensors: images [N, C, H, W] + int64 labels, optional test pair, class names from metadata', () => {
  const dir = mkdtempSync(join(tmpdir(), 'tens-'));
  const p = join(dir, 'd.safetensors');
  writeSafetensors(
    p,
    {
      images: f32([3, 2, 2, 2], (i) => i / 24),
      labels: i64([1, 0, 2]),
      test_images: f32([1, 2, 2, 2], (i) => 1 - i / 8),
      test_labels: i64([2]),
    },
    { classes: '["cat", "dog", "emu"]' },
  );
  const d = loadTensorsFile(p);
  assert.equal(d.name, 'tensors');
  assert.deepEqual(d.classes, ['cat', 'dog', 'emu']);
  assert.deepEqual(d.train.shape, [3, 2, 2, 2]);
  assert.deepEqual(Array.from(d.train.labels), [1, 0, 2]);
  assert.equal(d.train.images[13], Math.fround(13 / 24), 'PyTorch NCHW order kept');
  assert.deepEqual(d.test.shape, [1, 2, 2, 2]);
  assert.deepEqual(Array.from(d.test.labels), [2]);
  assert.equal(d.test.images[7], Math.fround(1 / 8));
});

test('tensors: flat [N, D] images become [N, D, 1, 1]; without metadata classes are "0".."K-1"; no test pair → empty test', () => {
  const dir = mkdtempSync(join(tmpdir(), 'tens-'));
  const p = join(dir, 'flat.safetensors');
  writeSafetensors(p, {
    images: f32([4, 5], (i) => i),
    labels: { dtype: 'I32', shape: [4], data: Int32Array.from([0, 3, 1, 1]) },
  });
  const d = loadTensorsFile(p);
  assert.deepEqual(d.train.shape, [4, 5, 1, 1]);
  assert.deepEqual(d.classes, ['0', '1', '2', '3']);
  assert.deepEqual(d.test.shape, [0, 5, 1, 1]);
  assert.equal(d.test.labels.length, 0);
});

test('tensors: missing tensors, wrong dtypes and shapes are errors naming the tensor, expected vs found', () => {
  const dir = mkdtempSync(join(tmpdir(), 'tens-'));
  const cases: [string, Record<string, SafeTensor>, Record<string, string>, string][] = [
    ['nolabels', { images: f32([2, 3], (i) => i) }, {}, 'tensor "labels" not found (expected int64 [N]); the file holds images'],
    [
      'noimages',
      { x: f32([2, 3], (i) => i) },
      {},
      'tensor "images" not found (expected float32 [N, C, H, W] or [N, D]); the file holds x',
    ],
    [
      'f64',
      { images: { dtype: 'F64', shape: [2, 3], data: new Float64Array(6) }, labels: i64([0, 1]) },
      {},
      'tensor "images" must be F32 with shape [N, C, H, W] or [N, D], found F64 [2, 3]',
    ],
    [
      '3d',
      { images: f32([2, 3, 4], (i) => i), labels: i64([0, 1]) },
      {},
      'tensor "images" must be F32 with shape [N, C, H, W] or [N, D], found F32 [2, 3, 4]',
    ],
    [
      'flabels',
      { images: f32([2, 3], (i) => i), labels: f32([2], (i) => i) },
      {},
      'tensor "labels" must be I64 with shape [2] (one label per row of "images"), found F32 [2]',
    ],
    [
      'nlabels',
      { images: f32([2, 3], (i) => i), labels: i64([0, 1, 1]) },
      {},
      'tensor "labels" must be I64 with shape [2] (one label per row of "images"), found I64 [3]',
    ],
    ['neg', { images: f32([2, 3], (i) => i), labels: i64([0, -1]) }, {}, 'tensor "labels"[1] is -1, expected a class index ≥ 0'],
    [
      'halftest',
      { images: f32([2, 3], (i) => i), labels: i64([0, 1]), test_images: f32([1, 3], (i) => i) },
      {},
      'tensor "test_labels" not found (expected int64 [N]); the file holds images, labels, test_images',
    ],
    [
      'testshape',
      { images: f32([2, 3], (i) => i), labels: i64([0, 1]), test_images: f32([1, 4], (i) => i), test_labels: i64([0]) },
      {},
      'tensor "test_images" has sample shape [4, 1, 1], expected [3, 1, 1] like "images"',
    ],
    [
      'names',
      { images: f32([2, 3], (i) => i), labels: i64([0, 2]) },
      { classes: '["a","b"]' },
      'metadata "classes" names 2 classes, but the labels go up to 2',
    ],
    [
      'badnames',
      { images: f32([2, 3], (i) => i), labels: i64([0, 1]) },
      { classes: 'a,b' },
      'metadata "classes" must be a JSON array of class names (found 3 characters that are not; file content is not shown)',
    ],
  ];
  for (const [name, tensors, metadata, message] of cases) {
    const p = join(dir, `${name}.safetensors`);
    writeSafetensors(p, tensors, metadata);
    assert.throws(() => loadTensorsFile(p), { message: `${p}: ${message}` }, name);
  }
});
