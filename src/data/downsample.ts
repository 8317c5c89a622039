import type { Dataset, Split } from './dataset.js';
import { SpecpipeError } from '../util/errors.js';

/**
 * k × k average pooling of every image (stride k): [N, C, H, W] → [N, C, H/k, W/k], pixels stay in
 * [0, 1]. The same digits at a coarser resolution, so that a net on them has few enough parameters
 * for dense float64 ground truth (validate/dense): 28 × 28 MNIST with k = 4 is 7 × 7 = 49 inputs.
 */
export function downsampleSplit(split: Split, k: number): Split {
  const [n, c, h, w] = split.shape;
  if (!Number.isInteger(k) || k < 1 || h % k !== 0 || w % k !== 0)
    throw new SpecpipeError(
      'downsample-factor',
      `downsample: the factor must be a positive integer dividing the image size ${h} × ${w}, received ${k}`,
    );
  if (k === 1) return split;
  const H = h / k;
  const W = w / k;
  const out = new Float32Array(n * c * H * W);
  const inv = 1 / (k * k);
  for (let p = 0; p < n * c; p++) {
    const src = p * h * w;
    const dst = p * H * W;
    for (let y = 0; y < H; y++)
      for (let x = 0; x < W; x++) {
        let s = 0;
        for (let dy = 0; dy < k; dy++) for (let dx = 0; dx < k; dx++) s += split.images[src + (y * k + dy) * w + x * k + dx]!;
        out[dst + y * W + x] = s * inv;
      }
  }
  return { images: out, shape: [n, c, H, W], labels: split.labels };
}

/** Both splits of a dataset pooled by `k` (downsampleSplit). */
export function downsampleDataset(data: Dataset, k: number): Dataset {
  return { ...data, train: downsampleSplit(data.train, k), test: downsampleSplit(data.test, k) };
}
