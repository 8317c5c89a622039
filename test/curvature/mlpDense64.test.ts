// Dense float64 Hess, G, H of an MLP (src/curvature/mlpDense64.ts: shared forward pass, e_j's one
// nonzero) against columns of mlp64Products (tested against the dual-number reference in
// mlpCurvature64.test.ts), and the per-sample Jacobians (mlpJacobian64.ts) against G = (1/N) Σ J_iᵀ Q_i J_i.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mlp64Products } from '../../src/curvature/mlpCurvature64.js';
import { mlp64DenseCurvature } from '../../src/curvature/mlpDense64.js';
import { mlp64SampleJacobian } from '../../src/curvature/mlpJacobian64.js';
import { tinyMlpProblem } from './tinyMlp64.js';

const maxAbsDiff = (a: Float64Array, b: Float64Array): number => a.reduce((m, x, i) => Math.max(m, Math.abs(x - b[i]!)), 0);
const maxAbs = (a: Float64Array): number => a.reduce((m, x) => Math.max(m, Math.abs(x)), 0);

for (const activation of ['tanh', 'relu'] as const)
  for (const loss of ['cross-entropy', 'mse'] as const)
    test(`dense Hess, G, H columns equal mlp64Products to 1e-13: mlp 6-5-4-3 ${activation} × ${loss}`, () => {
      const pr = tinyMlpProblem(7, [6, 5, 4, 3], activation, loss, 9);
      const P = pr.theta.length;
      const d = mlp64DenseCurvature(pr);
      const ref = { hessian: new Float64Array(P * P), ggn: new Float64Array(P * P), residual: new Float64Array(P * P) };
      for (let j = 0; j < P; j++) {
        const e = new Float64Array(P);
        e[j] = 1;
        const r = mlp64Products(pr, e);
        for (const k of ['hessian', 'ggn', 'residual'] as const) for (let i = 0; i < P; i++) ref[k][i * P + j] = r[k][i]!;
      }
      for (const k of ['hessian', 'ggn', 'residual'] as const) {
        const err = maxAbsDiff(d[k], ref[k]) / maxAbs(ref[k]);
        assert.ok(err <= 1e-13, `${k}: ${err}`);
      }
      assert.ok(maxAbs(d.residual) > 1e-3 * maxAbs(d.hessian), 'H is not zero here: the test can tell H from G');
    });

test('per-sample Jacobians give G = (1/N) Σ J_iᵀ (diag p_i − p_i p_iᵀ) J_i, the dense G to 1e-13', () => {
  const pr = tinyMlpProblem(8, [5, 4, 3], 'tanh', 'cross-entropy', 6);
  const P = pr.theta.length;
  const C = 3;
  const N = 6;
  const G = new Float64Array(P * P);
  for (let n = 0; n < N; n++) {
    const { probabilities: p, jacobian: J, label } = mlp64SampleJacobian(pr, n);
    assert.equal(label, pr.data.labels[n]);
    for (let a = 0; a < C; a++)
      for (let b = 0; b < C; b++) {
        const q = ((a === b ? p[a]! : 0) - p[a]! * p[b]!) / N;
        for (let x = 0; x < P; x++) for (let y = 0; y < P; y++) G[x * P + y] = G[x * P + y]! + q * J[a * P + x]! * J[b * P + y]!;
      }
  }
  const d = mlp64DenseCurvature(pr);
  assert.ok(maxAbsDiff(G, d.ggn) / maxAbs(G) <= 1e-13, `${maxAbsDiff(G, d.ggn) / maxAbs(G)}`);
});
