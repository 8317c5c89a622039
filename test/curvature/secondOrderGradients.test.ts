import { test, before } from 'node:test';
import assert from 'node:assert/strict';
import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-backend-cpu';
import { registerSecondOrderGradients, secondOrderGradientsRegistered } from '../../src/curvature/secondOrderGradients.js';
import { Rng } from '../../src/util/random.js';

/**
 * Every registered gradient rule, kernel by kernel: first derivatives (the gradient) and second
 * derivatives (Hess·v by grad-of-grad) against central differences, on
 *   F(x) = Σ w ⊙ tanh(op(x))
 * (the tanh makes second derivatives of linear kernels nonzero). Central differences in float32
 * with h = 1e-3 carry ~1e-4 relative noise, so the tolerance is 1e-2 — a wrong rule is off by O(1).
 * Whole-network agreement to 1e-4 with the exact float64 reference is in curvatureOperators.test.ts.
 */

interface KernelCase {
  readonly name: string;
  readonly kernels: readonly string[];
  readonly shapes: readonly (readonly number[])[];
  /** Positive inputs (log, sqrt, pow …). */
  readonly positive?: boolean;
  readonly op: (...x: tf.Tensor[]) => tf.Tensor;
}

const nhwc = (x: tf.Tensor): tf.Tensor4D => x as tf.Tensor4D;

const CASES: readonly KernelCase[] = [
  { name: 'tanh', kernels: ['Tanh'], shapes: [[3, 4]], op: (x) => tf.tanh(x!) },
  { name: 'sigmoid', kernels: ['Sigmoid'], shapes: [[3, 4]], op: (x) => tf.sigmoid(x!) },
  { name: 'exp', kernels: ['Exp'], shapes: [[3, 4]], op: (x) => tf.exp(tf.mul(x!, 0.5)) },
  { name: 'log', kernels: ['Log'], shapes: [[3, 4]], positive: true, op: (x) => tf.log(x!) },
  { name: 'softmax', kernels: ['Softmax'], shapes: [[3, 4]], op: (x) => tf.mul(tf.softmax(x!), 3) },
  {
    name: 'logSumExp (Max, Equal)',
    kernels: ['Max', 'Equal', 'Exp', 'Log', 'Sum'],
    shapes: [[3, 4]],
    op: (x) => tf.logSumExp(x!, 1),
  },
  {
    name: 'max, min reductions',
    kernels: ['Max', 'Min'],
    shapes: [[3, 4]],
    op: (x) => tf.add(tf.max(x!, 1, true), tf.min(x!, 0, true)),
  },
  {
    name: 'sqrt, rsqrt, reciprocal',
    kernels: ['Sqrt', 'Rsqrt', 'Reciprocal'],
    shapes: [[3, 4]],
    positive: true,
    op: (x) => tf.add(tf.add(tf.sqrt(x!), tf.rsqrt(x!)), tf.reciprocal(tf.add(x!, 1))),
  },
  {
    name: 'square, pow',
    kernels: ['Square', 'Pow'],
    shapes: [[3, 4]],
    positive: true,
    op: (x) => tf.add(tf.square(x!), tf.pow(x!, tf.scalar(1.5))),
  },
  {
    name: 'relu, relu6, leakyRelu, abs',
    kernels: ['Relu', 'Relu6', 'LeakyRelu', 'Abs', 'Step'],
    shapes: [[3, 4]],
    op: (x) => tf.addN([tf.relu(x!), tf.relu6(tf.mul(x!, 4)), tf.leakyRelu(x!, 0.1), tf.abs(x!)]),
  },
  {
    name: 'softplus, clipByValue, where',
    kernels: ['Softplus', 'ClipByValue', 'Select', 'Greater'],
    shapes: [[3, 4]],
    op: (x) => tf.add(tf.softplus(x!), tf.where(tf.greater(x!, 0), tf.clipByValue(x!, -0.5, 0.7), tf.mul(x!, 2))),
  },
  {
    name: 'broadcast add, sub, mul, div',
    kernels: ['Add', 'Sub', 'Multiply', 'RealDiv'],
    shapes: [[3, 4], [4]],
    op: (a, b) => tf.div(tf.mul(tf.sub(a!, b!), tf.add(a!, b!)), tf.add(tf.square(b!), 1)),
  },
  {
    name: 'maximum, minimum, squaredDifference',
    kernels: ['Maximum', 'Minimum', 'SquaredDifference'],
    shapes: [
      [3, 4],
      [3, 4],
    ],
    op: (a, b) => tf.addN([tf.maximum(a!, b!), tf.minimum(a!, b!), tf.squaredDifference(a!, b!)]),
  },
  {
    name: 'mean, sum',
    kernels: ['Mean', 'Sum'],
    shapes: [[2, 3, 4]],
    op: (x) => tf.add(tf.mean(x!, [1, 2]), tf.sum(tf.mul(x!, x!), [1, 2])),
  },
  {
    name: 'matMul (all transposes)',
    kernels: ['BatchMatMul'],
    shapes: [
      [3, 3],
      [3, 3],
    ],
    op: (a, b) =>
      tf.addN([
        tf.matMul(a!, b!),
        tf.matMul(a!, b!, true, true),
        tf.matMul(tf.transpose(a!), b!, true, false),
        tf.matMul(a!, tf.transpose(b!), false, true),
      ]),
  },
  {
    name: 'conv2d stride 2, same',
    kernels: ['Conv2D', 'Conv2DBackpropInput', 'Conv2DBackpropFilter'],
    shapes: [
      [2, 5, 5, 2],
      [3, 3, 2, 3],
    ],
    op: (x, w) => tf.conv2d(nhwc(x!), nhwc(w!), 2, 'same'),
  },
  {
    name: 'conv2d stride 1, valid',
    kernels: ['Conv2D', 'Conv2DBackpropInput', 'Conv2DBackpropFilter'],
    shapes: [
      [2, 5, 5, 2],
      [2, 2, 2, 3],
    ],
    op: (x, w) => tf.conv2d(nhwc(x!), nhwc(w!), 1, 'valid'),
  },
  {
    name: 'conv2dTranspose',
    kernels: ['Conv2DBackpropInput', 'Conv2D', 'Conv2DBackpropFilter'],
    shapes: [
      [2, 3, 3, 3],
      [3, 3, 2, 3],
    ],
    op: (y, w) => tf.conv2dTranspose(nhwc(y!), nhwc(w!), [2, 5, 5, 2], 2, 'same'),
  },
  {
    name: 'maxPool 2×2 stride 2',
    kernels: ['MaxPool', 'MaxPoolGrad'],
    shapes: [[2, 4, 4, 3]],
    op: (x) => tf.maxPool(nhwc(x!), 2, 2, 'valid'),
  },
  {
    name: 'maxPool 3×3 stride 2 same (overlapping)',
    kernels: ['MaxPool', 'MaxPoolGrad'],
    shapes: [[2, 5, 5, 2]],
    op: (x) => tf.maxPool(nhwc(x!), 3, 2, 'same'),
  },
  {
    name: 'avgPool 2×2 stride 1',
    kernels: ['AvgPool', 'AvgPoolGrad'],
    shapes: [[2, 4, 4, 3]],
    op: (x) => tf.avgPool(nhwc(x!), 2, 1, 'valid'),
  },
  {
    name: 'batchNorm (fused)',
    kernels: ['FusedBatchNorm'],
    shapes: [[2, 3, 3, 4], [4], [4]],
    op: (x, g, b) => tf.batchNorm(x!, tf.tensor1d([0.1, -0.2, 0.3, 0]), tf.tensor1d([0.5, 1.5, 1, 2]), b!, g!, 1e-5),
  },
  {
    name: 'concat, split, stack, unstack',
    kernels: ['Concat', 'SplitV', 'Pack', 'Unpack'],
    shapes: [
      [2, 3],
      [2, 2],
    ],
    op: (a, b) => {
      const c = tf.concat([a!, b!], 1);
      const [p, q] = tf.split(c, [2, 3], 1);
      return tf.concat(tf.unstack(tf.stack([tf.tanh(p!), tf.slice(q!, [0, 0], [2, 2])])), 1);
    },
  },
  {
    name: 'reshape, transpose, slice, pad, tile, broadcastTo',
    kernels: ['Reshape', 'Transpose', 'Slice', 'PadV2', 'Tile', 'BroadcastTo'],
    shapes: [
      [2, 3],
      [1, 3],
    ],
    op: (a, b) =>
      tf.addN([
        tf.reshape(
          tf.transpose(
            tf.pad(tf.slice(a!, [0, 1], [2, 2]), [
              [1, 0],
              [0, 1],
            ]),
          ),
          [3, 3],
        ),
        tf.tile(b!, [3, 1]),
        tf.broadcastTo(b!, [3, 3]),
      ]),
  },
];

before(async () => {
  await tf.setBackend('cpu');
  registerSecondOrderGradients();
});

test('registration is idempotent and fills the gradient registry Node tfjs-core leaves empty', () => {
  registerSecondOrderGradients();
  assert.equal(secondOrderGradientsRegistered(), true);
  for (const k of new Set(CASES.flatMap((c) => c.kernels))) assert.ok(tf.getGradient(k) !== undefined, `no gradient for ${k}`);
});

function inputs(c: KernelCase, seed: number): Float32Array[] {
  const rng = new Rng(seed);
  return c.shapes.map((s) =>
    Float32Array.from({ length: s.reduce((a, b) => a * b, 1) }, () => (c.positive ? 0.5 + rng.uniform() : rng.normal())),
  );
}

function relativeError(a: ArrayLike<number>, b: ArrayLike<number>): number {
  let d = 0;
  let n = 0;
  for (let i = 0; i < b.length; i++) {
    d += (a[i]! - b[i]!) ** 2;
    n += b[i]! ** 2;
  }
  return Math.sqrt(d / Math.max(n, 1e-30));
}

for (const c of CASES) {
  test(`first and second derivatives of ${c.name} (${c.kernels.join(', ')})`, () => {
    const xs = inputs(c, 1);
    const v = inputs({ ...c, positive: false }, 2);
    const w = tf.tidy(() => {
      const y = c.op(...c.shapes.map((s, k) => tf.tensor(xs[k]!, [...s])));
      const rng = new Rng(3);
      return tf.tensor(
        Float32Array.from({ length: y.size }, () => rng.normal()),
        y.shape,
      );
    });
    const F = (...x: tf.Tensor[]): tf.Scalar => tf.sum(tf.mul(w, tf.tanh(c.op(...x))));
    const grad = tf.grads(F);
    const at = (h: number): tf.Tensor[] =>
      c.shapes.map((s, k) =>
        tf.tensor(
          xs[k]!.map((x, i) => x + h * v[k]![i]!),
          [...s],
        ),
      );
    const h = 1e-3;
    tf.tidy(() => {
      // first order: directional derivative ∇F·v against (F(x+hv) − F(x−hv)) / 2h
      const g = grad(at(0));
      let gv = 0;
      g.forEach((t, k) => t.dataSync().forEach((gi, i) => (gv += gi * v[k]![i]!)));
      const fd = (F(...at(h)).dataSync()[0]! - F(...at(-h)).dataSync()[0]!) / (2 * h);
      assert.ok(Math.abs(gv - fd) <= 1e-2 * Math.max(Math.abs(fd), 1e-2), `∇F·v = ${gv}, central difference ${fd}`);
      // second order: ∇[∇F·v] against (∇F(x+hv) − ∇F(x−hv)) / 2h
      const vt = c.shapes.map((s, k) => tf.tensor(v[k]!, [...s]));
      const hv = tf.grads((...x: tf.Tensor[]) => tf.addN(grad(x).map((t, k) => tf.sum(tf.mul(t, vt[k]!)))) as tf.Scalar)(at(0));
      const gp = grad(at(h));
      const gm = grad(at(-h));
      const got: number[] = [];
      const want: number[] = [];
      hv.forEach((t, k) => {
        const p = gp[k]!.dataSync();
        const m = gm[k]!.dataSync();
        t.dataSync().forEach((x, i) => {
          got.push(x);
          want.push((p[i]! - m[i]!) / (2 * h));
        });
      });
      const e = relativeError(got, want);
      assert.ok(e <= 1e-2, `Hess·v relative error ${e} against central differences`);
    });
    w.dispose();
  });
}
