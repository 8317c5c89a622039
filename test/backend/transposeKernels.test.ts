import { test } from 'node:test';
import assert from 'node:assert/strict';
import { rmSync } from 'node:fs';
import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-backend-cpu';
import {
  openBlasKernelStatus,
  registerOpenBlasKernels,
  stockKernel,
  unregisterOpenBlasKernels,
} from '../../src/backend/openblasKernels.js';
import { loadOpenBlas } from '../../src/backend/native/openblasLibrary.js';
import { transposeCanonical } from '../../src/backend/native/elementwiseKernels.js';
import { Rng } from '../../src/util/random.js';

/**
 * The native (C) and JavaScript-fallback Transpose kernels against tfjs-backend-cpu's stock one:
 * pure data movement, so outputs must be bit-identical (NaN payloads, -0 included), for float32
 * and int32, the NHWC ↔ NCHW permutations, 2-D, size-1 dims and arbitrary rank-5/6 permutations.
 */
const blasMissing = loadOpenBlas().ok ? false : `libopenblas not loadable here: ${(loadOpenBlas() as { reason: string }).reason}`;
tf.env().set('IS_TEST', true);
await tf.setBackend('cpu');

const CASES: readonly [number[], number[]][] = [
  [
    [7, 5],
    [1, 0],
  ],
  [
    [33, 65],
    [1, 0],
  ],
  [
    [256, 7, 7, 16],
    [0, 3, 1, 2],
  ],
  [
    [3, 16, 7, 7],
    [0, 2, 3, 1],
  ],
  [
    [2, 5, 6, 3],
    [0, 3, 1, 2],
  ],
  [
    [4, 1, 9, 1],
    [3, 2, 1, 0],
  ],
  [
    [1, 1],
    [1, 0],
  ],
  [
    [0, 3],
    [1, 0],
  ],
  [[5], [0]],
  [
    [2, 3, 4],
    [2, 0, 1],
  ],
  [
    [2, 3, 4, 5, 2],
    [4, 1, 3, 0, 2],
  ],
  [
    [2, 2, 3, 1, 2, 3],
    [5, 3, 0, 4, 1, 2],
  ],
  [
    [3, 4, 5],
    [0, 1, 2],
  ],
];

function run(shape: number[], perm: number[], dtype: 'float32' | 'int32'): { shape: number[]; bits: Int32Array } {
  const n = shape.reduce((a, b) => a * b, 1);
  const r = new Rng(n + perm.length);
  let x: tf.Tensor;
  if (dtype === 'float32') {
    const v = Float32Array.from({ length: n }, () => r.normal());
    const special = [NaN, -0, Infinity, -Infinity];
    for (let i = 0; i < Math.min(n, special.length); i++) v[(i * 3) % Math.max(1, n)] = special[i]!;
    x = tf.tensor(v, shape);
  } else
    x = tf.tensor(
      Int32Array.from({ length: n }, () => r.int(1 << 30) - (1 << 29)),
      shape,
      'int32',
    );
  const y = tf.transpose(x, perm);
  const raw = y.dataSync() as Float32Array | Int32Array;
  const out = { shape: y.shape, bits: new Int32Array(raw.buffer.slice(raw.byteOffset, raw.byteOffset + raw.byteLength)) };
  tf.dispose([x, y]);
  return out;
}

function checkAll(label: string): void {
  for (const [shape, perm] of CASES) {
    for (const dtype of ['float32', 'int32'] as const) {
      unregisterOpenBlasKernels();
      const want = run(shape, perm, dtype);
      registerOpenBlasKernels();
      const got = run(shape, perm, dtype);
      assert.deepEqual(got.shape, want.shape, `${label} ${dtype} ${shape} perm ${perm}: shape`);
      assert.deepEqual(got.bits, want.bits, `${label} ${dtype} ${shape} perm ${perm}: values`);
    }
  }
}

test('transposeCanonical drops size-1 dims and merges dims that stay adjacent', () => {
  assert.deepEqual(transposeCanonical([256, 7, 7, 16], [0, 3, 1, 2]), { shape: [256, 49, 16], perm: [0, 2, 1] });
  assert.deepEqual(transposeCanonical([256, 16, 7, 7], [0, 2, 3, 1]), { shape: [256, 16, 49], perm: [0, 2, 1] });
  assert.deepEqual(transposeCanonical([4, 1, 9, 1], [3, 2, 1, 0]), { shape: [4, 9], perm: [1, 0] });
  assert.deepEqual(transposeCanonical([3, 4, 5], [0, 1, 2]), { shape: [60], perm: [0] });
  assert.deepEqual(transposeCanonical([2, 3, 4], [2, 0, 1]), { shape: [6, 4], perm: [1, 0] });
  assert.deepEqual(transposeCanonical([1, 1], [1, 0]), { shape: [], perm: [] });
});

test('native Transpose equals the stock kernel bit for bit (float32, int32)', { skip: blasMissing }, () => {
  unregisterOpenBlasKernels();
  registerOpenBlasKernels();
  const status = openBlasKernelStatus()!;
  if (!status.elementwise.ok) {
    assert.match(status.elementwise.reason, /no C compiler|SPECPIPE_NO_NATIVE|koffi/);
    return;
  }
  assert.ok(status.kernels.includes('Transpose'), 'Transpose registered natively');
  assert.notEqual(tf.getKernel('Transpose', 'cpu')!.kernelFunc, stockKernel('Transpose')!.kernelFunc);
  checkAll('native');
  unregisterOpenBlasKernels();
});

test('JavaScript-fallback Transpose (no C compiler) equals the stock kernel bit for bit', { skip: blasMissing }, () => {
  unregisterOpenBlasKernels();
  process.env.CC = '/nonexistent/cc';
  process.env.SPECPIPE_NATIVE_DIR = `/tmp/specpipe-native-transpose-test-${process.pid}`;
  try {
    registerOpenBlasKernels();
    assert.ok(openBlasKernelStatus()!.javascript.includes('Transpose'), 'Transpose served by the JavaScript fallback');
    checkAll('javascript');
  } finally {
    unregisterOpenBlasKernels();
    delete process.env.CC;
    rmSync(process.env.SPECPIPE_NATIVE_DIR!, { recursive: true, force: true });
    delete process.env.SPECPIPE_NATIVE_DIR;
  }
});
