import { test } from 'node:test';
import assert from 'node:assert/strict';
import { rmSync } from 'node:fs';
import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-backend-cpu';
import { openBlasKernelStatus, registerOpenBlasKernels, unregisterOpenBlasKernels } from '../../src/backend/openblasKernels.js';
import { loadOpenBlas } from '../../src/backend/native/openblasLibrary.js';
import { MAX_POOL_ROUTE_KERNEL } from '../../src/backend/native/elementwiseKernels.js';
import { maxPoolRouteAdjoint } from '../../src/curvature/secondOrderGradients.js';
import { Rng } from '../../src/util/random.js';

/**
 * specpipe's max-pool routing kernel (ddy[window] = ddx[first argmax]) against the tfjs-kernel
 * formulation of secondOrderGradients.ts it replaces (mask = MaxPoolGrad(1, x, y), then
 * k·avgPool(ddx ⊙ mask) for non-overlapping windows; argmax + gather otherwise), and against a
 * plain-JS float64 reference, with ties (integer-valued x): exact against the reference (pure
 * routing), within float32 rounding of the tfjs formulation (it averages, then multiplies by k²).
 */
const blasMissing = loadOpenBlas().ok ? false : `libopenblas not loadable here: ${(loadOpenBlas() as { reason: string }).reason}`;
tf.env().set('IS_TEST', true);
await tf.setBackend('cpu');

const CASES: readonly { shape: [number, number, number, number]; k: number; s: number; pad: 'valid' | 'same' }[] = [
  { shape: [3, 8, 8, 5], k: 2, s: 2, pad: 'valid' },
  { shape: [2, 9, 7, 3], k: 2, s: 2, pad: 'valid' },
  { shape: [2, 9, 9, 4], k: 3, s: 3, pad: 'valid' },
  { shape: [2, 9, 9, 3], k: 3, s: 2, pad: 'valid' }, // overlapping windows: the general (not tiled) C loop
  { shape: [1, 6, 6, 7], k: 2, s: 3, pad: 'valid' }, // gaps between windows
];

/** Reference: for each window the first strict maximum in row-major window order. */
function reference(
  x: Float32Array,
  ddx: Float32Array,
  [n, h, w, c]: readonly [number, number, number, number],
  k: number,
  s: number,
): number[] {
  const oh = Math.floor((h - k) / s) + 1;
  const ow = Math.floor((w - k) / s) + 1;
  const out: number[] = [];
  for (let b = 0; b < n; b++)
    for (let i = 0; i < oh; i++)
      for (let j = 0; j < ow; j++)
        for (let ch = 0; ch < c; ch++) {
          let best = -Infinity;
          let pos = -1;
          for (let r = i * s; r < i * s + k; r++)
            for (let q = j * s; q < j * s + k; q++) {
              const at = ((b * h + r) * w + q) * c + ch;
              if (x[at]! > best) {
                best = x[at]!;
                pos = at;
              }
            }
          out.push(pos >= 0 ? ddx[pos]! : 0);
        }
  return out;
}

function check(label: string): void {
  const rng = new Rng(5);
  for (const { shape, k, s, pad } of CASES) {
    const size = shape.reduce((a, b) => a * b, 1);
    const xv = Float32Array.from({ length: size }, () => rng.int(4)); // many ties
    const dv = Float32Array.from({ length: size }, () => rng.normal());
    const x = tf.tensor4d(xv, shape);
    const ddx = tf.tensor4d(dv, shape);
    const y = tf.maxPool(x, k, s, pad);
    assert.ok(tf.getKernel(MAX_POOL_ROUTE_KERNEL, 'cpu') !== undefined, `${label}: route kernel registered`);
    const got = maxPoolRouteAdjoint(ddx, x, y, k, s, pad);
    if (pad === 'valid')
      assert.deepEqual(Array.from(got.dataSync()), reference(xv, dv, shape, k, s), `${label} ${shape} k${k}: reference`);
    tf.unregisterKernel(MAX_POOL_ROUTE_KERNEL, 'cpu');
    const want = maxPoolRouteAdjoint(ddx, x, y, k, s, pad);
    unregisterOpenBlasKernels();
    registerOpenBlasKernels();
    assert.deepEqual(got.shape, want.shape);
    // The tfjs formulation averages then multiplies by k² (float32 rounding for k² ≠ 2^j): close, not exact.
    const g = got.dataSync();
    const w = want.dataSync();
    for (let i = 0; i < w.length; i++)
      assert.ok(
        Math.abs(g[i]! - w[i]!) <= 1e-6 * Math.max(1, Math.abs(w[i]!)),
        `${label} ${shape} k${k}: entry ${i} ${g[i]} vs tfjs formulation ${w[i]}`,
      );
    tf.dispose([x, ddx, y, got, want]);
  }
}

test('native max-pool routing kernel equals the tfjs formulation and a float64 reference', { skip: blasMissing }, () => {
  unregisterOpenBlasKernels();
  registerOpenBlasKernels();
  const e = openBlasKernelStatus()!.elementwise;
  if (!e.ok) {
    assert.match(e.reason, /no C compiler|SPECPIPE_NO_NATIVE|koffi/);
    return;
  }
  check('native');
  unregisterOpenBlasKernels();
  assert.equal(tf.getKernel(MAX_POOL_ROUTE_KERNEL, 'cpu'), undefined, 'unregistered with the other kernels');
});

test('JavaScript max-pool routing kernel (no C compiler) equals the tfjs formulation', { skip: blasMissing }, () => {
  unregisterOpenBlasKernels();
  process.env.CC = '/nonexistent/cc';
  process.env.SPECPIPE_NATIVE_DIR = `/tmp/specpipe-native-route-test-${process.pid}`;
  try {
    registerOpenBlasKernels();
    check('javascript');
  } finally {
    unregisterOpenBlasKernels();
    delete process.env.CC;
    rmSync(process.env.SPECPIPE_NATIVE_DIR!, { recursive: true, force: true });
    delete process.env.SPECPIPE_NATIVE_DIR;
  }
});
