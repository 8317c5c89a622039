import type { Split } from './dataset.js';

/** One batch in tfjs layout: x is NHWC, flattened row-major. */
export interface Batch {
  /** Index of the first sample of the batch in the split. */
  readonly start: number;
  readonly x: Float32Array;
  readonly shape: [number, number, number, number];
  readonly labels: Int32Array;
}

/** Copies samples [start, end) of an NCHW split into an NHWC batch. */
export function sliceBatch(split: Split, start: number, end: number): Batch {
  const [, c, h, w] = split.shape;
  const n = end - start;
  const x = new Float32Array(n * h * w * c);
  const hw = h * w;
  for (let i = 0; i < n; i++) {
    const src = (start + i) * c * hw;
    const dst = i * hw * c;
    if (c === 1) x.set(split.images.subarray(src, src + hw), dst);
    else {
      for (let ch = 0; ch < c; ch++) for (let j = 0; j < hw; j++) x[dst + j * c + ch] = split.images[src + ch * hw + j]!;
    }
  }
  return { start, x, shape: [n, h, w, c], labels: split.labels.slice(start, end) };
}

/** Consecutive batches of at most `batchSize` samples, in split order (a fixed order: reductions are reproducible). */
export function* batches(split: Split, batchSize: number): Generator<Batch> {
  const n = split.shape[0];
  for (let s = 0; s < n; s += batchSize) yield sliceBatch(split, s, Math.min(n, s + batchSize));
}

/** A split restricted to the given sample indices (copied). */
export function selectSamples(split: Split, indices: ArrayLike<number>): Split {
  const [, c, h, w] = split.shape;
  const d = c * h * w;
  const images = new Float32Array(indices.length * d);
  const labels = new Int32Array(indices.length);
  for (let k = 0; k < indices.length; k++) {
    const i = indices[k]!;
    images.set(split.images.subarray(i * d, (i + 1) * d), k * d);
    labels[k] = split.labels[i]!;
  }
  return { images, shape: [indices.length, c, h, w], labels };
}
