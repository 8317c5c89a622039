import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-backend-cpu';
import { openBlasKernelStatus, registerOpenBlasKernels, unregisterOpenBlasKernels } from '../../src/backend/openblasKernels.js';
import { loadOpenBlas } from '../../src/backend/native/openblasLibrary.js';
import { loadNativeKernels } from '../../src/backend/native/elementwiseLibrary.js';
import { JS_KERNELS } from '../../src/backend/native/jsKernels.js';
import { Rng } from '../../src/util/random.js';
import { registerSecondOrderGradients } from '../../src/curvature/secondOrderGradients.js';

/**
 * specpipe's SplitV and Concat kernels (one strided row copy per piece, src/backend/native/
 * elementwiseKernels.ts) against the stock tfjs-backend-cpu kernels: bit for bit, on every axis of NHWC
 * tensors (DenseNet concatenates and splits the channel axis), equal and sized splits with a −1, three
 * inputs, and through Concat's gradient; the C row copy against the JavaScript one.
 */
const blasMissing = loadOpenBlas().ok ? false : 'libopenblas not loadable here';
tf.env().set('IS_TEST', true);
await tf.setBackend('cpu');
registerSecondOrderGradients();

function both(run: () => Float32Array[]): { ours: Float32Array[]; stock: Float32Array[] } {
  unregisterOpenBlasKernels();
  registerOpenBlasKernels();
  const s = openBlasKernelStatus();
  for (const name of ['SplitV', 'Concat'])
    assert.ok(s?.kernels.includes(name) || s?.javascript.includes(name), `${name} is registered`);
  const ours = run();
  unregisterOpenBlasKernels();
  const stock = run();
  registerOpenBlasKernels();
  return { ours, stock };
}

function assertSame(what: string, ours: Float32Array[], stock: Float32Array[]): void {
  assert.equal(ours.length, stock.length, `${what}: pieces`);
  ours.forEach((o, p) => {
    const s = stock[p]!;
    assert.equal(o.length, s.length, `${what}: piece ${p} length`);
    for (let i = 0; i < o.length; i++)
      if (!(Object.is(o[i], s[i]) || (Number.isNaN(o[i]) && Number.isNaN(s[i]))))
        assert.fail(`${what}: piece ${p} entry ${i}: ours ${o[i]}, stock ${s[i]}`);
  });
}

test('SplitV kernel = the stock cpu kernel, bit for bit, on every axis and split form', { skip: blasMissing }, () => {
  const rng = new Rng(5);
  const shape = [3, 4, 5, 7];
  const n = shape.reduce((p, q) => p * q, 1);
  const v = Float32Array.from({ length: n }, () => rng.normal());
  [NaN, Infinity, -Infinity, -0].forEach((x, i) => (v[i * 11] = x));
  const splits: [number, number | number[]][] = [
    [3, [2, 5]],
    [3, [1, -1, 3]],
    [-1, 7],
    [2, 5],
    [1, [0, 4]],
    [0, [1, 1, 1]],
    [0, 1],
  ];
  for (const [axis, spec] of splits) {
    const { ours, stock } = both(() =>
      tf.tidy(() => tf.split(tf.tensor(v, shape), spec, axis).map((t) => t.dataSync().slice() as Float32Array)),
    );
    assertSame(`axis ${axis}, ${JSON.stringify(spec)}`, ours, stock);
  }
});

test("Concat's gradient through the SplitV kernel = stock (DenseNet's channel concatenations)", { skip: blasMissing }, () => {
  const rng = new Rng(6);
  const a = Float32Array.from({ length: 2 * 4 * 4 * 6 }, () => rng.normal());
  const b = Float32Array.from({ length: 2 * 4 * 4 * 3 }, () => rng.normal());
  const w = Float32Array.from({ length: 2 * 4 * 4 * 9 }, () => rng.normal());
  const { ours, stock } = both(() =>
    tf.tidy(() => {
      const f = (x: tf.Tensor, y: tf.Tensor): tf.Scalar => tf.sum(tf.mul(tf.concat([x, y], 3), tf.tensor(w, [2, 4, 4, 9])));
      const [ga, gb] = tf.grads(f)([tf.tensor(a, [2, 4, 4, 6]), tf.tensor(b, [2, 4, 4, 3])]);
      return [ga!.dataSync().slice() as Float32Array, gb!.dataSync().slice() as Float32Array];
    }),
  );
  assertSame('concat gradient', ours, stock);
});

test('Concat kernel = the stock cpu kernel, bit for bit, on every axis, two and three inputs', { skip: blasMissing }, () => {
  const rng = new Rng(7);
  const shapes: [number, number[][]][] = [
    [
      3,
      [
        [2, 3, 4, 5],
        [2, 3, 4, 1],
        [2, 3, 4, 6],
      ],
    ],
    [
      -1,
      [
        [2, 3, 4, 5],
        [2, 3, 4, 2],
      ],
    ],
    [
      2,
      [
        [2, 3, 1, 5],
        [2, 3, 4, 5],
      ],
    ],
    [
      1,
      [
        [2, 1, 4, 5],
        [2, 3, 4, 5],
        [2, 2, 4, 5],
      ],
    ],
    [
      0,
      [
        [1, 3, 4, 5],
        [2, 3, 4, 5],
      ],
    ],
    [
      1,
      [
        [6, 2],
        [6, 7],
      ],
    ],
  ];
  for (const [axis, parts] of shapes) {
    const values = parts.map((shape) => {
      const v = Float32Array.from({ length: shape.reduce((p, q) => p * q, 1) }, () => rng.normal());
      [NaN, -0, Infinity].forEach((x, i) => (v[(i * 7) % v.length] = x));
      return v;
    });
    const { ours, stock } = both(() =>
      tf.tidy(() => [
        tf
          .concat(
            values.map((v, i) => tf.tensor(v, parts[i]!)),
            axis,
          )
          .dataSync()
          .slice() as Float32Array,
      ]),
    );
    assertSame(`axis ${axis}, ${JSON.stringify(parts)}`, ours, stock);
  }
});

test(
  'the C row copy = the JavaScript one (strided narrow and wide rows, zero width)',
  { skip: loadNativeKernels().ok ? false : 'C library not built here' },
  () => {
    const loaded = loadNativeKernels();
    assert.ok(loaded.ok);
    const rng = new Rng(8);
    const src = Float32Array.from({ length: 2 + 7 * 80 }, () => rng.normal());
    for (const [srcStride, dstStride, rows, width] of [
      [11, 5, 7, 5],
      [11, 11, 7, 11],
      [11, 13, 6, 3],
      [11, 4, 7, 0],
      [80, 75, 7, 70],
      [70, 70, 7, 70],
    ] as const) {
      const c = new Float32Array(1 + 7 * 80).fill(-1);
      const js = new Float32Array(1 + 7 * 80).fill(-1);
      loaded.kernels.copyRows(src.subarray(2), srcStride, c.subarray(1), dstStride, rows, width);
      JS_KERNELS.copyRows(src.subarray(2), srcStride, js.subarray(1), dstStride, rows, width);
      assert.deepEqual(c, js, `strides ${srcStride}/${dstStride}, ${rows} × ${width}`);
      if (width > 0) assert.equal(c[1 + dstStride], src[2 + srcStride], 'second row copied');
    }
  },
);
