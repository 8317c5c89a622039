/**
 * Internal only (no module imports this file, and no published declaration reaches it): inside specpipe's
 * own compilation, the public tensor types of src/nn/tensor.ts are the tfjs-core tensors they stand for, so
 * code typed with them uses tfjs ops directly and tfjs results are assignable to them. The file is in the
 * program through tsconfig's `include`; a consumer of the package never loads it and sees the structural types.
 */
import type * as tf from '@tensorflow/tfjs-core';

declare module './tensor.js' {
  interface Tensor extends tf.Tensor {}
  interface Scalar extends tf.Scalar {}
  interface Tensor1D extends tf.Tensor1D {}
  interface Tensor2D extends tf.Tensor2D {}
  interface Tensor4D extends tf.Tensor4D {}
}

export {};
