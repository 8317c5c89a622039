import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-backend-cpu';
import { registerOpenBlasKernels, unregisterOpenBlasKernels } from '../../src/backend/openblasKernels.js';
import { loadOpenBlas } from '../../src/backend/native/openblasLibrary.js';
import { loadNativeKernels } from '../../src/backend/native/elementwiseLibrary.js';
import { TANH_GRAD_KERNEL, TANH_GRAD2_KERNEL } from '../../src/backend/native/elementwiseKernels.js';
import { tanhGrad, tanhGrad2 } from '../../src/curvature/tanhDerivatives.js';
import { registerSecondOrderGradients } from '../../src/curvature/secondOrderGradients.js';
import { BatchCurvature } from '../../src/curvature/batchCurvature.js';
import { unflattenParameters } from '../../src/curvature/flatParameters.js';
import { buildNetwork } from '../../src/nn/build.js';
import { sliceBatch } from '../../src/data/batches.js';
import { Rng } from '../../src/util/random.js';
import { relativeError } from '../util/relativeError.js';

/**
 * The fused tanh derivative kernels (TANH_GRAD_KERNEL dx = dy·(1 − t²), TANH_GRAD2_KERNEL
 * ((−(g·dy))·(t·2))·(1 − t²), t = tanh x; src/curvature/tanhDerivatives.ts):
 * - bit for bit the unfused chains of cpu kernels they replace (specpipe's native Tanh, Square,
 *   Sub, Multiply, Neg), special values included (±0, ±Inf, NaN, |x| around the 0.625 branch);
 * - within float32 rounding of the stock tfjs-backend-cpu kernels (relative 1e-6, Math.tanh);
 * - a tanh MLP's Hess·v, G·v and residual products through BatchCurvature are bit for bit the same
 *   with and without them, and third-order differentiation through TANH_GRAD2_KERNEL agrees with
 *   tfjs differentiating the unfused chain.
 */
const missing = !loadOpenBlas().ok
  ? 'libopenblas not loadable here'
  : !loadNativeKernels().ok
    ? `no C library: ${(loadNativeKernels() as { reason: string }).reason}`
    : false;
tf.env().set('IS_TEST', true);
await tf.setBackend('cpu');
registerSecondOrderGradients();

const SPECIAL = [0, -0, 1e-30, -1e-30, 0.624, 0.625, 0.626, -0.625, 1, -3, 9, -9.5, 20, -40, 1e4, Infinity, -Infinity, NaN];

function values(n: number, seed: number, special = true): Float32Array {
  const rng = new Rng(seed);
  const v = Float32Array.from({ length: n }, () => 2 * rng.normal());
  if (special) SPECIAL.forEach((s, i) => (v[(i * 7) % n] = s));
  return v;
}

/** Runs f with the fused kernels registered (true) or unregistered (false: the unfused op chains). */
function withFused<T>(on: boolean, f: () => T): T {
  unregisterOpenBlasKernels();
  registerOpenBlasKernels();
  if (!on) {
    tf.unregisterKernel(TANH_GRAD_KERNEL, 'cpu');
    tf.unregisterKernel(TANH_GRAD2_KERNEL, 'cpu');
  }
  try {
    return f();
  } finally {
    unregisterOpenBlasKernels();
    registerOpenBlasKernels();
  }
}

function sameBits(a: Float32Array, b: Float32Array, label: string): void {
  assert.equal(a.length, b.length, label);
  for (let i = 0; i < a.length; i++) {
    const same = Object.is(a[i], b[i]) || (Number.isNaN(a[i]) && Number.isNaN(b[i]));
    if (!same) assert.fail(`${label}: entry ${i}: fused ${a[i]}, unfused ${b[i]}`);
  }
}

test(
  'fused tanh kernels are registered with the C library, and compute bit for bit the unfused chains',
  { skip: missing },
  () => {
    for (const shape of [[7], [3, 5], [64, 130], [2, 3, 4, 5]]) {
      const n = shape.reduce((p, q) => p * q, 1);
      const [dy, x, g] = [values(n, 1, false), values(n, 2), values(n, 3, false)];
      const run = (): Float32Array[] =>
        tf.tidy(() => {
          const [tdy, tx, tg] = [tf.tensor(dy, shape), tf.tensor(x, shape), tf.tensor(g, shape)];
          return [tanhGrad(tdy, tx).dataSync() as Float32Array, tanhGrad2(tg, tdy, tx).dataSync() as Float32Array].map((a) =>
            a.slice(),
          );
        });
      const fused = withFused(true, () => {
        assert.ok(tf.getKernel(TANH_GRAD_KERNEL, 'cpu') !== undefined && tf.getKernel(TANH_GRAD2_KERNEL, 'cpu') !== undefined);
        return run();
      });
      const chain = withFused(false, run);
      sameBits(fused[0]!, chain[0]!, `tanhGrad ${shape}`);
      sameBits(fused[1]!, chain[1]!, `tanhGrad2 ${shape}`);
    }
  },
);

test('fused tanh kernels agree with the stock tfjs kernels to float32 rounding', { skip: missing }, () => {
  const n = 4099;
  const [dy, x, g] = [values(n, 4, false), values(n, 5, false), values(n, 6, false)];
  const fused = withFused(true, () =>
    tf.tidy(() => {
      const [tdy, tx, tg] = [tf.tensor(dy), tf.tensor(x), tf.tensor(g)];
      return [tanhGrad(tdy, tx).dataSync().slice(), tanhGrad2(tg, tdy, tx).dataSync().slice()];
    }),
  );
  unregisterOpenBlasKernels(); // stock tfjs-backend-cpu kernels only
  try {
    const stock = tf.tidy(() => {
      const [tdy, tx, tg] = [tf.tensor(dy), tf.tensor(x), tf.tensor(g)];
      const t = tf.tanh(tx);
      const s = tf.sub(tf.scalar(1), tf.square(t));
      return [
        tf.mul(tdy, s).dataSync().slice(),
        tf
          .mul(tf.mul(tf.mul(tg, tdy), tf.mul(t, tf.scalar(-2))), s)
          .dataSync()
          .slice(),
      ];
    });
    for (let k = 0; k < 2; k++) {
      const e = relativeError(fused[k]!, stock[k]!);
      assert.ok(e < 1e-6, `kernel ${k}: relative error ${e}`);
    }
  } finally {
    registerOpenBlasKernels();
  }
});

test('a tanh MLP: Hess·v, G·v and H·v bit for bit the same with the fused kernels', { skip: missing }, async () => {
  const network = buildNetwork({ kind: 'mlp', input: [1, 4, 4], hidden: [7, 5], activation: 'tanh', classes: 3 });
  const rng = new Rng(8);
  const n = 11;
  const split = {
    images: Float32Array.from({ length: n * 16 }, () => rng.normal()),
    shape: [n, 1, 4, 4] as [number, number, number, number],
    labels: Int32Array.from({ length: n }, () => rng.int(3)),
  };
  const batch = sliceBatch(split, 0, n);
  const run = (): Float32Array[] =>
    tf.tidy(() => {
      const { params, buffers } = network.init(2);
      const bc = new BatchCurvature(network, params, buffers, 'cross-entropy');
      const vrng = new Rng(9);
      const vs = [0, 1].map(() =>
        unflattenParameters(
          Float64Array.from({ length: bc.size }, () => vrng.normal()),
          network.params,
        ),
      );
      const both = bc.hessianAndGgnVectorSums(batch, vs);
      return [
        ...bc.hessianVectorSums(batch, vs),
        ...bc.ggnVectorSums(batch, vs),
        ...bc.residualVectorSums(batch, vs),
        ...both.hessian,
        ...both.ggn,
      ];
    });
  const fused = withFused(true, run);
  const chain = withFused(false, run);
  fused.forEach((f, k) => sameBits(f, chain[k]!, `product ${k}`));
  // The fused path ran: both kernels appear in the products' kernel list (and not without them).
  const kernelsOf = async (on: boolean): Promise<Set<string>> => {
    unregisterOpenBlasKernels();
    registerOpenBlasKernels();
    if (!on) [TANH_GRAD_KERNEL, TANH_GRAD2_KERNEL].forEach((k) => tf.unregisterKernel(k, 'cpu'));
    try {
      return new Set((await tf.profile(() => void run())).kernelNames);
    } finally {
      unregisterOpenBlasKernels();
      registerOpenBlasKernels();
    }
  };
  const on = await kernelsOf(true);
  assert.ok(on.has(TANH_GRAD_KERNEL) && on.has(TANH_GRAD2_KERNEL), `fused kernels ran: ${[...on].join(', ')}`);
  const off = await kernelsOf(false);
  assert.ok(!off.has(TANH_GRAD_KERNEL) && off.has('Tanh') && off.has('Square'), `unfused chain ran: ${[...off].join(', ')}`);
});

test('third order through the fused kernels = tfjs differentiating the unfused chain', { skip: missing }, () => {
  const n = 257;
  const [dy, x, g, h] = [values(n, 10, false), values(n, 11, false), values(n, 12, false), values(n, 13, false)];
  // ∂/∂(g, dy, x) of Σ h ⊙ tanhGrad2(g, dy, x)
  const run = (): Float32Array[] =>
    tf.tidy(() => {
      const th = tf.tensor(h);
      const grads = tf.grads((a: tf.Tensor, b: tf.Tensor, c: tf.Tensor) => tf.sum(tf.mul(th, tanhGrad2(a, b, c))));
      return grads([tf.tensor(g), tf.tensor(dy), tf.tensor(x)]).map((t) => t.dataSync().slice() as Float32Array);
    });
  const fused = withFused(true, run);
  const chain = withFused(false, run);
  for (let k = 0; k < 3; k++) {
    const e = relativeError(fused[k]!, chain[k]!);
    assert.ok(e < 1e-5, `input ${k}: relative error ${e}`);
  }
});
