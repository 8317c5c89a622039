import type { Split } from '../data/dataset.js';
import { selectSamples } from '../data/batches.js';
import { preprocessSplit } from '../data/preprocess.js';
import { loadCheckpoint } from '../nn/checkpoint.js';
import type { LossKind } from '../nn/loss.js';
import type { CurvatureProblem } from './curvatureOperators.js';
import { SpecpipeError } from '../util/errors.js';

/** Which samples of a split a curvature operator averages over. */
export interface SampleSelection {
  /** Keep at most this many samples of each class (the first ones of each class, in split order). */
  readonly samplesPerClass?: number;
  /** Keep at most this many samples (the first ones; the split is a shuffled balanced subset). */
  readonly maxSamples?: number;
  /** Keep only samples of these classes. */
  readonly classes?: readonly number[];
}

/** The selected samples of `split`, in split order. */
export function selectAnalysedSamples(split: Split, sel: SampleSelection): Split {
  let out = split;
  if (sel.classes !== undefined) {
    const keep = new Set(sel.classes);
    const idx: number[] = [];
    out.labels.forEach((l, i) => keep.has(l) && idx.push(i));
    if (idx.length < out.shape[0]) out = selectSamples(out, idx);
  }
  if (sel.samplesPerClass !== undefined) {
    const seen = new Map<number, number>();
    const keep: number[] = [];
    out.labels.forEach((l, i) => {
      const k = seen.get(l) ?? 0;
      if (k < sel.samplesPerClass!) keep.push(i);
      seen.set(l, k + 1);
    });
    out = selectSamples(out, keep);
  }
  if (sel.maxSamples !== undefined && sel.maxSamples < out.shape[0])
    out = selectSamples(
      out,
      Int32Array.from({ length: sel.maxSamples }, (_, i) => i),
    );
  return out;
}

/** A curvature problem loaded from a checkpoint: the net and the (preprocessed) samples it is measured on. */
export interface CheckpointProblem {
  readonly problem: CurvatureProblem;
  /** Frees the checkpoint's tensors. */
  dispose(): void;
}

/**
 * Loads a checkpoint (strict, src/nn/checkpoint.ts) and preprocesses `raw` (unpreprocessed samples)
 * as its `specpipe.preprocess` metadata says; the loss is the one the net was trained with.
 */
export function checkpointProblem(checkpointPath: string, raw: Split, loss: LossKind): CheckpointProblem {
  const ckpt = loadCheckpoint(checkpointPath);
  if (ckpt.preprocess === undefined)
    throw new SpecpipeError('checkpoint-preprocess', `${checkpointPath}: no preprocessing metadata`);
  return {
    problem: {
      network: ckpt.network,
      params: ckpt.params,
      buffers: ckpt.buffers,
      data: preprocessSplit(raw, ckpt.preprocess),
      loss,
    },
    dispose: () => {
      for (const t of [...ckpt.params, ...ckpt.buffers]) t.dispose();
    },
  };
}
