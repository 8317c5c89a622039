import type { CurvatureProblem } from './curvatureOperators.js';
import { flattenParameters } from './flatParameters.js';
import { accumulate, affine, backAffine, layersOf, type Mlp64Problem } from './mlpCurvature64.js';
import { SpecpipeError } from '../util/errors.js';

/** One sample's logit Jacobian and softmax probabilities, float64. */
export interface SampleJacobian {
  readonly label: number;
  /** p_i = softmax(z_i) (length C). */
  readonly probabilities: Float64Array;
  /** J_i = ∂z_i/∂θ, C × P row-major: row k is J_iᵀ e_k, the gradient of logit k. */
  readonly jacobian: Float64Array;
}

/**
 * J_i and p_i of sample `n` of an MLP problem (math.md §1) in float64: one forward pass, then C
 * first-order backward passes with the unit cotangents e_k (gz_L = e_k; gW_l = a_{l−1}ᵀ gz_l,
 * gb_l = gz_l, gz_{l−1} = (gz_l W_lᵀ) ⊙ φ'(z_{l−1})), in the θ layout of mlpCurvature64.ts.
 */
export function mlp64SampleJacobian(p: Mlp64Problem, n: number): SampleJacobian {
  const layers = layersOf(p);
  const [N] = p.data.shape;
  if (!Number.isInteger(n) || n < 0 || n >= N)
    throw new SpecpipeError('mlp64-sample', `mlp64: sample index ${n} is outside [0, ${N})`);
  const D = p.sizes[0]!;
  const C = p.sizes[p.sizes.length - 1]!;
  const P = p.theta.length;
  const relu = p.activation === 'relu';
  const a: Float64Array[] = [Float64Array.from(p.data.images.subarray(n * D, (n + 1) * D))];
  const zs: Float64Array[] = [];
  layers.forEach((L, l) => {
    const z = affine(a[l]!, p.theta, L, true);
    zs.push(z);
    if (l + 1 < layers.length) a.push(Float64Array.from(z, (x) => (relu ? Math.max(x, 0) : Math.tanh(x))));
  });
  const zL = zs[zs.length - 1]!;
  const mx = Math.max(...zL);
  const e = Float64Array.from(zL, (x) => Math.exp(x - mx));
  const sum = e.reduce((u, w) => u + w, 0);
  const jacobian = new Float64Array(C * P);
  for (let k = 0; k < C; k++) {
    const row = jacobian.subarray(k * P, (k + 1) * P);
    let gz = new Float64Array(C);
    gz[k] = 1;
    for (let l = layers.length - 1; l >= 0; l--) {
      const L = layers[l]!;
      accumulate(row, a[l]!, gz, L, 1);
      if (l === 0) break;
      const ga = backAffine(gz, p.theta, L);
      const z = zs[l - 1]!;
      const act = a[l]!;
      gz = Float64Array.from(ga, (x, j) => x * (relu ? (z[j]! > 0 ? 1 : 0) : 1 - act[j]! * act[j]!));
    }
  }
  return { label: p.data.labels[n]!, probabilities: Float64Array.from(e, (x) => x / sum), jacobian };
}

/**
 * The float64 twin of a curvature problem whose net is an MLP (θ from its float32 tensors, the same
 * preprocessed samples and loss); undefined for any other model kind.
 */
export function mlp64ProblemOf(problem: CurvatureProblem): Mlp64Problem | undefined {
  const spec = problem.network.spec;
  if (spec.kind !== 'mlp') return undefined;
  return {
    sizes: [spec.input.reduce((x, y) => x * y, 1), ...spec.hidden, spec.classes],
    activation: spec.activation,
    theta: flattenParameters(problem.params),
    data: problem.data,
    loss: problem.loss,
  };
}
