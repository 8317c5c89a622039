// The C − 1 structure of A1 (src/decompose/classStructure.ts, math.md §3.1) against a dense float64
// reference written from the definitions: ‖(1/N) Σ_c P_cc g_cc‖ from the per-sample g_{i,c'}, ‖∇L‖ =
// ‖(1/N) Σ_i g_{i,y_i}‖, and λ_C(A1)/λ_{C−1}(A1) from the dense A1's eigenvalues (Jacobi).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { classGradients, type ClassBatch } from '../../src/decompose/classGradients.js';
import { summarizeDecomposition } from '../../src/decompose/decomposition.js';
import { decompositionFragment } from '../../src/report/decompositionFragment.js';
import {
  densePieces,
  jacobianTransposeProduct,
  jacobiEigenvalues,
  sampleGradient,
  tinyModel,
  type TinyModel,
} from './denseReference.js';

async function classGradientsOf(m: TinyModel) {
  const batches: ClassBatch<number[]>[] = [];
  for (let c = 0; c < m.C; c++) {
    const idx = m.labels.flatMap((l, i) => (l === c ? [i] : []));
    const probabilities = new Float64Array(idx.length * m.C);
    idx.forEach((i, r) => probabilities.set(m.probs[i]!, r * m.C));
    batches.push({ trueClass: c, probabilities, batch: idx });
  }
  return classGradients(
    batches,
    async (idx: number[], us: readonly Float64Array[]) => us.map((u) => jacobianTransposeProduct(m, idx, u)),
    { numClasses: m.C, paramCount: m.P },
  );
}

const norm = (v: ArrayLike<number>): number => Math.sqrt(Array.from(v).reduce((s, x) => s + x * x, 0));

for (const [C, P, perClass, logitScale] of [
  [3, 20, 5, 2],
  [4, 30, 6, 0.5],
] as const) {
  test(`C − 1 structure of A1 equals the dense reference (C = ${C}, P = ${P}, ${perClass}/class)`, async () => {
    const m = tinyModel(11 + C, C, P, perClass, logitScale);
    const cg = await classGradientsOf(m);
    // Reference: Σ_c P_cc g_cc = Σ_c Σ_{i∈c} p_ic g_{i,c}; ∇L = (1/N) Σ_i g_{i,y_i}; Σ_c P_c g_c.
    const self = new Float64Array(P);
    const grad = new Float64Array(P);
    const means = new Float64Array(P);
    for (let i = 0; i < m.N; i++) {
      const y = m.labels[i]!;
      for (let cp = 0; cp < C; cp++) {
        const g = sampleGradient(m, i, cp);
        const w = m.probs[i]![cp]!;
        for (let k = 0; k < P; k++) {
          if (cp === y) {
            self[k] = self[k]! + (w * g[k]!) / m.N;
            grad[k] = grad[k]! + g[k]! / m.N;
          } else means[k] = means[k]! + (w * g[k]!) / m.N;
        }
      }
    }
    // The identity behind it: Σ_c (P_c/N) g_c = −(1/N) Σ_c P_cc g_cc.
    assert.ok(norm(means.map((x, k) => x + self[k]!)) <= 1e-12 * norm(self), 'Σ_c (P_c/N) g_c = −(1/N) Σ_c P_cc g_cc');
    const ev = jacobiEigenvalues(densePieces(m).a1, P);
    const s = await summarizeDecomposition(cg, { gradient: grad });
    const cs = s.classStructure;
    assert.ok(Math.abs(cs.selfTermSumNorm - norm(self)) <= 1e-12 * norm(self), `${cs.selfTermSumNorm} vs ${norm(self)}`);
    assert.ok(cs.gradientNorm !== undefined && Math.abs(cs.gradientNorm - norm(grad)) <= 1e-12 * norm(grad));
    const ratio = ev[C - 1]! / ev[C - 2]!;
    assert.ok(Math.abs(cs.a1LastRatio - ratio) <= 1e-9 * Math.max(ratio, 1e-3), `${cs.a1LastRatio} vs dense ${ratio}`);
    assert.ok(cs.a1LastRatio > 0 && cs.a1LastRatio < 1);
    const row = (decompositionFragment(s, { dataset: 'synthetic' }, 'train').numbers ?? []).find((r) =>
      r.name.startsWith('λ_C(A1)/λ_{C−1}(A1)'),
    );
    assert.ok(row !== undefined && row.value === cs.a1LastRatio);
    assert.match(row.note ?? '', /^‖\(1\/N\) Σ_c P_cc g_cc‖ = \S+ vs ‖∇L‖ = \S+ \(C − 1 structure of A1\)$/);
  });
}

test('A1 has C − 1 directions when the self terms cancel (Σ_c P_cc g_cc = 0): λ_C(A1)/λ_{C−1}(A1) ≈ 0', async () => {
  // At a stationary point of the loss the self terms cancel. Make them cancel exactly: add a rank-one
  // u wᵀ to the Jacobian of one sample i* (class c) with u = (p − e_c)/‖p − e_c‖², which moves its
  // p_ic g_{i,c} by p_ic w; w = −T/p_ic, T = Σ_c P_cc g_cc, brings the sum to 0.
  const C = 4;
  const P = 30;
  const m = tinyModel(3, C, P, 6);
  const total = new Float64Array(P);
  for (let i = 0; i < m.N; i++) {
    const g = sampleGradient(m, i, m.labels[i]!);
    const w = m.probs[i]![m.labels[i]!]!;
    for (let k = 0; k < P; k++) total[k] = total[k]! + w * g[k]!;
  }
  const before = (await summarizeDecomposition(await classGradientsOf(m))).classStructure;
  const star = m.N - 1;
  const c = m.labels[star]!;
  const p = m.probs[star]!;
  const d = Array.from(p, (x, k) => x - (k === c ? 1 : 0));
  const dd = d.reduce((s2, x) => s2 + x * x, 0);
  const J = m.jacobians[star]!;
  for (let k = 0; k < C; k++) for (let x = 0; x < P; x++) J[k * P + x] = J[k * P + x]! + (d[k]! / dd) * (-total[x]! / p[c]!);
  const s = await summarizeDecomposition(await classGradientsOf(m));
  const ev = jacobiEigenvalues(densePieces(m).a1, P);
  assert.ok(before.a1LastRatio > 0.05, `before: ratio ${before.a1LastRatio}`);
  assert.ok(s.classStructure.selfTermSumNorm <= 1e-12 * norm(total), `self terms ${s.classStructure.selfTermSumNorm}`);
  assert.ok(s.classStructure.a1LastRatio < 1e-12, `after: ratio ${s.classStructure.a1LastRatio}`);
  assert.ok(Math.abs(ev[C - 1]!) <= 1e-10 * ev[0]!, `dense λ_C(A1) = ${ev[C - 1]}`);
  assert.equal(s.classStructure.gradientNorm, undefined, 'no gradient given, none reported');
});
