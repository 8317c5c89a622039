// λ_min(B2) in the decomposition summary (src/decompose/decomposition.ts): Lanczos on the
// matrix-free B2 = G − A1 − A2 − B1 against the dense float64 B2 of its definition, the check
// λ_min ≥ −tolerance holding for a true G and failing for a G that is not PSD, and its report row.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { classGradients, type ClassBatch } from '../../src/decompose/classGradients.js';
import { summarizeDecomposition } from '../../src/decompose/decomposition.js';
import { decompositionFragment } from '../../src/report/decompositionFragment.js';
import { countingOperator, fromDenseSymmetric } from '../../src/linalg/operatorAlgebra.js';
import {
  denseGaussNewton,
  densePieces,
  jacobianTransposeProduct,
  jacobiEigenvalues,
  maxAbs,
  tinyModel,
} from './denseReference.js';

async function setup(seed: number, C: number, P: number, perClass: number) {
  const m = tinyModel(seed, C, P, perClass);
  const batches: ClassBatch<number[]>[] = [];
  for (let c = 0; c < C; c++) {
    const idx = m.labels.flatMap((l, i) => (l === c ? [i] : []));
    const probabilities = new Float64Array(idx.length * C);
    idx.forEach((i, r) => probabilities.set(m.probs[i]!, r * C));
    batches.push({ trueClass: c, probabilities, batch: idx });
  }
  const cg = await classGradients(
    batches,
    async (idx: number[], us: readonly Float64Array[]) => us.map((u) => jacobianTransposeProduct(m, idx, u)),
    { numClasses: C, paramCount: P },
  );
  return { m, cg };
}

test('λ_min(B2) by Lanczos on the matrix-free B2 equals the dense B2 of its definition; the PSD check holds', async () => {
  const P = 24;
  const { m, cg } = await setup(5, 3, P, 6);
  const G = denseGaussNewton(m);
  const gOp = countingOperator(fromDenseSymmetric(G, { asymmetryTolerance: 1e-12 }));
  const s = await summarizeDecomposition(cg, { ggn: gOp, traceMatvecs: 12, bottomMatvecs: 200, seed: 2 });
  const b = s.bottomB2;
  assert.ok(b !== undefined);
  const exact = jacobiEigenvalues(densePieces(m).b2, P);
  const lmin = Math.min(...exact);
  const scale = Math.max(...exact.map(Math.abs));
  assert.ok(b.converged, `residual ${b.residual}`);
  // A Ritz value lies within its residual of an eigenvalue (Bauer–Fike for symmetric A).
  assert.ok(Math.abs(b.value - lmin) <= b.residual + 1e-12 * scale, `λ_min(B2) = ${b.value} ± ${b.residual}, dense ${lmin}`);
  assert.ok(b.residual >= 0 && b.residual <= 1e-4 * b.normEstimate);
  assert.ok(b.holds && b.tolerance >= b.residual, `${b.value} ≥ −${b.tolerance}`);
  assert.ok(b.matvecs <= 200 && gOp.used >= b.matvecs, 'the search ran through the matrix-free G');
  const rows = decompositionFragment(s, { dataset: 'synthetic' }, 'train').numbers ?? [];
  const row = rows.find((r) => r.name.startsWith('λ_min(B2) (Lanczos'));
  assert.ok(row !== undefined && row.value === b.value);
  assert.match(row.note ?? '', /residual .*; B2 ⪰ 0 check λ_min ≥ −.* holds/);
  assert.ok(
    rows.some((r) => r.name.startsWith('tr B2 (Hutch++') && /^± /.test(r.note ?? '')),
    'tr B2 with its standard error',
  );
});

test('a "G" with a negative direction makes λ_min(B2) < −tolerance: the check fails and says so', async () => {
  const P = 24;
  const { m, cg } = await setup(5, 3, P, 6);
  const G = denseGaussNewton(m);
  const bad = Float64Array.from(G);
  const shift = maxAbs(G);
  for (let i = 0; i < P; i++) bad[i * P + i] = bad[i * P + i]! - (i === 0 ? shift : 0);
  const s = await summarizeDecomposition(cg, {
    ggn: fromDenseSymmetric(bad, { asymmetryTolerance: 1e-12 }),
    traceMatvecs: 12,
    bottomMatvecs: 200,
  });
  assert.ok(s.bottomB2 !== undefined && !s.bottomB2.holds, `λ_min = ${s.bottomB2?.value}`);
  const row = (decompositionFragment(s, { dataset: 'synthetic' }, 'train').numbers ?? []).find((r) =>
    r.name.startsWith('λ_min(B2)'),
  );
  assert.match(row?.note ?? '', /FAILS/);
});

test('no λ_min(B2) without G or with a zero budget', async () => {
  const { m, cg } = await setup(5, 3, 24, 6);
  assert.equal((await summarizeDecomposition(cg)).bottomB2, undefined);
  const G = fromDenseSymmetric(denseGaussNewton(m), { asymmetryTolerance: 1e-12 });
  assert.equal((await summarizeDecomposition(cg, { ggn: G, traceMatvecs: 12, bottomMatvecs: 0 })).bottomB2, undefined);
});
