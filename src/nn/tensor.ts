/**
 * Tensors as specpipe's public declarations name them. Every tensor specpipe hands out or accepts is a
 * `@tensorflow/tfjs-core` Tensor (created by the tfjs-core specpipe loads); the published .d.ts describe it by
 * this structural subset only, so that they type-check on their own (`strict`, `skipLibCheck: false`, no DOM
 * lib): tfjs-core's own declarations need the DOM lib and `long`, and their @webgpu/types collide with
 * TypeScript 7's lib.dom.d.ts. A tfjs Tensor of the matching rank is assignable to these types; to use one of
 * specpipe's tensors with tfjs ops, cast it (`t as tf.Tensor2D`).
 *
 * Inside specpipe's own compilation src/nn/tfTensor.ts widens each of these to the tfjs type of the same rank
 * (a module augmentation that no published declaration imports), so internal code uses them as tfjs tensors.
 */

/** tfjs-core's DataType. */
export type TensorDataType = 'float32' | 'int32' | 'bool' | 'complex64' | 'string';

/** A tensor of any rank. */
export interface Tensor {
  readonly id: number;
  readonly shape: number[];
  readonly dtype: TensorDataType;
  readonly size: number;
  readonly rank: number;
  readonly isDisposed: boolean;
  dispose(): void;
}

/** A rank-0 tensor (shape `[]`; typed `number[]` as tfjs-core types it). */
export interface Scalar {
  readonly id: number;
  readonly shape: number[];
  readonly dtype: TensorDataType;
  readonly size: number;
  readonly rank: number;
  readonly isDisposed: boolean;
  dispose(): void;
}

/** A rank-1 tensor. */
export interface Tensor1D {
  readonly id: number;
  readonly shape: [number];
  readonly dtype: TensorDataType;
  readonly size: number;
  readonly rank: number;
  readonly isDisposed: boolean;
  dispose(): void;
}

/** A rank-2 tensor, e.g. logits [N, classes]. */
export interface Tensor2D {
  readonly id: number;
  readonly shape: [number, number];
  readonly dtype: TensorDataType;
  readonly size: number;
  readonly rank: number;
  readonly isDisposed: boolean;
  dispose(): void;
}

/** A rank-4 tensor, e.g. inputs [N, H, W, C] or conv kernels [kh, kw, in, out]. */
export interface Tensor4D {
  readonly id: number;
  readonly shape: [number, number, number, number];
  readonly dtype: TensorDataType;
  readonly size: number;
  readonly rank: number;
  readonly isDisposed: boolean;
  dispose(): void;
}
