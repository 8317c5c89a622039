import type { Split } from './dataset.js';
import { SpecpipeError } from '../util/errors.js';

/**
 * Input preprocessing stored with every checkpoint (`specpipe.preprocess` metadata):
 * x ← (pad(x) − mean_c) / std_c, applied to pixels already scaled to [0, 1].
 */
export interface Preprocess {
  readonly mean: readonly number[];
  readonly std: readonly number[];
  /** Zero-padding on each side of H and W (2 turns 28×28 into 32×32). Padding is applied before normalisation. */
  readonly pad: number;
}

/** Per-channel mean and standard deviation of a split (population std), for normalisation. */
export function channelStatistics(split: Split): { mean: number[]; std: number[] } {
  const [n, c, h, w] = split.shape;
  const hw = h * w;
  const mean: number[] = [];
  const std: number[] = [];
  for (let ch = 0; ch < c; ch++) {
    let s = 0;
    let s2 = 0;
    for (let i = 0; i < n; i++) {
      const base = (i * c + ch) * hw;
      for (let j = 0; j < hw; j++) {
        const v = split.images[base + j]!;
        s += v;
        s2 += v * v;
      }
    }
    const m = s / (n * hw);
    mean.push(m);
    std.push(Math.sqrt(Math.max(s2 / (n * hw) - m * m, 1e-12)));
  }
  return { mean, std };
}

/** Applies `p` to a split: returns a new split (NCHW, float32) whose pixels are padded and normalised. */
export function preprocessSplit(split: Split, p: Preprocess): Split {
  const [n, c, h, w] = split.shape;
  if (p.mean.length !== c || p.std.length !== c) {
    throw new SpecpipeError(
      'preprocess-channels',
      `preprocess mean/std must have one entry per channel (${c}), received mean of length ${p.mean.length} and std of length ${p.std.length}`,
    );
  }
  const pad = p.pad;
  const H = h + 2 * pad;
  const W = w + 2 * pad;
  const out = new Float32Array(n * c * H * W);
  for (let i = 0; i < n; i++) {
    for (let ch = 0; ch < c; ch++) {
      const m = p.mean[ch]!;
      const inv = 1 / p.std[ch]!;
      const src = (i * c + ch) * h * w;
      const dst = (i * c + ch) * H * W;
      out.fill(-m * inv, dst, dst + H * W);
      for (let y = 0; y < h; y++) {
        for (let x = 0; x < w; x++) out[dst + (y + pad) * W + x + pad] = (split.images[src + y * w + x]! - m) * inv;
      }
    }
  }
  return { images: out, shape: [n, c, H, W], labels: split.labels };
}
