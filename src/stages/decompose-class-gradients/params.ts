/** Params of decompose/class-gradients (schemas/stages/decompose-class-gradients.schema.json; defaults filled). */
export interface DecomposeParams {
  /** Which split's samples. */
  split: 'train' | 'test';
  /** Class subset S (class indices); default all. */
  classes?: number[];
  /** Hutch++ products for tr B2 (0 skips it). */
  trace_matvecs: number;
  /** Samples per batch in the curvature engine. */
  batch_size: number;
  /** At most this many samples per class of the split (default: all the train instance used). */
  samples_per_class?: number;
  /** Which checkpoint of the upstream train/sgd instance: an epoch it saved, or "final". */
  checkpoint: number | 'final';
}
