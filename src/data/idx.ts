import { existsSync, readFileSync } from 'node:fs';
import { gunzipSync } from 'node:zlib';
import type { Dataset, Split } from './dataset.js';
import { SpecpipeError } from '../util/errors.js';

/**
 * The IDX format of MNIST and Fashion-MNIST (LeCun et al., http://yann.lecun.com/exdb/mnist/):
 * a big-endian 32-bit magic number 0x0000TTDD (TT = element type, 0x08 = unsigned byte; DD = number of dimensions),
 * DD big-endian 32-bit sizes, then the elements in row-major order. Images: magic 0x00000803, [N, rows, cols];
 * labels: magic 0x00000801, [N]. Files may be gzipped (detected by the gzip signature 1f 8b).
 */
export const IDX_IMAGES_MAGIC = 0x00000803;
export const IDX_LABELS_MAGIC = 0x00000801;

export interface IdxArray {
  readonly dims: number[];
  readonly data: Uint8Array;
}

function hex(v: number): string {
  return `0x${v.toString(16).padStart(8, '0')}`;
}

/** Reads an unsigned-byte IDX file (gzipped or not) whose magic number must be `expectedMagic`. */
export function readIdxFile(path: string, expectedMagic: number, howToGet?: string): IdxArray {
  if (!existsSync(path)) {
    throw new SpecpipeError('idx-missing', `${path}: file not found${howToGet ? `; ${howToGet}` : ''}`);
  }
  return decodeIdx(readFileSync(path), path, expectedMagic, howToGet);
}

/** Largest gunzipped IDX accepted (a gzip bomb fails with a message instead of exhausting memory). */
const MAX_IDX_BYTES = 2 ** 31 - 1;

/** Decodes the bytes of an unsigned-byte IDX file (gzipped or not); `path` names it in errors. */
export function decodeIdx(input: Uint8Array, path: string, expectedMagic: number, howToGet?: string): IdxArray {
  let bytes = input;
  if (bytes.length >= 2 && bytes[0] === 0x1f && bytes[1] === 0x8b) {
    try {
      bytes = gunzipSync(bytes, { maxOutputLength: MAX_IDX_BYTES });
    } catch (e) {
      throw new SpecpipeError(
        'idx-gzip',
        `${path}: corrupt gzip data (${(e as Error).message})${howToGet ? `; ${howToGet}` : ''}`,
      );
    }
  }
  const what = expectedMagic === IDX_IMAGES_MAGIC ? 'IDX images' : expectedMagic === IDX_LABELS_MAGIC ? 'IDX labels' : 'IDX';
  if (bytes.length < 4) {
    throw new SpecpipeError(
      'idx-magic',
      `${path}: expected the ${what} magic number ${hex(expectedMagic)}, found a file of ${bytes.length} bytes`,
    );
  }
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const magic = view.getUint32(0, false);
  if (magic !== expectedMagic) {
    throw new SpecpipeError('idx-magic', `${path}: expected the ${what} magic number ${hex(expectedMagic)}, found ${hex(magic)}`);
  }
  const ndim = magic & 0xff;
  const headerBytes = 4 + 4 * ndim;
  if (bytes.length < headerBytes) {
    throw new SpecpipeError(
      'idx-truncated',
      `${path}: expected ${ndim} dimension sizes after the magic number, found a file of ${bytes.length} bytes`,
    );
  }
  const dims: number[] = [];
  for (let k = 0; k < ndim; k++) dims.push(view.getUint32(4 + 4 * k, false));
  const count = dims.reduce((a, b) => a * b, 1);
  if (bytes.length - headerBytes !== count) {
    throw new SpecpipeError(
      'idx-size',
      `${path}: dimensions [${dims.join(', ')}] need ${count} bytes of data, found ${bytes.length - headerBytes}`,
    );
  }
  return { dims, data: bytes.subarray(headerBytes) };
}

/** One split from an IDX images file ([N, H, W] bytes → [N, 1, H, W] in [0, 1]) and its IDX labels file. */
export function readIdxSplit(imagesPath: string, labelsPath: string, classCount?: number, howToGet?: string): Split {
  const im = readIdxFile(imagesPath, IDX_IMAGES_MAGIC, howToGet);
  const lb = readIdxFile(labelsPath, IDX_LABELS_MAGIC, howToGet);
  const [n, h, w] = im.dims as [number, number, number];
  if (lb.dims[0] !== n) {
    throw new SpecpipeError(
      'idx-count',
      `${labelsPath}: expected ${n} labels (the number of images in ${imagesPath}), found ${lb.dims[0]}`,
    );
  }
  const images = new Float32Array(im.data.length);
  for (let i = 0; i < images.length; i++) images[i] = im.data[i]! / 255;
  const labels = Int32Array.from(lb.data);
  if (classCount !== undefined) {
    const bad = labels.findIndex((l) => l >= classCount);
    if (bad >= 0)
      throw new SpecpipeError(
        'idx-label-range',
        `${labelsPath}: label ${bad} is ${labels[bad]}, expected a class index in [0, ${classCount})`,
      );
  }
  return { images, shape: [n, 1, h, w], labels };
}

export interface IdxPaths {
  readonly trainImages: string;
  readonly trainLabels: string;
  /** Optional test pair; without it the test split is empty (shape [0, 1, H, W]). */
  readonly testImages?: string;
  readonly testLabels?: string;
}

/** A dataset from any pair (or two pairs) of IDX files; classes are named "0" … "K−1", K = largest label + 1. */
export function loadIdxDataset(paths: IdxPaths, name = 'idx', classes?: readonly string[], howToGet?: string): Dataset {
  if ((paths.testImages === undefined) !== (paths.testLabels === undefined)) {
    throw new SpecpipeError(
      'idx-test-pair',
      `IDX test images and labels go together, received test images ${paths.testImages ?? '(none)'} and test labels ${paths.testLabels ?? '(none)'}`,
    );
  }
  const train = readIdxSplit(paths.trainImages, paths.trainLabels, classes?.length, howToGet);
  const test: Split =
    paths.testImages !== undefined && paths.testLabels !== undefined
      ? readIdxSplit(paths.testImages, paths.testLabels, classes?.length, howToGet)
      : { images: new Float32Array(0), shape: [0, 1, train.shape[2], train.shape[3]], labels: new Int32Array(0) };
  if (test.shape[2] !== train.shape[2] || test.shape[3] !== train.shape[3]) {
    throw new SpecpipeError(
      'idx-shape',
      `${paths.testImages}: test images are ${test.shape[2]}×${test.shape[3]}, expected ${train.shape[2]}×${train.shape[3]} like ${paths.trainImages}`,
    );
  }
  let k = 0;
  for (const l of train.labels) k = Math.max(k, l + 1);
  for (const l of test.labels) k = Math.max(k, l + 1);
  return { name, classes: classes ?? Array.from({ length: k }, (_, i) => String(i)), train, test };
}
