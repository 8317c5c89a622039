/**
 * In-memory image classification data in PyTorch layout.
 * `images` are float32 pixels scaled to [0, 1] (before any normalisation), NCHW,
 * flattened row-major; `labels` are class indices in [0, classes.length).
 */
export interface Split {
  readonly images: Float32Array;
  /** [N, C, H, W]; a flat vector source uses [N, D, 1, 1]. */
  readonly shape: readonly [number, number, number, number];
  readonly labels: Int32Array;
}

export interface Dataset {
  /** Source name, e.g. "mnist", "fashion-mnist", "cifar10". */
  readonly name: string;
  readonly classes: readonly string[];
  readonly train: Split;
  readonly test: Split;
}
