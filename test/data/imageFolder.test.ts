import { test, before } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import sharp from 'sharp';
import { loadImageFolder } from '../../src/data/imageFolder.js';

const A = [0, 0, 0];
const B = [200, 100, 50];

/** Raw RGB pixels of a w×h image whose pixel (x, y) is colour(x, y). */
function rgb(w: number, h: number, colour: (x: number, y: number) => number[]): Buffer {
  const b = Buffer.alloc(w * h * 3);
  for (let y = 0; y < h; y++) for (let x = 0; x < w; x++) b.set(colour(x, y), (y * w + x) * 3);
  return b;
}

let root = '';

before(async () => {
  root = mkdtempSync(join(tmpdir(), 'imf-'));
  for (const d of ['train/cat', 'train/dog', 'train/bird', 'val/cat', 'val/dog']) mkdirSync(join(root, d), { recursive: true });
  // wide 64×32: B in the centre 32 columns, A at the sides → the centre crop is pure B (no resampling at scale 1)
  await sharp(
    rgb(64, 32, (x) => (x >= 16 && x < 48 ? B : A)),
    { raw: { width: 64, height: 32, channels: 3 } },
  )
    .png()
    .toFile(join(root, 'train/cat/a.png'));
  // tall 20×40: B in rows 5..35, A above and below → scaled ×1.6, the crop keeps source rows 10..30: B
  await sharp(
    rgb(20, 40, (_x, y) => (y >= 5 && y < 35 ? B : A)),
    { raw: { width: 20, height: 40, channels: 3 } },
  )
    .png()
    .toFile(join(root, 'train/cat/b.PNG'));
  await sharp({ create: { width: 40, height: 40, channels: 3, background: { r: 30, g: 60, b: 220 } } })
    .jpeg({ quality: 95 })
    .toFile(join(root, 'train/dog/x.jpg'));
  await sharp({ create: { width: 40, height: 40, channels: 3, background: { r: 30, g: 60, b: 220 } } })
    .jpeg({ quality: 95 })
    .toFile(join(root, 'train/dog/y.jpeg'));
  // one-channel grey PNG → replicated to 3 channels
  await sharp(Buffer.alloc(36 * 36, 128), { raw: { width: 36, height: 36, channels: 1 } })
    .png()
    .toFile(join(root, 'train/bird/g.png'));
  await sharp({ create: { width: 48, height: 48, channels: 4, background: { r: 200, g: 100, b: 50, alpha: 1 } } })
    .png()
    .toFile(join(root, 'val/cat/v.png'));
  await sharp({ create: { width: 33, height: 33, channels: 3, background: { r: 30, g: 60, b: 220 } } })
    .png()
    .toFile(join(root, 'val/dog/v.png'));
  writeFileSync(join(root, 'train/cat/readme.txt'), 'not an image');
});

function assertSolid(images: Float32Array, index: number, size: number, colour: number[], tol: number, what: string): void {
  const hw = size * size;
  for (let c = 0; c < 3; c++) {
    for (let j = 0; j < hw; j++) {
      const v = images[(index * 3 + c) * hw + j]!;
      if (Math.abs(v - colour[c]! / 255) > tol + 1e-6)
        assert.fail(`${what}: channel ${c} pixel ${j} is ${v * 255}, expected ${colour[c]} ± ${tol * 255}`);
    }
  }
}

test('imagefolder: classes are sorted folder names; shorter side resized then centre-cropped; CHW RGB in [0, 1]', async () => {
  const d = await loadImageFolder(root);
  assert.equal(d.name, 'imagefolder');
  assert.deepEqual(d.classes, ['bird', 'cat', 'dog']);
  assert.deepEqual(d.train.shape, [5, 3, 32, 32]);
  assert.deepEqual(Array.from(d.train.labels), [0, 1, 1, 2, 2]);
  assertSolid(d.train.images, 0, 32, [128, 128, 128], 0, 'grey PNG');
  assertSolid(d.train.images, 1, 32, B, 0, 'wide PNG centre crop');
  assertSolid(d.train.images, 2, 32, B, 1.5 / 255, 'tall PNG centre crop');
  assertSolid(d.train.images, 3, 32, [30, 60, 220], 6 / 255, 'JPEG');
  assert.deepEqual(d.test.shape, [2, 3, 32, 32]);
  assert.deepEqual(Array.from(d.test.labels), [1, 2]);
  assertSolid(d.test.images, 0, 32, B, 0, 'RGBA PNG');
  const small = await loadImageFolder(root, { imageSize: 8 });
  assert.deepEqual(small.train.shape, [5, 3, 8, 8]);
  // downscaled ×1/4 (64×32 → 16×8), columns 4..12 kept: the interior is B (the border columns are blurred by the resampling kernel)
  for (let c = 0; c < 3; c++)
    assert.ok(Math.abs(small.train.images[((1 * 3 + c) * 8 + 4) * 8 + 4]! * 255 - B[c]!) < 1.5, 'wide PNG at 8×8, centre pixel');
});

test('imagefolder: class subsets (named or a seeded random k) and per-class sampling before decoding', async () => {
  const named = await loadImageFolder(root, { classes: ['dog', 'cat'] });
  assert.deepEqual(named.classes, ['cat', 'dog']);
  assert.deepEqual(Array.from(named.train.labels), [0, 0, 1, 1]);
  const k2 = await loadImageFolder(root, { classes: 2, seed: 5 });
  const k2again = await loadImageFolder(root, { classes: 2, seed: 5 });
  assert.equal(k2.classes.length, 2);
  assert.deepEqual(k2.classes, k2again.classes);
  const seen = new Set<string>();
  for (let s = 0; s < 12; s++) seen.add((await loadImageFolder(root, { classes: 1, seed: s, imageSize: 2 })).classes.join());
  assert.ok(seen.size >= 2, `different seeds pick different classes, saw ${[...seen].join(' | ')}`);
  const one = await loadImageFolder(root, { classes: ['cat', 'dog'], trainPerClass: 1, testPerClass: 1 });
  assert.deepEqual(Array.from(one.train.labels), [0, 1]);
  assert.deepEqual(Array.from(one.test.labels), [0, 1]);
  await assert.rejects(loadImageFolder(root, { trainPerClass: 2 }), {
    message: `imagefolder class "bird" has 1 train images in ${join(root, 'train', 'bird')}, fewer than the 2 per class requested`,
  });
  await assert.rejects(loadImageFolder(root, { classes: ['cat', 'cow'] }), {
    message: 'unknown class "cow"; available classes: bird, cat, dog',
  });
  await assert.rejects(loadImageFolder(root, { classes: 4 }), {
    message: 'classes must be an integer in [1, 3] (the number of classes available), received 4',
  });
});

test('imagefolder: missing folders and undecodable images are errors naming the path', async () => {
  const bad = mkdtempSync(join(tmpdir(), 'imf-'));
  await assert.rejects(loadImageFolder(bad), {
    message: `imagefolder root ${bad}: ${join(bad, 'train')} not found (expected ROOT/train/<class>/*.jpg and ROOT/val/<class>/*.jpg)`,
  });
  await assert.rejects(loadImageFolder(join(bad, 'none')), {
    message: `imagefolder root ${join(bad, 'none')} does not exist (expected ROOT/train/<class>/*.jpg and ROOT/val/<class>/*.jpg)`,
  });
  mkdirSync(join(bad, 'train', 'c'), { recursive: true });
  writeFileSync(join(bad, 'train', 'c', 'broken.jpg'), 'this is not a JPEG');
  await assert.rejects(loadImageFolder(bad), (e: Error) =>
    e.message.startsWith(`${join(bad, 'train', 'c', 'broken.jpg')}: cannot decode image (`),
  );
  mkdirSync(join(bad, 'val', 'zebra'), { recursive: true });
  await assert.rejects(loadImageFolder(bad), {
    message: `imagefolder ${join(bad, 'val')} has class folders not in ${join(bad, 'train')}: zebra`,
  });
});

test('imagefolder: symbolically linked class folders and images are followed', async () => {
  const linked = mkdtempSync(join(tmpdir(), 'imf-'));
  mkdirSync(join(linked, 'train', 'dog'), { recursive: true });
  symlinkSync(join(root, 'train', 'cat'), join(linked, 'train', 'cat'));
  symlinkSync(join(root, 'train', 'dog', 'x.jpg'), join(linked, 'train', 'dog', 'x.jpg'));
  symlinkSync(join(linked, 'nowhere.png'), join(linked, 'train', 'dog', 'dangling.png'));
  const d = await loadImageFolder(linked, { imageSize: 4 });
  assert.deepEqual(d.classes, ['cat', 'dog']);
  assert.deepEqual(Array.from(d.train.labels), [0, 0, 1]);
  assert.deepEqual(d.test.shape, [0, 3, 4, 4]);
});
