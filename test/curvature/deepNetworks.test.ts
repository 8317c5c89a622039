import { test, before } from 'node:test';
import assert from 'node:assert/strict';
import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-backend-cpu';
import { buildNetwork } from '../../src/nn/build.js';
import type { ModelSpec } from '../../src/nn/network.js';
import { Curvature } from '../../src/curvature/curvatureOperators.js';
import { registerSecondOrderGradients } from '../../src/curvature/secondOrderGradients.js';
import { Rng } from '../../src/util/random.js';

/**
 * The paper's deep nets from buildNetwork (BatchNorm in eval mode, residual adds, DenseNet
 * concatenations), narrowed to run in seconds: Hess·v against central differences of the
 * float64-accumulated full gradient, symmetry of Hess and G, vᵀGv ≥ 0, and Hess − G from the
 * joint pass equal to the two separate products.
 * The difference check moves only the classifier (the last weight and bias), so no ReLU or
 * max-pool switches along the path and the gradient is smooth in the step (moving every
 * weight by 1e-3 flips ReLUs and the difference quotient blows up as 1/h); Hess·v still runs
 * the second-order rules of every layer through the mixed terms ∂²L/∂θ_early ∂W_last.
 * Float32 gradients make this a 1e-3 check (measured 1e-5); the exact 1e-4 checks are on the tiny
 * nets. densenet40 and vgg11 (20–30 s each here) run with SPECPIPE_SLOW=1.
 */
const CASES: readonly { name: string; spec: ModelSpec; slow?: boolean }[] = [
  { name: 'resnet18 (width 1/16, 3×8×8)', spec: { kind: 'resnet18', input: [3, 8, 8], width: 0.0625, classes: 3 } },
  { name: 'densenet40 (growth 2, 3×8×8)', spec: { kind: 'densenet40', input: [3, 8, 8], growth: 2, classes: 3 }, slow: true },
  { name: 'vgg11 (width 1/16, 3×32×32)', spec: { kind: 'vgg11', input: [3, 32, 32], width: 0.0625, classes: 3 }, slow: true },
];

before(async () => {
  await tf.setBackend('cpu');
  registerSecondOrderGradients();
});

const dot = (a: ArrayLike<number>, b: ArrayLike<number>): number => {
  let s = 0;
  for (let i = 0; i < a.length; i++) s += a[i]! * b[i]!;
  return s;
};

function unit(p: number, seed: number): Float64Array {
  const rng = new Rng(seed);
  const v = Float64Array.from({ length: p }, () => rng.normal());
  const n = Math.sqrt(dot(v, v));
  return v.map((x) => x / n);
}

for (const c of CASES) {
  test(
    `${c.name}: Hess·v vs central differences of the gradient, symmetry, vᵀGv ≥ 0, H = Hess − G`,
    { skip: c.slow && !process.env.SPECPIPE_SLOW && 'set SPECPIPE_SLOW=1' },
    async () => {
      const network = buildNetwork(c.spec);
      const { params, buffers } = network.init(0);
      const rng = new Rng(5);
      const n = 4;
      const [ch, h, w] = c.spec.input as readonly [number, number, number];
      const data = {
        images: Float32Array.from({ length: n * ch * h * w }, () => rng.uniform()),
        shape: [n, ch, h, w] as [number, number, number, number],
        labels: Int32Array.from([0, 1, 2, 1]),
      };
      const problem = { network, buffers, data, loss: 'cross-entropy' as const };
      const cv = await Curvature.open({ ...problem, params }, { batchSize: 3 });
      // v: a unit vector on the classifier (last weight [F, C] and bias [C]); u: anywhere
      const specs = network.params;
      const last = specs[specs.length - 1]!;
      const weight = specs[specs.length - 2]!;
      assert.deepEqual([weight.shape[1], last.shape[0]], [3, 3], 'the classifier is the last weight and bias');
      const classifier = weight.shape.reduce((a, b) => a * b, 1) + 3;
      const v = new Float64Array(cv.size);
      v.set(unit(classifier, 1), cv.size - classifier);
      const u = unit(cv.size, 2);
      const { hessian: hv, ggn: gv } = await cv.hessianAndGgnVector(v);
      // central differences of the gradient along v
      const step = 1e-2;
      const shifted = async (s: number): Promise<Float64Array> => {
        const moved = params.map((p, k) => {
          let off = 0;
          for (let j = 0; j < k; j++) off += params[j]!.size;
          const d = p.dataSync();
          return tf.tensor(
            Float32Array.from(d, (x, i) => x + s * v[off + i]!),
            p.shape,
          );
        });
        const g = await (await Curvature.open({ ...problem, params: moved }, { batchSize: 3 })).fullGradient();
        tf.dispose(moved);
        return g;
      };
      const gp = await shifted(step);
      const gm = await shifted(-step);
      const fd = gp.map((x, i) => (x - gm[i]!) / (2 * step));
      const err = Math.sqrt(
        dot(
          fd.map((x, i) => x - hv[i]!),
          fd.map((x, i) => x - hv[i]!),
        ) / dot(fd, fd),
      );
      assert.ok(err <= 1e-3, `Hess·v vs central differences: relative error ${err}`);
      // symmetry and positivity
      const hu = await cv.hessianVector(u);
      const gu = await cv.ggnVector(u);
      const scale = Math.sqrt(dot(hv, hv)) + Math.sqrt(dot(hu, hu));
      assert.ok(Math.abs(dot(u, hv) - dot(v, hu)) <= 1e-4 * scale, `Hess: uᵀHv = ${dot(u, hv)}, vᵀHu = ${dot(v, hu)}`);
      const gscale = Math.sqrt(dot(gv, gv)) + Math.sqrt(dot(gu, gu));
      assert.ok(Math.abs(dot(u, gv) - dot(v, gu)) <= 1e-4 * gscale, `G: uᵀGv = ${dot(u, gv)}, vᵀGu = ${dot(v, gu)}`);
      assert.ok(dot(v, gv) >= 0 && dot(u, gu) >= 0, `vᵀGv = ${dot(v, gv)}, uᵀGu = ${dot(u, gu)}`);
      // joint pass = separate products
      const gvSeparate = await cv.ggnVector(v);
      const hvSeparate = await cv.hessianVector(v);
      const d1 = Math.sqrt(
        dot(
          gvSeparate.map((x, i) => x - gv[i]!),
          gvSeparate.map((x, i) => x - gv[i]!),
        ) / dot(gv, gv),
      );
      const d2 = Math.sqrt(
        dot(
          hvSeparate.map((x, i) => x - hv[i]!),
          hvSeparate.map((x, i) => x - hv[i]!),
        ) / dot(hv, hv),
      );
      assert.ok(d1 <= 1e-5 && d2 <= 1e-5, `joint vs separate: G ${d1}, Hess ${d2}`);
      tf.dispose([...params, ...buffers]);
    },
  );
}
