import { test } from 'node:test';
import assert from 'node:assert/strict';
import { channelStatistics, preprocessSplit } from '../../src/data/preprocess.js';
import { batches, selectSamples, sliceBatch } from '../../src/data/batches.js';
import type { Split } from '../../src/data/dataset.js';
import { Rng } from '../../src/util/random.js';

function randomSplit(n: number, c: number, h: number, w: number, seed: number): Split {
  const rng = new Rng(seed);
  return {
    images: Float32Array.from({ length: n * c * h * w }, () => rng.uniform()),
    shape: [n, c, h, w],
    labels: Int32Array.from({ length: n }, () => rng.int(5)),
  };
}

const at = (s: Split, i: number, ch: number, y: number, x: number): number => {
  const [, c, h, w] = s.shape;
  return s.images[((i * c + ch) * h + y) * w + x]!;
};

test('channelStatistics: per-channel mean and population std match a float64 two-pass reference', () => {
  const s = randomSplit(7, 3, 5, 4, 1);
  const { mean, std } = channelStatistics(s);
  for (let ch = 0; ch < 3; ch++) {
    const v: number[] = [];
    for (let i = 0; i < 7; i++) for (let y = 0; y < 5; y++) for (let x = 0; x < 4; x++) v.push(at(s, i, ch, y, x));
    const m = v.reduce((a, b) => a + b, 0) / v.length;
    const sd = Math.sqrt(v.reduce((a, b) => a + (b - m) ** 2, 0) / v.length);
    assert.ok(Math.abs(mean[ch]! - m) < 1e-12, `mean ${ch}`);
    assert.ok(Math.abs(std[ch]! - sd) < 1e-9, `std ${ch}: ${std[ch]} vs ${sd}`);
  }
});

test('preprocessSplit: zero-pads 28→32 before normalising, per channel; a mismatched mean/std names both lengths', () => {
  const s = randomSplit(2, 2, 28, 28, 2);
  const p = { mean: [0.5, 0.25], std: [0.2, 0.4], pad: 2 };
  const out = preprocessSplit(s, p);
  assert.deepEqual(out.shape, [2, 2, 32, 32]);
  assert.equal(out.labels, s.labels);
  for (const [i, ch, y, x] of [
    [0, 0, 0, 0],
    [1, 1, 31, 31],
    [1, 0, 1, 17],
    [0, 1, 2, 2],
    [1, 1, 29, 29],
    [0, 0, 15, 20],
  ] as const) {
    const inside = y >= 2 && y < 30 && x >= 2 && x < 30;
    const raw = inside ? at(s, i, ch, y - 2, x - 2) : 0;
    const want = (raw - p.mean[ch]!) / p.std[ch]!;
    assert.ok(Math.abs(at(out, i, ch, y, x) - want) < 1e-6, `(${i},${ch},${y},${x}): ${at(out, i, ch, y, x)} vs ${want}`);
  }
  assert.throws(() => preprocessSplit(s, { mean: [0.5], std: [0.2, 0.4], pad: 0 }), {
    message: 'preprocess mean/std must have one entry per channel (2), received mean of length 1 and std of length 2',
  });
});

test('batches: NCHW samples become NHWC batches covering the split in order; selectSamples copies the chosen rows', () => {
  const s = randomSplit(5, 3, 2, 4, 3);
  const b = sliceBatch(s, 1, 4);
  assert.deepEqual(b.shape, [3, 2, 4, 3]);
  for (let i = 0; i < 3; i++)
    for (let y = 0; y < 2; y++)
      for (let x = 0; x < 4; x++)
        for (let ch = 0; ch < 3; ch++) {
          assert.equal(b.x[((i * 2 + y) * 4 + x) * 3 + ch], at(s, i + 1, ch, y, x));
        }
  assert.deepEqual(Array.from(b.labels), Array.from(s.labels.subarray(1, 4)));
  const all = [...batches(s, 2)];
  assert.deepEqual(
    all.map((x) => [x.start, x.shape[0]]),
    [
      [0, 2],
      [2, 2],
      [4, 1],
    ],
  );
  const sel = selectSamples(s, [4, 0]);
  assert.deepEqual(sel.shape, [2, 3, 2, 4]);
  assert.equal(at(sel, 0, 2, 1, 3), at(s, 4, 2, 1, 3));
  assert.deepEqual(Array.from(sel.labels), [s.labels[4], s.labels[0]]);
  const grey = randomSplit(2, 1, 3, 3, 4);
  assert.deepEqual(sliceBatch(grey, 0, 2).x, grey.images, 'one channel: NHWC = NCHW');
});
