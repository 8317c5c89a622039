import { test } from 'node:test';
import assert from 'node:assert/strict';
import { gradientPoints, squaredDistancesOf } from '../../src/embed/gradientPoints.js';
import { embeddingHierarchyScore, gradientHierarchyScore, nearestClassMeanScore } from '../../src/embed/hierarchyScore.js';
import { classMean, crossClassMean, type ClassGradients } from '../../src/decompose/classGradients.js';

/**
 * C = 3 classes in R²: class c's cross-class means g_cc′ sit near a centre μ_c, except g_01, which
 * is placed on μ_2 with a tiny mass (so g_0 stays at μ_0). Known answer: 5 of the 6 cross-class
 * means have their own class mean nearest; chance 1/3.
 */
function planted(): ClassGradients {
  const mu = [
    [0, 0],
    [10, 0],
    [0, 10],
  ];
  const C = 3;
  const pairMass = new Float64Array(C * C).fill(1);
  pairMass[0 * C + 1] = 0.01;
  const g = (a: number, b: number): number[] =>
    a === 0 && b === 1 ? mu[2]! : [mu[a]![0]! + 0.5 * (b - a), mu[a]![1]! - 0.3 * (b - a)];
  const pairSums: Float64Array[] = [];
  for (let a = 0; a < C; a++)
    for (let b = 0; b < C; b++) pairSums.push(Float64Array.from(g(a, b), (x) => x * pairMass[a * C + b]!));
  return {
    numClasses: C,
    classes: [0, 1, 2],
    paramCount: 2,
    sampleCount: 30,
    classCounts: Float64Array.of(10, 10, 10),
    pairMass,
    pairSums,
  };
}

test('hierarchy score in gradient space: the planted case scores 5/6 with chance 1/3, and equals brute force over explicit vectors', () => {
  const cg = planted();
  const set = gradientPoints(cg);
  const s = gradientHierarchyScore(set);
  assert.deepEqual({ hits: s.hits, total: s.total }, { hits: 5, total: 6 });
  assert.equal(s.chance, 1 / 3);
  assert.equal(s.fraction, 5 / 6);
  // dense reference: the explicit vectors g_c, g_cc′ and their Euclidean distances
  const rows = set.points.map((p) => (p.kind === 'class' ? classMean(cg, p.c) : crossClassMean(cg, p.c, p.cp)));
  const brute = nearestClassMeanScore(set.points, (i, j) => squaredDistancesOf(rows)[i * rows.length + j]!);
  assert.deepEqual(brute, s);
});

test('hierarchy score in an embedding: every cross mean beside its own class mean → 1; all beside one other class → 0; ties are misses', () => {
  const cls = [0, 1, 2, 3].map((c) => ({ kind: 'class' as const, c, x: 10 * c, y: 0 }));
  const own = cls.flatMap((m) =>
    [0, 1, 2, 3].filter((cp) => cp !== m.c).map((cp) => ({ kind: 'cross' as const, c: m.c, x: m.x + 0.1 * cp, y: 1 })),
  );
  assert.deepEqual(embeddingHierarchyScore([...cls, ...own]), { hits: 12, total: 12, fraction: 1, chance: 0.25 });
  const wrong = own.map((p) => ({ ...p, x: 10 * ((p.c + 1) % 4), y: 0.5 }));
  assert.equal(embeddingHierarchyScore([...cls, ...wrong]).hits, 0);
  const tie = [
    { kind: 'class' as const, c: 0, x: -1, y: 0 },
    { kind: 'class' as const, c: 1, x: 1, y: 0 },
    { kind: 'cross' as const, c: 0, x: 0, y: 3 },
  ];
  assert.equal(embeddingHierarchyScore(tie).hits, 0);
});
