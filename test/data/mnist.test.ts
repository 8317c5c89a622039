import { test } from 'node:test';
import assert from 'node:assert/strict';
import { loadMnist } from '../../src/data/mnist.js';
import type { Split } from '../../src/data/dataset.js';

function counts(split: Split): number[] {
  const c = new Array<number>(10).fill(0);
  for (const l of split.labels) c[l]!++;
  return c;
}

function sampleKeys(split: Split): string[] {
  const d = 784;
  const keys: string[] = [];
  for (let i = 0; i < split.shape[0]; i++)
    keys.push(Buffer.from(split.images.buffer, split.images.byteOffset + i * d * 4, d * 4).toString('base64'));
  return keys;
}

test('mnist: default split is 8,000 train / 2,000 test, test exactly 200 per class, no overlap, pixels in [0, 1]', () => {
  const d = loadMnist();
  assert.equal(d.name, 'mnist');
  assert.deepEqual(d.classes, ['0', '1', '2', '3', '4', '5', '6', '7', '8', '9']);
  assert.deepEqual(d.train.shape, [8000, 1, 28, 28]);
  assert.deepEqual(d.test.shape, [2000, 1, 28, 28]);
  assert.deepEqual(counts(d.test), new Array(10).fill(200));
  // the package's per-class counts minus the 200 test digits
  assert.deepEqual(
    counts(d.train),
    [1001, 1127, 991, 1032, 980, 863, 1014, 1070, 944, 978].map((n) => n - 200),
  );
  let min = Infinity;
  let max = -Infinity;
  let sum = 0;
  for (const v of d.train.images) {
    min = Math.min(min, v);
    max = Math.max(max, v);
    sum += v;
  }
  assert.equal(min, 0);
  assert.equal(max, 1);
  const mean = sum / d.train.images.length;
  assert.ok(mean > 0.12 && mean < 0.14, `MNIST mean pixel ≈ 0.13, found ${mean}`);
  const train = new Set(sampleKeys(d.train));
  const test = sampleKeys(d.test);
  assert.ok(train.size > 7990, 'train digits are distinct samples');
  assert.equal(test.filter((k) => train.has(k)).length, 0, 'no test digit appears in train');
  // classes are mixed in the sample order (seeded shuffle), not sorted
  assert.notDeepEqual(
    Array.from(d.train.labels.subarray(0, 20)),
    [...Array.from(d.train.labels.subarray(0, 20))].sort((a, b) => a - b),
  );
});

test('mnist: the split is a function of the seed; per-class options give balanced splits; too few digits name the class', () => {
  const a = loadMnist({ seed: 3, trainPerClass: 50, testPerClass: 20 });
  const b = loadMnist({ seed: 3, trainPerClass: 50, testPerClass: 20 });
  const c = loadMnist({ seed: 4, trainPerClass: 50, testPerClass: 20 });
  assert.deepEqual(a.train.shape, [500, 1, 28, 28]);
  assert.deepEqual(counts(a.train), new Array(10).fill(50));
  assert.deepEqual(counts(a.test), new Array(10).fill(20));
  assert.deepEqual(a.train.images, b.train.images);
  assert.deepEqual(a.test.labels, b.test.labels);
  assert.notDeepEqual(a.train.images, c.train.images);
  const trainKeys = new Set(sampleKeys(a.train));
  assert.equal(sampleKeys(a.test).filter((k) => trainKeys.has(k)).length, 0);
  assert.throws(() => loadMnist({ trainPerClass: 800, testPerClass: 200 }), {
    message:
      'mnist has too few digits for testPerClass + trainPerClass = 200 + 800 = 1000 in classes 2 (991), 4 (980), 5 (863), 8 (944), 9 (978) (class (digits available))',
  });
  assert.throws(() => loadMnist({ testPerClass: 900 }), {
    message: 'mnist has too few digits for testPerClass = 900 in class 5 (863) (class (digits available))',
  });
  assert.throws(() => loadMnist({ testPerClass: -1 }), {
    message: 'mnist testPerClass must be a non-negative integer, received -1',
  });
});
