import type { Dataset, Split } from './dataset.js';
import { readSafetensors, type SafeTensor } from '../store/safetensors.js';
import { SpecpipeError } from '../util/errors.js';
import { firstNonFinite } from '../util/finite.js';

/** Metadata key holding the class names as a JSON array of strings, e.g. `["cat", "dog"]`. */
export const TENSORS_CLASSES_KEY = 'classes';

function describe(t: SafeTensor): string {
  return `${t.dtype} [${t.shape.join(', ')}]`;
}

function splitFrom(path: string, tensors: Record<string, SafeTensor>, imagesName: string, labelsName: string): Split {
  const im = tensors[imagesName];
  const lb = tensors[labelsName];
  if (im === undefined)
    throw new SpecpipeError(
      'tensors-missing',
      `${path}: tensor "${imagesName}" not found (expected float32 [N, C, H, W] or [N, D]); the file holds ${Object.keys(tensors).sort().join(', ') || 'no tensors'}`,
    );
  if (lb === undefined)
    throw new SpecpipeError(
      'tensors-missing',
      `${path}: tensor "${labelsName}" not found (expected int64 [N]); the file holds ${Object.keys(tensors).sort().join(', ')}`,
    );
  if (im.dtype !== 'F32' || (im.shape.length !== 4 && im.shape.length !== 2)) {
    throw new SpecpipeError(
      'tensors-images',
      `${path}: tensor "${imagesName}" must be F32 with shape [N, C, H, W] or [N, D], found ${describe(im)}`,
    );
  }
  const n = im.shape[0]!;
  // A NaN pixel trains into NaN weights and fails much later with a misleading message: refuse it here.
  const bad = firstNonFinite(im.data as Float32Array);
  if (bad >= 0) {
    const per = im.data.length / Math.max(1, n);
    throw new SpecpipeError(
      'tensors-non-finite',
      `${path}: tensor "${imagesName}" holds ${im.data[bad]} at flat index ${bad} (sample ${Math.floor(bad / per)}, element ${bad % per}); every value must be finite`,
    );
  }
  if ((lb.dtype !== 'I64' && lb.dtype !== 'I32') || lb.shape.length !== 1 || lb.shape[0] !== n) {
    throw new SpecpipeError(
      'tensors-labels',
      `${path}: tensor "${labelsName}" must be I64 with shape [${n}] (one label per row of "${imagesName}"), found ${describe(lb)}`,
    );
  }
  const labels = new Int32Array(n);
  for (let i = 0; i < n; i++) {
    const v = Number(lb.data[i]!);
    if (!Number.isSafeInteger(v) || v < 0 || v > 0x7fffffff)
      throw new SpecpipeError('tensors-labels', `${path}: tensor "${labelsName}"[${i}] is ${v}, expected a class index ≥ 0`);
    labels[i] = v;
  }
  const shape: [number, number, number, number] =
    im.shape.length === 4 ? (im.shape as [number, number, number, number]) : [n, im.shape[1]!, 1, 1];
  return { images: im.data as Float32Array, shape, labels };
}

/**
 * A dataset from a safetensors file in PyTorch layout: `images` (F32 [N, C, H, W] or [N, D]; [N, D] becomes
 * [N, D, 1, 1]) and `labels` (I64 [N], I32 accepted), optional `test_images` / `test_labels` (else the test split is
 * empty). Class names come from the metadata key "classes" (a JSON array of strings), else "0" … "K−1" with
 * K = largest label + 1. Images are taken as they are (expected in [0, 1]).
 */
export function loadTensorsFile(path: string): Dataset {
  const { tensors, metadata } = readSafetensors(path);
  const train = splitFrom(path, tensors, 'images', 'labels');
  const hasTest = 'test_images' in tensors || 'test_labels' in tensors;
  const test: Split = hasTest
    ? splitFrom(path, tensors, 'test_images', 'test_labels')
    : { images: new Float32Array(0), shape: [0, train.shape[1], train.shape[2], train.shape[3]], labels: new Int32Array(0) };
  if (test.shape.slice(1).join() !== train.shape.slice(1).join()) {
    throw new SpecpipeError(
      'tensors-images',
      `${path}: tensor "test_images" has sample shape [${test.shape.slice(1).join(', ')}], expected [${train.shape.slice(1).join(', ')}] like "images"`,
    );
  }
  let k = 0;
  for (const l of train.labels) k = Math.max(k, l + 1);
  for (const l of test.labels) k = Math.max(k, l + 1);
  let classes = Array.from({ length: k }, (_, i) => String(i));
  const raw = metadata[TENSORS_CLASSES_KEY];
  if (raw !== undefined) {
    let parsed: unknown;
    try {
      parsed = JSON.parse(raw);
    } catch {
      parsed = undefined;
    }
    if (!Array.isArray(parsed) || parsed.some((s) => typeof s !== 'string')) {
      throw new SpecpipeError(
        'tensors-classes',
        `${path}: metadata "${TENSORS_CLASSES_KEY}" must be a JSON array of class names (found ${raw.length} characters that are not; file content is not shown)`,
      );
    }
    if (parsed.length < k)
      throw new SpecpipeError(
        'tensors-classes',
        `${path}: metadata "${TENSORS_CLASSES_KEY}" names ${parsed.length} classes, but the labels go up to ${k - 1}`,
      );
    classes = parsed as string[];
  }
  return { name: 'tensors', classes, train, test };
}
