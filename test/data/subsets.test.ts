import { test } from 'node:test';
import assert from 'node:assert/strict';
import { balancedSubset, indicesByClass } from '../../src/data/balancedSubset.js';
import { chooseClasses, selectClasses } from '../../src/data/classSubset.js';
import type { Dataset, Split } from '../../src/data/dataset.js';

/** N samples of one pixel each; sample i has pixel value i and label labelOf(i). */
function toySplit(n: number, labelOf: (i: number) => number): Split {
  return {
    images: Float32Array.from({ length: n }, (_, i) => i),
    shape: [n, 1, 1, 1],
    labels: Int32Array.from({ length: n }, (_, i) => labelOf(i)),
  };
}

test('balancedSubset: exactly n per class, drawn from the right samples, seeded, nested across n, mixed order', () => {
  const split = toySplit(300, (i) => (i % 3 === 0 ? 0 : i % 3 === 1 ? 1 : 2));
  const s10 = balancedSubset(split, 10, 7);
  assert.deepEqual(s10.shape, [30, 1, 1, 1]);
  assert.deepEqual(
    indicesByClass(s10).map((c) => c.length),
    [10, 10, 10],
  );
  for (let k = 0; k < 30; k++) assert.equal(s10.labels[k], s10.images[k]! % 3, 'image and label stay paired');
  assert.equal(new Set(s10.images).size, 30, 'no sample drawn twice');
  assert.deepEqual(balancedSubset(split, 10, 7), s10, 'same seed, same subset');
  assert.notDeepEqual(balancedSubset(split, 10, 8).images, s10.images);
  const s50 = new Set(balancedSubset(split, 50, 7).images);
  for (const v of s10.images) assert.ok(s50.has(v), `subset of 10/class ⊂ subset of 50/class (sample ${v})`);
  const firstLabels = Array.from(s10.labels.subarray(0, 10));
  assert.ok(new Set(firstLabels).size > 1, `classes are interleaved, first labels ${firstLabels.join(',')}`);
});

test('balancedSubset: a class with too few samples is named, with its count', () => {
  const split = toySplit(25, (i) => (i < 20 ? i % 2 : 2)); // 10, 10, 5
  assert.throws(() => balancedSubset(split, 6, 0), { message: 'class 2 has 5 samples, fewer than the 6 per class requested' });
  assert.throws(() => balancedSubset(split, 6, 0, ['cat', 'dog', 'emu']), {
    message: 'class 2 ("emu") has 5 samples, fewer than the 6 per class requested',
  });
  assert.throws(() => balancedSubset(split, 11, 0, ['a', 'b', 'c', 'd']), {
    message: 'class 0 ("a") has 10 samples, fewer than the 11 per class requested',
  });
  assert.throws(() => balancedSubset(split, 0, 0), { message: 'samples per class must be a positive integer, received 0' });
});

test('class subsets relabel the kept classes in order and keep only their samples', () => {
  const data: Dataset = {
    name: 'toy',
    classes: ['a', 'b', 'c', 'd'],
    train: toySplit(8, (i) => i % 4),
    test: toySplit(4, (i) => 3 - i),
  };
  const s = selectClasses(data, ['d', 'b'], 0);
  assert.deepEqual(s.classes, ['b', 'd']);
  assert.deepEqual(Array.from(s.train.images), [1, 3, 5, 7]);
  assert.deepEqual(Array.from(s.train.labels), [0, 1, 0, 1]);
  assert.deepEqual(Array.from(s.test.labels), [1, 0]);
  assert.deepEqual(Array.from(s.test.images), [0, 2]);
  const picks = new Set<string>();
  for (let seed = 0; seed < 20; seed++) {
    const k = chooseClasses(data.classes, 2, seed);
    assert.equal(k.length, 2);
    assert.ok(k[0]! < k[1]!);
    picks.add(k.join());
  }
  assert.ok(picks.size >= 4, `seeds give different subsets: ${[...picks].join(' ')}`);
  assert.throws(() => chooseClasses(data.classes, ['a', 'a'], 0), { message: 'class "a" is listed twice in classes' });
  assert.throws(() => chooseClasses(data.classes, [], 0), {
    message: 'classes must name at least one class, received an empty list',
  });
});
