// k × k average pooling of datasets (src/data/downsample.ts, data/mnist `downsample`).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { downsampleDataset, downsampleSplit } from '../../src/data/downsample.js';
import { loadMnist } from '../../src/data/mnist.js';

test('downsampleSplit averages k × k blocks per channel and keeps the labels', () => {
  // 2 samples, 2 channels, 4 × 4 pixels with value 100·sample + 10·channel + (4y + x)/16.
  const images = Float32Array.from({ length: 2 * 2 * 16 }, (_, i) => {
    const n = Math.floor(i / 32);
    const c = Math.floor(i / 16) % 2;
    return 100 * n + 10 * c + (i % 16) / 16;
  });
  const labels = Int32Array.from([3, 7]);
  const d = downsampleSplit({ images, shape: [2, 2, 4, 4], labels }, 2);
  assert.deepEqual(d.shape, [2, 2, 2, 2]);
  assert.equal(d.labels, labels);
  // Block (0, 0) of sample 1, channel 1: pixels 0, 1, 4, 5.
  assert.ok(Math.abs(d.images[4 + 4 * 2 + 0 * 2 + 0]! - (110 + (0 + 1 + 4 + 5) / 64)) < 1e-4);
  // Block (1, 1) of sample 0, channel 0: pixels 10, 11, 14, 15.
  assert.ok(Math.abs(d.images[3]! - (10 + 11 + 14 + 15) / 64) < 1e-6);
  assert.equal(downsampleSplit({ images, shape: [2, 2, 4, 4], labels }, 1).images, images, 'k = 1: unchanged');
  assert.throws(
    () => downsampleSplit({ images, shape: [2, 2, 4, 4], labels }, 3),
    /downsample: the factor must be a positive integer dividing the image size 4 × 4, received 3/,
  );
});

test('MNIST pooled 4 × 4: the same digits at 7 × 7, each block the mean of its 16 pixels', () => {
  const full = loadMnist({ seed: 0, trainPerClass: 3, testPerClass: 2 });
  const small = downsampleDataset(full, 4);
  assert.deepEqual(small.train.shape, [full.train.shape[0], 1, 7, 7]);
  assert.deepEqual(small.test.shape, [full.test.shape[0], 1, 7, 7]);
  assert.deepEqual(small.train.labels, full.train.labels);
  let total = 0;
  for (let y = 0; y < 4; y++) for (let x = 0; x < 4; x++) total += full.train.images[(8 + y) * 28 + 12 + x]!;
  assert.ok(Math.abs(small.train.images[2 * 7 + 3]! - total / 16) < 1e-6);
  assert.equal(small.classes, full.classes);
});
