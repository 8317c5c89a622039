import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { loadIdxDataset, readIdxFile } from '../../src/data/idx.js';
import { FASHION_MNIST_CLASSES, FASHION_MNIST_DEFAULT_ROOT, loadFashionMnist } from '../../src/data/fashionMnist.js';

/** IDX bytes written by hand: big-endian magic, big-endian sizes, then the bytes. */
function idx(magic: number, dims: number[], data: number[]): Buffer {
  const head = Buffer.alloc(4 + 4 * dims.length);
  head.writeUInt32BE(magic, 0);
  dims.forEach((d, k) => head.writeUInt32BE(d, 4 + 4 * k));
  return Buffer.concat([head, Buffer.from(data)]);
}

function tinyPair(dir: string, gz = true): { images: string; labels: string } {
  // 3 images of 2×3 pixels; pixel (r, c) of image i is 10·i + 3·r + c
  const pixels: number[] = [];
  for (let i = 0; i < 3; i++) for (let r = 0; r < 2; r++) for (let c = 0; c < 3; c++) pixels.push(10 * i + 3 * r + c);
  const images = join(dir, gz ? 'im.gz' : 'im');
  const labels = join(dir, gz ? 'lb.gz' : 'lb');
  const im = idx(0x803, [3, 2, 3], pixels);
  const lb = idx(0x801, [3], [2, 0, 1]);
  writeFileSync(images, gz ? gzipSync(im) : im);
  writeFileSync(labels, gz ? gzipSync(lb) : lb);
  return { images, labels };
}

test('IDX pairs (gzipped or raw) read into NCHW [0, 1] pixels and labels; test pair optional', () => {
  const dir = mkdtempSync(join(tmpdir(), 'idx-'));
  const { images, labels } = tinyPair(dir);
  const d = loadIdxDataset({ trainImages: images, trainLabels: labels, testImages: images, testLabels: labels });
  assert.deepEqual(d.train.shape, [3, 1, 2, 3]);
  assert.deepEqual(Array.from(d.train.labels), [2, 0, 1]);
  assert.deepEqual(d.classes, ['0', '1', '2']);
  // image 2, row 1, column 2: 10·2 + 3·1 + 2 = 25
  assert.equal(d.train.images[2 * 6 + 1 * 3 + 2], Math.fround(25 / 255));
  assert.deepEqual(d.test.labels, d.train.labels);
  const raw = tinyPair(mkdtempSync(join(tmpdir(), 'idx-')), false);
  const r = loadIdxDataset({ trainImages: raw.images, trainLabels: raw.labels });
  assert.deepEqual(r.train.images, d.train.images);
  assert.deepEqual(r.test.shape, [0, 1, 2, 3]);
});

test('IDX errors name the file, the expected magic and the value found', () => {
  const dir = mkdtempSync(join(tmpdir(), 'idx-'));
  const { images, labels } = tinyPair(dir);
  // labels passed where images are expected
  assert.throws(() => loadIdxDataset({ trainImages: labels, trainLabels: images }), {
    message: `${labels}: expected the IDX images magic number 0x00000803, found 0x00000801`,
  });
  assert.throws(() => readIdxFile(images, 0x801), {
    message: `${images}: expected the IDX labels magic number 0x00000801, found 0x00000803`,
  });
  const short = join(dir, 'short');
  writeFileSync(short, gzipSync(idx(0x803, [2, 2, 2], [1, 2, 3])));
  assert.throws(() => readIdxFile(short, 0x803), { message: `${short}: dimensions [2, 2, 2] need 8 bytes of data, found 3` });
  const corrupt = join(dir, 'corrupt.gz');
  writeFileSync(corrupt, Buffer.from([0x1f, 0x8b, 1, 2, 3]));
  assert.throws(
    () => readIdxFile(corrupt, 0x803),
    (e: Error) => e.message.startsWith(`${corrupt}: corrupt gzip data (`),
  );
  const two = join(dir, 'two.gz');
  writeFileSync(two, gzipSync(idx(0x801, [2], [0, 1])));
  assert.throws(() => loadIdxDataset({ trainImages: images, trainLabels: two }), {
    message: `${two}: expected 3 labels (the number of images in ${images}), found 2`,
  });
  assert.throws(() => loadIdxDataset({ trainImages: join(dir, 'nope.gz'), trainLabels: labels }), {
    message: `${join(dir, 'nope.gz')}: file not found`,
  });
  assert.throws(() => loadIdxDataset({ trainImages: images, trainLabels: labels, testImages: images }), {
    message: `IDX test images and labels go together, received test images ${images} and test labels (none)`,
  });
});

test('fashion-mnist: a missing root or file names the path and "apt-get install dataset-fashion-mnist"; a bad file names the magic', () => {
  const dir = mkdtempSync(join(tmpdir(), 'fm-'));
  assert.throws(() => loadFashionMnist(join(dir, 'absent')), {
    message: `Fashion-MNIST root ${join(dir, 'absent')} not found; install it with "apt-get install dataset-fashion-mnist" (files in /usr/share/datasets/fashion-mnist) or download the four *-ubyte.gz files from https://github.com/zalandoresearch/fashion-mnist`,
  });
  assert.throws(
    () => loadFashionMnist(dir),
    (e: Error) =>
      e.message.startsWith(
        `Fashion-MNIST file ${join(dir, 'train-images-idx3-ubyte.gz')} not found; install it with "apt-get install dataset-fashion-mnist"`,
      ),
  );
  // all four files present, but each holds labels (so the train images file has the wrong magic)
  for (const name of [
    'train-images-idx3-ubyte.gz',
    'train-labels-idx1-ubyte.gz',
    't10k-images-idx3-ubyte.gz',
    't10k-labels-idx1-ubyte.gz',
  ]) {
    writeFileSync(join(dir, name), gzipSync(idx(0x801, [3], [2, 0, 1])));
  }
  assert.throws(() => loadFashionMnist(dir), {
    message: `${join(dir, 'train-images-idx3-ubyte.gz')}: expected the IDX images magic number 0x00000803, found 0x00000801`,
  });
});

const haveFashion = existsSync(join(FASHION_MNIST_DEFAULT_ROOT, 'train-images-idx3-ubyte.gz'));

test(
  'fashion-mnist: the real Debian files give 60,000 / 10,000 balanced samples with the known mean pixel',
  {
    skip: !haveFashion && `${FASHION_MNIST_DEFAULT_ROOT} absent: apt-get install dataset-fashion-mnist`,
  },
  () => {
    const d = loadFashionMnist();
    assert.equal(d.name, 'fashion-mnist');
    assert.deepEqual(d.classes, [...FASHION_MNIST_CLASSES]);
    assert.deepEqual(d.train.shape, [60000, 1, 28, 28]);
    assert.deepEqual(d.test.shape, [10000, 1, 28, 28]);
    const count = (l: Int32Array): number[] => {
      const c = new Array<number>(10).fill(0);
      for (const v of l) c[v]!++;
      return c;
    };
    assert.deepEqual(count(d.train.labels), new Array(10).fill(6000));
    assert.deepEqual(count(d.test.labels), new Array(10).fill(1000));
    // the first labels of the published train file: ankle boot, T-shirt, T-shirt, dress, T-shirt, pullover, …
    assert.deepEqual(Array.from(d.train.labels.subarray(0, 10)), [9, 0, 0, 3, 0, 2, 7, 2, 5, 5]);
    let s = 0;
    for (const v of d.train.images) s += v;
    // the widely quoted Fashion-MNIST normalisation mean, 0.2860 (72.94 / 255)
    assert.ok(Math.abs(s / d.train.images.length - 0.28604) < 5e-5, `mean pixel ${s / d.train.images.length}`);
  },
);
