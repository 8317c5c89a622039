import type { Mlp64Problem } from '../../src/curvature/mlpCurvature64.js';
import { Rng } from '../../src/util/random.js';

/** A random float64 MLP problem: θ ~ 0.6·N(0, 1), N samples of D = sizes[0] normal features, labels i mod C. */
export function tinyMlpProblem(
  seed: number,
  sizes: readonly number[],
  activation: 'relu' | 'tanh',
  loss: 'cross-entropy' | 'mse',
  N: number,
): Mlp64Problem {
  const rng = new Rng(seed);
  let P = 0;
  for (let l = 0; l + 1 < sizes.length; l++) P += sizes[l]! * sizes[l + 1]! + sizes[l + 1]!;
  const D = sizes[0]!;
  const C = sizes[sizes.length - 1]!;
  return {
    sizes,
    activation,
    theta: Float64Array.from({ length: P }, () => 0.6 * rng.normal()),
    data: {
      images: Float32Array.from({ length: N * D }, () => rng.normal()),
      shape: [N, 1, 1, D],
      labels: Int32Array.from({ length: N }, (_, i) => i % C),
    },
    loss,
  };
}
