import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadCifar10, loadCifar100 } from '../../src/data/cifar.js';

/**
 * One binary-version record: label byte(s), then 1024 R, 1024 G, 1024 B bytes (row-major 32×32).
 * Pixel (channel ch, row y, column x) of record `id` is (id·7 + ch·50 + y + 3x) mod 256, so every position is distinct.
 */
function record(labels: number[], id: number): Buffer {
  const b = Buffer.alloc(labels.length + 3072);
  labels.forEach((l, k) => (b[k] = l));
  for (let ch = 0; ch < 3; ch++)
    for (let y = 0; y < 32; y++)
      for (let x = 0; x < 32; x++) b[labels.length + ch * 1024 + y * 32 + x] = (id * 7 + ch * 50 + y + 3 * x) % 256;
  return b;
}

const pixel = (id: number, ch: number, y: number, x: number): number => Math.fround(((id * 7 + ch * 50 + y + 3 * x) % 256) / 255);

function cifar10Folder(parent: string): string {
  const dir = join(parent, 'cifar-10-batches-bin');
  mkdirSync(dir, { recursive: true });
  let id = 0;
  for (let b = 1; b <= 5; b++)
    writeFileSync(join(dir, `data_batch_${b}.bin`), Buffer.concat([record([b], id++), record([9 - b], id++)]));
  writeFileSync(join(dir, 'test_batch.bin'), Buffer.concat([record([3], 100), record([7], 101), record([0], 102)]));
  writeFileSync(join(dir, 'batches.meta.txt'), 'airplane\nautomobile\nbird\ncat\ndeer\ndog\nfrog\nhorse\nship\ntruck\n\n');
  return dir;
}

test('cifar10: binary-version records give CHW pixels and labels in file order; ROOT may be the folder or its parent', () => {
  const parent = mkdtempSync(join(tmpdir(), 'c10-'));
  const dir = cifar10Folder(parent);
  for (const root of [parent, dir]) {
    const d = loadCifar10(root);
    assert.equal(d.name, 'cifar10');
    assert.equal(d.classes[3], 'cat');
    assert.equal(d.classes.length, 10);
    assert.deepEqual(d.train.shape, [10, 3, 32, 32]);
    assert.deepEqual(Array.from(d.train.labels), [1, 8, 2, 7, 3, 6, 4, 5, 5, 4]);
    assert.deepEqual(d.test.shape, [3, 3, 32, 32]);
    assert.deepEqual(Array.from(d.test.labels), [3, 7, 0]);
    for (const [i, ch, y, x] of [
      [0, 0, 0, 0],
      [3, 1, 5, 17],
      [9, 2, 31, 31],
      [6, 2, 0, 1],
    ] as const) {
      assert.equal(d.train.images[((i * 3 + ch) * 32 + y) * 32 + x], pixel(i, ch, y, x), `train ${i} c${ch} (${y},${x})`);
    }
    assert.equal(d.test.images[((2 * 3 + 1) * 32 + 4) * 32 + 9], pixel(102, 1, 4, 9));
  }
});

test('cifar10: errors name the file and what was expected', () => {
  const parent = mkdtempSync(join(tmpdir(), 'c10-'));
  const dir = cifar10Folder(parent);
  writeFileSync(join(dir, 'data_batch_3.bin'), Buffer.concat([record([1], 0), Buffer.alloc(10)]));
  assert.throws(() => loadCifar10(parent), {
    message: `${join(dir, 'data_batch_3.bin')}: file size 3083 is not a multiple of the record size 3073 bytes (1 label byte + 3072 pixels)`,
  });
  writeFileSync(join(dir, 'data_batch_3.bin'), record([12], 0));
  assert.throws(() => loadCifar10(dir), {
    message: `${join(dir, 'data_batch_3.bin')}: record 0 has label 12, expected a class index in [0, 10)`,
  });
  rmSync(join(dir, 'data_batch_4.bin'));
  assert.throws(() => loadCifar10(dir), {
    message: `CIFAR-10: missing ${join(dir, 'data_batch_4.bin')} (expected the binary version files data_batch_1.bin, data_batch_2.bin, data_batch_3.bin, data_batch_4.bin, data_batch_5.bin)`,
  });
  const empty = mkdtempSync(join(tmpdir(), 'c10-'));
  assert.throws(() => loadCifar10(empty), {
    message: `CIFAR-10 root ${empty}: neither ${join(empty, 'data_batch_1.bin')} nor ${join(empty, 'cifar-10-batches-bin', 'data_batch_1.bin')} exists; download the binary version from https://www.cs.toronto.edu/~kriz/cifar-10-binary.tar.gz and extract it (tar xzf), then pass the extracted cifar-10-batches-bin folder or its parent`,
  });
  assert.throws(
    () => loadCifar10(join(empty, 'x')),
    (e: Error) => e.message.startsWith(`CIFAR-10 root ${join(empty, 'x')}: ${join(empty, 'x')} does not exist; download`),
  );
});

test('cifar100: coarse+fine label bytes; fine labels by default, coarse on request; names from the label files', () => {
  const parent = mkdtempSync(join(tmpdir(), 'c100-'));
  const dir = join(parent, 'cifar-100-binary');
  mkdirSync(dir);
  writeFileSync(join(dir, 'train.bin'), Buffer.concat([record([4, 72], 0), record([19, 99], 1)]));
  writeFileSync(join(dir, 'test.bin'), record([0, 3], 2));
  writeFileSync(join(dir, 'fine_label_names.txt'), Array.from({ length: 100 }, (_, i) => `fine${i}`).join('\n') + '\n');
  writeFileSync(join(dir, 'coarse_label_names.txt'), Array.from({ length: 20 }, (_, i) => `coarse${i}`).join('\n'));
  const fine = loadCifar100(parent);
  assert.equal(fine.name, 'cifar100');
  assert.equal(fine.classes.length, 100);
  assert.equal(fine.classes[72], 'fine72');
  assert.deepEqual(Array.from(fine.train.labels), [72, 99]);
  assert.deepEqual(Array.from(fine.test.labels), [3]);
  assert.equal(fine.train.images[((1 * 3 + 2) * 32 + 8) * 32 + 30], pixel(1, 2, 8, 30), 'pixels follow the 2 label bytes');
  const coarse = loadCifar100(dir, 'coarse');
  assert.deepEqual(Array.from(coarse.train.labels), [4, 19]);
  assert.equal(coarse.classes[19], 'coarse19');
  writeFileSync(join(dir, 'test.bin'), record([0, 3], 2).subarray(1));
  assert.throws(() => loadCifar100(dir), {
    message: `${join(dir, 'test.bin')}: file size 3073 is not a multiple of the record size 3074 bytes (2 label bytes + 3072 pixels)`,
  });
});
