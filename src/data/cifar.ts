import { existsSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import type { Dataset, Split } from './dataset.js';
import { SpecpipeError } from '../util/errors.js';

/**
 * CIFAR-10 / CIFAR-100, binary version (Krizhevsky 2009, https://www.cs.toronto.edu/~kriz/cifar.html).
 * Each record: the label byte(s) — CIFAR-10: 1 label; CIFAR-100: 1 coarse then 1 fine label —
 * followed by 3,072 pixel bytes: the 1,024 red values of the 32×32 image in row-major order, then green, then blue.
 * That is already PyTorch's CHW order; pixels are scaled to [0, 1].
 */
const SIDE = 32;
const PIXELS = 3 * SIDE * SIDE;

export const CIFAR10_CLASSES = [
  'airplane',
  'automobile',
  'bird',
  'cat',
  'deer',
  'dog',
  'frog',
  'horse',
  'ship',
  'truck',
] as const;

export interface CifarRecordLayout {
  /** Number of label bytes before the pixels (1 for CIFAR-10, 2 for CIFAR-100). */
  readonly labelBytes: number;
  /** Which label byte is the class (0 for CIFAR-10; 1 = fine, 0 = coarse for CIFAR-100). */
  readonly labelIndex: number;
  readonly classCount: number;
}

/** Reads binary-version records from one or more files into a split. */
export function readCifarBinary(paths: readonly string[], layout: CifarRecordLayout): Split {
  const record = layout.labelBytes + PIXELS;
  const files = paths.map((p) => {
    const bytes = readFileSync(p);
    if (bytes.length % record !== 0) {
      throw new SpecpipeError(
        'cifar-record-size',
        `${p}: file size ${bytes.length} is not a multiple of the record size ${record} bytes (${layout.labelBytes} label byte${layout.labelBytes > 1 ? 's' : ''} + 3072 pixels)`,
      );
    }
    return { p, bytes };
  });
  const n = files.reduce((s, f) => s + f.bytes.length / record, 0);
  const images = new Float32Array(n * PIXELS);
  const labels = new Int32Array(n);
  let i = 0;
  for (const { p, bytes } of files) {
    for (let r = 0; r < bytes.length; r += record, i++) {
      const label = bytes[r + layout.labelIndex]!;
      if (label >= layout.classCount) {
        throw new SpecpipeError(
          'cifar-label-range',
          `${p}: record ${r / record} has label ${label}, expected a class index in [0, ${layout.classCount})`,
        );
      }
      labels[i] = label;
      const src = r + layout.labelBytes;
      const dst = i * PIXELS;
      for (let k = 0; k < PIXELS; k++) images[dst + k] = bytes[src + k]! / 255;
    }
  }
  return { images, shape: [n, 3, SIDE, SIDE], labels };
}

/** Class names from a text file with one name per line (blank lines ignored). */
function readNames(path: string): string[] {
  return readFileSync(path, 'utf8')
    .split(/\r?\n/)
    .map((s) => s.trim())
    .filter((s) => s.length > 0);
}

/** `root` itself if it holds `probe`, else `root/folder` if that does; otherwise an error naming both. */
function resolveRoot(root: string, folder: string, probe: string, kind: string, url: string): string {
  for (const dir of [root, join(root, folder)]) if (existsSync(join(dir, probe))) return dir;
  const why = existsSync(root)
    ? statSync(root).isDirectory()
      ? `neither ${join(root, probe)} nor ${join(root, folder, probe)} exists`
      : `${root} is not a directory`
    : `${root} does not exist`;
  throw new SpecpipeError(
    'cifar-missing',
    `${kind} root ${root}: ${why}; download the binary version from ${url} and extract it (tar xzf), then pass the extracted ${folder} folder or its parent`,
  );
}

function requireFiles(dir: string, names: readonly string[], kind: string): string[] {
  const paths = names.map((n) => join(dir, n));
  const missing = paths.filter((p) => !existsSync(p));
  if (missing.length > 0)
    throw new SpecpipeError(
      'cifar-missing',
      `${kind}: missing ${missing.join(', ')} (expected the binary version files ${names.join(', ')})`,
    );
  return paths;
}

/**
 * The files `loadCifar10(root)` / `loadCifar100(root)` read, by name (in `root` if it holds the
 * probe file, else in root/cifar-10-batches-bin or root/cifar-100-binary), for stage keys.
 */
export function cifarFiles(kind: 'cifar10' | 'cifar100', root: string): Record<string, string> {
  const [folder, names] =
    kind === 'cifar10'
      ? ([
          'cifar-10-batches-bin',
          [
            'data_batch_1.bin',
            'data_batch_2.bin',
            'data_batch_3.bin',
            'data_batch_4.bin',
            'data_batch_5.bin',
            'test_batch.bin',
            'batches.meta.txt',
          ],
        ] as const)
      : (['cifar-100-binary', ['train.bin', 'test.bin', 'fine_label_names.txt', 'coarse_label_names.txt']] as const);
  const dir = existsSync(join(root, names[0])) ? root : join(root, folder);
  return Object.fromEntries(names.map((n) => [n, join(dir, n)]));
}

/** CIFAR-10 from cifar-10-batches-bin (data_batch_1..5.bin, test_batch.bin, batches.meta.txt); `root` is that folder or its parent. */
export function loadCifar10(root: string): Dataset {
  const dir = resolveRoot(
    root,
    'cifar-10-batches-bin',
    'data_batch_1.bin',
    'CIFAR-10',
    'https://www.cs.toronto.edu/~kriz/cifar-10-binary.tar.gz',
  );
  const trainFiles = requireFiles(
    dir,
    ['data_batch_1.bin', 'data_batch_2.bin', 'data_batch_3.bin', 'data_batch_4.bin', 'data_batch_5.bin'],
    'CIFAR-10',
  );
  const [testFile] = requireFiles(dir, ['test_batch.bin'], 'CIFAR-10') as [string];
  const meta = join(dir, 'batches.meta.txt');
  const classes = existsSync(meta) ? readNames(meta) : [...CIFAR10_CLASSES];
  if (classes.length !== 10)
    throw new SpecpipeError('cifar-names', `${meta}: expected 10 class names (one per line), found ${classes.length}`);
  const layout = { labelBytes: 1, labelIndex: 0, classCount: 10 };
  return { name: 'cifar10', classes, train: readCifarBinary(trainFiles, layout), test: readCifarBinary([testFile], layout) };
}

/**
 * CIFAR-100 from cifar-100-binary (train.bin, test.bin, fine_label_names.txt, coarse_label_names.txt); `root` is that
 * folder or its parent. `labels: 'fine'` (default, 100 classes) or `'coarse'` (20 superclasses).
 */
export function loadCifar100(root: string, labels: 'fine' | 'coarse' = 'fine'): Dataset {
  const dir = resolveRoot(
    root,
    'cifar-100-binary',
    'train.bin',
    'CIFAR-100',
    'https://www.cs.toronto.edu/~kriz/cifar-100-binary.tar.gz',
  );
  const [trainFile, testFile] = requireFiles(dir, ['train.bin', 'test.bin'], 'CIFAR-100') as [string, string];
  const classCount = labels === 'fine' ? 100 : 20;
  const namesFile = join(dir, `${labels}_label_names.txt`);
  const classes = existsSync(namesFile) ? readNames(namesFile) : Array.from({ length: classCount }, (_, i) => String(i));
  if (classes.length !== classCount)
    throw new SpecpipeError(
      'cifar-names',
      `${namesFile}: expected ${classCount} class names (one per line), found ${classes.length}`,
    );
  const layout = { labelBytes: 2, labelIndex: labels === 'fine' ? 1 : 0, classCount };
  return { name: 'cifar100', classes, train: readCifarBinary([trainFile], layout), test: readCifarBinary([testFile], layout) };
}
