import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-backend-cpu';
import { Curvature } from '../../src/curvature/curvatureOperators.js';
import { registerSecondOrderGradients } from '../../src/curvature/secondOrderGradients.js';
import { classGradientsFromCurvature } from '../../src/decompose/curvatureClassGradients.js';
import { gaussNewtonPieces, pieceTraces } from '../../src/decompose/pieces.js';
import { toDense } from '../../src/linalg/operatorAlgebra.js';
import type { TinyNetSpec } from '../reference/tinyNetSpec.js';
import { buildTinyNetwork, randomSplit } from '../curvature/tinyNetworks.js';
import { denseGaussNewton, densePieces, jacobiEigenvalues, maxAbs, maxAbsDiff, trace, type TinyModel } from './denseReference.js';

/**
 * The decomposition through the real curvature engine (tfjs, float32) on a tiny MLP, against
 * dense float64 pieces built from the same net's explicit per-sample Jacobians J_i (read off the
 * engine's weightedCotangentProduct with unit cotangents) and probabilities.
 */
const SPEC: TinyNetSpec = {
  kind: 'tiny',
  name: 'mlp 4-6-3',
  input: [1, 1, 4],
  classes: 3,
  layers: [{ op: 'flatten' }, { op: 'dense', out: 6 }, { op: 'tanh' }, { op: 'dense', out: 3 }],
};

test('tiny MLP through the curvature engine: pieces = definitions, A1+A2+B1+B2 = G, Gram eigenvalues = dense ones (float32 precision)', async () => {
  await tf.setBackend('cpu');
  registerSecondOrderGradients();
  const C = 3;
  const N = 15;
  const network = buildTinyNetwork(SPEC);
  const { params, buffers } = network.init(4);
  const raw = randomSplit(SPEC, N, 6);
  const data = { ...raw, labels: Int32Array.from({ length: N }, (_, i) => i % C) };
  const problem = { network, params, buffers, data, loss: 'cross-entropy' as const };
  const execution = { batchSize: 4 };
  const whole = await Curvature.open(problem, execution);
  const P = whole.size;
  assert.equal(P, 4 * 6 + 6 + 6 * 3 + 3);
  // explicit J_i from unit cotangents: Σ_j J_jᵀ (e_i ⊗ e_k) = row k of J_i
  const units = [];
  for (let i = 0; i < N; i++) {
    for (let k = 0; k < C; k++) {
      const u = new Float64Array(N * C);
      u[i * C + k] = 1;
      units.push(u);
    }
  }
  const rows = await whole.weightedCotangentProduct(units);
  const jacobians = Array.from({ length: N }, (_, i) => {
    const J = new Float64Array(C * P);
    for (let k = 0; k < C; k++) J.set(rows[i * C + k]!, k * P);
    return J;
  });
  const probsFlat = await whole.perSampleProbabilities();
  const model: TinyModel = {
    C,
    P,
    N,
    jacobians,
    probs: Array.from({ length: N }, (_, i) => probsFlat.slice(i * C, (i + 1) * C)),
    labels: Array.from(data.labels),
  };
  const G = denseGaussNewton(model);
  const ref = densePieces(model);
  const scale = maxAbs(G);

  // the engine's G agrees with the dense J_iᵀ Q_i J_i reference
  const ggn = whole.operator('ggn');
  const gEngine = await toDense(ggn);
  assert.ok(maxAbsDiff(gEngine, G) <= 1e-5 * scale, `engine G vs dense G: ${maxAbsDiff(gEngine, G) / scale}`);

  let classesDone = 0;
  const cg = await classGradientsFromCurvature(problem, { execution, onClass: () => classesDone++ });
  assert.equal(classesDone, C);
  assert.equal(cg.sampleCount, N);
  const pieces = gaussNewtonPieces(cg, ggn);
  for (const name of ['a1', 'a2', 'b1', 'b2'] as const) {
    const dense = await toDense(pieces[name]!);
    const err = maxAbsDiff(dense, ref[name]) / scale;
    assert.ok(err <= 1e-5, `${name}: engine piece vs its definition, max error / max|G| = ${err}`);
  }
  const sum = (await Promise.all((['a1', 'a2', 'b1', 'b2'] as const).map((n) => toDense(pieces[n]!)))).reduce((acc, m) =>
    acc.map((x, i) => x + m[i]!),
  );
  assert.ok(maxAbsDiff(sum, G) <= 1e-5 * scale, `A1+A2+B1+B2 vs dense G: ${maxAbsDiff(sum, G) / scale}`);
  for (const [op, dense] of [
    [pieces.a1, ref.a1],
    [pieces.b1, ref.b1],
  ] as const) {
    const ev = op.eigenvalues();
    const dv = jacobiEigenvalues(dense, P);
    for (let j = 0; j < ev.length; j++)
      assert.ok(Math.abs(ev[j]! - dv[j]!) <= 1e-5 * dv[0]!, `${op.piece} eigenvalue ${j}: ${ev[j]} vs ${dv[j]}`);
  }
  assert.equal(pieces.b1.rank(1e-6), C * (C - 2));
  const tr = pieceTraces(pieces, trace(G, P));
  assert.ok(Math.abs(tr.b2 - trace(ref.b2, P)) <= 1e-5 * tr.g);
  await whole.close();
  tf.dispose([...params, ...buffers]);
});
