import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-backend-cpu';
import { registerOpenBlasKernels, unregisterOpenBlasKernels } from '../../src/backend/openblasKernels.js';
import { loadOpenBlas } from '../../src/backend/native/openblasLibrary.js';
import { Rng } from '../../src/util/random.js';

/**
 * The GEMM kernels skip the product when one operand is all zeros and the other finite, and
 * MaxPoolGrad skips routing an all-zero dy (G·v's
 * J·v step back-propagates a zero cotangent): the result must still equal the stock kernel's —
 * +0 everywhere — and a NaN/±Inf in the other operand must still give the stock NaNs.
 */
const blasMissing = loadOpenBlas().ok ? false : `libopenblas not loadable here: ${(loadOpenBlas() as { reason: string }).reason}`;
tf.env().set('IS_TEST', true);
await tf.setBackend('cpu');
const rng = new Rng(77);

function randn(shape: number[], special?: number): tf.Tensor {
  const n = shape.reduce((a, b) => a * b, 1);
  const v = Float32Array.from({ length: n }, () => rng.normal());
  if (special !== undefined) v[Math.floor(n / 2)] = special;
  return tf.tensor(v, shape);
}

/** Output values with the stock and the native kernels. */
function both(f: () => tf.Tensor): { stock: Float32Array; native: Float32Array } {
  const run = (): Float32Array => tf.tidy(() => Float32Array.from(f().dataSync() as Float32Array));
  unregisterOpenBlasKernels();
  const stock = run();
  registerOpenBlasKernels();
  const native = run();
  return { stock, native };
}

test(
  'zero operands: BatchMatMul, Conv2D, Conv2DBackpropInput, Conv2DBackpropFilter, MaxPoolGrad equal the stock kernels',
  { skip: blasMissing },
  () => {
    registerOpenBlasKernels();
    for (const special of [undefined, NaN, Infinity, -Infinity]) {
      const label = `other operand with ${special ?? 'finite values only'}`;
      const a0 = tf.zeros([2, 5, 7]);
      const b = randn([2, 7, 3], special);
      const x = randn([2, 6, 6, 3], special);
      const x0 = tf.zeros([2, 6, 6, 3]);
      const w = randn([3, 3, 3, 4], special);
      const w0 = tf.zeros([3, 3, 3, 4]);
      const dy0 = tf.zeros([2, 6, 6, 4]);
      const cases: Record<string, () => tf.Tensor> = {
        'matMul 0·B': () => tf.matMul(a0, b),
        'matMul Bᵀ·0ᵀ': () => tf.matMul(b, a0, true, true),
        'conv2d(0, W)': () => tf.conv2d(x0 as tf.Tensor4D, w as tf.Tensor4D, 1, 'same'),
        'conv2d(x, 0)': () => tf.conv2d(x as tf.Tensor4D, w0 as tf.Tensor4D, 1, 'same'),
        'backpropInput(0, W)': () => tf.conv2dTranspose(dy0 as tf.Tensor4D, w as tf.Tensor4D, [2, 6, 6, 3], 1, 'same'),
        'maxPoolGrad(dy = 0)': () => {
          const y = tf.maxPool(x as tf.Tensor4D, 2, 2, 'valid');
          return tf.engine().runKernel('MaxPoolGrad', { dy: tf.zerosLike(y), input: x, output: y }, {
            filterSize: 2,
            strides: 2,
            pad: 'valid',
          } as never) as tf.Tensor;
        },
        'backpropFilter(x, 0)': () =>
          tf.engine().runKernel('Conv2DBackpropFilter', { x, dy: dy0 }, {
            strides: 1,
            pad: 'same',
            dataFormat: 'NHWC',
            filterShape: [3, 3, 3, 4],
          } as never) as tf.Tensor,
      };
      for (const [name, f] of Object.entries(cases)) {
        const r = both(f);
        assert.equal(r.native.length, r.stock.length);
        // Same values, +0 and −0 told apart (Object.is), any NaN equal to any NaN.
        r.stock.forEach((want, i) =>
          assert.ok(
            Object.is(r.native[i], want) || (Number.isNaN(want) && Number.isNaN(r.native[i])),
            `${name}, ${label}: entry ${i} ${r.native[i]} vs stock ${want}`,
          ),
        );
        if (special === undefined)
          assert.ok(
            r.native.every((v) => Object.is(v, 0)),
            `${name}: +0 everywhere`,
          );
      }
      tf.dispose([a0, b, x, x0, w, w0, dy0]);
    }
    unregisterOpenBlasKernels();
  },
);
