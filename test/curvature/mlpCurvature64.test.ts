// Float64 MLP curvature products (src/curvature/mlpCurvature64.ts) against the independent float64
// dual-number reference (test/reference): Hess·v, G·v, H·v to 1e-12 relative, both losses, both activations.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mlp64Operator, mlp64Products } from '../../src/curvature/mlpCurvature64.js';
import { Rng } from '../../src/util/random.js';
import { referenceProducts } from '../reference/referenceCurvature.js';
import type { TinyNetSpec } from '../reference/tinyNetSpec.js';
import { relativeError } from '../util/relativeError.js';

const CASES = (['tanh', 'relu'] as const).flatMap((activation) =>
  (['cross-entropy', 'mse'] as const).map((loss) => ({ activation, loss, name: `mlp 6-5-4-3 ${activation} × ${loss}` })),
);

for (const c of CASES)
  test(`float64 MLP products match the dual-number reference to 1e-12: ${c.name}`, async () => {
    const sizes = [6, 5, 4, 3];
    const P = 6 * 5 + 5 + 5 * 4 + 4 + 4 * 3 + 3;
    const rng = new Rng(3);
    const theta = Float64Array.from({ length: P }, () => 0.6 * rng.normal());
    const N = 7;
    const images = Float32Array.from({ length: N * 6 }, () => rng.normal());
    const labels = Int32Array.from({ length: N }, (_, i) => i % 3);
    const spec: TinyNetSpec = {
      kind: 'tiny',
      name: c.name,
      input: [1, 1, 6],
      classes: 3,
      layers: [
        { op: 'flatten' },
        { op: 'dense', out: 5 },
        { op: c.activation },
        { op: 'dense', out: 4 },
        { op: c.activation },
        { op: 'dense', out: 3 },
      ],
    };
    const problem = {
      sizes,
      activation: c.activation,
      theta,
      data: { images, shape: [N, 6, 1, 1] as const, labels },
      loss: c.loss,
    };
    const v = Float64Array.from({ length: P }, () => rng.normal());
    const ours = mlp64Products(problem, v);
    const ref = referenceProducts({ spec, theta, buffers: new Float64Array(0), x: images, labels, loss: c.loss }, v);
    assert.ok(
      relativeError(ours.hessian, ref.hessianVector) <= 1e-12,
      `Hess·v ${relativeError(ours.hessian, ref.hessianVector)}`,
    );
    assert.ok(relativeError(ours.ggn, ref.ggnVector) <= 1e-12, `G·v ${relativeError(ours.ggn, ref.ggnVector)}`);
    // H·v from its own definition (r frozen), not Hess·v − G·v.
    assert.ok(
      relativeError(ours.residual, ref.residualVector) <= 1e-12,
      `H·v ${relativeError(ours.residual, ref.residualVector)}`,
    );
    const h = await mlp64Operator(problem, 'residual').matvec(v);
    assert.deepEqual(h, ours.residual);
  });

test('float64 MLP operator refuses mismatched sizes, naming them', () => {
  const data = { images: new Float32Array(4), shape: [1, 4, 1, 1] as const, labels: Int32Array.of(0) };
  assert.throws(
    () => mlp64Operator({ sizes: [4, 2], activation: 'relu', theta: new Float64Array(3), data, loss: 'mse' }, 'ggn'),
    /layer sizes \[4, 2\] need 10 parameters, θ has 3/,
  );
  assert.throws(
    () => mlp64Operator({ sizes: [5, 2], activation: 'relu', theta: new Float64Array(12), data, loss: 'mse' }, 'ggn'),
    /samples have 4·1·1 = 4 features, the MLP takes 5/,
  );
});
