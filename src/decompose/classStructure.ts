import type { ClassGradients } from './classGradients.js';

/**
 * The C − 1 structure of A1 (math.md §3.1), measured. For every sample Σ_{c'} p_ic' g_{i,c'} =
 * J_iᵀ Σ_{c'} p_ic' (p_i − e_c') = 0, so summing over i ∈ c gives Σ_{c'} s_cc' = 0, i.e.
 * P_c g_c = −P_cc g_cc, and
 *
 *     Σ_c (P_c/N) g_c = −(1/N) Σ_c P_cc g_cc.
 *
 * The C weighted class means whose outer products make A1 = Σ_c (P_c/N) g_c g_cᵀ are therefore
 * linearly dependent, up to the vector (1/N) Σ_c P_cc g_cc — which on training samples with
 * p_{i,y_i} → 1 tends to the loss gradient ∇L = (1/N) Σ_i g_{i,y_i}. When it is small against the
 * class means, A1 has C − 1 large eigenvalues and a C-th one near 0: λ_C(A1)/λ_{C−1}(A1) ≪ 1.
 * Both sides are reported, so the mechanism is measured rather than asserted.
 */
export interface ClassStructure {
  /** ‖(1/N) Σ_c P_cc g_cc‖ = ‖(1/N) Σ_c s_cc‖ (= ‖Σ_c (P_c/N) g_c‖ exactly). */
  readonly selfTermSumNorm: number;
  /** ‖∇L‖ over the same samples, when the gradient was given. */
  readonly gradientNorm?: number;
  /** λ_C(A1) / λ_{C−1}(A1) from A1's exact eigenvalues (C = |S|); NaN when λ_{C−1} = 0. */
  readonly a1LastRatio: number;
}

function norm(v: ArrayLike<number>): number {
  let s = 0;
  for (let i = 0; i < v.length; i++) s += v[i]! * v[i]!;
  return Math.sqrt(s);
}

/** The quantities above from the class gradients, A1's eigenvalues (descending) and optionally ∇L. */
export function classStructure(
  cg: ClassGradients,
  a1Eigenvalues: readonly number[],
  gradient?: ArrayLike<number>,
): ClassStructure {
  const S = cg.classes.length;
  const sum = new Float64Array(cg.paramCount);
  for (let a = 0; a < S; a++) {
    const s = cg.pairSums[a * S + a]!;
    for (let k = 0; k < sum.length; k++) sum[k] = sum[k]! + s[k]!;
  }
  const lastTwo = [a1Eigenvalues[S - 2] ?? NaN, a1Eigenvalues[S - 1] ?? NaN] as const;
  return {
    selfTermSumNorm: norm(sum) / cg.sampleCount,
    ...(gradient !== undefined && { gradientNorm: norm(gradient) }),
    a1LastRatio: lastTwo[0] > 0 ? lastTwo[1] / lastTwo[0] : NaN,
  };
}
