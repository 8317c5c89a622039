import { test } from 'node:test';
import assert from 'node:assert/strict';
import { classGradients, classMean, crossClassMean, type ClassBatch } from '../../src/decompose/classGradients.js';
import { gaussNewtonPieces, pieceTraces } from '../../src/decompose/pieces.js';
import { fromDenseSymmetric, toDense, countingOperator } from '../../src/linalg/operatorAlgebra.js';
import { Rng } from '../../src/util/random.js';
import {
  tinyModel,
  jacobianTransposeProduct,
  denseGaussNewton,
  densePieces,
  jacobiEigenvalues,
  trace,
  maxAbs,
  maxAbsDiff,
  type TinyModel,
} from './denseReference.js';

/** Batches of one true class each (size ≤ batchSize), the cotangent product by explicit Jacobians. */
function classBatches(m: TinyModel, batchSize: number): ClassBatch<number[]>[] {
  const out: ClassBatch<number[]>[] = [];
  for (let c = 0; c < m.C; c++) {
    const members = m.labels.flatMap((l, i) => (l === c ? [i] : []));
    for (let s = 0; s < members.length; s += batchSize) {
      const idx = members.slice(s, s + batchSize);
      const probabilities = new Float64Array(idx.length * m.C);
      idx.forEach((i, r) => probabilities.set(m.probs[i]!, r * m.C));
      out.push({ trueClass: c, probabilities, batch: idx });
    }
  }
  return out;
}

function product(m: TinyModel, float32 = false) {
  let calls = 0;
  const fn = async (idx: number[], cotangents: readonly Float64Array[]) => {
    calls++;
    return cotangents.map((u) => {
      const y = jacobianTransposeProduct(m, idx, u);
      return float32 ? Float64Array.from(Float32Array.from(y)) : y;
    });
  };
  return { fn, calls: () => calls };
}

function randomVector(P: number, seed: number): Float64Array {
  const rng = new Rng(seed);
  return Float64Array.from({ length: P }, () => rng.normal());
}

const cases = [
  { name: 'C=4, P=30, 5 per class, batches of 2', seed: 1, C: 4, P: 30, perClass: 5, batch: 2 },
  { name: 'C=3, P=12, 4 per class, batches of 4', seed: 7, C: 3, P: 12, perClass: 4, batch: 4 },
  { name: 'C=5, P=40, 3 per class, batches of 1', seed: 3, C: 5, P: 40, perClass: 3, batch: 1 },
];

for (const k of cases) {
  test(`decomposition ${k.name}: A1+A2+B1+B2 = G and each piece = its definition (float64)`, async () => {
    const m = tinyModel(k.seed, k.C, k.P, k.perClass);
    const prod = product(m);
    const batches = classBatches(m, k.batch);
    const cg = await classGradients(batches, prod.fn, { numClasses: k.C, paramCount: k.P });
    assert.equal(prod.calls(), batches.length, 'one batched product (C VJPs) per batch');
    assert.equal(cg.sampleCount, m.N);
    const G = denseGaussNewton(m);
    const ref = densePieces(m);
    const gOp = countingOperator(fromDenseSymmetric(G, { asymmetryTolerance: 1e-12 }));
    const pieces = gaussNewtonPieces(cg, gOp);
    const scaleG = maxAbs(G);
    for (const name of ['a1', 'a2', 'b1'] as const) {
      const dense = await toDense(pieces[name]);
      assert.ok(
        maxAbsDiff(dense, ref[name]) <= 1e-12 * scaleG,
        `${name} differs from its definition by ${maxAbsDiff(dense, ref[name])}`,
      );
    }
    const b2 = await toDense(pieces.b2!);
    assert.ok(gOp.used >= k.P, 'B2 ran through the matrix-free G operator');
    assert.ok(maxAbsDiff(b2, ref.b2) <= 1e-12 * scaleG, `B2 differs from Σ (P_cc'/N) Σ_cc' by ${maxAbsDiff(b2, ref.b2)}`);
    // the identity, by definitions alone (dense reference): A1+A2+B1+B2 = G
    const sum = ref.a1.map((x, i) => x + ref.a2[i]! + ref.b1[i]! + ref.b2[i]!);
    assert.ok(maxAbsDiff(sum, G) <= 1e-12 * scaleG, `Σ pieces − G = ${maxAbsDiff(sum, G)}`);
    // the low-rank part A1+A2+B1 as one operator = the sum of its three pieces
    const v = randomVector(k.P, 11);
    const [x1, x2, x3, xl] = await Promise.all([
      pieces.a1.matvec(v),
      pieces.a2.matvec(v),
      pieces.b1.matvec(v),
      pieces.lowRank.matvec(v),
    ]);
    assert.ok(
      maxAbsDiff(
        x1.map((x, i) => x + x2[i]! + x3[i]!),
        xl,
      ) <=
        1e-12 * maxAbs(xl),
    );
  });

  test(`decomposition ${k.name}: Gram eigenvalues = dense eigenvalues, rank bounds, traces add up`, async () => {
    const m = tinyModel(k.seed, k.C, k.P, k.perClass);
    const cg = await classGradients(classBatches(m, k.batch), product(m).fn, { numClasses: k.C, paramCount: k.P });
    const G = denseGaussNewton(m);
    const ref = densePieces(m);
    const pieces = gaussNewtonPieces(cg, fromDenseSymmetric(G, { asymmetryTolerance: 1e-12 }));
    const lowRankDense = ref.a1.map((x, i) => x + ref.a2[i]! + ref.b1[i]!);
    const checks = [
      { op: pieces.a1, dense: ref.a1, terms: k.C },
      { op: pieces.a2, dense: ref.a2, terms: k.C },
      { op: pieces.b1, dense: ref.b1, terms: k.C * (k.C - 1) },
      { op: pieces.lowRank, dense: lowRankDense, terms: k.C * k.C },
    ];
    for (const { op, dense, terms } of checks) {
      assert.equal(op.terms, terms, `${op.piece}: ${terms} rank-1 terms`);
      const gramEv = op.eigenvalues();
      const denseEv = jacobiEigenvalues(dense, k.P);
      const tol = 1e-9 * denseEv[0]!;
      // the r Gram eigenvalues are the r largest dense ones; the remaining P − r dense ones vanish
      for (let j = 0; j < gramEv.length; j++) {
        assert.ok(
          Math.abs(gramEv[j]! - denseEv[j]!) <= tol,
          `${op.piece} eigenvalue ${j}: Gram ${gramEv[j]} vs dense ${denseEv[j]}`,
        );
      }
      for (let j = gramEv.length; j < k.P; j++)
        assert.ok(Math.abs(denseEv[j]!) <= tol, `${op.piece}: dense eigenvalue ${j} = ${denseEv[j]} should vanish`);
      assert.ok(op.rank() <= op.rankBound, `${op.piece}: rank ${op.rank()} exceeds the bound ${op.rankBound}`);
      assert.ok(Math.abs(op.trace() - trace(dense, k.P)) <= 1e-10 * Math.abs(trace(dense, k.P)), `${op.piece} trace`);
    }
    // rank B1 ≤ C(C−2), attained for generic Jacobians when P ≥ C(C−2); A1 has full rank C
    if (k.P >= k.C * k.C) assert.equal(pieces.b1.rank(), k.C * (k.C - 2));
    assert.equal(pieces.a1.rank(), k.C);
    // traces: tr G = tr A1 + tr A2 + tr B1 + tr B2
    const tr = pieceTraces(pieces, trace(G, k.P));
    assert.ok(Math.abs(tr.b2 - trace(ref.b2, k.P)) <= 1e-10 * tr.g, `tr B2 = ${tr.b2} vs dense ${trace(ref.b2, k.P)}`);
    assert.ok(Math.abs(tr.a1 + tr.a2 + tr.b1 + tr.b2 - tr.g) <= 1e-12 * tr.g);
    assert.ok(Math.abs(tr.lowRank - (tr.a1 + tr.a2 + tr.b1)) <= 1e-12 * tr.g);
    // B2 is PSD (a sum of covariances)
    const b2Ev = jacobiEigenvalues(ref.b2, k.P);
    assert.ok(b2Ev[k.P - 1]! >= -1e-12 * b2Ev[0]!);
  });
}

test('decomposition with float32 cotangent products (as the tfjs engine gives): A1+A2+B1+B2 = G to float32 precision', async () => {
  const m = tinyModel(5, 4, 30, 6);
  const cg = await classGradients(classBatches(m, 3), product(m, true).fn, { numClasses: 4, paramCount: 30 });
  const G = denseGaussNewton(m);
  const Gf32 = Float64Array.from(Float32Array.from(G));
  const pieces = gaussNewtonPieces(cg, fromDenseSymmetric(Gf32, { asymmetryTolerance: 1e-6 }));
  const ref = densePieces(m);
  const refSum = ref.a1.map((x, i) => x + ref.a2[i]! + ref.b1[i]! + ref.b2[i]!);
  for (const seed of [1, 2, 3]) {
    const v = randomVector(30, seed);
    const [a1, a2, b1, b2] = await Promise.all([pieces.a1, pieces.a2, pieces.b1, pieces.b2!].map((p) => p.matvec(v)));
    const sum = a1!.map((x, i) => x + a2![i]! + b1![i]! + b2![i]!);
    const gv = await fromDenseSymmetric(G, { asymmetryTolerance: 1e-12 }).matvec(v);
    const rel = maxAbsDiff(sum, gv) / maxAbs(gv);
    assert.ok(rel <= 1e-6, `(A1+A2+B1+B2) v vs G v: relative error ${rel}`);
    // and each low-rank piece agrees with its float64 definition to float32 precision
    const refA1v = await fromDenseSymmetric(ref.a1, { asymmetryTolerance: 1e-10 }).matvec(v);
    assert.ok(maxAbsDiff(a1!, refA1v) / maxAbs(refA1v) <= 1e-5);
  }
  assert.ok(maxAbsDiff(refSum, G) <= 1e-12 * maxAbs(G));
});

test("class subset: pieces decompose G_S (classes and labels restricted to S), g_c and g_cc' as defined", async () => {
  const m = tinyModel(9, 5, 20, 3);
  const S = [0, 2, 3];
  const all = classBatches(m, 2);
  const cg = await classGradients(all, product(m).fn, { numClasses: 5, paramCount: 20, classes: S });
  assert.deepEqual(cg.classes, S);
  assert.equal(cg.sampleCount, 9, 'N = samples of the classes in S');
  // G_S = (1/N) Σ_{i∈S} Σ_{c'∈S} p_ic' g_ic' g_ic'ᵀ, dense
  const P = 20;
  const GS = new Float64Array(P * P);
  const { addOuter, sampleGradient } = await import('./denseReference.js');
  for (let i = 0; i < m.N; i++) {
    if (!S.includes(m.labels[i]!)) continue;
    for (const cp of S) addOuter(GS, P, m.probs[i]![cp]! / 9, sampleGradient(m, i, cp));
  }
  const pieces = gaussNewtonPieces(cg);
  const low = await toDense(pieces.lowRank);
  // A1+A2+B1 = Σ (P_cc'/N) g_cc' g_cc'ᵀ; check against the definition with g_cc' recomputed
  const ref = new Float64Array(P * P);
  for (let a = 0; a < 3; a++) {
    for (let b = 0; b < 3; b++) {
      const members = m.labels.flatMap((l, i) => (l === S[a] ? [i] : []));
      let mass = 0;
      const g = new Float64Array(P);
      for (const i of members) {
        const w = m.probs[i]![S[b]!]!;
        mass += w;
        const gi = sampleGradient(m, i, S[b]!);
        for (let k = 0; k < P; k++) g[k] = g[k]! + w * gi[k]!;
      }
      for (let k = 0; k < P; k++) g[k] = g[k]! / mass;
      assert.ok(maxAbsDiff(g, crossClassMean(cg, a, b)) <= 1e-12 * maxAbs(g));
      addOuter(ref, P, mass / 9, g);
    }
  }
  assert.ok(maxAbsDiff(low, ref) <= 1e-12 * maxAbs(ref));
  // B2 = G_S − low is PSD (within-cluster covariances)
  const b2 = GS.map((x, i) => x - low[i]!);
  const ev = jacobiEigenvalues(b2, P);
  assert.ok(ev[P - 1]! >= -1e-10 * ev[0]!, `B2 of the subset should be PSD, smallest eigenvalue ${ev[P - 1]}`);
  // g_c is the P_cc'-weighted mean of the g_cc', c' ≠ c
  const g0 = classMean(cg, 0);
  const w = [1, 2].map((b) => cg.pairMass[b]!);
  const expect = crossClassMean(cg, 0, 1).map((x, k) => (w[0]! * x + w[1]! * crossClassMean(cg, 0, 2)[k]!) / (w[0]! + w[1]!));
  assert.ok(maxAbsDiff(g0, expect) <= 1e-12 * maxAbs(expect));
});

test('class gradients reject bad input, naming the value', async () => {
  const m = tinyModel(1, 3, 6, 2);
  await assert.rejects(
    classGradients(classBatches(m, 2), product(m).fn, { numClasses: 3, paramCount: 6, classes: [0, 3] }),
    /classes must be integers in \[0, 3\), received \[0,3\]/,
  );
  await assert.rejects(
    classGradients(classBatches(m, 2), product(m).fn, { numClasses: 3, paramCount: 6, classes: [1, 1] }),
    /distinct, received 1 twice/,
  );
  await assert.rejects(
    classGradients(classBatches(m, 2), product(m).fn, { numClasses: 3, paramCount: 7 }),
    /length 6, expected P = 7/,
  );
});

test('class gradients round-trip through their Arrow artifact bit for bit', async () => {
  const { encodeClassGradients, decodeClassGradients } = await import('../../src/decompose/classGradientsArrow.js');
  const m = tinyModel(4, 4, 9, 2);
  const cg = await classGradients(classBatches(m, 2), product(m).fn, { numClasses: 4, paramCount: 9, classes: [1, 2, 3] });
  const back = decodeClassGradients(encodeClassGradients(cg));
  assert.deepEqual(back.classes, cg.classes);
  assert.equal(back.sampleCount, cg.sampleCount);
  assert.deepEqual(Array.from(back.pairMass), Array.from(cg.pairMass));
  back.pairSums.forEach((s, i) => assert.deepEqual(Array.from(s), Array.from(cg.pairSums[i]!)));
  const { encodeArrowTable } = await import('../../src/store/arrowFile.js');
  assert.throws(
    () => decodeClassGradients(encodeArrowTable({ x: new Float64Array(2) }), 'cg.arrow'),
    /cg\.arrow: Arrow file lacks the "specpipe\.classGradients" metadata/,
  );
});

test('piece operators from a stored class-gradients.arrow equal the in-memory ones; b2 needs G', async () => {
  const { writeFileSync, mkdtempSync } = await import('node:fs');
  const { join } = await import('node:path');
  const { tmpdir } = await import('node:os');
  const { encodeClassGradients } = await import('../../src/decompose/classGradientsArrow.js');
  const { pieceOperatorFromFile } = await import('../../src/decompose/pieceOperators.js');
  const m = tinyModel(8, 3, 15, 3);
  const cg = await classGradients(classBatches(m, 3), product(m).fn, { numClasses: 3, paramCount: 15 });
  const path = join(mkdtempSync(join(tmpdir(), 'specpipe-cg-')), 'class-gradients.arrow');
  writeFileSync(path, encodeClassGradients(cg));
  const G = fromDenseSymmetric(denseGaussNewton(m), { asymmetryTolerance: 1e-12 });
  const mem = gaussNewtonPieces(cg, G);
  const v = randomVector(15, 4);
  for (const name of ['a1', 'a2', 'b1', 'b2'] as const) {
    const fromFile = await pieceOperatorFromFile(path, name, G).matvec(v);
    assert.deepEqual(Array.from(fromFile), Array.from(await mem[name]!.matvec(v)), name);
  }
  assert.throws(() => pieceOperatorFromFile(path, 'b2'), /needs the G operator/);
});

test('low-rank pieces: Gram K = SᵀS and S W Sᵀ v bit for bit the plain float64 loops (native kernels, JavaScript fallback)', async () => {
  const { pieceBasis, lowRankPiece } = await import('../../src/decompose/pieces.js');
  const { JS_KERNELS } = await import('../../src/backend/native/jsKernels.js');
  const { loadNativeKernels } = await import('../../src/backend/native/elementwiseLibrary.js');
  const rng = new Rng(31);
  const S = 3;
  const P = 1037; // not a multiple of 8 or 4: every remainder loop runs
  const pairSums = Array.from({ length: S * S }, () => Float64Array.from({ length: P }, () => rng.normal()));
  const cg = {
    numClasses: S,
    classes: [0, 1, 2],
    paramCount: P,
    sampleCount: 30,
    classCounts: Float64Array.from([10, 10, 10]),
    pairMass: Float64Array.from({ length: S * S }, () => 0.5 + rng.uniform()),
    pairSums,
  };
  // the plain loops pieces.ts ran before the kernels
  const m = S * S;
  const K = new Float64Array(m * m);
  for (let i = 0; i < m; i++)
    for (let j = 0; j <= i; j++) {
      let s = 0;
      for (let k = 0; k < P; k++) s += pairSums[i]![k]! * pairSums[j]![k]!;
      K[i * m + j] = s;
      K[j * m + i] = s;
    }
  assert.deepEqual(pieceBasis(cg).baseGram(), K, 'K = SᵀS');
  const v = randomVector(P, 5);
  const native = loadNativeKernels();
  for (const name of ['a1', 'a2', 'b1', 'a1+a2+b1'] as const) {
    const y = await lowRankPiece(pieceBasis(cg), name).matvec(v);
    assert.equal(y.length, P);
    if (!native.ok) continue; // the JavaScript twins ran: nothing to compare with
    // The same operator with the JavaScript twins (u_i = Σ_k s_i[k]·v[k] in order of k; y[k] += z_i·s_i[k]
    // in order of i: the loops pieces.ts ran before the kernels).
    const saved = { dots: native.kernels.dotsSequential, axpy: native.kernels.basisAxpy };
    Object.assign(native.kernels, { dotsSequential: JS_KERNELS.dotsSequential, basisAxpy: JS_KERNELS.basisAxpy });
    try {
      assert.deepEqual(await lowRankPiece(pieceBasis(cg), name).matvec(v), y, `${name}: native = JavaScript`);
    } finally {
      Object.assign(native.kernels, { dotsSequential: saved.dots, basisAxpy: saved.axpy });
    }
  }
});
