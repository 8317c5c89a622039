// validateDense (src/decompose/denseValidation.ts) on a tiny MLP against references written the slow,
// obvious way: Hess, G, H column by column from the dual-number float64 reference (test/reference), the
// per-sample Jacobians from the same reference's J e_j, the pieces from math.md §3's definitions
// (denseReference.ts), every spectrum by the test's own Jacobi solver.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mlp64Operator } from '../../src/curvature/mlpCurvature64.js';
import { validateDense, type SpectrumEstimate } from '../../src/decompose/denseValidation.js';
import { measureSpectrum } from '../../src/linalg/spectrumMeasurement.js';
import { ReferenceCurvature, referenceProducts } from '../reference/referenceCurvature.js';
import type { TinyNetSpec } from '../reference/tinyNetSpec.js';
import { tinyMlpProblem } from '../curvature/tinyMlp64.js';
import { densePieces, jacobiEigenvalues, type TinyModel } from './denseReference.js';

const D = 6;
const HIDDEN = 5;
const C = 3;
const N = 12;
const problem = tinyMlpProblem(21, [D, HIDDEN, C], 'tanh', 'cross-entropy', N);
const P = problem.theta.length;
const SPEC: TinyNetSpec = {
  kind: 'tiny',
  name: 'mlp 6-5-3 tanh',
  input: [1, 1, D],
  classes: C,
  layers: [{ op: 'flatten' }, { op: 'dense', out: HIDDEN }, { op: 'tanh' }, { op: 'dense', out: C }],
};
const refProblem = {
  spec: SPEC,
  theta: problem.theta,
  buffers: new Float64Array(0),
  x: problem.data.images,
  labels: problem.data.labels,
  loss: 'cross-entropy' as const,
};

/** Dense Hess, G, H from the reference's products, and the TinyModel (J_i, p_i, y_i) from its J e_j and logits. */
function reference() {
  const dense = { hessian: new Float64Array(P * P), ggn: new Float64Array(P * P), residual: new Float64Array(P * P) };
  const jacobians = Array.from({ length: N }, () => new Float64Array(C * P));
  for (let j = 0; j < P; j++) {
    const e = new Float64Array(P);
    e[j] = 1;
    const r = referenceProducts(refProblem, e);
    for (let i = 0; i < P; i++) {
      dense.hessian[i * P + j] = r.hessianVector[i]!;
      dense.ggn[i * P + j] = r.ggnVector[i]!;
      dense.residual[i * P + j] = r.residualVector[i]!;
    }
    for (let n = 0; n < N; n++) for (let k = 0; k < C; k++) jacobians[n]![k * P + j] = r.jacobianVector[n * C + k]!;
  }
  const z = new ReferenceCurvature(refProblem).result().logits;
  const probs = Array.from({ length: N }, (_, n) => {
    const row = Array.from(z.subarray(n * C, (n + 1) * C));
    const m = Math.max(...row);
    const ex = row.map((x) => Math.exp(x - m));
    const s = ex.reduce((a, b) => a + b, 0);
    return Float64Array.from(ex, (x) => x / s);
  });
  const model: TinyModel = { C, P, N, jacobians, probs, labels: Array.from(problem.data.labels) };
  return { dense, pieces: densePieces(model) };
}

const close = (a: ArrayLike<number>, b: ArrayLike<number>, tol: number): number => {
  let scale = 0;
  let err = 0;
  for (let i = 0; i < b.length; i++) scale = Math.max(scale, Math.abs(b[i]!));
  for (let i = 0; i < b.length; i++) err = Math.max(err, Math.abs(a[i]! - b[i]!));
  assert.ok(err <= tol * scale, `max error ${err} > ${tol} × ${scale}`);
  return err / scale;
};

test('validateDense: every eigenvalue of Hess, G, H, A1, A2, B1, B2 equals the dense float64 reference; B2 ⪰ 0; the pieces add up to G', async () => {
  const ref = reference();
  const exactOf = (m: Float64Array): Float64Array => jacobiEigenvalues(m, P);
  // Estimates: SLQ + top-3 of the float64 Hessian, and a decomposition whose Gram eigenvalues are off by 1e-3.
  const m = await measureSpectrum(mlp64Operator(problem, 'hessian'), {
    lanczosSteps: 30,
    startVectors: 3,
    gridSize: 128,
    seed: 1,
    topK: 3,
    topKTol: 1e-6,
    deflate: 0,
    traceMatvecs: 0,
    logSpectrum: false,
  });
  const spectra: SpectrumEstimate[] = [{ label: 'hessian-estimate', operator: 'hessian', deflated: 0, top: m.pairs, slq: m.slq }];
  const gram = (x: Float64Array): number[] => Array.from(x.subarray(0, C), (v) => v * (1 + 1e-3));
  const pieceEv = { a1: exactOf(ref.pieces.a1), a2: exactOf(ref.pieces.a2), b1: exactOf(ref.pieces.b1) };
  const v = await validateDense(problem, {
    spectra,
    decomposition: {
      label: 'decomposition',
      eigenvalues: { a1: gram(pieceEv.a1), a2: gram(pieceEv.a2), b1: gram(pieceEv.b1) },
      lambdaMinB2: { value: 0, residual: 1e-6, tolerance: 1e-6 },
    },
  });
  assert.equal(v.parameters, P);
  assert.equal(v.samples, N);
  close(v.eigenvalues.hessian!, exactOf(ref.dense.hessian), 1e-12);
  close(v.eigenvalues.a1!, pieceEv.a1, 1e-12);
  close(v.eigenvalues.a2!, pieceEv.a2, 1e-12);
  close(v.eigenvalues.b1!, pieceEv.b1, 1e-12);
  const b2 = exactOf(ref.pieces.b2);
  close(v.eigenvalues.b2!, b2, 1e-12);
  assert.equal(v.eigenvalues.ggn, undefined, 'G is built (for the identity) but not eigendecomposed when nothing estimated it');
  // B2 from its definition is PSD to rounding; the identity holds to rounding.
  assert.ok(v.b2.psd && v.b2.lambdaMin >= -1e-12 * v.b2.lambdaMax, `λ_min(B2) = ${v.b2.lambdaMin}`);
  assert.ok(Math.abs(v.b2.lambdaMin - b2[P - 1]!) <= 1e-12 * b2[0]!);
  assert.ok(v.identityResidual <= 1e-12, `‖A1+A2+B1+B2 − G‖/‖G‖ = ${v.identityResidual}`);
  assert.deepEqual(v.b2.estimated, { value: 0, residual: 1e-6, tolerance: 1e-6 });
  // Rows: the spectrum estimate, then the decomposition's three pieces.
  assert.deepEqual(
    v.rows.map((r) => [r.label, r.operator, r.source]),
    [
      ['hessian-estimate', 'hessian', 'spectrum/slq'],
      ['decomposition', 'a1', 'decompose/class-gradients'],
      ['decomposition', 'a2', 'decompose/class-gradients'],
      ['decomposition', 'b1', 'decompose/class-gradients'],
    ],
  );
  const h = v.rows[0]!;
  assert.deepEqual(h.exactTop, Array.from(v.eigenvalues.hessian!.subarray(0, 3)));
  for (const e of h.comparison.topRelativeErrors!) assert.ok(e <= 1e-8, `top-3 relative error ${e}`);
  assert.ok(h.comparison.w1OverWidth! > 0 && h.comparison.w1OverWidth! < 0.05, `W1/width ${h.comparison.w1OverWidth}`);
  assert.ok(h.comparison.bandMassFraction! >= 0 && h.comparison.bandMassFraction! <= 1);
  assert.equal(h.outliers!.exact.count, h.outliers!.estimated.count, 'converged top-3 = exact top-3: same count by the rule');
  for (const r of v.rows.slice(1))
    for (const e of r.comparison.topRelativeErrors!) assert.ok(Math.abs(e - 1e-3) <= 1e-9, `${r.operator}: ${e}`);
});

test('validateDense refuses P above the limit, naming P and the limit, and a net trained with MSE', async () => {
  await assert.rejects(
    validateDense(problem, { spectra: [] }, { limit: 40 }),
    new RegExp(`P = ${P} parameters, above the dense limit of 40`),
  );
  await assert.rejects(
    validateDense({ ...problem, loss: 'mse' }, { spectra: [] }),
    /Papyan's decomposition of G assumes softmax cross-entropy, the net was trained with mse/,
  );
});
